//! The `fetch` module: a file from the host copied to the controller, below
//! `dest/<inventory name>/<src>` (or at `dest` itself with `flat`).
//!
//! One round trip compares: the host's sha1 of `src` (links followed) against the sha1 of the
//! controller's copy; only when they differ does a second round trip read the file, which is
//! written on the controller atomically (a temporary file renamed into place) and its checksum
//! validated. Check mode compares and reports without writing (ansible-core skips the task).
//! Relative `dest` paths are relative to the playbook's directory, as in ansible-core.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sha1::{Digest, Sha1};

use super::remote::{self, FileKind, Frames, RemoteError};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `fetch` module.
pub struct Fetch;

/// `os.path.normpath`.
fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if abs => {}
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if abs {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// The sha1 and md5 the probe printed (`sha1sum` then `md5sum` output).
fn sums(out: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(out);
    let mut lines = text.lines();
    let mut next = || lines.next().and_then(|l| remote::parse_sum(l.as_bytes()));
    let sha1 = next();
    (sha1, next())
}

fn sha1_of(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| hex::encode(Sha1::digest(&b)))
}

/// Writes `data` at `dest` on the controller: parents made, a temporary file renamed over it.
fn write_local(dest: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{name}.jig-{}", std::process::id()));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, dest).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[async_trait]
impl Module for Fetch {
    fn name(&self) -> &'static str {
        "fetch"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&[
            "src",
            "dest",
            "flat",
            "fail_on_missing",
            "validate_checksum",
            "fail_if_missing",
        ])?;
        let src = args.req_str("src")?;
        let dest_arg = args.req_str("dest")?;
        let flat = args.bool_or("flat", false)?;
        let fail_on_missing = match args.get_any(&["fail_on_missing", "fail_if_missing"]) {
            Some((n, _)) => args.bool_or(n, true)?,
            None => true,
        };
        let validate = args.bool_or("validate_checksum", true)?;

        // The host's side: stat and sha1, one round trip.
        let cmd = remote::script(
            &[&src],
            r#"case $1 in '~'/*) set -- "$HOME/${1#??}" ;; '~') set -- "$HOME" ;; esac
printf '%s\0' "$1"
jig_stat "$1" -L || exit 1
if [ -f "$1" ]; then sha1sum < "$1" && md5sum < "$1" || exit 1; fi"#,
        );
        let out = remote::run(ctx, cmd, None).await?;
        let mut fr = Frames::new(&out.stdout);
        let source = fr
            .next_record()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_else(|| src.clone());
        let missing = |msg: &str| {
            let mut r = if fail_on_missing {
                ModuleResult::failed(msg)
            } else {
                let mut r = ModuleResult::ok();
                r.msg = Some(if msg.ends_with("ignored") {
                    msg.to_string()
                } else {
                    format!("{msg}, not transferring, ignored")
                });
                r
            };
            // Ansible names the file except when a missing file fails (its result is then
            // slurp's) or the source is a directory.
            if !(fail_on_missing && msg.contains("does not exist")) && !msg.contains("directory") {
                r.set("file", source.clone());
            }
            r
        };
        if out.rc != 0 {
            return Ok(missing(
                &remote::host_error(&format!("cannot read {source}"), &out).to_string(),
            ));
        }
        let st = match fr.stat(&source) {
            Ok(s) => s.map(|r| r.stat),
            Err(e) => return Ok(ModuleResult::failed(e.to_string())),
        };
        let remote_sum = match &st {
            None => {
                return Ok(missing(
                    "the remote file does not exist, not transferring, ignored",
                ));
            }
            Some(s) if s.kind == FileKind::Directory => {
                return Ok(missing(
                    "remote file is a directory, fetch cannot work on directories",
                ));
            }
            Some(_) => sums(fr.remainder()),
        };
        let (remote_sum, md5) = (remote_sum.0, remote_sum.1);
        // Ansible's md5sum is the md5 of the controller's copy, which is the host's file once
        // fetched (null only where FIPS forbids md5, which jig's hosts do not report).
        let md5 = md5.map_or(serde_json::Value::Null, serde_json::Value::from);

        // The controller's side.
        let resolve = |d: &str| -> PathBuf {
            if d.starts_with('/') {
                PathBuf::from(d)
            } else {
                match ctx.files.base_dir() {
                    Some(b) => b.join(d),
                    None => PathBuf::from(d),
                }
            }
        };
        let dest = if flat {
            let mut d = dest_arg.clone();
            if d.ends_with('/') {
                d.push_str(source.rsplit('/').next().unwrap_or(&source));
            } else if resolve(&d).is_dir() {
                return Ok(ModuleResult::failed(
                    "dest is an existing directory, use a trailing slash if you want to fetch src \
                     into that directory",
                ));
            }
            resolve(&d)
        } else {
            let base = resolve(&dest_arg);
            PathBuf::from(format!("{}/{}/{}", base.display(), ctx.host, source))
        };
        let dest = PathBuf::from(normpath(&dest.to_string_lossy()));
        if dest.is_dir() {
            return Ok(ModuleResult::failed(format!(
                "calculated dest '{}' is an existing directory, use another path that does not \
                 point to an existing directory",
                dest.display()
            )));
        }
        let dest_s = dest.display().to_string();
        let local_sum = sha1_of(&dest);
        let mut r = ModuleResult::ok();
        r.set("dest", dest_s.clone());
        if local_sum.is_some() && local_sum == remote_sum {
            r.set("file", source.clone())
                .set("checksum", local_sum.unwrap_or_default())
                .set("md5sum", md5);
            return Ok(r);
        }
        r.changed = true;
        if ctx.diff_mode {
            r.diffs.push(super::Diff::Summary(format!(
                "{dest_s}: fetched from {source} on {}",
                ctx.host
            )));
        }
        if ctx.check_mode {
            return Ok(r);
        }
        let data = match remote::read_file(ctx, &source).await {
            Ok(Some((_, d))) => d,
            Ok(None) => {
                return Ok(missing(
                    "the remote file does not exist, not transferring, ignored",
                ));
            }
            Err(RemoteError::Connection(e)) => return Err(e.into()),
            Err(e) => return Ok(ModuleResult::failed(e.to_string())),
        };
        if let Err(e) = write_local(&dest, &data) {
            return Ok(ModuleResult::failed(format!(
                "Failed to fetch the file: cannot write {dest_s} on the controller: {e}"
            )));
        }
        let new_sum = hex::encode(Sha1::digest(&data));
        if validate && remote_sum.as_deref() != Some(new_sum.as_str()) {
            let mut f = ModuleResult::failed("checksum mismatch");
            f.set("md5sum", serde_json::Value::Null)
                .set("remote_md5sum", serde_json::Value::Null)
                .set("file", source)
                .set("dest", dest_s)
                .set("checksum", new_sum)
                .set("remote_checksum", remote_sum.unwrap_or_default());
            return Ok(f);
        }
        r.set("checksum", new_sum)
            .set("remote_checksum", remote_sum.unwrap_or_default())
            .set("md5sum", md5)
            .set("remote_md5sum", serde_json::Value::Null);
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, HOSTILE_TEXT, assert_not_pwned};
    use serde_json::{Value as Json, json};
    use std::process::Command;

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new(
            "fetch",
            v.as_object().unwrap().clone().into_iter().collect(),
        )
    }

    #[tokio::test]
    async fn fetches_by_checksum() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let host_dir = tmp.path().join("host side");
        std::fs::create_dir(&host_dir).unwrap();
        let src = host_dir.join(HOSTILE);
        std::fs::write(&src, HOSTILE_TEXT).unwrap();
        let s = src.to_str().unwrap();
        let a = json!({"src": s, "dest": "fetched"});
        // Relative dest: below the playbook directory, then the host, then the full path.
        let expect = PathBuf::from(format!("{}/fetched/testhost{s}", tmp.path().display()));
        let r = Fetch
            .run(&margs(a.clone()), &env.ctx(true, true))
            .await
            .unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!expect.exists());
        let r = Fetch
            .run(&margs(a.clone()), &env.ctx(false, false))
            .await
            .unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(&expect).unwrap(), HOSTILE_TEXT);
        assert_eq!(r.values["dest"], expect.to_str().unwrap());
        // md5sum as Ansible reports it (the md5 of the fetched file).
        let md5 = Command::new("md5sum")
            .stdin(std::fs::File::open(&src).unwrap())
            .output()
            .unwrap();
        let md5 = String::from_utf8_lossy(&md5.stdout);
        assert_eq!(r.values["md5sum"], md5.split_whitespace().next().unwrap());
        assert_eq!(r.values["remote_md5sum"], Json::Null);
        for check in [true, false] {
            let r = Fetch
                .run(&margs(a.clone()), &env.ctx(check, false))
                .await
                .unwrap();
            assert!(!r.changed && !r.failed, "{r:?}");
        }
        // flat: into a directory with a trailing slash, or at the path itself.
        let r = Fetch
            .run(
                &margs(json!({"src": s, "dest": "flat/", "flat": true})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert!(r.changed, "{r:?}");
        assert!(tmp.path().join("flat").join(HOSTILE).exists());
        let r = Fetch
            .run(
                &margs(json!({"src": s, "dest": "flat", "flat": true})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert!(r.failed && r.msg.unwrap().contains("trailing slash"));
        // Missing files fail, or are ignored with fail_on_missing: false; directories too.
        let r = Fetch
            .run(
                &margs(json!({"src": "/no/such", "dest": "x"})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert!(r.values.get("file").is_none(), "{r:?}");
        assert!(r.failed && r.msg.unwrap().contains("does not exist"));
        let r = Fetch
            .run(
                &margs(json!({"src": "/no/such", "dest": "x", "fail_on_missing": false})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert_eq!(r.values["file"], "/no/such");
        assert!(!r.failed && !r.changed && r.msg.unwrap().ends_with("ignored"));
        let r = Fetch
            .run(
                &margs(json!({"src": host_dir.to_str().unwrap(), "dest": "x"})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert!(r.failed && r.msg.unwrap().contains("directory"));
        assert!(!tmp.path().join("x").exists());
        assert_not_pwned();
    }
}

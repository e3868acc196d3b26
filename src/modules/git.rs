//! The `git` module: a checkout of a repository at a branch, tag or commit, with the host's
//! git.
//!
//! One round trip probes: whether `dest` holds a repository, its HEAD, its remote's URL,
//! local modifications, and the remote's refs (`git ls-remote --symref`), from which the
//! controller resolves `version` to the commit it names (a branch's head, a tag's commit, a
//! commit given as is or abbreviated). The plan follows ansible-core: clone when there is no
//! repository, otherwise (with `update`) fetch and switch when HEAD is not the wanted commit
//! or the remote URL changed; local modifications stop the task unless `force`. The task
//! changes only when HEAD moves (or the URL, or modifications were discarded), and check mode
//! reports exactly that from the probe. A second round trip carries the plan out and reports
//! the new HEAD. A repository path on the host is used as a `file://` URL, as ansible-core does.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::remote::{self, Frames};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The `git` module.
pub struct Git;

const KNOWN: &[&str] = &[
    "repo",
    "name",
    "dest",
    "version",
    "force",
    "depth",
    "update",
    "clone",
    "bare",
    "remote",
    "accept_hostkey",
    "accept_newhostkey",
    "key_file",
    "ssh_opts",
    "single_branch",
    "refspec",
    "recursive",
    "track_submodules",
    "umask",
    "executable",
    "reference",
    "verify_commit",
    "gpg_whitelist",
    "gpg_allowlist",
    "archive",
    "archive_prefix",
    "separate_git_dir",
];

/// The probe. Parameters: 1 repo URL, 2 dest, 3 bare (1/0), 4 remote name, 5 version.
/// Prints `N\0` or `E\0<HEAD>\0<remote url>\0<local mods: 1/0>\0<version as a local
/// commit>\0`, then `ls-remote --symref` output.
const PROBE: &str = r#"command -v git >/dev/null 2>&1 || { echo 'git is not installed on the host (install the git package)' >&2; exit 2; }
if [ "$3" = 1 ]; then g=$2; else g=$2/.git; fi
if [ -f "$g/config" ]; then
  printf 'E\0'
  git -C "$2" rev-parse HEAD 2>/dev/null; printf '\0'
  git -C "$2" config --get "remote.$4.url" 2>/dev/null; printf '\0'
  if [ "$3" != 1 ] && [ -n "$(git -C "$2" status --porcelain --untracked-files=no 2>/dev/null)" ]; then printf 1; else printf 0; fi; printf '\0'
  git -C "$2" rev-parse --verify -q "$5^{commit}" 2>/dev/null; printf '\0'
else
  printf 'N\0'
fi
LC_ALL=C git ls-remote --symref -- "$1" || exit 3"#;

/// What `version` names on the remote.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// The remote's default branch.
    Head { branch: String, sha: String },
    /// A branch.
    Branch { name: String, sha: String },
    /// A tag (the commit it points to).
    Tag { name: String, sha: String },
    /// A commit, as given.
    Commit(String),
}

impl Target {
    fn sha(&self) -> &str {
        match self {
            Target::Head { sha, .. } | Target::Branch { sha, .. } | Target::Tag { sha, .. } => sha,
            Target::Commit(s) => s,
        }
    }
}

/// Resolves `version` against `ls-remote --symref` output.
fn resolve(version: &str, ls_remote: &str) -> Target {
    let mut refs: Vec<(&str, &str)> = Vec::new();
    let mut head_branch = String::new();
    for line in ls_remote.lines() {
        if let Some(rest) = line.strip_prefix("ref: ") {
            if let Some((target, name)) = rest.split_once('\t')
                && name == "HEAD"
            {
                head_branch = target.trim_start_matches("refs/heads/").to_string();
            }
            continue;
        }
        if let Some((sha, name)) = line.split_once('\t') {
            refs.push((sha, name));
        }
    }
    let find = |name: &str| {
        refs.iter()
            .find(|(_, n)| *n == name)
            .map(|(s, _)| s.to_string())
    };
    if version == "HEAD" {
        let sha = find("HEAD").unwrap_or_default();
        return Target::Head {
            branch: head_branch,
            sha,
        };
    }
    if let Some(sha) = find(&format!("refs/heads/{version}")) {
        return Target::Branch {
            name: version.to_string(),
            sha,
        };
    }
    if let Some(sha) =
        find(&format!("refs/tags/{version}^{{}}")).or_else(|| find(&format!("refs/tags/{version}")))
    {
        return Target::Tag {
            name: version.to_string(),
            sha,
        };
    }
    Target::Commit(version.to_string())
}

/// Commands that check out `target` in "$2" (git -C), as ansible-core's `switch_version`:
/// a branch is checked out and reset to the remote's, or made to track it when there is no
/// local branch yet (decided on the host, since a clone may just have made it).
fn switch(c: &mut Cmd, target: &Target, remote: &str) {
    match target {
        Target::Head { branch, .. } | Target::Branch { name: branch, .. } => {
            let upstream = format!("{remote}/{branch}");
            c.raw("if git -C \"$2\" show-ref --verify -q")
                .arg(&format!("refs/heads/{branch}"));
            c.raw("; then git -C \"$2\" checkout -q --force")
                .arg(branch);
            c.raw("|| exit 5; git -C \"$2\" reset -q --hard")
                .arg(&upstream);
            c.raw("-- || exit 5; else git -C \"$2\" checkout -q --track -b")
                .arg(branch)
                .arg(&upstream);
            c.raw("|| exit 5; fi\n");
        }
        Target::Tag { name: v, .. } | Target::Commit(v) => {
            c.raw("git -C \"$2\" -c advice.detachedHead=false checkout -q --force")
                .arg(v);
            c.raw("|| exit 5\n");
        }
    }
}

#[async_trait]
impl Module for Git {
    fn name(&self) -> &'static str {
        "git"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let mut repo = match args.get_any(&["repo", "name"]) {
            Some((n, _)) => args.req_str(n)?,
            None => args.req_str("repo")?,
        };
        if repo.starts_with('/') {
            repo = format!("file://{repo}");
        }
        let allow_clone = args.bool_or("clone", true)?;
        let dest = args
            .str("dest")?
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        if dest.is_empty() {
            return Err(args
                .error("the destination directory must be specified unless clone=no")
                .into());
        }
        let version = args.str("version")?.unwrap_or_else(|| "HEAD".into());
        let force = args.bool_or("force", false)?;
        let depth = args.int("depth")?.filter(|d| *d > 0);
        let update = args.bool_or("update", true)?;
        let bare = args.bool_or("bare", false)?;
        let remote = args.str("remote")?.unwrap_or_else(|| "origin".into());
        let single_branch = args.bool_or("single_branch", false)?;

        let flag = |b: bool| if b { "1" } else { "0" };
        let cmd = remote::script(&[&repo, &dest, flag(bare), &remote, &version], PROBE);
        let out = remote::run(ctx, cmd, None).await?;
        if out.rc != 0 {
            let what = if out.rc == 3 {
                format!("cannot read the remote repository {repo}")
            } else {
                format!("cannot inspect {dest}")
            };
            return Ok(ModuleResult::failed(
                remote::host_error(&what, &out).to_string(),
            ));
        }
        let mut fr = Frames::new(&out.stdout);
        let text = |r: Option<&[u8]>| {
            r.map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default()
        };
        let exists = fr.next_record() == Some(b"E");
        let (head, url, mods, local_commit) = if exists {
            (
                text(fr.next_record()),
                text(fr.next_record()),
                text(fr.next_record()) == "1",
                text(fr.next_record()),
            )
        } else {
            Default::default()
        };
        let ls_remote = String::from_utf8_lossy(fr.remainder()).into_owned();
        let mut target = resolve(&version, &ls_remote);
        // An abbreviated commit the repository already has stands for the full one.
        if let Target::Commit(c) = &target
            && !local_commit.is_empty()
            && local_commit.starts_with(c.as_str())
        {
            target = Target::Commit(local_commit.clone());
        }
        if target.sha().is_empty() {
            return Ok(ModuleResult::failed(format!(
                "Could not determine remote revision for {version}"
            )));
        }

        let mut result = ModuleResult::ok();
        result.set("before", Json::Null);
        let mut c = Cmd::empty();
        if !exists {
            result.changed = true;
            result.set("after", target.sha());
            if !allow_clone {
                return Ok(result);
            }
            let is_ref = matches!(target, Target::Branch { .. } | Target::Tag { .. });
            c.raw("mkdir -p -- \"$(dirname -- \"$2\")\" || exit 4\n");
            c.raw("git clone -q");
            if bare {
                c.arg("--bare");
            } else {
                c.arg("--origin").arg(&remote);
            }
            if let Some(d) = depth
                && (version == "HEAD" || is_ref)
            {
                c.arg("--depth").arg(&d.to_string());
                if is_ref {
                    c.arg("--branch").arg(&version);
                }
            }
            if single_branch {
                c.arg("--single-branch");
                if is_ref && depth.is_none() {
                    c.arg("--branch").arg(&version);
                }
            }
            c.raw("-- \"$1\" \"$2\" || exit 4\n");
            if bare && remote != "origin" {
                c.raw("git -C \"$2\" remote add")
                    .arg(&remote)
                    .raw("\"$1\" || exit 4\n");
            }
            if !bare {
                switch(&mut c, &target, &remote);
            }
        } else {
            result.set("before", head.clone());
            if !update {
                result.set("after", head.clone());
                return Ok(result);
            }
            if mods && !force {
                let mut f = ModuleResult::failed(format!(
                    "Local modifications exist in the destination: {dest} (force=no)."
                ));
                f.values = result.values;
                return Ok(f);
            }
            let url_changed =
                !url.is_empty() && url.trim_end_matches('/') != repo.trim_end_matches('/');
            result.set("remote_url_changed", url_changed);
            result.set("after", target.sha());
            let moves = head != target.sha();
            result.changed = moves || url_changed || mods;
            if !result.changed {
                return Ok(result);
            }
            if mods {
                result.msg = Some(format!(
                    "Local modifications exist in the destination: {dest}"
                ));
                c.raw("git -C \"$2\" reset --hard HEAD >/dev/null || exit 4\n");
            }
            if url_changed {
                c.raw("git -C \"$2\" remote set-url")
                    .arg(&remote)
                    .raw("\"$1\" || exit 4\n");
            }
            c.raw("git -C \"$2\" fetch -q");
            if let Some(d) = depth {
                c.arg("--depth").arg(&d.to_string());
            }
            if bare {
                c.arg("--force").arg(&remote);
                c.arg("+refs/heads/*:refs/heads/*")
                    .arg("+refs/tags/*:refs/tags/*");
            } else {
                c.arg("--tags");
                if force {
                    c.arg("--force");
                }
                c.arg(&remote);
            }
            c.raw("|| exit 4\n");
            if !bare {
                switch(&mut c, &target, &remote);
            }
        }
        if ctx.diff_mode && result.changed {
            let before = result
                .values
                .get("before")
                .and_then(Json::as_str)
                .unwrap_or("");
            result.diffs.push(Diff::Summary(format!(
                "{dest}: {} -> {}",
                if before.is_empty() { "(none)" } else { before },
                target.sha()
            )));
        }
        if ctx.check_mode {
            return Ok(result);
        }
        c.raw("git -C \"$2\" rev-parse HEAD");
        let cmd = remote::script(&[&repo, &dest], c.as_str());
        let out = remote::run(ctx, cmd, None).await?;
        if out.rc != 0 {
            let what = match out.rc {
                5 => format!("Failed to checkout {version}"),
                _ => format!("cannot update {dest} from {repo}"),
            };
            let mut f = ModuleResult::failed(remote::host_error(&what, &out).to_string());
            f.values = result.values;
            return Ok(f);
        }
        let after = out.stdout_str().trim().to_string();
        result.changed = result.values.get("before").and_then(Json::as_str) != Some(after.as_str())
            || result.changed;
        result.set("after", after);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
    use serde_json::json;
    use std::path::Path;
    use std::process::Command;

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new("git", v.as_object().unwrap().clone().into_iter().collect())
    }

    fn sh(dir: &Path, script: &str) -> String {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[tokio::test]
    async fn clones_switches_and_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let origin = tmp.path().join("origin $(x)");
        std::fs::create_dir(&origin).unwrap();
        sh(
            &origin,
            "git init -q -b main . && echo one > f && git add f && git commit -qm one && \
             git tag v1 && git tag -a v1a -m annotated && echo two > f && git commit -qam two && \
             git checkout -qb dev && echo dev > f && git commit -qam dev && git checkout -q main",
        );
        let main = sh(&origin, "git rev-parse main");
        let v1 = sh(&origin, "git rev-parse v1^{commit}");
        let dev = sh(&origin, "git rev-parse dev");
        let dest = tmp.path().join(HOSTILE).join("checkout");
        let d = dest.to_str().unwrap();
        let o = origin.to_str().unwrap();
        let run = |check: bool, v: Json| {
            let env = &env;
            async move { Git.run(&margs(v), &env.ctx(check, true)).await.unwrap() }
        };
        let a = json!({"repo": o, "dest": d});
        let r = run(true, a.clone()).await;
        assert!(r.changed && r.values["after"] == main.as_str(), "{r:?}");
        assert!(!dest.exists());
        let r = run(false, a.clone()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.values["after"], main.as_str());
        assert_eq!(r.values["before"], Json::Null);
        assert_eq!(std::fs::read_to_string(dest.join("f")).unwrap(), "two\n");
        for check in [true, false] {
            let r = run(check, a.clone()).await;
            assert!(!r.changed && !r.failed, "{r:?}");
            assert_eq!(r.values["before"], main.as_str());
        }
        // A tag, an annotated tag (the same commit), a branch, a commit.
        for (version, sha, content) in [
            ("v1", &v1, "one\n"),
            ("v1a", &v1, "one\n"),
            ("dev", &dev, "dev\n"),
            (&main[..10], &main, "two\n"),
        ] {
            let a = json!({"repo": o, "dest": d, "version": version});
            let r = run(true, a.clone()).await;
            let moves = r.values["before"] != sha.as_str();
            assert_eq!(r.changed, moves, "{version}: {r:?}");
            let r = run(false, a.clone()).await;
            assert_eq!(r.changed, moves, "{version}: {r:?}");
            assert_eq!(r.values["after"], sha.as_str(), "{version}");
            assert_eq!(std::fs::read_to_string(dest.join("f")).unwrap(), content);
            assert!(!run(false, a).await.changed, "{version}");
        }
        // The remote moves: HEAD follows it on the next run, not before.
        sh(
            &origin,
            "git checkout -q dev && echo dev2 > f && git commit -qam dev2",
        );
        let dev2 = sh(&origin, "git rev-parse dev");
        let a = json!({"repo": o, "dest": d, "version": "dev"});
        let r = run(true, a.clone()).await;
        assert!(r.changed && r.values["after"] == dev2.as_str(), "{r:?}");
        let r = run(false, a.clone()).await;
        assert!(r.changed && r.values["after"] == dev2.as_str(), "{r:?}");
        // Local modifications stop the task unless force.
        std::fs::write(dest.join("f"), "edited\n").unwrap();
        let r = run(false, json!({"repo": o, "dest": d, "version": "main"})).await;
        assert!(
            r.failed && r.msg.as_deref().unwrap().contains("Local modifications"),
            "{r:?}"
        );
        let r = run(
            false,
            json!({"repo": o, "dest": d, "version": "main", "force": true}),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(dest.join("f")).unwrap(), "two\n");
        // update: no leaves it; clone: no does not clone; bare and shallow clones.
        let r = run(
            false,
            json!({"repo": o, "dest": d, "version": "dev", "update": false}),
        )
        .await;
        assert!(!r.changed);
        let other = tmp.path().join("other");
        let r = run(
            false,
            json!({"repo": o, "dest": other.to_str().unwrap(), "clone": false}),
        )
        .await;
        assert!(r.changed && !other.exists());
        let bare = tmp.path().join("bare.git");
        let r = run(
            false,
            json!({"repo": o, "dest": bare.to_str().unwrap(), "bare": true}),
        )
        .await;
        assert!(r.changed && bare.join("HEAD").exists(), "{r:?}");
        assert!(
            !run(
                false,
                json!({"repo": o, "dest": bare.to_str().unwrap(), "bare": true})
            )
            .await
            .changed
        );
        let shallow = tmp.path().join("shallow");
        let r = run(
            false,
            json!({"repo": format!("file://{o}"), "dest": shallow.to_str().unwrap(), "depth": 1, "version": "main"}),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(sh(&shallow, "git rev-list --count HEAD"), "1");
        let r = run(
            false,
            json!({"repo": "/no/such/repo", "dest": tmp.path().join("n").to_str().unwrap()}),
        )
        .await;
        assert!(r.failed);
        assert_not_pwned();
    }

    #[test]
    fn versions_resolve_like_ansible() {
        let ls = "ref: refs/heads/main\tHEAD\naaa\tHEAD\naaa\trefs/heads/main\nbbb\trefs/heads/dev\nccc\trefs/tags/v1\nddd\trefs/tags/v1^{}\n";
        assert_eq!(
            resolve("HEAD", ls),
            Target::Head {
                branch: "main".into(),
                sha: "aaa".into()
            }
        );
        assert_eq!(
            resolve("dev", ls),
            Target::Branch {
                name: "dev".into(),
                sha: "bbb".into()
            }
        );
        assert_eq!(
            resolve("v1", ls),
            Target::Tag {
                name: "v1".into(),
                sha: "ddd".into()
            }
        );
        assert_eq!(resolve("0123abc", ls), Target::Commit("0123abc".into()));
    }
}

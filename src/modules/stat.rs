//! The `stat` module: Ansible's `stat` dictionary for one path, in one round trip.
//!
//! The probe collects the stat (following links only with `follow`), block counts, the I/O
//! block size (`%o`, Python's `st_blksize`, which Ansible reports as `block_size`; `%B` is
//! only the unit of `%b`, always 512) and device type, the resolved path of a link (`readlink -m`, like Python's `realpath`), the connecting
//! user's access (`test -r/-w/-x`, so it is right under `become` too), a checksum with the
//! coreutils `<algorithm>sum` tool, and, when the host has them, `file`'s MIME type and
//! `lsattr`'s attributes. The host is never changed, so check mode runs it as usual.

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

use super::predict::Predicted;
use super::remote::{self, FileKind, Frames, S_IFDIR, S_IFLNK, S_IFREG};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The permission bits Ansible's `stat` reports as booleans, by key (`find` reports them too).
pub(crate) const MODE_BITS: [(&str, u32); 11] = [
    ("wusr", 0o200),
    ("rusr", 0o400),
    ("xusr", 0o100),
    ("wgrp", 0o020),
    ("rgrp", 0o040),
    ("xgrp", 0o010),
    ("woth", 0o002),
    ("roth", 0o004),
    ("xoth", 0o001),
    ("isuid", 0o4000),
    ("isgid", 0o2000),
];

/// The `stat` module.
pub struct Stat;

const KNOWN: &[&str] = &[
    "path",
    "dest",
    "name",
    "follow",
    "get_checksum",
    "checksum_algorithm",
    "checksum_algo",
    "checksum",
    "get_mime",
    "mime",
    "mime_type",
    "mime-type",
    "get_attributes",
    "attributes",
    "attr",
    "get_md5",
];

const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;
const S_IFIFO: u32 = 0o010000;
const S_IFSOCK: u32 = 0o140000;

const PROBE: &str = r#"jig_stat "$1" $2 || exit 1
if [ -e "$1" ] || { [ -L "$1" ] && [ -z "$2" ]; }; then :; else exit 0; fi
LC_ALL=C stat $2 --printf '%b %o %r' -- "$1" || exit 1
printf '\0'
if [ -L "$1" ]; then _r=$(readlink -m -- "$1" && printf x) && printf '%s' "${_r%?x}"; fi
printf '\0'
_a=
if [ -r "$1" ]; then _a=${_a}r; fi
if [ -w "$1" ]; then _a=${_a}w; fi
if [ -x "$1" ]; then _a=${_a}x; fi
printf '%s\0' "$_a"
if [ -n "$3" ] && [ -f "$1" ] && [ -r "$1" ] && { [ -n "$2" ] || [ ! -L "$1" ]; }; then "$3" < "$1" || exit 1; fi
printf '\0'
if [ "$4" = 1 ] && command -v file >/dev/null 2>&1; then file -b --mime-type --mime-encoding -- "$1"; fi
printf '\0'
if [ "$5" = 1 ] && command -v lsattr >/dev/null 2>&1; then lsattr -vd -- "$1" 2>/dev/null; fi
printf '\0'"#;

/// Ansible's names for `lsattr` flags.
fn attribute_name(flag: char) -> Option<&'static str> {
    Some(match flag {
        'A' => "noatime",
        'a' => "append",
        'c' => "compressed",
        'C' => "nocow",
        'd' => "nodump",
        'D' => "dirsync",
        'e' => "extents",
        'E' => "encrypted",
        'h' => "blocksize",
        'i' => "immutable",
        'I' => "indexed",
        'j' => "journalled",
        'N' => "inline",
        's' => "zero",
        'S' => "synchronous",
        't' => "notail",
        'T' => "blockroot",
        'u' => "undelete",
        'X' => "compressedraw",
        'Z' => "compresseddirty",
        _ => return None,
    })
}

#[async_trait]
impl Module for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let path = match args.get_any(&["path", "dest", "name"]) {
            Some((n, _)) => args.req_str(n)?,
            None => args.req_str("path")?,
        };
        let follow = args.bool_or("follow", false)?;
        let get_checksum = args.bool_or("get_checksum", true)?;
        let algorithm = match args.get_any(&["checksum_algorithm", "checksum_algo", "checksum"]) {
            Some((n, _)) => args.req_str(n)?,
            None => "sha1".to_string(),
        };
        let tool = match algorithm.as_str() {
            "md5" | "sha1" | "sha224" | "sha256" | "sha384" | "sha512" => {
                format!("{algorithm}sum")
            }
            other => {
                return Err(args
                    .invalid(
                        "checksum_algorithm",
                        format!(
                            "must be one of md5, sha1, sha224, sha256, sha384, sha512; got '{other}'"
                        ),
                    )
                    .into());
            }
        };
        let get_mime = match args.get_any(&["get_mime", "mime", "mime_type", "mime-type"]) {
            Some((n, _)) => args.bool_or(n, true)?,
            None => true,
        };
        let get_attributes = match args.get_any(&["get_attributes", "attributes", "attr"]) {
            Some((n, _)) => args.bool_or(n, true)?,
            None => true,
        };
        if ctx.check_mode {
            let found = if follow {
                ctx.predicted.follow(&path)
            } else {
                ctx.predicted.path(&path)
            };
            if let Some(found) = found {
                let sum_with = get_checksum.then_some(algorithm.as_str());
                let mut result = ModuleResult::ok();
                result.set(
                    "stat",
                    predicted_stat(&path, found, sum_with, get_mime, get_attributes),
                );
                return Ok(result);
            }
        }
        let cmd = remote::script(
            &[
                &path,
                remote::follow_flag(follow),
                if get_checksum { &tool } else { "" },
                if get_mime { "1" } else { "0" },
                if get_attributes { "1" } else { "0" },
            ],
            PROBE,
        );
        let out = remote::run(ctx, cmd, None).await?;
        if out.rc != 0 {
            return Ok(ModuleResult::failed(
                remote::host_error(&format!("cannot stat {path}"), &out).to_string(),
            ));
        }
        let mut fr = Frames::new(&out.stdout);
        let rec = match fr.stat(&path) {
            Ok(r) => r,
            Err(e) => return Ok(ModuleResult::failed(e.to_string())),
        };
        let mut st = Map::new();
        let mut result = ModuleResult::ok();
        let Some(rec) = rec else {
            st.insert("exists".into(), Json::Bool(false));
            result.set("stat", Json::Object(st));
            return Ok(result);
        };
        let s = &rec.stat;
        let text = |r: Option<&[u8]>| r.map(|b| String::from_utf8_lossy(b).into_owned());
        let extra = text(fr.next_record()).unwrap_or_default();
        let real = text(fr.next_record()).unwrap_or_default();
        let access = text(fr.next_record()).unwrap_or_default();
        let sum = fr.next_record().and_then(remote::parse_sum);
        let mime = text(fr.next_record()).unwrap_or_default();
        let lsattr = text(fr.next_record()).unwrap_or_default();

        let t = rec.type_bits;
        let m = s.mode;
        let is_reg = t == S_IFREG;
        let is_lnk = t == S_IFLNK;
        let mut put = |k: &str, v: Json| {
            st.insert(k.to_string(), v);
        };
        put("exists", true.into());
        put("path", path.clone().into());
        put("mode", format!("{m:04o}").into());
        put("isdir", (t == S_IFDIR).into());
        put("ischr", (t == S_IFCHR).into());
        put("isblk", (t == S_IFBLK).into());
        put("isreg", is_reg.into());
        put("isfifo", (t == S_IFIFO).into());
        put("islnk", is_lnk.into());
        put("issock", (t == S_IFSOCK).into());
        put("uid", s.uid.into());
        put("gid", s.gid.into());
        put("size", s.size.into());
        put("inode", s.inode.into());
        put("dev", s.dev.into());
        put("nlink", s.nlink.into());
        put("atime", s.atime.into());
        put("mtime", s.mtime.into());
        put("ctime", s.ctime.into());
        for (k, bit) in MODE_BITS {
            put(k, (m & bit != 0).into());
        }
        let mut nums = extra.split(' ').map(|n| n.parse::<u64>().ok());
        if let (Some(Some(blocks)), Some(Some(bsize)), Some(Some(rdev))) =
            (nums.next(), nums.next(), nums.next())
        {
            put("blocks", blocks.into());
            put("block_size", bsize.into());
            put("device_type", rdev.into());
        }
        put("readable", access.contains('r').into());
        put("writeable", access.contains('w').into());
        put("executable", access.contains('x').into());
        if s.owner != s.uid.to_string() {
            put("pw_name", s.owner.clone().into());
        }
        if s.group != s.gid.to_string() {
            put("gr_name", s.group.clone().into());
        }
        if is_lnk {
            put("lnk_source", real.into());
            put(
                "lnk_target",
                s.link_target.clone().unwrap_or_default().into(),
            );
        }
        if get_checksum
            && is_reg
            && let Some(sum) = sum
        {
            put("checksum", sum.into());
        }
        if get_mime {
            // `file` prints "text/plain; charset=us-ascii"; Ansible says "unknown" without it.
            let (mt, cs) = match mime.trim().split_once(';') {
                Some((a, b)) => (
                    a.trim().to_string(),
                    b.trim()
                        .strip_prefix("charset=")
                        .unwrap_or(b.trim())
                        .to_string(),
                ),
                None => ("unknown".to_string(), "unknown".to_string()),
            };
            put("mimetype", mt.into());
            put("charset", cs.into());
        }
        if get_attributes {
            // Ansible's defaults when lsattr is missing or fails (tmpfs, for one).
            put("version", Json::Null);
            put("attributes", Json::Array(Vec::new()));
            put("attr_flags", "".into());
            let mut fields = lsattr.split_whitespace();
            if let (Some(version), Some(flags)) = (fields.next(), fields.next()) {
                let flags: String = flags.chars().filter(|c| *c != '-').collect();
                put("version", version.into());
                put(
                    "attributes",
                    Json::Array(
                        flags
                            .chars()
                            .filter_map(attribute_name)
                            .map(Json::from)
                            .collect(),
                    ),
                );
                put("attr_flags", flags.into());
            }
        }
        result.set("stat", Json::Object(st));
        Ok(result)
    }
}

/// The `stat` dictionary of a path as check mode predicts it (see [`super::predict`]): the
/// keys a real stat would have, from the predicted kind, mode, owner and content (its
/// checksum when jig knows the content); what only the host could say (inode, device,
/// blocks, MIME type) is left out or given Ansible's value for "unknown".
fn predicted_stat(
    path: &str,
    found: Predicted,
    checksum_with: Option<&str>,
    get_mime: bool,
    get_attributes: bool,
) -> Json {
    let mut st = Map::new();
    let Predicted::Present(pp) = found else {
        st.insert("exists".into(), Json::Bool(false));
        return Json::Object(st);
    };
    let s = &pp.stat;
    let m = s.mode;
    let mut put = |k: &str, v: Json| {
        st.insert(k.to_string(), v);
    };
    put("exists", true.into());
    put("path", path.into());
    put("mode", format!("{m:04o}").into());
    put("isdir", (s.kind == FileKind::Directory).into());
    put("ischr", false.into());
    put("isblk", false.into());
    put("isreg", (s.kind == FileKind::File).into());
    put("isfifo", false.into());
    put("islnk", (s.kind == FileKind::Link).into());
    put("issock", false.into());
    put("uid", s.uid.into());
    put("gid", s.gid.into());
    put("size", s.size.into());
    put("nlink", s.nlink.into());
    put("atime", s.atime.into());
    put("mtime", s.mtime.into());
    put("ctime", s.ctime.into());
    for (k, bit) in MODE_BITS {
        put(k, (m & bit != 0).into());
    }
    put("readable", (m & 0o444 != 0).into());
    put("writeable", (m & 0o222 != 0).into());
    put("executable", (m & 0o111 != 0).into());
    put("pw_name", s.owner.clone().into());
    put("gr_name", s.group.clone().into());
    if let Some(target) = &s.link_target {
        put("lnk_target", target.clone().into());
    }
    if let (Some(alg), Some(content)) = (checksum_with, &pp.content)
        && s.kind == FileKind::File
        && let Some(sum) = super::predict::checksum(alg, content)
    {
        put("checksum", sum.into());
    }
    if get_mime {
        put("mimetype", "unknown".into());
        put("charset", "unknown".into());
    }
    if get_attributes {
        put("version", Json::Null);
        put("attributes", Json::Array(Vec::new()));
        put("attr_flags", "".into());
    }
    Json::Object(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
    use serde_json::json;
    use sha1::{Digest, Sha1};
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new("stat", v.as_object().unwrap().clone().into_iter().collect())
    }

    /// Under `become`, access is the become user's, and writes are made as that user.
    #[tokio::test]
    async fn become_user_sees_its_own_access() {
        use crate::connection::{Become, BecomeMethod};
        use crate::modules::remote::{FileAttrs, WriteOptions, write_file};
        if !nix_is_root() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let env = Env::new(tmp.path());
        let mut ctx = env.ctx(false, false);
        ctx.become_ = Some(Become {
            user: "nobody".into(),
            method: BecomeMethod::Su,
            flags: Vec::new(),
        });
        let f = tmp.path().join("root's file");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = Stat
            .run(&margs(json!({"path": f.to_str().unwrap()})), &ctx)
            .await
            .unwrap();
        assert_eq!(r.values["stat"]["readable"], true);
        assert_eq!(r.values["stat"]["writeable"], false, "{r:?}");
        let r = Stat
            .run(
                &margs(json!({"path": f.to_str().unwrap()})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert_eq!(r.values["stat"]["writeable"], true);

        let mine = tmp.path().join(HOSTILE);
        write_file(
            &ctx,
            mine.to_str().unwrap(),
            b"by nobody\n",
            &FileAttrs::default(),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(std::fs::metadata(&mine).unwrap().uid(), 65534);
        assert_eq!(std::fs::read(&mine).unwrap(), b"by nobody\n");
        let e = write_file(
            &ctx,
            f.to_str().unwrap(),
            b"no",
            &FileAttrs::default(),
            &WriteOptions::default(),
        )
        .await;
        // The directory is writable, so the rename succeeds, but taking root's ownership fails
        // silently and the file becomes nobody's, exactly as Ansible's atomic_move does.
        assert!(e.is_ok(), "{e:?}");
        assert_not_pwned();
    }

    fn nix_is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
            })
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn files_links_and_absence() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let f = tmp.path().join(HOSTILE);
        std::fs::write(&f, "hello\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o4754)).unwrap();
        let fs = f.to_str().unwrap();
        let r = Stat
            .run(&margs(json!({"path": fs})), &env.ctx(true, false))
            .await
            .unwrap();
        assert!(!r.changed && !r.failed, "{r:?}");
        let s = &r.values["stat"];
        let md = std::fs::metadata(&f).unwrap();
        assert_eq!(s["exists"], true);
        assert_eq!(s["path"], fs);
        assert_eq!(s["mode"], "4754");
        assert_eq!(s["isreg"], true);
        assert_eq!(s["isdir"], false);
        assert_eq!(s["isuid"], true);
        assert_eq!(s["xoth"], false);
        assert_eq!(s["roth"], true);
        assert_eq!(s["size"], 6);
        assert_eq!(s["inode"], md.ino());
        assert_eq!(s["pw_name"], "root");
        assert_eq!(s["readable"], true);
        assert_eq!(s["executable"], true);
        assert_eq!(s["checksum"], hex::encode(Sha1::digest(b"hello\n")));
        assert_eq!(s["mimetype"], "text/plain");
        assert_eq!(s["charset"], "us-ascii");
        assert_eq!(s["blocks"], md.blocks());
        // Ansible's block_size is st_blksize (4096 on most file systems), not stat's %B (512).
        assert_eq!(s["block_size"], md.blksize());

        let r = Stat
            .run(
                &margs(json!({"path": fs, "checksum_algorithm": "sha256", "get_mime": false})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert_eq!(
            r.values["stat"]["checksum"],
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"hello\n"))
        );
        assert!(r.values["stat"].get("mimetype").is_none());

        let l = tmp.path().join("link");
        symlink(HOSTILE, &l).unwrap();
        let ls = l.to_str().unwrap();
        let r = Stat
            .run(&margs(json!({"path": ls})), &env.ctx(false, false))
            .await
            .unwrap();
        let s = &r.values["stat"];
        assert_eq!(s["islnk"], true);
        assert_eq!(s["isreg"], false);
        assert_eq!(s["lnk_target"], HOSTILE);
        assert_eq!(s["lnk_source"], fs);
        assert!(s.get("checksum").is_none());
        let r = Stat
            .run(
                &margs(json!({"path": ls, "follow": true})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert_eq!(r.values["stat"]["isreg"], true);
        assert_eq!(r.values["stat"]["islnk"], false);

        let r = Stat
            .run(
                &margs(json!({"path": tmp.path().join("nope").to_str().unwrap()})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert_eq!(r.values["stat"], json!({"exists": false}));
        let r = Stat
            .run(
                &margs(json!({"path": tmp.path().to_str().unwrap()})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert_eq!(r.values["stat"]["isdir"], true);
        assert!(r.values["stat"].get("checksum").is_none());
        assert!(
            Stat.run(
                &margs(json!({"path": fs, "checksum_algorithm": "crc"})),
                &env.ctx(false, false)
            )
            .await
            .is_err()
        );
        assert_not_pwned();
    }
}

//! The `unarchive` module: unpack a tar (plain, gz, bz2, xz, zstd) or zip archive into an
//! existing directory, with GNU tar and unzip on the host.
//!
//! One round trip pushes the controller's archive (or names the host's, `remote_src`, or a URL
//! downloaded first), checks `creates`, detects the format by its magic bytes, lists the
//! members and compares them with `dest`: `tar --diff` read exactly as ansible-core reads it
//! (which differences count depends on `mode`/`owner`/`group`), and for zip an extraction into
//! a scratch directory compared member by member (`cmp`, link targets). With `mode`, `owner` or
//! `group` the stat of every member already present comes back too, so attribute changes are
//! planned on the controller and check mode predicts them. A second round trip extracts (when
//! something differs), applies the attributes to every member and the top folders as Ansible
//! does, and removes the pushed archive; in check mode it only removes the archive.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::get_url::{self, HttpError, Request};
use super::mode::Mode;
use super::remote::{self, FileAttrs, Frames};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult, SearchKind};
use crate::connection::Cmd;

/// The `unarchive` module.
pub struct Unarchive;

const KNOWN: &[&str] = &[
    "src",
    "dest",
    "remote_src",
    "copy",
    "creates",
    "list_files",
    "keep_newer",
    "exclude",
    "include",
    "extra_opts",
    "validate_certs",
    "io_buffer_size",
    "decrypt",
    "mode",
    "owner",
    "group",
    "unsafe_writes",
    "attributes",
    "seuser",
    "serole",
    "setype",
    "selevel",
];

/// Lines of `tar --diff` that always mean "differs" (ansible-core's list).
const DIFFERS: &[&str] = &[
    ": Mod time differs",
    ": Warning: Cannot stat: No such file or directory",
    ": Symlink differs",
    ": Contents differ",
    ": Size differs",
];

/// The archive formats, by the class names ansible-core reports as `handler`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Zip,
    Tar(&'static str),
}

impl Format {
    fn from_probe(tag: &str) -> Format {
        match tag {
            "zip" => Format::Zip,
            "-z" => Format::Tar("-z"),
            "-j" => Format::Tar("-j"),
            "-J" => Format::Tar("-J"),
            "--zstd" => Format::Tar("--zstd"),
            _ => Format::Tar(""),
        }
    }

    fn handler(self) -> &'static str {
        match self {
            Format::Zip => "ZipArchive",
            Format::Tar("-z") => "TgzArchive",
            Format::Tar("-j") => "TarBzipArchive",
            Format::Tar("-J") => "TarXzArchive",
            Format::Tar("--zstd") => "TarZstdArchive",
            Format::Tar(_) => "TarArchive",
        }
    }
}

/// What the user asked for, as the scripts need it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Spec {
    dest: String,
    creates: Option<String>,
    includes: Vec<String>,
    excludes: Vec<String>,
    extra_opts: Vec<String>,
    keep_newer: bool,
    attrs: FileAttrs,
}

/// tar's options shared by `--list`, `--diff` and `--extract` (after the operation and `-C`).
fn tar_words(spec: &Spec, c: &mut Cmd, with_owner: bool) {
    c.raw("$z");
    if !spec.extra_opts.is_empty() {
        c.arg("--show-transformed-names").args(&spec.extra_opts);
    }
    if with_owner {
        if let Some(o) = &spec.attrs.owner {
            c.arg(&format!("--owner={o}"));
        }
        if let Some(g) = &spec.attrs.group {
            c.arg(&format!("--group={g}"));
        }
        if spec.keep_newer {
            c.arg("--keep-newer-files");
        }
    }
    for e in &spec.excludes {
        c.arg(&format!("--exclude={e}"));
    }
    c.raw("-f \"$a\"");
    if !spec.includes.is_empty() {
        c.arg("--").args(&spec.includes);
    }
}

/// unzip's member selection (`NAMES... -x EXCLUDES...`).
fn zip_members(spec: &Spec, c: &mut Cmd) {
    c.args(&spec.includes);
    if !spec.excludes.is_empty() {
        c.arg("-x").args(&spec.excludes);
    }
}

/// The probe. Parameters: 1 dest, 2 creates or empty, 3 the archive on the host or empty (it
/// comes on stdin), 4 stat members (1/0). Prints `C\0` when `creates` exists; else
/// `A<archive>\0`, then `M\0` (archive missing), `Z\0` (empty), `D\0` (dest not a directory)
/// or `F<format>\0`, the listing, `\0`, the comparison's output, `\0`, its status, `\0`, the
/// stat of dest, the uid the script runs as, and, with $4, `jig_stat` records of each member in listing order.
fn probe_script(spec: &Spec) -> String {
    let mut list_tar = Cmd::empty();
    list_tar.raw("LC_ALL=C tar --list -C \"$1\"");
    tar_words(spec, &mut list_tar, false);
    let mut diff_tar = Cmd::empty();
    diff_tar.raw("LC_ALL=C tar --diff -C \"$1\"");
    tar_words(spec, &mut diff_tar, true);
    let mut list_zip = Cmd::empty();
    list_zip.raw("unzip -Z1 \"$a\"");
    zip_members(spec, &mut list_zip);
    let mut extract_zip = Cmd::empty();
    extract_zip
        .raw("unzip -q -o")
        .args(&spec.extra_opts)
        .raw("\"$a\"");
    zip_members(spec, &mut extract_zip);
    extract_zip.raw("-d \"$s\"");
    format!(
        r#"if [ -n "$2" ] && {{ [ -e "$2" ] || [ -L "$2" ]; }}; then printf 'C\0'; cat > /dev/null; exit 0; fi
if [ -z "$3" ]; then
  a=$(umask 077 && mktemp "${{TMPDIR:-/tmp}}/jig-unarchive.XXXXXXXX") || exit 1
  cat > "$a" || exit 1
else a=$3; fi
printf 'A%s\0' "$a"
if [ ! -e "$a" ]; then printf 'M\0'; exit 0; fi
if [ ! -s "$a" ]; then printf 'Z\0'; exit 0; fi
if [ ! -d "$1" ]; then printf 'D\0'; exit 0; fi
m=$(head -c 6 -- "$a" | od -An -tx1 | tr -d ' \n')
case $m in
  504b0304*|504b0506*) z=zip ;;
  1f8b*) z=-z ;;
  425a68*) z=-j ;;
  fd377a585a00) z=-J ;;
  28b52ffd*) z=--zstd ;;
  *) z= ;;
esac
printf 'F%s\0' "$z"
if [ "$z" = zip ]; then
  command -v unzip >/dev/null 2>&1 || {{ echo 'unzip is not installed on the host (install the unzip package)' >&2; exit 1; }}
  {list_zip} || exit 1
  printf '\0'
  s=$(mktemp -d "${{TMPDIR:-/tmp}}/jig-unzip.XXXXXXXX") || exit 1
  if {extract_zip} >/dev/null 2>&1; then
    (cd "$s" && find . -mindepth 1 -exec sh -c 'd=$1; shift; for f; do
      if [ -L "$f" ]; then [ -L "$d/$f" ] && [ "$(readlink -- "$f")" = "$(readlink -- "$d/$f")" ] || printf "%s: Symlink differs\n" "$f"
      elif [ -d "$f" ]; then [ -d "$d/$f" ] || printf "%s: Warning: Cannot stat: No such file or directory\n" "$f"
      elif [ -f "$d/$f" ]; then cmp -s -- "$f" "$d/$f" || printf "%s: Contents differ\n" "$f"
      else printf "%s: Warning: Cannot stat: No such file or directory\n" "$f"; fi
    done' sh "$1" {{}} +)
    r=$?
  else r=2; echo "cannot unzip $a" >&2; fi
  rm -rf -- "$s"
  printf '\0%s\0' "$r"
else
  {list_tar} || exit 1
  printf '\0'
  {diff_tar} 2>&1
  printf '\0%s\0' "$?"
fi
jig_stat "$1" -L || exit 1
printf '%s\0' "$(id -u)"
if [ "$4" = 1 ]; then
  if [ "$z" = zip ]; then {list_zip}; else {list_tar}; fi | while IFS= read -r f; do
    jig_stat "$1/$f" || exit 1
  done
fi"#,
        list_zip = list_zip.as_str(),
        extract_zip = extract_zip.as_str(),
        list_tar = list_tar.as_str(),
        diff_tar = diff_tar.as_str(),
    )
}

/// The extraction (`z` and `a` set by the caller).
fn extract_command(spec: &Spec, zip: bool) -> Cmd {
    let mut c = Cmd::empty();
    if zip {
        c.raw("unzip -q -o").args(&spec.extra_opts).raw("\"$a\"");
        zip_members(spec, &mut c);
        c.raw("-d \"$1\"");
    } else {
        c.raw("LC_ALL=C tar --extract -C \"$1\"");
        tar_words(spec, &mut c, true);
    }
    c
}

/// GNU tar's default quoting (`escape`): `\\`, `\n`, `\t`, octal `\ooo` for other bytes.
fn tar_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let n = b[i + 1];
            let simple = match n {
                b'\\' => Some(b'\\'),
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'a' => Some(7),
                b'b' => Some(8),
                b'f' => Some(12),
                b'v' => Some(11),
                b'"' => Some(b'"'),
                b'\'' => Some(b'\''),
                b'?' => Some(b'?'),
                _ => None,
            };
            if let Some(v) = simple {
                out.push(v);
                i += 2;
                continue;
            }
            if b.len() >= i + 4
                && b[i + 1..i + 4].iter().all(|d| (b'0'..=b'7').contains(d))
                && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8)
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `tar --diff` output shows a difference that matters, as ansible-core decides it
/// (owner/group/mode differences count only when the task does not set them itself).
fn tar_differs(out: &str, attrs: &FileAttrs, as_root: bool) -> bool {
    out.lines().any(|line| {
        if line.ends_with(": : Warning: Cannot stat: No such file or directory") {
            return false;
        }
        (as_root && attrs.owner.is_none() && line.ends_with(": Uid differs"))
            || (as_root && attrs.group.is_none() && line.ends_with(": Gid differs"))
            || (attrs.mode.is_none() && line.ends_with(": Mode differs"))
            || line.contains(": Invalid owner")
            || line.contains(": Invalid group")
            || DIFFERS.iter().any(|d| line.ends_with(d))
    })
}

/// The members of the listing, as ansible-core keeps them: unescaped, no leading `/`,
/// excluded names dropped.
fn members(listing: &str, tar: bool, excludes: &[String]) -> Vec<String> {
    let pats: Vec<globset::GlobMatcher> = excludes
        .iter()
        .filter_map(|e| {
            globset::GlobBuilder::new(e)
                .literal_separator(false)
                .build()
                .ok()
                .map(|g| g.compile_matcher())
        })
        .collect();
    listing
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| if tar { tar_unescape(l) } else { l.to_string() })
        .map(|l| l.trim_start_matches('/').to_string())
        .filter(|l| !pats.iter().any(|p| p.is_match(l)))
        .collect()
}

/// `list` arguments that may also be given as one string.
fn list(args: &ModuleArgs, name: &str) -> Result<Vec<String>, super::ArgError> {
    Ok(args.list(name)?.unwrap_or_default())
}

#[async_trait]
impl Module for Unarchive {
    fn name(&self) -> &'static str {
        "unarchive"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let src = args.req_str("src")?;
        let dest = args.req_str("dest")?;
        let remote_src = match args.bool("remote_src")? {
            Some(b) => b,
            None => !args.bool_or("copy", true)?,
        };
        let includes = list(args, "include")?;
        let excludes = list(args, "exclude")?;
        if !includes.is_empty() && !excludes.is_empty() {
            return Err(args
                .error("parameters are mutually exclusive: include|exclude")
                .into());
        }
        let spec = Spec {
            dest: dest.trim_end_matches('/').to_string(),
            creates: args.str("creates")?.filter(|s| !s.is_empty()),
            includes,
            excludes,
            extra_opts: list(args, "extra_opts")?,
            keep_newer: args.bool_or("keep_newer", false)?,
            attrs: remote::attrs_from_args(args)?,
        };
        let dest_dir = if spec.dest.is_empty() {
            "/".to_string()
        } else {
            spec.dest.clone()
        };

        // Where the archive comes from: the controller (pushed on stdin), the host, a URL.
        let mut download = None;
        let (host_src, push): (String, Option<Vec<u8>>) = if remote_src && src.contains("://") {
            let req = Request {
                url: src.clone(),
                method: "GET".into(),
                timeout: 10,
                validate_certs: args.bool_or("validate_certs", true)?,
                follow_redirects: true,
                decompress: true,
                keep_body: true,
                agent: "ansible-httpget".into(),
                ..Request::default()
            };
            let resp = match get_url::http(ctx, &req).await {
                Ok(r) => r,
                Err(HttpError::Connection(e)) => return Err(e.into()),
                Err(HttpError::Invalid(m)) => return Ok(ModuleResult::failed(m)),
            };
            if resp.error.is_some() || resp.status != 200 {
                get_url::cleanup(ctx, &resp).await?;
                return Ok(ModuleResult::failed(format!(
                    "Failure downloading {src}, {}",
                    resp.msg()
                )));
            }
            let r = if resp.on_controller {
                match std::fs::read(resp.body_path()) {
                    Ok(b) => (String::new(), Some(b)),
                    Err(e) => {
                        return Ok(ModuleResult::failed(format!(
                            "cannot read the download of {src}: {e}"
                        )));
                    }
                }
            } else {
                (resp.body_path(), None)
            };
            download = Some(resp);
            r
        } else if remote_src {
            (src.clone(), None)
        } else {
            let path = match ctx.files.find(SearchKind::Files, &src) {
                Ok(p) => p,
                Err(tried) => {
                    let tried: Vec<String> =
                        tried.iter().map(|p| p.display().to_string()).collect();
                    return Ok(ModuleResult::failed(format!(
                        "Could not find or access '{src}' on the controller (searched {})",
                        tried.join(", ")
                    )));
                }
            };
            match std::fs::read(&path) {
                Ok(b) => (String::new(), Some(b)),
                Err(e) => {
                    return Ok(ModuleResult::failed(format!(
                        "Could not read '{}' on the controller: {e}",
                        path.display()
                    )));
                }
            }
        };
        let result = self
            .unpack(ctx, args, &spec, &dest, &dest_dir, &src, &host_src, push)
            .await;
        if let Some(resp) = &download {
            get_url::cleanup(ctx, resp).await?;
        }
        result
    }
}

impl Unarchive {
    #[allow(clippy::too_many_arguments)]
    async fn unpack(
        &self,
        ctx: &ModuleContext<'_>,
        args: &ModuleArgs,
        spec: &Spec,
        dest: &str,
        dest_dir: &str,
        src: &str,
        host_src: &str,
        push: Option<Vec<u8>>,
    ) -> Result<ModuleResult, ModuleError> {
        let pushed = push.is_some();
        let want_stats = spec.attrs != FileAttrs::default();
        let cmd = remote::script(
            &[
                dest_dir,
                spec.creates.as_deref().unwrap_or(""),
                host_src,
                if want_stats { "1" } else { "0" },
            ],
            &probe_script(spec),
        );
        let out = remote::run(ctx, cmd, Some(push.unwrap_or_default())).await?;
        let mut fr = Frames::new(&out.stdout);
        let first = fr.next_record().unwrap_or_default();
        if first == b"C" {
            let mut r = ModuleResult::ok();
            r.skipped = true;
            r.msg = Some(format!(
                "skipped, since {} exists",
                spec.creates.as_deref().unwrap_or("")
            ));
            return Ok(r);
        }
        let archive = first
            .strip_prefix(b"A")
            .map(|a| String::from_utf8_lossy(a).into_owned());
        let outcome = self
            .decide(
                ctx, args, spec, dest, dest_dir, src, &archive, &out, &mut fr,
            )
            .await;
        // The pushed copy goes in every case.
        if pushed && let Some(a) = &archive {
            let rm = remote::script(&[a], r#"rm -f -- "$1""#);
            remote::run(ctx, rm, None).await?;
        }
        outcome
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        ctx: &ModuleContext<'_>,
        args: &ModuleArgs,
        spec: &Spec,
        dest: &str,
        dest_dir: &str,
        src: &str,
        archive: &Option<String>,
        out: &crate::connection::ExecOutput,
        fr: &mut Frames<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let Some(archive) = archive else {
            return Ok(ModuleResult::failed(
                remote::host_error(&format!("cannot inspect {src}"), out).to_string(),
            ));
        };
        let text = |r: Option<&[u8]>| r.map(|b| String::from_utf8_lossy(b).into_owned());
        let tag = text(fr.next_record()).unwrap_or_default();
        match tag.as_str() {
            "M" => {
                return Ok(ModuleResult::failed(format!(
                    "Source '{src}' does not exist"
                )));
            }
            "Z" => {
                return Ok(ModuleResult::failed(format!(
                    "Invalid archive '{src}', the file is 0 bytes"
                )));
            }
            "D" => {
                return Ok(ModuleResult::failed(format!(
                    "Destination '{dest}' is not a directory"
                )));
            }
            _ => {}
        }
        let Some(format_tag) = tag.strip_prefix('F') else {
            return Ok(ModuleResult::failed(
                remote::host_error(&format!("cannot inspect {src}"), out).to_string(),
            ));
        };
        let format = Format::from_probe(format_tag);
        if out.rc != 0 {
            return Ok(ModuleResult::failed(format!(
                "Failed to find handler for \"{archive}\". Make sure the required command to \
                 extract the file is installed.\n{}",
                out.stderr_str().trim()
            )));
        }
        let listing = text(fr.next_record()).unwrap_or_default();
        let compare = text(fr.next_record()).unwrap_or_default();
        let _status = text(fr.next_record());
        let is_tar = format != Format::Zip;
        let files = members(&listing, is_tar, &spec.excludes);
        if files.is_empty() {
            return Ok(ModuleResult::failed(format!(
                "Failed to find handler for \"{archive}\": found no files in the archive. Empty \
                 archive files are not supported."
            )));
        }
        let dest_stat = fr.stat(dest_dir).ok().flatten().map(|r| r.stat);
        let as_root = text(fr.next_record()).is_some_and(|u| u.trim() == "0");
        let differs = if is_tar {
            tar_differs(&compare, &spec.attrs, as_root)
        } else {
            !compare.trim().is_empty()
        };

        let mut result = ModuleResult::ok();
        result
            .set("handler", format.handler())
            .set("dest", dest.to_string())
            .set("src", archive.clone());
        if let Some(st) = &dest_stat {
            remote::add_path_info(&mut result, st);
        }
        if args.bool_or("list_files", false)? {
            result.set(
                "files",
                Json::Array(files.iter().cloned().map(Json::String).collect()),
            );
        }
        // Attribute changes on members already there (planned from their stats).
        let mut attr_change = false;
        if spec.attrs != FileAttrs::default() {
            for f in &files {
                let path = format!(
                    "{}/{}",
                    dest_dir.trim_end_matches('/'),
                    f.trim_end_matches('/')
                );
                if let Ok(Some(rec)) = fr.stat(&path)
                    && remote::attr_changes(&rec.stat, &spec.attrs).is_ok_and(|p| !p.is_empty())
                {
                    attr_change = true;
                }
            }
        }
        result.changed = differs || attr_change;
        if ctx.diff_mode && differs {
            let lines: Vec<&str> = compare.lines().collect();
            result.diffs.push(super::Diff::Summary(format!(
                "{dest}: {} would be unpacked from {src}{}",
                files.len(),
                if lines.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", lines.join("; "))
                }
            )));
        }
        if ctx.check_mode || !result.changed {
            return Ok(result);
        }
        // Extract (when something differs), then give every member and the top folders the
        // attributes, one round trip.
        let mut body = String::new();
        body.push_str(&format!(
            "z={}\n",
            if is_tar {
                crate::connection::quote(format_tag)
            } else {
                "zip".into()
            }
        ));
        if differs {
            let ex = extract_command(spec, !is_tar);
            body.push_str(ex.as_str());
            body.push_str(" || exit 3\n");
        }
        if spec.attrs != FileAttrs::default() {
            let mut targets: Vec<String> = Vec::new();
            for f in &files {
                targets.push(f.trim_end_matches('/').to_string());
                if let Some((top, _)) = f.split_once('/')
                    && !targets.contains(&top.to_string())
                {
                    targets.push(top.to_string());
                }
            }
            let chmod = match &spec.attrs.mode {
                Some(Mode::Preserve) | None => String::new(),
                Some(m) => m.chmod_arg().unwrap_or_default(),
            };
            let mut c = Cmd::empty();
            c.raw("for f in").args(&targets).raw("; do p=\"$1/$f\";");
            if !chmod.is_empty() {
                c.raw("if [ ! -L \"$p\" ]; then chmod")
                    .arg(&chmod)
                    .raw("-- \"$p\" || exit 4; fi;");
            }
            if let Some(o) = &spec.attrs.owner {
                c.raw("chown -h").arg(o).raw("-- \"$p\" || exit 4;");
            }
            if let Some(g) = &spec.attrs.group {
                c.raw("chgrp -h").arg(g).raw("-- \"$p\" || exit 4;");
            }
            c.raw("done\n");
            body.push_str(c.as_str());
        }
        let cmd = remote::script(&[dest_dir, archive], &format!("a=$2\n{body}"));
        let res = remote::run(ctx, cmd, None).await?;
        if res.rc != 0 {
            let what = if res.rc == 3 {
                format!("failed to unpack {archive} to {dest}")
            } else {
                format!("cannot set the mode or owner of the files unpacked in {dest}")
            };
            let mut failed = ModuleResult::failed(remote::host_error(&what, &res).to_string());
            failed.values = result.values;
            return Ok(failed);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE_TEXT, assert_not_pwned};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::process::Command;

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new(
            "unarchive",
            v.as_object().unwrap().clone().into_iter().collect(),
        )
    }

    async fn run(env: &Env, check: bool, v: Json) -> ModuleResult {
        Unarchive
            .run(&margs(v), &env.ctx(check, true))
            .await
            .unwrap()
    }

    /// A tree with hostile names, packed as `name` by `cmd` (run in the tree's parent).
    fn make_tree(root: &Path) {
        let t = root.join("tree");
        std::fs::create_dir_all(t.join("app $(x)/sub")).unwrap();
        std::fs::write(t.join("app $(x)/it's ünï.txt"), HOSTILE_TEXT).unwrap();
        std::fs::write(t.join("app $(x)/sub/b.conf"), "b=1\n").unwrap();
        std::fs::write(t.join("app $(x)/skip.log"), "log\n").unwrap();
        std::os::unix::fs::symlink("sub/b.conf", t.join("app $(x)/link")).unwrap();
    }

    fn pack(root: &Path, name: &str, argv: &[&str]) {
        let files = root.join("files");
        std::fs::create_dir_all(&files).unwrap();
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .arg(files.join(name))
            .arg("app $(x)")
            .current_dir(root.join("tree"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    #[tokio::test]
    async fn every_format_unpacks_once() {
        let tmp = tempfile::tempdir().unwrap();
        make_tree(tmp.path());
        pack(tmp.path(), "a.tar.gz", &["tar", "czf"]);
        pack(tmp.path(), "a.tar.xz", &["tar", "cJf"]);
        pack(tmp.path(), "a.tar.bz2", &["tar", "cjf"]);
        pack(tmp.path(), "a.tar", &["tar", "cf"]);
        pack(tmp.path(), "a.zip", &["zip", "-qry"]);
        let env = Env::new(tmp.path());
        for (name, handler) in [
            ("a.tar.gz", "TgzArchive"),
            ("a.tar.xz", "TarXzArchive"),
            ("a.tar.bz2", "TarBzipArchive"),
            ("a.tar", "TarArchive"),
            ("a.zip", "ZipArchive"),
        ] {
            let dest = tmp.path().join(format!("out {name} 'q'"));
            std::fs::create_dir(&dest).unwrap();
            let a = json!({"src": name, "dest": dest.to_str().unwrap(), "list_files": true});
            let r = run(&env, true, a.clone()).await;
            assert!(r.changed && !r.failed, "{name}: {r:?}");
            assert!(std::fs::read_dir(&dest).unwrap().next().is_none());
            let r = run(&env, false, a.clone()).await;
            assert!(r.changed && !r.failed, "{name}: {r:?}");
            assert_eq!(r.values["handler"], handler);
            let files: Vec<&str> = r.values["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            assert!(files.contains(&"app $(x)/it's ünï.txt"), "{files:?}");
            let f = dest.join("app $(x)/it's ünï.txt");
            assert_eq!(std::fs::read_to_string(&f).unwrap(), HOSTILE_TEXT);
            assert_eq!(
                std::fs::read_link(dest.join("app $(x)/link")).unwrap(),
                Path::new("sub/b.conf")
            );
            for check in [true, false] {
                let r = run(&env, check, a.clone()).await;
                assert!(!r.changed && !r.failed, "{name} again: {r:?}");
            }
            // A member edited by hand is unpacked again.
            std::fs::write(&f, "edited\n").unwrap();
            let r = run(&env, true, a.clone()).await;
            assert!(r.changed, "{name}: {r:?}");
            let r = run(&env, false, a.clone()).await;
            assert!(r.changed, "{name}: {r:?}");
            assert_eq!(std::fs::read_to_string(&f).unwrap(), HOSTILE_TEXT);
        }
        // No pushed copy is left in the temporary directory.
        let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("jig-un"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert_not_pwned();
    }

    #[tokio::test]
    async fn creates_exclude_modes_and_errors() {
        let tmp = tempfile::tempdir().unwrap();
        make_tree(tmp.path());
        pack(tmp.path(), "a.tgz", &["tar", "czf"]);
        let env = Env::new(tmp.path());
        let dest = tmp.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let d = dest.to_str().unwrap();
        // exclude keeps a member out, and out of `files`.
        let a = json!({"src": "a.tgz", "dest": d, "exclude": ["*.log"], "list_files": true,
                       "mode": "u=rwX,g=rX,o="});
        let r = run(&env, false, a.clone()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!dest.join("app $(x)/skip.log").exists());
        assert!(!r.values["files"].to_string().contains("skip.log"));
        let mode = |p: &str| {
            std::fs::metadata(dest.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("app $(x)/sub/b.conf"), 0o640);
        assert_eq!(mode("app $(x)/sub"), 0o750);
        assert_eq!(mode("app $(x)"), 0o750);
        for check in [true, false] {
            let r = run(&env, check, a.clone()).await;
            assert!(!r.changed && !r.failed, "{r:?}");
        }
        // A mode changed by hand is a change, predicted in check mode too.
        std::fs::set_permissions(
            dest.join("app $(x)/sub/b.conf"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let r = run(&env, true, a.clone()).await;
        assert!(r.changed, "{r:?}");
        assert_eq!(mode("app $(x)/sub/b.conf"), 0o600);
        let r = run(&env, false, a.clone()).await;
        assert!(r.changed, "{r:?}");
        assert_eq!(mode("app $(x)/sub/b.conf"), 0o640);
        // creates: skipped.
        let r = run(
            &env,
            false,
            json!({"src": "a.tgz", "dest": d, "creates": dest.join("app $(x)").to_str().unwrap()}),
        )
        .await;
        assert!(r.skipped && !r.changed, "{r:?}");
        // remote_src: an archive already on the host.
        let other = tmp.path().join("other");
        std::fs::create_dir(&other).unwrap();
        let host_archive = tmp.path().join("files/a.tgz");
        let r = run(
            &env,
            false,
            json!({"src": host_archive.to_str().unwrap(), "remote_src": true,
                   "dest": other.to_str().unwrap(), "include": ["app $(x)/sub/b.conf"]}),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(other.join("app $(x)/sub/b.conf").exists());
        assert!(!other.join("app $(x)/it's ünï.txt").exists());
        assert!(host_archive.exists(), "remote_src archives are kept");
        // Errors.
        let r = run(
            &env,
            false,
            json!({"src": "a.tgz", "dest": tmp.path().join("nope").to_str().unwrap()}),
        )
        .await;
        assert!(r.failed && r.msg.unwrap().contains("is not a directory"));
        let r = run(
            &env,
            false,
            json!({"src": "/no/such.tgz", "remote_src": true, "dest": d}),
        )
        .await;
        assert!(r.failed && r.msg.unwrap().contains("does not exist"));
        std::fs::write(tmp.path().join("files/empty.tgz"), b"").unwrap();
        let r = run(&env, false, json!({"src": "empty.tgz", "dest": d})).await;
        assert!(r.failed && r.msg.unwrap().contains("0 bytes"));
        std::fs::write(tmp.path().join("files/junk.tgz"), b"not an archive").unwrap();
        let r = run(&env, false, json!({"src": "junk.tgz", "dest": d})).await;
        assert!(r.failed, "{r:?}");
        let r = run(&env, false, json!({"src": "missing.tgz", "dest": d})).await;
        assert!(r.failed && r.msg.unwrap().contains("Could not find"));
        assert_not_pwned();
    }

    #[test]
    fn tar_diff_lines_are_read_like_ansible() {
        let none = FileAttrs::default();
        let with_mode = FileAttrs {
            mode: Some(Mode::parse("0644").unwrap()),
            ..FileAttrs::default()
        };
        assert!(!tar_differs("", &none, true));
        assert!(tar_differs("a/b: Mod time differs\n", &none, true));
        assert!(tar_differs("a/b: Mode differs\n", &none, true));
        assert!(!tar_differs("a/b: Mode differs\n", &with_mode, true));
        assert!(tar_differs("a/b: Uid differs\n", &none, true));
        assert!(!tar_differs("a/b: Uid differs\n", &none, false));
        assert!(tar_differs(
            "tar: a/c: Warning: Cannot stat: No such file or directory\n",
            &none,
            false
        ));
        assert_eq!(tar_unescape(r"a\nb\\c\303\274"), "a\nb\\cü");
        assert_eq!(
            members("/a\nb/c.log\nb/d\n", true, &["*.log".to_string()]),
            vec!["a", "b/d"]
        );
    }
}

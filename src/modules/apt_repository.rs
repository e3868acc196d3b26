//! The `apt_repository` module: one-line apt sources (`deb ...`, `deb-src ...`) in
//! `/etc/apt/sources.list` and `/etc/apt/sources.list.d/*.list`.
//!
//! One round trip reads every sources file; the controller applies Ansible's `SourcesList`
//! rules (lines normalised, a disabled copy of the line re-enabled rather than duplicated, new
//! lines in a file named after the repository's host and path, files left empty deleted), and
//! one more round trip writes the changed files atomically and refreshes the package lists.
//! Launchpad `ppa:` shortcuts need the network and a key server, so they are refused.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::json;

use super::mode::Mode;
use super::remote::{self, FileAttrs, Frames, RemoteError, WriteOptions};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The `apt_repository` module.
pub struct AptRepository;

const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

/// One line of a sources file as Ansible's `SourcesList._parse` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub valid: bool,
    pub enabled: bool,
    pub source: String,
    pub comment: String,
}

/// Parses one line: `# ` disables, a later `#` starts a comment, whitespace is normalised in
/// a valid source.
pub(crate) fn parse_line(line: &str) -> Line {
    let mut line = line.trim();
    let mut enabled = true;
    if let Some(rest) = line.strip_prefix('#') {
        enabled = false;
        line = rest;
    }
    let mut comment = String::new();
    let mut body = line;
    if let Some(i) = line.find('#').filter(|i| *i > 0) {
        comment = line[i + 1..].trim().to_string();
        body = &line[..i];
    }
    let mut source = body.trim().to_string();
    let mut valid = false;
    let chunks: Vec<&str> = source.split_whitespace().collect();
    if let Some(first) = chunks.first()
        && (*first == "deb" || *first == "deb-src")
    {
        valid = true;
        source = chunks.join(" ");
    }
    Line {
        valid,
        enabled,
        source,
        comment,
    }
}

/// Renders lines as Ansible's `dump` does.
pub(crate) fn dump(lines: &[Line]) -> String {
    let mut out = String::new();
    for l in lines {
        if !l.enabled {
            out.push_str("# ");
        }
        out.push_str(&l.source);
        if !l.comment.is_empty() {
            out.push_str(" # ");
            out.push_str(&l.comment);
        }
        out.push('\n');
    }
    out
}

/// Ansible's `_suggest_filename`: the repository's host and path with every other character
/// turned into `_` (`deb http://ppa.x.org/a b` -> `ppa_x_org_a.list`).
pub(crate) fn suggest_filename(source: &str, filename: Option<&str>) -> String {
    if let Some(f) = filename {
        return format!("{f}.list");
    }
    let no_opts = regex::Regex::new(r"\[[^\]]+\]")
        .map(|re| re.replace_all(source, "").into_owned())
        .unwrap_or_else(|_| source.to_string());
    let no_proto = regex::Regex::new(r"\w+://")
        .map(|re| re.replace_all(&no_opts, "").into_owned())
        .unwrap_or(no_opts);
    let first = no_proto
        .split_whitespace()
        .find(|p| *p != "deb" && *p != "deb-src")
        .unwrap_or("");
    let first = first.rsplit_once('@').map(|(_, h)| h).unwrap_or(first);
    let cleaned: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        "{}.list",
        cleaned.split_whitespace().collect::<Vec<_>>().join("_")
    )
}

/// The sources files as read: path -> (symlink target, lines).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Sources {
    pub files: IndexMap<String, (Option<String>, Vec<Line>)>,
    /// Files that got a new line (their mode is set to `mode`, default 0644).
    pub new_repos: Vec<String>,
}

impl Sources {
    /// Parses the probe's `F<path>\0<link>\0<content>\0` records.
    pub(crate) fn parse(out: &[u8]) -> Result<Sources, String> {
        let mut f = Frames::new(out);
        let mut s = Sources::default();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        while let Some(rec) = f.next_record() {
            let path = rec
                .strip_prefix(b"F")
                .map(text)
                .ok_or("unexpected output while reading apt sources")?;
            let link = f.next_record().map(text).unwrap_or_default();
            let content = f.next_record().map(text).unwrap_or_default();
            let lines = content.lines().map(parse_line).collect();
            s.files
                .insert(path, ((!link.is_empty()).then_some(link), lines));
        }
        Ok(s)
    }

    /// Every file's rendered content (files with no lines are left out, as Ansible's `dump`).
    pub(crate) fn dump(&self) -> IndexMap<String, String> {
        self.files
            .iter()
            .filter(|(_, (_, l))| !l.is_empty())
            .map(|(p, (_, l))| (p.clone(), dump(l)))
            .collect()
    }

    /// Adds `source` (already parsed), re-enabling existing copies; else appends to `file`.
    pub(crate) fn add(&mut self, source: &str, file: &str) {
        let mut found = false;
        for (_, lines) in self.files.values_mut() {
            for l in lines.iter_mut().filter(|l| l.valid && l.source == source) {
                l.enabled = true;
                found = true;
            }
        }
        if found {
            return;
        }
        let path = if file.contains('/') {
            file.to_string()
        } else {
            format!("{SOURCES_DIR}/{file}")
        };
        let entry = self.files.entry(path.clone()).or_default();
        entry.1.push(Line {
            valid: true,
            enabled: true,
            source: source.to_string(),
            comment: String::new(),
        });
        if !self.new_repos.contains(&path) {
            self.new_repos.push(path);
        }
    }

    /// Removes every enabled copy of `source`.
    pub(crate) fn remove(&mut self, source: &str) {
        for (_, lines) in self.files.values_mut() {
            lines.retain(|l| !(l.valid && l.enabled && l.source == source));
        }
    }
}

/// Reads `/etc/apt/sources.list` and `sources.list.d/*.list` (sorted, as the shell globs).
pub(crate) const READ_SOURCES: &str = r#"for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  l=; if [ -L "$f" ]; then l=$(readlink -f -- "$f"); fi
  printf 'F%s\0%s\0' "$f" "$l"; cat -- "$f" || exit 1; printf '\0'
done"#;

/// Refreshes the package lists, `$1` tries with a growing pause between them; status 3 (the
/// last output on stderr) when every try failed.
const UPDATE_CACHE: &str = r#"_n=0
while :; do
  _o=$(apt-get update -q 2>&1); _r=$?
  [ "$_r" = 0 ] && break
  _n=$((_n + 1)); [ "$_n" -ge "$1" ] && { printf '%s\n' "$_o" >&2; exit 3; }
  _s=$((1 << (_n - 1))); [ "$_s" -gt 12 ] && _s=12; sleep "$_s"
done"#;

/// One change to the sources files, for [`write_sources`].
pub(crate) enum Change<'a> {
    /// Write `content` to `path`; `new` when the file is one jig adds.
    Write {
        path: &'a str,
        content: &'a str,
        new: bool,
    },
    /// Delete `path` (its last line went).
    Remove(&'a str),
}

/// The script, and its stdin, that makes `changes` in order, each file written with
/// [`remote`]'s atomic write (a file there keeps its mode and owner; a new one gets `mode`,
/// else 0644), then with `update` (the tries) refreshes the package lists. Status 3: the
/// refresh failed; any other non-zero status: a change did.
pub(crate) fn write_sources(
    changes: &[Change<'_>],
    mode: Option<&Mode>,
    update: Option<i64>,
) -> Result<(String, Vec<u8>), RemoteError> {
    let opts = WriteOptions::default();
    let new_mode = match mode {
        Some(m) if m.chmod_arg().is_some() => m.clone(),
        _ => Mode::Octal(0o644),
    };
    let mut c = Cmd::empty();
    c.raw(remote::PRELUDE)
        .raw(super::dpkg::APT_ENV)
        .raw(";\n")
        .raw(&remote::write_function(&opts)?);
    let mut stdin = Vec::new();
    for change in changes {
        match change {
            Change::Write { path, content, new } => {
                let attrs = FileAttrs {
                    mode: new.then(|| new_mode.clone()),
                    ..FileAttrs::default()
                };
                let dir = match path.rfind('/') {
                    Some(0) => "/",
                    Some(i) => &path[..i],
                    None => ".",
                };
                c.raw("mkdir -p --").arg(dir).raw("|| exit 1\n");
                let job = remote::WriteJob {
                    path,
                    content: content.as_bytes(),
                    attrs: &attrs,
                    follow: false,
                    remote_src: None,
                };
                c.raw(remote::write_call(&job, &opts)?.as_str())
                    .raw(">/dev/null || exit 1\n");
                stdin.extend_from_slice(content.as_bytes());
            }
            Change::Remove(path) => {
                c.raw("rm -f --").arg(path).raw("|| exit 1\n");
            }
        }
    }
    if let Some(tries) = update {
        c.raw("set --")
            .arg(&tries.to_string())
            .raw(";\n")
            .raw(UPDATE_CACHE);
    }
    Ok((c.into_string(), stdin))
}

#[async_trait]
impl Module for AptRepository {
    fn name(&self) -> &'static str {
        "apt_repository"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&[
            "repo",
            "state",
            "mode",
            "update_cache",
            "update-cache",
            "update_cache_retries",
            "update_cache_retry_max_delay",
            "filename",
            "install_python_apt",
            "validate_certs",
            "codename",
        ])?;
        let repo = args.req_str("repo")?;
        if repo.is_empty() {
            return Ok(ModuleResult::failed(
                "Please set argument 'repo' to a non-empty value",
            ));
        }
        let state = args.str("state")?.unwrap_or_else(|| "present".into());
        if state != "present" && state != "absent" {
            return Err(args
                .invalid(
                    "state",
                    format!("must be one of: absent, present, got: {state}"),
                )
                .into());
        }
        let mode = match args.get("mode") {
            Some(v) => Some(Mode::from_json(v).map_err(|e| args.invalid("mode", e.to_string()))?),
            None => None,
        };
        let update_cache = match args.bool("update_cache")? {
            Some(b) => b,
            None => args.bool_or("update-cache", true)?,
        };
        let retries = args.int("update_cache_retries")?.unwrap_or(5).max(1);
        if repo.starts_with("ppa:") {
            return Ok(ModuleResult::failed(
                "ppa: repositories are not supported by jig (they need Launchpad and a key \
                 server); write the deb line and the key with apt_key or deb822_repository",
            ));
        }
        let parsed = parse_line(&repo);
        if !parsed.valid || !parsed.enabled {
            return Ok(ModuleResult::failed(format!(
                "Invalid repository string: {}",
                repo.trim().trim_start_matches('#')
            )));
        }
        let filename = args.str("filename")?;
        let out = remote::run(ctx, READ_SOURCES.to_string(), None).await?;
        if out.rc != 0 {
            return Ok(ModuleResult::failed(format!(
                "cannot read the apt sources: {}",
                out.stderr_str().trim()
            )));
        }
        let mut sources = match Sources::parse(&out.stdout) {
            Ok(s) => s,
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        let before = sources.dump();
        if state == "present" {
            let file = suggest_filename(&parsed.source, filename.as_deref());
            sources.add(&parsed.source, &file);
        } else {
            sources.remove(&parsed.source);
        }
        let after = sources.dump();
        let changed = before != after;
        let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
        let removed: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
        let mut r = ModuleResult::ok();
        r.changed = changed;
        r.set("repo", repo.clone())
            .set("state", state.clone())
            .set("sources_added", json!(added))
            .set("sources_removed", json!(removed));
        if changed && ctx.diff_mode {
            for f in added.iter().chain(removed.iter()) {
                r.diffs.push(Diff::Text {
                    before_header: if before.contains_key(*f) {
                        f.to_string()
                    } else {
                        "/dev/null".into()
                    },
                    after_header: if after.contains_key(*f) {
                        f.to_string()
                    } else {
                        "/dev/null".into()
                    },
                    before: before.get(*f).cloned().unwrap_or_default(),
                    after: after.get(*f).cloned().unwrap_or_default(),
                });
            }
        }
        if !changed || ctx.check_mode {
            return Ok(r);
        }
        let mut changes = Vec::new();
        for (path, (link, lines)) in &sources.files {
            let text = after.get(path);
            if before.get(path) == text {
                continue;
            }
            match text {
                Some(content) => changes.push(Change::Write {
                    path: link.as_deref().unwrap_or(path),
                    content,
                    new: sources.new_repos.contains(path),
                }),
                None if lines.is_empty() => changes.push(Change::Remove(path)),
                None => {}
            }
        }
        let (script, stdin) =
            match write_sources(&changes, mode.as_ref(), update_cache.then_some(retries)) {
                Ok(s) => s,
                Err(e) => return Ok(ModuleResult::failed(e.to_string())),
            };
        let out = remote::run(ctx, script, Some(stdin)).await?;
        match out.rc {
            0 => Ok(r),
            3 => Ok(ModuleResult::failed(format!(
                "Failed to update apt cache after {retries} retries: {}",
                out.stderr_str().trim()
            ))),
            _ => Ok(ModuleResult::failed(format!(
                "cannot write the apt sources: {}",
                out.stderr_str().trim()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_follow_ansible() {
        assert_eq!(
            suggest_filename("deb http://ppa.launchpad.net/x/y/ubuntu focal main", None),
            "ppa_launchpad_net_x_y_ubuntu.list"
        );
        assert_eq!(
            suggest_filename("deb [trusted=yes] file:/srv/extra ./", None),
            "file_srv_extra.list"
        );
        assert_eq!(
            suggest_filename(
                "deb https://user:pw@artifacts.elastic.co/packages/6.x/apt stable main",
                None
            ),
            "artifacts_elastic_co_packages_6_x_apt.list"
        );
        assert_eq!(suggest_filename("deb x y", Some("mine")), "mine.list");
    }

    #[test]
    fn lines_normalise_and_reenable() {
        let l = parse_line("#deb   http://a  b c # note");
        assert_eq!(
            l,
            Line {
                valid: true,
                enabled: false,
                source: "deb http://a b c".into(),
                comment: "note".into()
            }
        );
        assert_eq!(dump(&[l]), "# deb http://a b c # note\n");
        let out = b"F/etc/apt/sources.list\0\0# comment\n#deb http://a b c\n\0F/etc/apt/sources.list.d/x.list\0/real/x.list\0deb http://x y z\n\0";
        let mut s = Sources::parse(out).unwrap();
        let before = s.dump();
        s.add("deb http://a b c", "a.list");
        let after = s.dump();
        assert_eq!(
            after["/etc/apt/sources.list"],
            "# comment\ndeb http://a b c\n"
        );
        assert_ne!(before, after);
        assert!(s.new_repos.is_empty());
        s.remove("deb http://x y z");
        assert!(!s.dump().contains_key("/etc/apt/sources.list.d/x.list"));
        s.add("deb http://n $(touch PWNED) 'q'", "n.list");
        assert_eq!(s.new_repos, vec!["/etc/apt/sources.list.d/n.list"]);
    }

    #[test]
    fn writes_hostile_content_through_sh() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("we ird $(touch x).list");
        let content = "deb [trusted=yes] file:/srv/a ./ # 'q' $(touch /tmp/jig-repo-pwned)\nü\n";
        let run = |new: bool, mode: Option<&Mode>| {
            let write = Change::Write {
                path: dest.to_str().unwrap(),
                content,
                new,
            };
            let (script, stdin) = write_sources(&[write], mode, None).unwrap();
            let mut child = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), &stdin).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{out:?}");
        };
        use std::os::unix::fs::PermissionsExt;
        let mode = || std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777;
        run(true, Some(&Mode::Octal(0o640)));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), content);
        assert_eq!(mode(), 0o640);
        // A file that is there keeps its mode.
        run(false, None);
        assert_eq!(mode(), 0o640);
        let (script, _) =
            write_sources(&[Change::Remove(dest.to_str().unwrap())], None, None).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(!dest.exists());
        assert!(!std::path::Path::new("/tmp/jig-repo-pwned").exists());
    }
}

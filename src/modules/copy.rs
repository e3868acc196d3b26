//! The `copy` module: put a controller file, a directory tree, inline `content`, or a file
//! already on the host (`remote_src`) at `dest`.
//!
//! This module also owns [`put`], the single-file path shared with `template`: one probe
//! (stat + sha256 of the destination, and its content under `--diff`), a plan on the
//! controller (sha256 comparison, attribute plan), and at most one apply (an atomic write, or
//! chmod/chown only). A directory copy probes every destination in one round trip and writes
//! every changed file in one more.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::Value as Json;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::mode::{self, DEFAULT_UMASK, Mode};
use super::remote::{
    self, FileAttrs, FileKind, Frames, RemoteError, RemoteStat, WriteJob, WriteOptions,
};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult, SearchKind};
use crate::connection::Cmd;

/// The `copy` module.
pub struct Copy;

const KNOWN: &[&str] = &[
    "src",
    "content",
    "dest",
    "mode",
    "owner",
    "group",
    "directory_mode",
    "backup",
    "validate",
    "force",
    "remote_src",
    "follow",
    "local_follow",
    "decrypt",
    "checksum",
    "unsafe_writes",
    "attributes",
    "seuser",
    "serole",
    "setype",
    "selevel",
];

/// Where the new content of one file comes from.
pub(crate) enum Content<'a> {
    /// Bytes held by the controller.
    Bytes(&'a [u8]),
    /// A file on the host (`remote_src`).
    Remote(&'a str),
}

/// Everything [`put`] needs to place one file.
pub(crate) struct PutSpec<'a> {
    /// `dest` as given.
    pub dest: &'a str,
    /// The name to use inside `dest` when it is a directory (`dest/<basename>`).
    pub basename: Option<&'a str>,
    /// The new content.
    pub content: Content<'a>,
    /// Mode (possibly `preserve`), owner and group.
    pub attrs: FileAttrs,
    /// The source's own mode, for `mode: preserve`.
    pub source_mode: Option<u32>,
    /// Mode of directories created for a `dest` ending in `/`.
    pub directory_mode: Option<Mode>,
    /// Backup, validate, unsafe_writes.
    pub write: WriteOptions,
    /// Replace an existing file whose content differs.
    pub force: bool,
    /// Follow a symbolic link at the destination instead of replacing it.
    pub follow: bool,
    /// `src` reported in the result, and the diff's after-header.
    pub src_label: Option<String>,
}

/// Places one file (copy's single-file case and template). Returns the module result.
pub(crate) async fn put(
    ctx: &ModuleContext<'_>,
    spec: &PutSpec<'_>,
) -> Result<ModuleResult, ModuleError> {
    // A dest ending in '/' is a directory to create if needed; one that exists as a directory
    // receives dest/<basename>. Both are decided in the one probe.
    let trailing = spec.dest.ends_with('/') && spec.dest.len() > 1;
    let (direct, inside) = match (trailing, spec.basename) {
        (true, Some(b)) => (format!("{}{b}", spec.dest), String::new()),
        (true, None) => {
            return Ok(ModuleResult::failed(format!(
                "can not use content with a dir as dest: {}",
                spec.dest
            )));
        }
        (false, Some(b)) => (spec.dest.to_string(), join(spec.dest, b)),
        (false, None) => (spec.dest.to_string(), String::new()),
    };
    let remote_src = match spec.content {
        Content::Remote(p) => p,
        Content::Bytes(_) => "",
    };
    let want_content = if ctx.diff_mode { "1" } else { "0" };
    let mut attrs = spec.attrs.clone();
    if attrs.mode == Some(Mode::Preserve) {
        attrs.mode = spec.source_mode.map(Mode::Octal);
    }
    // The common first-run case, content that differs from what is there, costs one round
    // trip instead of two: the probe writes the file itself when its checksum differs, and
    // the controller, planning from the probed state as always, finds the write already
    // done. Only where that plan is certain to be "write these bytes with these attributes":
    // no check mode, no diff (which needs the old content first), no backup or validate.
    let speculative = match spec.content {
        Content::Bytes(b)
            if !ctx.check_mode
                && !ctx.diff_mode
                && spec.force
                && !trailing
                && !spec.write.backup
                && spec.write.validate.is_none()
                && attrs.mode.as_ref().is_none_or(|m| m.chmod_arg().is_some()) =>
        {
            Some(b)
        }
        _ => None,
    };
    let new_sum = match spec.content {
        Content::Bytes(b) => hex::encode(Sha256::digest(b)),
        Content::Remote(_) => String::new(),
    };
    let mut body = String::from(
        r#"if [ -n "$2" ] && [ -d "$1" ]; then printf 'D\0'; p=$2; else printf 'F\0'; p=$1; fi
if [ -n "$4" ]; then
  jig_stat "$4" -L || exit 1
  if [ -f "$4" ]; then sha256sum < "$4" && sha1sum < "$4" || exit 1; fi
  printf '\0'
  if [ "$3" = 1 ] && [ -f "$4" ]; then jig_head "$4"; fi
fi
jig_stat "$p" -L || exit 1
s=
if [ -f "$p" ]; then s=$(sha256sum < "$p") || exit 1; printf '%s\n' "$s"; fi
printf '\0'
if [ "$3" = 1 ] && [ -f "$p" ]; then jig_head "$p"; fi
"#,
    );
    let mut stdin = None;
    if let Some(bytes) = speculative {
        let job = WriteJob {
            path: "",
            content: bytes,
            attrs: &attrs,
            follow: spec.follow,
            remote_src: None,
        };
        let (Ok(function), Ok(call)) = (
            remote::write_function(&spec.write),
            remote::write_call_to("\"$p\"", &job, &spec.write),
        ) else {
            return Ok(ModuleResult::failed(format!(
                "cannot plan the write of {}",
                spec.dest
            )));
        };
        let call = call.as_str();
        body = format!(
            "{function}{body}if [ ! -e \"$p\" ] || {{ [ -f \"$p\" ] && [ \"${{s%% *}}\" != \"$5\" ]; }}; then\n  printf 'W\\0'; {call} || exit $(({SPECULATIVE_FAILURE} + $?))\nelse\n  printf 'K\\0'\nfi\n"
        );
        stdin = Some(bytes.to_vec());
    }
    let probe = remote::script(
        &[&direct, &inside, want_content, remote_src, &new_sum],
        &body,
    );
    let out = remote::run(ctx, probe, stdin).await?;
    let mut frames = Frames::new(&out.stdout);
    let wrote = speculative.is_some() && (out.rc == 0 || out.rc > SPECULATIVE_FAILURE);
    if out.rc != 0 && !wrote {
        return Ok(ModuleResult::failed(
            remote::host_error(&format!("cannot inspect {}", spec.dest), &out).to_string(),
        ));
    }
    let bad = || ModuleResult::failed(format!("unexpected probe output for {}", spec.dest));
    // In check mode a directory an earlier task would create receives dest/<basename> too.
    let into_dir = frames.next_record() == Some(b"D")
        || (ctx.check_mode && !inside.is_empty() && ctx.predicted.is_dir(&direct));
    let dest = if into_dir { inside.clone() } else { direct };

    // The new content's checksums, and (for diffs) the bytes themselves.
    let (new_sha256, new_sha1, new_bytes, new_size, source_mode) = match spec.content {
        Content::Bytes(b) => (
            hex::encode(Sha256::digest(b)),
            hex::encode(Sha1::digest(b)),
            Some(b.to_vec()),
            b.len() as u64,
            spec.source_mode,
        ),
        Content::Remote(src) => {
            let rec = match frames.stat(src) {
                Ok(r) => r,
                Err(e) => return Ok(ModuleResult::failed(e.to_string())),
            };
            let Some(rec) = rec else {
                return Ok(ModuleResult::failed(format!(
                    "Source {src} not found on the host"
                )));
            };
            if rec.stat.kind == FileKind::Directory {
                return Ok(ModuleResult::failed(format!("{REMOTE_DIR}{src}")));
            }
            if rec.stat.kind != FileKind::File {
                return Ok(ModuleResult::failed(format!(
                    "Source {src} is not a regular file or a directory"
                )));
            }
            let sums = frames.next_record().ok_or_else(bad);
            let Ok(sums) = sums else { return Ok(bad()) };
            let text = String::from_utf8_lossy(sums);
            let mut it = text.lines().filter_map(|l| remote::parse_sum(l.as_bytes()));
            let (Some(s256), Some(s1)) = (it.next(), it.next()) else {
                return Ok(bad());
            };
            let bytes = if ctx.diff_mode {
                frames.sized().map(<[u8]>::to_vec)
            } else {
                None
            };
            (s256, s1, bytes, rec.stat.size, Some(rec.stat.mode))
        }
    };
    let current = match frames.stat(&dest) {
        Ok(r) => r.map(|r| r.stat),
        Err(e) => return Ok(ModuleResult::failed(e.to_string())),
    };
    let current_sum = frames.next_record().and_then(remote::parse_sum);
    let current_bytes =
        if ctx.diff_mode && current.as_ref().is_some_and(|s| s.kind == FileKind::File) {
            frames.sized().map(<[u8]>::to_vec)
        } else {
            None
        };
    let (current, current_sum, current_bytes) = if ctx.check_mode {
        predicted_current(ctx, &dest, spec.follow).unwrap_or((current, current_sum, current_bytes))
    } else {
        (current, current_sum, current_bytes)
    };

    let mut attrs = spec.attrs.clone();
    if attrs.mode == Some(Mode::Preserve) {
        attrs.mode = source_mode.map(Mode::Octal);
    }

    let mut result = ModuleResult::ok();
    result.set("dest", dest.clone());
    if let Some(src) = &spec.src_label {
        result.set("src", src.clone());
    }
    result.set("checksum", new_sha1.clone());

    if let Some(cur) = &current {
        if cur.kind == FileKind::Directory {
            return Ok(ModuleResult::failed(format!(
                "cannot copy to {dest}: it is a directory"
            )));
        }
        if !spec.force {
            remote::add_path_info(&mut result, cur);
            return Ok(result);
        }
    }

    let content_changes = current_sum.as_deref() != Some(new_sha256.as_str());
    if content_changes {
        result.changed = true;
        if ctx.diff_mode {
            let after_header = spec.src_label.clone().unwrap_or_else(|| dest.clone());
            result.diffs.push(match &new_bytes {
                Some(b) => remote::content_diff(&dest, &after_header, current_bytes.as_deref(), b),
                None => Diff::Summary(format!("{dest}: content would change ({new_size} bytes)")),
            });
        }
        if ctx.check_mode {
            predict(&mut result, current.as_ref(), &attrs, new_size);
            let bytes = match spec.content {
                Content::Bytes(b) => Some(b),
                Content::Remote(_) => None,
            };
            ctx.predicted
                .put_file(&dest, bytes, new_size, &attrs, current.as_ref());
            return Ok(result);
        }
        let setup = if trailing && !into_dir {
            let parent = dest.rsplit_once('/').map_or("", |(p, _)| p);
            let dir_attrs = FileAttrs {
                mode: spec.directory_mode.clone(),
                owner: attrs.owner.clone(),
                group: attrs.group.clone(),
            };
            match remote::mkdirs_cmd(parent, &dir_attrs) {
                Ok(c) => Some(c),
                Err(e) => return Ok(ModuleResult::failed(e.to_string())),
            }
        } else {
            None
        };
        // The host decides with the same checksum, so a write planned here was done there,
        // except for the odd file types the probe leaves to the ordinary write (a fifo...).
        if wrote && frames.next_record() == Some(b"W") {
            let r = finish_speculated(&mut frames, &dest, &spec.write, &out, result);
            if !r.failed {
                remember(ctx, &dest, &spec.content);
            }
            return Ok(r);
        }
        let job = WriteJob {
            path: &dest,
            content: match spec.content {
                Content::Bytes(b) => b,
                Content::Remote(_) => b"",
            },
            attrs: &attrs,
            follow: spec.follow,
            remote_src: match spec.content {
                Content::Remote(p) => Some(p),
                Content::Bytes(_) => None,
            },
        };
        match remote::write_many(ctx, setup.as_ref(), &[job], &spec.write).await {
            Ok(mut written) => {
                remember(ctx, &dest, &spec.content);
                if let Some(w) = written.pop() {
                    if let Some(b) = w.outcome.backup_file {
                        result.set("backup_file", b);
                    }
                    if let Some(st) = w.stat {
                        remote::add_path_info(&mut result, &st);
                    }
                }
            }
            Err(RemoteError::Connection(e)) => return Err(e.into()),
            Err(e) => {
                let mut failed = ModuleResult::failed(e.to_string());
                failed.values = result.values;
                return Ok(failed);
            }
        }
        return Ok(result);
    }

    // Same content: only attributes may change. Ansible answers this case with the `file`
    // module's result, which names the file `path`.
    let Some(cur) = current else {
        return Ok(bad());
    };
    if !ctx.check_mode {
        remember(ctx, &dest, &spec.content);
    }
    result.set("path", dest.clone());
    let plan = match remote::attr_changes(&cur, &attrs) {
        Ok(p) => p,
        Err(e) => return Ok(ModuleResult::failed(e.to_string())),
    };
    if ctx.check_mode && !plan.is_empty() {
        let bytes = match spec.content {
            Content::Bytes(b) => Some(b),
            Content::Remote(_) => None,
        };
        ctx.predicted
            .put_file(&dest, bytes, new_size, &attrs, Some(&cur));
    }
    attrs_only(ctx, &dest, &cur, &plan, result).await
}

/// In check mode, what an earlier task predicted of `dest` stands for the probed state: its
/// stat, sha256 and (for diffs) content. `None` when nothing is predicted of it.
#[allow(clippy::type_complexity)]
fn predicted_current(
    ctx: &ModuleContext<'_>,
    dest: &str,
    follow: bool,
) -> Option<(Option<RemoteStat>, Option<String>, Option<Vec<u8>>)> {
    let found = if follow {
        ctx.predicted.follow(dest)
    } else {
        ctx.predicted.path(dest)
    }?;
    Some(match found {
        super::predict::Predicted::Absent => (None, None, None),
        super::predict::Predicted::Present(p) => {
            let sum = p.content.as_ref().map(|c| hex::encode(Sha256::digest(c)));
            let bytes = p.content.as_ref().map(|c| c.to_vec());
            (Some(p.stat), sum, bytes)
        }
    })
}

/// Records what `dest` now holds for later edits of it (see [`super::known`]): the bytes
/// written, or nothing known for content copied on the host.
fn remember(ctx: &ModuleContext<'_>, dest: &str, content: &Content<'_>) {
    ctx.predicted.forget(dest);
    match content {
        Content::Bytes(b) => ctx.known.record(dest, b),
        Content::Remote(_) => ctx.known.forget(dest),
    }
}

/// A speculative probe (see [`put`]) exits with this plus `jig_write`'s status when the write
/// fails, apart from its own failures (status 1).
const SPECULATIVE_FAILURE: i32 = 100;

/// The result of a write the probe already made: its backup record and the file's stat, or
/// the write's failure.
fn finish_speculated(
    frames: &mut Frames<'_>,
    dest: &str,
    write: &WriteOptions,
    out: &crate::connection::ExecOutput,
    mut result: ModuleResult,
) -> ModuleResult {
    if out.rc != 0 {
        let mut status = out.clone();
        status.rc = out.rc - SPECULATIVE_FAILURE;
        let mut failed =
            ModuleResult::failed(remote::write_error(dest, write, &status).to_string());
        failed.values = result.values;
        return failed;
    }
    match remote::parse_written(frames, dest, out.rc) {
        Ok(Some(w)) => {
            if let Some(b) = w.outcome.backup_file {
                result.set("backup_file", b);
            }
            if let Some(st) = w.stat {
                remote::add_path_info(&mut result, &st);
            }
            result
        }
        Ok(None) => ModuleResult::failed(format!("no report of the write of {dest}")),
        Err(e) => ModuleResult::failed(e.to_string()),
    }
}

/// Applies (or predicts) attribute-only changes on an existing file and fills the result.
pub(crate) async fn attrs_only(
    ctx: &ModuleContext<'_>,
    path: &str,
    cur: &RemoteStat,
    plan: &remote::AttrPlan,
    mut result: ModuleResult,
) -> Result<ModuleResult, ModuleError> {
    remote::add_path_info(&mut result, cur);
    if plan.is_empty() {
        return Ok(result);
    }
    result.changed = true;
    if ctx.diff_mode {
        result.diffs.push(plan.diff(path));
    }
    if let Some((_, m)) = plan.mode {
        result.set("mode", mode::render(m));
    }
    if let Some((_, o)) = &plan.owner {
        result.set("owner", o.clone());
    }
    if let Some((_, g)) = &plan.group {
        result.set("group", g.clone());
    }
    if ctx.check_mode {
        return Ok(result);
    }
    let mut c = remote::attr_commands(path, plan);
    c.raw("&& jig_stat")
        .arg(path)
        .arg(remote::follow_flag(!plan.no_dereference));
    let mut line = Cmd::empty();
    line.raw(remote::PRELUDE).raw(c.as_str());
    let out = remote::run(ctx, line.into_string(), None).await?;
    if out.rc != 0 {
        let mut failed = ModuleResult::failed(
            remote::host_error(&format!("cannot set the mode or owner of {path}"), &out)
                .to_string(),
        );
        failed.values = result.values;
        return Ok(failed);
    }
    if let Ok(Some(rec)) = Frames::new(&out.stdout).stat(path) {
        remote::add_path_info(&mut result, &rec.stat);
    }
    Ok(result)
}

/// Fills the result keys a write would produce, without writing (check mode).
fn predict(result: &mut ModuleResult, current: Option<&RemoteStat>, attrs: &FileAttrs, size: u64) {
    match current {
        Some(cur) => {
            remote::add_path_info(result, cur);
            if let Ok(plan) = remote::attr_changes(cur, attrs) {
                if let Some((_, m)) = plan.mode {
                    result.set("mode", mode::render(m));
                }
                if let Some((_, o)) = plan.owner {
                    result.set("owner", o);
                }
                if let Some((_, g)) = plan.group {
                    result.set("group", g);
                }
            }
        }
        None => {
            result.set("state", "file");
            let base = 0o666 & !DEFAULT_UMASK;
            if let Some(m) = attrs
                .mode
                .as_ref()
                .and_then(|m| m.resolve(base, false, DEFAULT_UMASK))
            {
                result.set("mode", mode::render(m));
            }
            if let Some(o) = &attrs.owner {
                result.set("owner", o.clone());
            }
            if let Some(g) = &attrs.group {
                result.set("group", g.clone());
            }
        }
    }
    result.set("size", size);
}

/// `dir/name` without doubling the slash.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Ansible's `content:`: strings as they are; lists and mappings as JSON the way Python's
/// `json.dumps` writes it (`{"a": 1, "b": [1, 2]}`).
fn content_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Array(_) | Json::Object(_) => python_json(v),
        Json::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Json::Null => String::new(),
        Json::Number(n) => n.to_string(),
    }
}

fn python_json(v: &Json) -> String {
    crate::pyfmt::dumps(v, crate::pyfmt::Dumps::default())
}

/// The file name part of a path as Ansible's `os.path.basename` gives it (after the last `/`).
fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

#[async_trait]
impl Module for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let dest = args.req_str("dest")?;
        if dest.is_empty() {
            return Err(args.invalid("dest", "must not be empty").into());
        }
        let attrs = remote::attrs_from_args(args)?;
        let directory_mode = match args.get("directory_mode") {
            None => None,
            Some(v) => Some(
                Mode::from_json(v).map_err(|e| args.invalid("directory_mode", e.to_string()))?,
            ),
        };
        let write = WriteOptions {
            backup: args.bool_or("backup", false)?,
            validate: args.str("validate")?,
            unsafe_writes: args.bool_or("unsafe_writes", false)?,
        };
        let force = args.bool_or("force", true)?;
        let follow = args.bool_or("follow", false)?;
        let remote_src = args.bool_or("remote_src", false)?;
        let src = args.str("src")?;
        let content = args.get("content");

        match (src, content) {
            (Some(_), Some(_)) => Err(args.error("src and content are mutually exclusive").into()),
            (None, None) => Err(args.error("src (or content) is required").into()),
            (None, Some(c)) => {
                let text = content_text(c);
                let spec = PutSpec {
                    dest: &dest,
                    basename: None,
                    content: Content::Bytes(text.as_bytes()),
                    attrs,
                    source_mode: None,
                    directory_mode,
                    write,
                    force,
                    follow,
                    src_label: None,
                };
                put(ctx, &spec).await
            }
            (Some(src), None) if remote_src => {
                let tree_root = |src: &str| {
                    if src.ends_with('/') {
                        dest.trim_end_matches('/').to_string()
                    } else {
                        join(&dest, basename(src.trim_end_matches('/')))
                    }
                };
                if src.ends_with('/') {
                    return copy_remote_tree(
                        ctx,
                        &src,
                        &tree_root(&src),
                        &attrs,
                        directory_mode,
                        &write,
                        force,
                    )
                    .await;
                }
                let spec = PutSpec {
                    dest: &dest,
                    basename: Some(basename(src.trim_end_matches('/'))),
                    content: Content::Remote(&src),
                    attrs: attrs.clone(),
                    source_mode: None,
                    directory_mode: directory_mode.clone(),
                    write: write.clone(),
                    force,
                    follow,
                    src_label: Some(src.clone()),
                };
                let r = put(ctx, &spec).await?;
                // A directory source is only discovered by the probe; copy it as a tree.
                if r.failed && r.msg.as_deref().is_some_and(|m| m.starts_with(REMOTE_DIR)) {
                    return copy_remote_tree(
                        ctx,
                        &src,
                        &tree_root(&src),
                        &attrs,
                        directory_mode,
                        &write,
                        force,
                    )
                    .await;
                }
                Ok(r)
            }
            (Some(src), None) => {
                let local = match ctx.files.find(SearchKind::Files, &src) {
                    Ok(p) => p,
                    Err(tried) => {
                        return Ok(ModuleResult::failed(format!(
                            "Could not find or access '{src}' on the controller (searched: {})",
                            tried
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                };
                if local.is_dir() {
                    let tree = match LocalTree::read(&local, args.bool_or("local_follow", true)?) {
                        Ok(t) => t,
                        Err(e) => return Ok(ModuleResult::failed(e)),
                    };
                    let root = if src.ends_with('/') {
                        dest.trim_end_matches('/').to_string()
                    } else {
                        join(&dest, basename(src.trim_end_matches('/')))
                    };
                    let root = if root.is_empty() {
                        "/".to_string()
                    } else {
                        root
                    };
                    return copy_tree(
                        ctx,
                        &tree,
                        &root,
                        &attrs,
                        directory_mode,
                        &write,
                        force,
                        &src,
                    )
                    .await;
                }
                let bytes = match std::fs::read(&local) {
                    Ok(b) => b,
                    Err(e) => {
                        return Ok(ModuleResult::failed(format!(
                            "cannot read {}: {e}",
                            local.display()
                        )));
                    }
                };
                // `checksum:` pins the source: a different file must not be copied.
                if let Some(want) = args.str("checksum")? {
                    let have = hex::encode(Sha1::digest(&bytes));
                    if !want.eq_ignore_ascii_case(&have) {
                        return Ok(ModuleResult::failed(format!(
                            "{} has sha1 checksum {have}, not the expected {want}",
                            local.display()
                        )));
                    }
                }
                // A vaulted source is copied decrypted (`decrypt: true`, the default), as in
                // Ansible; its plaintext becomes a secret, so diffs and output never show it.
                let bytes = if args.bool_or("decrypt", true)? && crate::vault::is_vaulted(&bytes) {
                    match crate::vault::current().open_bytes(&bytes) {
                        Ok(plain) => plain,
                        Err(e) => {
                            return Ok(ModuleResult::failed(format!(
                                "{} is vault-encrypted and cannot be decrypted: {e}",
                                local.display()
                            )));
                        }
                    }
                } else {
                    bytes
                };
                let spec = PutSpec {
                    dest: &dest,
                    basename: Some(basename(&src)),
                    content: Content::Bytes(&bytes),
                    attrs,
                    source_mode: local_mode(&local),
                    directory_mode,
                    write,
                    force,
                    follow,
                    src_label: Some(local.display().to_string()),
                };
                put(ctx, &spec).await
            }
        }
    }
}

fn local_mode(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .ok()
        .map(|m| m.permissions().mode() & mode::PERM_BITS)
}

/// A controller directory read for a recursive copy (symbolic links followed, as
/// `local_follow: true` does).
struct LocalTree {
    /// Relative directory paths, parents first.
    dirs: Vec<String>,
    /// Relative file paths with their content and mode.
    files: Vec<(String, Vec<u8>, u32)>,
}

impl LocalTree {
    fn read(root: &Path, follow_links: bool) -> Result<LocalTree, String> {
        let mut tree = LocalTree {
            dirs: Vec::new(),
            files: Vec::new(),
        };
        let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, rel)) = stack.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
                .filter_map(Result::ok)
                .collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let name = e.file_name().to_string_lossy().into_owned();
                let r = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let path = e.path();
                if !follow_links && path.is_symlink() {
                    return Err(format!(
                        "{} is a symbolic link; jig copies trees with local_follow: true only \
                         (the link's target is copied)",
                        path.display()
                    ));
                }
                if path.is_dir() {
                    tree.dirs.push(r.clone());
                    stack.push((path, r));
                } else {
                    let bytes = std::fs::read(&path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    let m = local_mode(&path).unwrap_or(0o644);
                    tree.files.push((r, bytes, m));
                }
            }
        }
        tree.dirs.sort();
        Ok(tree)
    }
}

/// Copies a controller directory tree: one probe for every destination, one apply.
#[allow(clippy::too_many_arguments)]
async fn copy_tree(
    ctx: &ModuleContext<'_>,
    tree: &LocalTree,
    root: &str,
    attrs: &FileAttrs,
    directory_mode: Option<Mode>,
    write: &WriteOptions,
    force: bool,
    src: &str,
) -> Result<ModuleResult, ModuleError> {
    let dir_paths: Vec<String> = std::iter::once(root.to_string())
        .chain(tree.dirs.iter().map(|d| join(root, d)))
        .collect();
    let file_paths: Vec<String> = tree.files.iter().map(|(r, _, _)| join(root, r)).collect();
    let mut args: Vec<&str> = Vec::new();
    for d in &dir_paths {
        args.push("d");
        args.push(d);
    }
    for f in &file_paths {
        args.push("f");
        args.push(f);
    }
    let want = if ctx.diff_mode { "1" } else { "0" };
    let mut all = vec![want];
    all.extend(args);
    let probe = remote::script(
        &all,
        r#"w=$1; shift
while [ $# -gt 0 ]; do
  k=$1; p=$2; shift 2
  jig_stat "$p" -L || exit 1
  if [ "$k" = f ] && [ -f "$p" ]; then sha256sum < "$p" || exit 1; fi
  printf '\0'
  if [ "$k" = f ] && [ "$w" = 1 ] && [ -f "$p" ]; then jig_head "$p"; fi
done"#,
    );
    let out = remote::run(ctx, probe, None).await?;
    if out.rc != 0 {
        return Ok(ModuleResult::failed(
            remote::host_error(&format!("cannot inspect {root}"), &out).to_string(),
        ));
    }
    let mut frames = Frames::new(&out.stdout);
    let mut plan = TreePlan::new(ctx, root, src, attrs, directory_mode, force);
    for d in &dir_paths {
        let st = match frames.stat(d) {
            Ok(s) => s.map(|r| r.stat),
            Err(e) => return Ok(ModuleResult::failed(e.to_string())),
        };
        frames.next_record();
        if let Err(e) = plan.directory(d, st.as_ref()) {
            return Ok(ModuleResult::failed(e));
        }
    }
    let mut jobs_attrs: Vec<(usize, FileAttrs)> = Vec::new();
    for (i, (f, (_, bytes, src_mode))) in file_paths.iter().zip(&tree.files).enumerate() {
        let st = match frames.stat(f) {
            Ok(s) => s.map(|r| r.stat),
            Err(e) => return Ok(ModuleResult::failed(e.to_string())),
        };
        let sum = frames.next_record().and_then(remote::parse_sum);
        let before = if ctx.diff_mode && st.as_ref().is_some_and(|s| s.kind == FileKind::File) {
            frames.sized().map(<[u8]>::to_vec)
        } else {
            None
        };
        let mut fa = attrs.clone();
        if fa.mode == Some(Mode::Preserve) {
            fa.mode = Some(Mode::Octal(*src_mode));
        }
        let differs = || sum.as_deref() != Some(hex::encode(Sha256::digest(bytes)).as_str());
        let diff = || remote::content_diff(f, src, before.as_deref(), bytes);
        match plan.file(f, st.as_ref(), &fa, differs, diff) {
            Ok(true) => jobs_attrs.push((i, fa)),
            Ok(false) => {}
            Err(e) => return Ok(ModuleResult::failed(e)),
        }
    }
    let jobs: Vec<WriteJob<'_>> = jobs_attrs
        .iter()
        .map(|(i, fa)| WriteJob {
            path: &file_paths[*i],
            content: &tree.files[*i].1,
            attrs: fa,
            follow: false,
            remote_src: None,
        })
        .collect();
    plan.apply(ctx, &jobs, write).await
}

/// The message prefix [`put`] uses for a `remote_src` that turns out to be a directory.
const REMOTE_DIR: &str = "remote_src is a directory: ";

/// Walks a directory on the host and, for each entry, prints `d<rel>\0` or `f<rel>\0`, the
/// source's `jig_stat` records (and sha256 for files, then NUL), then the destination's (and
/// its sha256 for files, then NUL). `$1` source root, `$2` destination root.
const REMOTE_TREE_PROBE: &str = r#"jig_rwalk() {
  for _e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    if [ -d "$_e" ]; then
      _r="$2${_e##*/}"
      printf 'd%s\0' "$_r"
      jig_stat "$_e" -L && printf '\0' && jig_stat "$D/$_r" -L && printf '\0' || return 1
      jig_rwalk "$_e" "$_r/" || return 1
    elif [ -f "$_e" ]; then
      _r="$2${_e##*/}"
      printf 'f%s\0' "$_r"
      jig_stat "$_e" -L && sha256sum < "$_e" && printf '\0' || return 1
      jig_stat "$D/$_r" -L || return 1
      if [ -f "$D/$_r" ]; then sha256sum < "$D/$_r" || return 1; fi
      printf '\0'
    fi
  done
}
D=$2
[ -d "$1" ] || { printf '%s is not a directory\n' "$1" >&2; exit 1; }
jig_stat "$D" -L || exit 1
jig_rwalk "$1" """#;

/// Copies a directory tree that is already on the host (`remote_src`): one probe, one apply.
async fn copy_remote_tree(
    ctx: &ModuleContext<'_>,
    src: &str,
    root: &str,
    attrs: &FileAttrs,
    directory_mode: Option<Mode>,
    write: &WriteOptions,
    force: bool,
) -> Result<ModuleResult, ModuleError> {
    let src_root = if src.len() > 1 {
        src.trim_end_matches('/')
    } else {
        src
    };
    let cmd = remote::script(&[src_root, root], REMOTE_TREE_PROBE);
    let out = remote::run(ctx, cmd, None).await?;
    if out.rc != 0 {
        return Ok(ModuleResult::failed(
            remote::host_error(&format!("cannot inspect {src} and {root}"), &out).to_string(),
        ));
    }
    let mut plan = TreePlan::new(ctx, root, src, attrs, directory_mode, force);
    let mut fr = Frames::new(&out.stdout);
    let bad = || ModuleResult::failed(format!("unexpected probe output for {root}"));
    let root_stat = match fr.stat(root) {
        Ok(s) => s.map(|r| r.stat),
        Err(e) => return Ok(ModuleResult::failed(e.to_string())),
    };
    if let Err(e) = plan.directory(root, root_stat.as_ref()) {
        return Ok(ModuleResult::failed(e));
    }
    // (destination path, source path, attributes) of each file to write.
    let mut jobs: Vec<(String, String, FileAttrs)> = Vec::new();
    while let Some(head) = fr.next_record() {
        let Some((&kind, rel)) = head.split_first() else {
            return Ok(bad());
        };
        let rel = String::from_utf8_lossy(rel).into_owned();
        let (s_path, d_path) = (join(src_root, &rel), join(root, &rel));
        let parsed = (|| -> Result<_, RemoteError> {
            let s = fr.stat(&s_path)?;
            let s_sum = fr.next_record().and_then(remote::parse_sum);
            let d = fr.stat(&d_path)?;
            let d_sum = fr.next_record().and_then(remote::parse_sum);
            Ok((s.map(|r| r.stat), s_sum, d.map(|r| r.stat), d_sum))
        })();
        let Ok((Some(s_stat), s_sum, d_stat, d_sum)) = parsed else {
            return Ok(bad());
        };
        if kind == b'd' {
            if let Err(e) = plan.directory(&d_path, d_stat.as_ref()) {
                return Ok(ModuleResult::failed(e));
            }
            continue;
        }
        let mut fa = attrs.clone();
        if fa.mode == Some(Mode::Preserve) {
            fa.mode = Some(Mode::Octal(s_stat.mode));
        }
        let differs = || d_sum.is_none() || d_sum != s_sum;
        let diff = || {
            Diff::Summary(format!(
                "{d_path}: content from {s_path} ({} bytes)",
                s_stat.size
            ))
        };
        match plan.file(&d_path, d_stat.as_ref(), &fa, differs, diff) {
            Ok(true) => jobs.push((d_path, s_path, fa)),
            Ok(false) => {}
            Err(e) => return Ok(ModuleResult::failed(e)),
        }
    }
    let write_jobs: Vec<WriteJob<'_>> = jobs
        .iter()
        .map(|(d, s, fa)| WriteJob {
            path: d,
            content: b"",
            attrs: fa,
            follow: false,
            remote_src: Some(s),
        })
        .collect();
    plan.apply(ctx, &write_jobs, write).await
}

/// What a tree copy (from the controller, or `remote_src`) plans path by path: the result
/// (changed, diffs) and the commands to run before the files are written (directories made,
/// attributes fixed).
struct TreePlan {
    result: ModuleResult,
    setup: Cmd,
    diff: bool,
    dir_attrs: FileAttrs,
    force: bool,
}

impl TreePlan {
    fn new(
        ctx: &ModuleContext<'_>,
        root: &str,
        src: &str,
        attrs: &FileAttrs,
        directory_mode: Option<Mode>,
        force: bool,
    ) -> TreePlan {
        let mut result = ModuleResult::ok();
        result
            .set("dest", root.to_string())
            .set("src", src.to_string());
        TreePlan {
            result,
            setup: Cmd::empty(),
            diff: ctx.diff_mode,
            dir_attrs: FileAttrs {
                mode: directory_mode,
                owner: attrs.owner.clone(),
                group: attrs.group.clone(),
            },
            force,
        }
    }

    fn add_setup(&mut self, c: &Cmd) {
        if !c.as_str().is_empty() {
            if !self.setup.as_str().is_empty() {
                self.setup.raw("&&");
            }
            self.setup.raw(c.as_str());
        }
    }

    /// A directory of the tree at `path` (`stat`: what is there now), made when missing.
    fn directory(&mut self, path: &str, stat: Option<&RemoteStat>) -> Result<(), String> {
        match stat {
            Some(s) if s.kind == FileKind::Directory => Ok(()),
            Some(_) => Err(format!(
                "cannot copy a directory to {path}: it exists and is not a directory"
            )),
            None => {
                self.result.changed = true;
                if self.diff {
                    self.result
                        .diffs
                        .push(state_diff(path, "absent", "directory"));
                }
                let c = remote::mkdirs_cmd(path, &self.dir_attrs).map_err(|e| e.to_string())?;
                self.add_setup(&c);
                Ok(())
            }
        }
    }

    /// A file of the tree at `path` (`stat`: what is there now) that is to have the
    /// attributes `fa`: whether its content is to be written (`differs`; `diff` shows it).
    /// Otherwise its attributes are fixed where they differ; a file there that `force: false`
    /// protects is left alone.
    fn file(
        &mut self,
        path: &str,
        stat: Option<&RemoteStat>,
        fa: &FileAttrs,
        differs: impl FnOnce() -> bool,
        diff: impl FnOnce() -> Diff,
    ) -> Result<bool, String> {
        if let Some(s) = stat {
            if s.kind == FileKind::Directory {
                return Err(format!("cannot copy to {path}: it is a directory"));
            }
            if !self.force {
                return Ok(false);
            }
        }
        if differs() {
            self.result.changed = true;
            if self.diff {
                self.result.diffs.push(diff());
            }
            return Ok(true);
        }
        if let Some(s) = stat {
            let plan = remote::attr_changes(s, fa).map_err(|e| e.to_string())?;
            if !plan.is_empty() {
                self.result.changed = true;
                if self.diff {
                    self.result.diffs.push(plan.diff(path.to_string()));
                }
                self.add_setup(&remote::attr_commands(path, &plan));
            }
        }
        Ok(false)
    }

    /// Runs the setup and writes `jobs` in one round trip, unless nothing changes or this is
    /// check mode.
    async fn apply(
        self,
        ctx: &ModuleContext<'_>,
        jobs: &[WriteJob<'_>],
        write: &WriteOptions,
    ) -> Result<ModuleResult, ModuleError> {
        if ctx.check_mode || !self.result.changed {
            return Ok(self.result);
        }
        match remote::write_many(ctx, Some(&self.setup), jobs, write).await {
            Ok(_) => Ok(self.result),
            Err(RemoteError::Connection(e)) => Err(e.into()),
            Err(e) => Ok(ModuleResult::failed(e.to_string())),
        }
    }
}

/// A Fields diff of a path's `state` (absent -> directory...), as Ansible's file diffs show.
pub(crate) fn state_diff(path: &str, before: &str, after: &str) -> Diff {
    let mut b = IndexMap::new();
    let mut a = IndexMap::new();
    b.insert("path".to_string(), path.to_string());
    a.insert("path".to_string(), path.to_string());
    b.insert("state".to_string(), before.to_string());
    a.insert("state".to_string(), after.to_string());
    Diff::Fields {
        path: path.to_string(),
        before: b,
        after: a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{
        Env, HOSTILE, HOSTILE_TEXT, assert_not_pwned, leftovers,
    };
    use serde_json::json;
    use std::os::unix::fs::{PermissionsExt, symlink};

    pub(crate) fn margs(module: &str, v: Json) -> ModuleArgs {
        ModuleArgs::new(module, v.as_object().unwrap().clone().into_iter().collect())
    }

    pub(super) fn mode_of(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[tokio::test]
    async fn content_is_written_once_then_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let dest = tmp.path().join(HOSTILE);
        let a = margs(
            "copy",
            json!({"dest": dest.to_str().unwrap(), "content": HOSTILE_TEXT, "mode": 0o640}),
        );
        // Check mode predicts the change and writes nothing.
        let r = Copy.run(&a, &env.ctx(true, true)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!dest.exists());
        match &r.diffs[0] {
            Diff::Text { before, after, .. } => {
                assert_eq!(before, "");
                assert_eq!(after, HOSTILE_TEXT);
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(r.values["mode"], "0640");

        let r = Copy.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), HOSTILE_TEXT);
        assert_eq!(mode_of(&dest), 0o640);
        assert_eq!(r.values["dest"], dest.to_str().unwrap());
        assert_eq!(
            r.values["checksum"],
            hex::encode(Sha1::digest(HOSTILE_TEXT.as_bytes()))
        );
        assert_eq!(r.values["size"], HOSTILE_TEXT.len());
        assert_eq!(r.values["state"], "file");
        assert_eq!(r.values["mode"], "0640");
        assert_eq!(r.values["owner"], "root");

        let r = Copy.run(&a, &env.ctx(false, true)).await.unwrap();
        assert!(!r.changed && !r.failed && r.diffs.is_empty(), "{r:?}");
        assert_eq!(r.values["mode"], "0640");

        // New content: the diff shows both sides, the backup keeps the old one.
        let b = margs(
            "copy",
            json!({"dest": dest.to_str().unwrap(), "content": "new\n", "backup": true}),
        );
        let r = Copy.run(&b, &env.ctx(false, true)).await.unwrap();
        assert!(r.changed, "{r:?}");
        let backup = r.values["backup_file"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), HOSTILE_TEXT);
        match &r.diffs[0] {
            Diff::Text { before, after, .. } => {
                assert_eq!(before, HOSTILE_TEXT);
                assert_eq!(after, "new\n");
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(mode_of(&dest), 0o640, "mode kept without a mode argument");
        assert!(leftovers(tmp.path()).is_empty());
        assert_not_pwned();
    }

    #[tokio::test]
    async fn attributes_only_and_force_no() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let dest = tmp.path().join("f 'x'");
        std::fs::write(&dest, "same\n").unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
        let a = margs(
            "copy",
            json!({"dest": dest.to_str().unwrap(), "content": "same\n", "mode": "u=rw,g=r,o=r"}),
        );
        let r = Copy.run(&a, &env.ctx(true, true)).await.unwrap();
        assert!(r.changed);
        assert_eq!(mode_of(&dest), 0o600);
        match &r.diffs[0] {
            Diff::Fields { before, after, .. } => {
                assert_eq!(before["mode"], "0600");
                assert_eq!(after["mode"], "0644");
            }
            d => panic!("{d:?}"),
        }
        let r = Copy.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(mode_of(&dest), 0o644);
        let r = Copy.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(!r.changed);

        let keep = margs(
            "copy",
            json!({"dest": dest.to_str().unwrap(), "content": "other\n", "force": "no"}),
        );
        let r = Copy.run(&keep, &env.ctx(false, false)).await.unwrap();
        assert!(!r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "same\n");
    }

    #[tokio::test]
    async fn src_files_into_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        std::fs::create_dir_all(tmp.path().join("files")).unwrap();
        let src = tmp.path().join("files").join("run me ✓.sh");
        std::fs::write(&src, "#!/bin/sh\necho hi\n").unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o750)).unwrap();
        let out = tmp.path().join("out dir");
        std::fs::create_dir(&out).unwrap();
        // An existing directory receives dest/basename; preserve keeps the source mode.
        let a = margs(
            "copy",
            json!({"src": "run me ✓.sh", "dest": out.to_str().unwrap(), "mode": "preserve"}),
        );
        let r = Copy.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        let placed = out.join("run me ✓.sh");
        assert_eq!(std::fs::read(&placed).unwrap(), b"#!/bin/sh\necho hi\n");
        assert_eq!(mode_of(&placed), 0o750);
        assert_eq!(r.values["dest"], placed.to_str().unwrap());
        assert!(!Copy.run(&a, &env.ctx(false, false)).await.unwrap().changed);

        // A dest ending in '/' is created, with directory_mode.
        let nested = tmp.path().join("new/deeper");
        let b = margs(
            "copy",
            json!({"src": "run me ✓.sh", "dest": format!("{}/", nested.display()), "directory_mode": "0700"}),
        );
        let r = Copy.run(&b, &env.ctx(true, false)).await.unwrap();
        assert!(r.changed && !tmp.path().join("new").exists());
        let r = Copy.run(&b, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(nested.join("run me ✓.sh").is_file());
        assert_eq!(mode_of(&tmp.path().join("new")), 0o700);
        assert_eq!(mode_of(&nested), 0o700);

        // Without the slash, a missing directory is an error that names it.
        let c = margs(
            "copy",
            json!({"src": "run me ✓.sh", "dest": tmp.path().join("nope/x").to_str().unwrap()}),
        );
        let r = Copy.run(&c, &env.ctx(false, false)).await.unwrap();
        assert!(r.failed);
        assert!(r.msg.unwrap().contains("does not exist"));
        std::fs::write(
            tmp.path().join("files/secret"),
            "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
        )
        .unwrap();
        let v = margs(
            "copy",
            json!({"src": "secret", "dest": tmp.path().join("s").to_str().unwrap()}),
        );
        let r = Copy.run(&v, &env.ctx(false, false)).await.unwrap();
        assert!(r.failed && r.msg.unwrap().contains("vault-encrypted"));
        assert!(!tmp.path().join("s").exists());
        let sum = hex::encode(Sha1::digest(b"#!/bin/sh\necho hi\n"));
        let ok = margs(
            "copy",
            json!({"src": "run me ✓.sh", "dest": tmp.path().join("c1").to_str().unwrap(), "checksum": sum}),
        );
        assert!(Copy.run(&ok, &env.ctx(false, false)).await.unwrap().changed);
        let wrong = margs(
            "copy",
            json!({"src": "run me ✓.sh", "dest": tmp.path().join("c2").to_str().unwrap(), "checksum": "0".repeat(40)}),
        );
        let r = Copy.run(&wrong, &env.ctx(false, false)).await.unwrap();
        assert!(r.failed && r.msg.unwrap().contains("not the expected"));
        assert!(!tmp.path().join("c2").exists());
        let missing = margs("copy", json!({"src": "nothing", "dest": "/tmp/x"}));
        let r = Copy.run(&missing, &env.ctx(false, false)).await.unwrap();
        assert!(r.failed && r.msg.unwrap().contains("nothing"));
    }

    #[tokio::test]
    async fn dest_symlinks_are_replaced_unless_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let target = tmp.path().join("target");
        std::fs::write(&target, "old\n").unwrap();
        let link = tmp.path().join("link");
        symlink(&target, &link).unwrap();
        let a = margs(
            "copy",
            json!({"dest": link.to_str().unwrap(), "content": "new\n", "follow": true}),
        );
        assert!(Copy.run(&a, &env.ctx(false, false)).await.unwrap().changed);
        assert!(link.is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");
        let b = margs(
            "copy",
            json!({"dest": link.to_str().unwrap(), "content": "own\n"}),
        );
        assert!(Copy.run(&b, &env.ctx(false, false)).await.unwrap().changed);
        assert!(!link.is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");
    }

    #[tokio::test]
    async fn directory_trees_follow_the_trailing_slash_rule() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let tree = tmp.path().join("files/conf.d");
        std::fs::create_dir_all(tree.join("sub dir/empty")).unwrap();
        std::fs::write(tree.join("a.conf"), "a\n").unwrap();
        std::fs::write(tree.join("sub dir").join(HOSTILE), HOSTILE_TEXT).unwrap();
        symlink("a.conf", tree.join("link.conf")).unwrap();
        let dest = tmp.path().join("etc");
        std::fs::create_dir(&dest).unwrap();

        let a = margs(
            "copy",
            json!({"src": "conf.d", "dest": dest.to_str().unwrap()}),
        );
        let r = Copy.run(&a, &env.ctx(true, true)).await.unwrap();
        assert!(r.changed && !dest.join("conf.d").exists(), "{r:?}");
        let r = Copy.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(
            std::fs::read_to_string(dest.join("conf.d/a.conf")).unwrap(),
            "a\n"
        );
        assert_eq!(
            std::fs::read_to_string(dest.join("conf.d/sub dir").join(HOSTILE)).unwrap(),
            HOSTILE_TEXT
        );
        assert!(dest.join("conf.d/sub dir/empty").is_dir());
        // Links in the source are followed (local_follow defaults to true).
        let copied = dest.join("conf.d/link.conf");
        assert!(!copied.is_symlink());
        assert_eq!(std::fs::read_to_string(&copied).unwrap(), "a\n");
        let nofollow = margs(
            "copy",
            json!({"src": "conf.d", "dest": dest.to_str().unwrap(), "local_follow": false}),
        );
        let r = Copy.run(&nofollow, &env.ctx(false, false)).await.unwrap();
        assert!(r.failed && r.msg.unwrap().contains("symbolic link"));
        let r = Copy.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(!r.changed, "{r:?}");

        // With a trailing slash only the contents are copied.
        let b = margs(
            "copy",
            json!({"src": "conf.d/", "dest": dest.to_str().unwrap(), "mode": "0600"}),
        );
        let r = Copy.run(&b, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(dest.join("a.conf")).unwrap(), "a\n");
        assert_eq!(mode_of(&dest.join("a.conf")), 0o600);
        // A changed file and an attribute-only change are applied together.
        std::fs::write(dest.join("a.conf"), "drift\n").unwrap();
        std::fs::set_permissions(
            dest.join("sub dir").join(HOSTILE),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let r = Copy.run(&b, &env.ctx(false, true)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.diffs.len(), 2, "{:?}", r.diffs);
        assert_eq!(std::fs::read_to_string(dest.join("a.conf")).unwrap(), "a\n");
        assert_eq!(mode_of(&dest.join("sub dir").join(HOSTILE)), 0o600);
        assert!(!Copy.run(&b, &env.ctx(false, false)).await.unwrap().changed);
        assert!(leftovers(&dest).is_empty());
        assert_not_pwned();
    }

    #[tokio::test]
    async fn large_trees_exceed_one_command_line() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let tree = tmp.path().join("files/big");
        std::fs::create_dir_all(&tree).unwrap();
        // Over 32 KiB of script: it travels on stdin (remote::run).
        let long = "n".repeat(250);
        for i in 0..150 {
            std::fs::write(tree.join(format!("{long}{i}")), format!("{i}\n")).unwrap();
        }
        let dest = tmp.path().join("out");
        let a = margs(
            "copy",
            json!({"src": "big/", "dest": dest.to_str().unwrap()}),
        );
        let r = Copy.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(
            std::fs::read_to_string(dest.join(format!("{long}149"))).unwrap(),
            "149\n"
        );
        assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 150);
        assert!(!Copy.run(&a, &env.ctx(false, false)).await.unwrap().changed);
    }

    #[tokio::test]
    async fn remote_src_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let src = tmp.path().join("src tree");
        std::fs::create_dir_all(src.join("a/.b")).unwrap();
        std::fs::write(src.join("a").join(HOSTILE), HOSTILE_TEXT).unwrap();
        std::fs::write(src.join("top"), "top\n").unwrap();
        std::fs::set_permissions(src.join("top"), std::fs::Permissions::from_mode(0o751)).unwrap();
        let dest = tmp.path().join("dest");
        // Without a trailing slash the directory itself lands inside dest.
        let a = margs(
            "copy",
            json!({"src": src.to_str().unwrap(), "dest": dest.to_str().unwrap(), "remote_src": true, "mode": "preserve"}),
        );
        let r = Copy.run(&a, &env.ctx(true, true)).await.unwrap();
        assert!(r.changed && !dest.exists(), "{r:?}");
        let r = Copy.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        let placed = dest.join("src tree");
        assert_eq!(
            std::fs::read_to_string(placed.join("a").join(HOSTILE)).unwrap(),
            HOSTILE_TEXT
        );
        assert!(placed.join("a/.b").is_dir());
        assert_eq!(mode_of(&placed.join("top")), 0o751);
        assert!(!Copy.run(&a, &env.ctx(false, false)).await.unwrap().changed);
        // With a trailing slash, the contents.
        let b = margs(
            "copy",
            json!({"src": format!("{}/", src.display()), "dest": dest.to_str().unwrap(), "remote_src": true}),
        );
        let r = Copy.run(&b, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(dest.join("top")).unwrap(), "top\n");
        std::fs::write(dest.join("top"), "drift").unwrap();
        let r = Copy.run(&b, &env.ctx(false, true)).await.unwrap();
        assert!(r.changed && r.diffs.len() == 1, "{r:?}");
        assert_eq!(std::fs::read_to_string(dest.join("top")).unwrap(), "top\n");
        assert!(!Copy.run(&b, &env.ctx(false, false)).await.unwrap().changed);
        assert!(leftovers(&dest).is_empty());
        assert_not_pwned();
    }

    #[tokio::test]
    async fn remote_src_and_validate() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let src = tmp.path().join("on host $(x)");
        std::fs::write(&src, HOSTILE_TEXT).unwrap();
        let dest = tmp.path().join("copied");
        let a = margs(
            "copy",
            json!({"src": src.to_str().unwrap(), "dest": dest.to_str().unwrap(), "remote_src": true}),
        );
        let r = Copy.run(&a, &env.ctx(true, true)).await.unwrap();
        assert!(r.changed && !dest.exists(), "{r:?}");
        assert!(matches!(&r.diffs[0], Diff::Text { after, .. } if after == HOSTILE_TEXT));
        let r = Copy.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), HOSTILE_TEXT);
        assert!(!Copy.run(&a, &env.ctx(false, false)).await.unwrap().changed);

        let v = margs(
            "copy",
            json!({"dest": dest.to_str().unwrap(), "content": "broken\n", "validate": "grep -qx ok %s"}),
        );
        let r = Copy.run(&v, &env.ctx(false, false)).await.unwrap();
        assert!(r.failed, "{r:?}");
        assert!(r.msg.unwrap().contains("failed to validate"));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), HOSTILE_TEXT);
        assert!(leftovers(tmp.path()).is_empty());

        let e = tmp.path().join("empty");
        let ea = margs("copy", json!({"dest": e.to_str().unwrap(), "content": ""}));
        assert!(Copy.run(&ea, &env.ctx(false, false)).await.unwrap().changed);
        assert_eq!(std::fs::read(&e).unwrap(), b"");
        assert!(!Copy.run(&ea, &env.ctx(false, false)).await.unwrap().changed);
        let j = margs(
            "copy",
            json!({"dest": tmp.path().join("j").to_str().unwrap(), "content": {"a": [1, "x"], "b": true}}),
        );
        Copy.run(&j, &env.ctx(false, false)).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("j")).unwrap(),
            r#"{"a": [1, "x"], "b": true}"#
        );
    }
}

#[cfg(test)]
mod round_trips {
    //! DESIGN.md's budget: an unchanged task costs one round trip, a changed one two; a file
    //! written whole (copy, template without --diff) or a path created where there was none
    //! (file: directory, touch) one, since the probe makes the change it finds missing.
    use super::tests::{margs, mode_of};
    use super::*;
    use crate::modules::remote::testutil::{Env, take_execs};
    use serde_json::json;

    #[tokio::test(flavor = "current_thread")]
    async fn file_modules_stay_within_budget() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let dest = tmp.path().join("f");
        let d = dest.to_str().unwrap();
        let ctx = env.ctx(false, true);
        let check = env.ctx(true, true);
        take_execs();

        let a = margs(
            "copy",
            json!({"dest": d, "content": "x\n", "mode": "0600", "backup": true}),
        );
        assert!(Copy.run(&a, &check).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "check mode probes once");
        assert!(Copy.run(&a, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 2, "a changed copy");
        assert!(!Copy.run(&a, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "an unchanged copy");
        let m = margs("copy", json!({"dest": d, "content": "x\n", "mode": "0644"}));
        assert!(Copy.run(&m, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 2, "an attribute-only change");

        std::fs::create_dir_all(tmp.path().join("files/tree/sub")).unwrap();
        for i in 0..5 {
            std::fs::write(
                tmp.path().join(format!("files/tree/sub/{i}")),
                format!("{i}"),
            )
            .unwrap();
        }
        let t = margs(
            "copy",
            json!({"src": "tree/", "dest": tmp.path().join("out").to_str().unwrap()}),
        );
        assert!(Copy.run(&t, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 2, "a changed tree");
        assert!(!Copy.run(&t, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "an unchanged tree");

        std::fs::create_dir(tmp.path().join("templates")).unwrap();
        std::fs::write(tmp.path().join("templates/t.j2"), "{{ name }}\n").unwrap();
        let tp = margs("template", json!({"src": "t.j2", "dest": d}));
        let tm = crate::modules::template::Template;
        assert!(tm.run(&tp, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 2, "a changed template");
        assert!(!tm.run(&tp, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "an unchanged template");

        // Without --diff the old content is not needed: a whole file is written by the probe.
        let plain = env.ctx(false, false);
        let w = margs("copy", json!({"dest": d, "content": "y\n", "mode": "0640"}));
        let r = Copy.run(&w, &plain).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(take_execs(), 1, "a changed copy without --diff");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "y\n");
        assert_eq!(mode_of(&dest), 0o640);
        assert_eq!(r.values["mode"], json!("0640"));
        assert!(!Copy.run(&w, &plain).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "the same copy again");
        let n = tmp.path().join("new file $(touch PWNED)");
        let nw = margs(
            "copy",
            json!({"dest": n.to_str().unwrap(), "content": "new\n"}),
        );
        assert!(Copy.run(&nw, &plain).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "a new file without --diff");
        assert_eq!(std::fs::read_to_string(&n).unwrap(), "new\n");
        assert!(!tmp.path().join("PWNED").exists());
        assert!(tm.run(&tp, &plain).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "a changed template without --diff");
        let missing = margs(
            "copy",
            json!({"dest": tmp.path().join("no/such/dir/f").to_str().unwrap(), "content": "x"}),
        );
        let r = Copy.run(&missing, &plain).await.unwrap();
        assert!(r.failed, "{r:?}");
        assert!(
            r.msg
                .as_deref()
                .unwrap_or("")
                .contains("Destination directory"),
            "{r:?}"
        );
        take_execs();

        let fd = margs(
            "file",
            json!({"path": tmp.path().join("a/b/c").to_str().unwrap(), "state": "directory", "mode": "0755", "owner": "root"}),
        );
        let fm = crate::modules::file::File;
        assert!(fm.run(&fd, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "a created directory");
        assert!(!fm.run(&fd, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "an existing directory");
        let fl = margs(
            "file",
            json!({"path": tmp.path().join("l").to_str().unwrap(), "src": d, "state": "link"}),
        );
        assert!(fm.run(&fl, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 2, "a new link");
        assert!(!fm.run(&fl, &ctx).await.unwrap().changed);
        assert_eq!(take_execs(), 1, "an existing link");

        crate::modules::stat::Stat
            .run(&margs("stat", json!({"path": d})), &ctx)
            .await
            .unwrap();
        assert_eq!(take_execs(), 1, "stat");
        crate::modules::slurp::Slurp
            .run(&margs("slurp", json!({"src": d})), &ctx)
            .await
            .unwrap();
        assert_eq!(take_execs(), 1, "slurp");
    }
}

//! Text files as the edit modules (`lineinfile`, `blockinfile`, `replace`) see them.
//!
//! Ansible edits bytes; jig edits Rust strings so it can use Rust regexes. This module owns
//! the mapping between the two that loses nothing: UTF-8 files are read as UTF-8; any other
//! file is read one character per byte (Latin-1), with the user's patterns and lines mapped
//! the same way, so a regex sees exactly the bytes Python would and the file is written
//! back byte for byte. It also owns Python's two ways of splitting lines, and the steps the
//! three modules share around their pure edit: the common file arguments, the probe (stat and
//! content in one round trip) and the commit (one atomic write carrying mode and owner, or one
//! attribute change), with Ansible's messages and diffs.

use super::mode::Mode;
use super::predict::{Predicted, PredictedPath};
use super::remote::{self, AttrPlan, FileAttrs, FileKind, RemoteError, RemoteStat, WriteOptions};
use super::{ArgError, Diff, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::{Cmd, ConnectionError};

/// How a file's bytes became the text being edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The file is valid UTF-8.
    Utf8,
    /// The file is not UTF-8: each byte is one character U+0000..U+00FF, and so is each
    /// byte of the user's (UTF-8) strings.
    Bytes,
    /// `encoding: latin-1` was asked for: the file is decoded as Latin-1 and the user's
    /// strings are taken as the characters they are.
    Latin1,
}

/// A file's content as text, with the encoding needed to write it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    /// The content.
    pub text: String,
    /// How to turn [`Text::text`] back into bytes.
    pub encoding: Encoding,
}

impl Text {
    /// Decodes a file's bytes without losing any.
    pub fn decode(bytes: &[u8]) -> Text {
        match std::str::from_utf8(bytes) {
            Ok(s) => Text {
                text: s.to_string(),
                encoding: Encoding::Utf8,
            },
            Err(_) => Text {
                text: bytes.iter().map(|&b| char::from(b)).collect(),
                encoding: Encoding::Bytes,
            },
        }
    }

    /// Decodes with an explicit encoding name (`replace`'s `encoding`). UTF-8 falls back to
    /// byte-per-character text when the file is not valid UTF-8, which keeps every byte as
    /// Python's `surrogateescape` does.
    pub fn decode_as(bytes: &[u8], encoding: &str) -> Result<Text, String> {
        match normalise_encoding(encoding).as_str() {
            "utf8" | "utf" => Ok(Text::decode(bytes)),
            "latin1" | "iso88591" | "l1" | "cp819" | "iso8859" => Ok(Text {
                text: bytes.iter().map(|&b| char::from(b)).collect(),
                encoding: Encoding::Latin1,
            }),
            "ascii" | "usascii" => {
                if bytes.is_ascii() {
                    Ok(Text::decode(bytes))
                } else {
                    Err("the file is not ASCII; set encoding to utf-8 or latin-1".to_string())
                }
            }
            _ => Err(format!(
                "encoding '{encoding}' is not supported by jig (use utf-8, latin-1 or ascii)"
            )),
        }
    }

    /// A user-supplied string (a line, a pattern) mapped into this text's encoding.
    pub fn adapt(&self, user: &str) -> String {
        adapt(user, self.encoding)
    }

    /// The bytes of `text` in this encoding; fails for a character Latin-1 cannot hold.
    pub fn encode(&self, text: &str) -> Result<Vec<u8>, String> {
        if self.encoding == Encoding::Latin1
            && let Some(c) = text.chars().find(|&c| u32::from(c) > 0xff)
        {
            return Err(format!(
                "the new content has the character '{c}', which latin-1 cannot encode"
            ));
        }
        Ok(encode(text, self.encoding))
    }
}

fn normalise_encoding(e: &str) -> String {
    e.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// A user-supplied string mapped into `encoding`: in byte mode, each UTF-8 byte becomes one
/// character, as Ansible's `to_bytes` would see it.
pub fn adapt(user: &str, encoding: Encoding) -> String {
    match encoding {
        Encoding::Utf8 | Encoding::Latin1 => user.to_string(),
        Encoding::Bytes => user.bytes().map(char::from).collect(),
    }
}

/// The bytes of `text` in `encoding`. In byte mode every character is below U+0100 because
/// both the file and every user string were mapped with [`adapt`]; in Latin-1 mode a larger
/// one (checked by [`Text::encode`]) would become `?`.
pub fn encode(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Bytes | Encoding::Latin1 => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect(),
    }
}

/// Python's `file.readlines()` on a binary file: lines end after each `\n`, which stays on
/// the line; a last line without `\n` is kept.
pub fn readlines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

/// Python's `bytes.splitlines(keepends=True)`: lines end at `\n`, `\r\n` or a lone `\r`.
pub fn splitlines_keepends(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(text[start..=i].to_string());
                start = i + 1;
            }
            b'\r' => {
                let end = if bytes.get(i + 1) == Some(&b'\n') {
                    i + 1
                } else {
                    i
                };
                lines.push(text[start..=end].to_string());
                i = end;
                start = end + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        lines.push(text[start..].to_string());
    }
    lines
}

/// A line without its line ending (Python's `rstrip(b'\r\n')`: every trailing CR and LF).
pub fn strip_eol(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// The result of an edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The new content.
    pub text: String,
    /// Whether it differs from the old one.
    pub changed: bool,
    /// Ansible's `msg` ("line added", "Block inserted", "2 replacements made", or "").
    pub msg: String,
    /// lineinfile `state: absent`: how many lines were removed (Ansible's `found`).
    pub found: Option<usize>,
}

impl Edit {
    /// No change to `text`.
    pub fn unchanged(text: &str) -> Edit {
        Edit {
            text: text.to_string(),
            changed: false,
            msg: String::new(),
            found: None,
        }
    }
}

/// Why an edit module stopped early: a failed task (with Ansible's message) or a module error.
#[derive(Debug)]
pub enum Stop {
    /// The task fails with this message.
    Fail(String),
    /// The module could not run (bad arguments, unreachable host).
    Module(ModuleError),
}

impl From<ArgError> for Stop {
    fn from(e: ArgError) -> Self {
        Stop::Module(ModuleError::Args(e))
    }
}

impl From<ConnectionError> for Stop {
    fn from(e: ConnectionError) -> Self {
        Stop::Module(ModuleError::Connection(e))
    }
}

impl From<RemoteError> for Stop {
    fn from(e: RemoteError) -> Self {
        match e {
            RemoteError::Connection(c) => Stop::Module(ModuleError::Connection(c)),
            RemoteError::Failed { message } => Stop::Fail(message),
        }
    }
}

/// `state`: `present` (the default) or `absent`, as whether the thing is to be present.
pub fn state_present(args: &ModuleArgs) -> Result<bool, ArgError> {
    match args.str("state")?.as_deref() {
        None | Some("present") => Ok(true),
        Some("absent") => Ok(false),
        Some(other) => Err(args.invalid(
            "state",
            format!("must be one of: present, absent, got: {other}"),
        )),
    }
}

/// Turns a module body's outcome into what [`super::Module::run`] returns.
pub fn finish(outcome: Result<ModuleResult, Stop>) -> Result<ModuleResult, ModuleError> {
    match outcome {
        Ok(r) => Ok(r),
        Err(Stop::Fail(msg)) => Ok(ModuleResult::failed(msg)),
        Err(Stop::Module(e)) => Err(e),
    }
}

/// The arguments every edit module shares.
#[derive(Clone, Debug, PartialEq)]
pub struct FileArgs {
    /// `path` (aliases `dest`, `destfile`, `name`).
    pub path: String,
    /// `mode`, `owner`, `group`.
    pub attrs: FileAttrs,
    /// `backup`, `validate`, `unsafe_writes`.
    pub write: WriteOptions,
    /// Warnings for arguments jig accepts but cannot honour (SELinux contexts, chattr
    /// attributes), to be returned as Ansible's `warnings`.
    pub warnings: Vec<String>,
}

/// The argument names [`FileArgs::from_args`] reads, for `check_known`.
pub const FILE_ARGS: &[&str] = &[
    "path",
    "dest",
    "destfile",
    "name",
    "mode",
    "owner",
    "group",
    "backup",
    "validate",
    "unsafe_writes",
    // SELinux contexts and chattr attributes are accepted with a warning (see `warnings`).
    "seuser",
    "serole",
    "setype",
    "selevel",
    "attributes",
    "attr",
];

impl FileArgs {
    /// Reads the shared arguments.
    pub fn from_args(args: &ModuleArgs) -> Result<FileArgs, ArgError> {
        let path = match args.get_any(&["path", "dest", "destfile", "name"]) {
            Some((name, _)) => args.req_str(name)?,
            None => {
                return Err(ArgError::Missing {
                    module: args.module().to_string(),
                    name: "path".to_string(),
                });
            }
        };
        if path.is_empty() {
            return Err(args.invalid("path", "must not be empty"));
        }
        let mode = match args.get("mode") {
            None => None,
            Some(v) => match Mode::from_json(v).map_err(|e| args.invalid("mode", e.to_string()))? {
                Mode::Preserve => {
                    return Err(args.invalid(
                        "mode",
                        "'preserve' only applies to copy and template (there is no source file)",
                    ));
                }
                m => Some(m),
            },
        };
        let warnings = [
            "seuser",
            "serole",
            "setype",
            "selevel",
            "attributes",
            "attr",
        ]
        .iter()
        .filter(|k| args.get(k).is_some())
        .map(|k| {
            format!(
                "jig does not manage '{k}' (SELinux contexts and file attributes); it was ignored"
            )
        })
        .collect();
        Ok(FileArgs {
            path,
            warnings,
            attrs: FileAttrs {
                mode,
                owner: args.str("owner")?.filter(|s| !s.is_empty()),
                group: args.str("group")?.filter(|s| !s.is_empty()),
            },
            write: WriteOptions {
                backup: args.bool_or("backup", false)?,
                validate: args.str("validate")?.filter(|s| !s.is_empty()),
                unsafe_writes: args.bool_or("unsafe_writes", false)?,
            },
        })
    }
}

/// Ansible's `type='path'` treatment of a path argument: `~`, `~user`, `$VAR` and `${VAR}`
/// expanded on the host (as the become user, with the task's `environment`), in one round
/// trip, only when the path has one of them; any other path is returned unchanged without
/// touching the host.
pub async fn expand_path(ctx: &ModuleContext<'_>, path: &str) -> Result<String, Stop> {
    if !super::command::needs_expansion(path) {
        return Ok(path.to_string());
    }
    let mut script = String::new();
    // The task's environment is the module's environment in Ansible, so `$VAR` sees it.
    super::command::export_environment(ctx.environment, &mut script).map_err(Stop::Fail)?;
    super::command::assign_expanded("_jig_p", path, &mut script);
    script.push_str("printf '%s' \"$_jig_p\"");
    let out = remote::run(ctx, script, None).await?;
    if out.rc != 0 {
        return Err(Stop::Fail(format!(
            "cannot expand the path {path}: {}",
            out.stderr_str().trim()
        )));
    }
    Ok(out.stdout_str())
}

/// A file as probed: its stat and its text.
#[derive(Clone, Debug)]
pub struct Probed {
    /// The stat (symbolic links followed).
    pub stat: RemoteStat,
    /// The content.
    pub text: Text,
}

/// Reads the file in one round trip: `None` if it does not exist. A directory fails with
/// Ansible's message.
pub async fn probe(
    ctx: &ModuleContext<'_>,
    path: &str,
    decode: impl FnOnce(&[u8]) -> Result<Text, String>,
) -> Result<Option<Probed>, Stop> {
    // In check mode a file an earlier task would write is edited as it would be then.
    if ctx.check_mode {
        match ctx.predicted.follow(path) {
            Some(Predicted::Absent) => return Ok(None),
            Some(Predicted::Present(pp)) if pp.stat.kind == FileKind::Directory => {
                return Err(Stop::Fail(format!("Path {path} is a directory !")));
            }
            Some(Predicted::Present(PredictedPath {
                stat,
                content: Some(bytes),
            })) => {
                return Ok(Some(Probed {
                    stat,
                    text: decode(&bytes)
                        .map_err(|e| Stop::Fail(format!("cannot read {path}: {e}")))?,
                }));
            }
            // Content jig cannot know: the host's file is the best guess.
            Some(Predicted::Present(_)) | None => {}
        }
    }
    match remote::read_file(ctx, path).await {
        Ok(None) => Ok(None),
        Ok(Some((stat, bytes))) => Ok(Some(Probed {
            stat,
            text: decode(&bytes).map_err(|e| Stop::Fail(format!("cannot read {path}: {e}")))?,
        })),
        Err(RemoteError::Failed { message }) if message.ends_with("is a directory") => {
            Err(Stop::Fail(format!("Path {path} is a directory !")))
        }
        Err(e) => Err(e.into()),
    }
}

/// What an edit module decided, handed to [`commit`].
pub struct Planned<'a> {
    /// The file as probed, or `None` if it is to be created.
    pub current: Option<&'a Probed>,
    /// The new content when it differs from the current one.
    pub new_content: Option<Vec<u8>>,
    /// Create missing parent directories before writing (lineinfile and blockinfile with
    /// `create: true`).
    pub create_parents: bool,
}

/// Carries out (or, in check mode, only predicts) an edit: plans mode/owner/group against the
/// probed stat, extends `result` the way Ansible does ("... and ownership, perms or SE linux
/// context changed", a file-attributes diff), then writes the new content atomically with its
/// attributes in one round trip, or changes only the attributes. Returns the backup file made.
/// The file's content is then known for later edits (see [`super::known`]).
pub async fn commit(
    ctx: &ModuleContext<'_>,
    fa: &FileArgs,
    planned: Planned<'_>,
    result: &mut ModuleResult,
) -> Result<Option<String>, Stop> {
    let plan = annotate(ctx, fa, planned.current.map(|p| &p.stat), result)?;
    if ctx.check_mode {
        if result.changed {
            let current = planned.current;
            let bytes = match &planned.new_content {
                Some(b) => Some(b.clone()),
                None => current.and_then(|p| p.text.encode(&p.text.text).ok()),
            };
            let size = bytes
                .as_ref()
                .map_or(current.map_or(0, |p| p.stat.size), |b| b.len() as u64);
            ctx.predicted.put_file(
                &fa.path,
                bytes.as_deref(),
                size,
                &fa.attrs,
                current.map(|p| &p.stat),
            );
        }
        return Ok(None);
    }
    ctx.predicted.forget(&fa.path);
    if let Some(bytes) = &planned.new_content {
        let written = remote::write_file(ctx, &fa.path, bytes, &fa.attrs, &fa.write).await;
        let outcome = match written {
            Err(RemoteError::Failed { message })
                if planned.create_parents && message.starts_with("Destination directory") =>
            {
                make_parents(ctx, &fa.path).await?;
                remote::write_file(ctx, &fa.path, bytes, &fa.attrs, &fa.write).await?
            }
            other => other?,
        };
        ctx.known.record(&fa.path, bytes);
        return Ok(outcome.backup_file);
    }
    remote::apply_attrs(ctx, &fa.path, &plan).await?;
    // The content read is the content there: a later edit need not read it again.
    if let Some(p) = planned.current
        && let Ok(bytes) = p.text.encode(&p.text.text)
    {
        ctx.known.record(&fa.path, &bytes);
    }
    Ok(None)
}

/// Plans mode/owner/group against `current` and extends `result` as [`commit`] describes.
fn annotate(
    ctx: &ModuleContext<'_>,
    fa: &FileArgs,
    current: Option<&RemoteStat>,
    result: &mut ModuleResult,
) -> Result<AttrPlan, Stop> {
    let plan = match current {
        Some(stat) => remote::attr_changes(stat, &fa.attrs)?,
        None => AttrPlan::default(),
    };
    if !plan.is_empty() {
        let msg = result.msg.take().unwrap_or_default();
        let extra = "ownership, perms or SE linux context changed";
        result.msg = Some(if result.changed && !msg.is_empty() {
            format!("{msg} and {extra}")
        } else {
            extra.to_string()
        });
        result.changed = true;
        if ctx.diff_mode {
            result
                .diffs
                .push(plan.diff(format!("{} (file attributes)", fa.path)));
        }
    }
    add_warnings(result, &fa.warnings);
    Ok(plan)
}

/// What an edit module decided from a file's text.
pub enum Decision<T> {
    /// The module is done without touching the file (a missing file, say).
    Done(ModuleResult),
    /// Commit the edit.
    Commit {
        /// The result so far (changed, msg, content diff).
        result: ModuleResult,
        /// The new content, when it differs from the current one.
        new_content: Option<Vec<u8>>,
        /// What the module keeps for after the commit.
        then: T,
    },
}

/// What [`edit_file`] did.
pub enum Edited<T> {
    /// The module decided it was done: its result.
    Done(ModuleResult),
    /// The edit was committed (or predicted, in check mode).
    Committed {
        /// The result, with the attribute changes.
        result: ModuleResult,
        /// The backup file made, if any.
        backup: Option<String>,
        /// What [`Decision::Commit`] kept.
        then: T,
    },
}

impl<T> Edited<T> {
    /// The module's result: as decided, or as committed with `backup_file` when a backup was
    /// made (blockinfile, replace and ini_file report it so).
    pub fn into_result(self) -> ModuleResult {
        match self {
            Edited::Done(r) => r,
            Edited::Committed {
                mut result, backup, ..
            } => {
                if let Some(backup) = backup {
                    result.set("backup_file", backup);
                }
                result
            }
        }
    }
}

/// Reads, edits and commits a file: [`probe`], `decide` on its text (`None` when the file
/// does not exist), [`commit`].
///
/// When jig knows the file's content (it wrote it earlier in the run; see [`super::known`]),
/// `decide` runs on that content first and one script checks on the host that the file
/// still has it (by sha256, following links as [`probe`] does) and, if so, writes the new
/// content: one round trip instead of two. If the file changed behind jig's back, the same
/// script returns what [`probe`] would have and the edit goes on as usual. `decide` must
/// therefore be a pure function of the text: it may run twice. Check mode never takes the
/// shortcut (there is nothing to write, and the probe is one round trip).
pub async fn edit_file<T>(
    ctx: &ModuleContext<'_>,
    fa: &FileArgs,
    create_parents: bool,
    decode: impl Fn(&[u8]) -> Result<Text, String>,
    decide: impl Fn(Option<&Text>) -> Result<Decision<T>, Stop>,
) -> Result<Edited<T>, Stop> {
    let probed = match known_edit(ctx, fa, &decode, &decide).await? {
        Shortcut::Done(edited) => return Ok(edited),
        Shortcut::Probed(probed) => probed,
        Shortcut::NotTaken => probe(ctx, &fa.path, &decode).await?,
    };
    match decide(probed.as_ref().map(|p| &p.text))? {
        Decision::Done(r) => Ok(Edited::Done(r)),
        Decision::Commit {
            mut result,
            new_content,
            then,
        } => {
            let planned = Planned {
                current: probed.as_ref(),
                new_content,
                create_parents,
            };
            let backup = commit(ctx, fa, planned, &mut result).await?;
            Ok(Edited::Committed {
                result,
                backup,
                then,
            })
        }
    }
}

/// How the shortcut of [`edit_file`] went.
enum Shortcut<T> {
    /// The file had the known content: the edit is done.
    Done(Edited<T>),
    /// The file did not have it: what [`probe`] would have returned.
    Probed(Option<Probed>),
    /// Not tried (check mode, nothing known, or a decision that needs the ordinary path).
    NotTaken,
}

/// The shortcut of [`edit_file`].
async fn known_edit<T>(
    ctx: &ModuleContext<'_>,
    fa: &FileArgs,
    decode: &impl Fn(&[u8]) -> Result<Text, String>,
    decide: &impl Fn(Option<&Text>) -> Result<Decision<T>, Stop>,
) -> Result<Shortcut<T>, Stop> {
    if ctx.check_mode {
        return Ok(Shortcut::NotTaken);
    }
    let Some(known) = ctx.known.get(&fa.path) else {
        return Ok(Shortcut::NotTaken);
    };
    let Ok(text) = decode(&known.content) else {
        return Ok(Shortcut::NotTaken);
    };
    // A failure or an early result could depend on the content: the ordinary path decides
    // those from the file as read, as it always did.
    let Ok(Decision::Commit {
        mut result,
        new_content,
        then,
    }) = decide(Some(&text))
    else {
        return Ok(Shortcut::NotTaken);
    };
    let mut body = String::new();
    let mut write = String::new();
    if let Some(bytes) = &new_content {
        let job = remote::WriteJob {
            path: &fa.path,
            content: bytes,
            attrs: &fa.attrs,
            follow: true,
            remote_src: None,
        };
        let (Ok(function), Ok(call)) = (
            remote::write_function(&fa.write),
            remote::write_call_to("\"$1\"", &job, &fa.write),
        ) else {
            return Ok(Shortcut::NotTaken);
        };
        body.push_str(&function);
        write = format!("{} || exit $?\n", call.as_str());
    }
    body.push_str(&format!(
        r#"jig_stat "$1" -L || exit 1
if [ -f "$1" ]; then
  s=$(sha256sum < "$1") || exit 1
  if [ "${{s%% *}}" = "$2" ]; then
    printf 'K\0'
    {write}    exit 0
  fi
  printf 'C\0'
  cat -- "$1" || exit 1
fi
"#
    ));
    let cmd = remote::script(&[&fa.path, &known.sha256], &body);
    let out = remote::run(ctx, cmd, new_content.clone()).await?;
    let mut frames = remote::Frames::new(&out.stdout);
    let rec = frames.stat(&fa.path);
    let marker = frames.next_record();
    if out.rc != 0 {
        let err = if marker == Some(b"K".as_slice()) {
            remote::write_error(&fa.path, &fa.write, &out)
        } else {
            remote::host_error(&format!("cannot read {}", fa.path), &out)
        };
        return Err(err.into());
    }
    let Some(rec) = rec? else {
        return Ok(Shortcut::Probed(None));
    };
    match (rec.stat.kind, marker) {
        (FileKind::Directory, _) => Err(Stop::Fail(format!("Path {} is a directory !", fa.path))),
        (FileKind::File, Some(b"C")) => {
            let text = decode(frames.remainder())
                .map_err(|e| Stop::Fail(format!("cannot read {}: {e}", fa.path)))?;
            Ok(Shortcut::Probed(Some(Probed {
                stat: rec.stat,
                text,
            })))
        }
        (FileKind::File, Some(b"K")) => {
            let mut backup = None;
            if let Some(bytes) = &new_content {
                let written = remote::parse_written(&mut frames, &fa.path, out.rc)?;
                backup = written.and_then(|w| w.outcome.backup_file);
                ctx.known.record(&fa.path, bytes);
            }
            let plan = annotate(ctx, fa, Some(&rec.stat), &mut result)?;
            if new_content.is_none() {
                remote::apply_attrs(ctx, &fa.path, &plan).await?;
            }
            Ok(Shortcut::Done(Edited::Committed {
                result,
                backup,
                then,
            }))
        }
        (FileKind::File, _) => Err(Stop::Fail(format!(
            "unexpected probe output for {}",
            fa.path
        ))),
        _ => Err(Stop::Fail(format!("{} is not a regular file", fa.path))),
    }
}

/// Appends to the result's `warnings` list.
pub fn add_warnings(result: &mut ModuleResult, warnings: &[String]) {
    if warnings.is_empty() {
        return;
    }
    let list = result
        .values
        .entry("warnings")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if let serde_json::Value::Array(items) = list {
        items.extend(warnings.iter().cloned().map(serde_json::Value::String));
    }
}

/// `mkdir -p` of a path's parent directory, as Ansible's `os.makedirs` before creating a file.
async fn make_parents(ctx: &ModuleContext<'_>, path: &str) -> Result<(), Stop> {
    let Some(dir) = path
        .rfind('/')
        .map(|i| &path[..i])
        .filter(|d| !d.is_empty())
    else {
        return Ok(());
    };
    let mut cmd = Cmd::new("mkdir");
    cmd.arg("-p").arg("--").arg(dir);
    let out = remote::run(ctx, cmd.into_string(), None).await?;
    if out.rc != 0 {
        return Err(Stop::Fail(format!(
            "Error creating {dir} ({})",
            out.stderr_str().trim()
        )));
    }
    Ok(())
}

/// A text diff of a whole file, as the edit modules report it.
pub fn text_diff(header: String, before: &Text, after: &str) -> Diff {
    let show = |s: &str| match before.encoding {
        Encoding::Utf8 | Encoding::Latin1 => s.to_string(),
        Encoding::Bytes => String::from_utf8_lossy(&encode(s, Encoding::Bytes)).into_owned(),
    };
    Diff::Text {
        before_header: header.clone(),
        after_header: header,
        before: show(&before.text),
        after: show(after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_files_round_trip_byte_for_byte() {
        let bytes = b"caf\xe9 \xff\n\x00end".to_vec();
        let t = Text::decode(&bytes);
        assert_eq!(t.encoding, Encoding::Bytes);
        assert_eq!(t.encode(&t.text).unwrap(), bytes);
        // A UTF-8 line added to such a file keeps its UTF-8 bytes.
        let added = format!("{}{}", t.text, t.adapt("ü"));
        assert_eq!(
            t.encode(&added).unwrap(),
            [bytes.as_slice(), "ü".as_bytes()].concat()
        );
    }

    #[test]
    fn utf8_files_stay_text() {
        let t = Text::decode("grüße\n".as_bytes());
        assert_eq!(t.encoding, Encoding::Utf8);
        assert_eq!(t.text, "grüße\n");
        assert_eq!(t.adapt("ü"), "ü");
    }

    #[test]
    fn explicit_encodings() {
        let t = Text::decode_as(b"\xe9", "latin-1").unwrap();
        assert_eq!(t.text, "é");
        assert_eq!(t.adapt("é"), "é");
        assert_eq!(t.encode("é").unwrap(), b"\xe9");
        assert!(t.encode("✓").unwrap_err().contains("latin-1"));
        assert!(Text::decode_as(b"\xe9", "ascii").is_err());
        assert!(Text::decode_as(b"x", "UTF-8").is_ok());
        assert!(
            Text::decode_as(b"x", "shift_jis")
                .unwrap_err()
                .contains("shift_jis")
        );
    }

    #[test]
    fn line_splitting_matches_python() {
        assert_eq!(readlines("a\r\nb\rc\nd"), vec!["a\r\n", "b\rc\n", "d"]);
        assert_eq!(readlines(""), Vec::<String>::new());
        assert_eq!(
            splitlines_keepends("a\r\nb\rc\nd"),
            vec!["a\r\n", "b\r", "c\n", "d"]
        );
        assert_eq!(splitlines_keepends("\r"), vec!["\r"]);
        assert_eq!(strip_eol("x\r\n\r"), "x");
    }

    mod known_files {
        //! Edits of files jig knows (it wrote them this run) take one round trip.

        use std::os::unix::fs::{PermissionsExt, symlink};
        use std::path::Path;

        use serde_json::{Value as Json, json};

        use crate::modules::blockinfile::BlockInFile;
        use crate::modules::copy::Copy;
        use crate::modules::lineinfile::LineInFile;
        use crate::modules::remote::testutil::{
            Env, HOSTILE, HOSTILE_TEXT, assert_not_pwned, take_execs,
        };
        use crate::modules::replace::Replace;
        use crate::modules::{Module, ModuleArgs, ModuleResult};

        fn margs(module: &str, v: Json) -> ModuleArgs {
            ModuleArgs::new(module, v.as_object().unwrap().clone().into_iter().collect())
        }

        /// Runs `module` and returns its result and the round trips it made.
        async fn run(
            env: &Env,
            module: &dyn Module,
            diff: bool,
            args: Json,
        ) -> (ModuleResult, usize) {
            take_execs();
            let r = module
                .run(&margs(module.name(), args), &env.ctx(false, diff))
                .await
                .unwrap();
            (r, take_execs())
        }

        async fn copy(env: &Env, dest: &Path, content: &str) {
            let (r, n) = run(
                env,
                &Copy,
                false,
                json!({"dest": dest.to_str().unwrap(), "content": content}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 1, "a changed copy without --diff");
        }

        fn p(path: &Path) -> &str {
            path.to_str().unwrap()
        }

        #[tokio::test(flavor = "current_thread")]
        async fn copy_then_edits_take_one_round_trip_each() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("app.conf");
            copy(&env, &f, "a=1\nb=2\n").await;

            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&f), "line": "c=3"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(r.msg.as_deref(), Some("line added"));
            assert_eq!(n, 1, "lineinfile on a file jig wrote");
            let (r, n) = run(
                &env,
                &BlockInFile,
                false,
                json!({"path": p(&f), "block": "x y"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 1, "blockinfile on a file jig edited");
            let (r, n) = run(
                &env,
                &Replace,
                false,
                json!({"path": p(&f), "regexp": "^b=.*$", "replace": "b=22"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(r.msg.as_deref(), Some("1 replacements made"));
            assert_eq!(n, 1, "replace on a file jig edited");
            assert_eq!(
                std::fs::read_to_string(&f).unwrap(),
                "a=1\nb=22\nc=3\n# BEGIN ANSIBLE MANAGED BLOCK\nx y\n# END ANSIBLE MANAGED BLOCK\n"
            );
            // Unchanged edits stay at one round trip, and say so.
            let (r, n) = run(
                &env,
                &LineInFile,
                true,
                json!({"path": p(&f), "line": "c=3"}),
            )
            .await;
            assert!(!r.changed && r.diffs.is_empty(), "{r:?}");
            assert_eq!(n, 1);
            // Check mode reads the file as always and changes nothing.
            take_execs();
            let r = LineInFile
                .run(
                    &margs("lineinfile", json!({"path": p(&f), "line": "d=4"})),
                    &env.ctx(true, false),
                )
                .await
                .unwrap();
            assert!(r.changed);
            assert_eq!(take_execs(), 1);
            assert!(!std::fs::read_to_string(&f).unwrap().contains("d=4"));
        }

        /// The same task on the same content, once with the content known and once without,
        /// gives the same result (backup names aside, which carry the time).
        #[tokio::test(flavor = "current_thread")]
        async fn results_diffs_and_backups_are_as_without_the_shortcut() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let cases: Vec<(&dyn Module, Json)> = vec![
                (
                    &LineInFile,
                    json!({"line": "port 2222", "regexp": "^port ", "backup": true, "mode": "0600"}),
                ),
                (&LineInFile, json!({"line": "port 22", "state": "absent"})),
                (
                    &BlockInFile,
                    json!({"block": "hostile $(x)\n'q'", "backup": true, "validate": "test -s %s"}),
                ),
                (
                    &Replace,
                    json!({"regexp": "ü", "replace": "u", "backup": true}),
                ),
                // Nothing to change in the content, only the mode: the probe and a chmod.
                (
                    &Replace,
                    json!({"regexp": "nothing", "replace": "x", "mode": "0640"}),
                ),
            ];
            for (i, (module, extra)) in cases.into_iter().enumerate() {
                let content = "port 22\nkey ü\n";
                let mut out = Vec::new();
                for known in [true, false] {
                    let f = tmp.path().join(format!("{i}-{known}"));
                    copy(&env, &f, content).await;
                    if !known {
                        env.known.forget(p(&f));
                    }
                    let mut args = extra.clone();
                    args["path"] = json!(p(&f));
                    let (mut r, n) = run(&env, module, true, args).await;
                    assert!(!r.failed, "{r:?}");
                    let attrs_only = !r
                        .diffs
                        .iter()
                        .any(|d| matches!(d, crate::modules::Diff::Text { .. }));
                    let want = match (known, attrs_only) {
                        (true, false) => 1,
                        _ => 2,
                    };
                    assert_eq!(n, want, "{} {extra} known={known}", module.name());
                    let backup_key = if module.name() == "lineinfile" {
                        "backup"
                    } else {
                        "backup_file"
                    };
                    if let Some(Json::String(b)) = r.values.get(backup_key).cloned()
                        && !b.is_empty()
                    {
                        assert_eq!(std::fs::read_to_string(&b).unwrap(), content);
                        r.values.insert(backup_key.into(), json!("<backup>"));
                    }
                    let header = |s: String| s.replace(&format!("-{known}"), "-N");
                    let diffs = format!("{:?}", r.diffs);
                    let after = std::fs::read_to_string(&f).unwrap();
                    let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                    r.diffs.clear();
                    out.push((format!("{r:?}"), header(diffs), after, mode));
                }
                assert_eq!(out[0], out[1], "case {i}");
            }
        }

        #[tokio::test(flavor = "current_thread")]
        async fn a_file_changed_behind_jigs_back_is_read_again() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("f");
            copy(&env, &f, "a\n").await;
            // A command or a handler rewrote it.
            std::fs::write(&f, "b\nc\n").unwrap();
            let (r, n) = run(
                &env,
                &LineInFile,
                true,
                json!({"path": p(&f), "line": "c", "regexp": "^c"}),
            )
            .await;
            assert!(!r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 1, "the shortcut's probe answers as the ordinary one");
            assert_eq!(std::fs::read_to_string(&f).unwrap(), "b\nc\n");
            std::fs::write(&f, "b\n").unwrap();
            let (r, n) = run(&env, &LineInFile, true, json!({"path": p(&f), "line": "c"})).await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 2, "read again, then written");
            assert_eq!(std::fs::read_to_string(&f).unwrap(), "b\nc\n");
            match &r.diffs[0] {
                crate::modules::Diff::Text { before, after, .. } => {
                    assert_eq!((before.as_str(), after.as_str()), ("b\n", "b\nc\n"));
                }
                d => panic!("{d:?}"),
            }
            // What the edit wrote is known again.
            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&f), "line": "d"}),
            )
            .await;
            assert!(r.changed);
            assert_eq!(n, 1);

            // Removed: lineinfile creates it as it would have.
            std::fs::remove_file(&f).unwrap();
            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&f), "line": "e", "create": true}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 2);
            assert_eq!(std::fs::read_to_string(&f).unwrap(), "e\n");
            // Removed without create: Ansible's failure.
            std::fs::remove_file(&f).unwrap();
            let (r, _) = run(&env, &Replace, false, json!({"path": p(&f), "regexp": "e"})).await;
            assert!(r.failed, "{r:?}");
            assert_eq!(r.msg, Some(format!("Path {} does not exist !", p(&f))));
            // Replaced by a directory.
            copy(&env, &f, "x\n").await;
            std::fs::remove_file(&f).unwrap();
            std::fs::create_dir(&f).unwrap();
            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&f), "line": "y"}),
            )
            .await;
            assert!(r.failed, "{r:?}");
            assert_eq!(r.msg, Some(format!("Path {} is a directory !", p(&f))));
            assert_eq!(n, 1);
        }

        #[tokio::test(flavor = "current_thread")]
        async fn hostile_names_and_contents() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let dir = tmp.path().join(HOSTILE);
            std::fs::create_dir(&dir).unwrap();
            let f = dir.join(HOSTILE);
            // The `$` in the name makes the edit modules expand the path on the host first,
            // as Ansible does: one round trip of its own before the edit's.
            let expand = 1;
            copy(&env, &f, HOSTILE_TEXT).await;
            let line = "y $(touch /tmp/jig-files-pwned) 'q' \"d\" ✓";
            let (r, n) = run(
                &env,
                &LineInFile,
                true,
                json!({"path": p(&f), "line": line}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, expand + 1);
            assert_eq!(
                std::fs::read_to_string(&f).unwrap(),
                format!("{HOSTILE_TEXT}{line}\n")
            );
            // A file that is not UTF-8 keeps every byte.
            let g = dir.join("bytes");
            std::fs::write(&g, b"caf\xe9\n").unwrap();
            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&g), "line": "ü"}),
            )
            .await;
            assert!(r.changed);
            assert_eq!(n, expand + 2, "not known yet");
            let (r, n) = run(
                &env,
                &Replace,
                false,
                json!({"path": p(&g), "regexp": "caf", "replace": "t$(x)"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, expand + 1);
            assert_eq!(std::fs::read(&g).unwrap(), b"t$(x)\xe9\n\xc3\xbc\n");
            assert_not_pwned();
        }

        #[tokio::test(flavor = "current_thread")]
        async fn symlinked_paths_are_followed() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let target = tmp.path().join("target");
            let link = tmp.path().join("link");
            std::fs::write(&target, "a\n").unwrap();
            symlink(&target, &link).unwrap();
            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&link), "line": "b"}),
            )
            .await;
            assert!(r.changed);
            assert_eq!(n, 2, "the first edit reads");
            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&link), "line": "c"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 1, "the second knows");
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read_to_string(&target).unwrap(), "a\nb\nc\n");
            // copy with follow writes through the link; the edit after it knows the content.
            let (r, n) = run(
                &env,
                &Copy,
                false,
                json!({"dest": p(&link), "content": "x\n", "follow": true}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 1);
            let (r, n) = run(
                &env,
                &BlockInFile,
                false,
                json!({"path": p(&link), "block": "y"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 1);
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert!(
                std::fs::read_to_string(&target)
                    .unwrap()
                    .starts_with("x\n# BEGIN")
            );
            // The link now points elsewhere: the content there is not the one known.
            let other = tmp.path().join("other");
            std::fs::write(&other, "o\n").unwrap();
            std::fs::remove_file(&link).unwrap();
            symlink(&other, &link).unwrap();
            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&link), "line": "z"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 2);
            assert_eq!(std::fs::read_to_string(&other).unwrap(), "o\nz\n");
        }

        #[tokio::test(flavor = "current_thread")]
        async fn files_over_the_cap_are_read() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("big");
            let big = "x".repeat(crate::modules::known::FILE_MAX) + "\n";
            copy(&env, &f, &big).await;
            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&f), "line": "y"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(n, 2, "too large to be known");
            let small = tmp.path().join("small");
            copy(&env, &small, "x\n").await;
            let (r, n) = run(
                &env,
                &LineInFile,
                false,
                json!({"path": p(&small), "line": "y"}),
            )
            .await;
            assert!(r.changed);
            assert_eq!(n, 1);
        }
    }
}

//! Host-side file primitives: stat, read, checksum, atomic write, attributes.
//!
//! Every file-touching module (copy, template, file, stat, slurp, lineinfile, blockinfile,
//! replace...) reaches the host's files through this module, so the rules live in one place:
//!
//! - each primitive is **one round trip**: a constant shell script written here, with user
//!   values passed only as quoted positional parameters (`set -- 'value' ...`), never pasted
//!   into the script;
//! - output is framed with NUL bytes, so names and link targets with spaces, quotes, newlines
//!   or any UTF-8 come back intact;
//! - writes go to a temporary file in the destination's directory, get their mode and owner,
//!   are validated, and are renamed into place: a reader sees the old file or the new one,
//!   never a partial one, and a failed validation leaves the old file untouched;
//! - several files can be written in one round trip (`write_many`, for directory copies): their
//!   contents follow each other on stdin and GNU `head -c` takes exactly each one's bytes;
//! - a script too long for one command-line argument (128 KiB on Linux) is itself sent ahead
//!   on stdin, so tree copies and recursive changes have no size limit.
//!
//! The host needs POSIX `sh` and GNU coreutils (`stat --printf`, `mktemp`, `mv -T`,
//! `readlink -f`, `head -c`, `sha256sum`), nothing else; `stat` also uses `file` and `lsattr`
//! when they are there.

use indexmap::IndexMap;

use crate::connection::{Cmd, ConnectionError, ExecOutput, ExecRequest};
use crate::modules::mode::{self, DEFAULT_UMASK, Mode};
use crate::modules::{ArgError, Diff, ModuleArgs, ModuleContext, ModuleResult};

/// The attributes a module wants a file to have; `None` leaves an attribute as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileAttrs {
    /// Permission bits (octal or symbolic). [`Mode::Preserve`] must be resolved by the caller.
    pub mode: Option<Mode>,
    /// Owner, by name or numeric uid.
    pub owner: Option<String>,
    /// Group, by name or numeric gid.
    pub group: Option<String>,
}

/// What kind of file a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (only when the stat did not follow links).
    Link,
    /// A device, FIFO or socket.
    Other,
}

/// The state of one path on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteStat {
    /// The kind of file.
    pub kind: FileKind,
    /// Permission bits including setuid, setgid and sticky (`0o4755`).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
    /// Owner name (the uid as text when it has no name).
    pub owner: String,
    /// Group name (the gid as text when it has no name).
    pub group: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: f64,
    /// Access time, seconds since the epoch.
    pub atime: f64,
    /// Status change time, seconds since the epoch.
    pub ctime: f64,
    /// Inode number.
    pub inode: u64,
    /// Device number.
    pub dev: u64,
    /// Number of hard links.
    pub nlink: u64,
    /// Where a symbolic link points (as written in the link), when `kind` is `Link`.
    pub link_target: Option<String>,
}

/// A primitive could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The host became unreachable.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The host refused or the command failed; the message quotes the host's error.
    #[error("{message}")]
    Failed {
        /// What went wrong, with the path and the host's own error text.
        message: String,
    },
}

impl RemoteError {
    fn failed(message: impl Into<String>) -> Self {
        RemoteError::Failed {
            message: message.into(),
        }
    }
}

/// How [`write_file`] writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Copy the old file to `path.<pid>.<YYYY-MM-DD@HH:MM:SS>~` first (if there is one).
    pub backup: bool,
    /// A command with `%s` run on the temporary file; a non-zero exit aborts the write.
    pub validate: Option<String>,
    /// If the atomic rename fails (a bind-mounted file, say), write in place instead.
    pub unsafe_writes: bool,
}

/// What [`write_file`] did besides writing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The backup made, if any.
    pub backup_file: Option<String>,
}

/// Attribute changes planned against a stat: each field is `(before, after)` when it changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttrPlan {
    /// Permission bits before and after.
    pub mode: Option<(u32, u32)>,
    /// Owner before and after (after as given: a name or a uid).
    pub owner: Option<(String, String)>,
    /// Group before and after.
    pub group: Option<(String, String)>,
    /// The path is a symbolic link to be changed itself (`chown -h`), not its target.
    pub no_dereference: bool,
}

impl AttrPlan {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }

    /// The planned changes of `path` as a field-by-field diff.
    pub fn diff(&self, path: impl Into<String>) -> Diff {
        let (mut before, mut after) = (IndexMap::new(), IndexMap::new());
        self.add_to_diff(&mut before, &mut after);
        Diff::Fields {
            path: path.into(),
            before,
            after,
        }
    }

    /// Adds the planned changes to diff `before`/`after` maps as Ansible names them
    /// (`mode: '0644'`, `owner`, `group`).
    pub fn add_to_diff(
        &self,
        before: &mut IndexMap<String, String>,
        after: &mut IndexMap<String, String>,
    ) {
        if let Some((b, a)) = self.mode {
            before.insert("mode".into(), mode::render(b));
            after.insert("mode".into(), mode::render(a));
        }
        if let Some((b, a)) = &self.owner {
            before.insert("owner".into(), b.clone());
            after.insert("owner".into(), a.clone());
        }
        if let Some((b, a)) = &self.group {
            before.insert("group".into(), b.clone());
            after.insert("group".into(), a.clone());
        }
    }
}

/// Shell functions every primitive's script may call. Constant text: user values reach them
/// only as positional parameters.
///
/// `jig_stat PATH [-L]` prints `A\0` when PATH does not exist, else
/// `E<fields>\n<owner>\n<group>\0<link target>\0`; any other stat error goes to stderr and the
/// function fails. Error texts are matched in the C locale.
///
/// `jig_head PATH` prints `<n>\0` and the first n (at most 100 KiB + 1) bytes of PATH, for
/// diffs. `jig_mkdir PATH CHMOD OWNER GROUP` creates one directory if it is missing and gives
/// it the attributes that are not empty.
pub(crate) const PRELUDE: &str = r#"jig_stat() {
  if _o=$(LC_ALL=C stat $2 --printf '%f %u %g %s %.9Y %.9X %.9Z %i %d %h\n%U\n%G' -- "$1" 2>&1); then
    printf 'E%s\0' "$_o"
    _l=
    if [ -z "$2" ] && [ -L "$1" ]; then _l=$(readlink -- "$1" && printf x) && _l=${_l%?x}; fi
    printf '%s\0' "$_l"
  else
    case $_o in
      *': No such file or directory') printf 'A\0' ;;
      *) printf '%s\n' "$_o" >&2; return 1 ;;
    esac
  fi
}
jig_head() {
  _n=$(head -c 102401 -- "$1" | wc -c)
  printf '%s\0' "$_n"
  head -c "$_n" -- "$1"
}
jig_mkdir() {
  [ -d "$1" ] && return 0
  mkdir -- "$1" || return 1
  if [ -n "$2" ]; then chmod -- "$2" "$1" || return 1; fi
  if [ -n "$3" ]; then chown -- "$3" "$1" || return 1; fi
  if [ -n "$4" ]; then chgrp -- "$4" "$1" || return 1; fi
}
"#;

/// Builds `PRELUDE; set -- ARGS...; BODY` with every argument quoted.
pub(crate) fn script(args: &[&str], body: &str) -> String {
    let mut c = Cmd::empty();
    c.raw(PRELUDE);
    c.raw("set --");
    c.args(args);
    c.raw(";\n");
    c.raw(body);
    c.into_string()
}

/// Scripts longer than this travel on stdin instead of the command line.
///
/// Linux limits one argument to 128 KiB (`MAX_ARG_STRLEN`), and both `sh -c` locally and sshd's
/// `$SHELL -c` pass the whole line as one argument; a copy of a large tree or a recursive
/// `file` would exceed it.
const MAX_INLINE_SCRIPT: usize = 32 * 1024;

/// The command line that runs `script` sent ahead of the real stdin: `head -c` reads exactly
/// the script's bytes (GNU head never reads further), so the rest of stdin stays for it.
fn via_stdin(script: &str) -> String {
    format!(
        "jig_script=$(head -c {} && printf x) && eval \"${{jig_script%x}}\"",
        script.len()
    )
}

/// Runs a jig-built script with the task's become settings.
pub(crate) async fn run(
    ctx: &ModuleContext<'_>,
    command: String,
    stdin: Option<Vec<u8>>,
) -> Result<ExecOutput, ConnectionError> {
    #[cfg(test)]
    testutil::EXECS.with(|n| n.set(n.get() + 1));
    let (command, stdin) = if command.len() > MAX_INLINE_SCRIPT {
        let mut data = command.clone().into_bytes();
        data.extend_from_slice(stdin.as_deref().unwrap_or_default());
        (via_stdin(&command), Some(data))
    } else {
        (command, stdin)
    };
    let mut req = ExecRequest::new(command).with_become(ctx.become_.clone());
    req.stdin = stdin;
    ctx.conn.exec(&req).await
}

/// A stat together with the raw file-type bits (`S_IFMT`), for the `stat` module's
/// `isblk`/`ischr`/`isfifo`/`issock`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StatRecord {
    pub stat: RemoteStat,
    pub type_bits: u32,
}

/// File-type bits of `st_mode`.
pub(crate) const S_IFMT: u32 = 0o170000;
pub(crate) const S_IFREG: u32 = 0o100000;
pub(crate) const S_IFDIR: u32 = 0o040000;
pub(crate) const S_IFLNK: u32 = 0o120000;

/// A reader over NUL-framed script output.
pub(crate) struct Frames<'a> {
    rest: &'a [u8],
}

impl<'a> Frames<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Frames { rest: data }
    }

    /// The next NUL-terminated record.
    pub(crate) fn next_record(&mut self) -> Option<&'a [u8]> {
        let at = self.rest.iter().position(|&b| b == 0)?;
        let (rec, rest) = self.rest.split_at(at);
        self.rest = &rest[1..];
        Some(rec)
    }

    /// A record written by `jig_head`: a decimal length, NUL, then that many bytes.
    pub(crate) fn sized(&mut self) -> Option<&'a [u8]> {
        let n: usize = std::str::from_utf8(self.next_record()?)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        if n > self.rest.len() {
            return None;
        }
        let (data, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(data)
    }

    /// Everything not read yet.
    pub(crate) fn remainder(&self) -> &'a [u8] {
        self.rest
    }

    /// Reads the two records `jig_stat` prints: `None` if the path is absent.
    pub(crate) fn stat(&mut self, path: &str) -> Result<Option<StatRecord>, RemoteError> {
        let bad = || RemoteError::failed(format!("unexpected stat output for {path}"));
        let head = self.next_record().ok_or_else(bad)?;
        match head.first() {
            Some(b'A') => Ok(None),
            Some(b'E') => {
                let link = self.next_record().ok_or_else(bad)?;
                parse_stat(&head[1..], link).map(Some).ok_or_else(bad)
            }
            _ => Err(bad()),
        }
    }
}

fn parse_stat(fields: &[u8], link: &[u8]) -> Option<StatRecord> {
    let text = std::str::from_utf8(fields).ok()?;
    let mut lines = text.splitn(3, '\n');
    let nums: Vec<&str> = lines.next()?.split(' ').collect();
    let owner = lines.next()?;
    let group = lines.next()?;
    if nums.len() != 10 {
        return None;
    }
    let raw = u32::from_str_radix(nums[0], 16).ok()?;
    let uid: u32 = nums[1].parse().ok()?;
    let gid: u32 = nums[2].parse().ok()?;
    let type_bits = raw & S_IFMT;
    let kind = match type_bits {
        S_IFREG => FileKind::File,
        S_IFDIR => FileKind::Directory,
        S_IFLNK => FileKind::Link,
        _ => FileKind::Other,
    };
    let name_or_id = |name: &str, id: u32| {
        if name == "UNKNOWN" {
            id.to_string()
        } else {
            name.to_string()
        }
    };
    Some(StatRecord {
        stat: RemoteStat {
            kind,
            mode: raw & mode::PERM_BITS,
            uid,
            gid,
            owner: name_or_id(owner, uid),
            group: name_or_id(group, gid),
            size: nums[3].parse().ok()?,
            mtime: nums[4].parse().ok()?,
            atime: nums[5].parse().ok()?,
            ctime: nums[6].parse().ok()?,
            inode: nums[7].parse().ok()?,
            dev: nums[8].parse().ok()?,
            nlink: nums[9].parse().ok()?,
            link_target: (kind == FileKind::Link)
                .then(|| String::from_utf8_lossy(link).into_owned()),
        },
        type_bits,
    })
}

/// Turns a failed script into an error that quotes the host.
pub(crate) fn host_error(what: &str, out: &ExecOutput) -> RemoteError {
    let err = out.stderr_str();
    let err = err.trim();
    if err.is_empty() {
        RemoteError::failed(format!("{what}: exit status {}", out.rc))
    } else {
        RemoteError::failed(format!("{what}: {err}"))
    }
}

/// `-L` when following links, for `jig_stat`'s second parameter.
pub(crate) fn follow_flag(follow: bool) -> &'static str {
    if follow { "-L" } else { "" }
}

/// One round trip: stat of `path` (follow symlinks if asked); None if it does not exist.
///
/// A dangling symlink followed counts as absent, as in Ansible.
pub async fn stat(
    ctx: &ModuleContext<'_>,
    path: &str,
    follow: bool,
) -> Result<Option<RemoteStat>, ConnectionError> {
    match stat_record(ctx, path, follow).await {
        Ok(rec) => Ok(rec.map(|r| r.stat)),
        Err(RemoteError::Connection(e)) => Err(e),
        // The contract of `stat` is "exists or not"; a path the user may not even look at is
        // reported as absent, and the write that follows will fail with the host's message.
        Err(RemoteError::Failed { .. }) => Ok(None),
    }
}

/// Like [`stat`], but keeps the host's error (permission denied, not a directory).
pub(crate) async fn stat_record(
    ctx: &ModuleContext<'_>,
    path: &str,
    follow: bool,
) -> Result<Option<StatRecord>, RemoteError> {
    let cmd = script(&[path, follow_flag(follow)], r#"jig_stat "$1" $2"#);
    let out = run(ctx, cmd, None).await?;
    if out.rc != 0 {
        return Err(host_error(&format!("cannot stat {path}"), &out));
    }
    Frames::new(&out.stdout).stat(path)
}

/// One round trip: stat + content of a regular file (None if absent). Errors if it is a
/// directory or another non-regular file. Symbolic links are followed.
pub async fn read_file(
    ctx: &ModuleContext<'_>,
    path: &str,
) -> Result<Option<(RemoteStat, Vec<u8>)>, RemoteError> {
    let cmd = script(
        &[path],
        r#"jig_stat "$1" -L || exit 1
if [ -f "$1" ]; then cat -- "$1" || exit 1; fi"#,
    );
    let out = run(ctx, cmd, None).await?;
    if out.rc != 0 {
        return Err(host_error(&format!("cannot read {path}"), &out));
    }
    let mut frames = Frames::new(&out.stdout);
    match frames.stat(path)? {
        None => Ok(None),
        Some(rec) if rec.stat.kind == FileKind::File => {
            Ok(Some((rec.stat, frames.remainder().to_vec())))
        }
        Some(rec) => Err(not_regular(path, &rec)),
    }
}

fn not_regular(path: &str, rec: &StatRecord) -> RemoteError {
    let what = match rec.stat.kind {
        FileKind::Directory => "a directory",
        _ => "not a regular file",
    };
    RemoteError::failed(format!("{path} is {what}"))
}

/// sha256 of a remote file (None if absent), one round trip. Symbolic links are followed.
pub async fn sha256(ctx: &ModuleContext<'_>, path: &str) -> Result<Option<String>, RemoteError> {
    let cmd = script(
        &[path],
        r#"jig_stat "$1" -L || exit 1
if [ -f "$1" ]; then sha256sum < "$1" || exit 1; fi"#,
    );
    let out = run(ctx, cmd, None).await?;
    if out.rc != 0 {
        return Err(host_error(&format!("cannot checksum {path}"), &out));
    }
    let mut frames = Frames::new(&out.stdout);
    match frames.stat(path)? {
        None => Ok(None),
        Some(rec) if rec.stat.kind == FileKind::File => parse_sum(frames.remainder())
            .map(Some)
            .ok_or_else(|| RemoteError::failed(format!("unexpected sha256sum output for {path}"))),
        Some(rec) => Err(not_regular(path, &rec)),
    }
}

/// Runs a probe script. Status 127 is a required command missing on the host (the script says
/// which on stderr, in Ansible's words): that message is the failure. Any other non-zero
/// status fails with `what` (`cannot read PATH`) and the host's error.
pub async fn run_probe(
    ctx: &ModuleContext<'_>,
    script: String,
    what: &str,
) -> Result<ExecOutput, RemoteError> {
    let out = run(ctx, script, None).await?;
    match out.rc {
        0 => Ok(out),
        127 => Err(RemoteError::failed(out.stderr_str().trim())),
        _ => Err(host_error(what, &out)),
    }
}

/// The hex digest at the start of `sha256sum`/`sha1sum`/`md5sum` output.
pub(crate) fn parse_sum(out: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(out).ok()?;
    let digest = text.split_whitespace().next()?;
    digest
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| digest.to_ascii_lowercase())
}

/// The write function. Parameters: 1 path, 2 follow links (1/0), 3 chmod argument or empty,
/// 4 owner or empty, 5 group or empty, 6 backup (1/0), 7 unsafe writes (1/0), 8 the number of
/// content bytes to take from stdin (GNU `head -c` reads no further, so several files can
/// share one stdin), 9 a file on the host to take the content from instead (remote_src). The
/// validate command, when given, is spliced in at `@VALIDATE@` as
/// jig-quoted words. Each successful call prints `B<backup>\0` or `N\0`, then the `jig_stat`
/// records of the file written.
///
/// Return statuses the controller turns into messages: 3 the directory is missing, 4
/// validation failed, 5 the path is a directory (and 6, in [`write_many`], the setup failed).
///
/// A script that builds the content on the host first (see [`write_call_words`]) keeps its
/// files in a directory it names in `$jig_scratch`: the exit trap removes that too.
const WRITE_FN: &str = r#"jig_write() {
  p=$1
  if [ "$2" = 1 ] && [ -L "$p" ]; then
    p=$(readlink -f -- "$p" && printf x) || return 1
    p=${p%?x}
  fi
  case $p in
    */*) d=${p%/*}; [ -n "$d" ] || d=/ ;;
    *) d=. ;;
  esac
  [ -d "$d" ] || return 3
  if [ -d "$p" ] && [ ! -L "$p" ]; then return 5; fi
  t=$(mktemp -- "$d/.jig.XXXXXXXX") || return 1
  if [ -n "$9" ]; then cat -- "$9" > "$t" || return 1; else head -c "$8" > "$t" || return 1; fi
  if [ -e "$p" ]; then
    chmod --reference="$p" -- "$t" || return 1
    chown --reference="$p" -- "$t" 2>/dev/null
  else
    chmod "$(printf %o $(( 0666 & ~$(umask) )))" "$t" || return 1
  fi
  if [ -n "$3" ]; then chmod -- "$3" "$t" || return 1; fi
  if [ -n "$4" ]; then chown -- "$4" "$t" || return 1; fi
  if [ -n "$5" ]; then chgrp -- "$5" "$t" || return 1; fi
  @VALIDATE@
  b=
  if [ "$6" = 1 ] && [ -e "$p" ]; then
    b="$p.$$.$(date +%Y-%m-%d@%H:%M:%S)~"
    cp -p -- "$p" "$b" || return 1
  fi
  if mv -fT -- "$t" "$p"; then
    t=
  elif [ "$7" = 1 ]; then
    cat -- "$t" > "$p" || return 1
  else
    return 1
  fi
  if [ -n "$b" ]; then printf 'B%s\0' "$b"; else printf 'N\0'; fi
  jig_stat "$p" -L
}
t=
jig_scratch=
trap 'if [ -n "$t" ]; then rm -f -- "$t"; fi; if [ -n "$jig_scratch" ]; then rm -rf -- "$jig_scratch"; fi' EXIT
trap 'exit 1' HUP INT TERM
"#;

/// Splices a validate command into the write script: Ansible runs it without a shell (split
/// into words), with `%s` replaced by the temporary file and `%%` meaning `%`.
fn validate_syntax(validate: &str) -> Result<String, RemoteError> {
    if !validate.contains("%s") {
        return Err(RemoteError::failed(format!(
            "validate must contain %s (the temporary file to check): {validate}"
        )));
    }
    let words = shlex::split(validate).ok_or_else(|| {
        RemoteError::failed(format!(
            "cannot split the validate command into words: {validate}"
        ))
    })?;
    let mut line = String::new();
    for word in words {
        if !line.is_empty() {
            line.push(' ');
        }
        // Each word is made of quoted literal pieces joined by "$t"; an empty word stays ''.
        let mut piece = String::new();
        let mut out = String::new();
        let mut chars = word.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '%' {
                match chars.peek() {
                    Some('s') => {
                        chars.next();
                        out.push_str(&crate::connection::quote(&piece));
                        piece.clear();
                        out.push_str("\"$t\"");
                        continue;
                    }
                    Some('%') => {
                        chars.next();
                        piece.push('%');
                        continue;
                    }
                    _ => {}
                }
            }
            piece.push(c);
        }
        if !piece.is_empty() || out.is_empty() {
            out.push_str(&crate::connection::quote(&piece));
        }
        line.push_str(&out);
    }
    Ok(format!("if ! {line} </dev/null >&2; then return 4; fi"))
}

/// One file for [`write_many`].
pub(crate) struct WriteJob<'a> {
    /// Where to write.
    pub path: &'a str,
    /// The new content.
    pub content: &'a [u8],
    /// Mode, owner and group of the new file.
    pub attrs: &'a FileAttrs,
    /// Follow a symbolic link at `path` instead of replacing it.
    pub follow: bool,
    /// Take the content from this file on the host instead of `content` (remote_src).
    pub remote_src: Option<&'a str>,
}

/// What [`write_many`] reports for each file written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Written {
    /// The backup made, if any.
    pub outcome: WriteOutcome,
    /// The file as written.
    pub stat: Option<RemoteStat>,
}

/// Writes several files atomically in one round trip, after running `setup` (jig-built
/// commands such as `mkdir`), each file as [`write_file`] does. Stops at the first failure;
/// the files before it are written, the failing one and those after are untouched.
pub(crate) async fn write_many(
    ctx: &ModuleContext<'_>,
    setup: Option<&Cmd>,
    jobs: &[WriteJob<'_>],
    opts: &WriteOptions,
) -> Result<Vec<Written>, RemoteError> {
    let mut c = Cmd::empty();
    c.raw(PRELUDE);
    c.raw(&write_function(opts)?);
    if let Some(setup) = setup
        && !setup.as_str().is_empty()
    {
        c.raw(setup.as_str());
        c.raw("|| exit 6\n");
    }
    let mut stdin = Vec::new();
    for job in jobs {
        c.raw(write_call(job, opts)?.as_str());
        c.raw("|| exit $?\n");
        if job.remote_src.is_none() {
            stdin.extend_from_slice(job.content);
        }
    }
    let out = run(ctx, c.into_string(), Some(stdin)).await?;
    let mut frames = Frames::new(&out.stdout);
    let mut outcomes = Vec::new();
    while let Some(w) = parse_written(
        &mut frames,
        jobs.get(outcomes.len()).map_or("", |j| j.path),
        out.rc,
    )? {
        outcomes.push(w);
    }
    if out.rc == 0 {
        return Ok(outcomes);
    }
    // The failing file is the one after the last that reported; status 6 is the setup.
    match jobs.get(outcomes.len()) {
        Some(job) if out.rc != 6 => Err(write_error(job.path, opts, &out)),
        _ => Err(host_error("cannot prepare the destination", &out)),
    }
}

/// The `jig_write` shell function (and the traps that remove its temporary file), with the
/// validate step of `opts` spliced in, for any script that writes files.
pub(crate) fn write_function(opts: &WriteOptions) -> Result<String, RemoteError> {
    let validate = match &opts.validate {
        Some(v) => validate_syntax(v)?,
        None => String::new(),
    };
    Ok(WRITE_FN.replace("@VALIDATE@", &validate))
}

/// One `jig_write` call for `job`; its content (unless `remote_src`) must follow on stdin, in
/// job order.
pub(crate) fn write_call(job: &WriteJob<'_>, opts: &WriteOptions) -> Result<Cmd, RemoteError> {
    write_call_to(&crate::connection::quote(job.path), job, opts)
}

/// [`write_call`] with the destination given as a shell word the caller built (such as
/// `"$p"`, a path the host's own script decided), instead of `job.path`.
pub(crate) fn write_call_to(
    path_word: &str,
    job: &WriteJob<'_>,
    opts: &WriteOptions,
) -> Result<Cmd, RemoteError> {
    let src = crate::connection::quote(job.remote_src.unwrap_or(""));
    write_call_words(path_word, &src, job, opts)
}

/// [`write_call_to`] taking the content from the host file the shell word `src_word` names
/// (such as `"$jig_scratch/new"`, a file the caller's script built), instead of stdin or
/// `job.remote_src`.
pub(crate) fn write_call_words(
    path_word: &str,
    src_word: &str,
    job: &WriteJob<'_>,
    opts: &WriteOptions,
) -> Result<Cmd, RemoteError> {
    let flag = |b: bool| if b { "1" } else { "0" };
    let chmod = match &job.attrs.mode {
        None => String::new(),
        Some(m) => m.chmod_arg().ok_or_else(|| {
            RemoteError::failed(format!(
                "mode 'preserve' must be resolved before writing {}",
                job.path
            ))
        })?,
    };
    let mut c = Cmd::empty();
    c.raw("jig_write");
    c.raw(path_word)
        .arg(flag(job.follow))
        .arg(&chmod)
        .arg(job.attrs.owner.as_deref().unwrap_or(""))
        .arg(job.attrs.group.as_deref().unwrap_or(""))
        .arg(flag(opts.backup))
        .arg(flag(opts.unsafe_writes))
        .arg(&job.content.len().to_string())
        .raw(src_word);
    Ok(c)
}

/// Reads the report of one successful `jig_write` (its backup record, then the stat of the
/// file written) from `frames`; `None` when no more reports follow. `rc` is the script's
/// exit status: after a failure the last report may be cut short.
pub(crate) fn parse_written(
    frames: &mut Frames<'_>,
    path: &str,
    rc: i32,
) -> Result<Option<Written>, RemoteError> {
    let Some(rec) = frames.next_record() else {
        return Ok(None);
    };
    let outcome = WriteOutcome {
        backup_file: rec
            .strip_prefix(b"B")
            .map(|r| String::from_utf8_lossy(r).into_owned()),
    };
    let stat = match frames.stat(path) {
        Ok(rec) => rec.map(|r| r.stat),
        // The write succeeded; only the report after it is unreadable.
        Err(_) if rc != 0 => None,
        Err(e) => return Err(e),
    };
    Ok(Some(Written { outcome, stat }))
}

/// The message for a failed `jig_write` of `path`, by its exit status.
pub(crate) fn write_error(path: &str, opts: &WriteOptions, out: &ExecOutput) -> RemoteError {
    match out.rc {
        3 => {
            let dir = match path.rfind('/') {
                Some(0) => "/",
                Some(i) => &path[..i],
                None => ".",
            };
            RemoteError::failed(format!("Destination directory {dir} does not exist"))
        }
        4 => {
            let detail = out.stderr_str();
            RemoteError::failed(format!(
                "failed to validate: `{}` rejected the new content of {path}; the old file was \
                 left untouched{}{}",
                opts.validate.as_deref().unwrap_or(""),
                if detail.trim().is_empty() { "" } else { ": " },
                detail.trim()
            ))
        }
        5 => RemoteError::failed(format!("cannot write {path}: it is a directory")),
        _ => host_error(&format!("cannot write {path}"), out),
    }
}

/// One round trip: write content to a temp file in the same directory (content streamed on
/// stdin), set mode/owner/group, run `validate` on the temp file if given, optionally back up
/// the old file (Ansible's name: `path.<pid>.<YYYY-MM-DD@HH:MM:SS>~`), then rename into place.
/// Never leaves a partial file; a failed validate leaves the old file untouched and says so.
///
/// A symbolic link at `path` is followed (the target is replaced, as lineinfile and
/// `follow: true` do); use [`write_file_at`] to replace the link itself. With no `mode`, an
/// existing file keeps its mode and owner, and a new one gets `0666 & ~umask`.
pub async fn write_file(
    ctx: &ModuleContext<'_>,
    path: &str,
    content: &[u8],
    attrs: &FileAttrs,
    opts: &WriteOptions,
) -> Result<WriteOutcome, RemoteError> {
    write_file_at(ctx, path, content, attrs, opts, true).await
}

/// [`write_file`], choosing whether a symbolic link at `path` is followed (`follow`) or
/// replaced by the new file (copy and template's default).
pub async fn write_file_at(
    ctx: &ModuleContext<'_>,
    path: &str,
    content: &[u8],
    attrs: &FileAttrs,
    opts: &WriteOptions,
    follow: bool,
) -> Result<WriteOutcome, RemoteError> {
    let job = WriteJob {
        path,
        content,
        attrs,
        follow,
        remote_src: None,
    };
    let mut outcomes = write_many(ctx, None, &[job], opts).await?;
    Ok(outcomes.pop().map(|w| w.outcome).unwrap_or_default())
}

/// The largest content shown as a text diff; larger or binary content gets a summary.
pub const DIFF_MAX_BYTES: usize = 100 * 1024;

/// Reads the common `mode`, `owner` and `group` arguments.
pub fn attrs_from_args(args: &ModuleArgs) -> Result<FileAttrs, ArgError> {
    let mode = match args.get("mode") {
        None => None,
        Some(v) => Some(Mode::from_json(v).map_err(|e| args.invalid("mode", e.to_string()))?),
    };
    Ok(FileAttrs {
        mode,
        owner: args.str("owner")?.filter(|s| !s.is_empty()),
        group: args.str("group")?.filter(|s| !s.is_empty()),
    })
}

/// Ansible's name for the kind of file a stat shows (`file`, `directory`, `link`, `hard`).
pub fn state_name(stat: &RemoteStat) -> &'static str {
    match stat.kind {
        FileKind::Link => "link",
        FileKind::Directory => "directory",
        FileKind::File if stat.nlink > 1 => "hard",
        FileKind::File | FileKind::Other => "file",
    }
}

/// Sets the result keys Ansible adds for a file (`uid`, `gid`, `owner`, `group`, `mode`,
/// `state`, `size`) from a stat of it.
pub fn add_path_info(result: &mut ModuleResult, stat: &RemoteStat) {
    result
        .set("uid", stat.uid)
        .set("gid", stat.gid)
        .set("owner", stat.owner.clone())
        .set("group", stat.group.clone())
        .set("mode", mode::render(stat.mode))
        .set("state", state_name(stat))
        .set("size", stat.size);
}

/// A content diff: text when both sides are UTF-8 and small enough, else a summary.
pub fn content_diff(
    before_header: &str,
    after_header: &str,
    before: Option<&[u8]>,
    after: &[u8],
) -> Diff {
    let before_bytes = before.unwrap_or(b"");
    if before_bytes.len() > DIFF_MAX_BYTES || after.len() > DIFF_MAX_BYTES {
        return Diff::Summary(format!(
            "{before_header}: content differs ({} -> {} bytes, too large to show)",
            before_bytes.len(),
            after.len()
        ));
    }
    match (
        std::str::from_utf8(before_bytes),
        std::str::from_utf8(after),
    ) {
        (Ok(b), Ok(a)) if !b.contains('\0') && !a.contains('\0') => Diff::Text {
            before_header: before_header.to_string(),
            after_header: after_header.to_string(),
            before: b.to_string(),
            after: a.to_string(),
        },
        _ => Diff::Summary(format!(
            "{before_header}: binary content differs ({} -> {} bytes)",
            before_bytes.len(),
            after.len()
        )),
    }
}

/// `jig_mkdir` calls creating `dir` and each missing ancestor, one at a time, each new one with
/// `attrs` (Ansible gives new parent directories the same mode and owner), joined with `&&`.
pub(crate) fn mkdirs_cmd(dir: &str, attrs: &FileAttrs) -> Result<Cmd, RemoteError> {
    let chmod = match &attrs.mode {
        None => String::new(),
        Some(m) => m
            .chmod_arg()
            .ok_or_else(|| RemoteError::failed("a directory mode cannot be 'preserve'"))?,
    };
    let mut c = Cmd::empty();
    let mut prefix = String::new();
    for (i, part) in dir.split('/').enumerate() {
        if i > 0 {
            prefix.push('/');
        }
        prefix.push_str(part);
        if part.is_empty() || part == "." {
            continue;
        }
        if !c.as_str().is_empty() {
            c.raw("&&");
        }
        c.raw("jig_mkdir")
            .arg(&prefix)
            .arg(&chmod)
            .arg(attrs.owner.as_deref().unwrap_or(""))
            .arg(attrs.group.as_deref().unwrap_or(""));
    }
    Ok(c)
}

/// Whether `wanted` (a name or a numeric id) names the same principal as `name`/`id`.
fn same_principal(wanted: &str, name: &str, id: u32) -> bool {
    wanted == name || wanted.parse::<u32>().is_ok_and(|w| w == id)
}

/// Plans attribute changes against a stat (for --diff before/after and `changed`).
///
/// Symbolic modes are resolved against the current mode (with the umask assumed to be 022 for
/// clauses without `u`/`g`/`o`). A symbolic link's own mode cannot be changed on Linux, so a
/// mode on a link plans nothing; its owner and group are changed on the link itself.
pub fn attr_changes(current: &RemoteStat, wanted: &FileAttrs) -> Result<AttrPlan, RemoteError> {
    let mut plan = AttrPlan {
        no_dereference: current.kind == FileKind::Link,
        ..AttrPlan::default()
    };
    if let Some(m) = &wanted.mode
        && current.kind != FileKind::Link
    {
        let after = m
            .resolve(
                current.mode,
                current.kind == FileKind::Directory,
                DEFAULT_UMASK,
            )
            .ok_or_else(|| {
                RemoteError::failed("mode 'preserve' must be resolved from the source file")
            })?;
        if after != current.mode {
            plan.mode = Some((current.mode, after));
        }
    }
    if let Some(o) = &wanted.owner
        && !same_principal(o, &current.owner, current.uid)
    {
        plan.owner = Some((current.owner.clone(), o.clone()));
    }
    if let Some(g) = &wanted.group
        && !same_principal(g, &current.group, current.gid)
    {
        plan.group = Some((current.group.clone(), g.clone()));
    }
    Ok(plan)
}

/// The commands that carry out `plan` on `path`, joined with `&&` (empty if nothing to do).
pub(crate) fn attr_commands(path: &str, plan: &AttrPlan) -> Cmd {
    let mut c = Cmd::empty();
    let mut first = true;
    let mut sep = |c: &mut Cmd| {
        if !first {
            c.raw("&&");
        }
        first = false;
    };
    if let Some((_, owner)) = &plan.owner {
        sep(&mut c);
        c.arg("chown");
        if plan.no_dereference {
            c.arg("-h");
        }
        c.arg("--").arg(owner).arg(path);
    }
    if let Some((_, group)) = &plan.group {
        sep(&mut c);
        c.arg("chgrp");
        if plan.no_dereference {
            c.arg("-h");
        }
        c.arg("--").arg(group).arg(path);
    }
    if let Some((_, bits)) = plan.mode {
        sep(&mut c);
        c.arg("chmod")
            .arg("--")
            .arg(&format!("{bits:05o}"))
            .arg(path);
    }
    c
}

/// Applies chmod/chown/chgrp in one round trip.
pub async fn apply_attrs(
    ctx: &ModuleContext<'_>,
    path: &str,
    plan: &AttrPlan,
) -> Result<(), RemoteError> {
    if plan.is_empty() {
        return Ok(());
    }
    let cmd = attr_commands(path, plan).into_string();
    let out = run(ctx, cmd, None).await?;
    if out.rc != 0 {
        return Err(host_error(
            &format!("cannot set the mode or owner of {path}"),
            &out,
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A [`ModuleContext`] on the local connection for tests.

    use std::path::Path;

    use indexmap::IndexMap;

    use crate::connection::Connection;
    use crate::connection::local::LocalConnection;
    use crate::modules::search::TaskFiles;
    use crate::modules::{ModuleContext, TemplateRenderer};

    /// Renders templates by replacing `{{ name }}` with a fixed value: enough to prove the
    /// template module renders before it writes.
    pub struct Subst(pub Vec<(String, String)>);

    impl TemplateRenderer for Subst {
        fn render_file(&self, path: &Path) -> Result<String, String> {
            let mut text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read template {}: {e}", path.display()))?;
            for (k, v) in &self.0 {
                text = text.replace(&format!("{{{{ {k} }}}}"), v);
            }
            if text.contains("{{") {
                return Err(format!("{}:1:1: undefined variable", path.display()));
            }
            Ok(text)
        }
    }

    /// A file name (no `/`) that a shell would misread if it were ever pasted unquoted; a
    /// shell that ran it would create `jig-files-pwned` in the working directory.
    pub(crate) const HOSTILE: &str =
        "we ird 'q' \"d\" $(touch jig-files-pwned) `touch jig-files-pwned`\nnewline ünï ✓";
    /// Content that would create [`PWNED`] if it were ever run by a shell.
    pub(crate) const HOSTILE_TEXT: &str =
        "x $(touch /tmp/jig-files-pwned) `touch /tmp/jig-files-pwned` 'q' \"d\"\nünï ✓\n";
    /// Created only if a hostile value was run by a shell.
    pub(crate) const PWNED: &str = "/tmp/jig-files-pwned";

    /// Asserts that no hostile value was run by a shell.
    pub(crate) fn assert_not_pwned() {
        assert!(!std::path::Path::new(PWNED).exists());
        assert!(!std::path::Path::new("jig-files-pwned").exists());
    }

    /// The test process's umask, read without changing it.
    pub(crate) fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
    }

    /// Temporary files `write_file` left in `dir` (there must be none).
    pub(crate) fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".jig."))
            .collect()
    }

    thread_local! {
        /// Round trips made through [`super::run`] on this thread (tokio tests run on one).
        pub(crate) static EXECS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// Round trips made on this thread since the last call.
    pub(crate) fn take_execs() -> usize {
        EXECS.with(|n| n.replace(0))
    }

    /// Everything a test context borrows.
    pub struct Env {
        pub conn: Connection,
        pub env: IndexMap<String, String>,
        pub files: TaskFiles,
        pub templates: Subst,
        pub known: crate::modules::known::KnownFiles,
        pub predicted: crate::modules::predict::Prediction,
    }

    impl Env {
        pub fn new(root: &Path) -> Self {
            Env {
                conn: Connection::Local(LocalConnection::new("testhost")),
                env: IndexMap::new(),
                // A playbook in `root`: its `files/` and `templates/` are searched.
                files: TaskFiles {
                    role_path: None,
                    playbook_dir: root.to_path_buf(),
                    task_dir: None,
                },
                templates: Subst(vec![("name".into(), "wörld $(x) 'q'".into())]),
                known: Default::default(),
                predicted: Default::default(),
            }
        }

        pub fn ctx(&self, check: bool, diff: bool) -> ModuleContext<'_> {
            ModuleContext {
                conn: &self.conn,
                host: "testhost",
                check_mode: check,
                diff_mode: diff,
                become_: None,
                environment: &self.env,
                files: &self.files,
                templates: &self.templates,
                known: &self.known,
                predicted: &self.predicted,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{Env, HOSTILE, HOSTILE_TEXT, assert_not_pwned, leftovers, umask};
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

    #[tokio::test]
    async fn stat_reads_hostile_names_and_links() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let f = tmp.path().join(HOSTILE);
        std::fs::write(&f, b"hello").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o4751)).unwrap();
        let st = stat(&ctx, f.to_str().unwrap(), false)
            .await
            .unwrap()
            .unwrap();
        let md = std::fs::metadata(&f).unwrap();
        assert_eq!(st.kind, FileKind::File);
        assert_eq!(st.mode, 0o4751);
        assert_eq!(st.size, 5);
        assert_eq!(st.uid, md.uid());
        assert_eq!(st.inode, md.ino());
        assert_eq!(st.nlink, 1);
        assert!((st.mtime - md.mtime() as f64).abs() < 1.0);

        let target = format!("../target\n{HOSTILE}\n");
        let l = tmp.path().join("link ✓");
        symlink(&target, &l).unwrap();
        let st = stat(&ctx, l.to_str().unwrap(), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(st.kind, FileKind::Link);
        assert_eq!(st.link_target.as_deref(), Some(target.as_str()));
        // Followed, the dangling link is absent.
        assert_eq!(stat(&ctx, l.to_str().unwrap(), true).await.unwrap(), None);
        let missing = tmp.path().join("nope").join("x");
        assert_eq!(
            stat(&ctx, missing.to_str().unwrap(), false).await.unwrap(),
            None
        );
        assert_not_pwned();
    }

    #[tokio::test]
    async fn read_file_and_sha256() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let f = tmp.path().join(HOSTILE);
        let content = format!("line one\n{HOSTILE}\0binary\n\n").into_bytes();
        std::fs::write(&f, &content).unwrap();
        let (st, data) = read_file(&ctx, f.to_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(data, content);
        assert_eq!(st.size, content.len() as u64);
        let digest = sha256(&ctx, f.to_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(
            digest,
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&content))
        );

        let missing = tmp.path().join("missing");
        assert!(
            read_file(&ctx, missing.to_str().unwrap())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            sha256(&ctx, missing.to_str().unwrap())
                .await
                .unwrap()
                .is_none()
        );
        let e = read_file(&ctx, tmp.path().to_str().unwrap())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        // Through a symlink, the target's content.
        let l = tmp.path().join("l");
        symlink(&f, &l).unwrap();
        let (_, data) = read_file(&ctx, l.to_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(data, content);
        // An empty file is present and empty.
        let empty = tmp.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        let (_, data) = read_file(&ctx, empty.to_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(data.is_empty());
    }

    #[tokio::test]
    async fn write_file_is_atomic_and_sets_attributes() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let f = tmp.path().join(HOSTILE);
        let p = f.to_str().unwrap();
        let attrs = FileAttrs {
            mode: Some(Mode::parse("0640").unwrap()),
            owner: Some("root".into()),
            group: Some("0".into()),
        };
        let content = format!("{HOSTILE}\n{HOSTILE_TEXT}").into_bytes();
        let out = write_file(&ctx, p, &content, &attrs, &WriteOptions::default())
            .await
            .unwrap();
        assert_eq!(out.backup_file, None);
        assert_eq!(std::fs::read(&f).unwrap(), content);
        let md = std::fs::metadata(&f).unwrap();
        assert_eq!(md.mode() & 0o7777, 0o640);
        assert!(leftovers(tmp.path()).is_empty());
        assert_not_pwned();

        // Without a mode the old mode stays; a symbolic mode applies relative to it.
        let keep = FileAttrs::default();
        write_file(&ctx, p, b"two", &keep, &WriteOptions::default())
            .await
            .unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
        let sym = FileAttrs {
            mode: Some(Mode::parse("u+x,o+r").unwrap()),
            ..FileAttrs::default()
        };
        write_file(&ctx, p, b"three", &sym, &WriteOptions::default())
            .await
            .unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o7777, 0o744);

        // A new file without a mode gets 0666 & ~umask.
        let n = tmp.path().join("new");
        write_file(
            &ctx,
            n.to_str().unwrap(),
            b"",
            &keep,
            &WriteOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::metadata(&n).unwrap().mode() & 0o777,
            0o666 & !umask()
        );
    }

    #[tokio::test]
    async fn failed_validate_keeps_the_old_file() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let f = tmp.path().join("sudoers 'x'");
        std::fs::write(&f, b"old\n").unwrap();
        let p = f.to_str().unwrap();
        let opts = WriteOptions {
            validate: Some("grep -q 'good line' %s".into()),
            ..WriteOptions::default()
        };
        let e = write_file(
            &ctx,
            p,
            format!("bad {HOSTILE_TEXT}").as_bytes(),
            &FileAttrs::default(),
            &opts,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("failed to validate"), "{e}");
        assert!(e.to_string().contains("untouched"), "{e}");
        assert_eq!(std::fs::read(&f).unwrap(), b"old\n");
        assert!(leftovers(tmp.path()).is_empty());
        assert_not_pwned();

        write_file(&ctx, p, b"a good line\n", &FileAttrs::default(), &opts)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"a good line\n");

        // %s inside a word, and a validator that sees the exact temporary file.
        let opts = WriteOptions {
            validate: Some("sh -c 'test -s \"$0\"' --file=%s".into()),
            ..WriteOptions::default()
        };
        let e = write_file(&ctx, p, b"x", &FileAttrs::default(), &opts)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("failed to validate"), "{e}");
        let bad = WriteOptions {
            validate: Some("visudo -c".into()),
            ..WriteOptions::default()
        };
        assert!(
            write_file(&ctx, p, b"x", &FileAttrs::default(), &bad)
                .await
                .is_err()
        );
        assert_eq!(std::fs::read(&f).unwrap(), b"a good line\n");
    }

    #[tokio::test]
    async fn backups_links_and_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let f = tmp.path().join("conf ünï");
        std::fs::write(&f, b"old\n").unwrap();
        let opts = WriteOptions {
            backup: true,
            ..WriteOptions::default()
        };
        let out = write_file(
            &ctx,
            f.to_str().unwrap(),
            b"new\n",
            &FileAttrs::default(),
            &opts,
        )
        .await
        .unwrap();
        let b = out.backup_file.unwrap();
        assert!(
            b.starts_with(f.to_str().unwrap()) && b.ends_with('~'),
            "{b}"
        );
        let stamp = regex::Regex::new(r"\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$").unwrap();
        assert!(stamp.is_match(&b), "{b}");
        assert_eq!(std::fs::read(&b).unwrap(), b"old\n");
        assert_eq!(std::fs::read(&f).unwrap(), b"new\n");

        // write_file follows a link; write_file_at(.., false) replaces it.
        let l = tmp.path().join("link");
        symlink(&f, &l).unwrap();
        let lp = l.to_str().unwrap();
        write_file(
            &ctx,
            lp,
            b"via link\n",
            &FileAttrs::default(),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
        assert!(
            std::fs::symlink_metadata(&l)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&f).unwrap(), b"via link\n");
        write_file_at(
            &ctx,
            lp,
            b"own\n",
            &FileAttrs::default(),
            &WriteOptions::default(),
            false,
        )
        .await
        .unwrap();
        assert!(std::fs::symlink_metadata(&l).unwrap().file_type().is_file());
        assert_eq!(std::fs::read(&f).unwrap(), b"via link\n");

        let missing = tmp.path().join("no dir").join("f");
        let e = write_file(
            &ctx,
            missing.to_str().unwrap(),
            b"",
            &FileAttrs::default(),
            &opts,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let e = write_file(
            &ctx,
            tmp.path().to_str().unwrap(),
            b"",
            &FileAttrs::default(),
            &opts,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let bad_owner = FileAttrs {
            owner: Some("no such user here".into()),
            ..FileAttrs::default()
        };
        let e = write_file(
            &ctx,
            f.to_str().unwrap(),
            b"zz",
            &bad_owner,
            &WriteOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("invalid user"), "{e}");
        assert_eq!(std::fs::read(&f).unwrap(), b"via link\n");
        assert!(leftovers(tmp.path()).is_empty());
    }

    #[tokio::test]
    async fn scripts_beyond_the_argument_limit_travel_on_stdin() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        // One 300 KiB argument: more than Linux lets `sh -c` take (128 KiB per argument).
        let big = format!("{HOSTILE_TEXT}{}", "x".repeat(300 * 1024));
        let cmd = script(&[&big], r#"printf '%s' "$1" | wc -c; cat"#);
        assert!(cmd.len() > 300 * 1024);
        let out = run(&ctx, cmd, Some(b"after the script\n".to_vec()))
            .await
            .unwrap();
        assert_eq!(out.rc, 0, "{}", out.stderr_str());
        assert_eq!(
            out.stdout_str(),
            format!("{}\nafter the script\n", big.len())
        );
        assert_not_pwned();
    }

    #[test]
    fn diffs_summarise_binary_and_large_content() {
        match content_diff("/etc/a", "src", Some(b"old\n"), b"new\n") {
            Diff::Text {
                before,
                after,
                before_header,
                ..
            } => {
                assert_eq!((before.as_str(), after.as_str()), ("old\n", "new\n"));
                assert_eq!(before_header, "/etc/a");
            }
            d => panic!("{d:?}"),
        }
        assert!(matches!(
            content_diff("/bin/x", "src", None, b"\x7fELF\0\xff"),
            Diff::Summary(s) if s.contains("binary")
        ));
        let big = vec![b'a'; DIFF_MAX_BYTES + 1];
        assert!(matches!(
            content_diff("/big", "src", Some(b"small"), &big),
            Diff::Summary(s) if s.contains("too large")
        ));
    }

    #[tokio::test]
    async fn attributes_are_planned_then_applied() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let d = tmp.path().join("dir $(x)");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        let p = d.to_str().unwrap();
        let st = stat(&ctx, p, false).await.unwrap().unwrap();
        let wanted = FileAttrs {
            mode: Some(Mode::parse("a+rX").unwrap()),
            owner: Some("0".into()),
            group: Some("root".into()),
        };
        let plan = attr_changes(&st, &wanted).unwrap();
        assert_eq!(plan.mode, Some((0o700, 0o755)));
        assert_eq!(plan.owner, None);
        assert_eq!(plan.group, None);
        let (mut before, mut after) = (IndexMap::new(), IndexMap::new());
        plan.add_to_diff(&mut before, &mut after);
        assert_eq!(before["mode"], "0700");
        assert_eq!(after["mode"], "0755");
        apply_attrs(&ctx, p, &plan).await.unwrap();
        let st = stat(&ctx, p, false).await.unwrap().unwrap();
        assert_eq!(st.mode, 0o755);
        assert!(attr_changes(&st, &wanted).unwrap().is_empty());

        let nobody = FileAttrs {
            owner: Some("nobody".into()),
            ..FileAttrs::default()
        };
        let plan = attr_changes(&st, &nobody).unwrap();
        assert_eq!(plan.owner, Some(("root".into(), "nobody".into())));
        apply_attrs(&ctx, p, &plan).await.unwrap();
        let st = stat(&ctx, p, false).await.unwrap().unwrap();
        assert_eq!(st.owner, "nobody");
        let e = apply_attrs(
            &ctx,
            p,
            &AttrPlan {
                group: Some(("root".into(), "no such group".into())),
                ..AttrPlan::default()
            },
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("invalid group"), "{e}");
    }
}

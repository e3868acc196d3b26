//! The `command`, `shell` and `raw` modules: run a user's command on the host.
//!
//! - `command` runs a program with arguments and no shell: free-form text is split into words
//!   with Python's `shlex` rules, and each word is quoted again with [`quote`] so that `|`, `>`,
//!   `;` or `$(...)` reach the program as plain arguments. As in Ansible, `$VAR`/`${VAR}` set in
//!   the host's environment and a leading `~` are expanded in each word (`expand_argument_vars`),
//!   by the host's shell from a variable, never by pasting the word into the script.
//! - `shell` hands the text to `/bin/sh -c` (or `executable -c`): shell syntax is what the user
//!   asked for, and the text still travels as one quoted word.
//! - `raw` sends the text to the connection as it is (that is its purpose), or to
//!   `executable -c`.
//!
//! `chdir`, `creates`, `removes` (globs, with `~` and `$VAR` expanded on the host), the task's
//! `environment` and the command itself go to the host in one script, one round trip. When
//! the script stops before the command (a missing directory, `creates` found) it says so on
//! stdout after a random token the command can never print, since it has not run.
//! Results (`cmd`, `rc`, `stdout`, `stderr`, `*_lines`, `start`, `end`, `delta`, `msg`) and
//! check-mode behaviour follow ansible.builtin.command 2.19.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{ArgError, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::{Cmd, ExecOutput, ExecRequest, quote};

/// The `command` module.
pub struct Command;
/// The `shell` module.
pub struct Shell;
/// The `raw` module.
pub struct Raw;

#[async_trait]
impl Module for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        run_command(args, ctx, false).await
    }
}

#[async_trait]
impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        run_command(args, ctx, true).await
    }
}

#[async_trait]
impl Module for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        run_raw(args, ctx).await
    }
}

/// Splits free-form text into words as Python's `shlex.split` does (POSIX mode, no comments):
/// whitespace is space, tab, CR, LF; `'...'` is literal; in `"..."` a backslash escapes only
/// `"` and `\`; outside quotes a backslash escapes any character; `#` is an ordinary character.
pub fn shlex_split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                let n = chars.next().ok_or("No escaped character")?;
                word.push(n);
                in_word = true;
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\')) => word.push(n),
                            Some(n) => {
                                word.push('\\');
                                word.push(n);
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(ch) => word.push(ch),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Python's `str.splitlines()`: the separators it knows, none kept.
pub fn python_splitlines(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(std::mem::take(&mut cur));
            }
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A portable shell variable name (safe to write into a script as it is).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Writes shell statements that set `var` to `value` with Python's
/// `os.path.expanduser(os.path.expandvars(value))` done by the host's shell: `$NAME` and
/// `${NAME}` are replaced when NAME is set and kept as text otherwise; a leading `~` or
/// `~user` is the home directory. Every literal piece goes through [`quote`]; only validated
/// identifiers and jig's own syntax are written bare.
pub(crate) fn assign_expanded(var: &str, value: &str, out: &mut String) {
    let mut rest = value;
    let mut start = String::new();
    if let Some(after) = value.strip_prefix('~') {
        let end = after.find('/').unwrap_or(after.len());
        let user = &after[..end];
        if user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            // Tilde expansion happens on an unquoted `~user` at the start of an assignment.
            start = format!("~{user}");
            rest = &after[end..];
        }
    }
    let _ = writeln!(out, "{var}={start}");
    let mut literal = String::new();
    let flush = |literal: &mut String, out: &mut String| {
        if !literal.is_empty() {
            let _ = writeln!(out, "{var}=\"${var}\"{}", quote(literal));
            literal.clear();
        }
    };
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < rest.len() {
        if bytes[i] == b'$' {
            // Python's pattern: \$(\w+|\{[^}]*\}) with ASCII \w.
            let after = &rest[i + 1..];
            let (name, len) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(close) => (Some(&inner[..close]), close + 2),
                    None => (None, 0),
                }
            } else {
                let n = after
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    .count();
                (if n > 0 { Some(&after[..n]) } else { None }, n)
            };
            if let Some(name) = name {
                let text = &rest[i..i + 1 + len];
                if is_identifier(name) {
                    flush(&mut literal, out);
                    let _ = writeln!(
                        out,
                        "if [ -n \"${{{name}+x}}\" ]; then {var}=\"${var}${{{name}}}\"; \
                         else {var}=\"${var}\"{}; fi",
                        quote(text)
                    );
                } else {
                    // Not a name the shell can hold, so never set: kept as text, like Python.
                    literal.push_str(text);
                }
                i += 1 + len;
                continue;
            }
        }
        let ch = rest[i..].chars().next().unwrap_or('$');
        literal.push(ch);
        i += ch.len_utf8();
    }
    flush(&mut literal, out);
}

/// Whether a value would be changed by [`assign_expanded`] at all.
pub(crate) fn needs_expansion(value: &str) -> bool {
    value.starts_with('~') || value.contains('$')
}

/// Writes `export NAME='value'` lines for the task's `environment`; a name the shell cannot
/// hold is an error.
pub(crate) fn export_environment(
    env: &indexmap::IndexMap<String, String>,
    out: &mut String,
) -> Result<(), String> {
    for (k, v) in env {
        if !is_identifier(k) {
            return Err(format!(
                "environment variable name '{k}' is not valid (letters, digits and _ only, \
                 not starting with a digit)"
            ));
        }
        let _ = writeln!(out, "export {k}={}", quote(v));
    }
    Ok(())
}

/// What runs after the checks.
#[derive(Debug, Clone, PartialEq)]
enum Program {
    /// `command`: a program and its arguments, each expanded (or not) on its own.
    Argv { argv: Vec<String>, expand: bool },
    /// `shell`: the text for `executable -c`.
    Shell { text: String, executable: String },
}

/// The options shared by `command` and `shell`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Options {
    chdir: Option<String>,
    creates: Option<String>,
    removes: Option<String>,
}

/// Builds the host script: environment, `chdir`, `creates`/`removes`, then the program (or,
/// without one, a report that it would run).
fn script(
    token: &str,
    env: &indexmap::IndexMap<String, String>,
    opts: &Options,
    program: Option<&Program>,
) -> Result<String, String> {
    let mut s = String::new();
    export_environment(env, &mut s)?;
    let tok = quote(token);
    if let Some(dir) = &opts.chdir {
        assign_expanded("_jig_d", dir, &mut s);
        let _ = writeln!(
            s,
            "if ! cd -- \"$_jig_d\" 2>/dev/null; then \
             if [ ! -e \"$_jig_d\" ]; then _jig_e=2; elif [ ! -d \"$_jig_d\" ]; then _jig_e=20; \
             else _jig_e=13; fi; \
             printf '%s\\0chdir\\0%s\\0%s\\0' {tok} \"$_jig_e\" \"$_jig_d\"; exit 0; fi"
        );
    }
    // A glob that matches an existing path (even a dangling link), as Python's glob.glob.
    let glob_test = "( IFS=; for _jig_g in $_jig_p; do \
                     if [ -e \"$_jig_g\" ] || [ -L \"$_jig_g\" ]; then exit 0; fi; done; exit 1 )";
    if let Some(creates) = &opts.creates {
        assign_expanded("_jig_p", creates, &mut s);
        let _ = writeln!(
            s,
            "if {glob_test}; then printf '%s\\0creates\\0%s\\0' {tok} \"$_jig_p\"; exit 0; fi"
        );
    }
    if let Some(removes) = &opts.removes {
        assign_expanded("_jig_p", removes, &mut s);
        let _ = writeln!(
            s,
            "if ! {glob_test}; then printf '%s\\0removes\\0%s\\0' {tok} \"$_jig_p\"; exit 0; fi"
        );
    }
    match program {
        None => {
            let _ = writeln!(s, "printf '%s\\0would-run\\0' {tok}");
        }
        Some(Program::Argv { argv, expand }) => {
            let mut line = Cmd::empty();
            line.raw("exec");
            for (i, word) in argv.iter().enumerate() {
                if *expand && needs_expansion(word) {
                    let var = format!("_jig_a{i}");
                    assign_expanded(&var, word, &mut s);
                    line.raw(&format!("\"${var}\""));
                } else {
                    line.arg(word);
                }
            }
            s.push_str(line.as_str());
        }
        Some(Program::Shell { text, executable }) => {
            let mut line = Cmd::empty();
            line.raw("exec").arg(executable).arg("-c").arg(text);
            s.push_str(line.as_str());
        }
    }
    Ok(s)
}

/// How the script stopped before the program ran, read from its stdout.
#[derive(Debug, PartialEq)]
enum Early {
    Chdir { errno: i32, dir: String },
    Creates(String),
    Removes(String),
    WouldRun,
}

fn parse_early(token: &str, stdout: &[u8]) -> Option<Early> {
    let text = String::from_utf8_lossy(stdout);
    let mut fields = text.split('\0');
    if fields.next()? != token {
        return None;
    }
    match fields.next()? {
        "chdir" => Some(Early::Chdir {
            errno: fields.next()?.parse().ok()?,
            dir: fields.next()?.to_string(),
        }),
        "creates" => Some(Early::Creates(fields.next()?.to_string())),
        "removes" => Some(Early::Removes(fields.next()?.to_string())),
        "would-run" => Some(Early::WouldRun),
        _ => None,
    }
}

/// Python's `str(datetime.now())`, in the controller's local time.
pub(crate) fn python_datetime(t: SystemTime) -> String {
    let since = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = since.as_secs() as libc::time_t;
    let micros = since.subsec_micros();
    // SAFETY: localtime_r only writes the `tm` we own; a zeroed tm is a valid initial value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = !unsafe { libc::localtime_r(&secs, &mut tm) }.is_null();
    let base = if ok {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        )
    } else {
        format!("@{secs}")
    };
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    }
}

/// Python's `str(timedelta)`: `H:MM:SS.ffffff`, with `N day(s), ` in front when long.
fn python_timedelta(d: Duration) -> String {
    let total = d.as_secs();
    let days = total / 86_400;
    let rest = total % 86_400;
    let mut s = String::new();
    if days > 0 {
        let _ = write!(s, "{days} day{}, ", if days == 1 { "" } else { "s" });
    }
    let _ = write!(
        s,
        "{}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if d.subsec_micros() > 0 {
        let _ = write!(s, ".{:06}", d.subsec_micros());
    }
    s
}

/// Python's `shlex.join`, which Ansible uses for the `cmd` of a command that could not start:
/// words of `\w@%+=:,./-` bare, others single-quoted with `'` written `'"'"'`.
fn python_shlex_join(argv: &[String]) -> String {
    let word = |w: &String| {
        if !w.is_empty()
            && w.chars()
                .all(|c| c.is_alphanumeric() || "_@%+=:,./-".contains(c))
        {
            w.clone()
        } else {
            format!("'{}'", w.replace('\'', "'\"'\"'"))
        }
    };
    argv.iter().map(word).collect::<Vec<_>>().join(" ")
}

/// The result keys every command result has (Ansible's "always" keys).
fn base_result(cmd: Json) -> ModuleResult {
    let mut r = ModuleResult::default();
    for (k, v) in [
        ("cmd", cmd),
        ("rc", Json::Null),
        ("stdout", Json::from("")),
        ("stderr", Json::from("")),
        // Ansible's result has the line lists even when the command did not run (check mode).
        ("stdout_lines", Json::Array(Vec::new())),
        ("stderr_lines", Json::Array(Vec::new())),
        ("start", Json::Null),
        ("end", Json::Null),
        ("delta", Json::Null),
        ("msg", Json::from("")),
    ] {
        r.set(k, v);
    }
    r.msg = Some(String::new());
    r
}

fn set_output(r: &mut ModuleResult, stdout: String, stderr: String) {
    r.set("stdout_lines", lines_json(&stdout));
    r.set("stderr_lines", lines_json(&stderr));
    r.set("stdout", stdout);
    r.set("stderr", stderr);
}

fn lines_json(s: &str) -> Json {
    Json::Array(python_splitlines(s).into_iter().map(Json::String).collect())
}

fn set_msg(r: &mut ModuleResult, msg: impl Into<String>) {
    let msg = msg.into();
    r.set("msg", msg.clone());
    r.msg = Some(msg);
}

/// Arguments `command` and `shell` accept.
const KNOWN: &[&str] = &[
    "_raw_params",
    "_uses_shell",
    "cmd",
    "argv",
    "chdir",
    "executable",
    "expand_argument_vars",
    "creates",
    "removes",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
    // Removed in Ansible 2.14 but still common in roles; accepted and ignored.
    "warn",
];

fn arg_error(args: &ModuleArgs, e: impl Into<String>) -> ModuleError {
    ModuleError::Args(args.error(e))
}

async fn run_command(
    args: &ModuleArgs,
    ctx: &ModuleContext<'_>,
    shell: bool,
) -> Result<ModuleResult, ModuleError> {
    args.check_known(KNOWN)?;
    if shell && args.get("expand_argument_vars").is_some() {
        return Err(arg_error(
            args,
            "Unsupported parameters for (shell) module: expand_argument_vars",
        ));
    }
    let raw = match args.get_any(&["_raw_params", "cmd"]) {
        Some((name, _)) => args.str(name)?,
        None => None,
    };
    let argv = args.list("argv")?;
    let mut warnings: Vec<String> = Vec::new();
    let executable = args.str("executable")?.filter(|e| !e.is_empty());
    if !shell && let Some(e) = &executable {
        warnings.push(format!(
            "As of Ansible 2.4, the parameter 'executable' is no longer supported with the \
             'command' module. Not using '{e}'."
        ));
    }
    let raw_empty = raw.as_deref().is_none_or(|r| r.trim().is_empty());
    let argv_empty = argv.as_ref().is_none_or(Vec::is_empty);
    if raw_empty && argv_empty {
        let mut r = base_result(Json::Null);
        r.failed = true;
        r.set("rc", 256);
        set_msg(&mut r, "no command given");
        return Ok(r);
    }
    if !raw_empty && !argv_empty {
        let mut r = base_result(Json::Null);
        r.failed = true;
        r.set("rc", 256);
        set_msg(&mut r, "only command or argv can be given, not both");
        return Ok(r);
    }
    let (program, cmd_json) = if shell {
        let text = match (&raw, &argv) {
            (Some(r), _) if !raw_empty => r.clone(),
            // Ansible joins argv for the shell with spaces, as the list's text.
            (_, Some(a)) => a.join(" "),
            _ => String::new(),
        };
        let executable = executable.clone().unwrap_or_else(|| "/bin/sh".into());
        (
            Program::Shell {
                text: text.clone(),
                executable,
            },
            Json::String(text),
        )
    } else {
        let words = match (&raw, argv) {
            (Some(r), _) if !raw_empty => shlex_split(r).map_err(|e| {
                arg_error(args, format!("cannot split the command into words: {e}"))
            })?,
            (_, Some(a)) => a,
            _ => Vec::new(),
        };
        let expand = args.bool_or("expand_argument_vars", true)?;
        let json = Json::Array(words.iter().cloned().map(Json::String).collect());
        (
            Program::Argv {
                argv: words,
                expand,
            },
            json,
        )
    };
    let opts = Options {
        chdir: args.str("chdir")?.filter(|s| !s.is_empty()),
        creates: args.str("creates")?.filter(|s| !s.is_empty()),
        removes: args.str("removes")?.filter(|s| !s.is_empty()),
    };
    let add_newline = args.bool_or("stdin_add_newline", true)?;
    let stdin = args.str("stdin")?.map(|mut s| {
        if add_newline {
            s.push('\n');
        }
        s.into_bytes()
    });
    let strip = args.bool_or("strip_empty_ends", true)?;

    let mut result = base_result(cmd_json);
    if !warnings.is_empty() {
        result.set(
            "warnings",
            Json::Array(warnings.into_iter().map(Json::String).collect()),
        );
    }
    let decides_in_check = opts.creates.is_some() || opts.removes.is_some();
    if ctx.check_mode && opts == Options::default() {
        // Nothing on the host can change the answer: no round trip.
        skip_in_check(&mut result);
        return Ok(result);
    }

    if ctx.check_mode {
        match predicted_guard(ctx, &opts) {
            Some(Guard::Skip { path, exists: true }) => {
                set_msg(
                    &mut result,
                    format!("Would not run command since '{path}' exists"),
                );
                result.set("stdout", format!("skipped, since {path} exists"));
                result.set("rc", 0);
                return Ok(result);
            }
            Some(Guard::Skip {
                path,
                exists: false,
            }) => {
                set_msg(
                    &mut result,
                    format!("Would not run command since '{path}' does not exist"),
                );
                result.set("stdout", format!("skipped, since {path} does not exist"));
                result.set("rc", 0);
                return Ok(result);
            }
            Some(Guard::Run) => {
                predict_ran(ctx, &opts);
                result.changed = true;
                result.set("rc", 0);
                set_msg(&mut result, WOULD_RUN);
                return Ok(result);
            }
            None => {}
        }
    }
    let token = format!("JIG-{}", uuid::Uuid::new_v4().simple());
    let body = script(
        &token,
        ctx.environment,
        &opts,
        (!ctx.check_mode).then_some(&program),
    )
    .map_err(|e| arg_error(args, e))?;
    let mut req = ExecRequest::new(body).with_become(ctx.become_.clone());
    if !ctx.check_mode {
        req.stdin = stdin;
    }
    let start = SystemTime::now();
    let out = ctx.conn.exec(&req).await?;
    let end = SystemTime::now();

    let shoulda = if ctx.check_mode { "Would" } else { "Did" };
    match parse_early(&token, &out.stdout) {
        Some(Early::Chdir { errno, dir }) => {
            let reason = match errno {
                2 => "No such file or directory",
                20 => "Not a directory",
                _ => "Permission denied",
            };
            result.failed = true;
            set_msg(
                &mut result,
                format!(
                    "Unable to change directory before execution: [Errno {errno}] {reason}: \
                     b'{dir}'"
                ),
            );
            Ok(result)
        }
        Some(Early::Creates(path)) => {
            set_msg(
                &mut result,
                format!("{shoulda} not run command since '{path}' exists"),
            );
            result.set("stdout", format!("skipped, since {path} exists"));
            result.set("rc", 0);
            Ok(result)
        }
        Some(Early::Removes(path)) => {
            set_msg(
                &mut result,
                format!("{shoulda} not run command since '{path}' does not exist"),
            );
            result.set("stdout", format!("skipped, since {path} does not exist"));
            result.set("rc", 0);
            Ok(result)
        }
        Some(Early::WouldRun) if decides_in_check => {
            predict_ran(ctx, &opts);
            result.changed = true;
            result.set("rc", 0);
            set_msg(&mut result, WOULD_RUN);
            Ok(result)
        }
        Some(Early::WouldRun) => {
            skip_in_check(&mut result);
            Ok(result)
        }
        None => {
            finish_run(&mut result, &program, out, start, end, strip);
            Ok(result)
        }
    }
}

/// What check mode's prediction decides of a `creates`/`removes` guard.
#[derive(Debug, PartialEq)]
enum Guard {
    /// The command would not run: the guard's path would exist (`creates`) or would not
    /// (`removes`).
    Skip { path: String, exists: bool },
    /// The prediction says the command would run.
    Run,
}

/// Decides `creates` and `removes` from what earlier tasks of a check run would have done
/// (see [`super::predict`]); `None` when the prediction knows nothing of a guard's path (or
/// it is a pattern or relative to `chdir`), so the host decides as usual.
fn predicted_guard(ctx: &ModuleContext<'_>, opts: &Options) -> Option<Guard> {
    use super::predict::Predicted;
    let plain = |p: &str| p.starts_with('/') && !p.contains(['*', '?', '[']);
    let mut decided = false;
    if let Some(c) = opts.creates.as_deref().filter(|p| plain(p)) {
        match ctx.predicted.follow(c)? {
            Predicted::Present(_) => {
                return Some(Guard::Skip {
                    path: c.to_string(),
                    exists: true,
                });
            }
            Predicted::Absent => decided = true,
        }
    } else if opts.creates.is_some() {
        return None;
    }
    if let Some(r) = opts.removes.as_deref() {
        if !plain(r) {
            return None;
        }
        match ctx.predicted.follow(r)? {
            Predicted::Absent => {
                return Some(Guard::Skip {
                    path: r.to_string(),
                    exists: false,
                });
            }
            Predicted::Present(_) => decided = true,
        }
    }
    decided.then_some(Guard::Run)
}

/// A guarded command that would run in check mode is assumed to do what its guard says: the
/// `creates` path then exists (as a file whose content jig cannot know), the `removes` path
/// is gone.
fn predict_ran(ctx: &ModuleContext<'_>, opts: &Options) {
    let plain = |p: &&String| p.starts_with('/') && !p.contains(['*', '?', '[']);
    if let Some(c) = opts.creates.as_ref().filter(plain) {
        ctx.predicted
            .put_file(c, None, 0, &super::remote::FileAttrs::default(), None);
    }
    if let Some(r) = opts.removes.as_ref().filter(plain) {
        ctx.predicted.put_absent(r);
    }
}

/// The message of a command that check mode skips (Ansible's words); the executor counts
/// such results as "would run" in the recap.
pub const WOULD_RUN: &str = "Command would have run if not in check mode";

fn skip_in_check(result: &mut ModuleResult) {
    result.skipped = true;
    result.changed = false;
    result.set("rc", 0);
    set_msg(result, WOULD_RUN);
}

/// Fills in a result from a command that ran.
fn finish_run(
    result: &mut ModuleResult,
    program: &Program,
    out: ExecOutput,
    start: SystemTime,
    end: SystemTime,
    strip: bool,
) {
    result.changed = true;
    let mut rc = out.rc;
    let mut stdout = out.stdout_str();
    let mut stderr = out.stderr_str();
    // `exec` reports a program it cannot find (127) or cannot execute (126) itself; Python's
    // subprocess raises ENOENT/EACCES instead, which Ansible reports with these rc.
    if let Program::Argv { argv, .. } = program
        && stdout.is_empty()
        && stderr.contains("exec: ")
    {
        let err = stderr.trim_end();
        let errno = match rc {
            127 if err.ends_with("not found") => Some(2),
            126 if err.ends_with("Permission denied") => Some(13),
            _ => None,
        };
        if let Some(errno) = errno {
            // ansible 2.19's `run_command` fails before the program runs: not changed, no
            // timings, `cmd` as one shell-quoted line, and a fixed message; the OSError is
            // only the cause its `[ERROR]` line chains on, in no result key.
            result.changed = false;
            result.failed = true;
            result.set("rc", errno);
            result.set("cmd", python_shlex_join(argv));
            for k in ["start", "end", "delta"] {
                result.values.remove(k);
            }
            set_msg(result, "Error executing command.");
            // What 2.19 registers when no traceback was asked for.
            result.set("exception", "(traceback unavailable)");
            set_output(result, String::new(), String::new());
            return;
        }
    }
    if strip {
        stdout = stdout.trim_end_matches(['\r', '\n']).to_string();
        stderr = stderr.trim_end_matches(['\r', '\n']).to_string();
    }
    if rc < 0 {
        // Killed by a signal: Python reports -signal; the connection only knows "killed".
        rc = -1;
    }
    result.set("rc", rc);
    result.set("start", python_datetime(start));
    result.set("end", python_datetime(end));
    result.set(
        "delta",
        python_timedelta(end.duration_since(start).unwrap_or(Duration::ZERO)),
    );
    set_output(result, stdout, stderr);
    if rc != 0 {
        result.failed = true;
        set_msg(result, "non-zero return code");
    }
}

/// `raw`: the text as is, through the connection's shell (or `executable -c`). Check mode
/// skips it; `environment` does not apply (as in Ansible, which warns).
async fn run_raw(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
    args.check_known(&["_raw_params", "executable"])?;
    let text = args.str("_raw_params")?.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ModuleError::Args(ArgError::Missing {
            module: "raw".into(),
            name: "_raw_params (the command to run)".into(),
        }));
    }
    let mut result = ModuleResult::default();
    if !ctx.environment.is_empty() {
        result.set(
            "warnings",
            Json::Array(vec![Json::from(
                "raw module does not support the environment keyword",
            )]),
        );
    }
    if ctx.check_mode {
        result.skipped = true;
        return Ok(result);
    }
    let line = match args.str("executable")?.filter(|e| !e.is_empty()) {
        Some(exe) => {
            let mut c = Cmd::new(&exe);
            c.arg("-c").arg(&text);
            c.into_string()
        }
        // The user's own shell code: raw exists to send it unchanged.
        None => text,
    };
    let out = ctx
        .conn
        .exec(&ExecRequest::new(line).with_become(ctx.become_.clone()))
        .await?;
    result.changed = true;
    result.set("rc", out.rc);
    set_output(&mut result, out.stdout_str(), out.stderr_str());
    if out.rc != 0 {
        result.failed = true;
        result.msg = Some("non-zero return code".into());
        result.set("msg", "non-zero return code");
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlex_matches_python() {
        // Expected values from Python's shlex.split.
        let cases: &[(&str, &[&str])] = &[
            ("echo hello world", &["echo", "hello", "world"]),
            ("echo 'a b' \"c d\"", &["echo", "a b", "c d"]),
            ("echo #not-a-comment", &["echo", "#not-a-comment"]),
            (
                r#"echo "a\"b" "a\$b" 'a\b'"#,
                &["echo", "a\"b", "a\\$b", "a\\b"],
            ),
            (r"echo a\ b \$HOME", &["echo", "a b", "$HOME"]),
            ("echo '' x\"\"y", &["echo", "", "xy"]),
            ("  ls\t-l\r\n/tmp  ", &["ls", "-l", "/tmp"]),
            ("echo a|b >c", &["echo", "a|b", ">c"]),
            ("grüße 'ü ✓'", &["grüße", "ü ✓"]),
        ];
        for (text, want) in cases {
            assert_eq!(&shlex_split(text).unwrap(), want, "{text}");
        }
        assert_eq!(shlex_split("echo 'a").unwrap_err(), "No closing quotation");
        assert_eq!(shlex_split("echo \\").unwrap_err(), "No escaped character");
    }

    #[test]
    fn splitlines_matches_python() {
        assert_eq!(
            python_splitlines("a\nb\r\nc\rd\x0ce"),
            vec!["a", "b", "c", "d", "e"]
        );
        assert_eq!(python_splitlines("a\n\nb\n"), vec!["a", "", "b"]);
        assert!(python_splitlines("").is_empty());
    }

    #[test]
    fn python_time_formats() {
        assert_eq!(
            python_timedelta(Duration::from_micros(1_234)),
            "0:00:00.001234"
        );
        assert_eq!(python_timedelta(Duration::from_secs(3_723)), "1:02:03");
        assert_eq!(
            python_timedelta(Duration::from_secs(2 * 86_400 + 5)),
            "2 days, 0:00:05"
        );
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_042);
        let s = python_datetime(t);
        assert_eq!(s.len(), "2023-11-14 22:13:20.000042".len(), "{s}");
        assert!(s.ends_with(".000042"), "{s}");
    }

    #[test]
    fn early_stops_are_read_only_after_the_token() {
        assert_eq!(
            parse_early("T", b"T\0creates\0/a b\0"),
            Some(Early::Creates("/a b".into()))
        );
        assert_eq!(
            parse_early("T", b"T\x00chdir\x0020\x00/x\x00"),
            Some(Early::Chdir {
                errno: 20,
                dir: "/x".into()
            })
        );
        assert_eq!(parse_early("T", b"creates\0/a\0"), None);
        assert_eq!(parse_early("T", b"T2\0creates\0/a\0"), None);
    }

    mod host {
        //! The modules on the local connection.

        use std::path::Path;

        use serde_json::json;

        use super::super::{Command, Raw, Shell};
        use crate::modules::remote::testutil::Env;
        use crate::modules::{Module, ModuleArgs, ModuleError, ModuleResult};

        fn args(module: &str, v: Json) -> ModuleArgs {
            ModuleArgs::new(module, v.as_object().unwrap().clone().into_iter().collect())
        }

        use serde_json::Value as Json;

        async fn run(env: &Env, module: &str, check: bool, v: Json) -> ModuleResult {
            try_run(env, module, check, v).await.unwrap()
        }

        async fn try_run(
            env: &Env,
            module: &str,
            check: bool,
            v: Json,
        ) -> Result<ModuleResult, ModuleError> {
            let a = args(module, v);
            let ctx = env.ctx(check, false);
            match module {
                "command" => Command.run(&a, &ctx).await,
                "shell" => Shell.run(&a, &ctx).await,
                _ => Raw.run(&a, &ctx).await,
            }
        }

        /// Arguments a shell would misread; `command` must pass them through unchanged.
        fn hostile(dir: &Path) -> Vec<String> {
            vec![
                "with space".into(),
                "it's \"quoted\"".into(),
                format!("$(touch {}/pwned)", dir.display()),
                format!("`touch {}/pwned`", dir.display()),
                format!("; touch {}/pwned", dir.display()),
                "a|b>c&d".into(),
                "new\nline".into(),
                "ünï ✓".into(),
                "*".into(),
                "".into(),
            ]
        }

        #[tokio::test]
        async fn command_never_runs_a_shell() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let words = hostile(tmp.path());
            let mut argv = vec!["printf".to_string(), "[%s]\\n".to_string()];
            argv.extend(words.iter().cloned());
            let r = run(&env, "command", false, json!({"argv": argv})).await;
            assert!(r.changed && !r.failed, "{r:?}");
            let want: String = words.iter().map(|w| format!("[{w}]\n")).collect();
            assert_eq!(r.values["stdout"], json!(want.trim_end_matches('\n')));
            assert_eq!(r.values["cmd"], json!(argv));
            assert!(!tmp.path().join("pwned").exists());

            // The same through free-form text: quotes group words, operators stay arguments.
            let text = format!(
                "printf '[%s]\\n' $(touch {d}/pwned) 'a b' \"it's\" '|' '>' {d}/out",
                d = tmp.path().display()
            );
            let r = run(&env, "command", false, json!({"_raw_params": text})).await;
            assert!(!r.failed, "{r:?}");
            assert_eq!(
                r.values["stdout_lines"],
                json!([
                    "[$(touch]",
                    format!("[{}/pwned)]", tmp.path().display()),
                    "[a b]",
                    "[it's]",
                    "[|]",
                    "[>]",
                    format!("[{}/out]", tmp.path().display())
                ])
            );
            assert!(!tmp.path().join("pwned").exists());
            assert!(!tmp.path().join("out").exists());
        }

        #[tokio::test]
        async fn command_expands_environment_variables_and_tilde() {
            let tmp = tempfile::tempdir().unwrap();
            let mut env = Env::new(tmp.path());
            env.env
                .insert("JIG_GREETING".into(), "hi 'there' $(x)".into());
            let r = run(
                &env,
                "command",
                false,
                json!({"argv": ["printf", "%s|", "$JIG_GREETING", "${JIG_GREETING}!",
                                "$JIG_UNSET_VAR", "${1x}", "~", "~/x y", "$"]}),
            )
            .await;
            assert!(!r.failed, "{r:?}");
            let home = std::env::var("HOME").unwrap();
            assert_eq!(
                r.values["stdout"],
                json!(format!(
                    "hi 'there' $(x)|hi 'there' $(x)!|$JIG_UNSET_VAR|${{1x}}|{home}|{home}/x y|$|"
                ))
            );
            // expand_argument_vars: false passes them through.
            let r = run(
                &env,
                "command",
                false,
                json!({"argv": ["printf", "%s", "$JIG_GREETING~"], "expand_argument_vars": false}),
            )
            .await;
            assert_eq!(r.values["stdout"], json!("$JIG_GREETING~"));
        }

        #[tokio::test]
        async fn shell_runs_shell_syntax_with_environment_and_stdin() {
            let tmp = tempfile::tempdir().unwrap();
            let mut env = Env::new(tmp.path());
            env.env.insert("JIG_V".into(), "a 'b' $(c)".into());
            let r = run(
                &env,
                "shell",
                false,
                json!({"_raw_params": "echo \"$JIG_V\" | tr a-z A-Z; cat; echo err >&2; exit 3",
                       "stdin": "ünï ✓"}),
            )
            .await;
            assert!(r.failed && r.changed, "{r:?}");
            assert_eq!(r.values["rc"], json!(3));
            assert_eq!(r.values["stdout"], json!("A 'B' $(C)\nünï ✓"));
            assert_eq!(r.values["stdout_lines"], json!(["A 'B' $(C)", "ünï ✓"]));
            assert_eq!(r.values["stderr"], json!("err"));
            assert_eq!(r.msg.as_deref(), Some("non-zero return code"));
            assert!(
                r.values["cmd"]
                    .as_str()
                    .unwrap()
                    .starts_with("echo \"$JIG_V\"")
            );
            assert!(r.values["delta"].as_str().unwrap().starts_with("0:00:"));
            assert!(r.values["start"].as_str().unwrap().len() >= 19);

            // executable, stdin without newline, no stripping.
            let r = run(
                &env,
                "shell",
                false,
                json!({"cmd": "printf '%s' \"$0\"; cat", "executable": "/bin/sh",
                       "stdin": "x", "stdin_add_newline": false, "strip_empty_ends": false}),
            )
            .await;
            assert!(!r.failed, "{r:?}");
            assert_eq!(r.values["stdout"], json!("/bin/shx"));
        }

        #[tokio::test]
        async fn chdir_creates_and_removes() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let dir = tmp.path().join("d ir $(x) ✓");
            std::fs::create_dir(&dir).unwrap();
            let r = run(
                &env,
                "command",
                false,
                json!({"_raw_params": "pwd", "chdir": dir}),
            )
            .await;
            assert!(!r.failed, "{r:?}");
            assert_eq!(r.values["stdout"], json!(dir.display().to_string()));

            // creates: a glob, relative to chdir.
            std::fs::write(dir.join("done.flag"), "").unwrap();
            for (check, verb) in [(false, "Did"), (true, "Would")] {
                let r = run(
                    &env,
                    "command",
                    check,
                    json!({"argv": ["touch", "ran"], "chdir": dir, "creates": "*.flag"}),
                )
                .await;
                assert!(!r.changed && !r.failed && !r.skipped, "{r:?}");
                assert_eq!(
                    r.msg,
                    Some(format!("{verb} not run command since '*.flag' exists"))
                );
                assert_eq!(r.values["stdout"], json!("skipped, since *.flag exists"));
                assert_eq!(r.values["rc"], json!(0));
            }
            assert!(!dir.join("ran").exists());

            // removes: missing, so not run.
            let gone = tmp.path().join("gone");
            let r = run(
                &env,
                "shell",
                false,
                json!({"_raw_params": "touch ran", "chdir": dir, "removes": gone}),
            )
            .await;
            assert_eq!(
                r.msg,
                Some(format!(
                    "Did not run command since '{}' does not exist",
                    gone.display()
                ))
            );
            assert!(!dir.join("ran").exists());

            // creates missing: it runs.
            let r = run(
                &env,
                "command",
                false,
                json!({"argv": ["touch", "ran"], "chdir": dir, "creates": "ran"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert!(dir.join("ran").exists());

            // A missing chdir fails like Ansible.
            let r = run(
                &env,
                "command",
                false,
                json!({"_raw_params": "pwd", "chdir": gone}),
            )
            .await;
            assert!(r.failed);
            assert_eq!(
                r.msg,
                Some(format!(
                    "Unable to change directory before execution: [Errno 2] No such file or \
                     directory: b'{}'",
                    gone.display()
                ))
            );
        }

        #[tokio::test]
        async fn check_mode() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let marker = tmp.path().join("ran");
            let touch = json!({"argv": ["touch", marker]});
            let r = run(&env, "command", true, touch.clone()).await;
            assert!(r.skipped && !r.changed, "{r:?}");
            assert_eq!(
                r.msg.as_deref(),
                Some("Command would have run if not in check mode")
            );
            // Roles read these keys of a command skipped in check mode, as Ansible fills them.
            assert_eq!(r.values["rc"], json!(0));
            assert_eq!(r.values["stdout_lines"], json!([]));
            assert_eq!(r.values["stderr"], json!(""));
            // creates given but missing: reported as a change that would happen.
            let mut with_creates = touch.clone();
            with_creates["creates"] = json!(marker);
            let r = run(&env, "command", true, with_creates).await;
            assert!(r.changed && !r.skipped, "{r:?}");
            assert_eq!(
                r.msg.as_deref(),
                Some("Command would have run if not in check mode")
            );
            let r = run(&env, "raw", true, json!({"_raw_params": "touch ran"})).await;
            assert!(r.skipped);
            assert!(!marker.exists());
        }

        #[tokio::test]
        async fn missing_program_and_argument_errors() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let r = run(
                &env,
                "command",
                false,
                json!({"_raw_params": "jig-no-such-program x"}),
            )
            .await;
            // ansible 2.19: {"changed": false, "cmd": "nosuchcmd x", "msg": "Error executing
            // command.", "rc": 2, "stderr": "", "stdout": "", ..._lines: []}, no timings.
            assert!(r.failed);
            assert!(!r.changed);
            assert_eq!(r.values["rc"], json!(2));
            assert_eq!(r.msg.as_deref(), Some("Error executing command."));
            assert_eq!(r.values["msg"], json!("Error executing command."));
            assert_eq!(r.values["cmd"], json!("jig-no-such-program x"));
            assert_eq!(r.values["stdout"], json!(""));
            assert_eq!(r.values["stderr_lines"], json!([]));
            for k in ["start", "end", "delta"] {
                assert!(!r.values.contains_key(k), "{k}");
            }
            let r = run(
                &env,
                "command",
                false,
                json!({"argv": ["jig-no-such-program", "a b", "it's", "é"]}),
            )
            .await;
            assert_eq!(
                r.values["cmd"],
                json!("jig-no-such-program 'a b' 'it'\"'\"'s' é")
            );
            let script = tmp.path().join("not-executable.sh");
            std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
            let r = run(&env, "command", false, json!({"argv": [script]})).await;
            assert!(r.failed);
            assert_eq!(r.values["rc"], json!(13));
            assert_eq!(r.msg.as_deref(), Some("Error executing command."));
            assert_eq!(r.values["cmd"], json!(script.display().to_string()));
            let r = run(&env, "command", false, json!({"_raw_params": "  "})).await;
            assert!(r.failed);
            assert_eq!(r.msg.as_deref(), Some("no command given"));
            assert_eq!(r.values["rc"], json!(256));
            let r = run(
                &env,
                "command",
                false,
                json!({"_raw_params": "ls", "argv": ["ls"]}),
            )
            .await;
            assert_eq!(
                r.msg.as_deref(),
                Some("only command or argv can be given, not both")
            );
            let e = try_run(&env, "command", false, json!({"_raw_params": "echo 'x"}))
                .await
                .unwrap_err();
            assert!(e.to_string().contains("No closing quotation"), "{e}");
            let e = try_run(
                &env,
                "shell",
                false,
                json!({"_raw_params": "true", "expand_argument_vars": false}),
            )
            .await
            .unwrap_err();
            assert!(e.to_string().contains("expand_argument_vars"), "{e}");
            let mut bad = Env::new(tmp.path());
            bad.env.insert("BAD NAME".into(), "x".into());
            let e = try_run(&bad, "command", false, json!({"_raw_params": "true"}))
                .await
                .unwrap_err();
            assert!(e.to_string().contains("BAD NAME"), "{e}");
        }

        #[tokio::test]
        async fn raw_runs_text_as_is() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let r = run(
                &env,
                "raw",
                false,
                json!({"_raw_params": "echo one; echo two >&2; exit 4"}),
            )
            .await;
            assert!(r.failed && r.changed, "{r:?}");
            assert_eq!(r.values["rc"], json!(4));
            // raw does not strip output.
            assert_eq!(r.values["stdout"], json!("one\n"));
            assert_eq!(r.values["stdout_lines"], json!(["one"]));
            assert_eq!(r.values["stderr_lines"], json!(["two"]));
            let r = run(
                &env,
                "raw",
                false,
                json!({"_raw_params": "echo \"$0\"", "executable": "/bin/sh"}),
            )
            .await;
            assert_eq!(r.values["stdout"], json!("/bin/sh\n"));
        }
    }
}

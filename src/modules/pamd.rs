//! The `pamd` module (community.general.pamd): the common edits of a PAM service file in
//! `/etc/pam.d` (or `path`): change a rule, insert one before or after it, add or remove its
//! arguments, remove it.
//!
//! Written from what community.general 11.4.2 does (observed with ansible-core 2.19; the
//! cases are recorded in tests/fixtures/sysfiles2/comments_state.txt), quirks included:
//! - a line is a comment when it starts with `#` after blanks, an include when it starts with
//!   `@include`, blank, or a rule (`type control module_path args...`, parsed with
//!   community.general's pattern); a commented-out rule is never matched;
//! - a trailing `# comment` on a rule is part of its arguments: `args_present` appends after
//!   it, `args_absent` removes its words, `updated` with arguments drops it;
//! - a rule is found by `type`, `control` and `module_path`; every matching rule is edited;
//! - `before` drops the comments and blank lines between the matching rule and the rule
//!   above it, `after` those between it and the rule below it (or, after the last rule, the
//!   lines that follow it);
//! - every task validates the whole file: an indented comment or include, an unknown type
//!   or control fails it ("Rule is not valid ...");
//! - when the file changes, rules are written as `type` padded to 11 columns,
//!   `control module_path args...`, and a `# Updated by Ansible - <local time>` comment
//!   becomes the second line.
//!
//! [`edit`] is the pure part; the host sees one probe (file and clock) and one atomic write.

use std::sync::LazyLock;

use async_trait::async_trait;
use regex::Regex;

use super::remote::{self, FileKind, WriteOptions};
use super::textfile::{FileArgs, Planned, Probed, Stop, Text, commit, expand_path, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// community.general's `RULE_REGEX` (verbose flag dropped: it only allowed the layout).
static RULE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?P<rule_type>-?(?:auth|account|session|password))\s+(?P<control>\[.*\]|\S*)\s+(?P<path>\S*)\s*(?P<args>.*)\s*",
    )
    .expect("static regex")
});

/// community.general's `RULE_ARG_REGEX`: a `[...]` group (greedy) or a word.
static ARG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(\[.*\]|\S*)").expect("static regex"));

/// The rule types.
const TYPES: &[&str] = &[
    "account",
    "-account",
    "auth",
    "-auth",
    "password",
    "-password",
    "session",
    "-session",
];

const SIMPLE_CONTROLS: &[&str] = &[
    "required",
    "requisite",
    "sufficient",
    "optional",
    "include",
    "substack",
    "definitive",
];

const CONTROL_VALUES: &[&str] = &[
    "success",
    "open_err",
    "symbol_err",
    "service_err",
    "system_err",
    "buf_err",
    "perm_denied",
    "auth_err",
    "cred_insufficient",
    "authinfo_unavail",
    "user_unknown",
    "maxtries",
    "new_authtok_reqd",
    "acct_expired",
    "session_err",
    "cred_unavail",
    "cred_expired",
    "cred_err",
    "no_module_data",
    "conv_err",
    "authtok_err",
    "authtok_recover_err",
    "authtok_lock_busy",
    "authtok_disable_aging",
    "try_again",
    "ignore",
    "abort",
    "authtok_expired",
    "module_unknown",
    "bad_item",
    "conv_again",
    "incomplete",
    "default",
];

const CONTROL_ACTIONS: &[&str] = &["ignore", "bad", "die", "ok", "done", "reset"];

/// A control as community.general keeps it: a `[value=action ...]` list loses its ` = `
/// spacing and any other brackets; a simple control stays as written.
pub fn control_of(raw: &str) -> String {
    if raw.starts_with('[') {
        format!("[{}]", raw.replace(" = ", "=").replace(['[', ']'], ""))
    } else {
        raw.to_string()
    }
}

/// community.general's `parse_module_arguments` for one string: `[...]` groups and words.
pub fn parse_args(s: &str) -> Vec<String> {
    ARG.find_iter(s)
        .map(|m| m.as_str())
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// One rule: `type control module_path args...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `auth`, `account`, `password`, `session` (or `-session`...).
    pub kind: String,
    /// `required`, `[success=1 default=ignore]`... as [`control_of`] keeps it.
    pub control: String,
    /// `pam_unix.so`...
    pub path: String,
    /// The module's arguments (a trailing comment's words among them).
    pub args: Vec<String>,
}

impl Rule {
    /// A rule from the task's values.
    pub fn new(kind: &str, control: &str, path: &str, args: Vec<String>) -> Rule {
        Rule {
            kind: kind.to_string(),
            control: control_of(control),
            path: path.to_string(),
            args,
        }
    }

    /// The rule as community.general writes it.
    pub fn render(&self) -> String {
        let mut s = format!("{:<11}{} {}", self.kind, self.control, self.path);
        if !self.args.is_empty() {
            s.push(' ');
            s.push_str(&self.args.join(" "));
        }
        s
    }

    /// community.general compares the stored control with the task's as given.
    fn matches(&self, kind: &str, control: &str, path: &str) -> bool {
        self.kind == kind && self.control == control && self.path == path
    }

    /// community.general's `PamdRule.validate`.
    fn validate(&self) -> Result<(), String> {
        let line = self.render();
        if !TYPES.contains(&self.kind.as_str()) {
            return Err(format!(
                "Rule type, {}, is not valid in rule {line}",
                self.kind
            ));
        }
        let Some(inner) = self
            .control
            .strip_prefix('[')
            .and_then(|c| c.strip_suffix(']'))
        else {
            if SIMPLE_CONTROLS.contains(&self.control.as_str()) {
                return Ok(());
            }
            return Err(format!(
                "Rule control, {}, is not valid in rule {line}",
                self.control
            ));
        };
        for part in inner.split(' ') {
            // community.general unpacks `value=action` and fails on anything else.
            let mut kv = part.split('=');
            let (Some(value), Some(action), None) = (kv.next(), kv.next(), kv.next()) else {
                return Err(format!(
                    "Rule control value, {part}, is not valid in rule {line}"
                ));
            };
            if !CONTROL_VALUES.contains(&value) {
                return Err(format!(
                    "Rule control value, {value}, is not valid in rule {line}"
                ));
            }
            if !CONTROL_ACTIONS.contains(&action) && action.trim().parse::<u64>().is_err() {
                return Err(format!(
                    "Rule control action, {action}, is not valid in rule {line}"
                ));
            }
        }
        Ok(())
    }
}

/// A line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A rule.
    Rule(Rule),
    /// A comment (`#` after blanks), kept as it is.
    Comment(String),
    /// An `@include` (after blanks), kept as it is.
    Include(String),
    /// A blank line, kept as it is.
    Empty(String),
}

impl Line {
    fn is_comment_or_empty(&self) -> bool {
        matches!(self, Line::Comment(_) | Line::Empty(_))
    }

    fn matches(&self, kind: &str, control: &str, path: &str) -> bool {
        matches!(self, Line::Rule(r) if r.matches(kind, control, path))
    }

    fn render(&self) -> String {
        match self {
            Line::Rule(r) => r.render(),
            Line::Comment(s) | Line::Include(s) | Line::Empty(s) => s.clone(),
        }
    }
}

/// The file's lines; `Err` for a line that is none of comment, include, blank or rule.
pub fn parse(text: &str) -> Result<Vec<Line>, String> {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with('#') {
                return Ok(Line::Comment(l.to_string()));
            }
            if t.starts_with("@include") {
                return Ok(Line::Include(l.to_string()));
            }
            if l.trim().is_empty() {
                return Ok(Line::Empty(l.to_string()));
            }
            let c = RULE
                .captures(l)
                .ok_or_else(|| format!("cannot read the PAM rule '{l}'"))?;
            Ok(Line::Rule(Rule::new(
                &c["rule_type"],
                &c["control"],
                &c["path"],
                parse_args(&c["args"]),
            )))
        })
        .collect()
}

/// community.general's `PamdService.validate`: the first invalid line's message.
pub fn validate(lines: &[Line]) -> Result<(), String> {
    for line in lines {
        let ok = match line {
            Line::Rule(r) => r.validate(),
            Line::Comment(s) if !s.starts_with('#') => Err(format!("Rule is not valid {s}")),
            Line::Include(s) if !s.starts_with("@include") => Err(format!("Rule is not valid {s}")),
            _ => Ok(()),
        };
        ok?;
    }
    Ok(())
}

/// What the task does to the matching rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `state: updated`: new type, control, path, arguments where given.
    Updated {
        /// `new_type`.
        kind: Option<String>,
        /// `new_control`, as given.
        control: Option<String>,
        /// `new_module_path`.
        path: Option<String>,
        /// `module_arguments`.
        args: Option<Vec<String>>,
    },
    /// `state: before`: this rule right before each match.
    Before(Rule),
    /// `state: after`: this rule right after each match.
    After(Rule),
    /// `state: args_present`: arguments added (`key=value` replaces the key's value).
    ArgsPresent(Vec<String>),
    /// `state: args_absent`: the arguments equal to one of these removed.
    ArgsAbsent(Vec<String>),
    /// `state: absent`: the matching rules removed.
    Absent,
}

/// Splits `key=value` as community.general does (`arg.split("=")` unpacked in two).
fn key_value(arg: &str) -> Result<Option<(&str, &str)>, String> {
    if !arg.contains('=') {
        return Ok(None);
    }
    match arg.split_once('=') {
        Some((k, v)) if !v.contains('=') => Ok(Some((k, v))),
        _ => Err(format!(
            "cannot handle the argument '{arg}': more than one '=' (community.general fails \
             on it too)"
        )),
    }
}

/// `args_present` on one rule; whether it changed.
fn add_args(rule: &mut Rule, add: &[String]) -> Result<bool, String> {
    let mut simple: Vec<&str> = Vec::new();
    let mut kv: Vec<(&str, &str)> = Vec::new();
    for a in add.iter().filter(|a| !a.starts_with('[')) {
        match key_value(a)? {
            Some(p) => {
                // A dict: the last value of a key wins, at the key's first place.
                match kv.iter_mut().find(|(k, _)| *k == p.0) {
                    Some(e) => e.1 = p.1,
                    None => kv.push(p),
                }
            }
            None if !simple.contains(&a.as_str()) => simple.push(a),
            None => {}
        }
    }
    let mut cur_simple: Vec<String> = Vec::new();
    let mut cur_kv: Vec<(String, String)> = Vec::new();
    for a in rule.args.iter().filter(|a| !a.starts_with('[')) {
        match key_value(a)? {
            Some((k, v)) => match cur_kv.iter_mut().find(|(ck, _)| ck == k) {
                Some(e) => e.1 = v.to_string(),
                None => cur_kv.push((k.to_string(), v.to_string())),
            },
            None => cur_simple.push(a.clone()),
        }
    }
    let mut new_args: Vec<String> = simple
        .iter()
        .filter(|a| !cur_simple.iter().any(|c| c == *a))
        .map(|a| a.to_string())
        .collect();
    new_args.extend(
        kv.iter()
            .filter(|(k, _)| !cur_kv.iter().any(|(ck, _)| ck == k))
            .map(|(k, v)| format!("{k}={v}")),
    );
    let mut changed = !new_args.is_empty();
    rule.args.extend(new_args);
    for (k, v) in &kv {
        if let Some((_, cv)) = cur_kv.iter().find(|(ck, _)| ck == k)
            && cv != v
        {
            let old = format!("{k}={cv}");
            if let Some(p) = rule.args.iter().position(|a| *a == old) {
                rule.args[p] = format!("{k}={v}");
                changed = true;
            }
        }
    }
    Ok(changed)
}

/// Applies `action` to every rule of `kind control path`; returns how many rules changed.
pub fn edit(
    lines: &mut Vec<Line>,
    kind: &str,
    control: &str,
    path: &str,
    action: &Action,
) -> Result<usize, String> {
    let mut count = 0;
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].matches(kind, control, path) {
            i += 1;
            continue;
        }
        match action {
            Action::Updated {
                kind,
                control,
                path,
                args,
            } => {
                let Line::Rule(rule) = &mut lines[i] else {
                    i += 1;
                    continue;
                };
                let mut changed = false;
                if let Some(k) = kind.as_ref().filter(|k| **k != rule.kind) {
                    rule.kind = k.clone();
                    changed = true;
                }
                // The stored control is compared with the new one as given (community.general).
                if let Some(c) = control.as_ref().filter(|c| **c != rule.control) {
                    rule.control = control_of(c);
                    changed = true;
                }
                if let Some(p) = path.as_ref().filter(|p| **p != rule.path) {
                    rule.path = p.clone();
                    changed = true;
                }
                if let Some(a) = args.as_ref().filter(|a| **a != rule.args) {
                    rule.args = a.clone();
                    changed = true;
                }
                count += usize::from(changed);
            }
            Action::Before(new) => {
                let above = lines[..i].iter().rposition(|l| !l.is_comment_or_empty());
                match above {
                    Some(j) if !lines[j].matches(&new.kind, &new.control, &new.path) => {
                        // The comments between the two rules are lost.
                        lines.splice(j + 1..i, [Line::Rule(new.clone())]);
                        i = j + 2;
                        count += 1;
                    }
                    Some(_) => {}
                    None => {
                        lines.insert(i, Line::Rule(new.clone()));
                        i += 1;
                        count += 1;
                    }
                }
            }
            Action::After(new) => {
                let below = lines[i + 1..]
                    .iter()
                    .position(|l| !l.is_comment_or_empty())
                    .map(|p| p + i + 1);
                match below {
                    Some(j) if !lines[j].matches(&new.kind, &new.control, &new.path) => {
                        lines.splice(i + 1..j, [Line::Rule(new.clone())]);
                        i += 1;
                        count += 1;
                    }
                    Some(_) => {}
                    None => {
                        // Appended at the end; the lines after the rule are lost.
                        lines.truncate(i + 1);
                        lines.push(Line::Rule(new.clone()));
                        i += 1;
                        count += 1;
                    }
                }
            }
            Action::ArgsPresent(add) => {
                let Line::Rule(rule) = &mut lines[i] else {
                    i += 1;
                    continue;
                };
                count += usize::from(add_args(rule, add)?);
            }
            Action::ArgsAbsent(remove) => {
                let Line::Rule(rule) = &mut lines[i] else {
                    i += 1;
                    continue;
                };
                if rule.args.iter().any(|a| remove.contains(a)) {
                    rule.args.retain(|a| !remove.contains(a));
                    count += 1;
                }
            }
            Action::Absent => {
                lines.remove(i);
                count += 1;
                continue;
            }
        }
        i += 1;
    }
    Ok(count)
}

const STAMP: &str = "# Updated by Ansible - ";

/// The file's text after a change, with the stamp comment as community.general places it:
/// the second line (replacing an earlier stamp there), after an empty first line when the
/// file has one line or none.
pub fn render(lines: &[Line], stamp: &str) -> String {
    let mut out: Vec<String> = lines.iter().map(Line::render).collect();
    let comment = format!("{STAMP}{stamp}");
    if out.len() <= 1 {
        out.insert(0, String::new());
        out.insert(1, comment);
    } else if out[1].starts_with(STAMP.trim_end_matches(" - ")) {
        out[1] = comment;
    } else {
        out.insert(1, comment);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The probe: `jig_stat`, the host's local time as Python's `isoformat()` writes it, the file.
pub fn probe_script(path: &str) -> String {
    remote::script(
        &[path],
        r#"jig_stat "$1" -L || exit 1
printf '%s\0' "$(date +%Y-%m-%dT%H:%M:%S.%6N)"
if [ -f "$1" ]; then cat -- "$1" || exit 1; fi"#,
    )
}

/// The `pamd` module.
pub struct Pamd;

const KNOWN: &[&str] = &[
    "name",
    "type",
    "control",
    "module_path",
    "new_type",
    "new_control",
    "new_module_path",
    "module_arguments",
    "state",
    "path",
    "backup",
];

#[async_trait]
impl Module for Pamd {
    fn name(&self) -> &'static str {
        "pamd"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

fn choice(args: &ModuleArgs, name: &str, v: Option<String>) -> Result<Option<String>, Stop> {
    match v {
        Some(t) if !TYPES.contains(&t.as_str()) => Err(args
            .invalid(
                name,
                format!("must be one of: {}, got: {t}", TYPES.join(", ")),
            )
            .into()),
        other => Ok(other),
    }
}

/// `module_arguments` (a list, or a string as a one-item list), each item split as
/// community.general's `parse_module_arguments` does; `[""]` is no arguments.
fn module_arguments(args: &ModuleArgs) -> Result<Option<Vec<String>>, Stop> {
    let items = match args.get("module_arguments") {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(_) => args.list("module_arguments")?.unwrap_or_default(),
    };
    Ok(Some(items.iter().flat_map(|a| parse_args(a)).collect()))
}

/// Ansible's `required_if` message for `state` when some of `names` are missing or empty.
fn required(state: &str, names: &[(&str, bool)]) -> Result<(), Stop> {
    let missing: Vec<&str> = names
        .iter()
        .filter(|(_, has)| !has)
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Stop::Fail(format!(
        "state is {state} but all of the following are missing: {}",
        missing.join(", ")
    )))
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(KNOWN)?;
    let name = args.req_str("name")?;
    if name.contains('/') || name.is_empty() {
        return Err(args.invalid("name", "must be a file name in path").into());
    }
    let kind = choice(args, "type", Some(args.req_str("type")?))?.unwrap_or_default();
    let control = args.req_str("control")?;
    let module_path = args.req_str("module_path")?;
    // community.general treats empty values as not given.
    let given = |v: Option<String>| v.filter(|s| !s.is_empty());
    let new_type = choice(args, "new_type", given(args.str("new_type")?))?;
    let new_control = given(args.str("new_control")?);
    let new_path = given(args.str("new_module_path")?);
    let margs = module_arguments(args)?;
    let state = args.str("state")?.unwrap_or_else(|| "updated".into());
    let new_rule = || -> Result<Rule, Stop> {
        required(
            &state,
            &[
                ("new_control", new_control.is_some()),
                ("new_type", new_type.is_some()),
                ("new_module_path", new_path.is_some()),
            ],
        )?;
        match (&new_type, &new_control, &new_path) {
            (Some(k), Some(c), Some(p)) => {
                Ok(Rule::new(k, c, p, margs.clone().unwrap_or_default()))
            }
            _ => Err(Stop::Fail(format!(
                "state is {state} but a new rule is incomplete"
            ))),
        }
    };
    let args_given = margs.as_ref().is_some_and(|a| !a.is_empty());
    let action = match state.as_str() {
        "updated" => Action::Updated {
            kind: new_type.clone(),
            control: new_control.clone(),
            path: new_path.clone(),
            args: margs.clone(),
        },
        "before" => Action::Before(new_rule()?),
        "after" => Action::After(new_rule()?),
        "args_present" => {
            required(&state, &[("module_arguments", args_given)])?;
            let add = margs.clone().unwrap_or_default();
            if add.iter().any(|a| a.starts_with('[')) {
                return Err(Stop::Fail(
                    "Unable to process bracketed '[' complex arguments with 'args_present'. \
                     Please use 'updated'."
                        .into(),
                ));
            }
            Action::ArgsPresent(add)
        }
        "args_absent" => {
            required(&state, &[("module_arguments", args_given)])?;
            Action::ArgsAbsent(margs.clone().unwrap_or_default())
        }
        "absent" => Action::Absent,
        other => {
            return Err(args
                .invalid(
                    "state",
                    format!("must be one of: absent, after, args_absent, args_present, before, updated, got: {other}"),
                )
                .into());
        }
    };
    let dir = args.str("path")?.unwrap_or_else(|| "/etc/pam.d".into());
    let file = format!("{}/{name}", dir.trim_end_matches('/'));
    let file = expand_path(ctx, &file).await?;
    let out = remote::run(ctx, probe_script(&file), None)
        .await
        .map_err(|e| Stop::Module(ModuleError::Connection(e)))?;
    if out.rc != 0 {
        return Err(remote::host_error(&format!("cannot read {file}"), &out).into());
    }
    let mut frames = remote::Frames::new(&out.stdout);
    let stat = match frames.stat(&file)? {
        Some(rec) if rec.stat.kind == FileKind::File => rec.stat,
        Some(_) => return Err(Stop::Fail(format!("{file} is not a regular file"))),
        None => {
            return Err(Stop::Fail(format!(
                "Unable to find the PAM service file {file}"
            )));
        }
    };
    let stamp = String::from_utf8_lossy(frames.next_record().unwrap_or_default()).into_owned();
    let text = Text::decode(frames.remainder());
    let mut lines = parse(&text.text).map_err(|e| Stop::Fail(format!("{file}: {e}")))?;
    let count = edit(&mut lines, &kind, &control, &module_path, &action).map_err(Stop::Fail)?;
    // The whole file is checked on every run, changed or not.
    validate(&lines).map_err(Stop::Fail)?;
    let mut result = ModuleResult {
        changed: count > 0,
        ..ModuleResult::default()
    };
    result.set("change_count", count);
    let new_content = if count > 0 {
        let after = render(&lines, &stamp);
        if ctx.diff_mode {
            result.diffs.push(Diff::Text {
                before_header: file.clone(),
                after_header: file.clone(),
                before: text.text.clone(),
                after: after.clone(),
            });
        }
        Some(text.encode(&after).map_err(Stop::Fail)?)
    } else {
        None
    };
    let fa = FileArgs {
        path: file.clone(),
        attrs: remote::FileAttrs::default(),
        write: WriteOptions {
            backup: args.bool_or("backup", false)?,
            validate: None,
            unsafe_writes: false,
        },
        warnings: Vec::new(),
    };
    let probed = Probed { stat, text };
    let backup = commit(
        ctx,
        &fa,
        Planned {
            current: Some(&probed),
            new_content,
            create_parents: false,
        },
        &mut result,
    )
    .await?;
    result.set("backupdest", backup.unwrap_or_default());
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(k: &str, c: &str, p: &str, a: &[&str]) -> Rule {
        Rule::new(k, c, p, a.iter().map(|s| s.to_string()).collect())
    }

    /// Applies one action and renders the file with the stamp `STAMP`.
    fn apply(
        text: &str,
        kind: &str,
        control: &str,
        path: &str,
        action: &Action,
    ) -> (usize, String) {
        let mut lines = parse(text).unwrap();
        let n = edit(&mut lines, kind, control, path, action).unwrap();
        validate(&lines).unwrap();
        (n, render(&lines, "STAMP"))
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    const TRAILING: &str = "#%PAM-1.0\nauth       required   pam_env.so readenv=1 # env ü\nauth\tsufficient\tpam_rootok.so\t# root is fine\naccount required pam_unix.so # accounts\n\nsession optional pam_motd.so motd=/run/motd.dynamic\n";

    /// The files community.general 11.4.2 wrote on the bed for the same edits
    /// (tests/fixtures/sysfiles2/comments_state.txt).
    #[test]
    fn trailing_comments_are_arguments() {
        let (n, t) = apply(
            TRAILING,
            "auth",
            "required",
            "pam_env.so",
            &Action::ArgsPresent(args(&["debug"])),
        );
        assert_eq!(n, 1);
        let (n, t) = apply(
            &t,
            "auth",
            "sufficient",
            "pam_rootok.so",
            &Action::ArgsAbsent(args(&["root"])),
        );
        assert_eq!(n, 1);
        let set = Action::Updated {
            kind: None,
            control: None,
            path: None,
            args: Some(args(&["silent"])),
        };
        let (n, t) = apply(&t, "account", "required", "pam_unix.so", &set);
        assert_eq!(n, 1);
        assert_eq!(
            t,
            "#%PAM-1.0\n# Updated by Ansible - STAMP\n\
             auth       required pam_env.so readenv=1 # env ü debug\n\
             auth       sufficient pam_rootok.so # is fine\n\
             account    required pam_unix.so silent\n\
             \n\
             session    optional pam_motd.so motd=/run/motd.dynamic\n"
        );
        // Done already: nothing changes.
        assert_eq!(apply(&t, "account", "required", "pam_unix.so", &set).0, 0);
    }

    #[test]
    fn commented_out_rules_are_not_rules() {
        let file = "#%PAM-1.0\n#auth required pam_wheel.so\nauth required pam_unix.so\n#session optional pam_motd.so\n";
        assert_eq!(
            apply(file, "auth", "required", "pam_wheel.so", &Action::Absent).0,
            0
        );
        let ctl = Action::Updated {
            kind: None,
            control: Some("required".into()),
            path: None,
            args: None,
        };
        assert_eq!(apply(file, "session", "optional", "pam_motd.so", &ctl).0, 0);
        let env = rule(
            "auth",
            "required",
            "pam_env.so",
            &["user_readenv=1", "conffile=/etc/jig", "env.conf"],
        );
        let (n, t) = apply(
            file,
            "auth",
            "required",
            "pam_unix.so",
            &Action::Before(env.clone()),
        );
        assert_eq!(n, 1);
        assert_eq!(
            t,
            "#%PAM-1.0\n# Updated by Ansible - STAMP\n#auth required pam_wheel.so\n\
             auth       required pam_env.so user_readenv=1 conffile=/etc/jig env.conf\n\
             auth       required pam_unix.so\n#session optional pam_motd.so\n"
        );
        assert_eq!(
            apply(&t, "auth", "required", "pam_unix.so", &Action::Before(env)).0,
            0
        );
    }

    #[test]
    fn before_and_after_drop_the_comments_they_step_over() {
        let file = "#%PAM-1.0\nauth required pam_env.so\n# before unix\nauth required pam_unix.so\n# after unix\n\n# still after unix\naccount required pam_unix.so\nsession required pam_limits.so\n# trailing comment\n";
        let pre = rule("auth", "requisite", "pam_faillock.so", &["preauth"]);
        let (n, t) = apply(
            file,
            "auth",
            "required",
            "pam_unix.so",
            &Action::Before(pre.clone()),
        );
        assert_eq!(n, 1);
        let fail = rule("auth", "[default=die]", "pam_faillock.so", &["authfail"]);
        let (n, t) = apply(
            &t,
            "auth",
            "required",
            "pam_unix.so",
            &Action::After(fail.clone()),
        );
        assert_eq!(n, 1);
        let umask = rule("session", "optional", "pam_umask.so", &[]);
        let (n, t) = apply(
            &t,
            "session",
            "required",
            "pam_limits.so",
            &Action::After(umask.clone()),
        );
        assert_eq!(n, 1);
        assert_eq!(
            t,
            "#%PAM-1.0\n# Updated by Ansible - STAMP\n\
             auth       required pam_env.so\n\
             auth       requisite pam_faillock.so preauth\n\
             auth       required pam_unix.so\n\
             auth       [default=die] pam_faillock.so authfail\n\
             account    required pam_unix.so\n\
             session    required pam_limits.so\n\
             session    optional pam_umask.so\n"
        );
        for (k, c, p, a) in [
            ("auth", "required", "pam_unix.so", Action::Before(pre)),
            ("auth", "required", "pam_unix.so", Action::After(fail)),
            ("session", "required", "pam_limits.so", Action::After(umask)),
        ] {
            assert_eq!(apply(&t, k, c, p, &a).0, 0);
        }
        // Before the first line: the stamp goes after the new rule.
        let env = rule("auth", "required", "pam_env.so", &[]);
        let (_, t) = apply(
            "auth required pam_unix.so\n# the end\n",
            "auth",
            "required",
            "pam_unix.so",
            &Action::Before(env),
        );
        assert_eq!(
            t,
            "auth       required pam_env.so\n# Updated by Ansible - STAMP\nauth       required pam_unix.so\n# the end\n"
        );
    }

    #[test]
    fn absent_keeps_the_comments() {
        let file = "#%PAM-1.0\n# keep 1\nauth required pam_deny.so\n# keep 2\nauth optional pam_deny.so # with a comment\naccount required pam_deny.so\n";
        let (n, t) = apply(file, "auth", "required", "pam_deny.so", &Action::Absent);
        assert_eq!(n, 1);
        let (n, t) = apply(&t, "auth", "optional", "pam_deny.so", &Action::Absent);
        assert_eq!(n, 1);
        assert_eq!(
            t,
            "#%PAM-1.0\n# Updated by Ansible - STAMP\n# keep 1\n# keep 2\naccount    required pam_deny.so\n"
        );
        // The only line gone: an empty first line and the stamp.
        let (_, t) = apply(
            "auth required pam_deny.so\n",
            "auth",
            "required",
            "pam_deny.so",
            &Action::Absent,
        );
        assert_eq!(t, "\n# Updated by Ansible - STAMP\n");
    }

    #[test]
    fn the_whole_file_is_validated() {
        let mut l =
            parse("auth required pam_unix.so\n  # an indented comment\n @include common-auth\n")
                .unwrap();
        assert_eq!(
            validate(&l).unwrap_err(),
            "Rule is not valid   # an indented comment"
        );
        l.remove(1);
        assert_eq!(
            validate(&l).unwrap_err(),
            "Rule is not valid  @include common-auth"
        );
        let l = parse("auth required pam_unix.so\nauth [success=ok new_authtok_reqd=done default=bogus] pam_x.so\n").unwrap();
        assert_eq!(
            validate(&l).unwrap_err(),
            "Rule control action, bogus, is not valid in rule auth       [success=ok new_authtok_reqd=done default=bogus] pam_x.so"
        );
        let l = parse("auth sometimes pam_x.so\n").unwrap();
        assert!(
            validate(&l)
                .unwrap_err()
                .starts_with("Rule control, sometimes, is not valid")
        );
        let l = parse(
            "auth [success=1 default=ignore] pam_unix.so\n-session optional pam_systemd.so\n",
        )
        .unwrap();
        assert!(validate(&l).is_ok());
        assert!(parse("nonsense here\n").is_err());
    }

    #[test]
    fn args_present_replaces_values_and_adds_keys() {
        let mut r = rule(
            "session",
            "optional",
            "pam_motd.so",
            &["motd=/run/motd.dynamic", "x"],
        );
        assert!(add_args(&mut r, &args(&["motd=/etc/motd", "noupdate", "x"])).unwrap());
        assert_eq!(r.args, args(&["motd=/etc/motd", "x", "noupdate"]));
        assert!(!add_args(&mut r, &args(&["noupdate", "motd=/etc/motd"])).unwrap());
        assert!(add_args(&mut r, &args(&["a=b=c"])).is_err());
        // Exact words only.
        let mut l = parse("auth required pam_unix.so nullok=1 nullok\n").unwrap();
        let n = edit(
            &mut l,
            "auth",
            "required",
            "pam_unix.so",
            &Action::ArgsAbsent(args(&["nullok"])),
        )
        .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            l[0],
            Line::Rule(rule("auth", "required", "pam_unix.so", &["nullok=1"]))
        );
    }

    #[test]
    fn controls_and_arguments_parse_like_community_general() {
        assert_eq!(
            control_of("[success = 1  default=ignore]"),
            "[success=1  default=ignore]"
        );
        assert_eq!(parse_args("a [b c] d=e"), args(&["a", "[b c]", "d=e"]));
        let l =
            parse("auth\t[success=1 default=ignore]\tpam_unix.so nullok try_first_pass\n").unwrap();
        assert_eq!(
            l[0],
            Line::Rule(rule(
                "auth",
                "[success=1 default=ignore]",
                "pam_unix.so",
                &["nullok", "try_first_pass"]
            ))
        );
        let mut l = parse("auth required pam_exec.so\n").unwrap();
        // Words first, then new keys (community.general's order).
        let a = Action::ArgsPresent(args(&["cmd=$(touch PWNED)", "'q'\"`id`ü"]));
        assert_eq!(
            edit(&mut l, "auth", "required", "pam_exec.so", &a).unwrap(),
            1
        );
        assert_eq!(
            render(&l, "t"),
            "\n# Updated by Ansible - t\nauth       required pam_exec.so 'q'\"`id`ü cmd=$(touch PWNED)\n"
        );
        // A second change replaces the stamp instead of adding one.
        let again = render(&parse(&render(&l, "1")).unwrap(), "2");
        assert_eq!(again.matches("# Updated by Ansible").count(), 1);
        assert!(again.contains("# Updated by Ansible - 2\n"));
    }
}

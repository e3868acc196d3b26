//! The `pamd` module (community.general.pamd): the common edits of a PAM service file in
//! `/etc/pam.d` (or `path`): change a rule, insert one before or after it, add or remove its
//! arguments, remove it.
//!
//! Written from the module's documentation and from what community.general 11.4.2 does
//! (observed with ansible-core 2.19): a rule is found by `type`, `control` and `module_path`;
//! every matching rule is edited; when the file changes, rules are written as
//! `type` padded to 11 columns, `control module_path args...`, blank lines are dropped and a
//! `# Updated by Ansible - <local time>` comment becomes the second line. [`edit`] is the pure
//! part; the host sees one probe (file and clock) and one atomic write.

use async_trait::async_trait;

use super::remote::{self, FileKind, WriteOptions};
use super::textfile::{FileArgs, Planned, Probed, Stop, Text, commit, expand_path, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// One rule: `type control module_path args...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `auth`, `account`, `password`, `session` (or `-session`...).
    pub kind: String,
    /// `required`, `[success=1 default=ignore]`...
    pub control: String,
    /// `pam_unix.so`...
    pub path: String,
    /// The module's arguments.
    pub args: Vec<String>,
}

impl Rule {
    /// The rule as community.general writes it.
    pub fn render(&self) -> String {
        let mut s = format!("{:<11}", self.kind);
        if self.kind.len() >= 11 {
            s.push(' ');
        }
        s.push_str(&self.control);
        s.push(' ');
        s.push_str(&self.path);
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }

    fn matches(&self, kind: &str, control: &str, path: &str) -> bool {
        self.kind == kind && self.control == normalise_control(control) && self.path == path
    }
}

/// A line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A rule.
    Rule(Rule),
    /// A comment, an `@include` or anything else, kept as it is.
    Other(String),
}

/// Splits on whitespace, keeping `[...]` groups (which may hold spaces) whole.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            c if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn normalise_control(c: &str) -> String {
    let t = c.trim();
    match t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => format!(
            "[{}]",
            inner.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        None => t.to_string(),
    }
}

/// The file's lines; blank lines are dropped.
pub fn parse(text: &str) -> Vec<Line> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') || t.starts_with('@') {
                return Line::Other(l.to_string());
            }
            let mut toks = tokens(t).into_iter();
            match (toks.next(), toks.next(), toks.next()) {
                (Some(kind), Some(control), Some(path)) => Line::Rule(Rule {
                    kind,
                    control: normalise_control(&control),
                    path,
                    args: toks.collect(),
                }),
                _ => Line::Other(l.to_string()),
            }
        })
        .collect()
}

/// What the task does to the matching rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `state: updated`: new type, control, path, arguments where given.
    Updated {
        /// `new_type`.
        kind: Option<String>,
        /// `new_control`.
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
    /// `state: args_absent`: arguments (or keys) removed.
    ArgsAbsent(Vec<String>),
    /// `state: absent`: the matching rules removed.
    Absent,
}

fn arg_key(a: &str) -> &str {
    a.split_once('=').map_or(a, |(k, _)| k)
}

/// Applies `action` to every rule of `kind control path`; returns how many rules changed.
pub fn edit(
    lines: &mut Vec<Line>,
    kind: &str,
    control: &str,
    path: &str,
    action: &Action,
) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < lines.len() {
        let Line::Rule(rule) = &lines[i] else {
            i += 1;
            continue;
        };
        if !rule.matches(kind, control, path) {
            i += 1;
            continue;
        }
        let mut rule = rule.clone();
        match action {
            Action::Updated {
                kind,
                control,
                path,
                args,
            } => {
                let old = rule.clone();
                if let Some(k) = kind {
                    rule.kind = k.clone();
                }
                if let Some(c) = control {
                    rule.control = normalise_control(c);
                }
                if let Some(p) = path {
                    rule.path = p.clone();
                }
                if let Some(a) = args {
                    rule.args = a.clone();
                }
                if rule != old {
                    lines[i] = Line::Rule(rule);
                    count += 1;
                }
            }
            Action::Before(new) => {
                let there = i > 0 && lines[i - 1] == Line::Rule(new.clone());
                if !there {
                    lines.insert(i, Line::Rule(new.clone()));
                    count += 1;
                    i += 1;
                }
            }
            Action::After(new) => {
                let there = lines.get(i + 1) == Some(&Line::Rule(new.clone()));
                if !there {
                    lines.insert(i + 1, Line::Rule(new.clone()));
                    count += 1;
                }
                i += 1;
            }
            Action::ArgsPresent(args) => {
                let old = rule.args.clone();
                for a in args {
                    match rule.args.iter().position(|x| arg_key(x) == arg_key(a)) {
                        Some(p) if a.contains('=') => rule.args[p] = a.clone(),
                        Some(_) => {}
                        None => rule.args.push(a.clone()),
                    }
                }
                if rule.args != old {
                    lines[i] = Line::Rule(rule);
                    count += 1;
                }
            }
            Action::ArgsAbsent(args) => {
                let before = rule.args.len();
                rule.args.retain(|x| {
                    !args
                        .iter()
                        .any(|a| a == x || arg_key(a) == arg_key(x) && !a.contains('='))
                });
                if rule.args.len() != before {
                    lines[i] = Line::Rule(rule);
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
    count
}

const STAMP: &str = "# Updated by Ansible - ";

/// The file's text after a change: the stamp comment as the second line.
pub fn render(lines: &[Line], stamp: &str) -> String {
    let mut out: Vec<String> = lines
        .iter()
        .map(|l| match l {
            Line::Rule(r) => r.render(),
            Line::Other(s) => s.clone(),
        })
        .collect();
    let comment = format!("{STAMP}{stamp}");
    if out.get(1).is_some_and(|l| l.starts_with(STAMP)) {
        out[1] = comment;
    } else {
        out.insert(out.len().min(1), comment);
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

fn module_arguments(args: &ModuleArgs) -> Result<Option<Vec<String>>, Stop> {
    Ok(match args.get("module_arguments") {
        None => None,
        Some(serde_json::Value::String(s)) => Some(tokens(s)),
        Some(_) => args.list("module_arguments")?,
    })
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
    let new_type = choice(args, "new_type", args.str("new_type")?)?;
    let new_control = args.str("new_control")?;
    let new_path = args.str("new_module_path")?;
    let margs = module_arguments(args)?;
    let state = args.str("state")?.unwrap_or_else(|| "updated".into());
    let new_rule = || -> Result<Rule, Stop> {
        match (&new_type, &new_control, &new_path) {
            (Some(k), Some(c), Some(p)) => Ok(Rule {
                kind: k.clone(),
                control: normalise_control(c),
                path: p.clone(),
                args: margs.clone().unwrap_or_default(),
            }),
            _ => Err(Stop::Fail(format!(
                "state is {state} but all of the following are missing or empty: new_type, new_control, new_module_path"
            ))),
        }
    };
    let action = match state.as_str() {
        "updated" => Action::Updated {
            kind: new_type.clone(),
            control: new_control.clone(),
            path: new_path.clone(),
            args: margs.clone(),
        },
        "before" => Action::Before(new_rule()?),
        "after" => Action::After(new_rule()?),
        "args_present" => Action::ArgsPresent(margs.clone().unwrap_or_default()),
        "args_absent" => Action::ArgsAbsent(margs.clone().unwrap_or_default()),
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
    let mut lines = parse(&text.text);
    let count = edit(&mut lines, &kind, &control, &module_path, &action);
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

    const FILE: &str = "#%PAM-1.0\n# comment\nauth       required   pam_env.so readenv=1\nauth\t[success=1 default=ignore]\tpam_unix.so nullok try_first_pass\nauth requisite pam_deny.so\naccount required pam_unix.so\nsession optional pam_motd.so motd=/run/motd.dynamic\n@include common-session\n";

    fn rule(k: &str, c: &str, p: &str, a: &[&str]) -> Rule {
        Rule {
            kind: k.into(),
            control: c.into(),
            path: p.into(),
            args: a.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The same edits community.general 11.4.2 made to the same file give the same text
    /// (its stamp line aside).
    #[test]
    fn edits_match_community_general() {
        let mut l = parse(FILE);
        let u = |c: &str| Action::Updated {
            kind: None,
            control: Some(c.into()),
            path: None,
            args: None,
        };
        assert_eq!(
            edit(&mut l, "auth", "required", "pam_env.so", &u("sufficient")),
            1
        );
        let unix = "[success=1 default=ignore]";
        let before = Action::Before(rule(
            "auth",
            "required",
            "pam_faillock.so",
            &["preauth", "silent"],
        ));
        assert_eq!(edit(&mut l, "auth", unix, "pam_unix.so", &before), 1);
        assert_eq!(edit(&mut l, "auth", unix, "pam_unix.so", &before), 0);
        let after = Action::After(rule(
            "auth",
            "[default=die]",
            "pam_faillock.so",
            &["authfail"],
        ));
        assert_eq!(edit(&mut l, "auth", unix, "pam_unix.so", &after), 1);
        assert_eq!(edit(&mut l, "auth", unix, "pam_unix.so", &after), 0);
        let add = Action::ArgsPresent(vec!["nullok_secure".into(), "debug".into()]);
        assert_eq!(edit(&mut l, "auth", unix, "pam_unix.so", &add), 1);
        assert_eq!(edit(&mut l, "auth", unix, "pam_unix.so", &add), 0);
        let motd = Action::ArgsPresent(vec!["motd=/etc/motd".into(), "noupdate".into()]);
        assert_eq!(edit(&mut l, "session", "optional", "pam_motd.so", &motd), 1);
        let rm = Action::ArgsAbsent(vec!["nullok".into()]);
        assert_eq!(edit(&mut l, "auth", unix, "pam_unix.so", &rm), 1);
        assert_eq!(
            edit(
                &mut l,
                "account",
                "required",
                "pam_unix.so",
                &Action::Absent
            ),
            1
        );
        let args = Action::Updated {
            kind: None,
            control: None,
            path: None,
            args: Some(vec!["a".into(), "b".into()]),
        };
        assert_eq!(edit(&mut l, "auth", "requisite", "pam_deny.so", &args), 1);
        assert_eq!(edit(&mut l, "auth", "nope", "pam_deny.so", &u("x")), 0);
        assert_eq!(
            render(&l, "2026-11-27T00:40:06.868968"),
            "#%PAM-1.0\n# Updated by Ansible - 2026-11-27T00:40:06.868968\n# comment\n\
auth       sufficient pam_env.so readenv=1\n\
auth       required pam_faillock.so preauth silent\n\
auth       [success=1 default=ignore] pam_unix.so try_first_pass nullok_secure debug\n\
auth       [default=die] pam_faillock.so authfail\n\
auth       requisite pam_deny.so a b\n\
session    optional pam_motd.so motd=/etc/motd noupdate\n\
@include common-session\n"
        );
        // A second change replaces the stamp instead of adding one.
        let again = render(&parse(&render(&l, "1")), "2");
        assert_eq!(again.matches("# Updated by Ansible").count(), 1);
        assert!(again.contains("# Updated by Ansible - 2\n"));
    }

    #[test]
    fn hostile_arguments_stay_text() {
        let mut l = parse("auth required pam_exec.so\n");
        let a = Action::ArgsPresent(vec!["cmd=$(touch PWNED)".into(), "'q'\"`id`ü".into()]);
        assert_eq!(edit(&mut l, "auth", "required", "pam_exec.so", &a), 1);
        assert_eq!(
            render(&l, "t"),
            "auth       required pam_exec.so cmd=$(touch PWNED) 'q'\"`id`ü\n# Updated by Ansible - t\n"
        );
        assert_eq!(tokens("a [x y] b"), vec!["a", "[x y]", "b"]);
    }
}

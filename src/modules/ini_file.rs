//! The `ini_file` module (community.general.ini_file): options in sections of INI files.
//!
//! [`edit`] is the pure part: a line-for-line port of the module's algorithm (fake section
//! around the top of the file, matching of active and commented-out options, exclusive and
//! multi-value handling, insertion after the section's last non-blank line), so that the
//! bytes written are the bytes Ansible writes. The host sees one probe (stat and content) and
//! one atomic write carrying mode and owner.

use async_trait::async_trait;
use regex::Regex;

use super::remote::{self, RemoteError, WriteOptions};
use super::textfile::{Stop, add_warnings, expand_path, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The name of the section Ansible pretends starts the file, so options before any section
/// header belong somewhere.
const FAKE_SECTION: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

/// One `section_has_values` condition: the section must have `option` with one of `values`
/// (any value when empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The option.
    pub option: String,
    /// Acceptable values.
    pub values: Vec<String>,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// `section` (`None`: the lines before the first section).
    pub section: Option<String>,
    /// `section_has_values`.
    pub section_has_values: Vec<Condition>,
    /// `option`.
    pub option: Option<String>,
    /// `value` or `values`.
    pub values: Vec<String>,
    /// `state: present`.
    pub present: bool,
    /// `exclusive`.
    pub exclusive: bool,
    /// `no_extra_spaces`.
    pub no_extra_spaces: bool,
    /// `ignore_spaces`.
    pub ignore_spaces: bool,
    /// `allow_no_value`.
    pub allow_no_value: bool,
    /// `modify_inactive_option`.
    pub modify_inactive_option: bool,
}

/// The outcome of [`edit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edited {
    /// The new content.
    pub text: String,
    /// Whether the file changes.
    pub changed: bool,
    /// Ansible's `msg` (`OK`, `option added`, `option changed`, `section removed`...).
    pub msg: String,
}

/// An option line as matched: (commented-out marker, value).
struct OptMatch {
    comment: bool,
    value: String,
}

fn opt_regex(option: &str, active_only: bool) -> Regex {
    let esc = regex::escape(option);
    let pat = if active_only {
        format!("^()()[ \t]*({esc})[ \t]*(=|$)[ \t]*(.*)")
    } else {
        format!("^[ \t]*([#;]?)[ \t]*({esc})[ \t]*(=|$)[ \t]*(.*)")
    };
    // The pattern is built from an escaped literal, so it always compiles.
    Regex::new(&pat).unwrap_or_else(|_| Regex::new("$^").expect("a constant pattern"))
}

/// Python's `re.match` of Ansible's option pattern on one line (which ends with `\n`).
fn match_with(re: &Regex, line: &str) -> Option<OptMatch> {
    let body = line.strip_suffix('\n').unwrap_or(line);
    let caps = re.captures(body)?;
    let n = caps.len();
    Some(OptMatch {
        comment: caps.get(1).is_some_and(|m| !m.as_str().is_empty()),
        value: caps
            .get(n - 1)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
    })
}

struct Matcher {
    any: Regex,
    active: Regex,
    use_inactive: bool,
}

impl Matcher {
    fn new(option: &str, modify_inactive: bool) -> Matcher {
        Matcher {
            any: opt_regex(option, false),
            active: opt_regex(option, true),
            use_inactive: modify_inactive,
        }
    }
    fn any(&self, line: &str) -> Option<OptMatch> {
        match_with(&self.any, line)
    }
    fn active(&self, line: &str) -> Option<OptMatch> {
        match_with(&self.active, line)
    }
    fn chosen(&self, line: &str) -> Option<OptMatch> {
        if self.use_inactive {
            self.any(line)
        } else {
            self.active(line)
        }
    }
}

/// Python's text-mode `readlines()` of a file opened with `utf-8-sig`: the BOM dropped, line
/// ends turned into `\n`.
pub fn read_lines(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    unified.split_inclusive('\n').map(str::to_string).collect()
}

fn section_has_values(conds: &[Condition], lines: &[String]) -> bool {
    conds.iter().all(|c| {
        let re = opt_regex(&c.option, false);
        lines.iter().any(|l| {
            match_with(&re, l).is_some_and(|m| c.values.is_empty() || c.values.contains(&m.value))
        })
    })
}

#[allow(clippy::too_many_arguments)]
fn update_section_line(
    m: &Matcher,
    ignore_spaces: bool,
    changed: &mut bool,
    section_lines: &mut [String],
    index: usize,
    changed_lines: &mut [bool],
    newline: String,
    msg: &mut String,
) {
    let mut option_changed = None;
    if ignore_spaces
        && let Some(old) = m.any(&section_lines[index])
        && !old.comment
    {
        let new_value = m.any(&newline).map(|n| n.value).unwrap_or_default();
        option_changed = Some(old.value != new_value);
    }
    let option_changed = option_changed.unwrap_or(section_lines[index] != newline);
    if option_changed {
        section_lines[index] = newline;
        *changed = true;
        *msg = "option changed".into();
    }
    changed_lines[index] = true;
}

/// Edits the file's text as community.general.ini_file does.
pub fn edit(original: &[String], spec: &Spec) -> Edited {
    let mut values: Vec<String> = Vec::new();
    for v in &spec.values {
        if !values.contains(v) {
            values.push(v.clone());
        }
    }
    let mut ini_lines = original.to_vec();
    let mut changed = false;
    if ini_lines.is_empty() {
        ini_lines.push("\n".into());
    }
    if let Some(last) = ini_lines.last_mut()
        && !last.ends_with('\n')
    {
        last.push('\n');
        changed = true;
    }
    ini_lines.insert(0, format!("[{FAKE_SECTION}]"));
    ini_lines.push("[".into());

    let section = match &spec.section {
        Some(s) if !s.is_empty() => s.clone(),
        _ => FAKE_SECTION.to_string(),
    };
    let mut within_section = false;
    let (mut section_start, mut section_end) = (0, 0);
    let mut msg = String::from("OK");
    let assign = |o: &str, v: &str| {
        if spec.no_extra_spaces {
            format!("{o}={v}\n")
        } else {
            format!("{o} = {v}\n")
        }
    };
    let mut option_no_value_present = false;
    let blank_or_comment = Regex::new(r"^[ \t]*([#;].*)?$").expect("a constant pattern");
    let is_blank_or_comment =
        |l: &str| blank_or_comment.is_match(l.strip_suffix('\n').unwrap_or(l));
    let section_re = Regex::new(&format!(r"^\[\s*{}\s*\]", regex::escape(section.trim())))
        .expect("an escaped pattern");

    for (index, line) in ini_lines.iter().enumerate() {
        if within_section && line.starts_with('[') {
            if section_has_values(&spec.section_has_values, &ini_lines[section_start..index]) {
                section_end = index;
                break;
            }
            within_section = false;
            section_start = 0;
            section_end = 0;
        }
        if section_re.is_match(line) {
            within_section = true;
            section_start = index;
        }
    }

    let before: Vec<String> = ini_lines[..section_start].to_vec();
    let mut section_lines: Vec<String> = ini_lines[section_start..section_end].to_vec();
    let after: Vec<String> = ini_lines[section_end..].to_vec();
    let mut changed_lines = vec![false; section_lines.len()];

    let matcher = spec
        .option
        .as_deref()
        .map(|o| Matcher::new(o, spec.modify_inactive_option));

    if spec.present
        && let (Some(option), Some(m)) = (spec.option.as_deref(), matcher.as_ref())
    {
        for index in 0..section_lines.len() {
            let Some(found) = m.chosen(&section_lines[index]) else {
                continue;
            };
            if !values.is_empty() && values.contains(&found.value) {
                let newline = if found.value.is_empty() && spec.allow_no_value {
                    option_no_value_present = true;
                    format!("{option}\n")
                } else {
                    assign(option, &found.value)
                };
                update_section_line(
                    m,
                    spec.ignore_spaces,
                    &mut changed,
                    &mut section_lines,
                    index,
                    &mut changed_lines,
                    newline,
                    &mut msg,
                );
                if let Some(pos) = values.iter().position(|v| *v == found.value) {
                    values.remove(pos);
                }
            } else if values.is_empty() && spec.allow_no_value {
                update_section_line(
                    m,
                    spec.ignore_spaces,
                    &mut changed,
                    &mut section_lines,
                    index,
                    &mut changed_lines,
                    format!("{option}\n"),
                    &mut msg,
                );
                option_no_value_present = true;
                break;
            }
        }
    }

    if spec.present
        && spec.exclusive
        && !spec.allow_no_value
        && let (Some(option), Some(m)) = (spec.option.as_deref(), matcher.as_ref())
    {
        if !values.is_empty() {
            for index in 0..section_lines.len() {
                if !changed_lines[index] && m.chosen(&section_lines[index]).is_some() {
                    let v = values.remove(0);
                    update_section_line(
                        m,
                        spec.ignore_spaces,
                        &mut changed,
                        &mut section_lines,
                        index,
                        &mut changed_lines,
                        assign(option, &v),
                        &mut msg,
                    );
                    if values.is_empty() {
                        break;
                    }
                }
            }
        }
        let mut index = section_lines.len().saturating_sub(1);
        while index > 0 {
            if !changed_lines[index] && m.chosen(&section_lines[index]).is_some() {
                section_lines.remove(index);
                changed_lines.remove(index);
                changed = true;
                msg = "option changed".into();
            }
            index -= 1;
        }
    }

    if spec.present {
        for index in (1..=section_lines.len()).rev() {
            if is_blank_or_comment(&section_lines[index - 1]) {
                continue;
            }
            if let Some(option) = spec.option.as_deref() {
                if !values.is_empty() {
                    for element in values.iter().rev() {
                        section_lines.insert(index, assign(option, element));
                        msg = "option added".into();
                        changed = true;
                    }
                } else if spec.allow_no_value && !option_no_value_present {
                    section_lines.insert(index, format!("{option}\n"));
                    msg = "option added".into();
                    changed = true;
                }
            }
            break;
        }
    }

    if !spec.present {
        match matcher.as_ref() {
            Some(m) if spec.exclusive => {
                let kept: Vec<String> = section_lines
                    .iter()
                    .filter(|l| m.active(l).is_none())
                    .cloned()
                    .collect();
                if kept != section_lines {
                    changed = true;
                    msg = "option changed".into();
                    section_lines = kept;
                }
            }
            Some(m) if !values.is_empty() => {
                let kept: Vec<String> = section_lines
                    .iter()
                    .filter(|l| !m.active(l).is_some_and(|f| values.contains(&f.value)))
                    .cloned()
                    .collect();
                if kept != section_lines {
                    changed = true;
                    msg = "option changed".into();
                    section_lines = kept;
                }
            }
            Some(_) => {}
            None => {
                if !section_lines.is_empty() {
                    section_lines.clear();
                    msg = "section removed".into();
                    changed = true;
                }
            }
        }
    }

    let mut out: Vec<String> = before;
    out.extend(section_lines);
    out.extend(after);
    if !out.is_empty() {
        out.remove(0);
    }
    out.pop();

    if !within_section && spec.present {
        out.push(format!("[{section}]\n"));
        msg = "section and option added".into();
        for c in &spec.section_has_values {
            if Some(&c.option) != spec.option.as_ref() {
                if !c.values.is_empty() {
                    for v in &c.values {
                        out.push(assign(&c.option, v));
                    }
                } else if spec.allow_no_value {
                    out.push(format!("{}\n", c.option));
                }
            } else if !spec.exclusive {
                for v in &c.values {
                    if !values.contains(v) {
                        values.push(v.clone());
                    }
                }
            }
        }
        match spec.option.as_deref() {
            Some(option) if !values.is_empty() => {
                for v in &values {
                    out.push(assign(option, v));
                }
            }
            Some(option) if spec.allow_no_value => out.push(format!("{option}\n")),
            _ => msg = "only section added".into(),
        }
        changed = true;
    }
    Edited {
        text: out.concat(),
        changed,
        msg,
    }
}

/// The `ini_file` module.
pub struct IniFile;

const KNOWN: &[&str] = &[
    "path",
    "dest",
    "section",
    "section_has_values",
    "option",
    "value",
    "values",
    "backup",
    "state",
    "exclusive",
    "no_extra_spaces",
    "ignore_spaces",
    "allow_no_value",
    "modify_inactive_option",
    "create",
    "follow",
    "mode",
    "owner",
    "group",
    "seuser",
    "serole",
    "setype",
    "selevel",
    "attributes",
    "unsafe_writes",
];

#[async_trait]
impl Module for IniFile {
    fn name(&self) -> &'static str {
        "ini_file"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

fn conditions(args: &ModuleArgs) -> Result<Vec<Condition>, Stop> {
    let Some(v) = args.get("section_has_values") else {
        return Ok(Vec::new());
    };
    let bad = || {
        Stop::from(args.invalid(
            "section_has_values",
            "must be a list of {option, value | values} dictionaries",
        ))
    };
    let items = v.as_array().ok_or_else(bad)?;
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    };
    items
        .iter()
        .map(|item| {
            let obj = item.as_object().ok_or_else(bad)?;
            let option = obj.get("option").and_then(scalar).ok_or_else(bad)?;
            let values = match (
                obj.get("value").filter(|v| !v.is_null()),
                obj.get("values").filter(|v| !v.is_null()),
            ) {
                (Some(_), Some(_)) => {
                    return Err(Stop::from(args.error(
                        "parameters are mutually exclusive: value|values found in section_has_values",
                    )));
                }
                (Some(v), None) => vec![scalar(v).ok_or_else(bad)?],
                (None, Some(serde_json::Value::Array(vs))) => vs
                    .iter()
                    .map(|v| scalar(v).ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
                (None, Some(_)) => return Err(bad()),
                (None, None) => Vec::new(),
            };
            Ok(Condition { option, values })
        })
        .collect()
}

fn conn_err(e: crate::connection::ConnectionError) -> Stop {
    Stop::Module(ModuleError::Connection(e))
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(KNOWN)?;
    let path = match args.get_any(&["path", "dest"]) {
        Some((k, _)) => args.req_str(k)?,
        None => return Err(args.error("missing required argument 'path'").into()),
    };
    let path = expand_path(ctx, &path).await?;
    let value = args.str("value")?;
    let values = args.list("values")?;
    if value.is_some() && values.is_some() {
        return Err(args
            .error("parameters are mutually exclusive: value|values")
            .into());
    }
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let present = match state.as_str() {
        "present" => true,
        "absent" => false,
        other => {
            return Err(args
                .invalid(
                    "state",
                    format!("must be one of: absent, present, got: {other}"),
                )
                .into());
        }
    };
    let allow_no_value = args.bool_or("allow_no_value", false)?;
    if present && !allow_no_value && value.is_none() && values.as_ref().is_none_or(Vec::is_empty) {
        return Err(Stop::Fail(
            "Parameter 'value(s)' must be defined if state=present and allow_no_value=False."
                .into(),
        ));
    }
    let spec = Spec {
        section: args.str("section")?,
        section_has_values: conditions(args)?,
        option: args.str("option")?,
        values: match value {
            Some(v) => vec![v],
            None => values.unwrap_or_default(),
        },
        present,
        exclusive: args.bool_or("exclusive", true)?,
        no_extra_spaces: args.bool_or("no_extra_spaces", false)?,
        ignore_spaces: args.bool_or("ignore_spaces", false)?,
        allow_no_value,
        modify_inactive_option: args.bool_or("modify_inactive_option", true)?,
    };
    let create = args.bool_or("create", true)?;
    let follow = args.bool_or("follow", false)?;
    let backup = args.bool_or("backup", false)?;
    let attrs = remote::attrs_from_args(args)?;
    let mut warnings = Vec::new();
    for k in ["seuser", "serole", "setype", "selevel", "attributes"] {
        if args.get(k).is_some() {
            warnings.push(format!(
                "jig does not manage '{k}' (SELinux contexts and file attributes); it was ignored"
            ));
        }
    }

    let probed = match remote::read_file(ctx, &path).await {
        Ok(p) => p,
        Err(RemoteError::Failed { message }) if message.ends_with("is a directory") => {
            return Err(Stop::Fail(format!(
                "Destination {path} is a directory; cannot edit it as an INI file"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let (stat, text) = match probed {
        Some((stat, bytes)) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                Stop::Fail(format!(
                    "{path} is not UTF-8; ini_file reads and writes UTF-8 only"
                ))
            })?;
            (Some(stat), text)
        }
        None if !create => {
            let mut r = ModuleResult::failed(format!("Destination {path} does not exist!"));
            r.set("rc", 257);
            return Ok(r);
        }
        None => (None, String::new()),
    };
    let lines = read_lines(&text);
    let edited = edit(&lines, &spec);
    let attr_plan = match &stat {
        Some(s) => remote::attr_changes(s, &attrs)?,
        None => remote::AttrPlan::default(),
    };
    let mut result = ModuleResult {
        changed: edited.changed || !attr_plan.is_empty(),
        msg: Some(edited.msg.clone()),
        ..ModuleResult::default()
    };
    result.set("path", path.clone());
    add_warnings(&mut result, &warnings);
    if ctx.diff_mode && edited.changed {
        let header = format!("{path} (content)");
        result.diffs.push(Diff::Text {
            before_header: header.clone(),
            after_header: header,
            before: lines.concat(),
            after: edited.text.clone(),
        });
    }
    if ctx.diff_mode && !attr_plan.is_empty() {
        result
            .diffs
            .push(attr_plan.diff(format!("{path} (file attributes)")));
    }
    if ctx.check_mode {
        return Ok(result);
    }
    if edited.changed {
        let opts = WriteOptions {
            backup,
            ..WriteOptions::default()
        };
        let written =
            remote::write_file_at(ctx, &path, edited.text.as_bytes(), &attrs, &opts, follow).await;
        let outcome = match written {
            Err(RemoteError::Failed { message })
                if message.starts_with("Destination directory") =>
            {
                let dir = path.rsplit_once('/').map_or(".", |(d, _)| d);
                let mut c = Cmd::new("mkdir");
                c.arg("-p").arg("--").arg(dir);
                let out = remote::run(ctx, c.into_string(), None)
                    .await
                    .map_err(conn_err)?;
                if out.rc != 0 {
                    return Err(remote::host_error(&format!("cannot create {dir}"), &out).into());
                }
                remote::write_file_at(ctx, &path, edited.text.as_bytes(), &attrs, &opts, follow)
                    .await?
            }
            other => other?,
        };
        if let Some(b) = outcome.backup_file {
            result.set("backup_file", b);
        }
    } else if !attr_plan.is_empty() {
        remote::apply_attrs(ctx, &path, &attr_plan).await?;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};

    fn spec(section: Option<&str>, option: Option<&str>, values: &[&str]) -> Spec {
        Spec {
            section: section.map(str::to_string),
            section_has_values: Vec::new(),
            option: option.map(str::to_string),
            values: values.iter().map(|v| v.to_string()).collect(),
            present: true,
            exclusive: true,
            no_extra_spaces: false,
            ignore_spaces: false,
            allow_no_value: false,
            modify_inactive_option: true,
        }
    }

    fn run_edit(text: &str, s: &Spec) -> Edited {
        edit(&read_lines(text), s)
    }

    #[test]
    fn new_file_gets_a_leading_blank_line_as_in_ansible() {
        let e = run_edit("", &spec(Some("drinks"), Some("fav"), &["lemonade"]));
        assert_eq!(e.text, "\n[drinks]\nfav = lemonade\n");
        assert_eq!(e.msg, "section and option added");
        assert!(e.changed);
    }

    #[test]
    fn option_added_after_last_non_blank_line() {
        let e = run_edit(
            "[a]\nx = 1\n\n# c\n[b]\ny=2\n",
            &spec(Some("a"), Some("z"), &["3"]),
        );
        assert_eq!(e.text, "[a]\nx = 1\nz = 3\n\n# c\n[b]\ny=2\n");
        assert_eq!(e.msg, "option added");
    }

    #[test]
    fn commented_option_is_reused_unless_told_otherwise() {
        let text = "[a]\n# x = 1\n";
        let e = run_edit(text, &spec(Some("a"), Some("x"), &["2"]));
        assert_eq!(e.text, "[a]\nx = 2\n");
        assert_eq!(e.msg, "option changed");
        let mut s = spec(Some("a"), Some("x"), &["2"]);
        s.modify_inactive_option = false;
        // Inserted after the last line that is neither blank nor a comment: the header.
        assert_eq!(run_edit(text, &s).text, "[a]\nx = 2\n# x = 1\n");
    }

    #[test]
    fn unchanged_and_ignore_spaces() {
        let e = run_edit("[a]\nx = 1\n", &spec(Some("a"), Some("x"), &["1"]));
        assert!(!e.changed);
        assert_eq!(e.msg, "OK");
        let mut s = spec(Some("a"), Some("x"), &["1"]);
        assert!(run_edit("[a]\nx=1\n", &s).changed);
        s.ignore_spaces = true;
        assert!(!run_edit("[a]\nx=1\n", &s).changed);
        s.no_extra_spaces = true;
        s.ignore_spaces = false;
        assert!(!run_edit("[a]\nx=1\n", &s).changed);
    }

    #[test]
    fn values_exclusive_and_not() {
        let text = "[a]\nx = 1\nx = 2\nx = 3\n";
        let e = run_edit(text, &spec(Some("a"), Some("x"), &["2", "4"]));
        assert_eq!(e.text, "[a]\nx = 4\nx = 2\n");
        let mut s = spec(Some("a"), Some("x"), &["4"]);
        s.exclusive = false;
        assert_eq!(run_edit(text, &s).text, "[a]\nx = 1\nx = 2\nx = 3\nx = 4\n");
        // Absent, not exclusive: only the listed values go.
        s.present = false;
        s.values = vec!["1".into(), "3".into()];
        assert_eq!(run_edit(text, &s).text, "[a]\nx = 2\n");
        s.exclusive = true;
        assert_eq!(run_edit(text, &s).text, "[a]\n");
    }

    #[test]
    fn section_removed_and_no_value_options() {
        let mut s = spec(Some("b"), None, &[]);
        s.present = false;
        let e = run_edit("[a]\nx=1\n[b]\ny=2\n[c]\n", &s);
        assert_eq!(e.text, "[a]\nx=1\n[c]\n");
        assert_eq!(e.msg, "section removed");
        let mut s = spec(Some("mysqld"), Some("skip-name-resolve"), &[]);
        s.allow_no_value = true;
        let e = run_edit("[mysqld]\nport = 1\n", &s);
        assert_eq!(e.text, "[mysqld]\nport = 1\nskip-name-resolve\n");
        assert!(!run_edit(&e.text, &s).changed);
    }

    #[test]
    fn options_before_any_section_and_crlf_and_bom() {
        let e = run_edit(
            "\u{feff}top = 1\r\n[a]\r\nx = 1",
            &spec(None, Some("top"), &["2"]),
        );
        assert_eq!(e.text, "top = 2\n[a]\nx = 1\n");
    }

    #[test]
    fn section_has_values_picks_the_right_section() {
        let text = "[peer]\nname = a\nip = 1\n[peer]\nname = b\nip = 2\n";
        let mut s = spec(Some("peer"), Some("ip"), &["9"]);
        s.section_has_values = vec![Condition {
            option: "name".into(),
            values: vec!["b".into()],
        }];
        assert_eq!(
            run_edit(text, &s).text,
            "[peer]\nname = a\nip = 1\n[peer]\nname = b\nip = 9\n"
        );
        s.section_has_values[0].values = vec!["c".into()];
        assert_eq!(
            run_edit(text, &s).text,
            format!("{text}[peer]\nname = c\nip = 9\n")
        );
    }

    #[test]
    fn regex_characters_in_names_are_literal() {
        let e = run_edit(
            "[a.b]\nx.y = 1\nxzy = 2\n",
            &spec(Some("a.b"), Some("x.y"), &["3"]),
        );
        assert_eq!(e.text, "[a.b]\nx.y = 3\nxzy = 2\n");
    }

    /// Every case of tests/fixtures/sysfiles/ini_cases.json, produced by community.general's
    /// own `do_ini` (11.4.2) on the same text and arguments (see ini_cases.py there).
    #[test]
    fn byte_exact_with_community_general() {
        let cases: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../tests/fixtures/sysfiles/ini_cases.json"))
                .unwrap();
        assert!(cases.len() > 30);
        for case in &cases {
            let p = &case["params"];
            let strs = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default()
            };
            let s = Spec {
                section: p["section"].as_str().map(str::to_string),
                section_has_values: p["section_has_values"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|c| Condition {
                                option: c["option"].as_str().unwrap().to_string(),
                                values: strs(&c["values"]),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                option: p["option"].as_str().map(str::to_string),
                values: strs(&p["values"]),
                present: p["state"] == "present",
                exclusive: p["exclusive"].as_bool().unwrap(),
                no_extra_spaces: p["no_extra_spaces"].as_bool().unwrap(),
                ignore_spaces: p["ignore_spaces"].as_bool().unwrap(),
                allow_no_value: p["allow_no_value"].as_bool().unwrap(),
                modify_inactive_option: p["modify_inactive_option"].as_bool().unwrap(),
            };
            let lines = read_lines(case["text"].as_str().unwrap());
            assert_eq!(lines.concat(), case["before"].as_str().unwrap(), "{case}");
            let e = edit(&lines, &s);
            assert_eq!(e.text, case["after"].as_str().unwrap(), "{case}");
            assert_eq!(e.changed, case["changed"].as_bool().unwrap(), "{case}");
            assert_eq!(e.msg, case["msg"].as_str().unwrap(), "{case}");
        }
    }

    #[tokio::test]
    async fn writes_hostile_paths_and_values() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let path = tmp.path().join("sub dir").join(HOSTILE);
        let args = serde_json::json!({
            "path": path.to_str().unwrap(),
            "section": "s $(touch jig-files-pwned) 'q'",
            "option": "o \"d\"",
            "value": "v `touch jig-files-pwned` ünï ✓",
            "mode": "0600",
        });
        let args = ModuleArgs::new(
            "ini_file",
            args.as_object().unwrap().clone().into_iter().collect(),
        );
        let r = IniFile.run(&args, &env.ctx(true, true)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!path.exists());
        let r = IniFile.run(&args, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "\n[s $(touch jig-files-pwned) 'q']\no \"d\" = v `touch jig-files-pwned` ünï ✓\n"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let r = IniFile.run(&args, &env.ctx(false, false)).await.unwrap();
        assert!(!r.changed, "{r:?}");
        assert_not_pwned();
    }
}

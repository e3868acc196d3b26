//! The `ini_file` module (community.general.ini_file): one option of one section of an INI
//! file, set, added or removed, or a whole section added or removed.
//!
//! [`edit`] is the pure part, written from the module's documented behaviour and checked case
//! by case against community.general's own results (tests/fixtures/sysfiles/ini_cases.json).
//! The file is read as Python's text mode reads it ([`normalise`]: byte-order mark dropped,
//! `\r\n` and `\r` become `\n`); a last line without a newline gets one; the part before the
//! first `[section]` header is the "section" `section: null` addresses. Within the chosen
//! section, lines of the option whose value is wanted are kept (rewritten as `option = value`),
//! other lines of the option are reused for the missing values and the rest removed
//! (`exclusive`), and values still missing are added after the section's last non-comment
//! line. Probe, commit, backup and attributes are [`super::textfile`]'s.

use async_trait::async_trait;

use super::textfile::{
    Decision, FILE_ARGS, FileArgs, Stop, Text, edit_file, expand_path, finish, state_present,
};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// `section_has_values`: the section to edit is the one where `option` has every one of
/// `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The option.
    pub option: String,
    /// The values it must have (an empty list: the option is present).
    pub values: Vec<String>,
}

/// What to do to the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniParams {
    /// The section; `None` is the part before the first header.
    pub section: Option<String>,
    /// Which of several sections of the same name.
    pub section_has_values: Vec<Condition>,
    /// The option; `None` addresses the whole section.
    pub option: Option<String>,
    /// The option's values (empty with `allow_no_value`: the option without `=`).
    pub values: Vec<String>,
    /// `state: present` (otherwise `absent`).
    pub present: bool,
    /// Other lines of the option are replaced or removed.
    pub exclusive: bool,
    /// `option=value` instead of `option = value`.
    pub no_extra_spaces: bool,
    /// A line that differs only by spaces around `=` is left alone.
    pub ignore_spaces: bool,
    /// Options without `=` are allowed.
    pub allow_no_value: bool,
    /// Commented-out lines of the option (`# option = x`) are reused and removed too.
    pub modify_inactive_option: bool,
}

/// The outcome of [`edit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniEdit {
    /// The new content.
    pub text: String,
    /// Whether the file changes.
    pub changed: bool,
    /// Ansible's `msg`.
    pub msg: String,
}

/// The text as Python's text mode reads it with `utf-8-sig`: no byte-order mark, `\n` lines.
pub fn normalise(raw: &str) -> String {
    raw.strip_prefix('\u{feff}')
        .unwrap_or(raw)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

/// The section name of a header line (`[ name ]`, optionally followed by a comment).
fn header_name(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?;
    let close = inner.find(']')?;
    let rest = inner[close + 1..].trim();
    if rest.is_empty() || rest.starts_with(['#', ';']) {
        Some(inner[..close].trim())
    } else {
        None
    }
}

fn is_header(line: &str) -> bool {
    line.trim_start().starts_with('[')
}

/// A line with content: neither blank nor a comment.
fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with(['#', ';'])
}

/// A line that sets `option`: `Some(value)` (`None` for the option without `=`). With
/// `inactive`, commented-out lines (`# option = x`, `;option`) count too.
fn option_value(line: &str, option: &str, inactive: bool) -> Option<Option<String>> {
    let mut s = line.trim_start_matches([' ', '\t']);
    if let Some(rest) = s.strip_prefix(['#', ';']) {
        if !inactive {
            return None;
        }
        s = rest.trim_start_matches([' ', '\t']);
    }
    let rest = s.strip_prefix(option)?;
    let rest = rest
        .trim_end_matches(['\n', '\r'])
        .trim_start_matches([' ', '\t']);
    if rest.is_empty() {
        return Some(None);
    }
    rest.strip_prefix('=').map(|v| Some(v.trim().to_string()))
}

/// The line as it compares under `ignore_spaces`: spaces around the first `=` dropped.
fn squeeze(line: &str) -> String {
    match line.split_once('=') {
        Some((l, r)) => format!(
            "{}={}",
            l.trim_end_matches([' ', '\t']),
            r.trim_start_matches([' ', '\t'])
        ),
        None => line.to_string(),
    }
}

struct Editor<'a> {
    p: &'a IniParams,
    lines: Vec<String>,
    changed: bool,
    msg: &'static str,
}

impl Editor<'_> {
    fn assignment(&self, option: &str, value: Option<&str>) -> String {
        match value {
            None => format!("{option}\n"),
            Some(v) if self.p.no_extra_spaces => format!("{option}={v}\n"),
            Some(v) => format!("{option} = {v}\n"),
        }
    }

    /// Replaces line `i` unless it already says that (or, with `ignore_spaces`, says it with
    /// other spaces around `=`).
    fn update(&mut self, i: usize, new: String) {
        let old = &self.lines[i];
        if *old == new || (self.p.ignore_spaces && squeeze(old) == squeeze(&new)) {
            return;
        }
        self.lines[i] = new;
        self.changed = true;
        self.msg = "option changed";
    }

    /// The sections as `(header index, first line, end)`; the part before the first header
    /// has no header.
    fn sections(&self) -> Vec<(Option<usize>, usize, usize)> {
        let headers: Vec<usize> = (0..self.lines.len())
            .filter(|&i| is_header(&self.lines[i]))
            .collect();
        let mut out = vec![(
            None,
            0,
            headers.first().copied().unwrap_or(self.lines.len()),
        )];
        for (n, &h) in headers.iter().enumerate() {
            let end = headers.get(n + 1).copied().unwrap_or(self.lines.len());
            out.push((Some(h), h + 1, end));
        }
        out
    }

    fn has_values(&self, start: usize, end: usize) -> bool {
        self.p.section_has_values.iter().all(|c| {
            let found: Vec<Option<String>> = self.lines[start..end]
                .iter()
                .filter_map(|l| option_value(l, &c.option, false))
                .collect();
            if c.values.is_empty() {
                !found.is_empty()
            } else {
                c.values
                    .iter()
                    .all(|v| found.iter().any(|f| f.as_deref() == Some(v.as_str())))
            }
        })
    }

    fn find_section(&self) -> Option<(Option<usize>, usize, usize)> {
        self.sections().into_iter().find(|&(h, start, end)| {
            let name_matches = match (&self.p.section, h) {
                (None, None) => true,
                (Some(want), Some(h)) => header_name(&self.lines[h]) == Some(want.as_str()),
                _ => false,
            };
            name_matches && (self.p.section.is_none() || self.has_values(start, end))
        })
    }

    fn present(&mut self, option: &str, start: usize, mut end: usize) {
        let mut values: Vec<String> = Vec::new();
        for v in &self.p.values {
            if !values.contains(v) {
                values.push(v.clone());
            }
        }
        let mut kept = vec![false; self.lines.len()];
        let mut no_value_present = false;
        for (i, keep) in kept.iter_mut().enumerate().take(end).skip(start) {
            let Some(found) = option_value(&self.lines[i], option, false) else {
                continue;
            };
            if let Some(pos) = found
                .as_ref()
                .and_then(|f| values.iter().position(|v| v == f))
            {
                let v = values.remove(pos);
                let new = if v.is_empty() && self.p.allow_no_value {
                    self.assignment(option, None)
                } else {
                    self.assignment(option, Some(&v))
                };
                self.update(i, new);
                *keep = true;
            } else if self.p.values.is_empty() && self.p.allow_no_value {
                let new = self.assignment(option, None);
                self.update(i, new);
                *keep = true;
                no_value_present = true;
                break;
            }
        }
        let inactive = self.p.modify_inactive_option;
        if self.p.exclusive && !self.p.allow_no_value {
            for (i, keep) in kept.iter_mut().enumerate().take(end).skip(start) {
                if values.is_empty() {
                    break;
                }
                if !*keep && option_value(&self.lines[i], option, inactive).is_some() {
                    let v = values.remove(0);
                    let new = self.assignment(option, Some(&v));
                    self.update(i, new);
                    *keep = true;
                }
            }
            for i in (start..end).rev() {
                if !kept[i] && option_value(&self.lines[i], option, inactive).is_some() {
                    self.lines.remove(i);
                    end -= 1;
                    self.changed = true;
                    self.msg = "option changed";
                }
            }
        }
        let at = (start..end)
            .rev()
            .find(|&i| is_content(&self.lines[i]))
            .map_or(start, |i| i + 1);
        if !values.is_empty() {
            let new: Vec<String> = values
                .iter()
                .map(|v| self.assignment(option, Some(v)))
                .collect();
            self.lines.splice(at..at, new);
            self.changed = true;
            self.msg = "option added";
        } else if self.p.values.is_empty() && self.p.allow_no_value && !no_value_present {
            let new = self.assignment(option, None);
            self.lines.insert(at, new);
            self.changed = true;
            self.msg = "option added";
        }
    }

    fn absent(&mut self, option: &str, start: usize, end: usize) {
        for i in (start..end).rev() {
            let Some(found) = option_value(&self.lines[i], option, false) else {
                continue;
            };
            let listed = found
                .as_ref()
                .is_some_and(|f| self.p.values.iter().any(|v| v == f));
            if self.p.exclusive || self.p.values.is_empty() || listed {
                self.lines.remove(i);
                self.changed = true;
                self.msg = "option changed";
            }
        }
    }

    /// A section that does not exist yet, with its option and the `section_has_values` lines.
    fn add_section(&mut self, section: &str) {
        self.lines.push(format!("[{section}]\n"));
        let mut option_lines = false;
        let mut own: Vec<String> = self.p.values.clone();
        for c in &self.p.section_has_values {
            if Some(&c.option) == self.p.option.as_ref() {
                own.extend(
                    c.values
                        .iter()
                        .filter(|v| !own.contains(v))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                continue;
            }
            for v in &c.values {
                let line = self.assignment(&c.option, Some(v));
                self.lines.push(line);
            }
        }
        if let Some(option) = &self.p.option {
            if !own.is_empty() {
                for v in &own {
                    let line = self.assignment(option, Some(v));
                    self.lines.push(line);
                }
                option_lines = true;
            } else if self.p.allow_no_value {
                let line = self.assignment(option, None);
                self.lines.push(line);
                option_lines = true;
            }
        }
        self.changed = true;
        self.msg = if option_lines {
            "section and option added"
        } else {
            "only section added"
        };
    }
}

/// Applies `p` to `before` (already [`normalise`]d; empty for a file that does not exist).
pub fn edit(before: &str, p: &IniParams) -> IniEdit {
    let mut lines: Vec<String> = before.split_inclusive('\n').map(str::to_string).collect();
    match lines.last_mut() {
        None => lines.push("\n".to_string()),
        Some(last) if !last.ends_with('\n') => last.push('\n'),
        Some(_) => {}
    }
    let mut ed = Editor {
        p,
        lines,
        changed: false,
        msg: "OK",
    };
    match (ed.find_section(), &p.option) {
        (Some((_, start, end)), Some(option)) if p.present => ed.present(option, start, end),
        (Some((_, start, end)), Some(option)) => ed.absent(option, start, end),
        (Some((Some(h), _, end)), None) if !p.present => {
            ed.lines.drain(h..end);
            ed.changed = true;
            ed.msg = "section removed";
        }
        (Some(_), None) => {}
        (None, _) if p.present => {
            if let Some(section) = &p.section {
                ed.add_section(section);
            }
        }
        (None, _) => {}
    }
    let text = ed.lines.concat();
    // An empty file reads as one empty line, which is not a change by itself.
    let changed = ed.changed || (!before.is_empty() && text != before);
    IniEdit {
        text,
        changed,
        msg: ed.msg.to_string(),
    }
}

/// The `ini_file` module.
pub struct IniFile;

const OWN_ARGS: &[&str] = &[
    "section",
    "section_has_values",
    "option",
    "value",
    "values",
    "state",
    "exclusive",
    "no_extra_spaces",
    "ignore_spaces",
    "allow_no_value",
    "modify_inactive_option",
    "create",
    "follow",
];

fn conditions(args: &ModuleArgs) -> Result<Vec<Condition>, Stop> {
    let Some(raw) = args.get("section_has_values") else {
        return Ok(Vec::new());
    };
    let bad = || {
        Stop::from(args.invalid(
            "section_has_values",
            "must be a list of {option: ..., values: [...]} (or value: ...)",
        ))
    };
    let serde_json::Value::Array(items) = raw else {
        return Err(bad());
    };
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    };
    let mut out = Vec::new();
    for item in items {
        let serde_json::Value::Object(map) = item else {
            return Err(bad());
        };
        let option = map.get("option").and_then(scalar).ok_or_else(bad)?;
        let mut values = Vec::new();
        if let Some(v) = map.get("value").filter(|v| !v.is_null()) {
            values.push(scalar(v).ok_or_else(bad)?);
        }
        if let Some(serde_json::Value::Array(vs)) = map.get("values") {
            for v in vs {
                values.push(scalar(v).ok_or_else(bad)?);
            }
        }
        out.push(Condition { option, values });
    }
    Ok(out)
}

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

/// A string argument where YAML's `null` means "not given" (`section: null`).
fn opt_str(args: &ModuleArgs, name: &str) -> Result<Option<String>, Stop> {
    match args.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(_) => Ok(args.str(name)?),
    }
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    let known: Vec<&str> = FILE_ARGS.iter().chain(OWN_ARGS).copied().collect();
    args.check_known(&known)?;
    let mut fa = FileArgs::from_args(args)?;
    fa.path = expand_path(ctx, &fa.path).await?;
    let present = state_present(args)?;
    if opt_str(args, "value")?.is_some() && args.get("values").is_some() {
        return Err(args
            .error("parameters are mutually exclusive: value|values")
            .into());
    }
    let mut values = args.list("values")?.unwrap_or_default();
    if let Some(v) = opt_str(args, "value")? {
        values = vec![v];
    }
    let allow_no_value = args.bool_or("allow_no_value", false)?;
    let option = opt_str(args, "option")?;
    if present && !allow_no_value && values.is_empty() && option.is_some() {
        return Err(Stop::Fail(
            "Parameter 'value(s)' must be defined if state=present and allow_no_value=False."
                .into(),
        ));
    }
    let params = IniParams {
        section: opt_str(args, "section")?,
        section_has_values: conditions(args)?,
        option,
        values,
        present,
        exclusive: args.bool_or("exclusive", true)?,
        no_extra_spaces: args.bool_or("no_extra_spaces", false)?,
        ignore_spaces: args.bool_or("ignore_spaces", false)?,
        allow_no_value,
        modify_inactive_option: args.bool_or("modify_inactive_option", true)?,
    };
    let create = args.bool_or("create", true)?;
    let path = fa.path.clone();
    let header = format!("{path} (content)");
    let decide = |current: Option<&Text>| -> Result<Decision<()>, Stop> {
        let mut result = ModuleResult::default();
        result.set("path", path.clone());
        let before = match current {
            Some(t) => normalise(&t.text),
            None if !present => {
                result.msg = Some("OK".into());
                return Ok(Decision::Done(result));
            }
            None if !create => {
                let mut r = ModuleResult::failed(format!("Destination {path} does not exist!"));
                r.set("rc", 257);
                return Ok(Decision::Done(r));
            }
            None => String::new(),
        };
        let e = edit(&before, &params);
        result.changed = e.changed;
        result.msg = Some(e.msg);
        if ctx.diff_mode && e.changed {
            result.diffs.push(Diff::Text {
                before_header: header.clone(),
                after_header: header.clone(),
                before,
                after: e.text.clone(),
            });
        }
        let new_content = e.changed.then(|| e.text.into_bytes());
        Ok(Decision::Commit {
            result,
            new_content,
            then: (),
        })
    };
    Ok(edit_file(ctx, &fa, true, |b| Ok(Text::decode(b)), decide)
        .await?
        .into_result())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &serde_json::Value) -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn params(p: &serde_json::Value) -> IniParams {
        let s = |k: &str| p[k].as_str().map(str::to_string);
        let b = |k: &str| p[k].as_bool().unwrap_or(false);
        IniParams {
            section: s("section"),
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
            option: s("option"),
            values: strs(&p["values"]),
            present: p["state"] == "present",
            exclusive: b("exclusive"),
            no_extra_spaces: b("no_extra_spaces"),
            ignore_spaces: b("ignore_spaces"),
            allow_no_value: b("allow_no_value"),
            modify_inactive_option: b("modify_inactive_option"),
        }
    }

    /// Every case community.general's ini_file was run on gives the same text, change and
    /// message here.
    #[test]
    fn every_recorded_case_matches_community_general() {
        let cases: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/sysfiles/ini_cases.json"))
                .unwrap();
        let cases = cases.as_array().unwrap();
        assert_eq!(cases.len(), 39);
        for (i, c) in cases.iter().enumerate() {
            let p = params(&c["params"]);
            let before = normalise(c["text"].as_str().unwrap());
            assert_eq!(before, c["before"].as_str().unwrap(), "case {i}: before");
            let e = edit(&before, &p);
            assert_eq!(e.text, c["after"].as_str().unwrap(), "case {i}: {p:?}");
            assert_eq!(
                e.changed,
                c["changed"].as_bool().unwrap(),
                "case {i}: changed"
            );
            assert_eq!(e.msg, c["msg"].as_str().unwrap(), "case {i}: msg");
            // Converged: a second run changes nothing.
            if e.changed {
                let again = edit(&e.text, &p);
                assert!(
                    !again.changed || !p.present,
                    "case {i}: second run {again:?}"
                );
            }
        }
    }

    fn base() -> IniParams {
        IniParams {
            section: Some("a".into()),
            section_has_values: Vec::new(),
            option: Some("x".into()),
            values: vec!["1".into()],
            present: true,
            exclusive: true,
            no_extra_spaces: false,
            ignore_spaces: false,
            allow_no_value: false,
            modify_inactive_option: true,
        }
    }

    /// What community.general did on these (observed with ansible-playbook 2.19 and
    /// community.general 11.4.2).
    #[test]
    fn observed_behaviour() {
        // Absent with exclusive removes every line of the option, whatever `values` says.
        let p = IniParams {
            present: false,
            ..base()
        };
        let e = edit("[a]\nx = 1\nx = 2\nx = 3\n", &p);
        assert_eq!(
            (e.text.as_str(), e.msg.as_str()),
            ("[a]\n", "option changed")
        );
        // Absent on an empty file is not a change.
        let e = edit("", &p);
        assert!(!e.changed);
        // Commented-out lines of the option go when the option is set exclusively.
        let e = edit("[a]\nx = 1\n# x = 0\n;x=5\n", &base());
        assert_eq!(e.text, "[a]\nx = 1\n");
    }

    #[test]
    fn hostile_values_stay_text() {
        let p = IniParams {
            section: Some("s p'a\"ce $(touch PWNED)".into()),
            option: Some("k ü".into()),
            values: vec!["`id` $(touch PWNED) 'q' \"d\"".into()],
            ..base()
        };
        let e = edit("", &p);
        assert_eq!(
            e.text,
            "\n[s p'a\"ce $(touch PWNED)]\nk ü = `id` $(touch PWNED) 'q' \"d\"\n"
        );
        assert!(!edit(&e.text, &p).changed);
    }
}

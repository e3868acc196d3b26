//! The `lineinfile` module: make sure one line is in a file (or no line matching a pattern).
//!
//! The edit is a pure function over the file's text ([`present`], [`absent`]) that follows
//! ansible.builtin.lineinfile (2.19) line for line in behaviour: which line a `regexp`,
//! `search_string` or exact line selects, where `insertafter`/`insertbefore` put a new line,
//! `firstmatch`, `backrefs`, and how files without a final newline or with `\r\n` endings are
//! treated. One deliberate difference: when `insertafter` matches the last line and that line
//! has no newline, Ansible glues the new line onto it (`"bnew"`); jig adds the newline first.
//!
//! The module around it probes the file in one round trip, plans on the controller and writes
//! atomically (see [`super::textfile`]).

use async_trait::async_trait;

use super::pyregex::{Dollar, PyRegex, Template};
use super::textfile::{
    Decision, Edit, Edited, FILE_ARGS, FileArgs, Stop, Text, add_warnings, edit_file, expand_path,
    finish, readlines, strip_eol, text_diff,
};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `lineinfile` module.
pub struct LineInFile;

const KNOWN: &[&str] = &[
    "state",
    "regexp",
    "regex",
    "search_string",
    "line",
    "value",
    "insertafter",
    "insertbefore",
    "backrefs",
    "create",
    "firstmatch",
];

#[async_trait]
impl Module for LineInFile {
    fn name(&self) -> &'static str {
        "lineinfile"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

/// Arguments that cannot be given together, in Ansible's words.
fn exclusive(args: &ModuleArgs, pairs: &[(&str, &str)]) -> Result<(), Stop> {
    for (a, b) in pairs {
        if args.get(a).is_some() && args.get(b).is_some() {
            return Err(args
                .error(format!("parameters are mutually exclusive: {a}|{b}"))
                .into());
        }
    }
    Ok(())
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    let known: Vec<&str> = KNOWN.iter().chain(FILE_ARGS).copied().collect();
    args.check_known(&known)?;
    let mut fa = FileArgs::from_args(args)?;
    fa.path = expand_path(ctx, &fa.path).await?;
    let regexp = match args.get_any(&["regexp", "regex"]) {
        Some((name, _)) => args.str(name)?,
        None => None,
    };
    let line = match args.get_any(&["line", "value"]) {
        Some((name, _)) => args.str(name)?,
        None => None,
    };
    exclusive(
        args,
        &[
            ("insertbefore", "insertafter"),
            ("regexp", "search_string"),
            ("backrefs", "search_string"),
        ],
    )?;
    let search = args.str("search_string")?;
    let after = args.str("insertafter")?;
    let before = args.str("insertbefore")?;
    let backrefs = args.bool_or("backrefs", false)?;
    let create = args.bool_or("create", false)?;
    let firstmatch = args.bool_or("firstmatch", false)?;
    let present_state = match args.str("state")?.as_deref() {
        None | Some("present") => true,
        Some("absent") => false,
        Some(other) => {
            return Err(args
                .invalid(
                    "state",
                    format!("must be one of: absent, present, got: {other}"),
                )
                .into());
        }
    };

    let mut warnings = Vec::new();
    if regexp.as_deref() == Some("") {
        warnings.push(
            "The regular expression is an empty string, which will match every line in the file. \
             This may have unintended consequences, such as replacing the last line in the file \
             rather than appending. If this is desired, use '^' to match every line in the file \
             and avoid this warning."
                .to_string(),
        );
    } else if search.as_deref() == Some("") {
        warnings.push(
            "The search string is an empty string, which will match every line in the file. \
             This may have unintended consequences, such as replacing the last line in the file \
             rather than appending."
                .to_string(),
        );
    }
    if present_state {
        if backrefs && regexp.is_none() {
            return Err(Stop::Fail("regexp is required with backrefs=true".into()));
        }
        if line.is_none() {
            return Err(Stop::Fail("line is required with state=present".into()));
        }
    } else if regexp.is_none() && search.is_none() && line.is_none() {
        return Err(Stop::Fail(
            "one of line, search_string, or regexp is required with state=absent".into(),
        ));
    }

    let decide = |current: Option<&Text>| -> Result<Decision<Option<usize>>, Stop> {
        let text = match current {
            Some(t) => t.clone(),
            None if !present_state => {
                let mut r = ModuleResult::ok();
                r.msg = Some("file not present".into());
                return Ok(Decision::Done(r));
            }
            None if !create => {
                let mut r =
                    ModuleResult::failed(format!("Destination {} does not exist !", fa.path));
                r.set("rc", 257);
                return Ok(Decision::Done(r));
            }
            None => Text::decode(b""),
        };
        let compile = |p: &str| PyRegex::compile(&text.adapt(p), Dollar::Line, false);
        let selector = match (&regexp, &search) {
            (Some(r), _) => Selector::Regexp(compile(r).map_err(Stop::Fail)?),
            (None, Some(s)) => Selector::Search(text.adapt(s)),
            (None, None) => Selector::Line,
        };
        let edit = if present_state {
            let adapt = |o: &Option<String>| o.as_deref().map(|v| text.adapt(v));
            let insert = Insert::parse(adapt(&after).as_deref(), adapt(&before).as_deref())
                .map_err(Stop::Fail)?;
            let spec = Present {
                selector,
                line: text.adapt(line.as_deref().unwrap_or_default()),
                insert,
                backrefs,
                firstmatch,
            };
            present(&text.text, &spec).map_err(Stop::Fail)?
        } else {
            let line = line.as_deref().map(|l| text.adapt(l));
            absent(&text.text, &selector, line.as_deref()).map_err(Stop::Fail)?
        };

        let mut result = ModuleResult {
            changed: edit.changed,
            msg: Some(edit.msg.clone()),
            ..ModuleResult::default()
        };
        if edit.changed && ctx.diff_mode {
            result.diffs.push(text_diff(
                format!("{} (content)", fa.path),
                &text,
                &edit.text,
            ));
        }
        let new_content = if edit.changed {
            Some(text.encode(&edit.text).map_err(Stop::Fail)?)
        } else {
            None
        };
        Ok(Decision::Commit {
            result,
            new_content,
            then: edit.found,
        })
    };
    let (mut result, backup, found) =
        match edit_file(ctx, &fa, true, |b| Ok(Text::decode(b)), decide).await? {
            Edited::Done(r) => return Ok(r),
            Edited::Committed {
                result,
                backup,
                then,
            } => (result, backup, then),
        };
    result.set("backup", backup.unwrap_or_default());
    if let Some(found) = found {
        result.set("found", found);
    }
    add_warnings(&mut result, &warnings);
    Ok(result)
}

/// What selects the line to replace (or the lines to remove).
#[derive(Debug)]
pub enum Selector {
    /// `regexp`: a Python regular expression searched in each line.
    Regexp(PyRegex),
    /// `search_string`: a literal substring of the line.
    Search(String),
    /// Neither: only a line equal to `line` counts.
    Line,
}

/// Where a new line goes when nothing was selected.
#[derive(Debug)]
pub enum Insert {
    /// `insertafter: EOF` (the default).
    AfterEof,
    /// `insertafter: BOF` or `insertbefore: BOF`.
    Bof,
    /// `insertafter: REGEX`: after the last (or first) matching line.
    After(PyRegex),
    /// `insertbefore: REGEX`: before the last (or first) matching line.
    Before(PyRegex),
}

impl Insert {
    /// Reads `insertafter`/`insertbefore` as Ansible does: `EOF`/`BOF` are keywords for
    /// `insertafter`, only `BOF` is one for `insertbefore` (`insertbefore: EOF` is a regex).
    pub fn parse(after: Option<&str>, before: Option<&str>) -> Result<Insert, String> {
        Ok(match (after, before) {
            (Some(_), Some(_)) => {
                return Err("insertafter and insertbefore are mutually exclusive".to_string());
            }
            (None, None) | (Some("EOF"), None) => Insert::AfterEof,
            (Some("BOF"), None) | (None, Some("BOF")) => Insert::Bof,
            (Some(re), None) => Insert::After(PyRegex::compile(re, Dollar::Line, false)?),
            (None, Some(re)) => Insert::Before(PyRegex::compile(re, Dollar::Line, false)?),
        })
    }
}

/// `state: present`.
#[derive(Debug)]
pub struct Present {
    /// Which existing line to replace.
    pub selector: Selector,
    /// The line wanted (a template when `backrefs`).
    pub line: String,
    /// Where to add it if no line was selected.
    pub insert: Insert,
    /// Expand `\1`, `\g<name>` in `line` from the regexp's match; leave the file alone when
    /// the regexp does not match.
    pub backrefs: bool,
    /// Use the first matching line instead of the last.
    pub firstmatch: bool,
}

/// Applies `state: present` to a file's text.
pub fn present(text: &str, p: &Present) -> Result<Edit, String> {
    let mut lines = readlines(text);
    let line = p.line.as_str();

    // The line the selector picked, if any.
    let mut selected: Option<usize> = None;
    match &p.selector {
        Selector::Regexp(re) => {
            for (i, l) in lines.iter().enumerate() {
                if re.is_match(l)? {
                    selected = Some(i);
                    if p.firstmatch {
                        break;
                    }
                }
            }
        }
        Selector::Search(s) => {
            for (i, l) in lines.iter().enumerate() {
                if l.contains(s.as_str()) {
                    selected = Some(i);
                    if p.firstmatch {
                        break;
                    }
                }
            }
        }
        Selector::Line => {}
    }

    // Nothing selected: look for the exact line, and for the insertion anchor.
    let mut exact: Option<usize> = None;
    let mut anchor: Option<usize> = None;
    if selected.is_none() {
        for (i, l) in lines.iter().enumerate() {
            if strip_eol(l) == line {
                exact = Some(i);
                continue;
            }
            match &p.insert {
                Insert::After(re) if re.is_match(l)? => {
                    anchor = Some(i + 1);
                    if p.firstmatch {
                        break;
                    }
                }
                Insert::Before(re) if re.is_match(l)? => {
                    anchor = Some(i);
                    if p.firstmatch {
                        break;
                    }
                }
                _ => {}
            }
        }
    }

    let added = |text: Vec<String>| Edit {
        text: text.concat(),
        changed: true,
        msg: "line added".to_string(),
        found: None,
    };
    let unchanged = || Edit {
        text: text.to_string(),
        changed: false,
        msg: String::new(),
        found: None,
    };

    if let Some(i) = selected.or(exact) {
        let mut new_line = match (&p.selector, p.backrefs, selected) {
            (Selector::Regexp(re), true, Some(_)) => {
                let template = Template::parse(line, re)?;
                match re.search(&lines[i])? {
                    Some(caps) => template.expand(&caps),
                    None => line.to_string(),
                }
            }
            _ => line.to_string(),
        };
        if !new_line.ends_with('\n') {
            new_line.push('\n');
        }
        if lines[i] == new_line {
            return Ok(unchanged());
        }
        lines[i] = new_line;
        return Ok(Edit {
            text: lines.concat(),
            changed: true,
            msg: "line replaced".to_string(),
            found: None,
        });
    }
    if p.backrefs {
        // Without a match there is nothing to fill the back-references with.
        return Ok(unchanged());
    }
    let new_line = format!("{line}\n");
    match (&p.insert, anchor) {
        (Insert::Bof, _) => {
            lines.insert(0, new_line);
            Ok(added(lines))
        }
        (Insert::AfterEof, _) | (_, None) => {
            ensure_final_newline(&mut lines);
            lines.push(new_line);
            Ok(added(lines))
        }
        (Insert::After(_), Some(at)) => {
            if at == lines.len() {
                if strip_eol(&lines[at - 1]) == line {
                    return Ok(unchanged());
                }
                ensure_final_newline(&mut lines);
                lines.push(new_line);
            } else {
                if strip_eol(&lines[at]) == line {
                    return Ok(unchanged());
                }
                lines.insert(at, new_line);
            }
            Ok(added(lines))
        }
        (Insert::Before(_), Some(at)) => {
            lines.insert(at, new_line);
            Ok(added(lines))
        }
    }
}

/// Python's check `lines[-1][-1:] in (b'\n', b'\r')`: a last line ending in either keeps its
/// ending; otherwise a newline is added.
fn ensure_final_newline(lines: &mut [String]) {
    if let Some(last) = lines.last_mut()
        && !last.ends_with(['\n', '\r'])
    {
        last.push('\n');
    }
}

/// Applies `state: absent`: removes every line the selector (or, with [`Selector::Line`], the
/// exact `line`) matches.
pub fn absent(text: &str, selector: &Selector, line: Option<&str>) -> Result<Edit, String> {
    let mut kept = Vec::new();
    let mut found = 0;
    for l in readlines(text) {
        let hit = match selector {
            Selector::Regexp(re) => re.is_match(&l)?,
            Selector::Search(s) => l.contains(s.as_str()),
            Selector::Line => line.is_some_and(|want| strip_eol(&l) == want),
        };
        if hit {
            found += 1;
        } else {
            kept.push(l);
        }
    }
    Ok(Edit {
        text: kept.concat(),
        changed: found > 0,
        msg: if found > 0 {
            format!("{found} line(s) removed")
        } else {
            String::new()
        },
        found: Some(found),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        before: &'static str,
        regexp: Option<&'static str>,
        search: Option<&'static str>,
        line: &'static str,
        after: Option<&'static str>,
        before_re: Option<&'static str>,
        backrefs: bool,
        firstmatch: bool,
    }

    const BASE: Case = Case {
        before: "",
        regexp: None,
        search: None,
        line: "",
        after: None,
        before_re: None,
        backrefs: false,
        firstmatch: false,
    };

    fn run(c: &Case) -> Edit {
        let selector = match (c.regexp, c.search) {
            (Some(r), None) => Selector::Regexp(PyRegex::compile(r, Dollar::Line, false).unwrap()),
            (None, Some(s)) => Selector::Search(s.to_string()),
            _ => Selector::Line,
        };
        let p = Present {
            selector,
            line: c.line.to_string(),
            insert: Insert::parse(c.after, c.before_re).unwrap(),
            backrefs: c.backrefs,
            firstmatch: c.firstmatch,
        };
        present(c.before, &p).unwrap()
    }

    /// (case, expected text, expected msg). Expected values were taken from running
    /// ansible-core 2.19's lineinfile on the same input.
    fn check(c: Case, want: &str, msg: &str) {
        let e = run(&c);
        assert_eq!(e.text, want, "input {:?} line {:?}", c.before, c.line);
        assert_eq!(e.msg, msg, "input {:?} line {:?}", c.before, c.line);
        assert_eq!(e.changed, !msg.is_empty());
        // Idempotence: a second run changes nothing.
        let again = run(&Case {
            before: Box::leak(e.text.clone().into_boxed_str()),
            ..c
        });
        assert!(
            !again.changed,
            "second run changed {:?} -> {:?}",
            e.text, again.text
        );
    }

    #[test]
    fn sshd_config_regexp_replaces_the_last_match() {
        let cfg = "#PermitRootLogin prohibit-password\nPort 22\nPermitRootLogin yes\n";
        check(
            Case {
                before: cfg,
                regexp: Some("^#?PermitRootLogin"),
                line: "PermitRootLogin no",
                ..BASE
            },
            "#PermitRootLogin prohibit-password\nPort 22\nPermitRootLogin no\n",
            "line replaced",
        );
        check(
            Case {
                before: cfg,
                regexp: Some("^#?PermitRootLogin"),
                line: "PermitRootLogin no",
                firstmatch: true,
                ..BASE
            },
            "PermitRootLogin no\nPort 22\nPermitRootLogin yes\n",
            "line replaced",
        );
    }

    #[test]
    fn line_already_present_is_left_alone() {
        let e = run(&Case {
            before: "a\nPort 22\n",
            regexp: Some("^Port "),
            line: "Port 22",
            ..BASE
        });
        assert!(!e.changed);
        assert_eq!(e.text, "a\nPort 22\n");
        assert_eq!(e.msg, "");
    }

    #[test]
    fn hosts_line_appended_at_eof() {
        check(
            Case {
                before: "127.0.0.1 localhost\n",
                regexp: Some(r"^10\.0\.0\.5\s"),
                line: "10.0.0.5 db.example.org db",
                ..BASE
            },
            "127.0.0.1 localhost\n10.0.0.5 db.example.org db\n",
            "line added",
        );
        // Missing final newline: one is added before the new line.
        check(
            Case {
                before: "127.0.0.1 localhost",
                line: "10.0.0.5 db",
                ..BASE
            },
            "127.0.0.1 localhost\n10.0.0.5 db\n",
            "line added",
        );
        // Empty file.
        check(Case { line: "x", ..BASE }, "x\n", "line added");
    }

    #[test]
    fn backrefs() {
        check(
            Case {
                before: "host=old\nport=1\n",
                regexp: Some(r"^(host=).*"),
                line: r"\g<1>new.example.org",
                backrefs: true,
                ..BASE
            },
            "host=new.example.org\nport=1\n",
            "line replaced",
        );
        check(
            Case {
                before: "ListenAddress 0.0.0.0  # all\n",
                regexp: Some(r"^(ListenAddress)\s+\S+(\s*#.*)?$"),
                line: r"\1 10.1.2.3\2",
                backrefs: true,
                ..BASE
            },
            "ListenAddress 10.1.2.3  # all\n",
            "line replaced",
        );
        // No match: nothing happens, even though the line is missing.
        let e = run(&Case {
            before: "a\n",
            regexp: Some(r"^(host=).*"),
            line: r"\1x",
            backrefs: true,
            ..BASE
        });
        assert!(!e.changed);
        assert_eq!(e.text, "a\n");
    }

    #[test]
    fn insertafter_and_insertbefore() {
        let f = "[main]\na=1\n[other]\nb=2\n[main]\nc=3\n";
        check(
            Case {
                before: f,
                line: "x=9",
                after: Some(r"^\[main\]"),
                ..BASE
            },
            "[main]\na=1\n[other]\nb=2\n[main]\nx=9\nc=3\n",
            "line added",
        );
        check(
            Case {
                before: f,
                line: "x=9",
                after: Some(r"^\[main\]"),
                firstmatch: true,
                ..BASE
            },
            "[main]\nx=9\na=1\n[other]\nb=2\n[main]\nc=3\n",
            "line added",
        );
        check(
            Case {
                before: f,
                line: "x=9",
                before_re: Some(r"^\[main\]"),
                ..BASE
            },
            "[main]\na=1\n[other]\nb=2\nx=9\n[main]\nc=3\n",
            "line added",
        );
        check(
            Case {
                before: f,
                line: "x=9",
                before_re: Some(r"^\[main\]"),
                firstmatch: true,
                ..BASE
            },
            "x=9\n[main]\na=1\n[other]\nb=2\n[main]\nc=3\n",
            "line added",
        );
        check(
            Case {
                before: "a\nb\n",
                line: "x",
                after: Some("BOF"),
                ..BASE
            },
            "x\na\nb\n",
            "line added",
        );
        check(
            Case {
                before: "a\nb\n",
                line: "x",
                before_re: Some("BOF"),
                ..BASE
            },
            "x\na\nb\n",
            "line added",
        );
        // The anchor matches nothing: the line goes to the end.
        check(
            Case {
                before: "a\nb",
                line: "x",
                before_re: Some("^zzz"),
                ..BASE
            },
            "a\nb\nx\n",
            "line added",
        );
        // Regexp given but not found: insertafter decides.
        check(
            Case {
                before: "a\nb\nc\n",
                regexp: Some("^x="),
                line: "x=1",
                after: Some("^a"),
                ..BASE
            },
            "a\nx=1\nb\nc\n",
            "line added",
        );
        // insertbefore: EOF is a regex in Ansible, not a keyword.
        check(
            Case {
                before: "a\nEOF here\n",
                line: "x",
                before_re: Some("EOF"),
                ..BASE
            },
            "a\nx\nEOF here\n",
            "line added",
        );
    }

    #[test]
    fn insertafter_the_last_line_without_newline() {
        // Ansible gives "a\nbnew\n" here; jig keeps the lines apart (documented above).
        check(
            Case {
                before: "a\nb",
                line: "new",
                after: Some("^b"),
                ..BASE
            },
            "a\nb\nnew\n",
            "line added",
        );
    }

    #[test]
    fn search_string_is_literal() {
        check(
            Case {
                before: "a.b = 1\naxb = 2\n",
                search: Some("a.b ="),
                line: "a.b = 3",
                ..BASE
            },
            "a.b = 3\naxb = 2\n",
            "line replaced",
        );
    }

    #[test]
    fn crlf_files_are_treated_as_ansible_does() {
        // The exact line is found but its "\r\n" differs from "\n": Ansible rewrites it once.
        check(
            Case {
                before: "a\r\nb\r\n",
                line: "a",
                ..BASE
            },
            "a\nb\r\n",
            "line replaced",
        );
        // A last line ending in a lone "\r" counts as terminated (and, as in Ansible, "\r"
        // alone does not end a line when searching, so this is not idempotent).
        let e = run(&Case {
            before: "a\r",
            line: "b",
            ..BASE
        });
        assert_eq!((e.text.as_str(), e.msg.as_str()), ("a\rb\n", "line added"));
    }

    #[test]
    fn hostile_values_are_just_text() {
        let line = "x='$(touch /tmp/pwned)' \"quoted\" ✓ `id`";
        check(
            Case {
                before: "a\n",
                line: Box::leak(line.to_string().into_boxed_str()),
                ..BASE
            },
            &format!("a\n{line}\n"),
            "line added",
        );
    }

    #[test]
    fn absent_removes_every_match() {
        let sel = Selector::Regexp(PyRegex::compile("^#", Dollar::Line, false).unwrap());
        let e = absent("#a\nb\n#c\n", &sel, None).unwrap();
        assert_eq!(e.text, "b\n");
        assert_eq!(e.msg, "2 line(s) removed");
        assert_eq!(e.found, Some(2));
        let e = absent("a\r\nb\n", &Selector::Line, Some("a")).unwrap();
        assert_eq!(e.text, "b\n");
        let e = absent("a.b\naxb\n", &Selector::Search("a.b".into()), None).unwrap();
        assert_eq!(e.text, "axb\n");
        let e = absent("a\n", &Selector::Line, Some("zzz")).unwrap();
        assert!(!e.changed);
        assert_eq!(e.msg, "");
        assert_eq!(e.found, Some(0));
    }

    mod module {
        //! The module on the local connection, in temporary directories.

        use std::os::unix::fs::PermissionsExt;

        use serde_json::{Value as Json, json};

        use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
        use crate::modules::{Diff, Module, ModuleArgs, ModuleResult};

        use super::super::LineInFile;

        async fn lif(env: &Env, check: bool, args: Json) -> ModuleResult {
            let map = args.as_object().unwrap().clone().into_iter().collect();
            let args = ModuleArgs::new("lineinfile", map);
            LineInFile.run(&args, &env.ctx(check, true)).await.unwrap()
        }

        #[tokio::test]
        async fn edits_sshd_config_and_is_idempotent() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("sshd_config");
            std::fs::write(&f, "Port 22\n#PermitRootLogin yes\nUsePAM yes\n").unwrap();
            let args =
                json!({"path": f, "regexp": "^#?PermitRootLogin", "line": "PermitRootLogin no"});
            let r = lif(&env, false, args.clone()).await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(r.msg.as_deref(), Some("line replaced"));
            assert_eq!(r.values["backup"], json!(""));
            assert_eq!(
                std::fs::read_to_string(&f).unwrap(),
                "Port 22\nPermitRootLogin no\nUsePAM yes\n"
            );
            match &r.diffs[0] {
                Diff::Text {
                    before_header,
                    before,
                    after,
                    ..
                } => {
                    assert_eq!(before_header, &format!("{} (content)", f.display()));
                    assert!(before.contains("#PermitRootLogin yes"));
                    assert!(after.contains("PermitRootLogin no"));
                }
                other => panic!("{other:?}"),
            }
            let r = lif(&env, false, args).await;
            assert!(!r.changed, "{r:?}");
            assert_eq!(r.msg.as_deref(), Some(""));
            assert!(r.diffs.is_empty());
        }

        #[tokio::test]
        async fn check_mode_predicts_without_writing() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("hosts");
            std::fs::write(&f, "127.0.0.1 localhost\n").unwrap();
            let r = lif(&env, true, json!({"path": f, "line": "10.0.0.5 db"})).await;
            assert!(r.changed);
            assert_eq!(r.msg.as_deref(), Some("line added"));
            assert_eq!(
                std::fs::read_to_string(&f).unwrap(),
                "127.0.0.1 localhost\n"
            );
            // A file that would be created is not created.
            let g = tmp.path().join("sub/new.conf");
            let r = lif(&env, true, json!({"path": g, "line": "x", "create": true})).await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert!(!g.exists() && !tmp.path().join("sub").exists());
        }

        #[tokio::test]
        async fn create_makes_parents_and_sets_mode() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("a/b/limits.conf");
            let r = lif(
                &env,
                false,
                json!({"dest": f, "line": "* soft nofile 4096", "create": "yes", "mode": "0600"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(std::fs::read_to_string(&f).unwrap(), "* soft nofile 4096\n");
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, 0o600);
        }

        #[tokio::test]
        async fn missing_file_without_create_fails_like_ansible() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("nope");
            let r = lif(&env, false, json!({"path": f, "line": "x"})).await;
            assert!(r.failed);
            assert_eq!(
                r.msg,
                Some(format!("Destination {} does not exist !", f.display()))
            );
            assert_eq!(r.values["rc"], json!(257));
            let r = lif(
                &env,
                false,
                json!({"path": f, "line": "x", "state": "absent"}),
            )
            .await;
            assert!(!r.failed && !r.changed);
            assert_eq!(r.msg.as_deref(), Some("file not present"));
            let r = lif(&env, false, json!({"path": tmp.path(), "line": "x"})).await;
            assert!(r.failed);
            assert_eq!(
                r.msg,
                Some(format!("Path {} is a directory !", tmp.path().display()))
            );
        }

        #[tokio::test]
        async fn paths_expand_variables_and_tilde_on_the_host() {
            let tmp = tempfile::tempdir().unwrap();
            let mut env = Env::new(tmp.path());
            env.env
                .insert("JIG_DIR".into(), tmp.path().display().to_string());
            let r = lif(
                &env,
                false,
                json!({"path": "$JIG_DIR/a b", "line": "x", "create": true}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(
                std::fs::read_to_string(tmp.path().join("a b")).unwrap(),
                "x\n"
            );
            let r = lif(&env, false, json!({"path": "${JIG_DIR}/a b", "line": "x"})).await;
            assert!(!r.changed && !r.failed, "{r:?}");
            // An unset variable stays as text, as Python's expandvars leaves it.
            let r = lif(&env, false, json!({"path": "$JIG_NOT_SET/x", "line": "x"})).await;
            assert_eq!(
                r.msg.as_deref(),
                Some("Destination $JIG_NOT_SET/x does not exist !")
            );
            // `~` is the home directory of the user the module runs as.
            let r = lif(
                &env,
                true,
                json!({"path": "~/jig-no-such-file", "line": "x"}),
            )
            .await;
            let home = std::env::var("HOME").unwrap();
            assert_eq!(
                r.msg,
                Some(format!(
                    "Destination {home}/jig-no-such-file does not exist !"
                ))
            );
        }

        #[tokio::test]
        async fn only_the_mode_changes() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("f");
            std::fs::write(&f, "x\n").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
            let r = lif(&env, false, json!({"path": f, "line": "x", "mode": "0640"})).await;
            assert!(r.changed);
            assert_eq!(
                r.msg.as_deref(),
                Some("ownership, perms or SE linux context changed")
            );
            assert!(matches!(&r.diffs[0], Diff::Fields { after, .. } if after["mode"] == "0640"));
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, 0o640);
            // Both content and mode.
            let r = lif(
                &env,
                false,
                json!({"path": f, "line": "y", "mode": "u=rw,g=,o="}),
            )
            .await;
            assert_eq!(
                r.msg.as_deref(),
                Some("line added and ownership, perms or SE linux context changed")
            );
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, 0o600);
        }

        #[tokio::test]
        async fn validate_and_backup() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("sudoers");
            std::fs::write(&f, "root ALL=(ALL) ALL\n").unwrap();
            // A validator that rejects everything leaves the file alone.
            let r = lif(
                &env,
                false,
                json!({"path": f, "line": "bad", "validate": "grep -q nomatch %s"}),
            )
            .await;
            assert!(r.failed, "{r:?}");
            assert!(
                r.msg.as_deref().unwrap().contains("failed to validate"),
                "{r:?}"
            );
            assert_eq!(std::fs::read_to_string(&f).unwrap(), "root ALL=(ALL) ALL\n");
            let r = lif(
                &env,
                false,
                json!({"path": f, "line": "%admin ALL=(ALL) ALL", "validate": "grep -q admin %s", "backup": true}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            let backup = r.values["backup"].as_str().unwrap().to_string();
            assert!(backup.starts_with(&format!("{}.", f.display())), "{backup}");
            assert_eq!(
                std::fs::read_to_string(&backup).unwrap(),
                "root ALL=(ALL) ALL\n"
            );
            assert_eq!(
                std::fs::read_to_string(&f).unwrap(),
                "root ALL=(ALL) ALL\n%admin ALL=(ALL) ALL\n"
            );
        }

        #[tokio::test]
        async fn hostile_names_and_lines() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join(HOSTILE);
            let line = "x='$(touch /tmp/jig-files-pwned)' `touch jig-files-pwned` \"q\" ✓\nsecond";
            let r = lif(
                &env,
                false,
                json!({"path": f, "line": line, "create": true}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(std::fs::read_to_string(&f).unwrap(), format!("{line}\n"));
            assert_not_pwned();
        }

        #[tokio::test]
        async fn absent_counts_and_non_utf8_bytes_survive() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("latin1.conf");
            std::fs::write(&f, b"caf\xe9=1\n#old\nk=\xff\n#older\n").unwrap();
            let r = lif(
                &env,
                false,
                json!({"path": f, "regexp": "^#", "state": "absent"}),
            )
            .await;
            assert!(r.changed);
            assert_eq!(r.msg.as_deref(), Some("2 line(s) removed"));
            assert_eq!(r.values["found"], json!(2));
            assert_eq!(std::fs::read(&f).unwrap(), b"caf\xe9=1\nk=\xff\n");
            let r = lif(&env, false, json!({"path": f, "line": "grüße=✓"})).await;
            assert!(r.changed);
            assert_eq!(
                std::fs::read(&f).unwrap(),
                [b"caf\xe9=1\nk=\xff\n".as_slice(), "grüße=✓\n".as_bytes()].concat()
            );
        }

        #[tokio::test]
        async fn argument_errors() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("f");
            std::fs::write(&f, "x\n").unwrap();
            let r = lif(
                &env,
                false,
                json!({"path": f, "backrefs": true, "line": "x"}),
            )
            .await;
            assert_eq!(
                r.msg.as_deref(),
                Some("regexp is required with backrefs=true")
            );
            let r = lif(&env, false, json!({"path": f})).await;
            assert_eq!(
                r.msg.as_deref(),
                Some("line is required with state=present")
            );
            let r = lif(&env, false, json!({"path": f, "state": "absent"})).await;
            assert!(r.failed);
            let r = lif(&env, false, json!({"path": f, "line": "x", "regexp": "("})).await;
            assert!(
                r.failed
                    && r.msg
                        .as_deref()
                        .unwrap()
                        .contains("invalid regular expression")
            );
            let map = json!({"path": f, "line": "x", "insertafter": "a", "insertbefore": "b"});
            let args = ModuleArgs::new(
                "lineinfile",
                map.as_object().unwrap().clone().into_iter().collect(),
            );
            let e = LineInFile
                .run(&args, &env.ctx(false, false))
                .await
                .unwrap_err();
            assert!(e.to_string().contains("mutually exclusive"), "{e}");
            let r = lif(&env, false, json!({"path": f, "regexp": "", "line": "y"})).await;
            assert!(
                r.values["warnings"][0]
                    .as_str()
                    .unwrap()
                    .contains("empty string")
            );
            let r = lif(
                &env,
                false,
                json!({"path": f, "line": "y", "setype": "etc_t"}),
            )
            .await;
            assert!(!r.changed && !r.failed, "{r:?}");
            assert!(
                r.values["warnings"][0]
                    .as_str()
                    .unwrap()
                    .contains("'setype'"),
                "{r:?}"
            );
        }
    }
}

//! The `blockinfile` module: a block of lines between two marker lines, inserted, updated or
//! removed.
//!
//! [`edit`] is the pure function over the file's text and follows ansible.builtin.blockinfile
//! (2.19): the last BEGIN and last END markers delimit the old block; a new block goes after
//! the last line matching `insertafter` (default the end) or before the last line matching
//! `insertbefore`; a pattern with a leading `(?m)` is searched in the whole file;
//! `prepend_newline`/`append_newline` add blank lines around the block.
//!
//! Deliberate differences, each a case where Ansible changes a file on every run or reports a
//! change it did not make: a marker line is recognised whatever its line ending (Ansible misses
//! `\r\n` and a last line without newline, and inserts the block again on every run);
//! `state: absent` without markers in the file changes nothing (Ansible adds a missing final
//! newline and says "Block removed").

use async_trait::async_trait;

use super::pyregex::{Dollar, PyRegex, Template};
use super::textfile::{
    Decision, Edit, FILE_ARGS, FileArgs, Stop, Text, edit_file, expand_path, finish,
    splitlines_keepends, strip_eol, text_diff,
};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// Where a block goes when the file has no markers yet.
#[derive(Debug)]
pub enum Insert {
    /// `insertafter: EOF` (the default).
    Eof,
    /// `insertbefore: BOF`.
    Bof,
    /// `insertafter: REGEX` (here `BOF` is a regex, as in Ansible).
    After(PyRegex),
    /// `insertbefore: REGEX` (here `EOF` is a regex, as in Ansible).
    Before(PyRegex),
}

impl Insert {
    /// Reads `insertafter`/`insertbefore`.
    pub fn parse(after: Option<&str>, before: Option<&str>) -> Result<Insert, String> {
        Ok(match (after, before) {
            (Some(_), Some(_)) => {
                return Err("insertafter and insertbefore are mutually exclusive".to_string());
            }
            (None, None) | (Some("EOF"), None) => Insert::Eof,
            (None, Some("BOF")) => Insert::Bof,
            (Some(re), None) => Insert::After(PyRegex::compile(re, Dollar::Line, false)?),
            (None, Some(re)) => Insert::Before(PyRegex::compile(re, Dollar::Line, false)?),
        })
    }
}

/// What the block should look like.
#[derive(Debug)]
pub struct Block {
    /// The first marker line, without line ending.
    pub begin: String,
    /// The last marker line, without line ending.
    pub end: String,
    /// The block's content (`block`/`content`); empty removes the block.
    pub content: String,
    /// `state: present`.
    pub present: bool,
    /// Where to put a new block.
    pub insert: Insert,
    /// Add a blank line before the block unless there is one (or it starts the file).
    pub prepend_newline: bool,
    /// Add a blank line after the block unless there is one (or it ends the file).
    pub append_newline: bool,
}

/// The marker line for `{mark}` = `mark`. Ansible uses `re.sub`, so `mark` is a Python
/// replacement template (`\\` is a backslash).
pub fn marker_line(marker: &str, mark: &str) -> Result<String, String> {
    let re = PyRegex::compile(r"\{mark\}", Dollar::Multiline, false)?;
    let template = Template::parse(mark, &re)?;
    Ok(re.subn(&template, marker)?.0)
}

/// Applies the block to a file's text (`None` when the file does not exist yet).
pub fn edit(original: Option<&str>, b: &Block) -> Result<Edit, String> {
    let mut lines = splitlines_keepends(original.unwrap_or(""));
    let block_lines: Vec<String> = if b.present && !b.content.is_empty() {
        let mut content = b.content.clone();
        if !content.ends_with('\n') {
            content.push('\n');
        }
        std::iter::once(format!("{}\n", b.begin))
            .chain(splitlines_keepends(&content))
            .chain(std::iter::once(format!("{}\n", b.end)))
            .collect()
    } else {
        Vec::new()
    };

    let mut begin_at = None;
    let mut end_at = None;
    for (i, l) in lines.iter().enumerate() {
        if strip_eol(l) == b.begin {
            begin_at = Some(i);
        }
        if strip_eol(l) == b.end {
            end_at = Some(i);
        }
    }

    let mut at = match (begin_at, end_at) {
        (Some(n0), Some(n1)) => {
            let (from, to) = if n0 < n1 { (n0, n1) } else { (n1, n0) };
            lines.drain(from..=to);
            from
        }
        _ if !b.present => {
            return Ok(Edit::unchanged(original.unwrap_or("")));
        }
        _ => insertion_point(original.unwrap_or(""), &lines, &b.insert)?,
    };

    if at > 0 && !lines[at - 1].ends_with('\n') {
        lines[at - 1].push('\n');
    }
    if b.prepend_newline && b.present && at != 0 && lines[at - 1] != "\n" {
        lines.insert(at, "\n".to_string());
        at += 1;
    }
    let after_block = at + block_lines.len();
    let inserted = !block_lines.is_empty();
    lines.splice(at..at, block_lines);
    if b.append_newline && b.present && after_block < lines.len() && lines[after_block] != "\n" {
        lines.insert(after_block, "\n".to_string());
    }

    let result = lines.concat();
    let (changed, msg) = if original == Some(result.as_str()) {
        (false, "")
    } else if original.is_none() {
        (true, "File created")
    } else if !inserted {
        (true, "Block removed")
    } else {
        (true, "Block inserted")
    };
    Ok(Edit {
        text: result,
        changed,
        msg: msg.to_string(),
        found: None,
    })
}

/// The line index where a new block goes.
fn insertion_point(original: &str, lines: &[String], insert: &Insert) -> Result<usize, String> {
    let (re, after) = match insert {
        Insert::Eof => return Ok(lines.len()),
        Insert::Bof => return Ok(0),
        Insert::After(re) => (re, true),
        Insert::Before(re) => (re, false),
    };
    let found = if re.is_multiline() {
        // Searched in the whole file; the position is counted in newlines before the match.
        re.search(original)?.and_then(|caps| caps.get(0)).map(|m| {
            let upto = if after { m.end() } else { m.start() };
            original[..upto].matches('\n').count()
        })
    } else {
        let mut last = None;
        for (i, l) in lines.iter().enumerate() {
            if re.is_match(l)? {
                last = Some(i);
            }
        }
        last
    };
    Ok(match found {
        None => lines.len(),
        Some(n) if after => n + 1,
        Some(n) => n,
    })
}

/// The `blockinfile` module.
pub struct BlockInFile;

const KNOWN: &[&str] = &[
    "state",
    "marker",
    "block",
    "content",
    "insertafter",
    "insertbefore",
    "create",
    "marker_begin",
    "marker_end",
    "append_newline",
    "prepend_newline",
];

#[async_trait]
impl Module for BlockInFile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    let known: Vec<&str> = KNOWN.iter().chain(FILE_ARGS).copied().collect();
    args.check_known(&known)?;
    let mut fa = FileArgs::from_args(args)?;
    fa.path = expand_path(ctx, &fa.path).await?;
    if args.get("insertafter").is_some() && args.get("insertbefore").is_some() {
        return Err(args
            .error("parameters are mutually exclusive: insertbefore|insertafter")
            .into());
    }
    let present = match args.str("state")?.as_deref() {
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
    let content = match args.get_any(&["block", "content"]) {
        Some((name, _)) => args.str(name)?.unwrap_or_default(),
        None => String::new(),
    };
    let marker = args
        .str("marker")?
        .unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".to_string());
    let marker_begin = args.str("marker_begin")?.unwrap_or_else(|| "BEGIN".into());
    let marker_end = args.str("marker_end")?.unwrap_or_else(|| "END".into());
    let create = args.bool_or("create", false)?;

    let prepend_newline = args.bool_or("prepend_newline", false)?;
    let append_newline = args.bool_or("append_newline", false)?;
    let insertafter = args.str("insertafter")?;
    let insertbefore = args.str("insertbefore")?;
    let decide = |current: Option<&Text>| -> Result<Decision<()>, Stop> {
        let text = match current {
            Some(t) => t.clone(),
            None if !present => {
                let mut r = ModuleResult::ok();
                r.msg = Some(format!("File {} not present", fa.path));
                return Ok(Decision::Done(r));
            }
            None if !create => {
                let mut r = ModuleResult::failed(format!("Path {} does not exist !", fa.path));
                r.set("rc", 257);
                return Ok(Decision::Done(r));
            }
            None => Text::decode(b""),
        };
        let block = Block {
            begin: marker_line(&text.adapt(&marker), &text.adapt(&marker_begin))
                .map_err(Stop::Fail)?,
            end: marker_line(&text.adapt(&marker), &text.adapt(&marker_end)).map_err(Stop::Fail)?,
            content: text.adapt(&content),
            present,
            insert: Insert::parse(
                insertafter.as_deref().map(|v| text.adapt(v)).as_deref(),
                insertbefore.as_deref().map(|v| text.adapt(v)).as_deref(),
            )
            .map_err(Stop::Fail)?,
            prepend_newline,
            append_newline,
        };
        let original = current.map(|t| t.text.as_str());
        let edit = edit(original, &block).map_err(Stop::Fail)?;

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

    const B: &str = "# BEGIN ANSIBLE MANAGED BLOCK";
    const E: &str = "# END ANSIBLE MANAGED BLOCK";

    fn block(content: &str, insert: Insert) -> Block {
        Block {
            begin: B.into(),
            end: E.into(),
            content: content.into(),
            present: true,
            insert,
            prepend_newline: false,
            append_newline: false,
        }
    }

    fn after(re: &str) -> Insert {
        Insert::parse(Some(re), None).unwrap()
    }

    fn before(re: &str) -> Insert {
        Insert::parse(None, Some(re)).unwrap()
    }

    /// Runs the edit, checks text and msg, and checks that a second run changes nothing.
    /// Expected values were taken from ansible-core 2.19's blockinfile on the same input.
    fn check(original: Option<&str>, b: &Block, want: &str, msg: &str) {
        let e = edit(original, b).unwrap();
        assert_eq!(e.text, want, "from {original:?}");
        assert_eq!(e.msg, msg, "from {original:?}");
        assert_eq!(e.changed, !msg.is_empty());
        let again = edit(Some(&e.text), b).unwrap();
        assert!(
            !again.changed,
            "second run: {:?} -> {:?}",
            e.text, again.text
        );
    }

    fn wrapped(inner: &str) -> String {
        format!("{B}\n{inner}{E}\n")
    }

    #[test]
    fn inserts_at_the_end_by_default() {
        let b = block("x\ny", Insert::Eof);
        check(
            Some("a\nb\n"),
            &b,
            &format!("a\nb\n{}", wrapped("x\ny\n")),
            "Block inserted",
        );
        check(
            Some("a\nb"),
            &b,
            &format!("a\nb\n{}", wrapped("x\ny\n")),
            "Block inserted",
        );
    }

    #[test]
    fn updates_and_removes_an_existing_block() {
        let file = format!("a\n{}b\n", wrapped("old\n"));
        check(
            Some(&file),
            &block("x", Insert::Eof),
            &format!("a\n{}b\n", wrapped("x\n")),
            "Block inserted",
        );
        check(
            Some(&file),
            &block("", Insert::Eof),
            "a\nb\n",
            "Block removed",
        );
        let mut absent = block("ignored", Insert::Eof);
        absent.present = false;
        check(Some(&file), &absent, "a\nb\n", "Block removed");
        let same = format!("a\n{}b\n", wrapped("x\n"));
        let e = edit(Some(&same), &block("x", Insert::Eof)).unwrap();
        assert!(!e.changed);
        assert_eq!(e.msg, "");
        // Markers in the wrong order still delimit the block.
        check(
            Some(&format!("{E}\nx\n{B}\nb\n")),
            &block("y", Insert::Eof),
            &format!("{}b\n", wrapped("y\n")),
            "Block inserted",
        );
    }

    #[test]
    fn insertafter_and_insertbefore() {
        let f = Some("a\nb\nc\n");
        let x = wrapped("x\n");
        check(
            f,
            &block("x", after("^a")),
            &format!("a\n{x}b\nc\n"),
            "Block inserted",
        );
        check(
            f,
            &block("x", before("^c")),
            &format!("a\nb\n{x}c\n"),
            "Block inserted",
        );
        check(
            f,
            &block("x", before("BOF")),
            &format!("{x}a\nb\nc\n"),
            "Block inserted",
        );
        // insertafter: BOF is a regex that matches nothing here: the end of the file.
        check(
            f,
            &block("x", after("BOF")),
            &format!("a\nb\nc\n{x}"),
            "Block inserted",
        );
        check(
            f,
            &block("x", after("^zz")),
            &format!("a\nb\nc\n{x}"),
            "Block inserted",
        );
        // Multi-line patterns are searched in the whole file.
        check(
            f,
            &block("x", after(r"(?m)^a\nb")),
            &format!("a\nb\n{x}c\n"),
            "Block inserted",
        );
        check(
            f,
            &block("x", before(r"(?m)^b\nc")),
            &format!("a\n{x}b\nc\n"),
            "Block inserted",
        );
    }

    #[test]
    fn blank_lines_around_the_block() {
        let mut b = block("x", after("^a"));
        b.prepend_newline = true;
        b.append_newline = true;
        let x = wrapped("x\n");
        check(
            Some("a\nb\nc\n"),
            &b,
            &format!("a\n\n{x}\nb\nc\n"),
            "Block inserted",
        );
        check(
            Some("a\n\nb\n"),
            &b,
            &format!("a\n\n{x}\nb\n"),
            "Block inserted",
        );
    }

    #[test]
    fn markers_and_new_files() {
        let b = Block {
            begin: marker_line("<!-- {mark} -->", "START").unwrap(),
            end: marker_line("<!-- {mark} -->", "STOP").unwrap(),
            ..block("x", Insert::Eof)
        };
        check(
            Some("a\nb\n"),
            &b,
            "a\nb\n<!-- START -->\nx\n<!-- STOP -->\n",
            "Block inserted",
        );
        check(
            None,
            &block("x", Insert::Eof),
            &wrapped("x\n"),
            "File created",
        );
        check(None, &block("", Insert::Eof), "", "File created");
        assert_eq!(
            marker_line("# {mark} {mark}", r"A\\B").unwrap(),
            r"# A\B A\B"
        );
    }

    #[test]
    fn line_endings() {
        // Block lines keep their own endings; the block always ends with a newline.
        check(
            Some("a\n"),
            &block("x\r\ny\rz", Insert::Eof),
            &format!("a\n{}", wrapped("x\r\ny\rz\n")),
            "Block inserted",
        );
        check(
            Some("a\r\nb\r\n"),
            &block("x", Insert::Eof),
            &format!("a\r\nb\r\n{}", wrapped("x\n")),
            "Block inserted",
        );
        // Deliberate: CRLF markers and a final marker without newline are recognised.
        check(
            Some(&format!("a\r\n{B}\r\nx\r\n{E}")),
            &block("y", Insert::Eof),
            &format!("a\r\n{}", wrapped("y\n")),
            "Block inserted",
        );
        // Deliberate: absent without markers changes nothing.
        let mut absent = block("", Insert::Eof);
        absent.present = false;
        let e = edit(Some("a"), &absent).unwrap();
        assert!(!e.changed);
        assert_eq!(e.text, "a");
    }

    mod module {
        //! The module on the local connection, in temporary directories.

        use serde_json::{Value as Json, json};

        use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
        use crate::modules::{Diff, Module, ModuleArgs, ModuleResult};

        use super::super::BlockInFile;
        use super::{B, E};

        async fn bif(env: &Env, check: bool, args: Json) -> ModuleResult {
            let map = args.as_object().unwrap().clone().into_iter().collect();
            let args = ModuleArgs::new("blockinfile", map);
            BlockInFile.run(&args, &env.ctx(check, true)).await.unwrap()
        }

        #[tokio::test]
        async fn inserts_updates_and_removes() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("interfaces");
            std::fs::write(&f, "auto lo\niface lo inet loopback\n").unwrap();
            let block = "iface eth0 inet static\n    address 192.0.2.23\n    netmask 255.255.255.0";
            let r = bif(
                &env,
                false,
                json!({"path": f, "block": block, "backup": true}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(r.msg.as_deref(), Some("Block inserted"));
            assert!(r.values["backup_file"].as_str().is_some());
            let want = format!("auto lo\niface lo inet loopback\n{B}\n{block}\n{E}\n");
            assert_eq!(std::fs::read_to_string(&f).unwrap(), want);
            assert!(matches!(&r.diffs[0], Diff::Text { after, .. } if after == &want));
            let r = bif(&env, false, json!({"path": f, "block": block})).await;
            assert!(!r.changed, "{r:?}");
            // Check mode predicts the removal without doing it.
            let r = bif(&env, true, json!({"path": f, "state": "absent"})).await;
            assert!(r.changed);
            assert_eq!(r.msg.as_deref(), Some("Block removed"));
            assert_eq!(std::fs::read_to_string(&f).unwrap(), want);
            let r = bif(&env, false, json!({"path": f, "state": "absent"})).await;
            assert!(r.changed);
            assert_eq!(
                std::fs::read_to_string(&f).unwrap(),
                "auto lo\niface lo inet loopback\n"
            );
        }

        #[tokio::test]
        async fn html_markers_in_a_created_file_with_hostile_content() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("new").join(HOSTILE);
            let content = "<h1>$(touch /tmp/jig-files-pwned) 'q' \"d\" ✓</h1>";
            let r = bif(
                &env,
                false,
                json!({"path": f, "content": content, "create": true, "mode": 0o640,
                       "marker": "<!-- {mark} ANSIBLE MANAGED BLOCK -->"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(r.msg.as_deref(), Some("File created"));
            assert_eq!(
                std::fs::read_to_string(&f).unwrap(),
                format!(
                    "<!-- BEGIN ANSIBLE MANAGED BLOCK -->\n{content}\n<!-- END ANSIBLE MANAGED BLOCK -->\n"
                )
            );
            assert_not_pwned();
        }

        #[tokio::test]
        async fn missing_files() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("nope");
            let r = bif(&env, false, json!({"path": f, "block": "x"})).await;
            assert!(r.failed);
            assert_eq!(
                r.msg,
                Some(format!("Path {} does not exist !", f.display()))
            );
            let r = bif(&env, false, json!({"path": f, "state": "absent"})).await;
            assert!(!r.failed && !r.changed);
            assert_eq!(r.msg, Some(format!("File {} not present", f.display())));
        }
    }
}

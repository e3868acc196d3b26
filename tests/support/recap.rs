//! Reading `jig run`'s console output in tests: the PLAY RECAP line of a host and its
//! counts, and the diffs each changed result printed under `--diff`.
//!
//! Include it with `#[path = "support/recap.rs"] mod recap;` (adjust the path).

#![allow(dead_code)] // each test crate uses a different part of this module

use std::collections::BTreeMap;

/// The last recap line of `host` (`host : ok=3 changed=1 ...`), or "" when there is none.
pub fn recap(stdout: &str, host: &str) -> String {
    stdout
        .lines()
        .rev()
        .find(|l| {
            l.strip_prefix(host)
                .is_some_and(|rest| rest.trim_start().starts_with(": ok="))
        })
        .unwrap_or_default()
        .to_string()
}

/// The counts of `host`'s recap line by name (`ok`, `changed`, `unreachable`, `failed`,
/// `skipped`, `rescued`, `ignored`); empty when the host has no recap line.
pub fn counts(stdout: &str, host: &str) -> BTreeMap<String, u32> {
    recap(stdout, host)
        .split_whitespace()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// One count of `host`'s recap line; panics with the output when the host has no recap.
pub fn count(stdout: &str, host: &str, what: &str) -> u32 {
    *counts(stdout, host)
        .get(what)
        .unwrap_or_else(|| panic!("no `{what}` in the recap of {host}:\n{stdout}"))
}

/// The diffs one changed result printed under `--diff`: the unified `--- before` / `+++ after`
/// blocks and summary lines (binary or large content, package lists) shown with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDiffs {
    /// The task's name as its banner shows it (`TASK [name]`, `RUNNING HANDLER [name]`).
    pub task: String,
    /// Whether the banner was a handler's.
    pub handler: bool,
    /// How many banners with the same text came before it in the run: tells apart tasks of
    /// the same name (unnamed tasks are named after their module).
    pub nth: usize,
    /// The host, as the status line names it.
    pub host: String,
    /// The loop item the blocks belong to: known when a loop printed one run of blocks per
    /// changed item; `None` for a task without a loop, or a loop whose blocks cannot be told
    /// apart per item (then they belong to the loop as a whole).
    pub item: Option<String>,
    /// The `changed: [host]` line(s) the blocks belong to.
    pub status: Vec<String>,
    /// Each block as printed, lines ending in `\n`: a unified diff from its `---` line to
    /// its last hunk line, or a run of summary lines.
    pub blocks: Vec<String>,
}

impl TaskDiffs {
    /// `task [name] #n on host (item=...)`, for messages.
    pub fn key(&self) -> String {
        let mut k = format!(
            "{} [{}]",
            if self.handler { "handler" } else { "task" },
            self.task
        );
        if self.nth > 0 {
            k.push_str(&format!(" (#{})", self.nth + 1));
        }
        k.push_str(&format!(" on {}", self.host));
        if let Some(item) = &self.item {
            k.push_str(&format!(" (item={item})"));
        }
        k
    }
}

/// A status line: `changed: [web1]`, `ok: [web1 -> other] => (item=x)`, `fatal: [h]: ...`.
struct Status<'a> {
    word: &'a str,
    host: &'a str,
    item: Option<&'a str>,
}

fn status_line(line: &str) -> Option<Status<'_>> {
    let (word, rest) = line.split_once(": [")?;
    if !matches!(word, "ok" | "changed" | "skipping" | "fatal" | "failed") {
        return None;
    }
    let (label, rest) = rest.split_once(']')?;
    let host = label.split(" -> ").next().unwrap_or(label);
    let item = rest
        .strip_prefix(" => (item=")
        .or_else(|| rest.strip_prefix(" (item="))
        .map(|r| match r.find(") => ") {
            Some(end) => &r[..end],
            None => r.trim_end().strip_suffix(')').unwrap_or(r),
        });
    Some(Status { word, host, item })
}

/// `TASK [name] ****` or `RUNNING HANDLER [name] ****`: the name and whether it is a handler.
fn task_banner(line: &str) -> Option<(&str, bool)> {
    let (rest, handler) = if let Some(r) = line.strip_prefix("TASK [") {
        (r, false)
    } else {
        (line.strip_prefix("RUNNING HANDLER [")?, true)
    };
    let name = rest.trim_end_matches('*').trim_end().strip_suffix(']')?;
    Some((name, handler))
}

/// The line count of one side of a hunk header's range (`-3,2` -> 2, `+7` -> 1).
fn range_len(range: &str) -> usize {
    match range[1..].split_once(',') {
        Some((_, len)) => len.parse().unwrap_or(0),
        None => 1,
    }
}

/// Splits the lines printed before a status line into diff blocks: unified diffs read hunk by
/// hunk by their line counts (a removed `-- x` line is not taken for a new `---` header), and
/// runs of other non-blank lines (summaries).
fn blocks(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("--- ") && lines.get(i + 1).is_some_and(|l| l.starts_with("+++ ")) {
            if !text.is_empty() {
                out.push(std::mem::take(&mut text));
            }
            let mut block = format!("{line}\n{}\n", lines[i + 1]);
            i += 2;
            while let Some(header) = lines.get(i).filter(|l| l.starts_with("@@ -")) {
                block.push_str(header);
                block.push('\n');
                i += 1;
                let mut words = header.split_whitespace().skip(1);
                let mut old = words.next().map_or(0, range_len);
                let mut new = words.next().map_or(0, range_len);
                while let Some(l) = lines.get(i) {
                    let counted = match l.chars().next() {
                        Some(' ') if old > 0 && new > 0 => {
                            old -= 1;
                            new -= 1;
                            true
                        }
                        Some('-') if old > 0 => {
                            old -= 1;
                            true
                        }
                        Some('+') if new > 0 => {
                            new -= 1;
                            true
                        }
                        Some('\\') => true,
                        // An empty context line loses its leading space in some copies.
                        None if old > 0 && new > 0 => {
                            old -= 1;
                            new -= 1;
                            true
                        }
                        _ => false,
                    };
                    if !counted {
                        break;
                    }
                    block.push_str(l);
                    block.push('\n');
                    i += 1;
                    if old == 0 && new == 0 && !lines.get(i).is_some_and(|l| l.starts_with('\\')) {
                        break;
                    }
                }
            }
            out.push(block);
        } else if line.trim().is_empty() {
            if !text.is_empty() {
                out.push(std::mem::take(&mut text));
            }
            i += 1;
        } else {
            text.push_str(line);
            text.push('\n');
            i += 1;
        }
    }
    if !text.is_empty() {
        out.push(text);
    }
    out
}

/// Every changed result's diffs in a run's console output (`jig run --diff` or
/// ansible-playbook's, without colour), in the order printed.
///
/// The console prints a result's diffs just before its `changed: [host]` line, and
/// ansible-playbook 2.19 a loop item's just before the item's line. jig prints a loop's items'
/// lines first and then all their diffs together, which are given per item when there is one
/// block per changed item and to the loop as a whole otherwise. What precedes a failure (its
/// error block) is not a diff and is left out. Loops of several hosts are told apart when
/// their lines do not interleave.
pub fn diffs(stdout: &str) -> Vec<TaskDiffs> {
    /// The loop items seen for one host since its last diffs.
    struct Items {
        host: String,
        changed: Vec<(String, String)>,
    }
    let mut out: Vec<TaskDiffs> = Vec::new();
    let mut task: Option<(String, bool, usize)> = None;
    let mut seen: BTreeMap<(String, bool), usize> = BTreeMap::new();
    let mut pending: Vec<&str> = Vec::new();
    let mut items: Option<Items> = None;

    // The lines after a loop's items are its diffs.
    let flush_loop = |pending: &mut Vec<&str>,
                      items: &mut Option<Items>,
                      task: &Option<(String, bool, usize)>,
                      out: &mut Vec<TaskDiffs>| {
        let found = blocks(pending);
        pending.clear();
        let Some(it) = items.take() else { return };
        let Some((name, handler, nth)) = task.clone() else {
            return;
        };
        if found.is_empty() {
            return;
        }
        let entry = |item: Option<String>, status: Vec<String>, blocks: Vec<String>| TaskDiffs {
            task: name.clone(),
            handler,
            nth,
            host: it.host.clone(),
            item,
            status,
            blocks,
        };
        if found.len() == it.changed.len() {
            for ((item, line), block) in it.changed.iter().zip(found) {
                out.push(entry(Some(item.clone()), vec![line.clone()], vec![block]));
            }
        } else {
            let status = it.changed.iter().map(|(_, l)| l.clone()).collect();
            out.push(entry(None, status, found));
        }
    };

    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        if let Some((name, handler)) = task_banner(line) {
            flush_loop(&mut pending, &mut items, &task, &mut out);
            let n = seen.entry((name.to_string(), handler)).or_default();
            task = Some((name.to_string(), handler, *n));
            *n += 1;
            continue;
        }
        if line.starts_with("PLAY [") || line.starts_with("PLAY RECAP") || line == "PLAY" {
            flush_loop(&mut pending, &mut items, &task, &mut out);
            task = None;
            continue;
        }
        let Some(st) = status_line(line) else {
            if line.starts_with("included: ")
                || line.starts_with("FAILED - RETRYING: ")
                || line.starts_with("...ignoring")
                || line.starts_with("[WARNING]: ")
                || line.starts_with("[DEPRECATION WARNING]: ")
            {
                continue;
            }
            pending.push(line);
            continue;
        };
        // A result dumped with an indent (`debug`, `assert`, -vvv) runs to its closing brace.
        if line.ends_with('{') {
            for l in lines.by_ref() {
                if l == "}" {
                    break;
                }
            }
        }
        if items
            .as_ref()
            .is_some_and(|it| it.host != st.host || st.item.is_none())
        {
            flush_loop(&mut pending, &mut items, &task, &mut out);
        }
        match (st.word, st.item) {
            ("changed", None) => {
                let found = blocks(&pending);
                if let (false, Some((name, handler, nth))) = (found.is_empty(), &task) {
                    out.push(TaskDiffs {
                        task: name.clone(),
                        handler: *handler,
                        nth: *nth,
                        host: st.host.to_string(),
                        item: None,
                        status: vec![line.to_string()],
                        blocks: found,
                    });
                }
            }
            // ansible-playbook prints an item's diffs just before its line.
            ("changed", Some(item)) if !blocks(&pending).is_empty() => {
                if let Some((name, handler, nth)) = &task {
                    out.push(TaskDiffs {
                        task: name.clone(),
                        handler: *handler,
                        nth: *nth,
                        host: st.host.to_string(),
                        item: Some(item.to_string()),
                        status: vec![line.to_string()],
                        blocks: blocks(&pending),
                    });
                }
            }
            (word, Some(item)) => {
                let it = items.get_or_insert_with(|| Items {
                    host: st.host.to_string(),
                    changed: Vec::new(),
                });
                if word == "changed" {
                    it.changed.push((item.to_string(), line.to_string()));
                }
            }
            // ok, skipping, and a failure's error block: no diffs.
            _ => {}
        }
        pending.clear();
    }
    flush_loop(&mut pending, &mut items, &task, &mut out);
    out
}

/// Asserts that check mode printed the same diffs as the real run, task by task, host by host
/// and item by item, except for the tasks named in `exceptions` (`(task name, why)`: a diff
/// whose content check mode cannot know, such as a download's). An exception must name a task
/// of the run; one whose diffs turn out equal is reported on stderr, to be removed.
pub fn assert_same_diffs(check: &str, real: &str, exceptions: &[(&str, &str)]) {
    let key = |d: &TaskDiffs| {
        (
            d.task.clone(),
            d.handler,
            d.nth,
            d.host.clone(),
            d.item.clone(),
        )
    };
    let index = |out: &str| -> BTreeMap<_, TaskDiffs> {
        diffs(out).into_iter().map(|d| (key(&d), d)).collect()
    };
    let (ours, theirs) = (index(check), index(real));
    for (task, why) in exceptions {
        let banner = format!("TASK [{task}]");
        let handler = format!("RUNNING HANDLER [{task}]");
        assert!(
            real.lines()
                .any(|l| l.starts_with(&banner) || l.starts_with(&handler)),
            "the diff exception `{task}` ({why}) names no task of the run:\n{real}"
        );
    }
    let excepted = |k: &(String, bool, usize, String, Option<String>)| {
        exceptions.iter().any(|(t, _)| *t == k.0)
    };
    let mut keys: Vec<_> = ours.keys().chain(theirs.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let mut report = String::new();
    let mut differ_as_excepted = Vec::new();
    for k in &keys {
        let (a, b) = (ours.get(k), theirs.get(k));
        if a.map(|d| &d.blocks) == b.map(|d| &d.blocks) {
            continue;
        }
        if excepted(k) {
            differ_as_excepted.push(k.0.clone());
            continue;
        }
        let shown = |d: Option<&TaskDiffs>| match d {
            None => "(no diff)\n".to_string(),
            Some(d) => format!("{}\n{}", d.blocks.concat(), d.status.join("\n")),
        };
        let name = a.or(b).map(TaskDiffs::key).unwrap_or_default();
        report.push_str(&format!(
            "== {name}\n-- check mode printed:\n{}\n-- the real run printed:\n{}\n\n",
            shown(a),
            shown(b)
        ));
    }
    for (task, why) in exceptions {
        if !differ_as_excepted.iter().any(|t| t == task) {
            eprintln!(
                "note: the diffs of `{task}` are the same in check mode now ({why}): the exception can go"
            );
        }
    }
    assert!(
        report.is_empty(),
        "check mode's diffs differ from the real run's:\n\n{report}"
    );
}

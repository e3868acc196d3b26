//! The console renderer against output captured from ansible-playbook 2.19 (testdata/), and
//! insta snapshots for what the reference run does not cover.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::*;

/// A writer the test can read back; stdout and stderr share it so their order is kept.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn render(events: &[Event], opts: ConsoleOptions) -> String {
    let buf = Buf::default();
    let mut r = ConsoleRenderer::new(Box::new(buf.clone()), Box::new(buf.clone()), opts);
    for e in events {
        r.event(e);
    }
    r.finish();
    String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
}

fn playbook() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/report/testdata/console.yml")
}

fn pos(line: u32, column: u32) -> Pos {
    Pos {
        file: Some(Arc::new(playbook())),
        line,
        column,
    }
}

fn obj(v: Json) -> Map<String, Json> {
    match v {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

fn res(host: &str, status: Status) -> TaskResult {
    TaskResult {
        host: host.into(),
        delegated_to: None,
        status,
        item_label: None,
        msg: None,
        diffs: vec![],
        result: Map::new(),
        debug_output: None,
        error: None,
        ignore_unreachable: false,
    }
}

fn task(name: &str, line: u32) -> Event {
    Event::TaskStart {
        name: name.into(),
        pos: pos(line, 7),
        handler: false,
    }
}

fn skipped(host: &str, cond: &str) -> Event {
    let mut r = res(host, Status::Skipped);
    r.result = obj(json!({"changed": false, "false_condition": cond,
        "skip_reason": "Conditional result was False"}));
    Event::Result(r)
}

fn stats(ok: u32, changed: u32, skipped: u32, ignored: u32) -> HostStats {
    HostStats {
        ok,
        changed,
        skipped,
        ignored,
        ..HostStats::default()
    }
}

/// The events of testdata/console.yml as the executor would send them; `verbose` adds the
/// module results that `-v` prints.
fn reference_events(verbose: bool) -> Vec<Event> {
    let web = "inventory_hostname == 'web1'";
    let mut ev = vec![
        Event::PlayStart {
            name: "console reference".into(),
            hosts: vec!["web1".into(), "db1".into()],
        },
        task("mode", 5),
        skipped("db1", web),
    ];
    let mut mode = res("web1", Status::Changed);
    mode.diffs = vec![Diff::Fields {
        path: "/tmp/ref2/modefile".into(),
        before: [("mode".to_string(), "0644".to_string())]
            .into_iter()
            .collect(),
        after: [("mode".to_string(), "0600".to_string())]
            .into_iter()
            .collect(),
    }];
    if verbose {
        mode.result = obj(
            json!({"changed": true, "gid": 0, "group": "root", "mode": "0600",
            "owner": "root", "path": "/tmp/ref2/modefile", "size": 0, "state": "file", "uid": 0,
            "diff": {"before": {"mode": "0644"}}}),
        );
    }
    ev.push(Event::Result(mode));
    ev.push(task("edit", 9));
    ev.push(skipped("db1", web));
    let mut edit = res("web1", Status::Changed);
    edit.diffs = vec![Diff::Text {
        before_header: "/tmp/ref2/existing.txt".into(),
        after_header: "/tmp/ref2/existing.txt".into(),
        before: "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n".into(),
        after: "one\ntwo\nTHREE\nfour\nfive\nsix\nseven\neight\nnine".into(),
    }];
    if verbose {
        edit.result = obj(json!({"changed": true,
            "checksum": "319102b1ecfe8f01728c213b99552c8675c686f7",
            "dest": "/tmp/ref2/existing.txt", "gid": 0, "group": "root",
            "md5sum": "9ed692ced871b4cde839858e6733acc5", "mode": "0644", "owner": "root",
            "size": 44,
            "src": "/root/.ansible/tmp/ansible-tmp-1795718590.4512675-32637-168112293975031/.source.txt",
            "state": "file", "uid": 0, "failed": false, "_ansible_no_log": false}));
    }
    ev.push(Event::Result(edit));
    ev.push(task("deleg", 14));
    for h in ["web1", "db1"] {
        let mut d = res(h, Status::Ok);
        d.delegated_to = Some("localhost".into());
        d.debug_output = Some(json!({"msg": "d é"}));
        ev.push(Event::Result(d));
    }
    ev.push(task("items", 17));
    for h in ["web1", "db1"] {
        let mut d = res(h, Status::Ok);
        d.item_label = Some("1".into());
        d.debug_output = Some(json!(1));
        ev.push(Event::Result(d));
    }
    let item = json!({"a": "b", "c": true});
    let label = pyfmt::item_label(&item);
    let mut s = res("db1", Status::Skipped);
    s.item_label = Some(label.clone());
    s.result = obj(
        json!({"false_condition": "inventory_hostname == 'web1' or item == 1",
        "item": item}),
    );
    ev.push(Event::Result(s));
    let mut d = res("web1", Status::Ok);
    d.item_label = Some(label);
    d.debug_output = Some(json!({"msg": item}));
    ev.push(Event::Result(d));
    for h in ["web1", "db1"] {
        ev.push(Event::LoopDone(res(h, Status::Ok)));
    }
    ev.push(task("var", 21));
    for h in ["web1", "db1"] {
        let mut d = res(h, Status::Ok);
        d.debug_output = Some(json!({"inventory_hostname": h}));
        ev.push(Event::Result(d));
    }
    ev.push(task("boom", 23));
    ev.push(skipped("web1", "inventory_hostname == 'db1'"));
    let mut f = res("db1", Status::Ignored);
    f.msg = Some("boom".into());
    f.result = obj(json!({"failed": true, "msg": "boom"}));
    ev.push(Event::Result(f));
    ev.push(Event::TaskStart {
        name: "h1".into(),
        pos: pos(27, 7),
        handler: true,
    });
    let mut h = res("web1", Status::Ok);
    h.debug_output = Some(json!({"msg": "handler"}));
    ev.push(Event::Result(h));
    let mut st = IndexMap::new();
    st.insert("web1".to_string(), stats(6, 2, 1, 0));
    st.insert("db1".to_string(), stats(4, 0, 2, 1));
    ev.push(Event::Recap {
        stats: st,
        elapsed: Duration::from_secs(3),
    });
    ev
}

fn expected(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/report/testdata")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .replace("@PLAYBOOK@", &playbook().display().to_string())
}

#[test]
fn coloured_output_matches_ansible_byte_for_byte() {
    let out = render(
        &reference_events(false),
        ConsoleOptions {
            color: true,
            ..ConsoleOptions::default()
        },
    );
    pretty_assertions::assert_eq!(out, expected("ansible-color.txt"));
}

#[test]
fn verbose_output_matches_ansible_byte_for_byte() {
    let out = render(
        &reference_events(true),
        ConsoleOptions {
            verbosity: 1,
            ..ConsoleOptions::default()
        },
    );
    pretty_assertions::assert_eq!(out, expected("ansible-v.txt"));
}

#[test]
fn failures_unreachable_and_loops() {
    let mut ev = vec![
        Event::PlayStart {
            name: "".into(),
            hosts: vec![],
        },
        Event::NoHosts {
            reason: "no hosts matched".into(),
        },
        Event::Warning {
            message: "Could not match supplied host pattern, ignoring: nomatch".into(),
        },
        Event::PlayStart {
            name: "web".into(),
            hosts: vec!["web1".into()],
        },
        Event::TaskStart {
            name: "nginx : install packages".into(),
            pos: Pos::unknown(),
            handler: false,
        },
    ];
    let mut item = res("web1", Status::Changed);
    item.item_label = Some("nginx".into());
    item.diffs = vec![Diff::Summary("installed nginx 1.22".into())];
    ev.push(Event::Result(item));
    let mut bad = res("web1", Status::Failed);
    bad.item_label = Some("it's $(x)".into());
    bad.msg = Some("No package matching 'x' is available".into());
    bad.result = obj(
        json!({"failed": true, "item": "it's $(x)", "ansible_loop_var": "item",
        "warnings": ["apt cache is old"]}),
    );
    ev.push(Event::Result(bad));
    ev.push(Event::LoopDone(res("web1", Status::Failed)));
    let mut un = res("db1", Status::Unreachable);
    un.msg = Some("ssh connection not implemented yet".into());
    ev.push(Event::Result(un));
    ev.push(Event::NoHosts {
        reason: "no more hosts left".into(),
    });
    let mut st = IndexMap::new();
    st.insert(
        "web1".to_string(),
        HostStats {
            ok: 1,
            changed: 1,
            failed: 1,
            ..HostStats::default()
        },
    );
    st.insert(
        "db1".to_string(),
        HostStats {
            unreachable: 1,
            ..HostStats::default()
        },
    );
    ev.push(Event::Recap {
        stats: st,
        elapsed: Duration::from_secs(1),
    });
    let plain = render(&ev, ConsoleOptions::default());
    insta::assert_snapshot!("failures_plain", plain);
    let colored = render(
        &ev,
        ConsoleOptions {
            color: true,
            ..ConsoleOptions::default()
        },
    );
    insta::assert_snapshot!("failures_color", colored.replace('\x1b', "<ESC>"));
}

/// `-v` on a loop whose items were all skipped, as ansible-playbook 2.19 prints it.
#[test]
fn verbose_skipped_loop_matches_ansible() {
    let mut ev = vec![task("debug", 4)];
    for i in [1, 2] {
        let mut r = res("web1", Status::Skipped);
        r.item_label = Some(i.to_string());
        r.result = obj(json!({"false_condition": false, "item": i, "skipped": true}));
        ev.push(Event::Result(r));
    }
    let mut done = res("web1", Status::Skipped);
    done.result = obj(json!({"msg": "All items skipped", "skipped": true,
        "results": [{"item": 1}, {"item": 2}]}));
    ev.push(Event::LoopDone(done));
    let out = render(
        &ev,
        ConsoleOptions {
            verbosity: 1,
            ..ConsoleOptions::default()
        },
    );
    assert_eq!(
        out,
        "\nTASK [debug] *******************************************************************\n\
         skipping: [web1] => (item=1)  => {\"false_condition\": false, \"item\": 1}\n\
         skipping: [web1] => (item=2)  => {\"false_condition\": false, \"item\": 2}\n\
         skipping: [web1] => {\"msg\": \"All items skipped\"}\n"
    );
}

#[test]
fn wide_terminals_and_task_paths() {
    let ev = vec![
        Event::PlayStart {
            name: "  spaced  ".into(),
            hosts: vec![],
        },
        task(
            &"a task whose name is longer than the terminal is wide ".repeat(2),
            5,
        ),
    ];
    let out = render(
        &ev,
        ConsoleOptions {
            columns: 99,
            verbosity: 2,
            ..ConsoleOptions::default()
        },
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], format!("PLAY [spaced] {}", "*".repeat(99 - 13)));
    assert!(lines[3].ends_with("wide] ***"), "{}", lines[3]);
    assert_eq!(lines[4], format!("task path: {}:5", playbook().display()));
}

/// As ansible-playbook 2.19 printed `include_tasks: inc.yml` for two hosts, coloured.
#[test]
fn included_files_are_announced() {
    let ev = vec![
        task("inc", 7),
        Event::Included {
            file: "/tmp/ref/inc.yml".into(),
            hosts: vec!["web1".into(), "db1".into()],
            item_label: None,
        },
        Event::Included {
            file: "/tmp/ref/inc.yml".into(),
            hosts: vec!["web1".into()],
            item_label: Some("a b".into()),
        },
    ];
    let out = render(
        &ev,
        ConsoleOptions {
            color: true,
            ..ConsoleOptions::default()
        },
    );
    assert!(out.ends_with(
        "\x1b[0;36mincluded: /tmp/ref/inc.yml for web1, db1\x1b[0m\n\
         \x1b[0;36mincluded: /tmp/ref/inc.yml for web1 => (item=a b)\x1b[0m\n"
    ));
}

#[test]
fn playbook_header_only_from_vv() {
    for (verbosity, expected) in [
        (1, String::new()),
        (
            2,
            format!(
                "\nPLAYBOOK: p4.yml {}\n1 plays in dir/p4.yml\n",
                "*".repeat(79 - 16)
            ),
        ),
    ] {
        let buf = Buf::default();
        let mut r = ConsoleRenderer::new(
            Box::new(buf.clone()),
            Box::new(buf.clone()),
            ConsoleOptions {
                verbosity,
                ..ConsoleOptions::default()
            },
        );
        r.playbook_start(std::path::Path::new("dir/p4.yml"), 1);
        assert_eq!(
            String::from_utf8(buf.0.lock().unwrap().clone()).unwrap(),
            expected
        );
    }
}

#[test]
fn diff_hunks_follow_difflib() {
    let before: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    let after = before
        .replace("line 2\n", "")
        .replace("line 18\n", "line 18 changed\n");
    let d = Diff::Text {
        before_header: "/etc/x".into(),
        after_header: String::new(),
        before,
        after,
    };
    insta::assert_snapshot!("two_hunks", render_diff(&d, false));
    let same = Diff::Text {
        before_header: String::new(),
        after_header: String::new(),
        before: "a\n".into(),
        after: "a\n".into(),
    };
    assert_eq!(render_diff(&same, true), "");
    let removed = Diff::Text {
        before_header: "f".into(),
        after_header: "f".into(),
        before: "x".into(),
        after: String::new(),
    };
    assert_eq!(
        render_diff(&removed, false),
        "--- before: f\n+++ after: f\n@@ -1 +0,0 @@\n-x\n\\ No newline at end of file\n\n"
    );
}

/// What 2.19's `[ERROR]` line says for each kind of failure: the chain `Task failed: Action
/// failed: msg`, a missing message, an empty one, and a message that already ends the chain.
#[test]
fn error_headlines_chain_as_ansible_core_does() {
    let e = |source, message: Option<&str>| {
        TaskError {
            source,
            message: message.map(str::to_string),
        }
        .headline()
    };
    use FailureSource::{Action, Module, Task};
    assert_eq!(e(Action, Some("boom")), "Task failed: Action failed: boom");
    assert_eq!(
        e(Module, Some("non-zero return code")),
        "Task failed: Module failed: non-zero return code"
    );
    assert_eq!(e(Action, Some("")), "Task failed: Action failed.");
    assert_eq!(
        e(Action, None),
        "Task failed: Action failed: Unknown error."
    );
    assert_eq!(
        e(Module, None),
        "Task failed: Module failed: Unknown error."
    );
    assert_eq!(e(Action, Some("failed.")), "Task failed: Action failed.");
    assert_eq!(e(Task, Some("no route")), "Task failed: no route");
    assert_eq!(e(Task, None), "Task failed.");
}

/// `FAILED - RETRYING` lines as ansible-playbook 2.19 printed them: dark grey, the delegated
/// host in the label, and from `-vvv` the attempt's result glued on (here a `no_log` one).
#[test]
fn retry_lines_match_ansible() {
    let mut attempt = res("localhost", Status::Failed);
    attempt.delegated_to = Some("two".into());
    let retry = Event::Retry {
        task: "deleg retry".into(),
        retries_left: 1,
        attempt: attempt.clone(),
    };
    let colored = render(
        std::slice::from_ref(&retry),
        ConsoleOptions {
            color: true,
            ..ConsoleOptions::default()
        },
    );
    assert_eq!(
        colored,
        "\x1b[1;30mFAILED - RETRYING: [localhost -> two]: deleg retry (1 retries left).\x1b[0m\n"
    );
    attempt.delegated_to = None;
    attempt.status = Status::Changed;
    attempt.result = obj(json!({"attempts": 1, "changed": true, "retries": 2,
        "censored": "the output has been hidden due to the fact that 'no_log: true' was \
                     specified for this result"}));
    let verbose = render(
        &[Event::Retry {
            task: "nolog retry".into(),
            retries_left: 1,
            attempt,
        }],
        ConsoleOptions {
            verbosity: 3,
            ..ConsoleOptions::default()
        },
    );
    assert_eq!(
        verbose,
        "FAILED - RETRYING: [localhost]: nolog retry (1 retries left).Result was: {\n    \
         \"attempts\": 1,\n    \"censored\": \"the output has been hidden due to the fact that \
         'no_log: true' was specified for this result\",\n    \"changed\": true,\n    \
         \"retries\": 2\n}\n"
    );
}

/// Ansible's display prints a text once per run: the same failure on a second host shows
/// no second `[ERROR]` block (another task's is shown), and a warning repeats nowhere. An
/// ignored unreachable host is followed by `...ignoring`, its message as 2.19 wraps it.
#[test]
fn errors_and_warnings_show_once_and_ignored_unreachable_says_so() {
    let failed = |host: &str| {
        let mut r = res(host, Status::Failed);
        r.msg = Some("same".into());
        r.result = obj(json!({"failed": true, "msg": "same"}));
        r.error = Some(TaskError {
            source: FailureSource::Action,
            message: Some("same".into()),
        });
        Event::Result(r)
    };
    let warn = Event::Warning {
        message: "twice".into(),
    };
    let mut gone = res("gone", Status::Unreachable);
    gone.msg = Some("refused".into());
    gone.result = obj(json!({"msg": "refused", "unreachable": true}));
    gone.ignore_unreachable = true;
    let ev = vec![
        task("one", 5),
        failed("web1"),
        failed("db1"),
        warn.clone(),
        warn,
        task("two", 9),
        failed("web1"),
        Event::Result(gone),
    ];
    let out = render(&ev, ConsoleOptions::default());
    let file = playbook().display().to_string();
    let expected = format!(
        "\nTASK [one] *********************************************************************\n\
         [ERROR]: Task failed: Action failed: same\nOrigin: {file}:5:7\n\n\
         3   gather_facts: false\n4   tasks:\n5     - name: mode\n        ^ column 7\n\n\
         fatal: [web1]: FAILED! => {{\"changed\": false, \"msg\": \"same\"}}\n\
         fatal: [db1]: FAILED! => {{\"changed\": false, \"msg\": \"same\"}}\n\
         [WARNING]: twice\n\
         \nTASK [two] *********************************************************************\n\
         [ERROR]: Task failed: Action failed: same\nOrigin: {file}:9:7\n\n\
         7       when: inventory_hostname == 'web1'\n8       notify: h1\n9     - name: edit\n\
         \x20       ^ column 7\n\n\
         fatal: [web1]: FAILED! => {{\"changed\": false, \"msg\": \"same\"}}\n\
         [ERROR]: Task failed: refused\nOrigin: {file}:9:7\n\n\
         7       when: inventory_hostname == 'web1'\n8       notify: h1\n9     - name: edit\n\
         \x20       ^ column 7\n\n\
         fatal: [gone]: UNREACHABLE! => {{\"changed\": false, \"msg\": \"Task failed: refused\", \
         \"unreachable\": true}}\n...ignoring\n"
    );
    pretty_assertions::assert_eq!(out, expected);
}

/// Source lines as 2.19's `SourceContext` shows them (expected values printed by ansible-core's
/// own `SourceContext.from_origin` for the same file): tabs made spaces, long lines cut with
/// `...`, an empty line without a space after its number, no caret past the usable width, and
/// a line past the end of the file.
#[test]
fn source_snippets_follow_ansible_core() {
    let lines: Vec<String> = [
        "- name: long".to_string(),
        "  hosts: x".to_string(),
        String::new(),
        format!("\tdebug: {}", "y".repeat(130)),
        "    - name: deep".to_string(),
    ]
    .into_iter()
    .collect();
    let at = |line, column| Pos {
        file: Some(Arc::new(PathBuf::from("/tmp/src.yml"))),
        line,
        column,
    };
    let cut = format!(" debug: {}...", "y".repeat(107));
    let cases = [
        (4, 3, format!("2   hosts: x\n3\n4 {cut}\n    ^ column 3\n")),
        (
            3,
            1,
            "1 - name: long\n2   hosts: x\n3\n  ^ column 1\n".to_string(),
        ),
        (
            5,
            7,
            format!("3\n4 {cut}\n5     - name: deep\n        ^ column 7\n"),
        ),
        (4, 118, format!("2   hosts: x\n3\n4 {cut}\n")),
        (
            5,
            40,
            format!(
                "3\n4 {cut}\n5     - name: deep\n{}^ column 40\n",
                " ".repeat(41)
            ),
        ),
        (9, 1, "(source not shown: file truncated)\n".to_string()),
    ];
    for (line, column, expected) in cases {
        assert_eq!(
            snippet_of(&lines, &at(line, column)).as_deref(),
            Some(expected.as_str()),
            "{line}:{column}"
        );
    }
}

/// Check mode's `would_run=` column follows Ansible's seven only when non-zero.
#[test]
fn would_run_is_shown_only_when_counted() {
    let recap = |would_run: u32| {
        let mut st = IndexMap::new();
        st.insert(
            "web1".to_string(),
            HostStats {
                would_run,
                ..stats(3, 1, 2, 0)
            },
        );
        render(
            &[Event::Recap {
                stats: st,
                elapsed: Duration::from_secs(1),
            }],
            ConsoleOptions::default(),
        )
    };
    let line = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("web1"))
            .unwrap()
            .to_string()
    };
    let without = line(&recap(0));
    assert_eq!(
        without,
        format!(
            "{:<26} : ok=3    changed=1    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0   ",
            "web1"
        )
    );
    assert_eq!(line(&recap(2)), format!("{without} would_run=2   "));
}

/// A loop's diffs: ansible-playbook 2.19 (`copy` over two items, `--diff`, local connection)
/// prints each changed item's diff just before that item's line, not after the loop.
#[test]
fn loop_item_diffs_come_before_their_item_lines() {
    let item = |label: &str, before_header: &str, before: &str| {
        let mut r = res("localhost", Status::Changed);
        r.item_label = Some(label.into());
        r.diffs = vec![Diff::Text {
            before_header: before_header.into(),
            after_header: format!("/tmp/sf/f_{label}"),
            before: before.into(),
            after: format!("{label}\n"),
        }];
        r
    };
    let events = [
        task("copy", 10),
        Event::Result(item("a", "/tmp/sf/f_a", "old\n")),
        Event::Result(item("b", "", "")),
        Event::LoopDone(res("localhost", Status::Changed)),
    ];
    let expected = "
TASK [copy] ********************************************************************
--- before: /tmp/sf/f_a
+++ after: /tmp/sf/f_a
@@ -1 +1 @@
-old
+a

changed: [localhost] => (item=a)
--- before
+++ after: /tmp/sf/f_b
@@ -0,0 +1 @@
+b

changed: [localhost] => (item=b)
";
    assert_eq!(render(&events, ConsoleOptions::default()), expected);

    // A failing item does not hold back the diffs of the items around it, and an ignored
    // loop shows no diff of its own after them.
    let mut bad = res("localhost", Status::Failed);
    bad.item_label = Some("x".into());
    bad.msg = Some("Destination directory /tmp/sf/nodir does not exist".into());
    let mut done = res("localhost", Status::Ignored);
    done.diffs = item("a", "", "").diffs;
    let events = [
        task("copy", 10),
        Event::Result(item("a", "", "")),
        Event::Result(bad),
        Event::Result(item("c", "", "")),
        Event::LoopDone(done),
    ];
    let out = render(&events, ConsoleOptions::default());
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {out}"))
    };
    assert!(at("+++ after: /tmp/sf/f_a") < at("changed: [localhost] => (item=a)"));
    assert!(at("(item=a)") < at("failed: [localhost] (item=x)"));
    assert!(at("(item=x)") < at("+++ after: /tmp/sf/f_c"));
    assert!(at("+++ after: /tmp/sf/f_c") < at("changed: [localhost] => (item=c)"));
    assert!(at("(item=c)") < at("...ignoring"));
    assert_eq!(out.matches("+++ after").count(), 2, "{out}");
}

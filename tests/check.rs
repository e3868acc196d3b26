//! `jig check` and its reports: exit statuses (0 compliant, 2 drift, 4 unreachable, 1 error,
//! and their precedence), the drift summary, `--output json`, and the four report files
//! (`report.json`, `junit.xml`, `report.html` read back in headless Chromium, `metrics.prom`),
//! on the local connection and on three test-bed hosts (one hand-edited, one stopped).
//!
//! The test-bed test needs root; the Chromium test needs Debian's `chromium`. Each is skipped
//! with a message when its tool is missing, unless `JIG_TESTBED_REQUIRED=1` (CI sets it).

#[path = "support/testbed.rs"]
mod testbed;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use indexmap::IndexMap;
use jig::modules::Diff;
use jig::report::model::{Collector, Report, RunMeta};
use jig::report::{Event, HostStats, Status, TaskResult};
use jig::yaml::Pos;
use serde_json::Value as Json;

fn required() -> bool {
    std::env::var("JIG_TESTBED_REQUIRED").is_ok_and(|v| v == "1")
}

// ---------------------------------------------------------------------------------------
// A fixed model: the same events every time, at fixed instants, so renderings are stable.

fn pos(line: u32) -> Pos {
    Pos {
        file: Some(Arc::new(PathBuf::from("roles/app/tasks/main.yml"))),
        line,
        column: 3,
    }
}

fn res(host: &str, status: Status) -> TaskResult {
    TaskResult {
        host: host.into(),
        delegated_to: None,
        status,
        item_label: None,
        msg: None,
        diffs: Vec::new(),
        result: serde_json::Map::new(),
        debug_output: None,
        error: None,
        ignore_unreachable: false,
    }
}

const BEFORE: &str =
    "# managed by jig\nname = web2\nport = 9999\nuser = \"<script>alert('x')</script>\"\n";
const AFTER: &str =
    "# managed by jig\nname = web2\nport = 8080\nuser = \"<script>alert('x')</script>\"\n";

/// Three hosts: web1 in compliance, web2 drifted (a template line and a directory mode),
/// `db "é"` unreachable; a loop, a skipped task and a handler.
fn fixed_report() -> Report {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let hosts = vec!["web1".to_string(), "web2".into(), "db \"é\"".into()];
    let mut c = Collector::new();
    let mut send = |e: Event, ms: u64| c.event_at(&e, at(ms));
    send(
        Event::PlaybookStart {
            path: "site.yml".into(),
            plays: 1,
        },
        0,
    );
    send(
        Event::PlayStart {
            name: "app servers".into(),
            hosts: hosts.clone(),
        },
        0,
    );
    send(
        Event::TaskStart {
            name: "app : config".into(),
            pos: pos(5),
            handler: false,
        },
        10,
    );
    send(Event::Result(res("web1", Status::Ok)), 110);
    let mut drifted = res("web2", Status::Changed);
    drifted
        .result
        .insert("dest".into(), Json::String("/etc/app/app.conf".into()));
    drifted.diffs.push(Diff::Text {
        before_header: "/etc/app/app.conf".into(),
        after_header: "templates/app.conf.j2".into(),
        before: BEFORE.into(),
        after: AFTER.into(),
    });
    send(Event::Result(drifted), 260);
    let mut down = res("db \"é\"", Status::Unreachable);
    down.msg = Some("Failed to connect to the host via ssh: connection refused".into());
    send(Event::Result(down), 1010);
    send(
        Event::TaskStart {
            name: "app : directories".into(),
            pos: pos(12),
            handler: false,
        },
        1100,
    );
    for (host, dir, status) in [
        ("web1", "/srv/a", Status::Ok),
        ("web1", "/srv/b", Status::Ok),
        ("web2", "/srv/a", Status::Ok),
        ("web2", "/srv/b", Status::Changed),
    ] {
        let mut item = res(host, status);
        item.item_label = Some(dir.into());
        item.result.insert("path".into(), Json::String(dir.into()));
        if status == Status::Changed {
            item.diffs.push(Diff::Fields {
                path: dir.into(),
                before: IndexMap::from([("mode".to_string(), "0755".to_string())]),
                after: IndexMap::from([("mode".to_string(), "0750".to_string())]),
            });
        }
        send(Event::Result(item), 1200);
    }
    send(Event::LoopDone(res("web1", Status::Ok)), 1300);
    send(Event::LoopDone(res("web2", Status::Changed)), 1350);
    send(
        Event::TaskStart {
            name: "app : debug only".into(),
            pos: pos(20),
            handler: false,
        },
        1400,
    );
    send(Event::Result(res("web1", Status::Skipped)), 1410);
    send(Event::Result(res("web2", Status::Skipped)), 1420);
    send(
        Event::TaskStart {
            name: "restart app".into(),
            pos: pos(30),
            handler: true,
        },
        1500,
    );
    send(Event::Result(res("web2", Status::Changed)), 1750);
    send(
        Event::Warning {
            message: "a <warning> & more".into(),
        },
        1800,
    );
    let mut stats = IndexMap::new();
    stats.insert(
        "web1".to_string(),
        HostStats {
            ok: 2,
            skipped: 1,
            ..HostStats::default()
        },
    );
    stats.insert(
        "web2".to_string(),
        HostStats {
            ok: 3,
            changed: 3,
            skipped: 1,
            ..HostStats::default()
        },
    );
    stats.insert(
        "db \"é\"".to_string(),
        HostStats {
            unreachable: 1,
            ..HostStats::default()
        },
    );
    send(
        Event::Recap {
            stats,
            elapsed: Duration::from_millis(1900),
        },
        1900,
    );
    let started = UNIX_EPOCH + Duration::from_secs(1_795_739_542);
    c.into_report(RunMeta {
        playbooks: vec!["site.yml".into()],
        git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        git_dirty: Some(false),
        started,
        ended: started + Duration::from_millis(2500),
        errors: vec![],
    })
}

#[test]
fn report_files_of_a_fixed_model_match_their_snapshots() {
    let report = fixed_report();
    assert_eq!(report.exit_code, 4, "unreachable outranks drift");
    insta::assert_snapshot!("report_json", jig::report::json::render(&report));
    insta::assert_snapshot!("junit_xml", jig::report::junit::render(&report));
    insta::assert_snapshot!("metrics_prom", jig::report::metrics::render(&report));
    let html = jig::report::html::render(&report);
    assert!(!html.contains("<script>"), "unescaped text in the page");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network"
    );
    // Drifted hosts come first.
    let web2 = html.find("id=\"host-web2\"").unwrap();
    let web1 = html.find("id=\"host-web1\"").unwrap();
    let db = html.find("id=\"host-db_20_22_C3_A9_22\"").unwrap();
    assert!(
        web2 < db && db < web1,
        "order: drifted, unreachable, compliant"
    );
}

/// The page's summary, read from the DOM Chromium built: `id` -> number.
fn summary_in_chromium(page: &Path) -> Option<IndexMap<String, u32>> {
    let chromium = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let Some(chromium) = chromium else {
        assert!(
            !required(),
            "chromium is not installed (.ci/run installs it)"
        );
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
        return None;
    };
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium failed: {out:?}"
    );
    let mut found = IndexMap::new();
    for id in [
        "sum-hosts",
        "sum-compliant",
        "sum-drifted",
        "sum-unreachable",
        "sum-failed",
        "sum-drift-tasks",
    ] {
        let re = regex::Regex::new(&format!(r#"id="{id}"[^>]*>\s*(\d+)\s*<"#)).unwrap();
        let n = re
            .captures(&dom)
            .unwrap_or_else(|| panic!("no #{id} in the DOM:\n{dom}"))[1]
            .parse()
            .unwrap();
        found.insert(id.to_string(), n);
    }
    Some(found)
}

#[test]
fn html_report_summary_reads_back_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, jig::report::html::render(&fixed_report())).unwrap();
    let Some(sum) = summary_in_chromium(&page) else {
        return;
    };
    assert_eq!(sum["sum-hosts"], 3);
    assert_eq!(sum["sum-compliant"], 1);
    assert_eq!(sum["sum-drifted"], 1);
    assert_eq!(sum["sum-unreachable"], 1);
    assert_eq!(sum["sum-failed"], 0);
    assert_eq!(sum["sum-drift-tasks"], 3);
}

// ---------------------------------------------------------------------------------------
// `jig check` on the local connection (and an unreachable host on a closed loopback port).

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn jig(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_jig"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Out {
    fn show(&self) -> String {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

const PLAYBOOK: &str = r#"
- name: app
  hosts: all
  gather_facts: false
  tasks:
    - name: app config
      template:
        src: app.conf.j2
        dest: "{{ out }}/app.conf"
    - name: sshd setting
      lineinfile:
        path: "{{ out }}/sshd_config"
        regexp: '^PermitRootLogin'
        line: PermitRootLogin no
        create: true
    - name: data directory
      file:
        path: "{{ out }}/data dir"
        state: directory
        mode: "0750"
    - name: fail on demand
      fail:
        msg: "asked to fail"
      when: fail_now | default(false) | bool
"#;

const TEMPLATE: &str =
    "# {{ inventory_hostname }}\nport = 8080\nquote = \"it's $(not run)\"\nname = é\n";

fn project(dir: &Path, inventory: &str) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("site.yml"), PLAYBOOK).unwrap();
    std::fs::write(dir.join("templates/app.conf.j2"), TEMPLATE).unwrap();
    std::fs::write(dir.join("hosts.ini"), inventory).unwrap();
}

fn read_json(path: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `jig check --report DIR`; returns the run and the four files' texts.
fn check(dir: &Path, report: &str, extra: &[&str]) -> (Out, Json, String, String, String) {
    let mut args = vec!["check", "site.yml", "-i", "hosts.ini", "--report", report];
    args.extend_from_slice(extra);
    let out = jig(dir, &args);
    let r = dir.join(report);
    (
        out,
        read_json(&r.join("report.json")),
        std::fs::read_to_string(r.join("junit.xml")).unwrap(),
        std::fs::read_to_string(r.join("report.html")).unwrap(),
        std::fs::read_to_string(r.join("metrics.prom")).unwrap(),
    )
}

#[test]
fn local_check_separates_compliance_drift_unreachable_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out_dir = dir.join("managed ü");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out_var = serde_json::json!({ "out": out_dir.display().to_string() }).to_string();
    project(
        dir,
        "[local]\nlocal1 ansible_connection=local\n\n[down]\n\
         gone ansible_host=127.0.0.1 ansible_port=1 ansible_user=nobody\n",
    );
    let local = ["-l", "local", "-e", &out_var];
    let run = jig(
        dir,
        &[
            "run",
            "site.yml",
            "-i",
            "hosts.ini",
            "-l",
            "local",
            "-e",
            &out_var,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.show());

    // In compliance: exit 0, nothing in any report.
    let (out, json, junit, html, prom) = check(dir, "r0", &local);
    assert_eq!(out.code, 0, "{}", out.show());
    assert!(out.stdout.contains("DRIFT SUMMARY"), "{}", out.show());
    assert!(
        out.stdout.contains("1 host: 1 in compliance, 0 drifted"),
        "{}",
        out.show()
    );
    assert_eq!(json["schema"], "jig.report/1");
    assert_eq!(json["verdict"], "compliant");
    assert_eq!(json["drift"], Json::Array(vec![]));
    assert!(json["git_commit"].is_null(), "not a repository");
    assert!(
        junit.contains("failures=\"0\"") && junit.contains("errors=\"0\""),
        "{junit}"
    );
    assert!(html.contains("id=\"sum-compliant\">1<"), "{html}");
    assert!(
        prom.contains("jig_drift_tasks{host=\"local1\"} 0\n"),
        "{prom}"
    );
    assert!(prom.contains("jig_check_exit_code 0\n"), "{prom}");

    // One hand-edited line: exit 2, and every file names host, task, file and line.
    let conf = out_dir.join("app.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("port = 8080", "port = 9999")).unwrap();
    let (out, json, junit, html, prom) = check(dir, "r1", &local);
    assert_eq!(out.code, 2, "{}", out.show());
    let path = conf.display().to_string();
    let summary_line = format!("local1: app config (site.yml:6): {path}:2");
    assert!(out.stdout.contains(&summary_line), "{}", out.show());
    assert!(
        out.stdout.contains("-port = 9999\n+port = 8080"),
        "{}",
        out.show()
    );
    assert_eq!(json["verdict"], "drift");
    assert_eq!(json["exit_code"], 2);
    let drift = json["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1, "{json:#}");
    assert_eq!(drift[0]["host"], "local1");
    assert_eq!(drift[0]["task"], "app config");
    assert_eq!(drift[0]["path"], path.as_str());
    assert_eq!(drift[0]["lines"], serde_json::json!([2]));
    assert_eq!(drift[0]["source"]["line"], 6);
    assert!(junit.contains("failures=\"1\""), "{junit}");
    assert!(
        junit.contains("<testcase name=\"app config\" classname=\"local1\""),
        "{junit}"
    );
    assert!(junit.contains(&format!("{path}:2\n")), "{junit}");
    assert!(html.contains("id=\"sum-drifted\">1<"), "{html}");
    assert!(html.contains(&format!("<code>{path}:2</code>")), "{html}");
    assert!(
        html.contains("<span class=\"del\">-port = 9999</span>"),
        "{html}"
    );
    assert!(
        prom.contains("jig_drift_tasks{host=\"local1\"} 1\n"),
        "{prom}"
    );
    // Nothing changed on the host.
    assert!(std::fs::read_to_string(&conf).unwrap().contains("9999"));

    // A failing task: exit 1 (errors outrank drift).
    let mut args = local.to_vec();
    args.extend(["-e", "fail_now=true"]);
    let (out, json, junit, _, prom) = check(dir, "r2", &args);
    assert_eq!(out.code, 1, "{}", out.show());
    assert_eq!(json["verdict"], "error");
    assert!(junit.contains("type=\"failed\""), "{junit}");
    assert!(
        prom.contains("jig_failed_tasks{host=\"local1\"} 1\n"),
        "{prom}"
    );
    assert!(
        out.stdout
            .contains("local1: failed at fail on demand (site.yml:21)"),
        "{}",
        out.show()
    );

    // An unreachable host beside a drifted one: exit 4 (unreachable outranks drift).
    let (out, json, junit, _, prom) = check(dir, "r3", &["-e", &out_var, "-T", "3"]);
    assert_eq!(out.code, 4, "{}", out.show());
    assert_eq!(json["verdict"], "unreachable");
    assert_eq!(json["summary"]["drifted"], 1);
    assert_eq!(json["summary"]["unreachable"], 1);
    assert!(junit.contains("type=\"unreachable\""), "{junit}");
    assert!(
        prom.contains("jig_unreachable{host=\"gone\"} 1\n"),
        "{prom}"
    );
    assert!(out.stdout.contains("gone: unreachable"), "{}", out.show());

    // An unreachable host and a failure: exit 1.
    let (out, ..) = check(
        dir,
        "r4",
        &["-e", &out_var, "-e", "fail_now=true", "-T", "3"],
    );
    assert_eq!(out.code, 1, "{}", out.show());

    // A playbook that does not load: exit 1, and the reports say why.
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: all\n  tasks:\n    - {name: x\n",
    )
    .unwrap();
    let (out, json, ..) = check(dir, "r5", &local);
    assert_eq!(out.code, 1, "{}", out.show());
    assert!(
        out.stderr.contains("ERROR! ") && out.stderr.contains("site.yml:"),
        "{}",
        out.show()
    );
    assert_eq!(json["verdict"], "error");
    assert!(
        json["errors"][0].as_str().unwrap().contains("site.yml:"),
        "{json:#}"
    );
}

#[test]
fn output_json_streams_one_event_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out_var = format!("out={}", out_dir.display());
    project(dir, "local1 ansible_connection=local\n");
    let base = [
        "site.yml",
        "-i",
        "hosts.ini",
        "-e",
        &out_var,
        "--output",
        "json",
    ];
    let lines = |o: &Out| -> Vec<Json> {
        o.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    };
    let mut args = vec!["run"];
    args.extend(base);
    let run = jig(dir, &args);
    assert_eq!(run.code, 0, "{}", run.show());
    let events = lines(&run);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "playbook_start",
            "play_start",
            "task_start",
            "result",
            "task_start",
            "result",
            "task_start",
            "result",
            "task_start",
            "result",
            "recap"
        ]
    );
    assert!(events.iter().all(|e| e["schema"] == "jig.events/1"));
    assert_eq!(events[3]["host"], "local1");
    assert_eq!(events[3]["task"], "app config");
    assert_eq!(events[3]["status"], "changed");
    assert_eq!(events[9]["status"], "skipped");
    assert_eq!(events[10]["stats"]["local1"]["changed"], 3);
    assert!(!run.stdout.contains("PLAY RECAP"), "no console output");

    std::fs::write(out_dir.join("sshd_config"), "PermitRootLogin yes\n").unwrap();
    let mut args = vec!["check"];
    args.extend(base);
    let check = jig(dir, &args);
    assert_eq!(check.code, 2, "{}", check.show());
    let events = lines(&check);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "check");
    assert_eq!(last["verdict"], "drift");
    assert_eq!(last["drift"][0]["task"], "sshd setting");
    assert_eq!(last["drift"][0]["lines"], serde_json::json!([1]));
    let changed = events
        .iter()
        .find(|e| e["event"] == "result" && e["changed"] == true)
        .unwrap();
    assert_eq!(changed["changes"][0]["kind"], "content");
    assert!(
        changed["changes"][0]["diff"]
            .as_str()
            .unwrap()
            .contains("-PermitRootLogin yes\n+PermitRootLogin no"),
        "{changed:#}"
    );
    assert!(!check.stdout.contains("DRIFT SUMMARY"));
}

// ---------------------------------------------------------------------------------------
// Three test-bed hosts: converge, check, hand-edit one, stop one.

const BED_PLAYBOOK: &str = r#"
- name: fleet
  hosts: testbed
  gather_facts: false
  tasks:
    - name: app config
      template:
        src: app.conf.j2
        dest: /etc/jig-check/app.conf
    - name: sshd setting
      lineinfile:
        path: /etc/jig-check/sshd_config
        regexp: '^PermitRootLogin'
        line: PermitRootLogin no
        create: true
    - name: data directory
      file:
        path: /srv/jig-check data
        state: directory
        mode: "0750"
"#;

#[test]
fn fleet_check_on_the_test_bed_reports_the_edited_line_and_the_stopped_host() {
    let Some(bed) = testbed::Testbed::up(3) else {
        return;
    };
    let hosts = bed.hosts().to_vec();
    let dir = bed.dir().join("project");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("site.yml"), BED_PLAYBOOK).unwrap();
    std::fs::write(dir.join("templates/app.conf.j2"), TEMPLATE).unwrap();
    std::fs::write(dir.join("ssh_config"), "").unwrap();
    // The managed directory must exist for the template (a fresh host has none).
    for h in &hosts {
        bed.ssh_ok(h, "mkdir -p /etc/jig-check");
    }
    let inv = bed.inventory().display().to_string();
    let common = ["-i", inv.as_str(), "--ssh-config", "ssh_config"];
    let mut args = vec!["run", "site.yml"];
    args.extend(common);
    let run = jig(&dir, &args);
    assert_eq!(run.code, 0, "{}", run.show());

    let check_bed = |report: &str| {
        let mut args = vec!["check", "site.yml", "--report", report, "-T", "5"];
        args.extend(common);
        let out = jig(&dir, &args);
        let r = dir.join(report);
        let text = |n: &str| std::fs::read_to_string(r.join(n)).unwrap();
        (
            out,
            read_json(&r.join("report.json")),
            text("junit.xml"),
            text("report.html"),
            text("metrics.prom"),
        )
    };

    let (out, json, junit, html, prom) = check_bed("r0");
    assert_eq!(out.code, 0, "{}", out.show());
    assert_eq!(json["drift"], Json::Array(vec![]));
    assert_eq!(json["summary"]["compliant"], 3);
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(html.contains("id=\"sum-compliant\">3<"), "{html}");
    for h in &hosts {
        assert!(
            prom.contains(&format!("jig_drift_tasks{{host=\"{}\"}} 0\n", h.name)),
            "{prom}"
        );
    }

    // One hand-edited line on the second host.
    let edited = &hosts[1];
    bed.ssh_ok(
        edited,
        "sed -i 's/^port = 8080$/port = 9999/' /etc/jig-check/app.conf",
    );
    let (out, json, junit, html, prom) = check_bed("r1");
    assert_eq!(out.code, 2, "{}", out.show());
    let line = format!(
        "{}: app config (site.yml:6): /etc/jig-check/app.conf:2",
        edited.name
    );
    assert!(out.stdout.contains(&line), "{}", out.show());
    let drift = json["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1, "{json:#}");
    assert_eq!(drift[0]["host"], edited.name.as_str());
    assert_eq!(drift[0]["task"], "app config");
    assert_eq!(drift[0]["path"], "/etc/jig-check/app.conf");
    assert_eq!(drift[0]["lines"], serde_json::json!([2]));
    assert!(
        junit.contains(&format!(
            "<testcase name=\"app config\" classname=\"{}\"",
            edited.name
        )) && junit.contains("/etc/jig-check/app.conf:2\n")
            && junit.contains("failures=\"1\""),
        "{junit}"
    );
    assert!(
        html.contains(&format!(
            "href=\"#host-{}\">{}</a></td><td>app config",
            edited.name, edited.name
        )) && html.contains("<code>/etc/jig-check/app.conf:2</code>")
            && html.contains("id=\"sum-drifted\">1<"),
        "{html}"
    );
    assert!(
        prom.contains(&format!("jig_drift_tasks{{host=\"{}\"}} 1\n", edited.name)),
        "{prom}"
    );
    // The check changed nothing.
    assert!(
        bed.ssh_ok(edited, "cat /etc/jig-check/app.conf")
            .contains("port = 9999")
    );
    let page = dir.join("r1/report.html");
    if let Some(sum) = summary_in_chromium(&page) {
        assert_eq!((sum["sum-drifted"], sum["sum-compliant"]), (1, 2));
    }

    // A stopped host: exit 4, although the edited host still drifts.
    let stopped = &hosts[2];
    bed.stop(stopped);
    let (out, json, junit, _, prom) = check_bed("r2");
    assert_eq!(out.code, 4, "{}", out.show());
    assert_eq!(json["verdict"], "unreachable");
    assert_eq!(json["summary"]["unreachable"], 1);
    assert_eq!(json["summary"]["drifted"], 1);
    assert!(junit.contains("type=\"unreachable\""), "{junit}");
    assert!(
        prom.contains(&format!("jig_unreachable{{host=\"{}\"}} 1\n", stopped.name)),
        "{prom}"
    );
    assert!(
        out.stdout
            .contains(&format!("{}: unreachable", stopped.name)),
        "{}",
        out.show()
    );
}

#[test]
fn check_help_documents_the_exit_statuses_and_report_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let out = jig(tmp.path(), &["check", "--help"]);
    assert_eq!(out.code, 0, "{}", out.show());
    for needle in [
        "--report <DIR>",
        "--output <FORMAT>",
        "-l, --limit",
        "-e, --extra-vars",
        "--private-key",
        "1    error: a task failed",
        "4    one or more hosts were unreachable",
        "2    drift",
        "0    in compliance",
    ] {
        assert!(
            out.stdout.contains(needle),
            "check --help lacks {needle}:\n{}",
            out.stdout
        );
    }
    // Flags that make no sense for a check are not offered.
    for absent in ["--start-at-task", "--list-tasks", "-C, --check"] {
        assert!(!out.stdout.contains(absent), "check --help offers {absent}");
    }
}

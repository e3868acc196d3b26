//! `jig plan` and `jig apply` on two test-bed hosts: a plan of a template, a lineinfile, a
//! directory and a package is applied exactly (the real run's changes equal the plan's) and
//! the next plan is empty; a host whose managed file is edited by hand after the plan is
//! refused, naming the task and the file, while the other host is applied; a playbook file
//! changed after the plan refuses the whole plan. Plans of an untouched fleet are identical.
//!
//! Needs root (the bed); skipped with a message elsewhere unless `JIG_TESTBED_REQUIRED=1`.

#[path = "support/testbed.rs"]
mod testbed;

use std::path::{Path, PathBuf};
use std::process::Command;

use jig::connection::quote;
use serde_json::Value;

const PLAYBOOK: &str = r#"- hosts: testbed
  gather_facts: false
  vars:
    greeting: "planned 'é' $(x)"
  tasks:
    - name: app config
      template:
        src: app.conf.j2
        dest: /etc/app.conf
        mode: "0644"

    - name: app level
      lineinfile:
        path: /etc/app.settings
        regexp: '^level='
        line: "level={{ level | default('1') }}"
        create: true

    - name: data dir
      file:
        path: /srv/app data
        state: directory
        mode: "0750"

    - name: hello package
      apt:
        name: hello
"#;

const TEMPLATE: &str = "# managed by jig\ngreeting={{ greeting }}\nhost={{ inventory_hostname }}\n";

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn show(&self) -> String {
        format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn jig(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_jig"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn read_plan(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn changes(plan: &Value, host: &str) -> u64 {
    plan["hosts"][host]["changes"].as_u64().unwrap()
}

#[test]
fn plans_apply_exactly_and_refuse_hosts_or_files_changed_since() {
    let Some(bed) = testbed::Testbed::up(2) else {
        return;
    };
    let [h1, h2] = [&bed.hosts()[0], &bed.hosts()[1]];
    let dir: PathBuf = bed.dir().join("project with space");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("site.yml"), PLAYBOOK).unwrap();
    std::fs::write(dir.join("templates/app.conf.j2"), TEMPLATE).unwrap();
    let inv = bed.inventory().display().to_string();
    // Check mode never refreshes apt's lists, and the hosts start without them.
    for h in [h1, h2] {
        bed.ssh_ok(h, "apt-get update -qq >/dev/null 2>&1");
    }
    let plan = |name: &str, extra: &[&str]| {
        let mut args = vec!["plan", "site.yml", "-i", &inv, "-o", name];
        args.extend_from_slice(extra);
        let out = jig(&dir, &args);
        assert_eq!(out.code, Some(0), "plan {name}: {}", out.show());
        read_plan(&dir.join(name))
    };

    // Two plans of the untouched fleet agree, fingerprint for fingerprint.
    let p1 = plan("plan1.json", &[]);
    let again = plan("plan1-again.json", &[]);
    assert_eq!(p1["schema"], "jig.plan/1");
    for h in [h1, h2] {
        assert_eq!(p1["hosts"][&h.name]["state"], "planned");
        assert_eq!(changes(&p1, &h.name), 4, "{:#}", p1["hosts"][&h.name]);
        assert_eq!(
            p1["hosts"][&h.name]["fingerprint"],
            again["hosts"][&h.name]["fingerprint"]
        );
    }
    let tasks = p1["hosts"][&h1.name]["tasks"].as_array().unwrap();
    let config = tasks.iter().find(|t| t["task"] == "app config").unwrap();
    assert_eq!(config["file"], "site.yml");
    assert_eq!(config["line"], 6);
    assert_eq!(config["status"], "changed");
    assert!(
        config["diffs"][0]["diff"]
            .as_str()
            .unwrap()
            .contains("+greeting=planned 'é' $(x)"),
        "{config:#}"
    );
    let dir_task = tasks.iter().find(|t| t["task"] == "data dir").unwrap();
    assert!(
        dir_task["changed_fields"]
            .as_array()
            .unwrap()
            .contains(&"state".into()),
        "{dir_task:#}"
    );
    assert!(
        p1["source"]["files"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.ends_with("templates/app.conf.j2"))
    );
    assert_eq!(p1["source"]["inventory"][0], inv.as_str());

    // Apply: every host changes exactly as planned; the next plan is empty.
    let applied = jig(&dir, &["apply", "plan1.json"]);
    assert_eq!(applied.code, Some(0), "{}", applied.show());
    for h in [h1, h2] {
        assert!(
            applied
                .stdout
                .contains(&format!("  {}: 4 change(s) applied, as planned", h.name)),
            "{}",
            applied.show()
        );
        let conf = bed.ssh_ok(h, "cat /etc/app.conf");
        assert_eq!(
            conf,
            format!(
                "# managed by jig\ngreeting=planned 'é' $(x)\nhost={}\n",
                h.name
            )
        );
        bed.ssh_ok(h, "dpkg -s hello >/dev/null && test -d '/srv/app data'");
        assert_eq!(bed.ssh_ok(h, "cat /etc/app.settings"), "level=1\n");
    }
    let p2 = plan("plan2.json", &[]);
    for h in [h1, h2] {
        assert_eq!(changes(&p2, &h.name), 0, "{:#}", p2["hosts"][&h.name]);
    }

    // A plan to change the greeting; host 2's file is edited by hand after it.
    let p3 = plan("plan3.json", &["-e", r#"{"greeting": "v3 \"quoted\""}"#]);
    assert_eq!(changes(&p3, &h1.name), 1);
    assert_eq!(changes(&p3, &h2.name), 1);
    bed.ssh_ok(
        h2,
        &format!("echo {} >> /etc/app.conf", quote("hand edit $(no)")),
    );
    let partial = jig(&dir, &["apply", "plan3.json"]);
    assert_eq!(partial.code, Some(2), "{}", partial.show());
    let refusal = format!(
        "REFUSED {}: task 'app config' (site.yml:6): /etc/app.conf changed since the plan",
        h2.name
    );
    assert!(partial.stdout.contains(&refusal), "{}", partial.show());
    assert!(
        partial
            .stdout
            .contains(&format!("  {}: 1 change(s) applied, as planned", h1.name)),
        "{}",
        partial.show()
    );
    assert!(!partial.stdout.contains(&format!("  {}: ", h2.name)));
    assert!(
        bed.ssh_ok(h1, "cat /etc/app.conf")
            .contains("greeting=v3 \"quoted\"\n")
    );
    let h2_conf = bed.ssh_ok(h2, "cat /etc/app.conf");
    assert!(h2_conf.ends_with("hand edit $(no)\n"), "{h2_conf}");
    assert!(!h2_conf.contains("v3"));

    // A template changed after the plan: the whole plan is refused, naming the file.
    plan("plan4.json", &["-e", "level=2"]);
    std::fs::write(
        dir.join("templates/app.conf.j2"),
        format!("{TEMPLATE}# reviewed later\n"),
    )
    .unwrap();
    let refused = jig(&dir, &["apply", "plan4.json"]);
    assert_eq!(refused.code, Some(1), "{}", refused.show());
    assert!(
        refused.stderr.contains("file(s) it was made from changed")
            && refused.stderr.contains("changed: ")
            && refused.stderr.contains("templates/app.conf.j2"),
        "{}",
        refused.show()
    );
    for h in [h1, h2] {
        assert_eq!(bed.ssh_ok(h, "cat /etc/app.settings"), "level=1\n");
    }
}

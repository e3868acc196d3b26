//! The `jig` binary: help, exit statuses, `jig inventory`, `--syntax-check` and the `--list-*`
//! modes, compared with what ansible-playbook 2.19 prints for the same fixture
//! (tests/fixtures/cli/).

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli")
}

/// `jig` run from the fixture directory, with a clean environment for colour and inventory.
fn jig() -> Command {
    let mut c = Command::cargo_bin("jig").expect("the jig binary is built");
    c.current_dir(fixtures())
        .env_remove("ANSIBLE_INVENTORY")
        .env_remove("ANSIBLE_ROLES_PATH")
        .env_remove("ANSIBLE_FORCE_COLOR")
        .env("NO_COLOR", "1");
    c
}

#[test]
fn help_documents_commands_flags_and_exit_statuses() {
    jig()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("run").and(predicate::str::contains("inventory")));
    let out = jig().args(["run", "--help"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for flag in [
        "--inventory",
        "--limit",
        "--tags",
        "--skip-tags",
        "--extra-vars",
        "--check",
        "--diff",
        "--forks",
        "--verbose",
        "--list-hosts",
        "--list-tasks",
        "--list-tags",
        "--syntax-check",
        "--start-at-task",
        "--roles-path",
        "--connection",
        "--color",
    ] {
        assert!(text.contains(flag), "run --help lacks {flag}");
    }
    assert!(text.contains("Exit status:"));
    assert!(text.contains("4    one or more hosts were unreachable"));
    assert!(text.contains("250"));
}

#[test]
fn usage_errors_exit_5_not_2() {
    jig()
        .args(["run", "--no-such-flag", "site.yml"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("--no-such-flag"));
    jig().arg("run").assert().code(5);
    jig().args(["run", "-f", "0", "site.yml"]).assert().code(5);
    jig()
        .args(["inventory", "-i", "inventory.ini"])
        .assert()
        .code(5);
    jig().args(["frobnicate"]).assert().code(5);
}

#[test]
fn syntax_check_of_a_good_playbook() {
    jig()
        .args(["run", "-i", "inventory.ini", "site.yml", "--syntax-check"])
        .assert()
        .success()
        .stdout("\nplaybook: site.yml\n");
}

#[test]
fn syntax_check_of_broken_yaml_names_file_line_and_column() {
    let out = jig()
        .args(["run", "broken.yml", "--syntax-check"])
        .assert()
        .code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        err.starts_with(
            "[WARNING]: No inventory was parsed, only implicit localhost is available\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("\nERROR! broken.yml:5:6: invalid YAML"),
        "{err}"
    );
    assert!(err.contains("broken.yml:5:"), "{err}");
    assert!(out.get_output().stdout.is_empty());
}

#[test]
fn missing_playbook_and_bad_extra_vars_exit_1() {
    jig()
        .args(["run", "nope.yml", "--syntax-check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ERROR!").and(predicate::str::contains("nope.yml")));
    jig()
        .args(["run", "site.yml", "--list-tasks", "-e", "[1, 2]"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "could not be made into a dictionary",
        ));
}

/// Exactly what ansible-playbook 2.19 printed for `--list-tasks` on this fixture.
#[test]
fn list_tasks_matches_ansible() {
    jig()
        .args(["run", "-i", "inventory.ini", "site.yml", "--list-tasks"])
        .assert()
        .success()
        .stdout(
            "\nplaybook: site.yml\n\n  play #1 (web): web servers\tTAGS: [play1]\n    tasks:\n      \
             web : install thing\tTAGS: [a, b, play1]\n      command\tTAGS: [play1]\n      \
             hello\tTAGS: [play1, x]\n      loop\tTAGS: [play1]\n      in block\tTAGS: [blk, \
             play1]\n\n  play #2 (db,web): db,web\tTAGS: []\n    tasks:\n      changed copy\tTAGS: \
             []\n      fail\tTAGS: []\n      skipme\tTAGS: []\n      skip loop\tTAGS: []\n",
        );
}

#[test]
fn list_tags_and_tag_selection_match_ansible() {
    jig()
        .args(["run", "-i", "inventory.ini", "site.yml", "--list-tags"])
        .assert()
        .success()
        .stdout(
            "\nplaybook: site.yml\n\n  play #1 (web): web servers\tTAGS: [play1]\n      TASK \
             TAGS: [a, b, blk, play1, x]\n\n  play #2 (db,web): db,web\tTAGS: []\n      TASK \
             TAGS: []\n",
        );
    jig()
        .args(["run", "-i", "inventory.ini", "site.yml", "--list-tasks"])
        .args(["-t", "x,blk", "--skip-tags", "play1"])
        .assert()
        .success()
        .stdout(
            "\nplaybook: site.yml\n\n  play #1 (web): web servers\tTAGS: [play1]\n    tasks:\n\n  \
             play #2 (db,web): db,web\tTAGS: []\n    tasks:\n",
        );
}

/// ansible-playbook prints each play's hosts from a Python set (any order); jig prints them in
/// inventory order.
#[test]
fn list_hosts_with_limit() {
    let out = jig()
        .args(["run", "-i", "inventory.ini", "site.yml", "--list-hosts"])
        .assert()
        .success();
    insta::assert_snapshot!(
        "list_hosts",
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    );
    jig()
        .args([
            "run",
            "-i",
            "inventory.ini",
            "site.yml",
            "--list-hosts",
            "-l",
            "web1,db1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "    pattern: ['db,web']\n    hosts (2):\n      db1\n      web1\n",
        ));
}

#[test]
fn inventory_graph_list_and_host() {
    jig()
        .args(["inventory", "-i", "inventory.ini", "--graph"])
        .assert()
        .success()
        .stdout(
            "@all:\n  |--@ungrouped:\n  |--@prod:\n  |  |--@web:\n  |  |  |--web1\n  |  |  \
             |--web2\n  |  |--@db:\n  |  |  |--db1\n",
        );
    let out = jig()
        .args(["inventory", "-i", "inventory.ini", "--list"])
        .assert()
        .success();
    let list: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(list["_meta"]["hostvars"]["db1"]["http_port"], 8080);
    assert_eq!(
        list["all"]["children"],
        serde_json::json!(["ungrouped", "prod"])
    );
    jig()
        .args(["inventory", "-i", "inventory.ini", "--host", "db1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"http_port\": 8080"));
    jig()
        .args(["inventory", "-i", "inventory.ini", "--graph", "nosuch"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ERROR!"));
    jig()
        .args(["inventory", "-i", "missing.ini", "--list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.ini"));
}

/// A real run on the controller: facts, `-e` with shell-hostile text, and the exact output
/// ansible-playbook 2.19 printed for the same playbook.
#[test]
fn run_local_playbook_matches_ansible() {
    jig()
        .args(["run", "local.yml", "-e", "greeting=\"a b $(x) é\""])
        .assert()
        .success()
        .stdout(
            "\nPLAY [local run] ***************************************************************\n\n\
             TASK [Gathering Facts] *********************************************************\n\
             ok: [localhost]\n\n\
             TASK [greet] *******************************************************************\n\
             ok: [localhost] => {\n    \"msg\": \"a b $(x) é from Debian\"\n}\n\n\
             PLAY RECAP *********************************************************************\n\
             localhost                  : ok=2    changed=0    unreachable=0    failed=0    \
             skipped=0    rescued=0    ignored=0   \n\n",
        );
}

#[test]
fn failed_host_exits_2_with_its_origin() {
    let out = jig().args(["run", "fail.yml"]).assert().code(2);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let origin = format!("Origin: {}:4:7\n", fixtures().join("fail.yml").display());
    assert!(stdout.contains(&origin), "{stdout}");
    assert!(
        stdout.contains(
            "fatal: [localhost]: FAILED! => {\"changed\": false, \"msg\": \"it broke\"}\n"
        )
    );
    assert!(!stdout.contains("never reached"));
    assert!(
        stdout.contains(
            "localhost                  : ok=0    changed=0    unreachable=0    failed=1 "
        )
    );
}

#[test]
fn two_playbooks_share_one_recap_and_colour_is_forced() {
    let out = jig()
        .env_remove("NO_COLOR")
        .args(["run", "--color", "always", "local.yml", "local.yml"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.matches("PLAY RECAP").count(), 1, "{stdout}");
    assert!(stdout.contains("\x1b[0;32mok=4   \x1b[0m"), "{stdout}");
}

/// A host that cannot be reached (nothing listens on 127.0.0.1:1) makes the run exit 4.
#[test]
fn unreachable_host_exits_4() {
    let out = jig()
        .args(["run", "-i", "far,", "unreachable.yml"])
        .args(["-e", "ansible_host=127.0.0.1 ansible_port=1"])
        .assert()
        .code(4);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("fatal: [far]: UNREACHABLE! => {"),
        "{stdout}"
    );
    assert!(stdout.contains("unreachable=1"), "{stdout}");
}

/// As ansible-playbook: a --limit that leaves no host of the inventory is an error (exit 1).
#[test]
fn limit_matching_nothing_is_an_error() {
    for extra in [&[][..], &["--list-hosts"][..]] {
        jig()
            .args(["run", "-i", "inventory.ini", "local.yml", "-l", "nosuch"])
            .args(extra)
            .assert()
            .code(1)
            .stdout("")
            .stderr(
                "[WARNING]: Could not match supplied host pattern, ignoring: nosuch\n\
                 ERROR! Specified inventory, host pattern and/or --limit leaves us with no \
                 hosts to target.\n",
            );
    }
}

//! Check mode with predicted state, on real test-bed hosts.
//!
//! A fresh host and a playbook whose later tasks depend on earlier changes: a package, a
//! config templated into the directory the package brings, an edit of that config, a new
//! directory and a file in it, the package's service, a group, a user in it and files owned
//! by them, commands guarded by `creates`. `jig run --check` must pass with no failure and
//! predict the changed count and the diffs of the real run that follows; the second real run
//! changes nothing. The example playbooks in playbooks/ must predict their real runs too.

#[path = "support/recap.rs"]
mod recap;
#[path = "support/testbed.rs"]
mod testbed;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use testbed::{Host, Testbed};

/// One run of jig: exit code, output and the host's recap counts.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    recap: Recap,
}

/// The counts of the host's recap line, `would_run` included (0 when absent).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Recap {
    ok: u32,
    changed: u32,
    failed: u32,
    unreachable: u32,
    skipped: u32,
    would_run: u32,
}

impl Recap {
    /// The host's counts, from the shared recap reader; all zero when it has no recap line.
    fn of(out: &str, host: &str) -> Recap {
        let c = recap::counts(out, host);
        let n = |k: &str| c.get(k).copied().unwrap_or(0);
        Recap {
            ok: n("ok"),
            changed: n("changed"),
            failed: n("failed"),
            unreachable: n("unreachable"),
            skipped: n("skipped"),
            would_run: n("would_run"),
        }
    }
}

impl Run {
    fn assert_ok(&self, what: &str) -> &Self {
        assert!(
            self.code == 0 && self.recap.failed == 0 && self.recap.unreachable == 0,
            "{what} did not succeed (exit {}):\n{}\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// `jig run PLAYBOOK -i INVENTORY ARGS...` from `dir`.
fn jig(dir: &Path, playbook: &Path, inventory: &Path, host: &Host, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_jig"))
        .arg("run")
        .arg(playbook)
        .arg("-i")
        .arg(inventory)
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("jig runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        recap: Recap::of(&stdout, &host.name),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout,
    }
}

/// An inventory with `h` in groups `testbed` and `web` (the example playbook's group), and
/// `vars` for all.
fn inventory(bed: &Testbed, h: &Host, dir: &Path, vars: &str) -> PathBuf {
    let mut inv = String::new();
    for group in ["testbed", "web"] {
        let _ = writeln!(
            inv,
            "[{group}]\n{} ansible_host={} ansible_user=root ansible_ssh_private_key_file='{}'",
            h.name,
            h.address,
            bed.private_key().display()
        );
    }
    let _ = write!(
        inv,
        "[all:vars]\nansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n{vars}\n",
        bed.known_hosts().display()
    );
    let path = dir.join(format!("inventory-{}.ini", h.name));
    std::fs::write(&path, inv).unwrap();
    path
}

/// Where the scenario writes (a space, a quote, `$(...)` and non-ASCII on purpose).
const WWW: &str = "/srv/wẃw dir/$(touch /tmp/pwned) 'q'";

const PLAYBOOK: &str = r##"
- hosts: all
  gather_facts: false
  vars:
    page: "héllo $(x) 'q'\n"
  tasks:
    - name: nginx from the bed's repository
      ansible.builtin.apt:
        name: nginx
        update_cache: true
      register: pkg

    - name: a site config in the directory the package brings
      ansible.builtin.template:
        src: site.conf.j2
        dest: /etc/nginx/conf.d/jig site.conf
        mode: "0644"
      notify: reload nginx

    - name: notes beside it, written once
      ansible.builtin.copy:
        content: "# notes\n"
        dest: /etc/nginx/jig notes
        force: false

    - name: an edit of the notes
      ansible.builtin.lineinfile:
        path: /etc/nginx/jig notes
        line: "# edited by jig"

    - name: a new directory
      ansible.builtin.file:
        path: "{{ www }}"
        state: directory
        mode: "0755"

    - name: a page inside it
      ansible.builtin.copy:
        content: "{{ page }}"
        dest: "{{ www }}/index.html"
        mode: "0644"

    - name: stat of the page
      ansible.builtin.stat:
        path: "{{ www }}/index.html"
      register: page_stat

    - name: the page is there, in check mode too
      ansible.builtin.assert:
        that:
          - page_stat.stat.exists
          - page_stat.stat.isreg
          - page_stat.stat.mode == "0644"
          - page_stat.stat.size == 16
          - page_stat.stat.checksum is defined
        quiet: true

    - name: a link to the page
      ansible.builtin.file:
        src: "{{ www }}/index.html"
        dest: /srv/page-link
        state: link

    - name: nginx running
      ansible.builtin.service:
        name: nginx
        state: started
        enabled: true

    - name: a group
      ansible.builtin.group:
        name: webops

    - name: a user in it
      ansible.builtin.user:
        name: webop
        group: webops
        shell: /bin/sh

    - name: a file owned by them
      ansible.builtin.copy:
        content: "owned\n"
        dest: /srv/owned.txt
        owner: webop
        group: webops
        mode: "0640"

    - name: a file in the user's new home
      ansible.builtin.copy:
        content: "profile\n"
        dest: /home/webop/.jig
        owner: webop

    - name: a command guarded by creates
      ansible.builtin.command: touch /srv/made-by-command
      args:
        creates: /srv/made-by-command

    - name: a command whose creates an earlier task makes
      ansible.builtin.command: cat /srv/owned.txt
      args:
        creates: /srv/owned.txt
      register: guarded

    - name: the guarded command did not run
      ansible.builtin.assert:
        that:
          - not guarded.changed
        quiet: true

    - name: read back the owned file
      ansible.builtin.slurp:
        src: /srv/owned.txt
      register: owned

    - name: its content, in check mode too
      ansible.builtin.assert:
        that:
          - (owned.content | b64decode) == "owned\n"
        quiet: true

    - name: a plain command
      ansible.builtin.command: echo hi
      changed_when: false

    - name: a directory only when the package changed
      ansible.builtin.file:
        path: /srv/after-nginx
        state: directory
      when: pkg.changed

  handlers:
    - name: reload nginx
      ansible.builtin.service:
        name: nginx
        state: reloaded
"##;

const TEMPLATE: &str = "# {{ inventory_hostname }}: managed by jig\n\
server {\n    listen 8081;\n    root /srv/jig-www;\n}\n";

/// The scenario on `h`: check, real, real again.
fn scenario(bed: &Testbed, h: &Host, dir: &Path) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates/site.conf.j2"), TEMPLATE).unwrap();
    let playbook = dir.join("predict.yml");
    std::fs::write(&playbook, PLAYBOOK).unwrap();
    let inv = inventory(bed, h, dir, &format!("www=\"{WWW}\""));
    // The bed's package lists predate its repository's later packages and check mode does
    // not refresh them (as Ansible's apt does not): refresh them as a provisioner would.
    bed.ssh_ok(h, "apt-get update -qq >/dev/null 2>&1");

    let check = jig(dir, &playbook, &inv, h, &["--check", "--diff", "-v"]);
    check.assert_ok("jig --check");
    let real = jig(dir, &playbook, &inv, h, &["--diff"]);
    real.assert_ok("jig (first real run)");
    let again = jig(dir, &playbook, &inv, h, &[]);
    again.assert_ok("jig (second real run)");

    assert_eq!(
        check.recap.changed, real.recap.changed,
        "check mode predicted {} changes, the real run made {}:\n--- check\n{}\n--- real\n{}",
        check.recap.changed, real.recap.changed, check.stdout, real.stdout
    );
    recap::assert_same_diffs(&check.stdout, &real.stdout, &[]);
    // Everything but the guarded command that does not run and the plain command changes;
    // the handler runs too.
    assert_eq!(real.recap.changed, 15, "{}", real.stdout);
    assert_eq!(again.recap.changed, 0, "{}", again.stdout);
    // The plain command is skipped in check mode and counted apart, only there.
    assert_eq!(check.recap.would_run, 1, "{}", check.stdout);
    let line = recap::recap(&check.stdout, &h.name);
    assert!(line.trim_end().ends_with("would_run=1"), "{line}");
    let line = recap::recap(&real.stdout, &h.name);
    assert!(
        line.contains(" : ok=") && !line.contains("would_run"),
        "{line}"
    );
    // The service planned from the package says so.
    assert!(
        check
            .stdout
            .contains("service nginx is not on the host yet; check mode assumes it comes with"),
        "{}",
        check.stdout
    );

    let state = bed.ssh_ok(
        h,
        &format!(
            "cat '/etc/nginx/conf.d/jig site.conf' '/etc/nginx/jig notes'; cat {}/index.html; readlink /srv/page-link; \
             stat -c '%U %G %a' /srv/owned.txt /home/webop/.jig; test -e /srv/made-by-command && echo made; \
             service nginx status >/dev/null && echo running; test ! -e /tmp/pwned && echo clean",
            testbed_quote(WWW)
        ),
    );
    assert_eq!(
        state,
        format!(
            "# {}: managed by jig\nserver {{\n    listen 8081;\n    root /srv/jig-www;\n}}\n\
             # notes\n# edited by jig\nhéllo $(x) 'q'\n{WWW}/index.html\nwebop webops 640\nwebop root 644\n\
             made\nrunning\nclean\n",
            h.name
        )
    );
}

/// Single-quotes `s` for the remote shell.
fn testbed_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn check_mode_predicts_a_fresh_host_and_the_example_playbooks() {
    let Some(bed) = Testbed::up(2) else { return };
    let dir = tempfile::tempdir().unwrap();
    let hosts = bed.hosts().to_vec();
    std::thread::scope(|s| {
        let fresh = s.spawn(|| scenario(&bed, &hosts[0], &dir.path().join("fresh")));
        examples(&bed, &hosts[1], &dir.path().join("examples"));
        fresh.join().expect("the scenario's thread");
    });
}

/// Every example playbook, with its documented variables: check changed == real changed.
fn examples(bed: &Testbed, h: &Host, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks");
    let mut playbooks: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        // image.yml removes a file its nginx package brings (sites-enabled/default): no check
        // mode can know a package's files before the package is there (docs/differences.md,
        // "Check mode with predicted state"); `jig bake` runs it, tests/bake.rs checks it.
        .filter(|p| !p.ends_with("image.yml"))
        .collect();
    playbooks.sort();
    assert!(playbooks.len() >= 2, "{playbooks:?}");
    // site.yml documents demo_root, roles.yml roles_demo_root (through `out`).
    let inv = inventory(
        bed,
        h,
        dir,
        "demo_root='/srv/jig-démo'\nout='/srv/jig roles démo'",
    );
    for pb in &playbooks {
        let check = jig(dir, pb, &inv, h, &["--check", "--diff"]);
        check.assert_ok(&format!("jig --check {}", pb.display()));
        let real = jig(dir, pb, &inv, h, &["--diff"]);
        real.assert_ok(&format!("jig {}", pb.display()));
        assert!(real.recap.changed > 0, "{}: {}", pb.display(), real.stdout);
        assert_eq!(
            check.recap.changed,
            real.recap.changed,
            "{}: check predicted {} changes, the real run made {}:\n--- check\n{}\n--- real\n{}",
            pb.display(),
            check.recap.changed,
            real.recap.changed,
            check.stdout,
            real.stdout
        );
        // roles.yml's handler writes the output of a command check mode does not run.
        let exceptions: &[(&str, &str)] = if pb.ends_with("roles.yml") {
            &[(
                "proxy_config : Record the reload",
                "it writes a command's stdout, and check mode skips the command",
            )]
        } else {
            &[]
        };
        recap::assert_same_diffs(&check.stdout, &real.stdout, exceptions);
    }
}

/// The tests' reader of diffs (support/recap.rs) on jig's own console output, on this
/// machine (no test bed): each changed result's blocks per task, host and loop item, a hunk
/// whose lines look like diff headers kept whole, and check mode's diffs compared with the
/// real run's.
#[test]
fn diffs_are_read_per_task_host_and_item() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("inventory.ini"), "local1 ansible_connection=local\n").unwrap();
    std::fs::write(
        d.join("play.yml"),
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: files in a loop
      copy: {dest: "{{ d }}/{{ item }}", content: "{{ item }}\n"}
      loop: [a, b, c]
      notify: a handler
    - name: files in a loop
      copy: {dest: "{{ d }}/d", content: "d\n"}
      loop: [one]
    - name: a line
      lineinfile: {path: "{{ d }}/a", line: "x"}
    - name: lines that look like headers
      copy: {dest: "{{ d }}/headers", content: "++ b\n"}
    - debug: {msg: "{ not a diff"}
    - name: a failure, ignored
      command: /bin/false
      ignore_errors: true
    - name: a directory
      file: {path: "{{ d }}/dir", state: directory}
  handlers:
    - name: a handler
      copy: {dest: "{{ d }}/h", content: "h\n"}
"#,
    )
    .unwrap();
    std::fs::write(d.join("b"), "b\n").unwrap();
    std::fs::write(d.join("headers"), "-- a\n").unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_jig"))
            .args(["run", "play.yml", "-i", "inventory.ini", "-e"])
            .arg(format!("d={}", d.display()))
            .args(args)
            .env("NO_COLOR", "1")
            .current_dir(d)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let check = run(&["--check", "--diff"]);
    let real = run(&["--diff"]);
    let found = recap::diffs(&real);
    let keys: Vec<String> = found.iter().map(recap::TaskDiffs::key).collect();
    assert_eq!(
        keys,
        [
            "task [files in a loop] on local1 (item=a)",
            "task [files in a loop] on local1 (item=c)",
            "task [files in a loop] (#2) on local1 (item=one)",
            "task [a line] on local1",
            "task [lines that look like headers] on local1",
            "task [a directory] on local1",
            "handler [a handler] on local1",
        ],
        "{real}"
    );
    let a = format!("{}/a", d.display());
    assert_eq!(
        found[0].blocks,
        [format!(
            "--- before: {a}\n+++ after: {a}\n@@ -0,0 +1 @@\n+a\n"
        )]
    );
    assert_eq!(found[0].status, ["changed: [local1] => (item=a)"]);
    assert_eq!(
        found[3].blocks,
        [format!(
            "--- before: {a} (content)\n+++ after: {a} (content)\n@@ -1 +1,2 @@\n a\n+x\n"
        )]
    );
    assert_eq!(
        found[4].blocks,
        [format!(
            "--- before: {p}\n+++ after: {p}\n@@ -1 +1 @@\n--- a\n+++ b\n",
            p = format!("{}/headers", d.display())
        )]
    );
    assert_eq!(found[4].status, ["changed: [local1]"]);
    assert!(
        found[5].blocks[0].contains("+    \"state\": \"directory\""),
        "{real}"
    );
    // Check mode predicted every one of them.
    recap::assert_same_diffs(&check, &real, &[]);
    assert_eq!(recap::diffs(&check), found);
    // A difference is reported with both sides; an exception lets it pass.
    let changed = real.replace("+++ b\n", "+++ c\n");
    let err = std::panic::catch_unwind(|| recap::assert_same_diffs(&check, &changed, &[]))
        .expect_err("a different diff must fail");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("== task [lines that look like headers] on local1")
            && msg.contains("-- check mode printed:\n--- before")
            && msg.contains("+++ c"),
        "{msg}"
    );
    recap::assert_same_diffs(
        &check,
        &changed,
        &[("lines that look like headers", "a test")],
    );
    // ansible-playbook 2.19 prints a loop item's diff before the item's line.
    let ansible = "\nTASK [copy] ****\n--- before\n+++ after: /o/1\n@@ -0,0 +1 @@\n+a\n\n\
                   changed: [localhost] => (item=1)\nok: [localhost] => (item=2)\n\
                   --- before\n+++ after: /o/3\n@@ -0,0 +1 @@\n+a\n\n\
                   changed: [localhost] => (item=3)\n\nPLAY RECAP ****\n";
    let items: Vec<(Option<String>, String)> = recap::diffs(ansible)
        .into_iter()
        .map(|d| (d.item, d.blocks.concat()))
        .collect();
    assert_eq!(
        items,
        [
            (
                Some("1".to_string()),
                "--- before\n+++ after: /o/1\n@@ -0,0 +1 @@\n+a\n".to_string()
            ),
            (
                Some("3".to_string()),
                "--- before\n+++ after: /o/3\n@@ -0,0 +1 @@\n+a\n".to_string()
            ),
        ]
    );
    // An exception must name a task of the run.
    assert!(
        std::panic::catch_unwind(|| recap::assert_same_diffs(&check, &real, &[("nope", "x")]))
            .is_err()
    );
}

//! jig beside ansible-core on two identical test-bed hosts: the harness of the module tests.
//!
//! Include it next to the test-bed module:
//!
//! ```ignore
//! #[path = "support/testbed.rs"] mod testbed;
//! #[path = "support/converge.rs"] mod converge;
//!
//! let Some(pair) = converge::Pair::up() else { return };
//! pair.write("play.yml", PLAYBOOK);            // `hosts: all`
//! let r = pair.converge("play.yml", &[]);
//! r.assert_counts(3)                           // check == first == ansible == 3, second 0
//!     .assert_same_diffs(&[("a download", "its content is the server's")]);
//! pair.assert_same("getent passwd alice");
//! ```
//!
//! This module owns what the module tests share: two hosts started from the same image (the
//! Python one, so ansible-core can manage the second), a project directory for the playbook
//! and its files, running `jig run` against one host and `ansible-playbook` against the
//! other with the same playbook, reading the recap both print, comparing check mode's diffs
//! with the real run's, and comparing host state.
//!
//! ansible-core is found through `JIG_ANSIBLE` (the path of its `ansible` command; CI sets
//! it) or `ansible-playbook` on PATH. Without it, or without the test bed, [`Pair::up`]
//! prints why and returns `None`, unless `JIG_TESTBED_REQUIRED=1`, which makes it a failure.

#![allow(dead_code)] // each test crate uses a different part of this module

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::testbed::{Host, Image, Testbed};

#[path = "recap.rs"]
mod recap;

pub use recap::TaskDiffs;

/// The counts of one host's recap line (`HOST : ok=1 changed=0 ...`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recap {
    /// `ok=`
    pub ok: u32,
    /// `changed=`
    pub changed: u32,
    /// `unreachable=`
    pub unreachable: u32,
    /// `failed=`
    pub failed: u32,
    /// `skipped=`
    pub skipped: u32,
    /// `rescued=`
    pub rescued: u32,
    /// `ignored=`
    pub ignored: u32,
}

impl Recap {
    /// The recap line for `host` in a run's output, if it printed one (read by
    /// support/recap.rs, the tests' one reader of recap lines).
    pub fn parse(output: &str, host: &str) -> Option<Recap> {
        let c = recap::counts(output, host);
        if c.is_empty() {
            return None;
        }
        let n = |k: &str| c.get(k).copied().unwrap_or(0);
        Some(Recap {
            ok: n("ok"),
            changed: n("changed"),
            unreachable: n("unreachable"),
            failed: n("failed"),
            skipped: n("skipped"),
            rescued: n("rescued"),
            ignored: n("ignored"),
        })
    }
}

/// One run of jig or ansible-playbook against one host.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
    /// The host's recap line (all zero when the run printed none; see `stdout`).
    pub recap: Recap,
}

impl Outcome {
    /// Panics with the whole output unless the run exited 0 with no failed or unreachable
    /// host.
    pub fn assert_ok(&self, what: &str) -> &Self {
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

/// The four runs [`Pair::converge`] makes.
#[derive(Debug, Clone)]
pub struct Converged {
    /// `jig run --check --diff` on the fresh jig host.
    pub check: Outcome,
    /// The real run on the jig host, with `--diff`.
    pub first: Outcome,
    /// The same run again: what is left to change (should be nothing).
    pub second: Outcome,
    /// `ansible-playbook` on the other host.
    pub ansible: Outcome,
}

impl Converged {
    /// The module tests' counts: the real run made `changed` changes, check mode predicted as
    /// many, the second run made none, and ansible-playbook made as many on its host.
    pub fn assert_counts(&self, changed: u32) -> &Self {
        assert_eq!(self.first.recap.changed, changed, "{}", self.first.stdout);
        self.jig().assert_counts(changed);
        assert_eq!(
            self.ansible.recap.changed, self.first.recap.changed,
            "ansible-playbook:\n{}\njig:\n{}",
            self.ansible.stdout, self.first.stdout
        );
        self
    }

    /// Asserts that check mode printed the diffs the real run printed, task by task (see
    /// [`assert_same_diffs`]); `exceptions` lists `(task name, why)` for the tasks whose diffs
    /// may differ.
    pub fn assert_same_diffs(&self, exceptions: &[(&str, &str)]) -> &Self {
        assert_same_diffs(&self.check, &self.first, exceptions);
        self
    }

    /// jig's three runs, without ansible's.
    pub fn jig(&self) -> JigConverged {
        JigConverged {
            check: self.check.clone(),
            first: self.first.clone(),
            second: self.second.clone(),
        }
    }
}

/// The three runs [`Pair::converge_jig`] makes: jig alone, where ansible-core cannot take
/// part (a collection it lacks, a module it cannot run on the bed).
#[derive(Debug, Clone)]
pub struct JigConverged {
    /// `jig run --check --diff` on the fresh jig host.
    pub check: Outcome,
    /// The real run, with `--diff`.
    pub first: Outcome,
    /// The same run again.
    pub second: Outcome,
}

impl JigConverged {
    /// The real run made `changed` changes, check mode predicted as many, the second run made
    /// none.
    pub fn assert_counts(&self, changed: u32) -> &Self {
        assert_eq!(self.first.recap.changed, changed, "{}", self.first.stdout);
        assert_eq!(
            self.check.recap.changed, self.first.recap.changed,
            "check:\n{}\nfirst:\n{}",
            self.check.stdout, self.first.stdout
        );
        assert_eq!(self.second.recap.changed, 0, "{}", self.second.stdout);
        self
    }

    /// As [`Converged::assert_same_diffs`].
    pub fn assert_same_diffs(&self, exceptions: &[(&str, &str)]) -> &Self {
        assert_same_diffs(&self.check, &self.first, exceptions);
        self
    }
}

/// Every changed result's diffs in a run's output, per task, host and loop item (see
/// support/recap.rs).
pub fn diffs(run: &Outcome) -> Vec<TaskDiffs> {
    recap::diffs(&run.stdout)
}

/// Asserts that `check` (a `--check --diff` run) printed the same diffs as `real` (a
/// `--diff` run on the same starting state): the same `--- before`/`+++ after` blocks and
/// summaries for each changed task, host and loop item. Ansible's check-mode diffs match its
/// real ones for the modules tested here, so a difference is a bug unless the task is listed
/// in `exceptions` as `(task name, why)`, with the reason check mode cannot know the
/// content (a download, a generated key). An exception must name a task of the playbook.
pub fn assert_same_diffs(check: &Outcome, real: &Outcome, exceptions: &[(&str, &str)]) {
    recap::assert_same_diffs(&check.stdout, &real.stdout, exceptions);
}

/// Two hosts from the same image, one for jig and one for ansible-core, and a project
/// directory for the playbook.
pub struct Pair {
    bed: Testbed,
    playbook_bin: PathBuf,
    project: tempfile::TempDir,
}

/// The `ansible-playbook` to compare with, if there is one.
pub fn ansible_playbook() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("JIG_ANSIBLE") {
        let p = PathBuf::from(p);
        return p.parent().map(|d| d.join("ansible-playbook"));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("ansible-playbook"))
        .find(|p| p.is_file())
}

impl Pair {
    /// Starts the two hosts. `None` (after printing why) when the test bed or ansible-core is
    /// not available here and `JIG_TESTBED_REQUIRED` is not `1`.
    pub fn up() -> Option<Pair> {
        let required = std::env::var("JIG_TESTBED_REQUIRED").is_ok_and(|v| v == "1");
        let Some(playbook_bin) = ansible_playbook().filter(|p| p.is_file()) else {
            assert!(
                !required,
                "JIG_TESTBED_REQUIRED=1 but no ansible-playbook (set JIG_ANSIBLE)"
            );
            eprintln!("skipping: no ansible-playbook to compare with (set JIG_ANSIBLE)");
            return None;
        };
        let bed = Testbed::up_image(2, Image::Python)?;
        let project = tempfile::Builder::new()
            .prefix("jig-converge-")
            .tempdir()
            .expect("a temporary project directory");
        Some(Pair {
            bed,
            playbook_bin,
            project,
        })
    }

    /// The test bed under the pair, for faults and lower-level access.
    pub fn bed(&self) -> &Testbed {
        &self.bed
    }

    /// The host jig manages.
    pub fn jig_host(&self) -> &Host {
        &self.bed.hosts()[0]
    }

    /// The host ansible-core manages.
    pub fn ansible_host(&self) -> &Host {
        &self.bed.hosts()[1]
    }

    /// The project directory (playbooks, `files/`, `templates/`, roles).
    pub fn dir(&self) -> &Path {
        self.project.path()
    }

    /// Writes `content` to `rel` under the project directory (parents made), returning the
    /// path.
    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.project.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("project subdirectory");
        }
        std::fs::write(&path, content).expect("project file");
        path
    }

    /// `jig run PLAYBOOK -i INV -l JIG_HOST EXTRA...` from the project directory.
    pub fn jig(&self, playbook: &str, extra: &[&str]) -> Outcome {
        let host = self.jig_host().name.clone();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jig"));
        cmd.arg("run")
            .arg(playbook)
            .arg("-i")
            .arg(self.bed.inventory())
            .args(["-l", &host])
            .args(extra)
            .env("NO_COLOR", "1");
        self.outcome(cmd, &host)
    }

    /// `ansible-playbook PLAYBOOK -i INV -l ANSIBLE_HOST EXTRA...` from the project directory,
    /// with python3 on the host as interpreter and no host-key prompt.
    pub fn ansible(&self, playbook: &str, extra: &[&str]) -> Outcome {
        let host = self.ansible_host().name.clone();
        let mut cmd = Command::new(&self.playbook_bin);
        cmd.arg(playbook)
            .arg("-i")
            .arg(self.bed.inventory())
            .args(["-l", &host])
            .args(["-e", "ansible_python_interpreter=/usr/bin/python3"])
            .args(extra)
            .env("ANSIBLE_HOST_KEY_CHECKING", "False")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_PIPELINING", "True")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
            .env(
                "ANSIBLE_LOCAL_TEMP",
                self.project.path().join(".ansible-tmp"),
            );
        self.outcome(cmd, &host)
    }

    fn outcome(&self, mut cmd: Command, host: &str) -> Outcome {
        let out = cmd
            .current_dir(self.project.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            recap: Recap::parse(&stdout, host).unwrap_or_default(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout,
        }
    }

    /// The module test's whole cycle: jig's `--check --diff` on the fresh jig host, the real
    /// run with `--diff`, a second run, and ansible-playbook on the other host (concurrently
    /// with jig's runs). `extra` goes to every run. Each run must succeed; the caller compares
    /// counts ([`Converged::assert_counts`]) and diffs ([`Converged::assert_same_diffs`]).
    pub fn converge(&self, playbook: &str, extra: &[&str]) -> Converged {
        std::thread::scope(|s| {
            let ansible = s.spawn(|| self.ansible(playbook, extra));
            let jig = self.converge_jig(playbook, extra);
            let ansible = ansible.join().expect("the ansible run's thread");
            ansible.assert_ok("ansible-playbook");
            Converged {
                check: jig.check,
                first: jig.first,
                second: jig.second,
                ansible,
            }
        })
    }

    /// jig's part of [`Pair::converge`] alone: `--check --diff`, the real run with `--diff`,
    /// and a second run, each of which must succeed.
    pub fn converge_jig(&self, playbook: &str, extra: &[&str]) -> JigConverged {
        let with = |first: &[&'static str]| {
            let mut args: Vec<&str> = first.to_vec();
            args.extend_from_slice(extra);
            args
        };
        let check = self.jig(playbook, &with(&["--check", "--diff"]));
        check.assert_ok("jig --check");
        let first = self.jig(playbook, &with(&["--diff"]));
        first.assert_ok("jig (first run)");
        let second = self.jig(playbook, extra);
        second.assert_ok("jig (second run)");
        JigConverged {
            check,
            first,
            second,
        }
    }

    /// Runs a set-up command (a shell command line) as root on both hosts at once; both must
    /// succeed and print the same once each host's name and address are replaced by `HOST`
    /// and `ADDR`. Returns the (normalised) output.
    pub fn on_both(&self, command: &str) -> String {
        let (j, a) = (self.jig_host(), self.ansible_host());
        let norm = |h: &Host, s: String| {
            s.replace(&h.name, "HOST")
                .replace(&h.address.to_string(), "ADDR")
        };
        let (ours, theirs) = std::thread::scope(|s| {
            let theirs = s.spawn(|| self.on_ansible(command));
            let ours = self.on_jig(command);
            (ours, theirs.join().expect("the ansible host's ssh thread"))
        });
        let (ours, theirs) = (norm(j, ours), norm(a, theirs));
        assert_eq!(
            ours, theirs,
            "`{command}` differs between the jig host (left) and the ansible host (right)"
        );
        ours
    }

    /// stdout of `command` (a shell command line) run as root on the jig host; must succeed.
    pub fn on_jig(&self, command: &str) -> String {
        self.bed.ssh_ok(self.jig_host(), command)
    }

    /// stdout of `command` run as root on the ansible host; must succeed.
    pub fn on_ansible(&self, command: &str) -> String {
        self.bed.ssh_ok(self.ansible_host(), command)
    }

    /// Runs `command` on both hosts and asserts the outputs are equal once each host's name
    /// and address are replaced by `HOST` and `ADDR`. Returns the (normalised) output.
    pub fn assert_same(&self, command: &str) -> String {
        self.on_both(command)
    }
}

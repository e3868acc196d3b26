//! `jig schedule install|list|remove|exec` under a scratch root (`JIG_SCHEDULE_ROOT`), never
//! the real /etc: systemd units (snapshotted, and checked by `systemd-analyze verify` when it
//! exists), a cron.d file whose command line is run for real through `sh` with awkward
//! arguments, a user crontab edited through `crontab` (a stand-in script), report retention
//! and the last-run record `list` shows.

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// A scratch root, a working directory with spaces, quotes and non-ASCII in its name, and a
/// playbook that runs on the local connection.
struct Scratch {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    work: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let work = tmp.path().join("work dir 'é' $(x)");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(
            work.join("site.yml"),
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ note }}\"\n",
        )
        .unwrap();
        std::fs::write(work.join("inv 1.ini"), "box ansible_connection=local\n").unwrap();
        Scratch {
            _tmp: tmp,
            root,
            work,
        }
    }

    fn jig(&self, args: &[&str]) -> Out {
        let out = Command::new(env!("CARGO_BIN_EXE_jig"))
            .args(args)
            .current_dir(&self.work)
            .env("JIG_SCHEDULE_ROOT", &self.root)
            .env("HOME", "/home/tester")
            .env("NO_COLOR", "1")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME")
            .output()
            .unwrap();
        Out {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> Out {
        let out = self.jig(args);
        assert_eq!(out.code, Some(0), "jig {args:?}: {}", out.show());
        out
    }

    /// `text` with the scratch paths and the jig binary's path replaced by placeholders.
    fn scrub(&self, text: &str) -> String {
        let jig = std::fs::canonicalize(env!("CARGO_BIN_EXE_jig")).unwrap();
        let work = self.work.display().to_string();
        text.replace(&jig::connection::quote(&work), "[WORK]")
            .replace(&jig.display().to_string(), "[JIG]")
            .replace(&self.root.display().to_string(), "[ROOT]")
            .replace(&self.work.display().to_string(), "[WORK]")
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Whether this jig has `check` (it is being built on another branch).
fn has_check() -> bool {
    Command::new(env!("CARGO_BIN_EXE_jig"))
        .args(["check", "--help"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn user_systemd_units_are_written_verified_listed_and_removed() {
    let s = Scratch::new();
    let out = s.ok(&[
        "schedule",
        "install",
        "drift",
        "--user",
        "--every",
        "1h",
        "--keep",
        "3",
        "--",
        "check",
        "site.yml",
        "-i",
        "inv 1.ini",
        "-e",
        "note='50% of $HOME' \"q\" é",
        "--report",
        "reports",
    ]);
    let units = s.root.join("home/tester/.config/systemd/user");
    let service = units.join("jig-drift.service");
    let timer = units.join("jig-drift.timer");
    assert!(
        out.stdout
            .contains("installed schedule drift (systemd, every 1h)")
    );
    assert!(
        out.stdout
            .contains("systemctl --user enable --now jig-drift.timer"),
        "units written under a scratch root are not enabled: {}",
        out.show()
    );
    let service_text = std::fs::read_to_string(&service).unwrap();
    let timer_text = std::fs::read_to_string(&timer).unwrap();
    insta::assert_snapshot!("user_service", s.scrub(&service_text));
    insta::assert_snapshot!("user_timer", s.scrub(&timer_text));

    if Path::new("/usr/bin/systemd-analyze").exists() || which("systemd-analyze") {
        let v = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&service)
            .arg(&timer)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&v.stderr);
        assert!(
            v.status.success() && !err.contains("jig-drift"),
            "systemd-analyze verify: {v:?}"
        );
    } else {
        eprintln!("systemd-analyze is not installed: units not verified");
    }

    let listed = s.ok(&["schedule", "list", "--user"]);
    let line = listed
        .stdout
        .lines()
        .find(|l| l.starts_with("drift "))
        .unwrap_or_else(|| panic!("{}", listed.show()));
    assert!(line.contains(" systemd ") && line.contains("every 1h") && line.contains("never"));
    assert!(
        line.ends_with("jig check site.yml -i 'inv 1.ini' -e 'note='\\''50% of $HOME'\\'' \"q\" é' --report reports"),
        "{line}"
    );

    let removed = s.ok(&["schedule", "remove", "--user", "drift"]);
    assert!(removed.stdout.contains("removed schedule drift"));
    assert!(!service.exists() && !timer.exists());
    assert!(
        s.ok(&["schedule", "list", "--user"])
            .stdout
            .starts_with("no scheduled jobs")
    );
    let again = s.jig(&["schedule", "remove", "--user", "drift"]);
    assert_eq!(again.code, Some(1));
    assert!(
        again.stderr.contains("no schedule named 'drift'"),
        "{}",
        again.show()
    );
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn a_cron_d_entry_runs_for_real_through_sh_and_records_its_last_run() {
    if !is_root() {
        eprintln!("skipping: the system scope (/etc/cron.d) is the default only for root");
        return;
    }
    let s = Scratch::new();
    s.ok(&[
        "schedule",
        "install",
        "nightly",
        "--cron",
        "30 2 * * *",
        "--",
        "run",
        "--check",
        "site.yml",
        "-i",
        "inv 1.ini",
        "-e",
        "note='50% of $(x) \"q\" é'",
    ]);
    let file = s.root.join("etc/cron.d/jig-nightly");
    let text = std::fs::read_to_string(&file).unwrap();
    insta::assert_snapshot!("cron_d", s.scrub(&text));
    // The entry's command, as cron hands it to /bin/sh (cron turns `\%` back into `%`).
    let line = text
        .lines()
        .find(|l| l.starts_with("30 2 "))
        .unwrap()
        .strip_prefix("30 2 * * * root ")
        .unwrap()
        .replace("\\%", "%");
    let run = Command::new("/bin/sh")
        .arg("-c")
        .arg(&line)
        .current_dir("/")
        .env("JIG_SCHEDULE_ROOT", &s.root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{line}\n{run:?}");
    assert!(
        stdout.contains("\"msg\": \"50% of $(x) \\\"q\\\" é\""),
        "{stdout}"
    );
    let last: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.root.join("var/lib/jig/schedule/nightly.last-run.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["exit_code"], 0);
    let listed = s.ok(&["schedule", "list"]);
    assert!(
        listed.stdout.lines().any(|l| l.starts_with("nightly ")
            && l.contains("cron 30 2 * * *")
            && l.contains(" exit 0 ")),
        "{}",
        listed.show()
    );
    s.ok(&["schedule", "remove", "nightly"]);
    assert!(!file.exists());
}

#[test]
fn a_user_crontab_gets_a_marked_block_and_loses_only_it() {
    let s = Scratch::new();
    let fake = s.root.join("crontab.sh");
    let store = s.root.join("crontab.txt");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nf='{}'\ncase \"$1\" in\n  -l) if [ -f \"$f\" ]; then cat \"$f\"; else echo 'no crontab for tester' >&2; exit 1; fi ;;\n  -) cat > \"$f\" ;;\nesac\n",
            store.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let install = |name: &str, spec: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_jig"))
            .args(["schedule", "install", name, "--user", "--cron", spec, "--"])
            .args(["run", "--check", "site.yml", "-i", "inv 1.ini"])
            .current_dir(&s.work)
            .env("JIG_SCHEDULE_ROOT", &s.root)
            .env("JIG_CRONTAB", &fake)
            .env("HOME", "/home/tester")
            .env_remove("XDG_STATE_HOME")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    // No crontab yet: the block becomes the whole crontab.
    install("first", "@hourly");
    std::fs::write(
        &store,
        std::fs::read_to_string(&store).unwrap() + "MAILTO=ops\n0 1 * * * other-job\n",
    )
    .unwrap();
    install("second", "*/15 * * * *");
    let text = std::fs::read_to_string(&store).unwrap();
    insta::assert_snapshot!("user_crontab", s.scrub(&text));
    // Installing a name again replaces its block.
    install("first", "@daily");
    let text = std::fs::read_to_string(&store).unwrap();
    assert_eq!(text.matches("# BEGIN jig schedule first").count(), 1);
    assert!(text.contains("@daily ") && !text.contains("@hourly "));
    let out = Command::new(env!("CARGO_BIN_EXE_jig"))
        .args(["schedule", "remove", "--user", "first"])
        .env("JIG_SCHEDULE_ROOT", &s.root)
        .env("JIG_CRONTAB", &fake)
        .env("HOME", "/home/tester")
        .env_remove("XDG_STATE_HOME")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let left = std::fs::read_to_string(&store).unwrap();
    assert!(!left.contains("jig schedule first"));
    assert!(left.contains("MAILTO=ops\n0 1 * * * other-job\n# BEGIN jig schedule second\n"));
}

#[test]
fn each_scheduled_run_gets_its_own_report_directory_and_old_ones_go() {
    let s = Scratch::new();
    let state = s.root.join("state");
    let expected = if has_check() { 0 } else { 5 };
    for _ in 0..3 {
        let out = s.jig(&[
            "schedule",
            "exec",
            "--name",
            "drift",
            "--state-dir",
            &state.display().to_string(),
            "--keep",
            "2",
            "--",
            "check",
            "site.yml",
            "-i",
            "inv 1.ini",
            "-e",
            "note=hi",
            "--report",
            "reports",
        ]);
        assert_eq!(out.code, Some(expected), "{}", out.show());
    }
    let reports = s.work.join("reports");
    let mut names: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "two runs and `latest`: {names:?}");
    assert_eq!(names[2], "latest");
    let newest = std::fs::read_link(reports.join("latest")).unwrap();
    let last: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("drift.last-run.json")).unwrap())
            .unwrap();
    assert_eq!(last["exit_code"], expected);
    assert_eq!(
        last["report"].as_str().unwrap(),
        reports.join(&newest).display().to_string()
    );
    assert!(names[..2].contains(&newest.display().to_string()));
}

#[test]
fn bad_schedules_are_refused_before_anything_is_written() {
    let s = Scratch::new();
    for (args, says) in [
        (
            vec!["--every", "soon", "--", "run", "site.yml"],
            "is not a duration",
        ),
        (
            vec!["--cron", "* * *", "--", "run", "site.yml"],
            "is not a cron schedule",
        ),
        (
            vec!["--every", "1h", "--keep", "2", "--", "run", "site.yml"],
            "--keep needs a report directory",
        ),
        (vec!["--", "run", "site.yml"], "say when the job runs"),
    ] {
        let mut full = vec!["schedule", "install", "job", "--user"];
        full.extend(args);
        let out = s.jig(&full);
        assert_eq!(out.code, Some(1), "{full:?}: {}", out.show());
        assert!(out.stderr.contains(says), "{full:?}: {}", out.show());
    }
    let bad_name = s.jig(&["schedule", "install", "../x", "--every", "1h", "--", "run"]);
    assert!(bad_name.stderr.contains("cannot name a schedule"));
    assert!(!s.root.join("home").exists(), "nothing was written");
}

#[test]
fn explicit_unit_and_cron_directories_are_used_as_given() {
    let s = Scratch::new();
    let units = s.root.join("my units");
    let crons = s.root.join("my crons");
    let out = s.ok(&[
        "schedule",
        "install",
        "weekly",
        "--user",
        "--on-calendar",
        "Mon *-*-* 06:00:00",
        "--unit-dir",
        &units.display().to_string(),
        "--",
        "run",
        "--check",
        "site.yml",
    ]);
    assert!(
        out.stdout
            .contains("(systemd, on-calendar Mon *-*-* 06:00:00)"),
        "{}",
        out.show()
    );
    let timer = std::fs::read_to_string(units.join("jig-weekly.timer")).unwrap();
    assert!(
        timer.contains("\nOnCalendar=Mon *-*-* 06:00:00\nPersistent=true\n"),
        "{timer}"
    );
    if which("systemd-analyze") {
        let v = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(units.join("jig-weekly.service"))
            .arg(units.join("jig-weekly.timer"))
            .output()
            .unwrap();
        assert!(v.status.success(), "systemd-analyze verify: {v:?}");
        let bad = s.jig(&[
            "schedule",
            "install",
            "bad",
            "--user",
            "--on-calendar",
            "every blue moon",
            "--",
            "run",
            "site.yml",
        ]);
        assert_eq!(bad.code, Some(1));
        assert!(
            bad.stderr.contains("is not a systemd calendar expression"),
            "{}",
            bad.show()
        );
    }
    s.ok(&[
        "schedule",
        "install",
        "often",
        "--user",
        "--cron",
        "@hourly",
        "--cron-dir",
        &crons.display().to_string(),
        "--",
        "run",
        "--check",
        "site.yml",
    ]);
    let cron = std::fs::read_to_string(crons.join("jig-often")).unwrap();
    // A user's cron file has no user field.
    assert!(cron.contains("\n@hourly cd "), "{cron}");
    let listed = s.ok(&["schedule", "list", "--user"]).stdout;
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("often ") && l.contains(" cron "))
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("weekly ") && l.contains(" systemd "))
    );
    s.ok(&["schedule", "remove", "--user", "weekly"]);
    s.ok(&["schedule", "remove", "--user", "often"]);
    assert!(!units.join("jig-weekly.timer").exists() && !crons.join("jig-often").exists());
}

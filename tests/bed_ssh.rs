//! `jig run` over its own SSH transport against real test-bed hosts (tests/testbed): a fleet
//! converging in parallel, host keys (unknown, accepted, changed, certified by a CA), hosts
//! that are stopped, cut or killed mid-run, become (sudo with a password, su on a terminal,
//! an unprivileged become_user), ProxyJump chains, and serial/max_fail_percentage/
//! any_errors_fatal across five hosts. Every run is bounded: a hang fails the test.
//!
//! Needs root (the bed); skipped with a message elsewhere unless `JIG_TESTBED_REQUIRED=1`.

#[path = "support/recap.rs"]
mod recap;
#[path = "support/testbed.rs"]
mod testbed;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jig::connection::quote;
use recap::{count, counts};
use testbed::{Host, Testbed};

/// No run in this file may take longer; past it the run counts as hung.
const RUN_DEADLINE: Duration = Duration::from_secs(90);

/// What one `jig run` did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn show(&self) -> String {
        format!(
            "exit {:?} after {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    fn counts(&self, h: &Host) -> std::collections::BTreeMap<String, u32> {
        counts(&self.stdout, &h.name)
    }

    fn count(&self, h: &Host, what: &str) -> u32 {
        count(&self.stdout, &h.name, what)
    }

    /// The `fatal: [host]: UNREACHABLE! => ...` line of `h`.
    fn unreachable_line(&self, h: &Host) -> String {
        let head = format!("fatal: [{}]: UNREACHABLE!", h.name);
        self.stdout
            .lines()
            .find(|l| l.starts_with(&head))
            .unwrap_or_else(|| panic!("{} is not reported unreachable:\n{}", h.name, self.show()))
            .to_string()
    }
}

/// A directory for one scenario: HOME (so ~/.ssh is the test's own), an empty ssh_config by
/// default, inventories and playbooks.
struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(bed: &Testbed, name: &str) -> Project {
        let dir = bed.dir().join(name);
        std::fs::create_dir_all(dir.join("home/.ssh")).unwrap();
        std::fs::write(dir.join("ssh_config"), "").unwrap();
        Project { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `jig run` with HOME in the project, no agent, no colour, `--ssh-config` the project's
    /// unless `args` gives one, and `args` before the playbook.
    fn command(&self, args: &[&str], playbook: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_jig"));
        c.arg("run");
        if !args.contains(&"--ssh-config") {
            c.arg("--ssh-config").arg(self.path("ssh_config"));
        }
        c.args(args)
            .arg(playbook)
            .env("HOME", self.path("home"))
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("ANSIBLE_HOST_KEY_CHECKING")
            .env("NO_COLOR", "1");
        c
    }

    fn run(&self, args: &[&str], playbook: &Path) -> Run {
        let mut c = self.command(args, playbook);
        c.stdin(Stdio::null());
        finish(c, |_| {})
    }
}

/// Runs `c` with piped output, calling `during` once it started, and waits at most
/// [`RUN_DEADLINE`]: a run that takes longer is killed and fails the test.
fn finish(mut c: Command, during: impl FnOnce(u32)) -> Run {
    let started = Instant::now();
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out_reader = {
        let mut s = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut buf);
            buf
        })
    };
    let err_reader = {
        let mut s = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut buf);
            buf
        })
    };
    during(child.id());
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > RUN_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "jig hung (killed after {RUN_DEADLINE:?}):\n{}",
                out_reader.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        code: status.code(),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

/// An INI inventory line for `h` logging in as `user` with the bed's key, plus `extra`.
fn host_line(bed: &Testbed, h: &Host, user: &str, extra: &str) -> String {
    format!(
        "{} ansible_host={} ansible_user={user} ansible_ssh_private_key_file='{}' {extra}\n",
        h.name,
        h.address,
        bed.private_key().display()
    )
}

/// An inventory with every host in group `testbed`, checking keys against the bed's
/// known_hosts through `ansible_ssh_common_args`, and `vars` in `[all:vars]`.
fn bed_inventory(bed: &Testbed, hosts: &[Host], user: &str, vars: &str) -> String {
    let mut inv = String::from("[testbed]\n");
    for h in hosts {
        inv += &host_line(bed, h, user, "");
    }
    let _ = write!(
        inv,
        "\n[all:vars]\nansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n{vars}\n",
        bed.known_hosts().display()
    );
    inv
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bed")
        .join(name)
}

fn demo_playbook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/site.yml")
}

/// Where the demo playbook writes on the hosts (non-ASCII on purpose).
const DEMO_ROOT: &str = "/srv/jig-démo";

/// Checks the tree the demo playbook leaves on `h`.
fn assert_demo_tree(bed: &Testbed, h: &Host) {
    let all = bed.ssh_ok(
        h,
        &format!(
            "cd {} && find . -printf '%p %y %m %l\\n' | LC_ALL=C sort && echo @@ && cat etc/motd \
             && echo @@ && cat etc/sshd_config && echo @@ && cat etc/app/app.json",
            quote(DEMO_ROOT)
        ),
    );
    let parts: Vec<&str> = all.split("@@\n").collect();
    let [listing, motd, sshd, app] = parts[..] else {
        panic!("{}: {all}", h.name)
    };
    assert_eq!(
        listing,
        ". d 755 \n\
         ./etc d 755 \n\
         ./etc/app d 755 \n\
         ./etc/app/app.json f 640 \n\
         ./etc/app/app.service f 644 \n\
         ./etc/motd f 644 \n\
         ./etc/sshd_config f 600 \n\
         ./srv d 755 \n\
         ./srv/app d 755 \n\
         ./srv/app/current l 777 /srv/jig-démo/srv/app/public\n\
         ./srv/app/public d 755 \n\
         ./srv/app/public/index.html f 644 \n\
         ./var d 755 \n\
         ./var/log d 755 \n\
         ./var/log/app-restart.log f 644 \n",
        "tree on {}",
        h.name
    );
    assert!(
        motd.contains(&format!("Welcome to {}.", h.name)),
        "{}: {motd}",
        h.name
    );
    for line in [
        "PermitRootLogin no",
        "PasswordAuthentication no",
        "MaxAuthTries 3",
        "AllowUsers alice bob",
    ] {
        assert!(sshd.lines().any(|l| l == line), "{}: {sshd}", h.name);
    }
    assert!(app.contains("\"port\": 8000"), "{}: {app}", h.name);
}

#[test]
fn five_hosts_converge_then_killed_stopped_and_cut_hosts_are_unreachable() {
    let Some(bed) = Testbed::up(5) else { return };
    let hosts = bed.hosts().to_vec();
    let p = Project::new(&bed, "fleet");
    let mut inv = bed_inventory(&bed, &hosts, "root", &format!("demo_root='{DEMO_ROOT}'"));
    inv += "\n[web:children]\ntestbed\n";
    let inv = p.write("inventory.ini", &inv);
    let inv = inv.to_str().unwrap();

    // First run: every host changes, in parallel.
    let first = p.run(&["-i", inv], &demo_playbook());
    assert_eq!(first.code, Some(0), "{}", first.show());
    for h in &hosts {
        let c = first.counts(h);
        assert!(c["changed"] >= 10, "{}: {c:?}\n{}", h.name, first.show());
        assert_eq!((c["failed"], c["unreachable"]), (0, 0), "{}", first.show());
        assert_demo_tree(&bed, h);
    }
    // Second run: nothing to do anywhere.
    let second = p.run(&["-i", inv], &demo_playbook());
    assert_eq!(second.code, Some(0), "{}", second.show());
    for h in &hosts {
        assert_eq!(second.count(h, "changed"), 0, "{}", second.show());
        assert_eq!(
            second.count(h, "ok"),
            first.count(h, "ok") - 2,
            "the two handlers do not run again\n{}",
            second.show()
        );
    }
    eprintln!(
        "5 hosts: first run {:?}, no-change run {:?}",
        first.elapsed, second.elapsed
    );

    // A host killed while a task sleeps on it: unreachable; the others finish the play.
    let victim = hosts[4].clone();
    let victim_root = bed.root(&victim);
    let midrun = fixture("midrun.yml");
    let killed = finish(
        {
            let mut c = p.command(&["-i", inv], &midrun);
            c.stdin(Stdio::null());
            c
        },
        |_| {
            let marker = victim_root.join("tmp/midrun-started");
            let deadline = Instant::now() + Duration::from_secs(30);
            while !marker.exists() {
                assert!(Instant::now() < deadline, "the sleep never started");
                std::thread::sleep(Duration::from_millis(20));
            }
            bed.stop(&victim);
        },
    );
    assert_eq!(killed.code, Some(4), "{}", killed.show());
    let line = killed.unreachable_line(&victim);
    assert!(line.contains("lost the connection"), "{line}");
    assert_eq!(
        (
            killed.count(&victim, "unreachable"),
            killed.count(&victim, "ok")
        ),
        (1, 0),
        "{}",
        killed.show()
    );
    for h in &hosts[..4] {
        let c = killed.counts(h);
        assert_eq!(
            (c["ok"], c["failed"], c["unreachable"]),
            (4, 0, 0),
            "{}: {}",
            h.name,
            killed.show()
        );
        assert_eq!(
            bed.ssh_ok(h, "cat /tmp/after"),
            format!("after {}\n", h.name)
        );
    }
    assert!(
        killed.elapsed < Duration::from_secs(30),
        "{}",
        killed.show()
    );
    eprintln!("killed mid-run: {:?}", killed.elapsed);

    // The victim stays down (stopped before this run) and hosts[3] is cut: silent, so only
    // the connect timeout ends the wait. The other three converge with no change.
    let cut = hosts[3].clone();
    bed.cut(&cut);
    let faulty = p.run(&["-i", inv, "-T", "3"], &demo_playbook());
    bed.mend(&cut);
    assert_eq!(faulty.code, Some(4), "{}", faulty.show());
    let line = faulty.unreachable_line(&victim);
    assert!(line.contains("Connection refused"), "{line}");
    let line = faulty.unreachable_line(&cut);
    assert!(line.contains("no answer within 3s"), "{line}");
    for h in [&victim, &cut] {
        let c = faulty.counts(h);
        assert_eq!(
            (c["ok"], c["changed"], c["unreachable"], c["failed"]),
            (0, 0, 1, 0),
            "{}: {}",
            h.name,
            faulty.show()
        );
    }
    for h in &hosts[..3] {
        let c = faulty.counts(h);
        assert_eq!(
            (c["ok"], c["changed"], c["unreachable"], c["failed"]),
            (second.count(h, "ok"), 0, 0, 0),
            "{}",
            faulty.show()
        );
    }
    eprintln!("stopped + cut: {:?}", faulty.elapsed);
    // Reported within the connect timeout, not after a TCP retry storm.
    assert!(
        faulty.elapsed < Duration::from_secs(15),
        "{}",
        faulty.show()
    );
}

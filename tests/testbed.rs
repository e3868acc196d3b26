//! The test bed itself: hosts started by `tests/testbed/host.sh` are separate, real SSH hosts
//! (own hostname, address, keys, processes and disk), with the local apt repository as their
//! package source, that survive an sshd restart, break on demand, and leave nothing behind.
//! Needs root; skipped with a message elsewhere unless `JIG_TESTBED_REQUIRED=1`.

#[path = "support/testbed.rs"]
mod testbed;

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use jig::connection::quote;
use testbed::{Host, Image, Testbed};

/// Every process (pid, start time) whose PID namespace is `ns` (as `readlink` shows it).
fn processes_in_pid_ns(ns: &str) -> HashSet<(u32, String)> {
    let mut found = HashSet::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(link) = std::fs::read_link(entry.path().join("ns/pid")) else {
            continue;
        };
        if link.to_string_lossy() == ns
            && let Some(start) = start_time(pid)
        {
            found.insert((pid, start));
        }
    }
    found
}

/// Field 22 of /proc/PID/stat: with the pid it names one process for good.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = stat.rsplit_once(") ")?.1;
    after_comm.split(' ').nth(19).map(str::to_string)
}

fn init_pid(bed: &Testbed, host: &Host) -> u32 {
    let rec = std::fs::read_to_string(bed.state_dir(host).join("init.pid")).unwrap();
    rec.split(' ').next().unwrap().parse().unwrap()
}

fn mounts_mentioning(needle: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn hosts_are_separate_ssh_hosts_and_leave_nothing_behind() {
    let started = Instant::now();
    let Some(bed) = Testbed::up(3) else { return };
    eprintln!("3 hosts up and accepting SSH in {:?}", started.elapsed());
    let hosts = bed.hosts().to_vec();
    assert_eq!(hosts.len(), 3);
    let addresses: HashSet<_> = hosts.iter().map(|h| h.address).collect();
    assert_eq!(addresses.len(), 3, "addresses must differ: {hosts:?}");

    for h in &hosts {
        assert_eq!(bed.ssh_ok(h, "hostname").trim(), h.name);
        let eth0 = bed.ssh_ok(h, "ip -4 -o addr show dev eth0");
        assert!(
            eth0.contains(&format!("inet {}/24", h.address)),
            "{}: {eth0}",
            h.name
        );
        // PID 1 is the tiny init, not sshd, and its environment says container.
        assert_eq!(bed.ssh_ok(h, "cat /proc/1/comm").trim(), "jig-init");
        let env = bed.ssh_ok(h, "tr '\\0' '\\n' </proc/1/environ");
        assert!(env.lines().any(|l| l == "container=docker"), "{env}");
        // The disk is the host's own: no python3, as a fresh minimal Debian.
        assert!(!bed.ssh(h, "command -v python3").status.success());
    }

    // Each host has its own host keys: 2 kinds per host, none shared.
    let known = std::fs::read_to_string(bed.known_hosts()).unwrap();
    let keys: HashSet<&str> = known
        .lines()
        .map(|l| l.split(' ').nth(2).unwrap())
        .collect();
    assert_eq!(known.lines().count(), 6, "{known}");
    assert_eq!(keys.len(), 6, "host keys must differ between hosts");

    // The inventory names every host with what Ansible needs to reach it.
    let inventory = std::fs::read_to_string(bed.inventory()).unwrap();
    for h in &hosts {
        let line = format!("{} ansible_host={} ansible_user=root", h.name, h.address);
        assert!(inventory.contains(&line), "{inventory}");
    }
    assert!(inventory.contains(&bed.private_key().display().to_string()));

    // The generated ssh_config reaches every host by its inventory name.
    for h in &hosts {
        let out = Command::new("ssh")
            .arg("-F")
            .arg(bed.ssh_config())
            .args(["-o", "BatchMode=yes", &h.name, "hostname"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), h.name);
    }

    // Hosts reach each other (ProxyJump tests need it).
    let probe = format!(
        "timeout 5 bash -c {}",
        quote(&format!(": </dev/tcp/{}/22", hosts[1].address))
    );
    bed.ssh_ok(&hosts[0], &probe);

    // A value that must survive the shell and the file system unchanged, written over SSH
    // and read back from outside through the host's root.
    let tricky = "it's a \"test\" $(echo nope) `x` ünï\nsecond line";
    bed.ssh_ok(
        &hosts[2],
        &format!("printf %s {} >/root/tricky", quote(tricky)),
    );
    let outside = std::fs::read_to_string(bed.root(&hosts[2]).join("root/tricky")).unwrap();
    assert_eq!(outside, tricky);
    assert!(!bed.ssh(&hosts[1], "test -e /root/tricky").status.success());

    // The local repository is the only apt source, read-only, and works offline.
    let sources = bed.ssh_ok(
        &hosts[0],
        "cat /etc/apt/sources.list.d/* && test ! -e /etc/apt/sources.list",
    );
    assert_eq!(sources.trim(), "deb [trusted=yes] file:/srv/jig-apt ./");
    assert!(!bed.ssh(&hosts[0], "touch /srv/jig-apt/x").status.success());
    bed.ssh_ok(
        &hosts[0],
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hello jq",
    );
    assert_eq!(bed.ssh_ok(&hosts[0], "hello").trim(), "Hello, world!");
    assert_eq!(
        bed.ssh_ok(&hosts[0], "echo '[1,2]' | jq -c .[1]").trim(),
        "2"
    );
    assert!(
        !bed.ssh(&hosts[1], "command -v hello").status.success(),
        "a package installed on one host must not appear on another"
    );

    // Restarting sshd from inside (as roles do) keeps the host and its init.
    let h = &hosts[1];
    let sshd_before = bed.ssh_ok(h, "cat /run/sshd.pid");
    let init_before = init_pid(&bed, h);
    bed.ssh_ok(h, "service ssh restart >/dev/null 2>&1");
    let sshd_after = bed.ssh_ok(h, "cat /run/sshd.pid");
    assert_ne!(sshd_before, sshd_after, "sshd was not restarted");
    assert_eq!(init_pid(&bed, h), init_before);
    assert!(Path::new(&format!("/proc/{init_before}")).exists());

    // `down` leaves no mounts, namespaces, links, processes or files.
    let mut leftovers = Vec::new();
    for h in &hosts {
        let pid_ns = std::fs::read_link(format!("/proc/{}/ns/pid", init_pid(&bed, h)))
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let procs = processes_in_pid_ns(&pid_ns);
        assert!(procs.len() >= 2, "init and sshd expected: {procs:?}");
        let index = h.address.octets()[3];
        leftovers.push((
            h.clone(),
            procs,
            bed.state_dir(h),
            format!("/run/netns/{}", bed.netns(h)),
            format!("/sys/class/net/jv{index}"),
        ));
    }
    let stopping = Instant::now();
    bed.down().unwrap();
    eprintln!("3 hosts down in {:?}", stopping.elapsed());
    for (h, procs, state, netns, veth) in leftovers {
        for (pid, start) in procs {
            assert_ne!(
                start_time(pid),
                Some(start),
                "{}: process {pid} survived down",
                h.name
            );
        }
        assert!(!state.exists(), "{} left {}", h.name, state.display());
        assert!(!Path::new(&netns).exists(), "{} left {netns}", h.name);
        assert!(!Path::new(&veth).exists(), "{} left {veth}", h.name);
        assert_eq!(
            mounts_mentioning(&format!("jig-disk-{}", h.name)),
            Vec::<String>::new()
        );
        assert_eq!(
            mounts_mentioning(&state.display().to_string()),
            Vec::<String>::new()
        );
    }
}

#[test]
fn faults_stop_cut_and_fill_one_host_only() {
    let Some(bed) = Testbed::up(2) else { return };
    let (a, b) = (&bed.hosts()[0], &bed.hosts()[1]);

    // A full disk fails writes on that host only, and is undone.
    bed.fill(a);
    let out = bed.ssh(a, "head -c 65536 /dev/zero >/root/big");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No space left on device"),
        "{out:?}"
    );
    bed.ssh_ok(b, "head -c 65536 /dev/zero >/root/big");
    bed.unfill(a);
    bed.ssh_ok(a, "head -c 65536 /dev/zero >/root/big");

    // A cut link times out (nothing answers); mended, the host is back as it was.
    bed.cut(a);
    let started = Instant::now();
    let out = bed.ssh(a, "true");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("timed out"),
        "{out:?}"
    );
    assert!(
        started.elapsed().as_secs() >= 4,
        "a cut link must not refuse at once"
    );
    bed.ssh_ok(b, "true");
    bed.mend(a);
    bed.ssh_ok(a, "test -s /root/big");

    // A stopped host is gone (its sshd with it); the other carries on; down still cleans.
    let init = init_pid(&bed, a);
    let init_start = start_time(init);
    bed.stop(a);
    assert!(!bed.ssh(a, "true").status.success());
    assert_ne!(
        start_time(init),
        init_start,
        "the init must be gone, not just sshd"
    );
    bed.ssh_ok(b, "true");
    let state = bed.state_dir(a);
    bed.down().unwrap();
    assert!(!state.exists());
}

#[test]
fn user_jig_logs_in_with_password_and_hosts_relay_ssh() {
    let Some(bed) = Testbed::up(2) else { return };
    let (a, b) = (&bed.hosts()[0], &bed.hosts()[1]);

    // Reaching b through a, as ProxyJump does: a's sshd opens the TCP stream to b.
    let hop: Vec<String> = bed.ssh_args(a).iter().map(|arg| quote(arg)).collect();
    let proxy = format!("ProxyCommand=ssh {} -W %h:%p", hop.join(" "));
    let out = Command::new("ssh")
        .args(["-o", &proxy])
        .args(bed.ssh_args(b))
        .args(["--", "hostname"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), b.name);

    // The user jig logs in with its password (root may not), and sudo asks for it.
    let askpass = bed.dir().join("askpass");
    std::fs::write(&askpass, "#!/bin/sh\necho jig\n").unwrap();
    std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).unwrap();
    let password_login = |user: &str, command: &str| {
        Command::new("ssh")
            .args([
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=no",
                "-o",
                "ConnectTimeout=5",
            ])
            .args([
                "-o",
                "PreferredAuthentications=password",
                "-o",
                "PubkeyAuthentication=no",
            ])
            .args([
                "-o",
                "NumberOfPasswordPrompts=1",
                "-o",
                "StrictHostKeyChecking=yes",
            ])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                bed.known_hosts().display()
            ))
            .args(["-l", user, &a.address.to_string(), "--", command])
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = password_login(
        "jig",
        "id -un; sudo -n true 2>/dev/null || echo needs-password; echo jig | sudo -S -p '' id -u",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "jig\nneeds-password\n0\n"
    );
    let out = password_login("root", "true");
    assert!(
        !out.status.success(),
        "root must not log in with a password"
    );
}

#[test]
fn python_image_has_python3_for_ansible_core() {
    let Some(bed) = Testbed::up_image(1, Image::Python) else {
        return;
    };
    let h = &bed.hosts()[0];
    let out = bed.ssh_ok(h, "python3 -c 'import apt, json; print(json.dumps([1]))'");
    assert_eq!(out.trim(), "[1]");
    assert_eq!(bed.ssh_ok(h, "hostname").trim(), h.name);
}

/// Runs `host.sh ARGS` with `env`, returning its output whatever the status.
fn host_sh(args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    let mut cmd = Command::new(testbed::scripts_dir().join("host.sh"));
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn hosts_of_a_crashed_owner_are_reaped_by_the_next_up() {
    if let Some(why) = testbed::unavailable() {
        assert_ne!(
            std::env::var("JIG_TESTBED_REQUIRED").as_deref(),
            Ok("1"),
            "{why}"
        );
        eprintln!("skipping: {why}");
        return;
    }
    let pid = std::process::id();
    let (orphan, next) = (format!("o{pid}-a"), format!("o{pid}-b"));
    // The owner: a process that ends without taking its host down, as a crashed test would.
    let mut owner = Command::new("sleep").arg("600").spawn().unwrap();
    let out = host_sh(
        &["up", &orphan, "auto"],
        &[("JIG_TESTBED_OWNER", owner.id().to_string())],
    );
    assert!(out.status.success(), "{out:?}");
    let status = String::from_utf8(host_sh(&["status"], &[]).stdout).unwrap();
    assert!(status.contains(&format!("{orphan} ")), "{status}");
    owner.kill().unwrap();
    owner.wait().unwrap();

    let out = host_sh(
        &["up", &next, "auto"],
        &[("JIG_TESTBED_OWNER", pid.to_string())],
    );
    let down = host_sh(&["down", &next], &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(down.status.success(), "{down:?}");
    // Our `up` reaps it, or a parallel test's `up` got there first: either way it is gone.
    let status = String::from_utf8(host_sh(&["status"], &[]).stdout).unwrap();
    assert!(!status.contains(&format!("{orphan} ")), "{status}");
    assert!(!Path::new(&format!("/run/netns/jig-{orphan}")).exists());
}

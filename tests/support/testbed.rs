//! Real SSH hosts for integration tests, started and stopped through `tests/testbed/host.sh`.
//!
//! Include it from a test crate with
//! `#[path = "support/testbed.rs"] mod testbed;` (adjust the path to where the test lives), then
//!
//! ```ignore
//! let Some(bed) = testbed::Testbed::up(3) else { return };
//! let out = bed.ssh(&bed.hosts()[0], "hostname");
//! ```
//!
//! This module owns the Rust side of the test bed: unique host names and addresses for every
//! test running at the same time, the files a run against the hosts needs (an INI inventory,
//! a `known_hosts` with every host's keys, the client key), the OpenSSH client calls tests use
//! to look inside a host, the faults, and tearing everything down on drop. The shell scripts
//! own the hosts themselves.
//!
//! A machine that cannot run the bed (not root, no `debootstrap`, no `unshare`) makes
//! [`Testbed::up`] print why and return `None`, so the test passes as skipped, unless
//! `JIG_TESTBED_REQUIRED=1` is set (CI sets it), which turns that into a failure.

#![allow(dead_code)] // each test crate uses a different part of this module

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a host may take from `host.sh up` returning to accepting an SSH login.
const SSH_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Which root file system the hosts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    /// Minimal Debian 12 with sshd and sudo and no python3: what jig manages.
    Minimal,
    /// The same plus python3, so ansible-core can run against the hosts (facts parity,
    /// benchmarks).
    Python,
}

/// One running test-bed host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The host's name: its hostname inside, its inventory name, and `jig-NAME` its netns.
    pub name: String,
    /// Its address on the test-bed network (10.77.0.0/24 unless `JIG_TESTBED_NET` says
    /// otherwise), reachable from this machine.
    pub address: Ipv4Addr,
}

/// A set of running hosts plus the files to reach them; dropping it takes the hosts down.
pub struct Testbed {
    hosts: Vec<Host>,
    image: Image,
    scripts: PathBuf,
    run_dir: PathBuf,
    files: tempfile::TempDir,
    key: PathBuf,
    known_hosts: PathBuf,
    inventory: PathBuf,
    ssh_config: PathBuf,
}

/// Why the bed was not started on this machine.
fn unavailable_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not running as root (mounts and namespaces need it)".into());
    }
    let cached = cache_dir()
        .join("rootfs-bookworm/.jig-testbed-recipe")
        .exists();
    let mut tools = vec![
        "ip",
        "unshare",
        "chroot",
        "setsid",
        "flock",
        "ssh",
        "ssh-keygen",
        "dpkg-scanpackages",
        "apt-get",
    ];
    if !cached {
        tools.push("debootstrap");
    }
    let missing: Vec<&str> = tools.into_iter().filter(|t| !on_path(t)).collect();
    if !missing.is_empty() {
        return Some(format!(
            "missing commands: {} (see tests/testbed/README.md)",
            missing.join(", ")
        ));
    }
    None
}

fn on_path(cmd: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|dir| dir.join(cmd).is_file())
}

/// The directory holding `host.sh` and the other test-bed scripts.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testbed")
}

/// Why this machine cannot run the test bed, or `None` when it can.
pub fn unavailable() -> Option<String> {
    unavailable_reason()
}

fn cache_dir() -> PathBuf {
    std::env::var_os("JIG_TESTBED_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/var/cache/jig-testbed".into())
}

fn run_dir() -> PathBuf {
    std::env::var_os("JIG_TESTBED_RUN")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/run/jig-testbed".into())
}

/// Host names unique across every test-bed user on the machine: this process's pid plus a
/// counter, so parallel tests in one binary and concurrent binaries never collide.
fn next_name() -> String {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    format!(
        "t{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

impl Testbed {
    /// Starts `n` hosts and waits until each accepts an SSH login. Returns `None` (after
    /// printing why) when this machine cannot run the bed and `JIG_TESTBED_REQUIRED` is not
    /// set; panics when the bed should work but a host fails to start.
    pub fn up(n: usize) -> Option<Testbed> {
        Testbed::up_image(n, Image::Minimal)
    }

    /// [`Testbed::up`] with the hosts running `image`.
    pub fn up_image(n: usize, image: Image) -> Option<Testbed> {
        if let Some(why) = unavailable_reason() {
            if std::env::var("JIG_TESTBED_REQUIRED").is_ok_and(|v| v == "1") {
                panic!("the test bed is required (JIG_TESTBED_REQUIRED=1) but {why}");
            }
            eprintln!("skipping: the test bed cannot run here: {why}");
            return None;
        }
        Some(Testbed::start(n, image).unwrap_or_else(|e| panic!("test bed: {e}")))
    }

    fn start(n: usize, image: Image) -> Result<Testbed, String> {
        let scripts = scripts_dir();
        let files = tempfile::Builder::new()
            .prefix("jig-testbed-")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
        let names: Vec<String> = (0..n).map(|_| next_name()).collect();
        let mut bed = Testbed {
            hosts: Vec::new(),
            image,
            scripts,
            run_dir: run_dir(),
            key: PathBuf::new(),
            known_hosts: files.path().join("known_hosts"),
            inventory: files.path().join("inventory.ini"),
            ssh_config: files.path().join("ssh_config"),
            files,
        };
        // Build (or check) the shared caches once before the parallel starts, so a cold
        // build runs once in the open and a failure names the step.
        bed.run("aptrepo.sh", &[])?;
        if image == Image::Python {
            bed.run("rootfs.sh", &["--python"])?;
        }
        let out = bed.script(&["key"])?;
        bed.key = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());

        let results: Vec<Result<Host, String>> = thread::scope(|s| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| {
                    let bed = &bed;
                    s.spawn(move || bed.start_host(name))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("host start panicked".into()))
                })
                .collect()
        });
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(host) => bed.hosts.push(host),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            // `bed` drops here and takes down the hosts that did start.
            return Err(errors.join("\n"));
        }
        bed.write_files()?;
        for host in &bed.hosts {
            bed.wait_for_ssh(host)?;
        }
        Ok(bed)
    }

    fn start_host(&self, name: &str) -> Result<Host, String> {
        let mut args = vec!["up", name, "auto"];
        if self.image == Image::Python {
            args.push("--python");
        }
        let out = self.script(&args)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().last().unwrap_or_default();
        let (got_name, addr) = line
            .split_once(' ')
            .ok_or_else(|| format!("host.sh up {name}: unexpected output {stdout:?}"))?;
        if got_name != name {
            return Err(format!("host.sh up {name} answered for {got_name}"));
        }
        let address = addr
            .trim()
            .parse()
            .map_err(|e| format!("host.sh up {name}: bad address {addr:?}: {e}"))?;
        Ok(Host {
            name: name.to_string(),
            address,
        })
    }

    /// Runs `host.sh ARGS`, failing with its output when it exits non-zero.
    fn script(&self, args: &[&str]) -> Result<Output, String> {
        self.run("host.sh", args)
    }

    /// Runs one of the bed's scripts, failing with its output when it exits non-zero.
    fn run(&self, script: &str, args: &[&str]) -> Result<Output, String> {
        let out = Command::new(self.scripts.join(script))
            .args(args)
            .env("JIG_TESTBED_OWNER", std::process::id().to_string())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {script} {}: {e}", args.join(" ")))?;
        if !out.status.success() {
            return Err(format!(
                "{script} {} failed: {}",
                args.join(" "),
                describe(&out)
            ));
        }
        Ok(out)
    }

    fn write_files(&self) -> Result<(), String> {
        let mut known = String::new();
        let mut inv = String::from("[testbed]\n");
        let mut config = String::new();
        for h in &self.hosts {
            let path = self.run_dir.join("hosts").join(&h.name).join("known_hosts");
            known += &std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            // Paths are single-quoted for Ansible's INI parser (shlex-split values).
            let _ = writeln!(
                inv,
                "{} ansible_host={} ansible_user=root ansible_ssh_private_key_file='{}'",
                h.name,
                h.address,
                self.key.display()
            );
            let _ = write!(
                config,
                "Host {}\n    HostName {}\n    User root\n    IdentityFile {}\n    \
                 IdentitiesOnly yes\n    UserKnownHostsFile {}\n    StrictHostKeyChecking yes\n",
                h.name,
                h.address,
                self.key.display(),
                self.known_hosts.display()
            );
        }
        let _ = write!(
            inv,
            "\n[testbed:vars]\nansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n",
            self.known_hosts.display()
        );
        std::fs::write(&self.known_hosts, known)
            .and_then(|()| std::fs::write(&self.inventory, inv))
            .and_then(|()| std::fs::write(&self.ssh_config, config))
            .map_err(|e| format!("cannot write the bed's files: {e}"))
    }

    fn wait_for_ssh(&self, host: &Host) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let out = self.ssh(host, "true");
            if out.status.success() {
                return Ok(());
            }
            if start.elapsed() > SSH_READY_TIMEOUT {
                return Err(format!(
                    "{} ({}) refused SSH for {}s: {}",
                    host.name,
                    host.address,
                    SSH_READY_TIMEOUT.as_secs(),
                    describe(&out)
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The running hosts, in start order.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// An INI inventory: group `testbed` with every host's `ansible_host`, `ansible_user=root`
    /// and `ansible_ssh_private_key_file`, and `ansible_ssh_common_args` pointing OpenSSH at
    /// [`Testbed::known_hosts`].
    pub fn inventory(&self) -> &Path {
        &self.inventory
    }

    /// An OpenSSH client config with a `Host NAME` block per host (HostName, User root,
    /// IdentityFile, UserKnownHostsFile, StrictHostKeyChecking yes), for `ssh -F` and
    /// `--ssh-config` tests.
    pub fn ssh_config(&self) -> &Path {
        &self.ssh_config
    }

    /// A `known_hosts` file with every host's keys (ed25519 and ecdsa; rsa too with
    /// `JIG_TESTBED_RSA=1`), one line each.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// The client private key root (and the user `jig`) accept on every host.
    pub fn private_key(&self) -> &Path {
        &self.key
    }

    /// A directory that lives as long as the bed, for a test's own files.
    pub fn dir(&self) -> &Path {
        self.files.path()
    }

    /// The OpenSSH client arguments that log in as root on `host` with the bed's key and
    /// known_hosts, strictly (no prompt, no key accepted blindly), ending with the address.
    pub fn ssh_args(&self, host: &Host) -> Vec<String> {
        let mut args: Vec<String> = [
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "IdentitiesOnly=yes",
            "-F",
            "/dev/null",
        ]
        .map(String::from)
        .into();
        args.push("-o".into());
        args.push(format!("UserKnownHostsFile={}", self.known_hosts.display()));
        args.push("-i".into());
        args.push(self.key.display().to_string());
        args.push("-l".into());
        args.push("root".into());
        args.push(host.address.to_string());
        args
    }

    /// Runs `command` (a POSIX shell command line, quoted by the caller) as root on `host`
    /// through the OpenSSH client, returning its output whatever the exit status.
    pub fn ssh(&self, host: &Host, command: &str) -> Output {
        Command::new("ssh")
            .args(self.ssh_args(host))
            .arg("--")
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run ssh: {e}"))
    }

    /// Like [`Testbed::ssh`] but the command must succeed; returns its stdout.
    pub fn ssh_ok(&self, host: &Host, command: &str) -> String {
        let out = self.ssh(host, command);
        assert!(
            out.status.success(),
            "on {} `{command}` failed: {}",
            host.name,
            describe(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Fault: kills the host's init, so the host and its sshd are gone at once.
    pub fn stop(&self, host: &Host) {
        self.fault(&["stop", &host.name]);
    }

    /// Fault: takes the host's link down (connections hang instead of being refused).
    pub fn cut(&self, host: &Host) {
        self.fault(&["cut", &host.name]);
    }

    /// Undoes [`Testbed::cut`].
    pub fn mend(&self, host: &Host) {
        self.fault(&["mend", &host.name]);
    }

    /// Fault: fills the host's disk, so every write on it fails with "No space left".
    pub fn fill(&self, host: &Host) {
        self.fault(&["fill", &host.name]);
    }

    /// Undoes [`Testbed::fill`].
    pub fn unfill(&self, host: &Host) {
        self.fault(&["unfill", &host.name]);
    }

    /// The host's root file system seen from this machine (`/proc/PID/root` of its init),
    /// for tests that inspect files a run left there.
    pub fn root(&self, host: &Host) -> PathBuf {
        let out = self
            .script(&["root", &host.name])
            .unwrap_or_else(|e| panic!("{e}"));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }

    /// The per-host state directory `host.sh` keeps (pid files, the disk, known_hosts).
    pub fn state_dir(&self, host: &Host) -> PathBuf {
        self.run_dir.join("hosts").join(&host.name)
    }

    /// The host's network namespace name.
    pub fn netns(&self, host: &Host) -> String {
        format!("jig-{}", host.name)
    }

    fn fault(&self, args: &[&str]) {
        if let Err(e) = self.script(args) {
            panic!("{e}");
        }
    }

    /// Takes every host down now, reporting failures (drop does the same but can only
    /// print them).
    pub fn down(mut self) -> Result<(), String> {
        self.take_down()
    }

    fn take_down(&mut self) -> Result<(), String> {
        let mut errors = Vec::new();
        for host in std::mem::take(&mut self.hosts) {
            if let Err(e) = self.script(&["down", &host.name]) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if let Err(e) = self.take_down() {
            eprintln!("test bed teardown: {e}");
        }
    }
}

//! A private OpenSSH server for the SSH transport tests: its own config, host key, port and
//! authorized_keys in a temp dir, listening on 127.0.0.1 only.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running sshd and the client key it accepts.
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub child: Child,
    /// Private key (ed25519, no passphrase) in authorized_keys.
    pub client_key: PathBuf,
    /// A key that is not authorized.
    pub other_key: PathBuf,
    /// The server's public host key line (`ssh-ed25519 AAAA...`).
    pub host_pub: String,
    /// Its second host key, ECDSA (`ecdsa-sha2-nistp256 AAAA...`).
    pub host_pub_ecdsa: String,
}

fn keygen(path: &Path) -> Result<(), String> {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    st.success()
        .then_some(())
        .ok_or_else(|| "ssh-keygen failed".to_string())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl Sshd {
    /// Starts one, or returns why it cannot (the caller prints it and skips).
    pub fn start() -> Result<Sshd, String> {
        Sshd::start_with("")
    }

    /// Starts one whose sessions also get the environment settings `env` (`NAME=value ...`;
    /// `{dir}` is replaced by its temp dir).
    ///
    /// Sessions always get HOME set to an empty directory of the server, so the login shell
    /// reads no dotfiles of the machine's user (they can be slow, and a session killed on
    /// purpose must not leave their lock files behind).
    pub fn start_with(env: &str) -> Result<Sshd, String> {
        let sshd = Path::new("/usr/sbin/sshd");
        if !sshd.exists() {
            return Err("/usr/sbin/sshd is not installed (apt-get install openssh-server)".into());
        }
        // Privilege separation directory; sshd refuses to start without it.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path();
        std::fs::create_dir_all(d.join("home")).map_err(|e| e.to_string())?;
        keygen(&d.join("host_ed25519"))?;
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ecdsa", "-N", "", "-C", "", "-f"])
            .arg(d.join("host_ecdsa"))
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("ssh-keygen: {e}"))?;
        if !st.success() {
            return Err("ssh-keygen -t ecdsa failed".into());
        }
        keygen(&d.join("client"))?;
        keygen(&d.join("other"))?;
        std::fs::copy(d.join("client.pub"), d.join("authorized_keys"))
            .map_err(|e| e.to_string())?;
        let host_pub = std::fs::read_to_string(d.join("host_ed25519.pub"))
            .map_err(|e| e.to_string())?
            .trim()
            .to_string();
        let host_pub_ecdsa = std::fs::read_to_string(d.join("host_ecdsa.pub"))
            .map_err(|e| e.to_string())?
            .trim()
            .to_string();
        let port = free_port();
        let cfg = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nHostKey {d}/host_ecdsa\n\
             AuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nUsePAM no\n\
             StrictModes no\nPermitRootLogin yes\nPasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\nAllowTcpForwarding yes\nMaxSessions 10\n\
             MaxStartups 100\nLogLevel ERROR\nSubsystem sftp internal-sftp\n\
             SetEnv HOME={d}/home {env}\n",
            d = d.display(),
            env = env.replace("{dir}", &d.display().to_string())
        );
        std::fs::write(d.join("sshd_config"), cfg).map_err(|e| e.to_string())?;
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(d.join("sshd.log")).map_err(|e| e.to_string())?,
            ))
            .spawn()
            .map_err(|e| format!("cannot start sshd: {e}"))?;
        let mut s = Sshd {
            client_key: d.join("client"),
            other_key: d.join("other"),
            dir,
            port,
            child,
            host_pub,
            host_pub_ecdsa,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(s);
            }
            if let Ok(Some(st)) = s.child.try_wait() {
                let log =
                    std::fs::read_to_string(s.dir.path().join("sshd.log")).unwrap_or_default();
                return Err(format!("sshd exited with {st}: {log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("sshd did not listen within 10s".into())
    }

    /// A known_hosts file (in the temp dir) that lists this server's key.
    pub fn known_hosts(&self) -> PathBuf {
        let p = self.dir.path().join("known_hosts.ok");
        std::fs::write(&p, format!("[127.0.0.1]:{} {}\n", self.port, self.host_pub)).unwrap();
        p
    }

    /// Every process of this sshd: the listener and the per-connection processes it forked.
    pub fn process_tree(&self) -> Vec<i32> {
        let mut pids = vec![self.child.id() as i32];
        let mut i = 0;
        while i < pids.len() {
            let parent = pids[i];
            if let Ok(rd) = std::fs::read_dir("/proc") {
                for e in rd.flatten() {
                    let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                        continue;
                    };
                    let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                    // Field 4 (after the parenthesised command name) is the parent pid.
                    let ppid = stat
                        .rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                        .and_then(|p| p.parse::<i32>().ok());
                    if ppid == Some(parent) && !pids.contains(&pid) {
                        pids.push(pid);
                    }
                }
            }
            i += 1;
        }
        pids
    }

    /// Waits (up to 20 s) until `marker` exists: a command touches it once its shell started.
    pub fn wait_for(marker: &Path) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !marker.exists() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// Sends `sig` to every process of this sshd.
    pub fn signal_all(&self, sig: i32) {
        for pid in self.process_tree() {
            // SAFETY: plain kill(2) on pids of processes this test started (or their children).
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.signal_all(libc::SIGCONT);
        self.signal_all(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

/// Starts an sshd or prints why the test is skipped.
pub fn sshd_or_skip(test: &str) -> Option<Sshd> {
    sshd_with_or_skip(test, "")
}

/// [`sshd_or_skip`] with extra session environment (see [`Sshd::start_with`]).
pub fn sshd_with_or_skip(test: &str, env: &str) -> Option<Sshd> {
    match Sshd::start_with(env) {
        Ok(s) => Some(s),
        Err(why) => {
            eprintln!("SKIPPED {test}: cannot start a private sshd: {why}");
            None
        }
    }
}

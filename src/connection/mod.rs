//! Connections: how jig reaches a host's shell.
//!
//! Every module talks to its host through [`Connection::exec`]: one POSIX `sh` command line
//! (built with [`quote::Cmd`]), optional bytes on stdin, and back come the exit status, stdout
//! and stderr. The controller does the thinking; the host only runs small commands. The same
//! modules therefore work over every transport: `local` (the controller itself), `ssh`, and
//! `chroot` (a root file system tree on the controller: an image being baked).

pub mod chroot;
pub mod local;
pub mod quote;
pub mod ssh;

use std::time::Duration;

pub use quote::{Cmd, quote};

/// A password or passphrase: never shown by `Debug`, never put in argv or logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

/// Privilege escalation for one command: who to become and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Become {
    /// The user to run as (`become_user`, default `root`).
    pub user: String,
    /// The method (`become_method`).
    pub method: BecomeMethod,
    /// Extra flags (`become_flags`), split into words.
    pub flags: Vec<String>,
}

impl Default for Become {
    fn default() -> Self {
        Become {
            user: "root".to_string(),
            method: BecomeMethod::Sudo,
            flags: Vec::new(),
        }
    }
}

/// How to escalate privileges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BecomeMethod {
    /// `sudo -u USER`.
    Sudo,
    /// `su USER -c`.
    Su,
}

impl BecomeMethod {
    /// Parses an Ansible `become_method` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sudo" => Some(BecomeMethod::Sudo),
            "su" => Some(BecomeMethod::Su),
            _ => None,
        }
    }
}

/// One command for a host.
#[derive(Clone, Debug, Default)]
pub struct ExecRequest {
    /// The command line for `sh -c`. Build it with [`Cmd`]; never format user values into it.
    pub command: String,
    /// Bytes written to the command's stdin, then stdin is closed.
    pub stdin: Option<Vec<u8>>,
    /// Run under privilege escalation.
    pub become_: Option<Become>,
    /// Stop the command on the host after this long.
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    /// A request for `command` with no stdin, no become, no timeout.
    pub fn new(command: impl Into<String>) -> Self {
        ExecRequest {
            command: command.into(),
            ..ExecRequest::default()
        }
    }

    /// Sets the bytes to feed on stdin.
    pub fn with_stdin(mut self, data: Vec<u8>) -> Self {
        self.stdin = Some(data);
        self
    }

    /// Sets privilege escalation.
    pub fn with_become(mut self, become_: Option<Become>) -> Self {
        self.become_ = become_;
        self
    }

    /// The full command line the host's shell runs, with become and timeout applied.
    ///
    /// This is the only place where become and timeouts wrap a command, so every transport
    /// produces the same line.
    pub fn shell_line(&self) -> String {
        let mut line = self.command.clone();
        if let Some(t) = self.timeout {
            let mut c = Cmd::new("timeout");
            c.arg("--signal=TERM")
                .arg(&format!("{}", t.as_secs().max(1)))
                .arg("sh")
                .arg("-c")
                .arg(&line);
            line = c.into_string();
        }
        if let Some(b) = &self.become_ {
            line = become_wrap(b, &line);
        }
        line
    }
}

fn become_wrap(b: &Become, line: &str) -> String {
    match b.method {
        BecomeMethod::Sudo => {
            let mut c = Cmd::new("sudo");
            c.arg("-H").arg("-S").arg("-n");
            c.args(&b.flags);
            c.arg("-u")
                .arg(&b.user)
                .arg("--")
                .arg("sh")
                .arg("-c")
                .arg(line);
            c.into_string()
        }
        BecomeMethod::Su => {
            let mut c = Cmd::new("su");
            c.args(&b.flags);
            c.arg(&b.user).arg("-s").arg("/bin/sh").arg("-c").arg(line);
            c.into_string()
        }
    }
}

/// What a command did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status; -1 if the command was killed by a signal.
    pub rc: i32,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// stdout as text (invalid UTF-8 replaced).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// stderr as text (invalid UTF-8 replaced).
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The host could not be reached or the transport broke: the host is `unreachable`.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The shell could not be started.
    #[error("cannot start a shell on {host}: {source}")]
    Spawn {
        /// The host.
        host: String,
        /// Why.
        source: std::io::Error,
    },
    /// The host could not be reached, its key was refused, or authentication failed.
    #[error("cannot connect to {host}: {message}")]
    Connect {
        /// The host.
        host: String,
        /// Why, and what to do about it.
        message: String,
    },
    /// Talking to the shell failed midway.
    #[error("lost the connection to {host}: {message}")]
    Lost {
        /// The host.
        host: String,
        /// What happened.
        message: String,
    },
}

/// A live connection to one host.
#[derive(Debug)]
pub enum Connection {
    /// The controller itself.
    Local(local::LocalConnection),
    /// A host reached over SSH.
    Ssh(Box<ssh::SshConnection>),
    /// A root file system tree on the controller, entered with `chroot`.
    Chroot(chroot::ChrootConnection),
}

impl Connection {
    /// Runs one command on the host.
    pub async fn exec(&self, req: &ExecRequest) -> Result<ExecOutput, ConnectionError> {
        match self {
            Connection::Local(c) => c.exec(req).await,
            Connection::Ssh(c) => c.exec(req).await,
            Connection::Chroot(c) => c.exec(req).await,
        }
    }

    /// Forgets the live session, if any, so the next command reconnects (after a reboot).
    /// The local transport has none.
    pub async fn reset(&self) {
        if let Connection::Ssh(c) = self {
            c.reset().await;
        }
    }

    /// True when the host is an image, not a running machine (the `chroot` connection):
    /// nothing runs in it, so services are only enabled and starts, restarts and reloads
    /// are deferred to the image's boot.
    pub fn is_image(&self) -> bool {
        matches!(self, Connection::Chroot(_))
    }

    /// The transport's name, as in `ansible_connection`.
    pub fn kind(&self) -> &'static str {
        match self {
            Connection::Local(_) => "local",
            Connection::Ssh(_) => "ssh",
            Connection::Chroot(_) => "chroot",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn become_wraps_the_whole_line_once() {
        let mut req = ExecRequest::new("echo 'a b'");
        req.become_ = Some(Become::default());
        assert_eq!(
            req.shell_line(),
            "sudo -H -S -n -u root -- sh -c 'echo '\\''a b'\\'''"
        );
    }
}

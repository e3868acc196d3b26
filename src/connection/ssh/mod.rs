//! The `ssh` connection: one russh session per host for the whole run, one channel per command.
//!
//! Owns connecting (optionally through a `ProxyJump` chain of `direct-tcpip` tunnels), host-key
//! checking ([`known_hosts`]: plain keys, and host certificates from a `@cert-authority`), authentication ([`auth`]), and running [`ExecRequest`]s: stdin
//! is written by its own task while output is read, so large inputs cannot deadlock; at most
//! [`MAX_CHANNELS`] channels are open per host and a refused channel open (sshd's MaxSessions,
//! whose slots are freed lazily) is retried with backoff instead of failing the task.
//! The session is opened on first use, so hosts connect concurrently inside their tasks; a
//! dead or silent host ends in [`ConnectionError`] within the connect timeout or the keepalive
//! window, never a hang. `sudo` with a password is answered on a per-command prompt, and
//! the command's own stdin starts only after sudo said it succeeded. `su` with a password
//! runs on a PTY (su reads passwords from its terminal only), which turns raw once su's shell
//! runs, carrying exactly the command's stdin and its stdout/stderr framed by length.

pub mod auth;
pub mod config;
pub mod hub;
pub mod known_hosts;
pub mod params;

use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use russh::ChannelMsg;
use russh::client::{self, Handle};
use russh::keys::PublicKeyOrCertificate;
use tokio::sync::{Mutex, Semaphore};

use super::{BecomeMethod, Cmd, ConnectionError, ExecOutput, ExecRequest, Secret};
pub use hub::SshHub;
use known_hosts::HostKeyStatus;
pub use params::{HostKeyChecking, JumpHost, SshCliOptions, SshParams};

/// Commands running at once on one host; sshd's default MaxSessions is 10 and frees slots late.
pub const MAX_CHANNELS: usize = 4;
/// How long a refused channel open is retried before the host counts as lost.
const CHANNEL_RETRY_FOR: Duration = Duration::from_secs(60);
const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);

/// The user's home directory (`$HOME`).
pub(crate) fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Expands a leading `~/` (or a lone `~`) to `$HOME`.
pub(crate) fn expand_tilde(s: &str) -> String {
    match (s.strip_prefix('~'), home_dir()) {
        (Some(rest), Some(h)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", h.display())
        }
        _ => s.to_string(),
    }
}

/// russh callbacks for one hop: host-key verification.
pub(crate) struct Client {
    host: String,
    port: u16,
    policy: HostKeyChecking,
    files: Vec<PathBuf>,
    /// Why the key was refused, read after russh reports a refused key.
    refusal: Arc<StdMutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let refuse = |msg: String| {
            if let Ok(mut r) = self.refusal.lock() {
                *r = Some(msg);
            }
            Ok(false)
        };
        let name = known_hosts::lookup_name(&self.host, self.port);
        let certified;
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(cert) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let ca = cert.signature_key().fingerprint(Default::default());
                match known_hosts::check_certificate(&self.files, &self.host, self.port, cert, now)
                {
                    known_hosts::CertStatus::Trusted => return Ok(true),
                    known_hosts::CertStatus::Revoked { file, line } => {
                        return refuse(format!(
                            "the host certificate of {name} (signed by {ca}) is marked \
                             @revoked in {}:{line}",
                            file.display()
                        ));
                    }
                    known_hosts::CertStatus::Invalid(why) => {
                        return refuse(format!(
                            "the host certificate of {name}, signed by the trusted authority \
                             {ca}, is refused: {why}"
                        ));
                    }
                    // As OpenSSH: an unknown signer leaves the certified key to be checked
                    // as a plain host key.
                    known_hosts::CertStatus::NoAuthority => {
                        certified = russh::keys::PublicKey::new(cert.public_key().clone(), "");
                        &certified
                    }
                }
            }
        };
        let fp = key.fingerprint(Default::default());
        match known_hosts::check(&self.files, &self.host, self.port, key) {
            HostKeyStatus::Known => Ok(true),
            HostKeyStatus::Revoked { file, line } => refuse(format!(
                "the host key {fp} of {name} is marked @revoked in {}:{line}",
                file.display()
            )),
            HostKeyStatus::Changed { file, line } => refuse(format!(
                "REMOTE HOST IDENTIFICATION HAS CHANGED for {name}: it now offers {} key {fp}, \
                 which differs from {}:{line}. Someone could be eavesdropping (man-in-the-middle), \
                 or the host key was just replaced. If you know it was replaced, remove the old \
                 key with `ssh-keygen -R '{name}'` and connect again",
                key.algorithm(),
                file.display()
            )),
            HostKeyStatus::Unknown { other_types } => match self.policy {
                HostKeyChecking::Off => Ok(true),
                HostKeyChecking::AcceptNew if !other_types => {
                    let Some(file) = self.files.first() else {
                        return refuse("no known_hosts file to record the new key in".into());
                    };
                    match known_hosts::append(file, &self.host, self.port, key) {
                        Ok(()) => Ok(true),
                        Err(e) => refuse(format!(
                            "cannot record the host key of {name} in {}: {e}",
                            file.display()
                        )),
                    }
                }
                _ => {
                    let other = if other_types {
                        " (known_hosts lists it with keys of other types only)"
                    } else {
                        ""
                    };
                    refuse(format!(
                        "the host key of {name} is not known{other}: {} {fp}. Accept it with \
                         --host-key-checking accept-new (or StrictHostKeyChecking=accept-new), \
                         or add it after checking it: ssh-keyscan -p {} {} >> ~/.ssh/known_hosts",
                        key.algorithm(),
                        self.port,
                        self.host
                    ))
                }
            },
        }
    }
}

/// A live session and the jump sessions its tunnel runs through (kept alive with it).
struct Session {
    handle: Handle<Client>,
    _jumps: Vec<Handle<Client>>,
    /// The `ProxyCommand` process carrying the connection; killed when the session goes.
    _proxy: Option<tokio::process::Child>,
}

/// An SSH connection to one host, opened on first use and reopened if it was closed.
pub struct SshConnection {
    params: SshParams,
    session: Mutex<Option<Arc<Session>>>,
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for SshConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConnection")
            .field("host", &self.params.host)
            .field("port", &self.params.port)
            .field("user", &self.params.user)
            .finish()
    }
}

impl SshConnection {
    /// A connection that opens its session on the first [`exec`](Self::exec).
    pub fn lazy(params: SshParams) -> SshConnection {
        SshConnection {
            params,
            session: Mutex::new(None),
            slots: Arc::new(Semaphore::new(MAX_CHANNELS)),
        }
    }

    /// Connects and authenticates now.
    pub async fn connect(params: &SshParams) -> Result<SshConnection, ConnectionError> {
        let c = SshConnection::lazy(params.clone());
        c.session().await?;
        Ok(c)
    }

    /// The parameters this connection uses.
    pub fn params(&self) -> &SshParams {
        &self.params
    }

    fn label(&self) -> String {
        let p = &self.params;
        if p.inventory_name == p.host && p.port == 22 {
            p.host.clone()
        } else {
            format!("{} ({}:{})", p.inventory_name, p.host, p.port)
        }
    }

    fn lost(&self, message: impl Into<String>) -> ConnectionError {
        ConnectionError::Lost {
            host: self.label(),
            message: message.into(),
        }
    }

    async fn session(&self) -> Result<Arc<Session>, ConnectionError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref()
            && !s.handle.is_closed()
        {
            return Ok(s.clone());
        }
        let timeout = self.params.connect_timeout;
        let s = match tokio::time::timeout(timeout, open_session(&self.params)).await {
            Ok(Ok(s)) => Arc::new(s),
            Ok(Err(message)) => {
                return Err(ConnectionError::Connect {
                    host: self.label(),
                    message,
                });
            }
            Err(_) => {
                return Err(ConnectionError::Connect {
                    host: self.label(),
                    message: format!(
                        "no answer within {}s (connect timeout; raise it with -T or \
                         ansible_timeout)",
                        timeout.as_secs()
                    ),
                });
            }
        };
        *guard = Some(s.clone());
        Ok(s)
    }

    /// Drops the session so that the next command dials the host afresh (used by `reboot`:
    /// the old session died with the host, and waiting for it to notice could take long).
    pub async fn reset(&self) {
        self.session.lock().await.take();
    }

    /// Runs one command on the host.
    pub async fn exec(&self, req: &ExecRequest) -> Result<ExecOutput, ConnectionError> {
        let _permit = self
            .slots
            .acquire()
            .await
            .map_err(|_| self.lost("connection closed"))?;
        let session = self.session().await?;
        let channel = self.open_channel(&session).await?;
        if let (Some(b), Some(pw)) = (&req.become_, &self.params.become_password)
            && b.method == BecomeMethod::Su
        {
            return self.exec_su(&session, channel, req, b, pw).await;
        }
        let (line, sudo_pw) = self.command_line(req);
        let (mut rx, tx) = channel.split();
        tx.exec(true, line.into_bytes())
            .await
            .map_err(|e| self.lost(format!("cannot start the command: {e}")))?;
        let tx = Arc::new(tx);
        let stdin = req.stdin.clone();
        let mut start_writer = Some({
            let tx = tx.clone();
            move || {
                tokio::spawn(async move {
                    if let Some(data) = stdin {
                        // A command may exit without reading all of stdin; that is its business.
                        let _ = tx.data(&data[..]).await;
                    }
                    let _ = tx.eof().await;
                })
            }
        });
        let mut writer = None;
        let mut become_state = match &sudo_pw {
            Some(pw) => BecomeState::Waiting {
                password: pw.clone(),
                answered: false,
            },
            None => {
                writer = start_writer.take().map(|f| f());
                BecomeState::Done
            }
        };
        let mut out = ExecOutput::default();
        let mut status: Option<i32> = None;
        let mut signal: Option<String> = None;
        while let Some(msg) = rx.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    out.stdout.extend_from_slice(&data);
                    if let BecomeState::Waiting { .. } = become_state
                        && let Some(pos) = find(&out.stdout, SUDO_SUCCESS.as_bytes())
                    {
                        let end = pos + SUDO_SUCCESS.len() + 1;
                        out.stdout.drain(..end.min(out.stdout.len()));
                        become_state = BecomeState::Done;
                        writer = start_writer.take().map(|f| f());
                    }
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    out.stderr.extend_from_slice(&data);
                    if let BecomeState::Waiting { password, answered } = &mut become_state
                        && let Some(pos) = find(&out.stderr, SUDO_PROMPT.as_bytes())
                    {
                        out.stderr.drain(pos..pos + SUDO_PROMPT.len());
                        if *answered {
                            // Asked again: the password was wrong. Closing stdin makes sudo
                            // give up instead of waiting for us.
                            out.stderr.extend_from_slice(
                                b"sudo: incorrect become password (check -K or ansible_become_password)\n",
                            );
                            let _ = tx.eof().await;
                        } else {
                            *answered = true;
                            let mut bytes = password.expose().as_bytes().to_vec();
                            bytes.push(b'\n');
                            let _ = tx.data(&bytes[..]).await;
                        }
                    }
                }
                ChannelMsg::ExitStatus { exit_status } => {
                    status = Some(i32::try_from(exit_status).unwrap_or(-1))
                }
                ChannelMsg::ExitSignal {
                    signal_name,
                    error_message,
                    ..
                } => {
                    signal = Some(
                        format!("{signal_name:?} {error_message}")
                            .trim()
                            .to_string(),
                    )
                }
                ChannelMsg::Failure => {
                    return Err(self.lost("the host refused to run the command"));
                }
                _ => {}
            }
        }
        if let Some(w) = writer {
            w.abort();
        }
        match (status, signal) {
            (Some(rc), _) => out.rc = rc,
            (None, Some(sig)) => {
                out.rc = -1;
                out.stderr
                    .extend_from_slice(format!("command killed by signal {sig}\n").as_bytes());
            }
            (None, None) => {
                return Err(self.lost(if session.handle.is_closed() {
                    "the connection closed while a command was running (host down, sshd \
                     stopped, or no answer to keepalives)"
                } else {
                    "the channel closed without an exit status"
                }));
            }
        }
        Ok(out)
    }

    /// Runs `req` through `su` with a password. su reads the password from its terminal only,
    /// so the channel gets a PTY; once su succeeded, the shell it started turns the terminal
    /// raw (no echo, no line editing, no newline translation), prints [`SU_READY`], takes
    /// exactly the request's stdin length from the terminal, and keeps the command's stdout and
    /// stderr in a private (0700) temporary directory of the target user, to send them back
    /// framed by their lengths: a terminal merges the two streams and has no end-of-file.
    async fn exec_su(
        &self,
        session: &Session,
        channel: russh::Channel<client::Msg>,
        req: &ExecRequest,
        b: &super::Become,
        password: &Secret,
    ) -> Result<ExecOutput, ConnectionError> {
        let inner = ExecRequest {
            become_: None,
            ..req.clone()
        }
        .shell_line();
        let stdin_len = req.stdin.as_ref().map_or(0, Vec::len);
        // The terminal never ends the input: the command reads exactly what was sent.
        let (feed, no_input) = if req.stdin.is_some() {
            (format!("head -c {stdin_len} | "), "")
        } else {
            (String::new(), " </dev/null")
        };
        let script = format!(
            "stty raw -echo -iexten 2>/dev/null\n\
             d=$(mktemp -d) || exit 125\n\
             trap 'rm -rf -- \"$d\"' EXIT\n\
             echo {SU_READY}\n\
             {feed}sh -c {}{no_input} >\"$d/o\" 2>\"$d/e\"\n\
             rc=$?\n\
             printf '%s %s\\n' \"$(wc -c <\"$d/o\")\" \"$(wc -c <\"$d/e\")\"\n\
             cat -- \"$d/o\" \"$d/e\"\n\
             exit $rc\n",
            super::quote(&inner)
        );
        let mut c = Cmd::new("su");
        c.args(&b.flags);
        c.arg(&b.user)
            .arg("-s")
            .arg("/bin/sh")
            .arg("-c")
            .arg(&script);
        let modes = [
            (russh::Pty::ECHO, 0),
            (russh::Pty::TTY_OP_ISPEED, 38400),
            (russh::Pty::TTY_OP_OSPEED, 38400),
        ];
        channel
            .request_pty(false, "dumb", 80, 24, 0, 0, &modes)
            .await
            .map_err(|e| self.lost(format!("cannot get a terminal for su: {e}")))?;
        let (mut rx, tx) = channel.split();
        tx.exec(true, c.into_string().into_bytes())
            .await
            .map_err(|e| self.lost(format!("cannot start su: {e}")))?;
        let mut seen: Vec<u8> = Vec::new();
        let mut answered = false;
        let mut ready = false;
        let mut status: Option<i32> = None;
        let auth_timeout = self.params.connect_timeout * SU_AUTH_TIMEOUTS;
        let auth_deadline = tokio::time::Instant::now() + auth_timeout;
        loop {
            let msg = if ready {
                rx.wait().await
            } else {
                match tokio::time::timeout_at(auth_deadline, rx.wait()).await {
                    Ok(m) => m,
                    Err(_) => {
                        // Closing the channel hangs up su's terminal, which ends su.
                        let _ = tx.close().await;
                        let said = String::from_utf8_lossy(&seen).replace('\r', "");
                        return Ok(ExecOutput {
                            rc: 1,
                            stdout: Vec::new(),
                            stderr: format!(
                                "{}\nsu: no shell within {}s of asking for the password (a \
                                 prompt jig did not recognise, or su waits for something else)\n",
                                said.trim(),
                                auth_timeout.as_secs()
                            )
                            .into_bytes(),
                        });
                    }
                }
            };
            let Some(msg) = msg else { break };
            match msg {
                ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. } => {
                    seen.extend_from_slice(&data);
                    if ready {
                        continue;
                    }
                    if let Some(pos) = find(&seen, SU_READY.as_bytes()) {
                        let mut end = pos + SU_READY.len();
                        // The terminal is raw by now: the newline is a bare `\n`.
                        while seen.get(end).is_some_and(|c| *c == b'\r' || *c == b'\n') {
                            end += 1;
                        }
                        seen.drain(..end);
                        ready = true;
                        if let Some(data) = &req.stdin {
                            tx.data(&data[..]).await.map_err(|e| {
                                self.lost(format!("cannot send the input to su's shell: {e}"))
                            })?;
                        }
                    } else if !answered && String::from_utf8_lossy(&seen).trim_end().ends_with(':')
                    {
                        answered = true;
                        let mut bytes = password.expose().as_bytes().to_vec();
                        bytes.push(b'\n');
                        tx.data(&bytes[..])
                            .await
                            .map_err(|e| self.lost(format!("cannot answer su: {e}")))?;
                    }
                }
                ChannelMsg::ExitStatus { exit_status } => {
                    status = Some(i32::try_from(exit_status).unwrap_or(-1));
                }
                ChannelMsg::Failure => {
                    return Err(self.lost("the host refused to run su"));
                }
                _ => {}
            }
        }
        let Some(rc) = status else {
            return Err(self.lost(if session.handle.is_closed() {
                "the connection closed while su was running (host down, sshd stopped, or no \
                 answer to keepalives)"
            } else {
                "su's channel closed without an exit status"
            }));
        };
        if !ready {
            // su itself failed: whatever it printed after the prompt says why.
            let said = String::from_utf8_lossy(&seen).replace('\r', "");
            let mut out = ExecOutput {
                rc: if rc == 0 { 1 } else { rc },
                ..ExecOutput::default()
            };
            out.stderr = format!(
                "{}\nsu: incorrect become password or su refused (check -K or \
                 ansible_become_password)\n",
                said.trim()
            )
            .into_bytes();
            return Ok(out);
        }
        split_framed(&seen)
            .map(|(stdout, stderr)| ExecOutput { rc, stdout, stderr })
            .ok_or_else(|| {
                self.lost(format!(
                    "su's shell answered in an unexpected form (exit {rc}): {}",
                    String::from_utf8_lossy(&seen[..seen.len().min(200)])
                ))
            })
    }

    /// The line to run and, for `sudo` with a password, the password to answer its prompt.
    fn command_line(&self, req: &ExecRequest) -> (String, Option<Secret>) {
        let Some(b) = &req.become_ else {
            return (req.shell_line(), None);
        };
        let Some(pw) = self.params.become_password.clone() else {
            return (req.shell_line(), None);
        };
        if b.method != BecomeMethod::Sudo {
            return (req.shell_line(), None);
        }
        let inner = ExecRequest {
            become_: None,
            ..req.clone()
        }
        .shell_line();
        let mut c = Cmd::new("sudo");
        c.arg("-H").arg("-S").arg("-p").arg(SUDO_PROMPT);
        c.args(&b.flags);
        c.arg("-u")
            .arg(&b.user)
            .arg("--")
            .arg("sh")
            .arg("-c")
            .arg(&format!("echo {SUDO_SUCCESS}; exec sh -c \"$1\""))
            .arg("jig")
            .arg(&inner);
        (c.into_string(), Some(pw))
    }

    async fn open_channel(
        &self,
        session: &Session,
    ) -> Result<russh::Channel<client::Msg>, ConnectionError> {
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(5);
        loop {
            let open = tokio::time::timeout(
                self.params.connect_timeout,
                session.handle.channel_open_session(),
            )
            .await;
            match open {
                Ok(Ok(ch)) => return Ok(ch),
                Err(_) => {
                    return Err(self.lost(format!(
                        "no answer to a channel open within {}s",
                        self.params.connect_timeout.as_secs()
                    )));
                }
                Ok(Err(e)) => {
                    if session.handle.is_closed() {
                        return Err(self.lost(format!("the connection closed ({e})")));
                    }
                    if started.elapsed() > CHANNEL_RETRY_FOR {
                        return Err(self.lost(format!(
                            "the host kept refusing new sessions for {}s ({e}); check sshd's \
                             MaxSessions",
                            CHANNEL_RETRY_FOR.as_secs()
                        )));
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(250));
                }
            }
        }
    }
}

/// The prompt jig gives sudo, recognised on stderr and removed from it.
const SUDO_PROMPT: &str = "[jig-sudo-password]";
/// Printed by the become shell once sudo succeeded; removed from stdout.
const SUDO_SUCCESS: &str = "JIG-BECOME-SUCCESS-7c1e";

/// Printed by su's shell once the terminal is raw and it waits for the command's input.
const SU_READY: &str = "JIG-SU-READY-5b2d";
/// How long su may take from start to its shell running, in connect timeouts (PAM delays a
/// wrong password by about 2 s); past it the task fails instead of waiting on a prompt jig
/// cannot answer.
const SU_AUTH_TIMEOUTS: u32 = 3;

/// Splits `<stdout length> <stderr length>\n<stdout><stderr>` as su's shell sends them.
fn split_framed(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let nl = bytes.iter().position(|b| *b == b'\n')?;
    let head = std::str::from_utf8(&bytes[..nl]).ok()?;
    let (o, e) = head.trim().split_once(' ')?;
    let (o, e): (usize, usize) = (o.trim().parse().ok()?, e.trim().parse().ok()?);
    let body = &bytes[nl + 1..];
    (body.len() == o + e).then(|| (body[..o].to_vec(), body[o..].to_vec()))
}

enum BecomeState {
    Waiting { password: Secret, answered: bool },
    Done,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `base` with the host-key algorithms already known for the host moved to the front (RSA
/// matches every RSA signature hash), as OpenSSH orders them.
///
/// With `certificates`, the certificate variants of the same algorithms are asked for first,
/// so a host with a certificate presents it (known_hosts lists a `@cert-authority` for it).
fn prefer_known_key_types(
    base: &client::Config,
    known: &[russh::keys::ssh_key::Algorithm],
    certificates: bool,
) -> client::Config {
    use russh::keys::ssh_key::Algorithm;
    let rsa = |a: &Algorithm| matches!(a, Algorithm::Rsa { .. });
    let is_known = |a: &Algorithm| known.iter().any(|k| k == a || (rsa(k) && rsa(a)));
    let mut order: Vec<_> = base
        .preferred
        .key
        .iter()
        .filter(|a| is_known(a))
        .cloned()
        .collect();
    order.extend(base.preferred.key.iter().filter(|a| !is_known(a)).cloned());
    let host_key_certificates = if certificates {
        order.clone().into()
    } else {
        base.preferred.host_key_certificates.clone()
    };
    client::Config {
        preferred: russh::Preferred {
            key: order.into(),
            host_key_certificates,
            ..base.preferred.clone()
        },
        nodelay: base.nodelay,
        keepalive_interval: base.keepalive_interval,
        keepalive_max: base.keepalive_max,
        inactivity_timeout: base.inactivity_timeout,
        ..Default::default()
    }
}

/// Opens the TCP connection (through every jump), checks host keys, authenticates.
async fn open_session(p: &SshParams) -> Result<Session, String> {
    let config = Arc::new(client::Config {
        nodelay: true,
        keepalive_interval: Some(p.keepalive_interval.unwrap_or(DEFAULT_KEEPALIVE)),
        keepalive_max: p.keepalive_max.max(1),
        inactivity_timeout: None,
        ..Default::default()
    });
    struct Hop<'a> {
        host: &'a str,
        port: u16,
        user: &'a str,
        keys: Vec<PathBuf>,
        password: Option<&'a Secret>,
    }
    let mut hops: Vec<Hop<'_>> = p
        .proxy_jump
        .iter()
        .map(|j| Hop {
            host: &j.host,
            port: j.port,
            user: &j.user,
            keys: j
                .identity_files
                .iter()
                .chain(p.identity_files.iter())
                .cloned()
                .collect(),
            password: None,
        })
        .collect();
    hops.push(Hop {
        host: &p.host,
        port: p.port,
        user: &p.user,
        keys: p.identity_files.clone(),
        password: p.password.as_ref(),
    });
    let mut jumps: Vec<Handle<Client>> = Vec::new();
    let mut proxy: Option<tokio::process::Child> = None;
    let last = hops.len().saturating_sub(1);
    for (i, hop) in hops.into_iter().enumerate() {
        let where_ = format!("{}:{}", hop.host, hop.port);
        let role = if i < last { "jump host " } else { "" };
        let refusal = Arc::new(StdMutex::new(None));
        let handler = Client {
            host: hop.host.to_string(),
            port: hop.port,
            policy: p.host_key_checking,
            files: p.known_hosts_files.clone(),
            refusal: refusal.clone(),
        };
        let config = Arc::new(prefer_known_key_types(
            &config,
            &known_hosts::known_algorithms(&p.known_hosts_files, hop.host, hop.port),
            known_hosts::has_cert_authority(&p.known_hosts_files, hop.host, hop.port),
        ));
        let connected = match jumps.last() {
            None if p.proxy_command.is_some() => {
                let (stream, child) =
                    spawn_proxy_command(p.proxy_command.as_deref().unwrap_or(""))?;
                proxy = Some(child);
                client::connect_stream(config.clone(), stream, handler).await
            }
            None => client::connect(config.clone(), (hop.host, hop.port), handler).await,
            Some(prev) => {
                let tunnel = prev
                    .channel_open_direct_tcpip(hop.host, u32::from(hop.port), "127.0.0.1", 0)
                    .await
                    .map_err(|e| format!("the jump host could not reach {where_}: {e}"))?;
                client::connect_stream(config.clone(), tunnel.into_stream(), handler).await
            }
        };
        let mut handle = connected.map_err(|e| {
            let refused = refusal.lock().ok().and_then(|mut r| r.take());
            match refused {
                Some(why) => why,
                None => match &e {
                    russh::Error::IO(io) => format!("{role}{where_}: {io}"),
                    other => format!("{role}{where_}: {other}"),
                },
            }
        })?;
        let plan = auth::AuthPlan {
            user: hop.user,
            identity_files: &hop.keys,
            identities_only: p.identities_only,
            password: hop.password,
        };
        auth::authenticate(&mut handle, &plan, &where_).await?;
        jumps.push(handle);
    }
    let handle = jumps
        .pop()
        .ok_or_else(|| "no host to connect to".to_string())?;
    Ok(Session {
        handle,
        _jumps: jumps,
        _proxy: proxy,
    })
}

/// Starts `ProxyCommand` with `sh -c`; its stdout and stdin are the connection.
fn spawn_proxy_command(
    command: &str,
) -> Result<
    (
        tokio::io::Join<tokio::process::ChildStdout, tokio::process::ChildStdin>,
        tokio::process::Child,
    ),
    String,
> {
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start ProxyCommand '{command}': {e}"))?;
    match (child.stdout.take(), child.stdin.take()) {
        (Some(out), Some(inp)) => Ok((tokio::io::join(out, inp), child)),
        _ => Err(format!("ProxyCommand '{command}' has no pipes")),
    }
}

#[cfg(test)]
mod tests {
    use super::split_framed;

    #[test]
    fn su_output_is_split_by_the_lengths_in_front() {
        assert_eq!(
            split_framed(b"3 5\nout\nerr\n"),
            Some((b"out".to_vec(), b"\nerr\n".to_vec()))
        );
        assert_eq!(split_framed(b"0 0\n"), Some((vec![], vec![])));
        // Lengths that do not add up: the frame was damaged, never guessed at.
        assert_eq!(split_framed(b"3 4\nout"), None);
        assert_eq!(split_framed(b"x 4\nout\n"), None);
        assert_eq!(split_framed(b"no frame"), None);
    }
}

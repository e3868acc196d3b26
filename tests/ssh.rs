//! The SSH transport against a private sshd on 127.0.0.1 (see tests/ssh_support). Each test
//! starts its own server so they can run in parallel and kill theirs; when sshd cannot be
//! started the test prints `SKIPPED` with the reason.

#[path = "support/recap.rs"]
mod recap;
mod ssh_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jig::connection::ssh::{HostKeyChecking, JumpHost, SshConnection, SshParams};
use jig::connection::{Cmd, ConnectionError, ExecRequest, Secret};
use recap::recap;
use ssh_support::{Sshd, sshd_or_skip, sshd_with_or_skip};

fn params(s: &Sshd, known_hosts: PathBuf) -> SshParams {
    SshParams {
        inventory_name: "target".into(),
        host: "127.0.0.1".into(),
        port: s.port,
        user: "root".into(),
        identity_files: vec![s.client_key.clone()],
        identities_only: true,
        password: None,
        become_password: None,
        proxy_jump: Vec::new(),
        proxy_command: None,
        connect_timeout: Duration::from_secs(10),
        keepalive_interval: None,
        keepalive_max: 3,
        host_key_checking: HostKeyChecking::Strict,
        known_hosts_files: vec![known_hosts],
    }
}

/// Puts an executable script named `name` in the sshd's `bin/` directory, which the tests that
/// need a fake `sudo` or `su` put first on the session's `PATH`.
fn install_fake_command(s: &Sshd, name: &str, script: &str) {
    let bin = s.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join(name), script).unwrap();
    std::fs::set_permissions(
        bin.join(name),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
}

async fn connect(s: &Sshd) -> SshConnection {
    SshConnection::connect(&params(s, s.known_hosts()))
        .await
        .expect("connects with the client key")
}

const HOSTILE: &[&str] = &[
    "plain",
    "with space",
    "it's \"quoted\"",
    "$(touch /tmp/jig-pwned) `id` $HOME",
    "line1\nline2\n",
    "naïve 日本語 ✓",
    "; rm -rf / #",
    "back\\slash * ? [a]",
    "",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_round_trip_through_argv_and_stdin() {
    let Some(s) = sshd_or_skip("hostile_values_round_trip") else {
        return;
    };
    let conn = connect(&s).await;
    for v in HOSTILE {
        let mut c = Cmd::new("printf");
        c.arg("%s").arg(v);
        let out = conn.exec(&ExecRequest::new(c.into_string())).await.unwrap();
        assert_eq!(out.rc, 0, "{v:?}: {}", out.stderr_str());
        assert_eq!(out.stdout_str(), *v, "argv round trip");
        let out = conn
            .exec(&ExecRequest::new("cat").with_stdin(v.as_bytes().to_vec()))
            .await
            .unwrap();
        assert_eq!(out.stdout, v.as_bytes(), "stdin round trip");
    }
    let out = conn
        .exec(&ExecRequest::new("echo out; echo err >&2; exit 7"))
        .await
        .unwrap();
    assert_eq!(
        (out.rc, out.stdout_str(), out.stderr_str()),
        (7, "out\n".into(), "err\n".into())
    );
    let out = conn.exec(&ExecRequest::new("kill -KILL $$")).await.unwrap();
    assert_eq!(out.rc, -1, "killed by a signal: {out:?}");
    assert!(out.stderr_str().contains("signal"), "{}", out.stderr_str());
    let mut req = ExecRequest::new("sleep 5; echo late");
    req.timeout = Some(Duration::from_secs(1));
    let t = Instant::now();
    let out = conn.exec(&req).await.unwrap();
    assert_eq!(out.rc, 124, "timeout(1) reports 124: {out:?}");
    assert!(t.elapsed() < Duration::from_secs(4));
    assert!(!std::path::Path::new("/tmp/jig-pwned").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_mib_of_stdin_echoed_back_does_not_deadlock() {
    let Some(s) = sshd_or_skip("five_mib_stdin") else {
        return;
    };
    let conn = connect(&s).await;
    let data: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        conn.exec(&ExecRequest::new("cat").with_stdin(data.clone())),
    )
    .await
    .expect("no deadlock")
    .unwrap();
    assert_eq!(out.rc, 0);
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "bytes differ");
    let out = conn
        .exec(&ExecRequest::new("wc -c").with_stdin(data))
        .await
        .unwrap();
    assert_eq!(out.stdout_str().trim(), "5242880");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_execs_on_one_connection_all_succeed() {
    let Some(s) = sshd_or_skip("fifty_concurrent") else {
        return;
    };
    let conn = std::sync::Arc::new(connect(&s).await);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let conn = conn.clone();
        set.spawn(async move {
            let mut c = Cmd::new("sh");
            c.arg("-c")
                .arg("sleep 0.05; echo \"$1\"")
                .arg("x")
                .arg(&i.to_string());
            (i, conn.exec(&ExecRequest::new(c.into_string())).await)
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        let (i, out) = r.unwrap();
        let out = out.unwrap_or_else(|e| panic!("exec {i} failed: {e}"));
        assert_eq!(out.stdout_str(), format!("{i}\n"));
        ok += 1;
    }
    assert_eq!(ok, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_key_refused_then_accept_new_records_it() {
    let Some(s) = sshd_or_skip("unknown_key") else {
        return;
    };
    let kh = s.dir.path().join("empty_known_hosts");
    let e = SshConnection::connect(&params(&s, kh.clone()))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not known"), "{e}");
    assert!(
        e.contains("accept-new") && e.contains("ssh-keyscan"),
        "says how to accept: {e}"
    );
    assert!(!kh.exists(), "strict checking writes nothing");

    let mut p = params(&s, kh.clone());
    p.host_key_checking = HostKeyChecking::AcceptNew;
    let conn = SshConnection::connect(&p)
        .await
        .expect("accept-new connects");
    assert_eq!(conn.exec(&ExecRequest::new("true")).await.unwrap().rc, 0);
    let text = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(text, format!("[127.0.0.1]:{} {}\n", s.port, s.host_pub));

    // Now known: strict checking accepts it.
    SshConnection::connect(&params(&s, kh))
        .await
        .expect("known now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_known_by_its_ecdsa_key_only_is_asked_for_that_key() {
    let Some(s) = sshd_or_skip("known_key_type") else {
        return;
    };
    let kh = s.dir.path().join("kh_ecdsa");
    std::fs::write(
        &kh,
        format!("[127.0.0.1]:{} {}\n", s.port, s.host_pub_ecdsa),
    )
    .unwrap();
    let conn = SshConnection::connect(&params(&s, kh))
        .await
        .expect("negotiates the known ECDSA host key, not ed25519");
    assert_eq!(conn.exec(&ExecRequest::new("true")).await.unwrap().rc, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_key_is_refused_even_with_checking_off() {
    let Some(s) = sshd_or_skip("changed_key") else {
        return;
    };
    let other = std::fs::read_to_string(s.other_key.with_extension("pub")).unwrap();
    let kh = s.dir.path().join("kh_changed");
    std::fs::write(&kh, format!("[127.0.0.1]:{} {}", s.port, other.trim())).unwrap();
    for policy in [
        HostKeyChecking::Strict,
        HostKeyChecking::AcceptNew,
        HostKeyChecking::Off,
    ] {
        let mut p = params(&s, kh.clone());
        p.host_key_checking = policy;
        let e = SshConnection::connect(&p).await.unwrap_err();
        assert!(matches!(e, ConnectionError::Connect { .. }), "{e:?}");
        let e = e.to_string();
        assert!(
            e.contains("HAS CHANGED") && e.contains("ssh-keygen -R"),
            "{policy:?}: {e}"
        );
    }
    let revoked = s.dir.path().join("kh_revoked");
    std::fs::write(&revoked, format!("@revoked * {}\n", s.host_pub)).unwrap();
    let mut p = params(&s, revoked);
    p.host_key_checking = HostKeyChecking::Off;
    let e = SshConnection::connect(&p).await.unwrap_err().to_string();
    assert!(e.contains("@revoked"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_or_password_is_a_clear_error() {
    let Some(s) = sshd_or_skip("wrong_credentials") else {
        return;
    };
    let mut p = params(&s, s.known_hosts());
    p.identity_files = vec![s.other_key.clone()];
    let e = SshConnection::connect(&p).await.unwrap_err().to_string();
    assert!(e.contains("permission denied for root@127.0.0.1"), "{e}");
    assert!(
        e.contains(&s.other_key.display().to_string()),
        "names the key: {e}"
    );

    p.identity_files = vec![s.dir.path().join("no-such-key")];
    p.password = Some(Secret::new("wrong 'pass' $(x)"));
    let e = SshConnection::connect(&p).await.unwrap_err().to_string();
    assert!(
        e.contains("permission denied") && e.contains("password"),
        "{e}"
    );
    assert!(e.contains("does not exist"), "says the key is missing: {e}");
    assert!(!e.contains("wrong 'pass'"), "never shows the password: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_jump_through_the_same_sshd_to_itself() {
    let Some(s) = sshd_or_skip("proxy_jump") else {
        return;
    };
    let mut p = params(&s, s.known_hosts());
    p.proxy_jump = vec![
        JumpHost {
            host: "127.0.0.1".into(),
            port: s.port,
            user: "root".into(),
            identity_files: vec![],
        },
        JumpHost {
            host: "127.0.0.1".into(),
            port: s.port,
            user: "root".into(),
            identity_files: vec![],
        },
    ];
    let conn = SshConnection::connect(&p).await.expect("two hops");
    let out = conn
        .exec(&ExecRequest::new("echo \"$SSH_CONNECTION\""))
        .await
        .unwrap();
    assert_eq!(out.rc, 0);
    // The last hop's client side is the jump host: also 127.0.0.1, seen by sshd as a
    // forwarded connection, so the line names our port as the server port.
    assert!(
        out.stdout_str().contains(&format!(" {}", s.port)),
        "{}",
        out.stdout_str()
    );

    let mut bad = params(&s, s.known_hosts());
    bad.proxy_jump = vec![JumpHost {
        host: "127.0.0.1".into(),
        port: s.port,
        user: "root".into(),
        identity_files: vec![],
    }];
    bad.port = 1; // nothing listens there
    let e = SshConnection::connect(&bad).await.unwrap_err().to_string();
    assert!(e.contains("jump host could not reach 127.0.0.1:1"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_command_carries_the_connection() {
    let Some(s) = sshd_or_skip("proxy_command") else {
        return;
    };
    let mut p = params(&s, s.known_hosts());
    let mut c = Cmd::new("ssh");
    c.args([
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
    ])
    .args(["-o", "UserKnownHostsFile=/dev/null", "-i"])
    .arg(s.client_key.to_str().unwrap())
    .args(["-p", &s.port.to_string(), "-W", "%h:%p", "root@127.0.0.1"]);
    p.proxy_command = Some(
        c.into_string()
            .replace("%h:%p", &format!("127.0.0.1:{}", s.port)),
    );
    p.host = "no-such-host.invalid".into(); // only the proxy knows the way
    let kh = s.dir.path().join("kh_proxy");
    std::fs::write(
        &kh,
        format!("[no-such-host.invalid]:{} {}\n", s.port, s.host_pub),
    )
    .unwrap();
    p.known_hosts_files = vec![kh];
    let conn = SshConnection::connect(&p)
        .await
        .expect("through the proxy command");
    let out = conn.exec(&ExecRequest::new("echo through")).await.unwrap();
    assert_eq!(out.stdout_str(), "through\n");

    p.proxy_command = Some("exit 3".into());
    let e = SshConnection::connect(&p).await.unwrap_err().to_string();
    assert!(e.contains("cannot connect to"), "{e}");
}

/// Runs a 30 s `sleep` on `conn` and sends `signal` to every sshd process once the command has
/// started (it touches `marker` first); the result is `Err(Elapsed)` if the exec is still
/// waiting 20 s later, i.e. if a dead or frozen host hangs jig.
async fn signal_during_sleep(
    s: &Sshd,
    conn: &SshConnection,
    marker: &str,
    signal: i32,
) -> Result<Result<jig::connection::ExecOutput, ConnectionError>, tokio::time::error::Elapsed> {
    let marker = s.dir.path().join(marker);
    let mut c = Cmd::new("touch");
    c.arg(marker.to_str().unwrap());
    let sleep = ExecRequest::new(format!("{} && sleep 30", c.into_string()));
    let run = conn.exec(&sleep);
    let sender = async {
        let _ = tokio::task::spawn_blocking(move || Sshd::wait_for(&marker)).await;
        s.signal_all(signal);
    };
    let (r, ()) = tokio::join!(tokio::time::timeout(Duration::from_secs(20), run), sender);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_or_frozen_sshd_is_lost_without_a_hang() {
    let Some(s) = sshd_or_skip("killed_sshd") else {
        return;
    };
    // Frozen: keepalives go unanswered.
    let mut p = params(&s, s.known_hosts());
    p.keepalive_interval = Some(Duration::from_secs(1));
    p.keepalive_max = 2;
    let conn = SshConnection::connect(&p).await.unwrap();
    assert_eq!(conn.exec(&ExecRequest::new("true")).await.unwrap().rc, 0);
    let t = Instant::now();
    let r = signal_during_sleep(&s, &conn, "frozen-running", libc::SIGSTOP).await;
    let e = r.expect("no hang when the host freezes").unwrap_err();
    assert!(matches!(e, ConnectionError::Lost { .. }), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    s.signal_all(libc::SIGCONT);

    // Killed: the TCP connection drops.
    let conn = connect(&s).await;
    let r = signal_during_sleep(&s, &conn, "killed-running", libc::SIGKILL).await;
    let e = r.expect("no hang when sshd dies").unwrap_err();
    assert!(e.to_string().contains("lost the connection"), "{e}");
    // And a new connection attempt fails fast with a reason.
    let e = SshConnection::connect(&params(&s, s.known_hosts()))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot connect to"), "{e}");
}

/// An inventory, playbook and isolated $HOME for `jig run` against the private sshd.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(s: &Sshd) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("home/.ssh")).unwrap();
        std::fs::create_dir_all(d.join("templates")).unwrap();
        std::fs::write(d.join("ssh_config"), "Host *\n  ServerAliveInterval 2\n").unwrap();
        std::fs::write(
            d.join("inventory.ini"),
            format!(
                "[web]\ntarget ansible_host=127.0.0.1 ansible_port={} ansible_user=root \
                 ansible_ssh_private_key_file={} ansible_connection=ssh\n",
                s.port,
                s.client_key.display()
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("templates/motd.j2"),
            "Welcome to {{ inventory_hostname }} — {{ greeting }}\n",
        )
        .unwrap();
        let out = d.join("out");
        std::fs::write(
            d.join("site.yml"),
            format!(
                r#"- hosts: web
  gather_facts: true
  vars:
    greeting: "it's $(not run) ✓"
    dest: "{out}/a dir"
  tasks:
    - name: directory
      file: {{ path: "{{{{ dest }}}}", state: directory }}
    - name: copy
      copy: {{ content: "line one\n", dest: "{{{{ dest }}}}/copied 'file'.txt" }}
    - name: template
      template: {{ src: motd.j2, dest: "{{{{ dest }}}}/motd" }}
    - name: lineinfile
      lineinfile: {{ path: "{{{{ dest }}}}/lines.conf", line: "line two $(x)", create: true }}
    - name: command
      command: touch "{{{{ dest }}}}/stamp"
      args: {{ creates: "{{{{ dest }}}}/stamp" }}
    - name: facts came over ssh
      assert: {{ that: "ansible_facts.hostname | length > 0 and ansible_user_id == 'root'" }}
"#,
                out = out.display()
            ),
        )
        .unwrap();
        Project { dir }
    }

    fn jig(&self, extra: &[&str]) -> std::process::Command {
        let d = self.dir.path();
        let mut c = jig_run(
            &d.join("inventory.ini"),
            &d.join("ssh_config"),
            extra,
            &d.join("site.yml"),
        );
        c.env("HOME", d.join("home"));
        c
    }
}

/// `jig run -i INVENTORY --ssh-config SSH_CONFIG EXTRA... PLAYBOOK`, without the caller's
/// agent, host key checking setting, colours or stdin.
fn jig_run(
    inventory: &std::path::Path,
    ssh_config: &std::path::Path,
    extra: &[&str],
    playbook: &std::path::Path,
) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_jig"));
    c.arg("run")
        .arg("-i")
        .arg(inventory)
        .arg("--ssh-config")
        .arg(ssh_config)
        .args(extra)
        .arg(playbook)
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("ANSIBLE_HOST_KEY_CHECKING")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    c
}

/// The stdout of a run that must have succeeded (its stdout and stderr shown if not).
fn succeeded(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn jig_run_over_ssh_changes_then_converges() {
    let Some(s) = sshd_or_skip("jig_run_over_ssh") else {
        return;
    };
    let p = Project::new(&s);
    // Unknown host key: refused, host unreachable, with the way out in the message.
    let out = p.jig(&[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("UNREACHABLE"), "{stdout}");
    assert!(
        stdout.contains("--host-key-checking accept-new"),
        "{stdout}"
    );

    let out = p
        .jig(&["--host-key-checking", "accept-new"])
        .output()
        .unwrap();
    let stdout = succeeded(&out);
    assert!(recap(&stdout, "target").contains("changed=5"), "{stdout}");
    let dest = p.dir.path().join("out/a dir");
    assert_eq!(
        std::fs::read_to_string(dest.join("copied 'file'.txt")).unwrap(),
        "line one\n"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("lines.conf")).unwrap(),
        "line two $(x)\n"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("motd")).unwrap(),
        "Welcome to target — it's $(not run) ✓\n"
    );
    assert!(dest.join("stamp").exists());

    // The key is recorded now: the default strict checking accepts it; nothing changes.
    let stdout = succeeded(&p.jig(&[]).output().unwrap());
    let recap = recap(&stdout, "target");
    assert!(
        recap.contains("changed=0") && recap.contains("ok=7"),
        "{stdout}"
    );
}

#[test]
fn jig_run_with_sshd_killed_mid_run_reports_unreachable_without_hanging() {
    let Some(s) = sshd_or_skip("jig_run_killed") else {
        return;
    };
    let p = Project::new(&s);
    std::fs::write(
        p.dir.path().join("site.yml"),
        format!(
            "- hosts: web\n  gather_facts: false\n  tasks:\n    - shell: touch '{}' && sleep 60\n    - command: echo never\n",
            p.dir.path().join("running").display()
        ),
    )
    .unwrap();
    let t = Instant::now();
    let mut child = p
        .jig(&["--host-key-checking", "accept-new"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until jig connected and the task's shell runs `sleep 60`.
    assert!(
        Sshd::wait_for(&p.dir.path().join("running")),
        "the task never started"
    );
    s.signal_all(libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("jig hung after sshd died");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(!status.success());
    assert!(stdout.contains("UNREACHABLE"), "{stdout}");
    assert!(
        recap(&stdout, "target").contains("unreachable=1"),
        "{stdout}"
    );
    assert!(!stdout.contains("never"), "{stdout}");
    assert!(t.elapsed() < Duration::from_secs(40));
}

/// A stand-in `sudo` first on the session's PATH: it prompts with `-p`, wants the password
/// `pa$$ 'wörd'` on stdin (three tries, like sudo), then runs the command after `--`.
const FAKE_SUDO: &str = r#"#!/bin/sh
prompt=Password:
while [ $# -gt 0 ]; do
  case "$1" in
    -p) prompt=$2; shift 2 ;;
    -u) shift 2 ;;
    --) shift; break ;;
    *) shift ;;
  esac
done
tries=0
while :; do
  printf '%s' "$prompt" >&2
  IFS= read -r pw || { echo "sudo: no password was provided" >&2; exit 1; }
  [ "$pw" = "pa\$\$ 'wörd'" ] && break
  tries=$((tries + 1))
  [ $tries -ge 3 ] && { echo "sudo: 3 incorrect password attempts" >&2; exit 1; }
done
exec "$@"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_password_is_answered_before_the_commands_own_stdin() {
    let Some(s) = sshd_with_or_skip("sudo_password", "PATH={dir}/bin:/usr/bin:/bin") else {
        return;
    };
    install_fake_command(&s, "sudo", FAKE_SUDO);
    let mut p = params(&s, s.known_hosts());
    p.become_password = Some(Secret::new("pa$$ 'wörd'"));
    let conn = SshConnection::connect(&p).await.unwrap();
    let req = ExecRequest::new("cat; echo done >&2")
        .with_stdin(b"payload 'x' $(y)\n".to_vec())
        .with_become(Some(jig::connection::Become::default()));
    let out = conn.exec(&req).await.unwrap();
    assert_eq!(out.rc, 0, "{}", out.stderr_str());
    assert_eq!(
        out.stdout_str(),
        "payload 'x' $(y)\n",
        "password not in the command's stdin"
    );
    assert_eq!(out.stderr_str(), "done\n", "prompt removed from stderr");

    p.become_password = Some(Secret::new("wrong"));
    let conn = SshConnection::connect(&p).await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(20), conn.exec(&req))
        .await
        .expect("a wrong password does not hang")
        .unwrap();
    assert_eq!(out.rc, 1);
    assert!(
        out.stderr_str().contains("incorrect become password"),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stderr_str().contains("wrong"), "{}", out.stderr_str());
}

/// Runs `jig run` on a one-task playbook against inventory host `host` with `ssh_config`,
/// HOME set to `home` and the given extra environment.
fn jig_run_one(
    dir: &std::path::Path,
    host: &str,
    ssh_config: &str,
    env: &[(&str, &std::path::Path)],
) -> std::process::Output {
    std::fs::write(dir.join("inv.ini"), format!("{host}\n")).unwrap();
    std::fs::write(dir.join("cfg"), ssh_config).unwrap();
    std::fs::write(
        dir.join("one.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: echo via-ssh\n      register: r\n    - assert: { that: \"r.stdout == 'via-ssh'\" }\n",
    )
    .unwrap();
    let mut c = jig_run(
        &dir.join("inv.ini"),
        &dir.join("cfg"),
        &[],
        &dir.join("one.yml"),
    );
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn ssh_config_alias_with_proxy_jump_and_agent_auth() {
    let Some(s) = sshd_or_skip("ssh_config_agent") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let sock = d.join("agent.sock");
    let mut agent = match std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        Ok(a) => a,
        Err(e) => {
            eprintln!("SKIPPED ssh_config_alias_with_proxy_jump_and_agent_auth: no ssh-agent: {e}");
            return;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let added = std::process::Command::new("ssh-add")
        .arg(&s.client_key)
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    let cfg = format!(
        "Host aliased\n  HostName 127.0.0.1\n  Port {p}\n  ProxyJump jumpbox\n\
         Host jumpbox\n  HostName 127.0.0.1\n  Port {p}\n\
         Host *\n  User root\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile {kh}\n",
        p = s.port,
        kh = d.join("kh").display()
    );
    let out = jig_run_one(
        d,
        "aliased",
        &cfg,
        &[("HOME", &home), ("SSH_AUTH_SOCK", &sock)],
    );
    let _ = agent.kill();
    let _ = agent.wait();
    let stdout = succeeded(&out);
    assert!(recap(&stdout, "aliased").contains("ok=2"), "{stdout}");
    let kh = std::fs::read_to_string(d.join("kh")).unwrap();
    assert_eq!(
        kh.lines().count(),
        1,
        "the jump and the target share one key line: {kh}"
    );
}

#[test]
fn default_key_in_home_is_used_and_missing_auth_is_explained() {
    let Some(s) = sshd_or_skip("default_key") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    let cfg = format!(
        "Host box\n  HostName 127.0.0.1\n  Port {}\n  User root\n  UserKnownHostsFile {}\n",
        s.port,
        s.known_hosts().display()
    );
    // No agent, no key: the error lists what was tried and what to do.
    let out = jig_run_one(d, "box", &cfg, &[("HOME", &home)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("UNREACHABLE"), "{stdout}");
    assert!(
        stdout.contains("permission denied for root@127.0.0.1"),
        "{stdout}"
    );
    assert!(stdout.contains("--private-key"), "{stdout}");

    std::fs::copy(&s.client_key, home.join(".ssh/id_ed25519")).unwrap();
    let stdout = succeeded(&jig_run_one(d, "box", &cfg, &[("HOME", &home)]));
    assert!(recap(&stdout, "box").contains("ok=2"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_key_without_a_terminal_says_how_to_unlock_it() {
    if std::fs::File::open("/dev/tty").is_ok() {
        eprintln!("SKIPPED encrypted_key: a terminal is attached and jig would ask on it");
        return;
    }
    let Some(s) = sshd_or_skip("encrypted_key") else {
        return;
    };
    let key = s.dir.path().join("locked");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "a passphrase", "-C", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let mut p = params(&s, s.known_hosts());
    p.identity_files = vec![key.clone()];
    let e = SshConnection::connect(&p).await.unwrap_err().to_string();
    assert!(e.contains("is encrypted"), "{e}");
    assert!(e.contains(&format!("ssh-add {}", key.display())), "{e}");
}

#[test]
fn delegate_to_an_ssh_host_from_a_local_play() {
    let Some(s) = sshd_or_skip("delegate_to_ssh") else {
        return;
    };
    let p = Project::new(&s);
    let d = p.dir.path();
    std::fs::write(
        d.join("inventory.ini"),
        format!(
            "ctl ansible_connection=local\n\
             [web]\ntarget ansible_host=127.0.0.1 ansible_port={} ansible_user=root \
             ansible_ssh_private_key_file={}\n",
            s.port,
            s.client_key.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("site.yml"),
        "- hosts: ctl\n  gather_facts: false\n  tasks:\n\
         \x20   - shell: echo \"ssh=${SSH_CONNECTION:-none}\"\n      register: here\n\
         \x20   - shell: echo \"ssh=${SSH_CONNECTION:-none}\"\n      delegate_to: target\n      register: there\n\
         \x20   - assert:\n        that:\n          - here.stdout == 'ssh=none'\n          - there.stdout is search(' ' ~ hostvars.target.ansible_port ~ '$')\n",
    )
    .unwrap();
    let out = p
        .jig(&["--host-key-checking", "accept-new"])
        .output()
        .unwrap();
    let stdout = succeeded(&out);
    assert!(recap(&stdout, "ctl").contains("ok=3"), "{stdout}");
}

/// A stand-in `su` first on the session's PATH: on its terminal (it fails without one, as
/// su does) it prompts `Password: `, or `Secret>` when $HOME/odd-prompt exists, wants
/// `r00t 'pw' ✓`, then runs `-c`'s script with sh.
const FAKE_SU: &str = r#"#!/bin/sh
[ -t 0 ] || { echo "su: must be run from a terminal" >&2; exit 1; }
script=
while [ $# -gt 0 ]; do
  case "$1" in
    -c) script=$2; shift 2 ;;
    *) shift ;;
  esac
done
if [ -e "$HOME/odd-prompt" ]; then printf 'Secret> '; else printf 'Password: '; fi
stty -echo
IFS= read -r pw
stty echo
printf '\n'
[ "$pw" = "r00t 'pw' ✓" ] || { sleep 1; echo "su: Authentication failure"; exit 1; }
exec sh -c "$script"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn su_password_on_a_terminal_binary_input_separate_streams_and_no_hang() {
    let Some(s) = sshd_with_or_skip("su_password", "PATH={dir}/bin:/usr/bin:/bin") else {
        return;
    };
    install_fake_command(&s, "su", FAKE_SU);
    let su = jig::connection::Become {
        method: jig::connection::BecomeMethod::Su,
        ..jig::connection::Become::default()
    };
    let mut p = params(&s, s.known_hosts());
    p.connect_timeout = Duration::from_secs(2);
    p.become_password = Some(Secret::new("r00t 'pw' ✓"));
    let conn = SshConnection::connect(&p).await.unwrap();
    // Every byte value, twice, through the raw terminal and back.
    let data: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    let req = ExecRequest::new("cat; printf 'to err\\n' >&2; exit 5")
        .with_stdin(data.clone())
        .with_become(Some(su.clone()));
    let out = conn.exec(&req).await.unwrap();
    assert_eq!(out.rc, 5, "{}", out.stderr_str());
    assert!(out.stdout == data, "bytes changed: {:?}", out.stdout);
    assert_eq!(out.stderr_str(), "to err\n");
    // No stdin: the command reads end-of-file at once.
    let out = conn
        .exec(&ExecRequest::new("cat; echo done").with_become(Some(su.clone())))
        .await
        .unwrap();
    assert_eq!((out.rc, out.stdout_str()), (0, "done\n".to_string()));

    // A wrong password fails the command, says so, never shows it.
    p.become_password = Some(Secret::new("wrong $(x)"));
    let conn = SshConnection::connect(&p).await.unwrap();
    let out = conn.exec(&req).await.unwrap();
    assert_eq!(out.rc, 1);
    let err = out.stderr_str();
    assert!(err.contains("Authentication failure"), "{err}");
    assert!(err.contains("incorrect become password"), "{err}");
    assert!(!err.contains("wrong $(x)"), "{err}");

    // A prompt jig does not recognise: no answer, and no hang past 3 connect timeouts.
    std::fs::write(s.dir.path().join("home/odd-prompt"), "").unwrap();
    let t = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(20), conn.exec(&req))
        .await
        .expect("no hang on an unknown prompt")
        .unwrap();
    assert_eq!(out.rc, 1);
    assert!(out.stderr_str().contains("Secret>"), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("within 6s"),
        "{}",
        out.stderr_str()
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

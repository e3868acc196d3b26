//! The `reboot` module (ansible.builtin.reboot): reboots the host and waits until it is back.
//!
//! As Ansible's action plugin does on Linux: the boot id (`boot_time_command`, by default
//! `cat /proc/sys/kernel/random/boot_id`) is read, `shutdown -r MINUTES "MSG"` (found in
//! `search_paths`, or `reboot_command`) is run, and jig then drops the host's SSH session
//! ([`crate::connection::Connection::reset`]) and polls, reconnecting each time, until the boot
//! id differs and `test_command` (`whoami`) succeeds, each within `reboot_timeout`, backing off
//! as Ansible does (1, 2, 4, 8, then 12 seconds, with jitter). Each attempt is bounded by
//! `connect_timeout`. Results: `rebooted`, `elapsed` (seconds), `changed`.
//!
//! Check mode reports the reboot without touching the host; a `local` connection is refused,
//! since it would reboot the controller.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::remote;
use super::textfile::{Stop, finish};
use super::{ArgError, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::{Cmd, ExecOutput, quote};

const DEFAULT_SEARCH_PATHS: &[&str] =
    &["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"];

/// The reboot's settings, with Ansible's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Seconds to wait for each of the boot id change and the test command.
    pub reboot_timeout: u64,
    /// Bound of each attempt while waiting (`None`: the connection's own).
    pub connect_timeout: Option<u64>,
    /// Seconds before the reboot, passed to `shutdown` in whole minutes.
    pub pre_reboot_delay: u64,
    /// Seconds to wait after the reboot command before polling.
    pub post_reboot_delay: u64,
    /// The command that must succeed after the reboot.
    pub test_command: String,
    /// The shutdown message.
    pub msg: String,
    /// The command whose output changes with each boot.
    pub boot_time_command: String,
    /// `reboot_command` as given: the program, then its arguments as shell text.
    pub reboot_command: Option<String>,
    /// Where to look for a program given without a path.
    pub search_paths: Vec<String>,
}

const KNOWN: &[&str] = &[
    "boot_time_command",
    "connect_timeout",
    "msg",
    "post_reboot_delay",
    "pre_reboot_delay",
    "reboot_command",
    "reboot_timeout",
    "search_paths",
    "test_command",
];

fn seconds(args: &ModuleArgs, name: &str, default: u64) -> Result<u64, ArgError> {
    Ok(args.int(name)?.map_or(default, |v| v.max(0) as u64))
}

impl Settings {
    /// Reads the arguments.
    pub fn from_args(args: &ModuleArgs) -> Result<Settings, ArgError> {
        args.check_known(KNOWN)?;
        let boot_time_command = args
            .str("boot_time_command")?
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "cat /proc/sys/kernel/random/boot_id".into());
        Ok(Settings {
            reboot_timeout: seconds(args, "reboot_timeout", 600)?,
            connect_timeout: args
                .int("connect_timeout")?
                .filter(|t| *t > 0)
                .map(|t| t as u64),
            pre_reboot_delay: seconds(args, "pre_reboot_delay", 0)?,
            post_reboot_delay: seconds(args, "post_reboot_delay", 0)?,
            test_command: args.str("test_command")?.unwrap_or_else(|| "whoami".into()),
            msg: args
                .str("msg")?
                .unwrap_or_else(|| "Reboot initiated by Ansible".into()),
            boot_time_command,
            reboot_command: args.str("reboot_command")?,
            search_paths: args
                .list("search_paths")?
                .unwrap_or_else(|| DEFAULT_SEARCH_PATHS.iter().map(|s| s.to_string()).collect()),
        })
    }

    /// The program to look for and the arguments (shell text) to run it with.
    pub fn command(&self) -> (String, String) {
        match &self.reboot_command {
            Some(c) => match c.split_once(' ') {
                Some((bin, rest)) => (bin.to_string(), rest.to_string()),
                None => (c.clone(), String::new()),
            },
            None => (
                "shutdown".into(),
                format!("-r {} {}", self.pre_reboot_delay / 60, quote(&self.msg)),
            ),
        }
    }
}

/// The script printing the first `search_paths` entry that has `bin` (any file type, as
/// Ansible's `find` looks), or exiting 1.
pub fn find_script(bin: &str, search_paths: &[String]) -> String {
    let mut args = vec![bin];
    args.extend(search_paths.iter().map(String::as_str));
    remote::script(
        &args,
        r#"b=$1; shift
for d in "$@"; do
  if [ -e "$d/$b" ] || [ -L "$d/$b" ]; then printf '%s' "$d/$b"; exit 0; fi
done
exit 1"#,
    )
}

/// The reboot command line: the program found, quoted, then the arguments as written.
pub fn reboot_line(program: &str, args: &str) -> String {
    let mut c = Cmd::new(program);
    if !args.is_empty() {
        c.raw(args);
    }
    c.into_string()
}

/// Python's `repr()` of a list of strings, for the "Unable to find command" message.
fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// What one wait is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    BootId,
    Test,
}

impl Wait {
    fn desc(self) -> &'static str {
        match self {
            Wait::BootId => "last boot time check",
            Wait::Test => "post-reboot test command",
        }
    }
}

/// Ansible's back-off before retry `n` (0-based): 2^n seconds, at most 12, plus up to a second.
pub fn backoff(n: u32) -> Duration {
    let jitter = f64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_millis())
            .unwrap_or(0),
    ) / 1000.0;
    let base = 2f64.powi(n.min(4) as i32).min(12.0);
    Duration::from_secs_f64(base + jitter)
}

/// One command while the host may be down: a lost or slow connection is reset and reported
/// as an error to retry.
async fn attempt(
    ctx: &ModuleContext<'_>,
    command: &str,
    limit: Duration,
) -> Result<ExecOutput, String> {
    match tokio::time::timeout(limit, remote::run(ctx, command.to_string(), None)).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => {
            ctx.conn.reset().await;
            Err(e.to_string())
        }
        Err(_) => {
            ctx.conn.reset().await;
            Err(format!("no answer within {}s", limit.as_secs()))
        }
    }
}

/// Retries `what` until it succeeds or `reboot_timeout` passes.
async fn wait_for(
    ctx: &ModuleContext<'_>,
    s: &Settings,
    what: Wait,
    previous: &str,
) -> Result<(), String> {
    let end = Instant::now() + Duration::from_secs(s.reboot_timeout);
    let mut fails = 0;
    let mut last = String::new();
    while Instant::now() < end {
        let left = end.saturating_duration_since(Instant::now());
        let limit = Duration::from_secs(s.connect_timeout.unwrap_or(60)).min(left);
        let cmd = match what {
            Wait::BootId => &s.boot_time_command,
            Wait::Test => &s.test_command,
        };
        let outcome = match attempt(ctx, cmd, limit).await {
            Err(e) => Err(e),
            Ok(out) => match what {
                Wait::BootId if out.rc != 0 => {
                    Err(format!("failed to get host boot time info, rc: {}", out.rc))
                }
                Wait::BootId => {
                    let now = out.stdout_str();
                    let now = now.trim();
                    if now.is_empty() || now == previous {
                        Err("boot time has not changed".into())
                    } else {
                        Ok(())
                    }
                }
                Wait::Test if out.rc != 0 => Err(format!(
                    "Test command failed: {} {}",
                    out.stderr_str(),
                    out.stdout_str()
                )),
                Wait::Test => Ok(()),
            },
        };
        match outcome {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        let pause = backoff(fails).min(end.saturating_duration_since(Instant::now()));
        fails += 1;
        tokio::time::sleep(pause).await;
    }
    tracing::debug!("reboot: last error before the timeout: {last}");
    Err(format!(
        "Timed out waiting for {} (timeout={})",
        what.desc(),
        s.reboot_timeout
    ))
}

/// The `reboot` module.
pub struct Reboot;

#[async_trait]
impl Module for Reboot {
    fn name(&self) -> &'static str {
        "reboot"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

fn conn_err(e: crate::connection::ConnectionError) -> Stop {
    Stop::Module(ModuleError::Connection(e))
}

fn outcome(changed: bool, rebooted: bool, elapsed: u64) -> ModuleResult {
    let mut r = ModuleResult {
        changed,
        ..ModuleResult::default()
    };
    r.set("rebooted", rebooted).set("elapsed", elapsed);
    r
}

fn failed(msg: String, rebooted: bool, elapsed: u64) -> ModuleResult {
    let mut r = outcome(false, rebooted, elapsed);
    r.failed = true;
    r.msg = Some(msg);
    r
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    if ctx.conn.kind() == "local" {
        return Ok(failed(
            "Running reboot with local connection would reboot the control node.".into(),
            false,
            0,
        ));
    }
    let s = Settings::from_args(args)?;
    if ctx.check_mode {
        return Ok(outcome(true, true, 0));
    }
    let (bin, bin_args) = s.command();
    let program = if bin.starts_with('/') {
        bin.clone()
    } else {
        let out = remote::run(ctx, find_script(&bin, &s.search_paths), None)
            .await
            .map_err(conn_err)?;
        if out.rc != 0 {
            return Err(Stop::Fail(format!(
                "Unable to find command \"{bin}\" in search paths: {}",
                py_list(&s.search_paths)
            )));
        }
        out.stdout_str()
    };
    let out = remote::run(ctx, s.boot_time_command.clone(), None)
        .await
        .map_err(conn_err)?;
    if out.rc != 0 {
        let mut r = ModuleResult::failed(format!(
            "reboot: failed to get host boot time info, rc: {}, stdout: {}, stderr: {}",
            out.rc,
            out.stdout_str(),
            out.stderr_str()
        ));
        r.set("reboot", false);
        return Ok(r);
    }
    let previous = out.stdout_str().trim().to_string();
    let line = reboot_line(&program, &bin_args);
    let sent = remote::run(ctx, line, None).await;
    let start = Instant::now();
    // The host may drop the connection before the command answers: that is the reboot.
    if let Ok(out) = &sent
        && out.rc != 0
    {
        return Ok(failed(
            format!(
                "Reboot command failed. Error was: '{}, {}'",
                out.stdout_str().trim(),
                out.stderr_str().trim()
            ),
            false,
            start.elapsed().as_secs(),
        ));
    }
    ctx.conn.reset().await;
    if s.post_reboot_delay > 0 {
        tokio::time::sleep(Duration::from_secs(s.post_reboot_delay)).await;
    }
    for what in [Wait::BootId, Wait::Test] {
        if let Err(msg) = wait_for(ctx, &s, what, &previous).await {
            return Ok(failed(msg, true, start.elapsed().as_secs()));
        }
    }
    Ok(outcome(true, true, start.elapsed().as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
    use serde_json::json;

    fn args(v: serde_json::Value) -> ModuleArgs {
        ModuleArgs::new(
            "reboot",
            v.as_object().unwrap().clone().into_iter().collect(),
        )
    }

    #[test]
    fn the_shutdown_command_is_ansibles_with_the_message_quoted() {
        let s = Settings::from_args(&args(json!({}))).unwrap();
        assert_eq!(s.reboot_timeout, 600);
        assert_eq!(s.boot_time_command, "cat /proc/sys/kernel/random/boot_id");
        assert_eq!(
            s.command(),
            (
                "shutdown".into(),
                "-r 0 'Reboot initiated by Ansible'".into()
            )
        );
        let s = Settings::from_args(&args(json!({
            "msg": HOSTILE, "pre_reboot_delay": 150, "post_reboot_delay": -3
        })))
        .unwrap();
        assert_eq!(s.post_reboot_delay, 0);
        let (bin, rest) = s.command();
        assert_eq!(
            reboot_line("/sbin/shutdown", &rest),
            format!("/sbin/shutdown -r 2 {}", quote(HOSTILE))
        );
        assert_eq!(bin, "shutdown");
        let s = Settings::from_args(&args(
            json!({"reboot_command": "/usr/bin/systemctl reboot --force"}),
        ))
        .unwrap();
        assert_eq!(
            s.command(),
            ("/usr/bin/systemctl".into(), "reboot --force".into())
        );
        assert!(Settings::from_args(&args(json!({"reboot_timeout_sec": 5}))).is_err());
        assert_eq!(
            py_list(&s.search_paths),
            "['/sbin', '/bin', '/usr/sbin', '/usr/bin', '/usr/local/sbin']"
        );
    }

    #[test]
    fn the_back_off_is_ansibles() {
        let secs: Vec<u64> = (0..6).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 12, 12]);
    }

    #[tokio::test]
    async fn the_program_is_found_in_the_search_paths_and_local_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join(HOSTILE.replace('/', "_"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("shutdown"), "").unwrap();
        let env = Env::new(dir.path());
        let ctx = env.ctx(false, false);
        let paths = vec!["/nonexistent".to_string(), bin.display().to_string()];
        let out = remote::run(&ctx, find_script("shutdown", &paths), None)
            .await
            .unwrap();
        assert_eq!(out.rc, 0);
        assert_eq!(out.stdout_str(), format!("{}/shutdown", bin.display()));
        let out = remote::run(&ctx, find_script("nope", &paths), None)
            .await
            .unwrap();
        assert_eq!(out.rc, 1);
        let r = Reboot.run(&args(json!({})), &ctx).await.unwrap();
        assert!(r.failed);
        assert_eq!(r.values["rebooted"], json!(false));
        assert!(r.msg.unwrap().contains("would reboot the control node"));
        assert_not_pwned();
    }
}

//! Running the `jig` binary from tests and reading its output.

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use assert_cmd::Command;

/// What one run of `jig` did.
pub struct Run {
    /// The exit code (`None` when killed by a signal or the timeout).
    pub code: Option<i32>,
    /// Standard output, with colour codes removed.
    pub stdout: String,
    /// Standard error, with colour codes removed.
    pub stderr: String,
}

impl Run {
    /// Both streams, for searching a message wherever jig printed it.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The last lines of both streams, to show in a failure message.
    pub fn tail(&self) -> String {
        let tail = |s: &str| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "exit code: {:?}\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}",
            self.code,
            tail(&self.stdout),
            tail(&self.stderr)
        )
    }

    /// True when jig panicked: a bug whatever the input.
    pub fn panicked(&self) -> bool {
        self.stderr.contains("panicked at") || self.stdout.contains("panicked at")
    }
}

/// Runs `jig ARGS` in `dir`, without colour, with umask 022 (as the expected trees were
/// made), killed after two minutes.
pub fn jig(dir: &Path, args: &[&str]) -> Run {
    static UMASK: Once = Once::new();
    // The umask is inherited by jig and decides the modes of files created without `mode:`.
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    UMASK.call_once(|| unsafe {
        libc::umask(0o022);
    });
    let output = Command::cargo_bin("jig")
        .expect("the jig binary is built")
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_INVENTORY")
        .env_remove("ANSIBLE_ROLES_PATH")
        .timeout(Duration::from_secs(120))
        .output()
        .expect("jig starts");
    Run {
        code: output.status.code(),
        stdout: strip_ansi(&String::from_utf8_lossy(&output.stdout)),
        stderr: strip_ansi(&String::from_utf8_lossy(&output.stderr)),
    }
}

/// `s` without ANSI escape sequences.
pub fn strip_ansi(s: &str) -> String {
    let re = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("valid regex");
    re.replace_all(s, "").into_owned()
}

/// One host's line of the `PLAY RECAP`, whitespace-normalised:
/// `host : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0`.
pub fn recap_lines(stdout: &str) -> Vec<String> {
    let re = regex::Regex::new(r"^\S+\s+:\s+ok=\d+").expect("valid regex");
    stdout
        .lines()
        .filter(|line| re.is_match(line))
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The value of `field=N` in a normalised recap line.
pub fn recap_field(line: &str, field: &str) -> Option<u32> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(field)?.strip_prefix('=')?.parse().ok())
}

#[test]
fn recap_lines_are_found_and_normalised() {
    let out = "PLAY RECAP ****\nweb01                      : ok=3    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n";
    let lines = recap_lines(out);
    assert_eq!(
        lines,
        vec!["web01 : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"]
    );
    assert_eq!(recap_field(&lines[0], "changed"), Some(1));
    assert_eq!(recap_field(&lines[0], "ok"), Some(3));
    assert_eq!(recap_field(&lines[0], "nope"), None);
}

#[test]
fn ansi_codes_are_stripped() {
    assert_eq!(strip_ansi("\x1b[0;33mchanged: [h]\x1b[0m"), "changed: [h]");
}

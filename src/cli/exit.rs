//! jig's exit statuses: what a script or CI job can rely on.
//!
//! They follow ansible-playbook's where Ansible has one (2 failed hosts, 4 unreachable hosts),
//! and give usage errors their own status, 5, so that 2 always means "a host failed" (clap
//! would otherwise exit 2 on a bad flag).

use indexmap::IndexMap;

use crate::report::HostStats;

/// The process exit status of a jig command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitCode {
    /// 0: everything ran; no host failed or was unreachable.
    Ok,
    /// 1: an error before or outside the tasks: a bad playbook, YAML, inventory, `-e` value,
    /// or a missing role or file.
    Error,
    /// 2: one or more hosts failed a task.
    HostFailed,
    /// 2 (`jig check` only): drift found, some task would change some host.
    Drift,
    /// 4: one or more hosts were unreachable, and none failed.
    HostUnreachable,
    /// 5: bad command-line usage (unknown flag, missing argument).
    Usage,
    /// 250: an unexpected internal error (a bug in jig: please report it).
    Internal,
}

impl ExitCode {
    /// The numeric status.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::Error => 1,
            ExitCode::HostFailed | ExitCode::Drift => 2,
            ExitCode::HostUnreachable => 4,
            ExitCode::Usage => 5,
            ExitCode::Internal => 250,
        }
    }

    /// The status of a finished run: failures outrank unreachable hosts.
    pub fn from_stats(stats: &IndexMap<String, HostStats>) -> Self {
        if stats.values().any(|s| s.failed > 0) {
            ExitCode::HostFailed
        } else if stats.values().any(|s| s.unreachable > 0) {
            ExitCode::HostUnreachable
        } else {
            ExitCode::Ok
        }
    }

    /// The help text listing every status (shown by `jig run --help`).
    pub const HELP: &'static str = "\
Exit status:
  0    every host ran every task without failing
  1    error before or outside the tasks (bad playbook, YAML, inventory, -e, missing role)
  2    one or more hosts failed
  4    one or more hosts were unreachable (and none failed)
  5    bad command-line usage
  250  unexpected internal error (a bug in jig: please report it)";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(failed: u32, unreachable: u32) -> HostStats {
        HostStats {
            failed,
            unreachable,
            ..HostStats::default()
        }
    }

    #[test]
    fn failures_outrank_unreachable() {
        let mut s = IndexMap::new();
        s.insert("a".to_string(), stats(0, 0));
        assert_eq!(ExitCode::from_stats(&s), ExitCode::Ok);
        s.insert("b".to_string(), stats(0, 1));
        assert_eq!(ExitCode::from_stats(&s).code(), 4);
        s.insert("c".to_string(), stats(1, 0));
        assert_eq!(ExitCode::from_stats(&s).code(), 2);
        assert_eq!(ExitCode::Usage.code(), 5);
        assert_eq!(ExitCode::Internal.code(), 250);
    }
}

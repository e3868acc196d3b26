//! `jig check`: a compliance check of the fleet against its playbooks.
//!
//! Runs the playbooks as `jig run --check --diff` does (same flags where they make sense, same
//! console output), then prints a drift summary, optionally writes the report files
//! (`--report DIR`: report.json, junit.xml, report.html, metrics.prom), and exits with a status
//! that separates the outcomes (see [`HELP`]). Every output comes from one
//! [`Collector`] fed by the event stream, beside the console (or the JSON lines).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use clap::Args;

use super::exit::ExitCode;
use super::print_error;
use super::run::{StdoutRenderer, TargetArgs, run_all};
use crate::report::Fanout;
use crate::report::model::{Collector, Report, RunMeta, Verdict};

/// `jig check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The flags `jig check` shares with `jig run`.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Write report.json, junit.xml, report.html and metrics.prom into this directory.
    ///
    /// The directory is created if missing; each file is replaced atomically (written beside
    /// it, then renamed), so node_exporter's textfile collector or a CI job never reads half a
    /// file. The files are written whatever the outcome, errors included.
    #[arg(long = "report", value_name = "DIR")]
    pub report: Option<PathBuf>,
}

/// `jig check`'s exit statuses, shown by `jig check --help` (and the README).
pub const HELP: &str = "\
Exit status (when several apply, the first listed wins):
  1    error: a task failed, or a playbook, inventory or -e value could not be loaded
  4    one or more hosts were unreachable (part of the fleet was not checked)
  2    drift: every host was checked and some task would change some host
  0    in compliance: every host was checked and nothing would change
  5    bad command-line usage
  250  unexpected internal error (a bug in jig: please report it)";

/// Runs `jig check`.
pub fn execute(args: CheckArgs) -> ExitCode {
    if let Err(code) = args.target.install_secrets() {
        return code;
    }
    let started = SystemTime::now();
    let mut stdout = StdoutRenderer::new(&args.target);
    let mut collector = Collector::new();
    let ran = {
        let mut fan = Fanout::new(vec![&mut stdout, &mut collector]);
        run_all(
            &args.target,
            &|p| crate::exec::RunOptions {
                check: true,
                diff: true,
                ..args.target.run_options(p)
            },
            &mut fan,
        )
    };
    let ended = SystemTime::now();
    let dir = args
        .target
        .playbooks
        .first()
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (git_commit, git_dirty) = git_state(dir);
    let report = collector.into_report(RunMeta {
        playbooks: args
            .target
            .playbooks
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        git_commit,
        git_dirty,
        started,
        ended,
        errors: ran.error.into_iter().collect(),
    });
    match &mut stdout {
        StdoutRenderer::Console(c, _) => c.drift_summary(&report),
        StdoutRenderer::Json(j) => j.check_summary(&report),
    }
    if let Some(dir) = &args.report
        && let Err(e) = crate::report::files::write_reports(dir, &report)
    {
        print_error(&format!(
            "{e}; the check's outcome was {:?} (exit status {})",
            report.verdict, report.exit_code
        ));
        return ExitCode::Error;
    }
    match ran.code {
        // The run could not even start the way a check needs.
        ExitCode::Usage | ExitCode::Internal => ran.code,
        _ => exit_code(&report),
    }
}

/// The exit status a report's verdict gives.
pub fn exit_code(report: &Report) -> ExitCode {
    match report.verdict {
        Verdict::Compliant => ExitCode::Ok,
        Verdict::Drift => ExitCode::Drift,
        Verdict::Unreachable => ExitCode::HostUnreachable,
        Verdict::Error => ExitCode::Error,
    }
}

/// The commit checked out in `dir`'s git repository, and whether tracked files have
/// uncommitted changes; both `None` outside a repository (or without git).
pub fn git_state(dir: &Path) -> (Option<String>, Option<bool>) {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "--verify", "HEAD"]).filter(|c| !c.is_empty()) else {
        return (None, None);
    };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
    (Some(commit), dirty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_state_names_the_commit_and_uncommitted_changes() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(git_state(dir.path()), (None, None));
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
                .output()
                .unwrap();
            assert!(ok.status.success(), "{ok:?}");
            String::from_utf8(ok.stdout).unwrap()
        };
        git(&["init", "-q"]);
        // A repository without commits has no HEAD to name.
        assert_eq!(git_state(dir.path()), (None, None));
        std::fs::write(dir.path().join("site.yml"), "- hosts: all\n").unwrap();
        git(&["add", "site.yml"]);
        git(&["commit", "-q", "-m", "x"]);
        let head = git(&["rev-parse", "HEAD"]).trim().to_string();
        assert_eq!(git_state(dir.path()), (Some(head.clone()), Some(false)));
        std::fs::write(dir.path().join("site.yml"), "- hosts: web\n").unwrap();
        assert_eq!(git_state(dir.path()), (Some(head), Some(true)));
    }
}

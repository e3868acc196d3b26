//! `junit.xml`: the [`Report`] as JUnit XML (written by the `quick-junit` crate), for CI
//! systems that show test results.
//!
//! One test suite per host, one test case per host x task (class name: the host). A task that
//! would change the host is a `<failure type="drift">` whose message is the diff (the element's
//! text repeats it with the managed path and changed lines, since XML readers fold newlines in
//! attributes); a failed task is an `<error type="failed">`, an unreachable host an
//! `<error type="unreachable">`, a skipped task `<skipped>`. Each case's system-out names the
//! task's source file:line.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use super::Status;
use super::model::{HostReport, HostStatus, Report, TaskRecord};

/// The report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut junit = Junit::new("jig check");
    junit.set_time(Duration::from_secs_f64(report.duration_seconds.max(0.0)));
    for host in &report.hosts {
        junit.add_test_suite(suite(host));
    }
    junit.to_string().unwrap_or_else(|e| {
        // Only an I/O error of the in-memory writer could get here.
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- junit.xml could not be written: {e} -->\n")
    })
}

fn suite(host: &HostReport) -> TestSuite {
    let mut suite = TestSuite::new(host.name.as_str());
    suite.set_time(Duration::from_secs_f64(
        host.tasks
            .iter()
            .map(|t| t.duration_seconds)
            .sum::<f64>()
            .max(0.0),
    ));
    for t in &host.tasks {
        suite.add_test_case(case(&host.name, t));
    }
    if host.tasks.is_empty() && matches!(host.status, HostStatus::Failed | HostStatus::Unreachable)
    {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_type(if host.status == HostStatus::Failed {
            "failed"
        } else {
            "unreachable"
        });
        status.set_message(format!("{} is {}", host.name, host.status.word()));
        let mut c = TestCase::new("(host)", status);
        c.set_classname(host.name.as_str());
        suite.add_test_case(c);
    }
    suite
}

fn case(host: &str, t: &TaskRecord) -> TestCase {
    let status = match t.status {
        Status::Changed => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type("drift");
            let diff: String = t.changes.iter().map(|c| c.diff.as_str()).collect();
            s.set_message(if diff.is_empty() {
                "would change (no diff)".to_string()
            } else {
                diff
            });
            s.set_description(drift_text(t));
            s
        }
        Status::Failed | Status::Unreachable => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            let kind = if t.status == Status::Failed {
                "failed"
            } else {
                "unreachable"
            };
            s.set_type(kind);
            s.set_message(t.msg.clone().unwrap_or_else(|| kind.to_string()));
            s
        }
        Status::Skipped => TestCaseStatus::skipped(),
        Status::Ok | Status::Ignored => TestCaseStatus::success(),
    };
    let mut c = TestCase::new(t.task.as_str(), status);
    c.set_classname(host);
    c.set_time(Duration::from_secs_f64(t.duration_seconds.max(0.0)));
    c.set_system_out(format!("source: {}\n", t.source));
    c
}

/// Each change as `path:lines` followed by its diff.
fn drift_text(t: &TaskRecord) -> String {
    let mut out = String::new();
    for c in &t.changes {
        let lines = c
            .lines
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let path = c.path.as_deref().unwrap_or("(unknown path)");
        if lines.is_empty() {
            out.push_str(&format!("{path}\n"));
        } else {
            out.push_str(&format!("{path}:{lines}\n"));
        }
        if let Some(item) = &c.item {
            out.push_str(&format!("item: {item}\n"));
        }
        out.push_str(&c.diff);
        if !c.diff.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

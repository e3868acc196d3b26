//! `metrics.prom`: the [`Report`] in Prometheus' text exposition format, for node_exporter's
//! textfile collector (which reads the file while jig may be replacing it: the file is
//! written atomically by [`super::files`]).
//!
//! Gauges, each with `# HELP` and `# TYPE` lines:
//! `jig_drift_tasks{host}` (tasks that would change the host), `jig_unreachable{host}` (1 when
//! the host could not be reached, else 0), `jig_failed_tasks{host}`, `jig_hosts{status}` (hosts
//! per status), `jig_check_verdict_code` (the exit status), `jig_last_run_timestamp_seconds`
//! (when the run ended) and `jig_run_duration_seconds`.

use std::fmt::Write as _;

use super::model::{HostStatus, Report};

/// The report as Prometheus text exposition format.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let per_host = |f: &dyn Fn(&super::model::HostReport) -> u32| -> Vec<(String, String)> {
        report
            .hosts
            .iter()
            .map(|h| {
                (
                    format!("{{host=\"{}\"}}", escape(&h.name)),
                    f(h).to_string(),
                )
            })
            .collect()
    };
    gauge(
        "jig_drift_tasks",
        "Tasks that would change the host, at the last jig check.",
        per_host(&|h| h.drift_tasks),
    );
    gauge(
        "jig_unreachable",
        "1 if the host could not be reached at the last jig check, else 0.",
        per_host(&|h| u32::from(h.status == HostStatus::Unreachable)),
    );
    gauge(
        "jig_failed_tasks",
        "Tasks that failed on the host at the last jig check.",
        per_host(&|h| h.stats.failed),
    );
    let s = &report.summary;
    gauge(
        "jig_hosts",
        "Hosts per status at the last jig check.",
        [
            ("compliant", s.compliant),
            ("drifted", s.drifted),
            ("unreachable", s.unreachable),
            ("failed", s.failed),
        ]
        .iter()
        .map(|(k, v)| (format!("{{status=\"{k}\"}}"), v.to_string()))
        .collect(),
    );
    gauge(
        "jig_check_exit_code",
        "Exit status of the last jig check (0 compliant, 2 drift, 4 unreachable, 1 error).",
        vec![(String::new(), report.exit_code.to_string())],
    );
    gauge(
        "jig_last_run_timestamp_seconds",
        "Unix time the last jig check ended.",
        vec![(String::new(), number(report.ended_at.unix_seconds()))],
    );
    gauge(
        "jig_run_duration_seconds",
        "Wall time of the last jig check, in seconds.",
        vec![(String::new(), number(report.duration_seconds))],
    );
    out
}

/// A label value as the exposition format quotes it: backslash, double quote and newline
/// escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A float with millisecond precision and no exponent.
fn number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_numbers_are_spelled_for_prometheus() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(1_795_739_542.0), "1795739542");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.0004), "0");
    }
}

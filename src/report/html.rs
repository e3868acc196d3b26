//! `report.html`: the [`Report`] as one self-contained page a person would rather look at than
//! read: inline CSS, no script, no network.
//!
//! The fleet summary comes first (hosts in compliance, drifted, unreachable, failed; each
//! count in an element with a stable id, `sum-compliant`, `sum-drifted`, `sum-unreachable`,
//! `sum-failed`, `sum-hosts`, `sum-drift-tasks`, which tests and scrapers read), then the drift
//! list, then every host, drifted hosts first, with each change's diff highlighted line by
//! line. Every text from the run is HTML-escaped.

use std::fmt::Write as _;

use super::Status;
use super::model::{Change, HostReport, HostStatus, Report, TaskRecord, Verdict};

const STYLE: &str = "
:root{--ok:#1a7f37;--drift:#9a6700;--bad:#cf222e;--unr:#8250df;--mute:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:26px}h2{font-size:19px;margin:28px 0 10px}h3{font-size:15px;margin:0}
.meta{color:var(--mute);margin:0 0 18px}.meta code{font-size:13px}
.verdict{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.v-compliant{background:var(--ok)}.v-drift{background:var(--drift)}.v-unreachable{background:var(--unr)}.v-error{background:var(--bad)}
.summary{display:grid;grid-template-columns:repeat(4,1fr);gap:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px;border-top:5px solid var(--mute)}
.card .num{display:block;font-size:34px;font-weight:700;line-height:1.1}
.card.compliant{border-top-color:var(--ok)}.card.drifted{border-top-color:var(--drift)}
.card.unreachable{border-top-color:var(--unr)}.card.failed{border-top-color:var(--bad)}
.totals{color:var(--mute);margin:10px 0 0}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f0f3f6;font-weight:600}
.host{background:#fff;border:1px solid var(--line);border-left:6px solid var(--mute);border-radius:8px;padding:12px 16px;margin:14px 0}
.host.drifted{border-left-color:var(--drift)}.host.failed{border-left-color:var(--bad)}
.host.unreachable{border-left-color:var(--unr)}.host.compliant{border-left-color:var(--ok)}
.badge{font-size:12px;font-weight:600;padding:1px 8px;border-radius:10px;color:#fff;vertical-align:middle;background:var(--mute)}
.badge.drifted,.badge.changed{background:var(--drift)}.badge.failed{background:var(--bad)}
.badge.unreachable{background:var(--unr)}.badge.compliant,.badge.ok{background:var(--ok)}
.stats{color:var(--mute);font-size:13px;margin:4px 0 8px}
.task{border-top:1px solid var(--line);padding:10px 0}
.src{color:var(--mute);font-size:13px;margin:2px 0 6px}
.msg{white-space:pre-wrap;color:var(--bad)}
pre.diff{background:#fbfcfd;border:1px solid var(--line);border-radius:6px;padding:8px 0;overflow-x:auto;font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;margin:6px 0}
pre.diff span{display:block;padding:0 10px;white-space:pre}
.add{background:#dafbe1;color:#116329}.del{background:#ffebe9;color:#a40e26}
.hunk{color:#0550ae;background:#ddf4ff}.hdr{color:var(--mute);font-weight:600}
details summary{cursor:pointer;color:var(--mute);margin:6px 0}
.empty{color:var(--ok);font-weight:600}
";

/// The report as one HTML page.
pub fn render(report: &Report) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let s = &report.summary;
    let title = match report.verdict {
        Verdict::Compliant => format!("all {} hosts in compliance", s.hosts),
        Verdict::Drift => format!("drift on {} of {} hosts", s.drifted, s.hosts),
        Verdict::Unreachable => format!("{} of {} hosts unreachable", s.unreachable, s.hosts),
        Verdict::Error => "errors".to_string(),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
         <meta name=\"generator\" content=\"jig {}\">\n\
         <title>jig check: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&report.jig_version),
        esc(&title)
    );
    header(&mut h, report, &title);
    summary(&mut h, report);
    problems(&mut h, report);
    drift_list(&mut h, report);
    let _ = writeln!(h, "<h2>Hosts</h2>\n<section id=\"hosts\">");
    for host in &report.hosts {
        host_section(&mut h, host);
    }
    h.push_str("</section>\n</main>\n</body>\n</html>\n");
    h
}

fn header(h: &mut String, report: &Report, title: &str) {
    let verdict = match report.verdict {
        Verdict::Compliant => "compliant",
        Verdict::Drift => "drift",
        Verdict::Unreachable => "unreachable",
        Verdict::Error => "error",
    };
    let _ = write!(
        h,
        "<header>\n<h1>jig check <span class=\"verdict v-{verdict}\" id=\"verdict\" \
         data-exit-code=\"{}\">{}</span></h1>\n<p class=\"meta\">",
        report.exit_code,
        esc(title)
    );
    let books: Vec<String> = report
        .playbooks
        .iter()
        .map(|p| format!("<code>{}</code>", esc(p)))
        .collect();
    let _ = write!(h, "{}", books.join(", "));
    match &report.git_commit {
        Some(c) => {
            let dirty = if report.git_dirty == Some(true) {
                " (uncommitted changes)"
            } else {
                ""
            };
            let _ = write!(h, " · commit <code id=\"commit\">{}</code>{dirty}", esc(c));
        }
        None => h.push_str(" · not a git repository"),
    }
    let _ = writeln!(
        h,
        " · started {} · {:.1} s · exit status {}</p>\n</header>",
        esc(&report.started_at.rfc3339()),
        report.duration_seconds,
        report.exit_code
    );
}

fn summary(h: &mut String, report: &Report) {
    let s = &report.summary;
    h.push_str("<section id=\"summary\" class=\"summary\">\n");
    for (class, id, n, label) in [
        ("compliant", "sum-compliant", s.compliant, "in compliance"),
        ("drifted", "sum-drifted", s.drifted, "drifted"),
        (
            "unreachable",
            "sum-unreachable",
            s.unreachable,
            "unreachable",
        ),
        ("failed", "sum-failed", s.failed, "failed"),
    ] {
        let _ = writeln!(
            h,
            "<div class=\"card {class}\"><span class=\"num\" id=\"{id}\">{n}</span>{label}</div>"
        );
    }
    let _ = writeln!(
        h,
        "</section>\n<p class=\"totals\"><span id=\"sum-hosts\">{}</span> hosts, \
         <span id=\"sum-drift-tasks\">{}</span> tasks would change.</p>",
        s.hosts, s.drift_tasks
    );
}

fn problems(h: &mut String, report: &Report) {
    if !report.errors.is_empty() {
        h.push_str("<h2>Errors</h2>\n<section id=\"errors\">\n");
        for e in &report.errors {
            let _ = writeln!(h, "<pre class=\"msg\">{}</pre>", esc(e));
        }
        h.push_str("</section>\n");
    }
    if !report.warnings.is_empty() {
        h.push_str("<details id=\"warnings\"><summary>Warnings</summary><ul>\n");
        for w in &report.warnings {
            let _ = writeln!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul></details>\n");
    }
}

fn drift_list(h: &mut String, report: &Report) {
    h.push_str("<h2>Drift</h2>\n");
    if report.drift.is_empty() {
        h.push_str("<p class=\"empty\" id=\"drift\">No drift: nothing would change.</p>\n");
        return;
    }
    h.push_str(
        "<table id=\"drift\">\n<thead><tr><th>Host</th><th>Task</th><th>Source</th>\
         <th>Changed</th></tr></thead>\n<tbody>\n",
    );
    for d in &report.drift {
        let item = d
            .item
            .as_ref()
            .map(|i| format!(" <small>(item={})</small>", esc(i)))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr class=\"drift-row\"><td><a href=\"#host-{}\">{}</a></td><td>{}{item}</td>\
             <td><code>{}</code></td><td><code>{}</code></td></tr>",
            anchor(&d.host),
            esc(&d.host),
            esc(&d.task),
            esc(&d.source.to_string()),
            esc(&d.location())
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

fn host_section(h: &mut String, host: &HostReport) {
    let status = host.status.word();
    let st = &host.stats;
    let _ = writeln!(
        h,
        "<article class=\"host {status}\" id=\"host-{}\" data-status=\"{status}\">\n\
         <h2>{} <span class=\"badge {status}\">{status}</span></h2>\n\
         <p class=\"stats\">ok={} changed={} unreachable={} failed={} skipped={} rescued={} \
         ignored={}</p>",
        anchor(&host.name),
        esc(&host.name),
        st.ok,
        st.changed,
        st.unreachable,
        st.failed,
        st.skipped,
        st.rescued,
        st.ignored
    );
    for t in host.tasks.iter().filter(|t| {
        matches!(
            t.status,
            Status::Changed | Status::Failed | Status::Unreachable
        )
    }) {
        task_section(h, t);
    }
    if host.status == HostStatus::Compliant {
        h.push_str("<p class=\"empty\">In compliance.</p>\n");
    }
    let _ = writeln!(
        h,
        "<details><summary>All {} tasks</summary>\n<table>\n<thead><tr><th>Task</th>\
         <th>Status</th><th>Source</th><th>Time</th></tr></thead>\n<tbody>",
        host.tasks.len()
    );
    for t in &host.tasks {
        let word = status_word(t.status);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><span class=\"badge {word}\">{word}</span></td>\
             <td><code>{}</code></td><td>{:.2} s</td></tr>",
            esc(&t.task),
            esc(&t.source.to_string()),
            t.duration_seconds
        );
    }
    h.push_str("</tbody>\n</table>\n</details>\n</article>\n");
}

fn task_section(h: &mut String, t: &TaskRecord) {
    let word = status_word(t.status);
    let shown = if t.status == Status::Changed {
        "would change"
    } else {
        word
    };
    let _ = writeln!(
        h,
        "<div class=\"task {word}\">\n<h3>{} <span class=\"badge {word}\">{shown}</span></h3>\n\
         <p class=\"src\">task at <code>{}</code></p>",
        esc(&t.task),
        esc(&t.source.to_string())
    );
    if t.status != Status::Changed
        && let Some(msg) = &t.msg
    {
        let _ = writeln!(h, "<pre class=\"msg\">{}</pre>", esc(msg));
    }
    for c in &t.changes {
        change_section(h, c);
    }
    h.push_str("</div>\n");
}

fn change_section(h: &mut String, c: &Change) {
    let lines = c
        .lines
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut place = c.path.clone().unwrap_or_default();
    if !lines.is_empty() {
        place = format!("{place}:{lines}");
    }
    if let Some(item) = &c.item {
        place = format!("{place} (item={item})");
    }
    if !place.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"src\">changes <code>{}</code></p>",
            esc(&place)
        );
    }
    h.push_str("<pre class=\"diff\">");
    let mut in_hunk = false;
    for line in c.diff.lines() {
        let class = if line.starts_with("@@") {
            in_hunk = true;
            "hunk"
        } else if !in_hunk && (line.starts_with("--- ") || line.starts_with("+++ ")) {
            "hdr"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else {
            "ctx"
        };
        let _ = write!(h, "<span class=\"{class}\">{}</span>", esc(line));
    }
    h.push_str("</pre>\n");
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Changed => "changed",
        Status::Skipped => "skipped",
        Status::Failed => "failed",
        Status::Ignored => "ignored",
        Status::Unreachable => "unreachable",
    }
}

/// Text made safe for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A host name as an id fragment: letters, digits, `-`, `_`, `.` kept, anything else as
/// `_XX` hex bytes (so distinct names stay distinct).
fn anchor(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.') {
            out.push(b as char);
        } else {
            let _ = write!(out, "_{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_anchors_stay_distinct() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(anchor("web-1.example"), "web-1.example");
        assert_ne!(anchor("a b"), anchor("a_b"));
        assert_eq!(anchor("é\""), "_C3_A9_22");
    }
}

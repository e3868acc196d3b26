//! `--output json`: the event stream as JSON lines on stdout, one object per event, for CI.
//!
//! Every line is an object with `"schema": "jig.events/1"` and an `"event"` naming its kind
//! (`playbook_start`, `play_start`, `task_start`, `item`, `result`, `retry`, `included`,
//! `no_hosts`, `warning`, `recap`; `jig check` ends with `check`). docs/report-schema.md
//! documents each. Lines are flushed as they are written, so a consumer sees a run live.

use std::io::Write;

use serde_json::{Map, Value as Json, json};

use super::model::{Report, Source, changes_of};
use super::{Event, Renderer, Status, TaskResult};

/// The version of the JSON lines' schema.
pub const SCHEMA: &str = "jig.events/1";

/// Which renderer shows a run on stdout (`--output`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// ansible-playbook's output.
    #[default]
    Console,
    /// One JSON object per event, per line.
    Json,
}

/// Writes each event as one JSON line.
pub struct JsonLines {
    out: Box<dyn Write + Send>,
    task: Option<String>,
}

impl JsonLines {
    /// A renderer writing to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        JsonLines { out, task: None }
    }

    /// A renderer writing to the process's stdout.
    pub fn stdout() -> Self {
        JsonLines::new(Box::new(std::io::stdout()))
    }

    fn line(&mut self, event: &str, fields: Json) {
        let mut m = Map::new();
        m.insert("schema".into(), json!(SCHEMA));
        m.insert("event".into(), json!(event));
        if let Json::Object(f) = fields {
            m.extend(f);
        }
        let mut text = Json::Object(m).to_string();
        text.push('\n');
        // A closed stdout (`| head`) must not abort the run.
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    fn result(&mut self, r: &TaskResult, event: &str) {
        let changes: Vec<Json> = if r.status == Status::Changed {
            changes_of(r)
                .into_iter()
                .map(|c| serde_json::to_value(c).unwrap_or(Json::Null))
                .collect()
        } else {
            Vec::new()
        };
        let mut f = json!({
            "host": r.host,
            "task": self.task,
            "status": r.status,
            "changed": r.status == Status::Changed,
            "delegated_to": r.delegated_to,
            "item": r.item_label,
            "msg": r.msg,
            "changes": changes,
            "result": r.result,
        });
        if let (Some(d), Json::Object(m)) = (&r.debug_output, &mut f) {
            m.insert("debug".into(), d.clone());
        }
        self.line(event, f);
    }

    /// The closing line of `jig check`: its verdict, exit status, fleet summary and drift list.
    pub fn check_summary(&mut self, report: &Report) {
        self.line(
            "check",
            json!({
                "verdict": report.verdict,
                "exit_code": report.exit_code,
                "summary": report.summary,
                "drift": report.drift,
                "git_commit": report.git_commit,
            }),
        );
    }
}

impl Renderer for JsonLines {
    fn event(&mut self, event: &Event) {
        match event {
            Event::PlaybookStart { path, plays } => self.line(
                "playbook_start",
                json!({ "path": path.display().to_string(), "plays": plays }),
            ),
            Event::PlayStart { name, hosts } => {
                self.task = None;
                self.line("play_start", json!({ "name": name, "hosts": hosts }));
            }
            Event::TaskStart { name, pos, handler } => {
                self.task = Some(name.clone());
                let src = Source {
                    file: pos.file.as_ref().map(|f| f.display().to_string()),
                    line: pos.line,
                };
                self.line(
                    "task_start",
                    json!({ "task": name, "source": src, "handler": handler }),
                );
            }
            Event::Result(r) if r.item_label.is_some() => self.result(r, "item"),
            Event::Result(r) => self.result(r, "result"),
            Event::LoopDone(r) => self.result(r, "result"),
            Event::Retry {
                task,
                retries_left,
                attempt,
            } => self.line(
                "retry",
                json!({ "host": attempt.host, "task": task, "retries_left": retries_left,
                        "msg": attempt.msg }),
            ),
            Event::NoHosts { reason } => self.line("no_hosts", json!({ "reason": reason })),
            Event::Included {
                file,
                hosts,
                item_label,
            } => self.line(
                "included",
                json!({ "file": file, "hosts": hosts, "item": item_label }),
            ),
            Event::Warning { message } => self.line("warning", json!({ "message": message })),
            Event::Recap { stats, elapsed } => self.line(
                "recap",
                json!({ "stats": stats, "elapsed_seconds": elapsed.as_secs_f64() }),
            ),
        }
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}

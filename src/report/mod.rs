//! The report layer: one stream of [`Event`]s, and renderers that show it.
//!
//! The executor emits events; modules never print. Renderers (the console, JSON lines, and the
//! [`model::Collector`] behind `jig check --report`'s files) subscribe to the same stream, so
//! every output tells the same story. Secrets are redacted before an event is built, never by
//! a renderer.

pub mod console;
pub mod fanout;
pub mod files;
pub mod html;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod pyfmt;
pub mod redact;

pub use fanout::Fanout;

use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::modules::Diff;
use crate::yaml::Pos;

/// The outcome of one task on one host (or one loop item).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing needed changing.
    Ok,
    /// The host changed (or would change, in check mode).
    Changed,
    /// The task did not run (`when` false, or check mode for `command`).
    Skipped,
    /// The task failed.
    Failed,
    /// The task failed but `ignore_errors` let the play go on.
    Ignored,
    /// The host could not be reached.
    Unreachable,
}

/// Per-host totals for the `PLAY RECAP`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HostStats {
    /// `ok=` (includes changed, as Ansible counts).
    pub ok: u32,
    /// `changed=`.
    pub changed: u32,
    /// `unreachable=`.
    pub unreachable: u32,
    /// `failed=`.
    pub failed: u32,
    /// `skipped=`.
    pub skipped: u32,
    /// `rescued=`.
    pub rescued: u32,
    /// `ignored=`.
    pub ignored: u32,
    /// Commands check mode skipped that a real run would run (`command`/`shell` without
    /// `creates`/`removes`), also counted in `skipped`. Shown in the recap only when non-zero,
    /// which only check mode makes it; likewise left out of JSON when zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub would_run: u32,
}

impl std::ops::AddAssign<&HostStats> for HostStats {
    /// Adds another run's totals, as the one recap of several playbooks does.
    fn add_assign(&mut self, o: &HostStats) {
        self.ok += o.ok;
        self.changed += o.changed;
        self.unreachable += o.unreachable;
        self.failed += o.failed;
        self.skipped += o.skipped;
        self.rescued += o.rescued;
        self.ignored += o.ignored;
        self.would_run += o.would_run;
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The result of one task on one host, ready to show.
#[derive(Clone, Debug)]
pub struct TaskResult {
    /// Inventory host name.
    pub host: String,
    /// The host the task was delegated to, if any (`ok: [web1 -> localhost]`).
    pub delegated_to: Option<String>,
    /// Outcome.
    pub status: Status,
    /// The loop item's label, when this is one item of a loop.
    pub item_label: Option<String>,
    /// The message (`msg`), already redacted.
    pub msg: Option<String>,
    /// Diffs to show under `--diff`, already redacted.
    pub diffs: Vec<Diff>,
    /// The full result as registered (for `-v` and for `debug`), already redacted.
    /// For `no_log` tasks this is replaced by the censored notice.
    pub result: serde_json::Map<String, Json>,
    /// For `debug`: the value to print under the host line. An object is printed as is
    /// (`{"msg": "..."}` for `msg:`, `{"var_name": value}` for `var:`); any other value is
    /// printed as `{"msg": value}`. The console always shows it, indented, as Ansible does.
    pub debug_output: Option<Json>,
    /// For a failed, ignored or unreachable result: the cause the console names in 2.19's
    /// `[ERROR]: Task failed: ...` block (`None`: the message in `msg`, found by the task).
    pub error: Option<TaskError>,
    /// The task has `ignore_unreachable`: an unreachable result is followed by `...ignoring`.
    pub ignore_unreachable: bool,
}

/// Where a failure was found, which 2.19 names in front of its message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureSource {
    /// The controller-side action decided (`fail`, `assert`, `failed_when`, an `until` that
    /// never held): `Task failed: Action failed: <msg>`.
    #[default]
    Action,
    /// The module on the host reported the failure: `Task failed: Module failed: <msg>`.
    Module,
    /// The task could not run at all (a template, a loop, the connection): `Task failed: <msg>`.
    Task,
}

/// Why a task failed, as the `[ERROR]` block shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskError {
    /// Who found the failure.
    pub source: FailureSource,
    /// The failure's message (`None` when the result has none). 2.19 shows it even for a
    /// `no_log` task, whose result is censored: only the result is secret, not why it failed.
    pub message: Option<String>,
}

impl TaskError {
    /// The text after `[ERROR]: `, as 2.19 chains its messages: `Task failed: Action failed:
    /// boom`, `Task failed: Action failed.` for an empty message, and a part that already ends
    /// with the rest is not repeated.
    pub fn headline(&self) -> String {
        let mut parts = vec!["Task failed."];
        let missing = match self.source {
            FailureSource::Action => {
                parts.push("Action failed.");
                "Unknown error."
            }
            FailureSource::Module => {
                parts.push("Module failed.");
                "Unknown error."
            }
            FailureSource::Task => "",
        };
        parts.push(self.message.as_deref().unwrap_or(missing));
        chain_messages(&parts)
    }
}

/// ansible-core's `deduplicate_message_parts`: joins an error and its causes, outermost first,
/// as `outer: inner`, except that a part ending with what follows replaces it.
fn chain_messages(parts: &[&str]) -> String {
    let mut rev = parts.iter().rev();
    let mut message = rev.next().map(|s| s.to_string()).unwrap_or_default();
    for part in rev {
        message = if part.ends_with(message.as_str()) {
            part.to_string()
        } else {
            format!("{}: {message}", part.trim_end_matches(['.', ' ']))
        };
    }
    message
}

/// Everything the report layer can be told.
#[derive(Clone, Debug)]
pub enum Event {
    /// A playbook is about to run. The CLI sends it before each playbook it hands to the
    /// executor (several playbooks share one run): the console shows ansible-playbook's `-vv`
    /// header from it, the JSON stream and the reports name the playbook.
    PlaybookStart {
        /// The playbook file as given on the command line.
        path: std::path::PathBuf,
        /// How many plays it has.
        plays: usize,
    },
    /// A play begins.
    PlayStart {
        /// The play's name (templated) or its host pattern.
        name: String,
        /// The hosts it matched.
        hosts: Vec<String>,
    },
    /// A task (or handler) begins on the current batch of hosts.
    TaskStart {
        /// The task's name, with the role prefix (`nginx : install`).
        name: String,
        /// Where it is written.
        pos: Pos,
        /// This is a handler (`RUNNING HANDLER`).
        handler: bool,
    },
    /// A task finished on one host (or one loop item).
    Result(TaskResult),
    /// An attempt of a task with `until`/`retries` did not succeed and the task runs again on
    /// that host: 2.19's `FAILED - RETRYING: [host]: name (N retries left).`
    Retry {
        /// The task's name as written (templated, without the role prefix), or its action.
        task: String,
        /// Attempts still allowed after this one.
        retries_left: u64,
        /// The failed attempt (its result censored under `no_log`), shown from `-vvv`.
        attempt: TaskResult,
    },
    /// A loop finished on one host: the aggregated status of all items. The console shows
    /// the diffs of the changed items (sent with their `Result`s) here, as Ansible does,
    /// and nothing else unless the loop was skipped, ignored or unreachable.
    LoopDone(TaskResult),
    /// A play has no hosts left, or matched none.
    NoHosts {
        /// Why: "no hosts matched" (shown as `skipping: no hosts matched`) or "no more hosts
        /// left" (shown as the `NO MORE HOSTS LEFT` banner).
        reason: String,
    },
    /// `include_tasks` loaded a task file for some hosts; shown as Ansible shows it:
    /// `included: /abs/path/file.yml for web1, web2` (with ` => (item=label)` when looped).
    Included {
        /// The file included, absolute.
        file: String,
        /// The hosts it was included for, in order.
        hosts: Vec<String>,
        /// The loop item's label, when the include is looped.
        item_label: Option<String>,
    },
    /// Something the user should know that is not a failure.
    Warning {
        /// The text.
        message: String,
    },
    /// The run ended.
    Recap {
        /// Per-host totals, in inventory order.
        stats: IndexMap<String, HostStats>,
        /// Wall time of the run.
        elapsed: Duration,
    },
}

/// Something that shows events: the console, a JSON file, a JUnit file...
pub trait Renderer: Send {
    /// Shows one event.
    fn event(&mut self, event: &Event);
    /// Flushes what is buffered at the end of the run.
    fn finish(&mut self) {}
}

/// A borrowed renderer renders, so wrappers (`RecapMerger`, [`Fanout`]) can hold one the
/// caller keeps and reads afterwards.
impl<R: Renderer + ?Sized> Renderer for &mut R {
    fn event(&mut self, event: &Event) {
        (**self).event(event);
    }

    fn finish(&mut self) {
        (**self).finish();
    }
}

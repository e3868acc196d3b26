//! The compliance report's data model, collected from the event stream.
//!
//! A [`Collector`] is a [`Renderer`]: it listens to the same events as the console and keeps,
//! per host x task, the status, the diffs (with the managed path and the changed line numbers
//! parsed from each diff's hunks), the task's source file:line and how long the task took on
//! the host. [`Collector::into_report`] turns that into one [`Report`], which every report
//! file renders (`json`, `junit`, `html`, `metrics`). Nothing here reads anything but events,
//! so whatever the event stream redacts stays redacted in every report.
//!
//! The model describes a check run: a task that would change a host is *drift*.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indexmap::{IndexMap, IndexSet};
use serde::Serialize;
use serde_json::Value as Json;

use super::{Event, HostStats, Renderer, Status, TaskResult};
use crate::modules::Diff;
use crate::yaml::Pos;

/// The version of `report.json`'s schema (docs/report-schema.md). A change that removes or
/// renames a field gets a new version; adding a field does not.
pub const SCHEMA: &str = "jig.report/1";

/// The outcome of a whole check, from best to worst; the worst one found is the run's.
///
/// Its order is the precedence of `jig check`'s exit statuses: an error (a failed task, a
/// playbook that does not load) means the check itself cannot be trusted; an unreachable host
/// means part of the fleet was not checked at all; drift means every host was checked and some
/// differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every host was reached and nothing would change: exit status 0.
    Compliant,
    /// Some task would change some host: exit status 2.
    Drift,
    /// Some host could not be reached (and nothing failed): exit status 4.
    Unreachable,
    /// A task failed or the run could not load its files: exit status 1.
    Error,
}

impl Verdict {
    /// `jig check`'s exit status for this verdict.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Compliant => 0,
            Verdict::Drift => 2,
            Verdict::Unreachable => 4,
            Verdict::Error => 1,
        }
    }
}

/// Where a host stands after the check, worst first when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    /// A task failed on the host (not ignored, not rescued).
    Failed,
    /// The host could not be reached.
    Unreachable,
    /// Some task would change the host.
    Drifted,
    /// Nothing would change.
    Compliant,
}

impl HostStatus {
    /// The status as `report.json` spells it (`failed`, `unreachable`, `drifted`,
    /// `compliant`).
    pub fn word(self) -> &'static str {
        match self {
            HostStatus::Failed => "failed",
            HostStatus::Unreachable => "unreachable",
            HostStatus::Drifted => "drifted",
            HostStatus::Compliant => "compliant",
        }
    }

    /// The order hosts are listed in a report: drifted hosts first, then failed, unreachable
    /// and compliant ones (the ones a reader must act on first).
    pub fn rank(self) -> u8 {
        match self {
            HostStatus::Drifted => 0,
            HostStatus::Failed => 1,
            HostStatus::Unreachable => 2,
            HostStatus::Compliant => 3,
        }
    }
}

/// Where a task is written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The file, as the playbook loader named it (`None` for tasks jig made itself, such as
    /// fact gathering).
    pub file: Option<String>,
    /// The line (1-based; 0 when unknown).
    pub line: u32,
}

impl Source {
    fn of(pos: &Pos) -> Source {
        Source {
            file: pos.file.as_ref().map(|f| f.display().to_string()),
            line: pos.line,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(file) if self.line > 0 => write!(f, "{file}:{}", self.line),
            Some(file) => write!(f, "{file}"),
            None => write!(f, "(no file)"),
        }
    }
}

/// What kind of change a [`Change`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// File content: `before`/`after` are the texts, `lines` the changed lines.
    Content,
    /// Attributes (mode, owner, state, link target...): `before`/`after` are field maps.
    Attributes,
    /// A change only summarised (binary or large content): `diff` is the summary.
    Summary,
}

/// One change a task would make on a host (one diff of its result).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The loop item's label, when the change belongs to one item of a loop.
    pub item: Option<String>,
    /// What kind of change.
    pub kind: ChangeKind,
    /// The managed path (the task's `dest`/`path`, else the diff's header), when known.
    pub path: Option<String>,
    /// The change as a unified diff (no colour), or the summary.
    pub diff: String,
    /// Line numbers in the host's current file that the change removes or replaces; an
    /// insertion counts as the line it would be inserted before. Empty for attributes.
    pub lines: Vec<u32>,
    /// The old side: content text, or a field map for attributes.
    pub before: Option<Json>,
    /// The new side: content text, or a field map for attributes.
    pub after: Option<Json>,
}

/// One task on one host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskRecord {
    /// The play's name.
    pub play: String,
    /// The task's name as the console shows it (`role : name`).
    pub task: String,
    /// The task is a handler.
    pub handler: bool,
    /// Where the task is written.
    pub source: Source,
    /// The outcome (for a loop, the loop's).
    pub status: Status,
    /// The task would change the host (drift).
    pub changed: bool,
    /// The host the task was delegated to, if any.
    pub delegated_to: Option<String>,
    /// The result's message, if any (already redacted).
    pub msg: Option<String>,
    /// Loop items seen (0 for a task without a loop).
    pub items: u32,
    /// Seconds from the task's start to its result on this host, as the event stream saw them
    /// (under the `free` strategy a task's start is only seen with its first result, so the
    /// time is a lower bound there).
    pub duration_seconds: f64,
    /// Every change the task would make, in order.
    pub changes: Vec<Change>,
}

/// One host's part of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostReport {
    /// Inventory host name.
    pub name: String,
    /// Where the host stands.
    pub status: HostStatus,
    /// The `PLAY RECAP` totals.
    pub stats: HostStats,
    /// Tasks that would change the host.
    pub drift_tasks: u32,
    /// Every task that ran (or was skipped) on the host, in order.
    pub tasks: Vec<TaskRecord>,
}

/// One line of the drift list: a change a task would make on a host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DriftEntry {
    /// Inventory host name.
    pub host: String,
    /// The play's name.
    pub play: String,
    /// The task's name.
    pub task: String,
    /// Where the task is written.
    pub source: Source,
    /// The loop item, if the change belongs to one.
    pub item: Option<String>,
    /// The managed path, when known.
    pub path: Option<String>,
    /// The changed lines of the managed file (see [`Change::lines`]).
    pub lines: Vec<u32>,
    /// The unified diff, or the summary; empty when the task reported no diff.
    pub diff: String,
}

impl DriftEntry {
    /// `path:3,7` (or just the path, or `(no diff)`), as the summaries show where a host
    /// drifted.
    pub fn location(&self) -> String {
        let lines = self
            .lines
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        match (&self.path, lines.is_empty()) {
            (Some(p), false) => format!("{p}:{lines}"),
            (Some(p), true) => p.clone(),
            (None, _) => "(no diff)".to_string(),
        }
    }
}

/// Host counts by status, for the fleet summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Hosts in the run.
    pub hosts: u32,
    /// Hosts where nothing would change.
    pub compliant: u32,
    /// Hosts where something would change.
    pub drifted: u32,
    /// Hosts that could not be reached.
    pub unreachable: u32,
    /// Hosts where a task failed.
    pub failed: u32,
    /// Tasks that would change a host, summed over hosts.
    pub drift_tasks: u32,
}

/// A point in time, shown as RFC 3339 UTC (`2026-11-27T00:22:22Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub SystemTime);

impl Timestamp {
    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> f64 {
        self.0
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    /// RFC 3339 in UTC, to the second.
    pub fn rfc3339(self) -> String {
        let secs = self
            .0
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

/// Howard Hinnant's `civil_from_days`: the proleptic Gregorian date of a day count since
/// 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// What the CLI knows about the run that the event stream does not carry.
#[derive(Clone, Debug)]
pub struct RunMeta {
    /// The playbooks, as given on the command line.
    pub playbooks: Vec<String>,
    /// `git rev-parse HEAD` in the (first) playbook's directory; `None` outside a repository.
    pub git_commit: Option<String>,
    /// The work tree has uncommitted changes to tracked files (`None` outside a repository).
    pub git_dirty: Option<bool>,
    /// When the run started.
    pub started: SystemTime,
    /// When it ended.
    pub ended: SystemTime,
    /// Errors that stopped the run outside any task (a playbook that does not load...).
    pub errors: Vec<String>,
}

/// The whole report: what `report.json` holds, and what every other report file shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// jig's version.
    pub jig_version: String,
    /// The playbooks, as given on the command line.
    pub playbooks: Vec<String>,
    /// The playbook directory's git commit, `null` outside a repository.
    pub git_commit: Option<String>,
    /// Uncommitted changes to tracked files in that repository (`null` outside one).
    pub git_dirty: Option<bool>,
    /// When the run started.
    pub started_at: Timestamp,
    /// When it ended.
    pub ended_at: Timestamp,
    /// Wall time of the run.
    pub duration_seconds: f64,
    /// The outcome.
    pub verdict: Verdict,
    /// `jig check`'s exit status for it.
    pub exit_code: i32,
    /// Host counts by status.
    pub summary: Summary,
    /// Every host, drifted first (then failed, unreachable, compliant; inventory order within).
    pub hosts: Vec<HostReport>,
    /// Every change found, host by host in the order of `hosts`, task order within.
    pub drift: Vec<DriftEntry>,
    /// Warnings the run printed, once each.
    pub warnings: Vec<String>,
    /// Errors that stopped the run outside any task.
    pub errors: Vec<String>,
}

/// The task whose results are arriving.
#[derive(Clone, Debug)]
struct Current {
    seq: usize,
    name: String,
    source: Source,
    handler: bool,
    started: Instant,
}

/// Collects events into a [`Report`].
pub struct Collector {
    play: String,
    seq: usize,
    task: Option<Current>,
    hosts: IndexSet<String>,
    /// Keyed by (task sequence number, host): one record per host x task.
    records: IndexMap<(usize, String), TaskRecord>,
    /// Per record, whether a loop item brought diffs (then the loop's summary diffs are the
    /// same changes again and are not kept, as the console does).
    item_diffs: IndexSet<(usize, String)>,
    stats: IndexMap<String, HostStats>,
    warnings: IndexSet<String>,
}

impl Default for Collector {
    fn default() -> Self {
        Collector::new()
    }
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Self {
        Collector {
            play: String::new(),
            seq: 0,
            task: None,
            hosts: IndexSet::new(),
            records: IndexMap::new(),
            item_diffs: IndexSet::new(),
            stats: IndexMap::new(),
            warnings: IndexSet::new(),
        }
    }

    /// Takes in `event`, seen at `at` (tests pass fixed instants; [`Renderer::event`] passes
    /// now).
    pub fn event_at(&mut self, event: &Event, at: Instant) {
        match event {
            Event::PlayStart { name, hosts } => {
                self.play = name.trim().to_string();
                self.task = None;
                self.hosts.extend(hosts.iter().cloned());
            }
            Event::TaskStart { name, pos, handler } => {
                self.seq += 1;
                self.task = Some(Current {
                    seq: self.seq,
                    name: name.trim().to_string(),
                    source: Source::of(pos),
                    handler: *handler,
                    started: at,
                });
            }
            Event::Result(r) => self.on_result(r, at, false),
            Event::LoopDone(r) => self.on_result(r, at, true),
            Event::Warning { message } => {
                self.warnings.insert(message.clone());
            }
            Event::Recap { stats, .. } => {
                for (host, s) in stats {
                    self.hosts.insert(host.clone());
                    let t = self.stats.entry(host.clone()).or_default();
                    t.ok += s.ok;
                    t.changed += s.changed;
                    t.unreachable += s.unreachable;
                    t.failed += s.failed;
                    t.skipped += s.skipped;
                    t.rescued += s.rescued;
                    t.ignored += s.ignored;
                }
            }
            Event::PlaybookStart { .. }
            | Event::Retry { .. }
            | Event::NoHosts { .. }
            | Event::Included { .. } => {}
        }
    }

    fn on_result(&mut self, r: &TaskResult, at: Instant, loop_done: bool) {
        self.hosts.insert(r.host.clone());
        let task = self.task.clone().unwrap_or_else(|| {
            // Every result follows its task's start; should one not, it is kept under a
            // name that says so rather than dropped.
            self.seq += 1;
            let t = Current {
                seq: self.seq,
                name: "(unnamed task)".into(),
                source: Source::default(),
                handler: false,
                started: at,
            };
            self.task = Some(t.clone());
            t
        });
        let key = (task.seq, r.host.clone());
        let play = self.play.clone();
        let rec = self
            .records
            .entry(key.clone())
            .or_insert_with(|| TaskRecord {
                play,
                task: task.name.clone(),
                handler: task.handler,
                source: task.source.clone(),
                status: r.status,
                changed: false,
                delegated_to: None,
                msg: None,
                items: 0,
                duration_seconds: 0.0,
                changes: Vec::new(),
            });
        rec.duration_seconds = at.saturating_duration_since(task.started).as_secs_f64();
        let is_item = r.item_label.is_some() && !loop_done;
        if is_item {
            rec.items += 1;
            // Until the loop's summary arrives, the worst item stands for the task.
            if severity(r.status) > severity(rec.status) {
                rec.status = r.status;
            }
        } else {
            rec.status = r.status;
            rec.delegated_to = r.delegated_to.clone();
            rec.msg = r.msg.clone().or_else(|| {
                r.result
                    .get("msg")
                    .and_then(Json::as_str)
                    .map(str::to_string)
            });
        }
        rec.changed = rec.status == Status::Changed;
        let keep_diffs = if is_item {
            r.status == Status::Changed
        } else {
            r.status == Status::Changed && !(loop_done && self.item_diffs.contains(&key))
        };
        if keep_diffs && !r.diffs.is_empty() {
            rec.changes.extend(changes_of(r));
            if is_item {
                self.item_diffs.insert(key);
            }
        }
    }

    /// The report of everything collected, with what the CLI knows in `meta`.
    pub fn into_report(self, meta: RunMeta) -> Report {
        let mut hosts: Vec<HostReport> = self
            .hosts
            .iter()
            .map(|name| {
                let tasks: Vec<TaskRecord> = self
                    .records
                    .iter()
                    .filter(|((_, h), _)| h == name)
                    .map(|(_, r)| r.clone())
                    .collect();
                let stats = self.stats.get(name).cloned().unwrap_or_default();
                let drift_tasks = tasks.iter().filter(|t| t.changed).count() as u32;
                let any = |s: Status| tasks.iter().any(|t| t.status == s);
                let status = if stats.failed > 0 || any(Status::Failed) {
                    HostStatus::Failed
                } else if stats.unreachable > 0 || any(Status::Unreachable) {
                    HostStatus::Unreachable
                } else if drift_tasks > 0 {
                    HostStatus::Drifted
                } else {
                    HostStatus::Compliant
                };
                HostReport {
                    name: name.clone(),
                    status,
                    stats,
                    drift_tasks,
                    tasks,
                }
            })
            .collect();
        // Stable: inventory order within each status.
        hosts.sort_by_key(|h| h.status.rank());
        let mut summary = Summary {
            hosts: hosts.len() as u32,
            ..Summary::default()
        };
        for h in &hosts {
            summary.drift_tasks += h.drift_tasks;
            match h.status {
                HostStatus::Compliant => summary.compliant += 1,
                HostStatus::Drifted => summary.drifted += 1,
                HostStatus::Unreachable => summary.unreachable += 1,
                HostStatus::Failed => summary.failed += 1,
            }
        }
        let drift = hosts
            .iter()
            .flat_map(|h| {
                h.tasks
                    .iter()
                    .filter(|t| t.changed)
                    .flat_map(move |t| drift_entries(&h.name, t))
            })
            .collect();
        let verdict = if !meta.errors.is_empty() || summary.failed > 0 {
            Verdict::Error
        } else if summary.unreachable > 0 {
            Verdict::Unreachable
        } else if summary.drifted > 0 {
            Verdict::Drift
        } else {
            Verdict::Compliant
        };
        let duration = meta
            .ended
            .duration_since(meta.started)
            .unwrap_or(Duration::ZERO);
        Report {
            schema: SCHEMA,
            jig_version: env!("CARGO_PKG_VERSION").to_string(),
            playbooks: meta.playbooks,
            git_commit: meta.git_commit,
            git_dirty: meta.git_dirty,
            started_at: Timestamp(meta.started),
            ended_at: Timestamp(meta.ended),
            duration_seconds: duration.as_secs_f64(),
            verdict,
            exit_code: verdict.exit_code(),
            summary,
            hosts,
            drift,
            warnings: self.warnings.into_iter().collect(),
            errors: meta.errors,
        }
    }
}

impl Renderer for Collector {
    fn event(&mut self, event: &Event) {
        self.event_at(event, Instant::now());
    }
}

/// How bad a status is, for picking a loop's status from its items.
fn severity(s: Status) -> u8 {
    match s {
        Status::Skipped => 0,
        Status::Ok => 1,
        Status::Changed => 2,
        Status::Ignored => 3,
        Status::Failed => 4,
        Status::Unreachable => 5,
    }
}

fn drift_entries(host: &str, t: &TaskRecord) -> Vec<DriftEntry> {
    let entry = |c: Option<&Change>| DriftEntry {
        host: host.to_string(),
        play: t.play.clone(),
        task: t.task.clone(),
        source: t.source.clone(),
        item: c.and_then(|c| c.item.clone()),
        path: c.and_then(|c| c.path.clone()),
        lines: c.map(|c| c.lines.clone()).unwrap_or_default(),
        diff: c.map(|c| c.diff.clone()).unwrap_or_default(),
    };
    if t.changes.is_empty() {
        vec![entry(None)]
    } else {
        t.changes.iter().map(|c| entry(Some(c))).collect()
    }
}

/// The changes a result's diffs describe, each with the managed path and changed lines.
pub fn changes_of(r: &TaskResult) -> Vec<Change> {
    let path = managed_path(r);
    r.diffs
        .iter()
        .map(|d| change_of(d, path.as_deref(), r.item_label.clone()))
        .collect()
}

/// The path a result manages: its `dest` or `path`, as modules name it.
fn managed_path(r: &TaskResult) -> Option<String> {
    ["dest", "path"]
        .iter()
        .find_map(|k| r.result.get(*k).and_then(Json::as_str))
        .map(str::to_string)
}

fn change_of(d: &Diff, path: Option<&str>, item: Option<String>) -> Change {
    // The console's spelling, without the blank line it ends with.
    let mut diff = super::console::render_diff(d, false).trim_end().to_string();
    diff.push('\n');
    match d {
        Diff::Text {
            before_header,
            before,
            after,
            ..
        } => Change {
            item,
            kind: ChangeKind::Content,
            path: path
                .map(str::to_string)
                .or_else(|| header_path(before_header)),
            lines: changed_lines(&diff),
            diff,
            before: Some(Json::String(before.clone())),
            after: Some(Json::String(after.clone())),
        },
        Diff::Fields {
            path: p,
            before,
            after,
        } => {
            let map = |m: &IndexMap<String, String>| {
                Json::Object(
                    m.iter()
                        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                        .collect(),
                )
            };
            Change {
                item,
                kind: ChangeKind::Attributes,
                path: Some(p.clone())
                    .filter(|p| !p.is_empty())
                    .or(path.map(str::to_string)),
                diff,
                lines: Vec::new(),
                before: Some(map(before)),
                after: Some(map(after)),
            }
        }
        Diff::Summary(_) => Change {
            item,
            kind: ChangeKind::Summary,
            path: path.map(str::to_string),
            diff,
            lines: Vec::new(),
            before: None,
            after: None,
        },
    }
}

/// A diff header as a path: `/etc/x (content)` names `/etc/x`.
fn header_path(header: &str) -> Option<String> {
    let h = header.trim();
    let h = h.strip_suffix(" (content)").unwrap_or(h);
    (!h.is_empty()).then(|| h.to_string())
}

/// The lines of the old side a unified diff removes or replaces, and, for a pure insertion,
/// the old line it would be inserted before.
pub fn changed_lines(unified: &str) -> Vec<u32> {
    let mut out = BTreeSet::new();
    let mut old: u32 = 0;
    let mut in_hunk = false;
    let mut after_removal = false;
    for line in unified.lines() {
        if let Some(rest) = line.strip_prefix("@@ -") {
            let range = rest.split(' ').next().unwrap_or("");
            let mut parts = range.split(',');
            let start: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let len: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(1);
            // difflib names an empty old range by the line before it.
            old = if len == 0 { start + 1 } else { start };
            in_hunk = true;
            after_removal = false;
            continue;
        }
        if !in_hunk {
            continue;
        }
        match line.as_bytes().first() {
            Some(b'-') => {
                out.insert(old);
                old += 1;
                after_removal = true;
            }
            Some(b'+') => {
                if !after_removal {
                    out.insert(old);
                }
            }
            // "\ No newline at end of file" belongs to the line before it.
            Some(b'\\') => {}
            _ => {
                old += 1;
                after_removal = false;
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn pos(line: u32) -> Pos {
        Pos {
            file: Some(Arc::new("site.yml".into())),
            line,
            column: 7,
        }
    }

    pub(crate) fn result(host: &str, status: Status, diffs: Vec<Diff>) -> TaskResult {
        TaskResult {
            host: host.into(),
            delegated_to: None,
            status,
            item_label: None,
            msg: None,
            diffs,
            result: serde_json::Map::new(),
            debug_output: None,
            error: None,
            ignore_unreachable: false,
        }
    }

    #[test]
    fn changed_lines_of_replacements_insertions_and_deletions() {
        let d = |b: &str, a: &str| {
            super::super::console::render_diff(
                &Diff::Text {
                    before_header: "f".into(),
                    after_header: "f".into(),
                    before: b.into(),
                    after: a.into(),
                },
                false,
            )
        };
        let base = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
        // line 3 edited
        assert_eq!(
            changed_lines(&d(base, &base.replace("3\n", "three\n"))),
            [3]
        );
        // lines 2 and 9 edited: two hunks
        assert_eq!(
            changed_lines(&d(base, &base.replace("2\n", "x\n").replace("9\n", "y\n"))),
            [2, 9]
        );
        // an inserted line before 5, a deleted line 8
        assert_eq!(
            changed_lines(&d(
                base,
                &base.replace("5\n", "new\n5\n").replace("8\n", "")
            )),
            [5, 8]
        );
        // appended at the end: before line 11 (there is none yet)
        assert_eq!(changed_lines(&d(base, &format!("{base}11\n"))), [11]);
        // a new file
        assert_eq!(changed_lines(&d("", "a\nb\n")), [1]);
        // the last line loses its newline
        assert_eq!(changed_lines(&d("a\nb\n", "a\nb")), [2]);
        // removed lines that look like headers
        assert_eq!(changed_lines(&d("--- x\n@@ y\nz\n", "z\n")), [1, 2]);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = Timestamp(UNIX_EPOCH + Duration::from_secs(1_795_739_542));
        assert_eq!(t.rfc3339(), "2026-11-27T00:32:22Z");
        assert_eq!(Timestamp(UNIX_EPOCH).rfc3339(), "1970-01-01T00:00:00Z");
        let leap = Timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400));
        assert_eq!(leap.rfc3339(), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn a_loop_is_one_record_with_its_items_changes() {
        let t0 = Instant::now();
        let mut c = Collector::new();
        c.event_at(
            &Event::PlayStart {
                name: "p".into(),
                hosts: vec!["a".into(), "b".into()],
            },
            t0,
        );
        c.event_at(
            &Event::TaskStart {
                name: "files".into(),
                pos: pos(4),
                handler: false,
            },
            t0,
        );
        let diff = Diff::Fields {
            path: "/x".into(),
            before: IndexMap::from([("mode".to_string(), "0644".to_string())]),
            after: IndexMap::from([("mode".to_string(), "0600".to_string())]),
        };
        let mut item = result("a", Status::Changed, vec![diff.clone()]);
        item.item_label = Some("/x".into());
        c.event_at(&Event::Result(item), t0 + Duration::from_millis(200));
        let mut item = result("a", Status::Ok, vec![]);
        item.item_label = Some("/y".into());
        c.event_at(&Event::Result(item), t0 + Duration::from_millis(300));
        // The loop's summary repeats the items' diffs: kept once.
        c.event_at(
            &Event::LoopDone(result("a", Status::Changed, vec![diff])),
            t0 + Duration::from_millis(500),
        );
        c.event_at(
            &Event::Result(result("b", Status::Unreachable, vec![])),
            t0 + Duration::from_secs(10),
        );
        let now = SystemTime::now();
        let r = c.into_report(RunMeta {
            playbooks: vec!["site.yml".into()],
            git_commit: None,
            git_dirty: None,
            started: now,
            ended: now,
            errors: vec![],
        });
        assert_eq!(r.verdict, Verdict::Unreachable);
        assert_eq!(r.exit_code, 4);
        assert_eq!(r.hosts[0].name, "a");
        let t = &r.hosts[0].tasks[0];
        assert_eq!(
            (t.items, t.status, t.changes.len()),
            (2, Status::Changed, 1)
        );
        assert_eq!(t.changes[0].item.as_deref(), Some("/x"));
        assert_eq!(t.changes[0].path.as_deref(), Some("/x"));
        assert_eq!(t.changes[0].kind, ChangeKind::Attributes);
        assert!((t.duration_seconds - 0.5).abs() < 1e-9);
        assert_eq!(r.drift.len(), 1);
        assert_eq!(r.drift[0].location(), "/x");
        assert_eq!(r.drift[0].source.to_string(), "site.yml:4");
        assert_eq!(r.hosts[1].status, HostStatus::Unreachable);
        assert_eq!(
            r.summary,
            Summary {
                hosts: 2,
                compliant: 0,
                drifted: 1,
                unreachable: 1,
                failed: 0,
                drift_tasks: 1
            }
        );
    }

    #[test]
    fn verdicts_rank_errors_over_unreachable_over_drift() {
        assert!(Verdict::Error > Verdict::Unreachable);
        assert!(Verdict::Unreachable > Verdict::Drift);
        assert!(Verdict::Drift > Verdict::Compliant);
        let now = SystemTime::now();
        let meta = |errors: Vec<String>| RunMeta {
            playbooks: vec![],
            git_commit: None,
            git_dirty: None,
            started: now,
            ended: now,
            errors,
        };
        assert_eq!(
            Collector::new().into_report(meta(vec![])).verdict,
            Verdict::Compliant
        );
        let r = Collector::new().into_report(meta(vec!["bad yaml".into()]));
        assert_eq!((r.verdict, r.exit_code), (Verdict::Error, 1));
    }
}

//! Plan and apply: a reviewed check run, and a real run that applies exactly what was reviewed.
//!
//! This module owns the plan file (`jig.plan/1`, documented in docs/plan.md): what a plan was
//! made from ([`Source`]: playbook, inventory, limit, tags, extra vars, and a sha256 of every
//! controller file), and per host the results the check run predicted ([`HostPlan`]) with a
//! FINGERPRINT of the probed state they were planned against. The fingerprint is a sha256 over
//! each result's predicted outcome (task, status, content hashes of each diff's before and
//! after, attribute values before and after), never over facts or raw probe output, so an
//! untouched host plans to the same fingerprint every time. [`Recorder`] builds host plans
//! from the executor's event stream; [`drift`] says what differs between two plans of one
//! host, and [`verify`] whether a real run changed what the plan said.

pub mod files;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::modules::Diff;
use crate::report::{Event, Renderer, Status};
use crate::yaml::Pos;

/// The plan format this jig writes and reads.
pub const SCHEMA: &str = "jig.plan/1";

/// A plan: what it was made from, and per host what would change.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The jig version that wrote it.
    pub jig_version: String,
    /// When the plan was made (RFC 3339, UTC).
    pub created: String,
    /// What the plan was made from.
    pub source: Source,
    /// Per inventory host, in inventory order.
    pub hosts: IndexMap<String, HostPlan>,
}

/// The inputs of a plan: everything `jig apply` needs to re-plan, and the controller files'
/// hashes it compares before trusting the plan.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Source {
    /// The playbook, absolute.
    pub playbook: PathBuf,
    /// `-i` sources (paths made absolute; host lists as given).
    pub inventory: Vec<String>,
    /// `--limit` patterns.
    pub limit: Vec<String>,
    /// `--tags`.
    pub tags: Vec<String>,
    /// `--skip-tags`.
    pub skip_tags: Vec<String>,
    /// `-e` values as given (`@file` made absolute).
    pub extra_vars: Vec<String>,
    /// `--roles-path` and `ANSIBLE_ROLES_PATH` directories, absolute.
    pub roles_path: Vec<PathBuf>,
    /// `--secret-vars` names (their values are redacted everywhere, the plan included).
    #[serde(default)]
    pub secret_vars: Vec<String>,
    /// `git rev-parse HEAD` in the playbook's directory, when it is in a git work tree.
    pub git_commit: Option<String>,
    /// The work tree had uncommitted changes when the plan was made.
    pub git_dirty: Option<bool>,
    /// Absolute path of every controller file the plan depends on -> its sha256 (hex).
    pub files: BTreeMap<String, String>,
}

/// How planning went on one host.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HostState {
    /// Every task planned: the host can be applied.
    Planned,
    /// A task failed in check mode: the host cannot be applied.
    Failed,
    /// The host could not be reached.
    Unreachable,
}

/// The plan of one host.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HostPlan {
    /// Whether the host can be applied.
    pub state: HostState,
    /// `sha256:<hex>` over every result's digest, in order.
    pub fingerprint: String,
    /// How many results would change the host.
    pub changes: usize,
    /// Every task result (and loop item) of the check run, in order.
    pub tasks: Vec<TaskEntry>,
}

/// The outcome of one task (or loop item) as recorded in a plan.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EntryStatus {
    /// Nothing to change.
    Ok,
    /// Would change (or changed).
    Changed,
    /// Did not run (`when`, or a command check mode cannot predict).
    Skipped,
    /// Failed.
    Failed,
    /// Failed, with `ignore_errors`.
    Ignored,
    /// The host could not be reached.
    Unreachable,
}

impl From<Status> for EntryStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Ok => EntryStatus::Ok,
            Status::Changed => EntryStatus::Changed,
            Status::Skipped => EntryStatus::Skipped,
            Status::Failed => EntryStatus::Failed,
            Status::Ignored => EntryStatus::Ignored,
            Status::Unreachable => EntryStatus::Unreachable,
        }
    }
}

impl EntryStatus {
    fn word(self) -> &'static str {
        match self {
            EntryStatus::Ok => "ok",
            EntryStatus::Changed => "changed",
            EntryStatus::Skipped => "skipped",
            EntryStatus::Failed => "failed",
            EntryStatus::Ignored => "ignored",
            EntryStatus::Unreachable => "unreachable",
        }
    }
}

/// One task result of a plan.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TaskEntry {
    /// The task's name as its banner shows it (`nginx : config`).
    pub task: String,
    /// The file it is written in, relative to the playbook's directory when inside it.
    pub file: Option<String>,
    /// Its line (0 when unknown).
    pub line: u32,
    /// It is a handler.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub handler: bool,
    /// The loop item's label, for one item of a loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Its outcome.
    pub status: EntryStatus,
    /// What it changes: `content` for file contents, attribute names for the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_fields: Vec<String>,
    /// The changes, as reviewable records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<DiffRecord>,
    /// The failure message, for a failed result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// `sha256:<hex>` of the predicted outcome (see docs/plan.md).
    pub digest: String,
}

impl TaskEntry {
    /// `'name' (file:line)`, as messages name a task.
    pub fn describe(&self) -> String {
        let mut s = format!("task '{}'", self.task);
        if let Some(f) = &self.file {
            s.push_str(&format!(" ({f}:{})", self.line));
        }
        if let Some(i) = &self.item {
            s.push_str(&format!(" item {i}"));
        }
        s
    }

    /// What identifies this result across two runs of one playbook.
    fn key(&self) -> (String, Option<String>, u32, bool, Option<String>) {
        (
            self.task.clone(),
            self.file.clone(),
            self.line,
            self.handler,
            self.item.clone(),
        )
    }
}

/// A change, as a plan records it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DiffRecord {
    /// File content: hashes of both sides and the unified diff a reviewer reads.
    Text {
        /// The file.
        path: String,
        /// sha256 of the content before.
        before_sha256: String,
        /// sha256 of the content after.
        after_sha256: String,
        /// The unified diff.
        diff: String,
    },
    /// Attributes before and after.
    Fields {
        /// The object changed.
        path: String,
        /// Attribute -> value before.
        before: IndexMap<String, String>,
        /// Attribute -> value after.
        after: IndexMap<String, String>,
    },
    /// A change only summarised (binary or large content, packages...).
    Summary {
        /// The summary.
        text: String,
    },
}

impl DiffRecord {
    /// The record of a module's diff.
    pub fn from_diff(d: &Diff) -> Self {
        match d {
            Diff::Text {
                before_header,
                after_header,
                before,
                after,
            } => {
                // The before side names the managed file; the after side is often the source
                // (a template, a copied file), as Ansible labels them.
                let path = if before_header.is_empty() {
                    after_header.clone()
                } else {
                    before_header.clone()
                };
                let diff = similar::TextDiff::from_lines(before.as_str(), after.as_str())
                    .unified_diff()
                    .header(before_header, after_header)
                    .to_string();
                DiffRecord::Text {
                    path,
                    before_sha256: sha256_hex(before.as_bytes()),
                    after_sha256: sha256_hex(after.as_bytes()),
                    diff,
                }
            }
            Diff::Fields {
                path,
                before,
                after,
            } => DiffRecord::Fields {
                path: path.clone(),
                before: before.clone(),
                after: after.clone(),
            },
            Diff::Summary(text) => DiffRecord::Summary { text: text.clone() },
        }
    }

    /// The part of the record the fingerprint covers (the readable diff text is derived from
    /// the hashed contents, so it is left out).
    fn digest_json(&self) -> serde_json::Value {
        match self {
            DiffRecord::Text {
                path,
                before_sha256,
                after_sha256,
                ..
            } => serde_json::json!(["text", path, before_sha256, after_sha256]),
            DiffRecord::Fields {
                path,
                before,
                after,
            } => serde_json::json!(["fields", path, before, after]),
            DiffRecord::Summary { text } => serde_json::json!(["summary", text]),
        }
    }

    fn path(&self) -> Option<&str> {
        match self {
            DiffRecord::Text { path, .. } | DiffRecord::Fields { path, .. } => Some(path),
            DiffRecord::Summary { .. } => None,
        }
    }
}

/// Lowercase hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The digest of an entry's predicted outcome: identity, status and diff contents.
fn entry_digest(e: &TaskEntry) -> String {
    let diffs: Vec<_> = e.diffs.iter().map(DiffRecord::digest_json).collect();
    let canon = serde_json::json!([e.task, e.file, e.line, e.handler, e.item, e.status, diffs]);
    format!("sha256:{}", sha256_hex(canon.to_string().as_bytes()))
}

/// The fingerprint of a host's results, in order.
pub fn fingerprint(tasks: &[TaskEntry]) -> String {
    let mut h = Sha256::new();
    for t in tasks {
        h.update(t.digest.as_bytes());
        h.update(b"\n");
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// A renderer that records every host's results as a [`HostPlan`] while passing events on.
pub struct Recorder<R: Renderer> {
    inner: R,
    base: PathBuf,
    show_diffs: bool,
    current: Option<(String, Pos, bool)>,
    entries: IndexMap<String, Vec<TaskEntry>>,
    hosts: Vec<String>,
}

impl<R: Renderer> Recorder<R> {
    /// Records into a new plan; task files are named relative to `base` (the playbook's
    /// directory). Diffs are passed on to `inner` only when `show_diffs`.
    pub fn new(inner: R, base: &Path, show_diffs: bool) -> Self {
        Recorder {
            inner,
            base: base.to_path_buf(),
            show_diffs,
            current: None,
            entries: IndexMap::new(),
            hosts: Vec::new(),
        }
    }

    /// The wrapped renderer.
    pub fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Every host of the run (from its recap, in inventory order) with its plan.
    pub fn host_plans(&self) -> IndexMap<String, HostPlan> {
        let mut names = self.hosts.clone();
        for h in self.entries.keys() {
            if !names.contains(h) {
                names.push(h.clone());
            }
        }
        names
            .into_iter()
            .map(|h| {
                let tasks = self.entries.get(&h).cloned().unwrap_or_default();
                (h, host_plan(tasks))
            })
            .collect()
    }

    fn relative(&self, pos: &Pos) -> Option<String> {
        let file = pos.file.as_ref()?;
        let abs = std::path::absolute(file.as_path()).unwrap_or_else(|_| file.to_path_buf());
        Some(match abs.strip_prefix(&self.base) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => abs.display().to_string(),
        })
    }

    fn record(&mut self, r: &crate::report::TaskResult) {
        let (task, file, line, handler) = match &self.current {
            Some((name, pos, handler)) => (name.clone(), self.relative(pos), pos.line, *handler),
            None => (String::new(), None, 0, false),
        };
        let diffs: Vec<DiffRecord> = r.diffs.iter().map(DiffRecord::from_diff).collect();
        let status = EntryStatus::from(r.status);
        let mut entry = TaskEntry {
            task,
            file,
            line,
            handler,
            item: r.item_label.clone(),
            status,
            changed_fields: changed_fields(&r.diffs),
            diffs,
            msg: match status {
                EntryStatus::Failed | EntryStatus::Unreachable => r.msg.clone(),
                _ => None,
            },
            digest: String::new(),
        };
        entry.digest = entry_digest(&entry);
        self.entries.entry(r.host.clone()).or_default().push(entry);
    }
}

/// A host plan from its results.
pub fn host_plan(tasks: Vec<TaskEntry>) -> HostPlan {
    let state = if tasks.iter().any(|t| t.status == EntryStatus::Unreachable) {
        HostState::Unreachable
    } else if tasks.iter().any(|t| t.status == EntryStatus::Failed) {
        HostState::Failed
    } else {
        HostState::Planned
    };
    HostPlan {
        state,
        fingerprint: fingerprint(&tasks),
        changes: tasks
            .iter()
            .filter(|t| t.status == EntryStatus::Changed)
            .count(),
        tasks,
    }
}

/// `content` for a content diff, and each attribute whose value differs.
fn changed_fields(diffs: &[Diff]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in diffs {
        let fields: Vec<String> = match d {
            Diff::Text { before, after, .. } if before != after => vec!["content".into()],
            Diff::Text { .. } => Vec::new(),
            Diff::Fields { before, after, .. } => after
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(*v))
                .map(|(k, _)| k.clone())
                .chain(before.keys().filter(|k| !after.contains_key(*k)).cloned())
                .collect(),
            Diff::Summary(_) => Vec::new(),
        };
        for f in fields {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

impl<R: Renderer> Renderer for Recorder<R> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::TaskStart { name, pos, handler } => {
                self.current = Some((name.clone(), pos.clone(), *handler));
            }
            Event::Result(r) => self.record(r),
            Event::Recap { stats, .. } => {
                for h in stats.keys() {
                    if !self.hosts.contains(h) {
                        self.hosts.push(h.clone());
                    }
                }
            }
            _ => {}
        }
        match event {
            Event::Result(r) | Event::LoopDone(r) if !self.show_diffs && !r.diffs.is_empty() => {
                let mut quiet = r.clone();
                quiet.diffs.clear();
                let e = if matches!(event, Event::Result(_)) {
                    Event::Result(quiet)
                } else {
                    Event::LoopDone(quiet)
                };
                self.inner.event(&e);
            }
            _ => self.inner.event(event),
        }
    }

    fn finish(&mut self) {
        self.inner.finish();
    }
}

/// A renderer that shows nothing (for the re-plan `jig apply` does before applying).
pub struct Silent;

impl Renderer for Silent {
    fn event(&mut self, _event: &Event) {}
}

/// Why a host's state no longer matches its plan: one line per task that differs.
pub fn drift(planned: &HostPlan, now: &HostPlan) -> Vec<String> {
    if planned.fingerprint == now.fingerprint {
        return Vec::new();
    }
    let mut out = Vec::new();
    let now_by_key = index(&now.tasks);
    let planned_by_key = index(&planned.tasks);
    for (key, p) in &planned_by_key {
        match now_by_key.get(key) {
            None => out.push(format!("{} no longer runs", p.describe())),
            Some(n) if n.digest != p.digest => out.push(describe_change(p, n)),
            Some(_) => {}
        }
    }
    for (key, n) in &now_by_key {
        if !planned_by_key.contains_key(key) {
            out.push(format!(
                "{} now runs ({}), which the plan did not include",
                n.describe(),
                n.status.word()
            ));
        }
    }
    if out.is_empty() {
        out.push("the results come in a different order than planned".into());
    }
    out
}

type Key = ((String, Option<String>, u32, bool, Option<String>), usize);

/// Entries by identity; a task met several times (a task file included twice) is numbered.
fn index(tasks: &[TaskEntry]) -> IndexMap<Key, &TaskEntry> {
    let mut seen: IndexMap<_, usize> = IndexMap::new();
    let mut out = IndexMap::new();
    for t in tasks {
        let n = seen.entry(t.key()).or_insert(0);
        out.insert((t.key(), *n), t);
        *n += 1;
    }
    out
}

/// One sentence on how an entry's outcome differs from the planned one.
fn describe_change(p: &TaskEntry, n: &TaskEntry) -> String {
    let mut what: Vec<String> = Vec::new();
    for (i, pd) in p.diffs.iter().enumerate() {
        let nd = n.diffs.get(i);
        match (pd, nd) {
            (
                DiffRecord::Text {
                    path,
                    before_sha256: pb,
                    after_sha256: pa,
                    ..
                },
                Some(DiffRecord::Text {
                    before_sha256: nb,
                    after_sha256: na,
                    ..
                }),
            ) => {
                if pb != nb {
                    what.push(format!("{path} changed since the plan"));
                } else if pa != na {
                    what.push(format!("{path} would now get different content"));
                }
            }
            (
                DiffRecord::Fields {
                    path,
                    before: pb,
                    after: pa,
                },
                Some(DiffRecord::Fields {
                    before: nb,
                    after: na,
                    ..
                }),
            ) => {
                for (k, v) in nb {
                    if pb.get(k) != Some(v) {
                        let was = pb.get(k).map(String::as_str).unwrap_or("(unset)");
                        what.push(format!("{path}: {k} was {was} when planned, is now {v}"));
                    }
                }
                if pa != na && what.is_empty() {
                    what.push(format!("{path}: the planned attributes differ"));
                }
            }
            (pd, Some(nd)) if pd != nd => what.push(format!(
                "{} differs from the plan",
                pd.path().unwrap_or("the change")
            )),
            (pd, None) => what.push(format!(
                "{} no longer needs the planned change",
                pd.path().unwrap_or("the host")
            )),
            _ => {}
        }
    }
    for nd in n.diffs.iter().skip(p.diffs.len()) {
        what.push(format!(
            "{} now needs a change the plan did not include",
            nd.path().unwrap_or("the host")
        ));
    }
    if p.status != n.status {
        let touched: Vec<&str> = n
            .diffs
            .iter()
            .chain(p.diffs.iter())
            .filter_map(DiffRecord::path)
            .collect();
        let on = touched
            .first()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        what.push(format!(
            "planned {}, now {}{on}",
            p.status.word(),
            n.status.word()
        ));
    }
    if what.is_empty() {
        what.push("its predicted outcome differs from the plan".into());
    }
    format!("{}: {}", p.describe(), what.join("; "))
}

/// How a real run compared with its plan on one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verification {
    /// Planned changes the run made as planned.
    pub as_planned: usize,
    /// Differences: a planned change not made or made differently, or an unplanned change.
    pub mismatches: Vec<String>,
    /// Changes of tasks check mode could not predict (skipped in the plan: commands without
    /// `creates`/`removes`): reported, not counted as mismatches.
    pub unpredicted: Vec<String>,
}

/// Compares the results of the real run on a host with its plan.
pub fn verify(planned: &HostPlan, applied: &HostPlan) -> Verification {
    let mut v = Verification::default();
    let applied_by_key = index(&applied.tasks);
    let planned_by_key = index(&planned.tasks);
    for (key, p) in &planned_by_key {
        if p.status != EntryStatus::Changed {
            continue;
        }
        match applied_by_key.get(key) {
            None => v.mismatches.push(format!(
                "{} was planned to change but did not run",
                p.describe()
            )),
            Some(a) if a.status != EntryStatus::Changed => v.mismatches.push(format!(
                "{} was planned to change but was {}",
                p.describe(),
                a.status.word()
            )),
            Some(a) if after_side(&a.diffs) != after_side(&p.diffs) => v
                .mismatches
                .push(format!("{} changed differently than planned", p.describe())),
            Some(_) => v.as_planned += 1,
        }
    }
    for (key, a) in &applied_by_key {
        if a.status != EntryStatus::Changed {
            continue;
        }
        match planned_by_key.get(key) {
            Some(p) if p.status == EntryStatus::Changed => {}
            Some(p) if p.status == EntryStatus::Skipped => v.unpredicted.push(a.describe()),
            _ => v.mismatches.push(format!(
                "{} changed, which the plan did not include",
                a.describe()
            )),
        }
    }
    v
}

/// What a set of diffs leaves behind: content hashes after, attribute values after.
fn after_side(diffs: &[DiffRecord]) -> Vec<serde_json::Value> {
    diffs
        .iter()
        .map(|d| match d {
            DiffRecord::Text {
                path, after_sha256, ..
            } => serde_json::json!([path, after_sha256]),
            DiffRecord::Fields { path, after, .. } => serde_json::json!([path, after]),
            DiffRecord::Summary { text } => serde_json::json!([text]),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TaskResult;
    use std::sync::Arc;

    fn result(host: &str, status: Status, diffs: Vec<Diff>) -> Event {
        Event::Result(TaskResult {
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
        })
    }

    fn start(name: &str, line: u32) -> Event {
        Event::TaskStart {
            name: name.into(),
            pos: Pos {
                file: Some(Arc::new(PathBuf::from("/pb/roles/app/tasks/main.yml"))),
                line,
                column: 3,
            },
            handler: false,
        }
    }

    fn text(before: &str, after: &str) -> Diff {
        Diff::Text {
            before_header: "/etc/app.conf".into(),
            after_header: "/etc/app.conf".into(),
            before: before.into(),
            after: after.into(),
        }
    }

    fn mode(before: &str, after: &str) -> Diff {
        Diff::Fields {
            path: "/srv/data".into(),
            before: [("mode".to_string(), before.to_string())].into(),
            after: [("mode".to_string(), after.to_string())].into(),
        }
    }

    /// Plans of two hosts from one event stream, results interleaved as forks produce them.
    fn plans(conf_before_b: &str, mode_before_a: &str) -> IndexMap<String, HostPlan> {
        let mut r = Recorder::new(Silent, Path::new("/pb"), false);
        r.event(&start("app : config", 12));
        r.event(&result(
            "b",
            Status::Changed,
            vec![text(conf_before_b, "x=2\n")],
        ));
        r.event(&result("a", Status::Changed, vec![text("x=1\n", "x=2\n")]));
        r.event(&start("app : data dir", 20));
        r.event(&result(
            "a",
            Status::Changed,
            vec![mode(mode_before_a, "0750")],
        ));
        r.event(&result("b", Status::Ok, vec![]));
        r.host_plans()
    }

    #[test]
    fn an_untouched_host_plans_to_the_same_fingerprint() {
        let one = plans("x=1\n", "0755");
        let two = plans("x=1\n", "0755");
        assert_eq!(one, two);
        assert_ne!(one["a"].fingerprint, one["b"].fingerprint);
        assert_eq!(one["a"].changes, 2);
        assert_eq!(one["b"].changes, 1);
        assert_eq!(
            one["a"].tasks[0].file.as_deref(),
            Some("roles/app/tasks/main.yml")
        );
        assert_eq!(one["a"].tasks[1].changed_fields, vec!["mode"]);
        assert_eq!(one["a"].tasks[0].changed_fields, vec!["content"]);
        assert!(drift(&one["a"], &two["a"]).is_empty());
        // Host b's digests do not depend on host a's results arriving first.
        assert_eq!(one["b"].state, HostState::Planned);
    }

    #[test]
    fn an_edited_file_or_attribute_changes_the_fingerprint_and_is_named() {
        let planned = plans("x=1\n", "0755");
        let edited = plans("x=1\nhand edit\n", "0700");
        assert_ne!(planned["a"].fingerprint, edited["a"].fingerprint);
        assert_ne!(planned["b"].fingerprint, edited["b"].fingerprint);
        // Host a's conf is untouched, its mode is not.
        let a = drift(&planned["a"], &edited["a"]);
        assert_eq!(
            a,
            vec![
                "task 'app : data dir' (roles/app/tasks/main.yml:20): /srv/data: mode was 0755 \
                 when planned, is now 0700"
            ]
        );
        let b = drift(&planned["b"], &edited["b"]);
        assert_eq!(
            b,
            vec![
                "task 'app : config' (roles/app/tasks/main.yml:12): /etc/app.conf changed since \
                 the plan"
            ]
        );
    }

    #[test]
    fn a_task_that_now_would_change_or_no_longer_runs_is_named() {
        let planned = plans("x=1\n", "0755");
        let mut r = Recorder::new(Silent, Path::new("/pb"), false);
        r.event(&start("app : config", 12));
        r.event(&result("b", Status::Ok, vec![]));
        let now = r.host_plans();
        let d = drift(&planned["b"], &now["b"]);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].contains("/etc/app.conf no longer needs the planned change"),
            "{d:?}"
        );
        assert!(d[0].contains("planned changed, now ok"), "{d:?}");
        assert!(d[1].contains("'app : data dir'") && d[1].ends_with("no longer runs"));
    }

    #[test]
    fn verify_accepts_the_planned_changes_and_names_the_others() {
        let planned = plans("x=1\n", "0755");
        let same = plans("x=1\n", "0755");
        let v = verify(&planned["a"], &same["a"]);
        assert_eq!(v.as_planned, 2);
        assert!(v.mismatches.is_empty());
        let mut r = Recorder::new(Silent, Path::new("/pb"), false);
        r.event(&start("app : config", 12));
        r.event(&result("a", Status::Changed, vec![text("x=1\n", "x=3\n")]));
        r.event(&start("app : data dir", 20));
        r.event(&result("a", Status::Ok, vec![]));
        let v = verify(&planned["a"], &r.host_plans()["a"]);
        assert_eq!(v.as_planned, 0);
        assert_eq!(v.mismatches.len(), 2, "{v:?}");
        assert!(v.mismatches[0].contains("changed differently than planned"));
        assert!(v.mismatches[1].contains("was planned to change but was ok"));
    }

    #[test]
    fn failed_and_unreachable_hosts_cannot_be_applied() {
        let mut r = Recorder::new(Silent, Path::new("/pb"), false);
        r.event(&start("x", 1));
        r.event(&result("a", Status::Failed, vec![]));
        r.event(&result("b", Status::Unreachable, vec![]));
        r.event(&result("c", Status::Ignored, vec![]));
        let p = r.host_plans();
        assert_eq!(p["a"].state, HostState::Failed);
        assert_eq!(p["b"].state, HostState::Unreachable);
        assert_eq!(p["c"].state, HostState::Planned);
    }

    #[test]
    fn the_plan_round_trips_through_json() {
        let plan = Plan {
            schema: SCHEMA.into(),
            jig_version: "0".into(),
            created: "2026-01-01T00:00:00Z".into(),
            source: Source::default(),
            hosts: plans("x=1\n", "0755"),
        };
        let text = serde_json::to_string_pretty(&plan).unwrap();
        assert!(text.contains("\"schema\": \"jig.plan/1\""));
        assert!(text.contains("+x=2"), "{text}");
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, plan);
    }
}

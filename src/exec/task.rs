//! One task on one host: `when`, loops, the action or module, `until`, `changed_when`,
//! `failed_when`, and the registered result.
//!
//! A [`TaskJob`] owns everything it needs (it runs as its own tokio task, concurrently with the
//! same task on other hosts) and returns a [`HostOutcome`]: the results to show, the values to
//! store on the host (registered variable, facts) and the directives only the scheduler can
//! carry out (includes, `meta`). Nothing here touches shared state.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};

use super::actions;
use super::keywords::Effective;
use super::loops::{self, SearchDirs};
use crate::connection::{Become, BecomeMethod, Connection};
use crate::modules::args::parse_bool;
use crate::modules::{Diff, ModuleArgs, ModuleContext, ModuleError, TemplateRenderer};
use crate::playbook::{Keywords, Task};
use crate::report::{Event, FailureSource, Status, TaskError, TaskResult};
use crate::template::{Templar, TemplateError};
use crate::vars::{Layer, VarMap, VarScope};

/// The message Ansible shows instead of a `no_log` task's result.
pub const NO_LOG_NOTICE: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// Run-wide settings a task needs.
#[derive(Clone, Debug)]
pub struct Flags {
    /// `--check`.
    pub check: bool,
    /// `--diff`.
    pub diff: bool,
    /// `-v` count.
    pub verbosity: u8,
    /// The playbook's directory.
    pub playbook_dir: PathBuf,
    /// SSH options and the run's SSH connections (one per host, shared with delegation).
    pub ssh: Arc<crate::connection::ssh::SshHub>,
    /// Files jig knows the content of, per host, for the whole run.
    pub known: Arc<crate::modules::known::KnownHosts>,
    /// What check mode predicts of each host, for the whole run.
    pub predicted: Arc<crate::modules::predict::PredictedHosts>,
}

/// One task to run on one host.
pub struct TaskJob {
    /// The task.
    pub task: Arc<Task>,
    /// Its effective keywords.
    pub eff: Arc<Effective>,
    /// The name shown in messages (`role : name`).
    pub display_name: String,
    /// The inventory host.
    pub host: String,
    /// The host's variables for this task (without loop variables).
    pub scope: VarScope,
    /// The host's connection, or why there is none.
    pub conn: Result<Arc<Connection>, String>,
    /// The controller's own connection (for `delegate_to: localhost`).
    pub local: Arc<Connection>,
    /// The template engine.
    pub templar: Templar,
    /// Run-wide settings.
    pub flags: Arc<Flags>,
    /// Where events that cannot wait for the task's end go (`until` retries), if anyone shows
    /// them as they come.
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
}

/// Something only the scheduler can do, asked for by a task.
#[derive(Clone, Debug)]
pub enum Directive {
    /// `meta: <action>`.
    Meta(String),
    /// `include_tasks`.
    IncludeTasks {
        /// The task file found.
        path: PathBuf,
        /// Variables for the included tasks (the include's `vars`, loop variables).
        vars: VarMap,
        /// `apply:` keywords.
        apply: Keywords,
        /// The loop item's label, for a looped include.
        item_label: Option<String>,
    },
    /// `include_role`.
    IncludeRole {
        /// The role name.
        name: String,
        /// `tasks_from`.
        tasks_from: Option<String>,
        /// `vars_from`.
        vars_from: Option<String>,
        /// `defaults_from`.
        defaults_from: Option<String>,
        /// `handlers_from`.
        handlers_from: Option<String>,
        /// `public`: the role's defaults and vars stay visible after it.
        public: bool,
        /// Variables for the role's tasks (the task's `vars`, loop variables).
        vars: VarMap,
        /// `apply:` keywords.
        apply: Keywords,
        /// The loop item's label, for a looped include.
        item_label: Option<String>,
    },
}

/// What running a task on one host produced.
#[derive(Debug)]
pub struct HostOutcome {
    /// The host.
    pub host: String,
    /// Per-item results of a loop, in item order.
    pub items: Vec<TaskResult>,
    /// The task's result (for a loop, the aggregate).
    pub summary: TaskResult,
    /// The task looped.
    pub looped: bool,
    /// Final status.
    pub status: Status,
    /// The value to register, if the task has `register`.
    pub register: Option<(String, Json)>,
    /// Facts to store (`set_fact`, `include_vars`).
    pub facts: VarMap,
    /// Gathered facts (`setup`).
    pub gathered: Option<VarMap>,
    /// Handler names or topics to notify (only when the task changed something).
    pub notify: Vec<String>,
    /// Work for the scheduler.
    pub directives: Vec<Directive>,
    /// `delegate_to` with `delegate_facts`: the host that receives the facts instead.
    pub facts_host: Option<String>,
}

/// What one run of the action produced (one item, one attempt).
#[derive(Debug, Default)]
pub struct ActionOutput {
    /// The result as registered.
    pub result: Map<String, Json>,
    /// Diffs to show.
    pub diffs: Vec<Diff>,
    /// The host could not be reached.
    pub unreachable: bool,
    /// Facts to store.
    pub facts: VarMap,
    /// Gathered facts.
    pub gathered: Option<VarMap>,
    /// Directives.
    pub directives: Vec<Directive>,
    /// For `debug`: what to print.
    pub debug_output: Option<Json>,
    /// Show the whole result even without `-v` (Ansible's `_ansible_verbose_always`, set by
    /// `assert` unless `quiet`).
    pub verbose_always: bool,
    /// Who found the failure, if the result is one: the action unless a module reported it
    /// or the task could not run ([`ActionOutput::failed`]).
    pub failure: FailureSource,
}

impl ActionOutput {
    /// A result with `changed`, `failed` and `msg` set.
    pub fn new(changed: bool, failed: bool, msg: Option<String>) -> Self {
        let mut result = Map::new();
        result.insert("changed".into(), json!(changed));
        result.insert("failed".into(), json!(failed));
        if let Some(m) = msg {
            result.insert("msg".into(), json!(m));
        }
        ActionOutput {
            result,
            ..ActionOutput::default()
        }
    }

    /// A failed result with a message: the task could not run (a template, a loop, its
    /// arguments), as opposed to an action or module that ran and failed.
    pub fn failed(msg: impl Into<String>) -> Self {
        let mut out = ActionOutput::new(false, true, Some(msg.into()));
        out.failure = FailureSource::Task;
        out
    }

    /// An unreachable result.
    pub fn unreachable(msg: impl Into<String>) -> Self {
        let mut out = ActionOutput::new(false, false, Some(msg.into()));
        out.result.insert("unreachable".into(), json!(true));
        out.unreachable = true;
        out.failure = FailureSource::Task;
        out
    }

    fn flag(&self, key: &str) -> bool {
        self.result.get(key).and_then(parse_bool).unwrap_or(false)
    }

    fn status(&self, ignore_errors: bool) -> Status {
        if self.unreachable {
            Status::Unreachable
        } else if self.flag("failed") {
            if ignore_errors {
                Status::Ignored
            } else {
                Status::Failed
            }
        } else if self.flag("skipped") {
            Status::Skipped
        } else if self.flag("changed") {
            Status::Changed
        } else {
            Status::Ok
        }
    }
}

/// Per-task context shared by the item runs of one host.
pub struct Ctx<'a> {
    /// The job.
    pub job: &'a TaskJob,
    /// Effective check mode.
    pub check: bool,
    /// Effective diff mode.
    pub diff: bool,
    /// Controller search directories for files.
    pub dirs: SearchDirs,
}

impl Ctx<'_> {
    /// "file:line:col: task 'name'": where a message comes from.
    pub fn location(&self) -> String {
        format!("{}: task '{}'", self.job.task.pos, self.job.display_name)
    }

    /// A failure message for a templating problem in `what` (`when`, the arguments...).
    pub fn template_failure(&self, what: &str, e: &TemplateError) -> String {
        format!(
            "{}: error while templating {what} on host {}: {e}",
            self.location(),
            self.job.host
        )
    }

    /// The directory of the file the task is written in.
    pub fn task_dir(&self) -> Option<PathBuf> {
        self.job
            .task
            .pos
            .file
            .as_ref()
            .and_then(|f| f.parent().map(|p| p.to_path_buf()))
    }

    /// The task's role directory.
    pub fn role_path(&self) -> Option<PathBuf> {
        self.job.eff.role.as_ref().map(|r| r.path.clone())
    }
}

fn eval_bool_kw(
    templar: &Templar,
    v: &Option<Json>,
    scope: &VarScope,
) -> Result<Option<bool>, TemplateError> {
    match v {
        None => Ok(None),
        Some(v) => {
            let t = templar.template_value(v, scope)?;
            Ok(Some(parse_bool(&t).unwrap_or(false)))
        }
    }
}

impl TaskJob {
    /// Runs the task on the host.
    pub async fn run(mut self) -> HostOutcome {
        let templar = self.templar.clone();
        let check = eval_bool_kw(&templar, &self.eff.kw.check_mode, &self.scope)
            .ok()
            .flatten()
            .unwrap_or(self.flags.check);
        let diff = eval_bool_kw(&templar, &self.eff.kw.diff, &self.scope)
            .ok()
            .flatten()
            .unwrap_or(self.flags.diff);
        // As in Ansible, `ansible_check_mode` reflects --check, not a task's `check_mode:`.
        let magic = crate::vars::magic::task_magic(&crate::vars::magic::TaskMagic {
            role: None,
            check_mode: self.flags.check,
            diff_mode: self.flags.diff,
            connection: self.conn.as_ref().ok().map(|c| c.kind()),
        });
        self.scope.push(Layer::Magic, Arc::new(magic));
        let kw = &self.eff.kw;
        let mut dirs = SearchDirs::default();
        let ctx_probe = Ctx {
            job: &self,
            check,
            diff,
            dirs: SearchDirs::default(),
        };
        if let Some(r) = ctx_probe.role_path() {
            dirs.bases.push(r);
        }
        if let Some(d) = ctx_probe.task_dir() {
            dirs.bases.push(d);
        }
        dirs.bases.push(self.flags.playbook_dir.clone());
        dirs.lookup_subdir = loops::lookup_subdir(&self.task.action);
        let ctx = Ctx {
            job: &self,
            check,
            diff,
            dirs,
        };
        let ignore_errors = eval_bool_kw(&templar, &kw.ignore_errors, &self.scope)
            .ok()
            .flatten()
            .unwrap_or(false);
        let no_log = eval_bool_kw(&templar, &kw.no_log, &self.scope)
            .ok()
            .flatten()
            .unwrap_or(false);
        let delegated = match &kw.delegate_to {
            Some(d) => templar
                .template_value(d, &self.scope)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .filter(|d| d != &self.host),
            None => None,
        };
        let delegate_facts = eval_bool_kw(&templar, &kw.delegate_facts, &self.scope)
            .ok()
            .flatten()
            .unwrap_or(false);
        let ignore_unreachable = eval_bool_kw(&templar, &kw.ignore_unreachable, &self.scope)
            .ok()
            .flatten()
            .unwrap_or(false);
        let post = Post {
            ignore_errors,
            ignore_unreachable,
            no_log,
            delegated: delegated.clone(),
            facts_host: delegated.clone().filter(|_| delegate_facts),
        };

        let Some(lp) = self.task.loop_.clone() else {
            let out = run_item(&ctx, &self.scope, None).await;
            return self.finish_single(&ctx, out, &post);
        };

        let items = match loops::expand(&lp, &templar, &self.scope, &ctx.dirs) {
            Ok(items) => items,
            Err(e) => {
                // Ansible defers a loop's undefined variable until it knows the task runs;
                // jig also lets a skipped task's loop use a lookup it lacks (another
                // platform's branch costs nothing).
                if let Ok(Some(out)) = check_when(&ctx, &self.scope) {
                    return self.finish_single(&ctx, out, &post);
                }
                let out = ActionOutput::failed(format!(
                    "{} (at {}): error in the loop on host {}: {e}",
                    ctx.location(),
                    lp.pos,
                    self.host
                ));
                return self.finish_single(&ctx, out, &post);
            }
        };
        let lc = self.task.loop_control.clone().unwrap_or_default();
        let loop_var = lc.loop_var.clone().unwrap_or_else(|| "item".to_string());
        let index_var = lc.index_var.clone();
        let extended = lc
            .extended
            .as_ref()
            .and_then(|e| templar.template_value(e, &self.scope).ok())
            .and_then(|e| parse_bool(&e))
            .unwrap_or(false);
        let pause = lc
            .pause
            .as_ref()
            .and_then(|p| templar.template_value(p, &self.scope).ok())
            .and_then(|p| {
                p.as_f64()
                    .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(0.0);

        let mut squashed = squash_package_loop(&ctx, &self.scope, &items, &loop_var).await;
        let mut results = Vec::new();
        let mut shown = Vec::new();
        let mut facts = VarMap::new();
        let mut gathered = None;
        let mut directives = Vec::new();
        let n = items.len();
        for (i, item) in items.iter().enumerate() {
            if i > 0 && pause > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(pause)).await;
            }
            let mut lv = VarMap::new();
            lv.insert(loop_var.clone(), item.clone());
            lv.insert("ansible_loop_var".into(), json!(loop_var));
            if let Some(iv) = &index_var {
                lv.insert(iv.clone(), json!(i));
                lv.insert("ansible_index_var".into(), json!(iv));
            }
            if extended {
                lv.insert(
                    "ansible_loop".into(),
                    json!({
                        "allitems": items, "index": i + 1, "index0": i,
                        "revindex": n - i, "revindex0": n - i - 1,
                        "first": i == 0, "last": i + 1 == n, "length": n,
                        "previtem": if i > 0 { items[i - 1].clone() } else { Json::Null },
                        "nextitem": items.get(i + 1).cloned().unwrap_or(Json::Null),
                    }),
                );
            }
            let mut item_scope = self.scope.with(Layer::TaskVars, Arc::new(lv.clone()));
            // As in Ansible, an item sees the facts the earlier items set (`set_fact` in a
            // loop accumulates).
            if !facts.is_empty() {
                item_scope.push(Layer::HostFacts, Arc::new(facts.clone()));
            }
            if let Some(g) = &gathered {
                let mut seen = VarMap::new();
                if let Some(af) = self.scope.get("ansible_facts") {
                    seen.insert("ansible_facts".into(), af.clone());
                }
                merge_facts(&mut seen, g);
                item_scope.push(Layer::Facts, Arc::new(seen));
            }
            let label = match &lc.label {
                Some(l) => templar
                    .template_value(l, &item_scope)
                    .map(|v| loops::label_of(&v))
                    .unwrap_or_else(|_| loops::label_of(item)),
                None => loops::label_of(item),
            };
            let mut out = match squashed.as_mut().and_then(|outs| outs.get_mut(i)) {
                Some(o) => std::mem::take(o),
                None => run_item(&ctx, &item_scope, Some(&lv)).await,
            };
            out.result.insert(loop_var.clone(), item.clone());
            out.result
                .insert("ansible_loop_var".into(), json!(loop_var));
            if let Some(iv) = &index_var {
                out.result.insert(iv.clone(), json!(i));
                out.result.insert("ansible_index_var".into(), json!(iv));
            }
            for d in &mut out.directives {
                if let Directive::IncludeTasks { item_label, .. }
                | Directive::IncludeRole { item_label, .. } = d
                {
                    *item_label = Some(label.clone());
                }
            }
            let status = out.status(post.ignore_errors);
            shown.push(self.task_result(&out, status, Some(label), &post));
            facts.extend(std::mem::take(&mut out.facts));
            if let Some(g) = out.gathered.take() {
                merge_facts(gathered.get_or_insert_with(VarMap::new), &g);
            }
            directives.extend(std::mem::take(&mut out.directives));
            results.push((status, out));
        }

        let any = |s: Status| results.iter().any(|(st, _)| *st == s);
        let changed = results.iter().any(|(_, o)| o.flag("changed"));
        let failed = results.iter().any(|(_, o)| o.flag("failed"));
        let unreachable = any(Status::Unreachable);
        let all_skipped = !results.is_empty() && results.iter().all(|(s, _)| *s == Status::Skipped);
        let mut agg = Map::new();
        agg.insert("changed".into(), json!(changed));
        agg.insert("failed".into(), json!(failed));
        if results.is_empty() {
            agg.insert("skipped".into(), json!(true));
            agg.insert("skipped_reason".into(), json!("No items in the list"));
        } else if all_skipped {
            agg.insert("skipped".into(), json!(true));
        }
        agg.insert(
            "msg".into(),
            json!(if failed {
                "One or more items failed"
            } else {
                "All items completed"
            }),
        );
        agg.insert(
            "results".into(),
            Json::Array(
                results
                    .iter()
                    .map(|(_, o)| Json::Object(o.result.clone()))
                    .collect(),
            ),
        );
        let status = if unreachable {
            Status::Unreachable
        } else if failed {
            if post.ignore_errors {
                Status::Ignored
            } else {
                Status::Failed
            }
        } else if results.is_empty() || all_skipped {
            Status::Skipped
        } else if changed {
            Status::Changed
        } else {
            Status::Ok
        };
        let agg_out = ActionOutput {
            result: agg.clone(),
            ..ActionOutput::default()
        };
        let mut summary = self.task_result(&agg_out, status, None, &post);
        if post.no_log {
            summary.result = censored(changed);
        }
        HostOutcome {
            host: self.host.clone(),
            items: shown,
            summary,
            looped: true,
            status,
            register: self.task.register.clone().map(|r| (r, Json::Object(agg))),
            facts,
            gathered,
            notify: if changed {
                self.notify_names()
            } else {
                Vec::new()
            },
            directives,
            facts_host: post.facts_host.clone(),
        }
    }

    fn finish_single(&self, _ctx: &Ctx<'_>, mut out: ActionOutput, post: &Post) -> HostOutcome {
        let status = out.status(post.ignore_errors);
        let summary = self.task_result(&out, status, None, post);
        let changed = out.flag("changed");
        HostOutcome {
            host: self.host.clone(),
            items: Vec::new(),
            summary,
            looped: false,
            status,
            register: self
                .task
                .register
                .clone()
                .map(|r| (r, Json::Object(out.result.clone()))),
            facts: std::mem::take(&mut out.facts),
            gathered: out.gathered.take(),
            notify: if changed && status != Status::Failed {
                self.notify_names()
            } else {
                Vec::new()
            },
            directives: std::mem::take(&mut out.directives),
            facts_host: post.facts_host.clone(),
        }
    }

    fn notify_names(&self) -> Vec<String> {
        self.eff
            .notify
            .iter()
            .map(|n| {
                if crate::template::is_template(n) {
                    self.templar
                        .render_str(n, &self.scope)
                        .unwrap_or_else(|_| n.clone())
                } else {
                    n.clone()
                }
            })
            .collect()
    }

    fn task_result(
        &self,
        out: &ActionOutput,
        status: Status,
        label: Option<String>,
        post: &Post,
    ) -> TaskResult {
        let msg = out.result.get("msg").and_then(|m| match m {
            Json::String(s) => Some(s.clone()),
            Json::Null => None,
            other => Some(loops::compact(other)),
        });
        // A message made up for a failure without one (`run_item`) is not a cause of its own.
        // Under no_log the cause is censored too: 2.19 prints it, but a failure message is as
        // likely as any result key to carry the secret (docs/differences.md).
        let error = matches!(
            status,
            Status::Failed | Status::Ignored | Status::Unreachable
        )
        .then(|| {
            let unknown = TaskError {
                source: out.failure,
                message: None,
            };
            TaskError {
                message: msg.clone().filter(|m| *m != unknown.headline()),
                ..unknown
            }
        });
        if post.no_log {
            return TaskResult {
                host: self.host.clone(),
                delegated_to: post.delegated.clone(),
                status,
                item_label: label.map(|_| "(censored due to no_log)".to_string()),
                msg: None,
                diffs: Vec::new(),
                result: censor(&out.result),
                debug_output: None,
                error: error.map(|e| TaskError {
                    message: Some(NO_LOG_NOTICE.to_string()),
                    ..e
                }),
                ignore_unreachable: post.ignore_unreachable,
            };
        }
        let debug_output = match &out.debug_output {
            None if out.verbose_always => {
                let mut shown = out.result.clone();
                shown.remove("failed");
                shown.remove("skipped");
                Some(Json::Object(shown))
            }
            other => other.clone(),
        };
        TaskResult {
            host: self.host.clone(),
            delegated_to: post.delegated.clone(),
            status,
            item_label: label,
            msg,
            diffs: out.diffs.clone(),
            result: out.result.clone(),
            debug_output,
            error,
            ignore_unreachable: post.ignore_unreachable,
        }
    }
}

struct Post {
    ignore_errors: bool,
    ignore_unreachable: bool,
    no_log: bool,
    delegated: Option<String>,
    facts_host: Option<String>,
}

/// A `no_log` result as Ansible shows it: the notice, and only the keys it keeps (`changed`,
/// `until`'s `attempts` and `retries`, warnings).
fn censor(result: &Map<String, Json>) -> Map<String, Json> {
    let mut m = censored(result.get("changed").and_then(parse_bool).unwrap_or(false));
    for k in ["attempts", "retries", "warnings", "deprecations"] {
        if let Some(v) = result.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    m
}

fn censored(changed: bool) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("censored".into(), json!(NO_LOG_NOTICE));
    m.insert("changed".into(), json!(changed));
    m
}

/// The text of a condition, for `false_condition` and messages.
fn condition_text(c: &Json) -> Json {
    match c {
        Json::String(_) | Json::Bool(_) => c.clone(),
        other => json!(loops::compact(other)),
    }
}

/// Evaluates the task's `when`: `Ok(None)` when it holds, `Ok(Some(skipped))` when it does not.
fn check_when(ctx: &Ctx<'_>, scope: &VarScope) -> Result<Option<ActionOutput>, Box<ActionOutput>> {
    for c in &ctx.job.eff.when {
        match ctx.job.templar.eval_condition(c, scope) {
            Ok(true) => {}
            Ok(false) => {
                let mut out = ActionOutput::new(false, false, None);
                out.result.insert("skipped".into(), json!(true));
                out.result
                    .insert("skip_reason".into(), json!("Conditional result was False"));
                out.result
                    .insert("false_condition".into(), condition_text(c));
                return Ok(Some(out));
            }
            Err(e) => {
                return Err(Box::new(ActionOutput::failed(ctx.template_failure(
                    &format!("the condition {}", condition_text(c)),
                    &e,
                ))));
            }
        }
    }
    Ok(None)
}

/// `apt`/`package` looping over package names (`name: "{{ item }}"`) runs as ONE module call
/// with every name (one probe, one `apt-get install`), as Ansible's old `squash_actions` did;
/// each item then reports whether apt acted on its package. Returns None (run item by item)
/// unless every item's `when` holds, the arguments differ only in the name, and no
/// `until`/`retries`/`changed_when`/`failed_when` needs per-item runs.
async fn squash_package_loop(
    ctx: &Ctx<'_>,
    scope: &VarScope,
    items: &[Json],
    loop_var: &str,
) -> Option<Vec<ActionOutput>> {
    let task = &ctx.job.task;
    if !matches!(task.action.as_str(), "apt" | "package")
        || items.len() < 2
        || task.until.is_some()
        || task.retries.is_some()
        || task.changed_when.is_some()
        || task.failed_when.is_some()
    {
        return None;
    }
    let mut per_item = Vec::new();
    let mut first_scope = None;
    for item in items {
        let mut lv = VarMap::new();
        lv.insert(loop_var.to_string(), item.clone());
        let item_scope = scope.with(Layer::TaskVars, Arc::new(lv));
        if !matches!(check_when(ctx, &item_scope), Ok(None)) {
            return None;
        }
        let args = actions::template_args(ctx, &item_scope, &task.args).ok()?;
        per_item.push(ModuleArgs::new(task.action.clone(), args));
        first_scope.get_or_insert(item_scope);
    }
    let merged = crate::modules::apt::squash(&per_item)?;
    let values: VarMap = merged
        .keys()
        .filter_map(|k| merged.get(k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let out = run_module(ctx, &first_scope?, values).await;
    let stdout = out
        .result
        .get("stdout")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    Some(
        per_item
            .iter()
            .map(|a| {
                // apt results carry no facts or directives: result, diffs and reachability
                // are all there is to share.
                let mut o = ActionOutput {
                    result: out.result.clone(),
                    diffs: out.diffs.clone(),
                    unreachable: out.unreachable,
                    failure: out.failure,
                    ..ActionOutput::default()
                };
                if o.flag("changed") && !o.flag("failed") {
                    let name = ["name", "pkg", "package"]
                        .iter()
                        .find_map(|k| a.get(k).and_then(Json::as_str))
                        .unwrap_or("");
                    let mine = crate::modules::apt::item_changed(&stdout, name);
                    o.result.insert("changed".into(), json!(mine));
                    if !mine {
                        o.diffs.clear();
                        o.result.shift_remove("diff");
                    }
                }
                o
            })
            .collect(),
    )
}

/// Runs one item (or the whole task when there is no loop): `when`, the action with `until`
/// retries, then `changed_when`/`failed_when`.
async fn run_item(ctx: &Ctx<'_>, scope: &VarScope, loop_vars: Option<&VarMap>) -> ActionOutput {
    match check_when(ctx, scope) {
        Ok(None) => {}
        Ok(Some(skipped)) => return skipped,
        Err(failed) => return *failed,
    }
    let mut out = run_attempts(ctx, scope, loop_vars).await;
    // 2.19 gives a failure without a message the one its error shows, in the registered
    // result too: `Task failed: Action failed: Unknown error.`
    if out.flag("failed") && !out.unreachable && !out.result.contains_key("msg") {
        let error = TaskError {
            source: out.failure,
            message: None,
        };
        out.result.insert("msg".into(), json!(error.headline()));
    }
    out
}

/// The action, run again while `until` (or, with `retries` alone, success) does not hold,
/// as ansible-core 2.19 does: one run plus `retries` (3 when only `until` is given), each
/// retry announced as a [`Event::Retry`].
async fn run_attempts(ctx: &Ctx<'_>, scope: &VarScope, loop_vars: Option<&VarMap>) -> ActionOutput {
    let task = &ctx.job.task;
    let templar = &ctx.job.templar;
    let retries = task
        .retries
        .as_ref()
        .and_then(|r| templar.template_value(r, scope).ok())
        .and_then(|r| {
            r.as_i64()
                .or_else(|| r.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .map(|r| r.max(0).unsigned_abs());
    let attempts_allowed = 1 + retries.unwrap_or(if task.until.is_some() { 3 } else { 0 });
    let delay = task
        .delay
        .as_ref()
        .and_then(|d| templar.template_value(d, scope).ok())
        .and_then(|d| {
            d.as_f64()
                .or_else(|| d.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .unwrap_or(5.0);
    let timeout = task
        .keywords
        .timeout
        .as_ref()
        .or(ctx.job.eff.kw.timeout.as_ref())
        .and_then(|t| templar.template_value(t, scope).ok())
        .and_then(|t| {
            t.as_f64()
                .or_else(|| t.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .filter(|t| *t > 0.0);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let run = actions::dispatch(ctx, scope, loop_vars);
        let mut out = match timeout {
            Some(secs) => match tokio::time::timeout(Duration::from_secs_f64(secs), run).await {
                Ok(out) => out,
                Err(_) => {
                    return ActionOutput::failed(format!(
                        "The {} action failed to execute in the expected time frame ({secs}) \
                         and was terminated",
                        task.action
                    ));
                }
            },
            None => run.await,
        };
        if out.unreachable {
            return out;
        }
        // As in Ansible, `changed_when`/`failed_when` already see the attempt's number.
        if attempts_allowed > 1 {
            out.result.insert("attempts".into(), json!(attempt));
        }
        if let Err(msg) = post_conditions(ctx, scope, &mut out) {
            return ActionOutput::failed(msg);
        }
        if attempts_allowed <= 1 {
            return out;
        }
        let done = match &task.until {
            Some(until) => {
                let bound = bind_register(scope, task, &out);
                match templar.eval_condition(until, &bound) {
                    Ok(b) => b,
                    Err(e) => return ActionOutput::failed(ctx.template_failure("until", &e)),
                }
            }
            None => !out.flag("failed"),
        };
        if done {
            return out;
        }
        if attempt >= attempts_allowed {
            // Ansible's own number when retries run out: `attempts` is the retries asked for.
            out.result.insert("failed".into(), json!(true));
            out.result
                .insert("attempts".into(), json!(attempts_allowed - 1));
            return out;
        }
        out.result.insert("retries".into(), json!(attempts_allowed));
        announce_retry(ctx, scope, &out, attempts_allowed - attempt);
        tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
    }
}

/// The next task of `set` to finish, showing on `out` the progress events (`until` retries)
/// its jobs send on `progress` meanwhile: they appear as they happen, each before the result
/// of the host it belongs to.
pub async fn join_next_showing<T: 'static>(
    set: &mut tokio::task::JoinSet<T>,
    progress: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    out: &mut dyn crate::report::Renderer,
) -> Option<Result<(tokio::task::Id, T), tokio::task::JoinError>> {
    loop {
        tokio::select! {
            biased;
            Some(e) = progress.recv() => out.event(&e),
            joined = set.join_next_with_id() => {
                // A job's events were all sent before it finished.
                while let Ok(e) = progress.try_recv() {
                    out.event(&e);
                }
                return joined;
            }
        }
    }
}

/// Sends the [`Event::Retry`] for a failed attempt to whoever shows progress: the task's name
/// as 2.19 shows it there (templated, without the role prefix) and the attempt's result,
/// censored under `no_log`.
fn announce_retry(ctx: &Ctx<'_>, scope: &VarScope, out: &ActionOutput, retries_left: u64) {
    let job = ctx.job;
    let Some(progress) = &job.progress else {
        return;
    };
    let templar = &job.templar;
    let task = match &job.task.name {
        Some(n) if crate::template::is_template(n) => {
            templar.render_str(n, scope).unwrap_or_else(|_| n.clone())
        }
        Some(n) => n.clone(),
        None => job.task.action.clone(),
    };
    let no_log = eval_bool_kw(templar, &job.eff.kw.no_log, scope)
        .ok()
        .flatten()
        .unwrap_or(false);
    let delegated_to = job
        .eff
        .kw
        .delegate_to
        .as_ref()
        .and_then(|d| templar.template_value(d, scope).ok())
        .and_then(|d| d.as_str().map(str::to_string))
        .filter(|d| *d != job.host);
    let attempt = TaskResult {
        host: job.host.clone(),
        delegated_to,
        status: out.status(false),
        item_label: None,
        msg: None,
        diffs: Vec::new(),
        result: if no_log {
            censor(&out.result)
        } else {
            out.result.clone()
        },
        debug_output: None,
        error: None,
        ignore_unreachable: false,
    };
    // Nobody listening any more (the run is ending) is no reason to stop retrying.
    let _ = progress.send(Event::Retry {
        task,
        retries_left,
        attempt,
    });
}

/// A scope where the task's `register` name already holds `out`'s result, as `changed_when`,
/// `failed_when` and `until` see it.
fn bind_register(scope: &VarScope, task: &Task, out: &ActionOutput) -> VarScope {
    let mut m = VarMap::new();
    if let Some(r) = &task.register {
        m.insert(r.clone(), Json::Object(out.result.clone()));
    }
    // Ansible also exposes the result's keys directly to these conditions (`rc`, `stdout`).
    for (k, v) in &out.result {
        m.entry(k.clone()).or_insert_with(|| v.clone());
    }
    scope.with(Layer::TaskVars, Arc::new(m))
}

fn post_conditions(ctx: &Ctx<'_>, scope: &VarScope, out: &mut ActionOutput) -> Result<(), String> {
    let task = &ctx.job.task;
    let templar = &ctx.job.templar;
    if out.flag("skipped") {
        return Ok(());
    }
    if let Some(cw) = &task.changed_when {
        let bound = bind_register(scope, task, out);
        let changed = all_conditions(templar, cw, &bound)
            .map_err(|e| ctx.template_failure("changed_when", &e))?;
        out.result.insert("changed".into(), json!(changed));
    }
    if let Some(fw) = &task.failed_when {
        let bound = bind_register(scope, task, out);
        let failed = all_conditions(templar, fw, &bound)
            .map_err(|e| ctx.template_failure("failed_when", &e))?;
        out.result.insert("failed".into(), json!(failed));
        out.result
            .insert("failed_when_result".into(), json!(failed));
    }
    Ok(())
}

/// A `changed_when`/`failed_when` value: a list means all conditions must hold.
fn all_conditions(templar: &Templar, cond: &Json, scope: &VarScope) -> Result<bool, TemplateError> {
    match cond {
        Json::Array(items) => {
            for c in items {
                if !templar.eval_condition(c, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        other => templar.eval_condition(other, scope),
    }
}

/// Connection variables a module's facts may not set as top-level variables (Ansible's
/// `clean_facts`: a fact must never redirect the connection). They stay under `ansible_facts`.
const CONNECTION_FACTS: &[&str] = &[
    "ansible_connection",
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_password",
    "ansible_private_key_file",
    "ansible_pipelining",
    "ansible_timeout",
    "ansible_shell_type",
    "ansible_shell_executable",
    "ansible_module_compression",
    "ansible_python_interpreter",
];

fn is_connection_fact(k: &str) -> bool {
    CONNECTION_FACTS.contains(&k)
        || k.starts_with("ansible_become")
        || k.starts_with("ansible_sudo")
        || (k.starts_with("ansible_ssh_") && !k.starts_with("ansible_ssh_host_key_"))
}

/// The variables a module's `ansible_facts` become, as Ansible injects them: every key under
/// `ansible_facts` without its `ansible_` prefix (`getent_passwd`, `packages`, `distribution`),
/// and every key as a top-level variable under its own name (`getent_passwd`,
/// `ansible_distribution`), except connection variables and `discovered_interpreter_*`.
pub fn module_fact_vars(facts: &Map<String, Json>) -> VarMap {
    let mut vars = VarMap::new();
    let mut ns = Map::new();
    for (k, v) in facts {
        if k.starts_with("discovered_interpreter_") || k.starts_with("ansible_discovered_") {
            continue;
        }
        let short = match k.strip_prefix("ansible_") {
            Some(s) if k != "ansible_local" && !s.is_empty() => s,
            _ => k.as_str(),
        };
        ns.insert(short.to_string(), v.clone());
        if !is_connection_fact(k) && k != "ansible_facts" {
            vars.insert(k.clone(), v.clone());
        }
    }
    vars.insert("ansible_facts".into(), Json::Object(ns));
    vars
}

/// Merges facts into a host's facts as Ansible's fact cache does: each new top-level variable
/// replaces the old one, and `ansible_facts` is updated key by key, so facts from `setup`,
/// `package_facts` and `getent` live side by side.
pub fn merge_facts(into: &mut VarMap, new: &VarMap) {
    for (k, v) in new {
        match (k.as_str(), into.get_mut(k), v) {
            ("ansible_facts", Some(Json::Object(old)), Json::Object(add)) => {
                for (fk, fv) in add {
                    old.insert(fk.clone(), fv.clone());
                }
            }
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Renders template files for the `template` module with the task's variables.
pub struct ScopeRenderer {
    /// The engine.
    pub templar: Templar,
    /// The task's scope.
    pub scope: VarScope,
    /// The task's search path (role, task file's directory, playbook directory), where
    /// `{% include %}`/`{% extends %}` look.
    pub search: Vec<std::path::PathBuf>,
}

impl TemplateRenderer for ScopeRenderer {
    fn render_file(&self, path: &std::path::Path) -> Result<String, String> {
        self.templar
            .render_file_in(path, &self.scope, &self.search)
            .map_err(|e| e.to_string())
    }
}

/// `environment:` of the task, templated and merged in order.
pub fn environment(ctx: &Ctx<'_>, scope: &VarScope) -> Result<IndexMap<String, String>, String> {
    let mut env = IndexMap::new();
    for e in &ctx.job.eff.kw.environment {
        let v = ctx
            .job
            .templar
            .template_value(e, scope)
            .map_err(|err| ctx.template_failure("environment", &err))?;
        match v {
            Json::Object(m) => {
                for (k, v) in m {
                    env.insert(k, scalar_string(&v));
                }
            }
            Json::Null => {}
            other => {
                return Err(format!(
                    "{}: environment must be a mapping, got {}",
                    ctx.location(),
                    loops::compact(&other)
                ));
            }
        }
    }
    Ok(env)
}

/// A scalar as Ansible stringifies it for environment values and arguments.
pub fn scalar_string(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// Privilege escalation for the task (`become*` keywords, then `ansible_become*` variables).
pub fn become_for(ctx: &Ctx<'_>, scope: &VarScope) -> Result<Option<Become>, String> {
    let templar = &ctx.job.templar;
    let kw = &ctx.job.eff.kw;
    let get = |kwv: &Option<Json>, var: &str| -> Result<Option<Json>, String> {
        let raw = kwv.clone().or_else(|| scope.get(var).cloned());
        raw.map(|r| {
            templar
                .template_value(&r, scope)
                .map_err(|e| ctx.template_failure(var, &e))
        })
        .transpose()
    };
    let on = get(&kw.become_, "ansible_become")?
        .and_then(|v| parse_bool(&v))
        .unwrap_or(false);
    if !on {
        return Ok(None);
    }
    let mut b = Become::default();
    if let Some(u) = get(&kw.become_user, "ansible_become_user")?
        && !u.is_null()
    {
        b.user = scalar_string(&u);
    }
    if let Some(m) = get(&kw.become_method, "ansible_become_method")? {
        let m = scalar_string(&m);
        b.method = BecomeMethod::parse(&m).ok_or_else(|| {
            format!(
                "{}: become_method '{m}' is not supported by jig (use sudo or su)",
                ctx.location()
            )
        })?;
    }
    if let Some(f) = get(&kw.become_flags, "ansible_become_flags")? {
        let f = scalar_string(&f);
        b.flags = shlex::split(&f)
            .ok_or_else(|| format!("{}: cannot split become_flags '{f}'", ctx.location()))?;
    }
    Ok(Some(b))
}

/// The connection for this task: the host's own, or the controller's for
/// `delegate_to: localhost` (and hosts that use the local transport).
pub fn connection_for(ctx: &Ctx<'_>, scope: &VarScope) -> Result<Arc<Connection>, String> {
    let job = ctx.job;
    // `connection: local` on the play, block or task runs it on the controller.
    if let Some(c) = &job.eff.kw.connection {
        let c = job
            .templar
            .template_value(c, scope)
            .map_err(|e| ctx.template_failure("connection", &e))?;
        match scalar_string(&c).as_str() {
            "local" => return Ok(job.local.clone()),
            "ssh" | "smart" | "paramiko" => {}
            other => {
                return Err(format!(
                    "{}: the '{other}' connection is not supported by jig (use local)",
                    ctx.location()
                ));
            }
        }
    }
    let Some(d) = &job.eff.kw.delegate_to else {
        return job.conn.clone();
    };
    let target = job
        .templar
        .template_value(d, scope)
        .map_err(|e| ctx.template_failure("delegate_to", &e))?;
    let target = scalar_string(&target);
    if target == job.host {
        return job.conn.clone();
    }
    if super::connect::is_local_name(&target) {
        return Ok(job.local.clone());
    }
    let their_scope = scope.hostvars().and_then(|hv| hv.scope_of(&target));
    let their_conn = their_scope
        .as_ref()
        .and_then(|s| s.get("ansible_connection").cloned());
    if their_conn.as_ref().and_then(Json::as_str) == Some("local") {
        return Ok(job.local.clone());
    }
    let transport = their_conn.as_ref().map(scalar_string);
    super::connect::open(&target, transport.as_deref(), &job.flags.ssh, || {
        match &their_scope {
            Some(s) => super::connect::connection_vars(&job.templar, s, &target),
            // A host outside the inventory is reached by its name with the run's defaults.
            None => Ok(crate::vars::VarMap::new()),
        }
    })
    .map_err(|e| format!("cannot delegate to {target}: {e}"))
}

/// Runs a module from the registry.
pub async fn run_module(ctx: &Ctx<'_>, scope: &VarScope, args: VarMap) -> ActionOutput {
    let job = ctx.job;
    let task = &job.task;
    let Some(module) = crate::modules::lookup(&task.action) else {
        return ActionOutput::failed(unknown_module_message(ctx));
    };
    let conn = match connection_for(ctx, scope) {
        Ok(c) => c,
        Err(msg) => return ActionOutput::unreachable(msg),
    };
    let env = match environment(ctx, scope) {
        Ok(e) => e,
        Err(m) => return ActionOutput::failed(m),
    };
    let become_ = match become_for(ctx, scope) {
        Ok(b) => b,
        Err(m) => return ActionOutput::failed(m),
    };
    let files = crate::modules::search::TaskFiles {
        role_path: ctx.role_path(),
        playbook_dir: job.flags.playbook_dir.clone(),
        task_dir: ctx.task_dir(),
    };
    let renderer = ScopeRenderer {
        templar: job.templar.clone(),
        scope: scope.clone(),
        search: ctx.dirs.bases.clone(),
    };
    // What jig knows of the host's files is the host's own: a delegated task starts afresh.
    let (known, predicted) = match &job.conn {
        Ok(own) if Arc::ptr_eq(own, &conn) => (
            job.flags.known.for_host(&job.host),
            job.flags.predicted.for_host(&job.host),
        ),
        _ => Default::default(),
    };
    let mctx = ModuleContext {
        conn: &conn,
        host: &job.host,
        check_mode: ctx.check,
        diff_mode: ctx.diff,
        become_,
        environment: &env,
        files: &files,
        templates: &renderer,
        known: &known,
        predicted: &predicted,
    };
    let margs = ModuleArgs::new(task.action.clone(), args);
    match module.run(&margs, &mctx).await {
        Ok(r) => module_output(r, ctx.diff),
        Err(ModuleError::Args(e)) => ActionOutput::failed(format!("{}: {e}", ctx.location())),
        Err(ModuleError::Connection(e)) => ActionOutput::unreachable(e.to_string()),
    }
}

/// A module's result as the task's output: Ansible's result keys, the diffs under `--diff`, and
/// the module's `ansible_facts` as facts for the host.
fn module_output(r: crate::modules::ModuleResult, diff: bool) -> ActionOutput {
    let mut out = ActionOutput::new(r.changed, r.failed, r.msg.clone());
    if r.failed {
        out.failure = FailureSource::Module;
    }
    if r.skipped {
        out.result.insert("skipped".into(), json!(true));
    }
    for (k, v) in r.values {
        out.result.entry(k).or_insert(v);
    }
    if diff && !r.diffs.is_empty() {
        out.result.insert(
            "diff".into(),
            Json::Array(r.diffs.iter().map(diff_json).collect()),
        );
    }
    out.diffs = if diff { r.diffs } else { Vec::new() };
    if let Some(Json::Object(facts)) = out.result.get("ansible_facts") {
        out.gathered = Some(module_fact_vars(facts));
    }
    out
}

fn unknown_module_message(ctx: &Ctx<'_>) -> String {
    let task = &ctx.job.task;
    let written = if task.action_as_written.is_empty() {
        task.action.clone()
    } else {
        task.action_as_written.clone()
    };
    if COMMON_MODULES.contains(&task.action.as_str()) {
        return format!(
            "{}: the module '{written}' (at {}) is not implemented by jig yet",
            ctx.location(),
            task.action_pos
        );
    }
    let mut names: Vec<&str> = crate::modules::names();
    names.extend(actions::ACTION_NAMES);
    names.extend(COMMON_MODULES);
    let suggestion = names
        .iter()
        .filter(|n| **n != task.action)
        .map(|n| (edit_distance(&task.action, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min()
        .map(|(_, n)| format!(" Did you mean '{n}'?"))
        .unwrap_or_default();
    format!(
        "{}: couldn't resolve module/action '{written}' (at {}): jig does not know it; check the \
         spelling.{suggestion}",
        ctx.location(),
        task.action_pos
    )
}

/// Ansible's most used modules (COMPAT.md, table A2), so a misspelling is caught even for a
/// module jig does not have yet.
const COMMON_MODULES: &[&str] = &[
    "template",
    "file",
    "command",
    "service",
    "copy",
    "package",
    "stat",
    "apt",
    "shell",
    "systemd",
    "lineinfile",
    "user",
    "get_url",
    "group",
    "yum",
    "unarchive",
    "git",
    "apt_repository",
    "cron",
    "package_facts",
    "ufw",
    "sysctl",
    "systemd_service",
    "find",
    "slurp",
    "blockinfile",
    "getent",
    "authorized_key",
    "replace",
    "mount",
    "uri",
    "fetch",
    "apt_key",
    "import_tasks",
    "import_role",
    "script",
    "pip",
    "reboot",
    "service_facts",
    "raw",
    "wait_for",
];

/// Levenshtein distance, for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A diff as Ansible registers it.
pub fn diff_json(d: &Diff) -> Json {
    match d {
        Diff::Text {
            before_header,
            after_header,
            before,
            after,
        } => json!({
            "before_header": before_header, "after_header": after_header,
            "before": before, "after": after,
        }),
        Diff::Fields {
            path,
            before,
            after,
        } => {
            let mut b = Map::new();
            b.insert("path".into(), json!(path));
            for (k, v) in before {
                b.insert(k.clone(), json!(v));
            }
            let mut a = Map::new();
            a.insert("path".into(), json!(path));
            for (k, v) in after {
                a.insert(k.clone(), json!(v));
            }
            json!({"before": b, "after": a})
        }
        Diff::Summary(s) => json!({"prepared": s}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::connection::local::LocalConnection;

    fn job(kw: Keywords, vars: VarMap) -> TaskJob {
        let task = Task {
            name: Some("t".into()),
            action: "command".into(),
            keywords: kw.clone(),
            ..Task::default()
        };
        let eff = Effective {
            when: Vec::new(),
            tags: Vec::new(),
            kw,
            role: None,
            notify: Vec::new(),
        };
        let mut scope = VarScope::new();
        scope.push(Layer::HostVars, Arc::new(vars));
        TaskJob {
            task: Arc::new(task),
            eff: Arc::new(eff),
            display_name: "t".into(),
            host: "h".into(),
            scope,
            conn: Err("no transport".into()),
            local: Arc::new(Connection::Local(LocalConnection::new("localhost"))),
            templar: Templar::new(),
            flags: Arc::new(Flags {
                check: false,
                diff: false,
                verbosity: 0,
                playbook_dir: PathBuf::from("/"),
                ssh: Arc::new(crate::connection::ssh::SshHub::default()),
                known: Default::default(),
                predicted: Default::default(),
            }),
            progress: None,
        }
    }

    fn ctx(job: &TaskJob) -> Ctx<'_> {
        Ctx {
            job,
            check: false,
            diff: false,
            dirs: SearchDirs::default(),
        }
    }

    #[test]
    fn become_comes_from_keywords_then_connection_variables() {
        let kw = Keywords {
            become_: Some(json!("{{ do_become }}")),
            become_user: Some(json!("app user")),
            become_flags: Some(json!("-E --preserve-env='A B'")),
            ..Keywords::default()
        };
        let mut vars = VarMap::new();
        vars.insert("do_become".into(), json!("yes"));
        let j = job(kw, vars.clone());
        let b = become_for(&ctx(&j), &j.scope).unwrap().unwrap();
        assert_eq!(b.user, "app user");
        assert_eq!(b.method, BecomeMethod::Sudo);
        assert_eq!(b.flags, vec!["-E", "--preserve-env=A B"]);

        vars.insert("ansible_become".into(), json!(true));
        vars.insert("ansible_become_method".into(), json!("su"));
        let j = job(Keywords::default(), vars.clone());
        let b = become_for(&ctx(&j), &j.scope).unwrap().unwrap();
        assert_eq!((b.user.as_str(), b.method), ("root", BecomeMethod::Su));

        vars.insert("ansible_become_method".into(), json!("doas"));
        let j = job(Keywords::default(), vars);
        let e = become_for(&ctx(&j), &j.scope).unwrap_err();
        assert!(e.contains("doas") && e.contains("task 't'"), "{e}");

        let j = job(Keywords::default(), VarMap::new());
        assert_eq!(become_for(&ctx(&j), &j.scope).unwrap(), None);
    }

    #[test]
    fn environment_merges_in_order_and_stringifies() {
        let kw = Keywords {
            environment: vec![
                json!({"A": 1, "B": "x"}),
                json!({"B": "{{ b }}", "C": true}),
            ],
            ..Keywords::default()
        };
        let mut vars = VarMap::new();
        vars.insert("b".into(), json!("y $(z)"));
        let j = job(kw, vars);
        let env = environment(&ctx(&j), &j.scope).unwrap();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, vec![("A", "1"), ("B", "y $(z)"), ("C", "True")]);
    }

    #[tokio::test]
    async fn a_host_without_transport_is_unreachable_for_modules() {
        let mut j = job(Keywords::default(), VarMap::new());
        j.task = Arc::new(Task {
            action: "command".into(),
            args: [("_raw_params".to_string(), json!("true"))]
                .into_iter()
                .collect(),
            ..Task::default()
        });
        let out = j.run().await;
        assert_eq!(out.status, Status::Unreachable);
        assert_eq!(out.summary.msg.as_deref(), Some("no transport"));
    }

    #[test]
    fn module_facts_become_namespaced_and_top_level_variables() {
        let mut r = crate::modules::ModuleResult::changed();
        r.values.insert(
            "ansible_facts".into(),
            json!({
                "getent_passwd": {"root": ["x", "0"]},
                "ansible_pkg_mgr": "apt",
                "ansible_local": {"app": {"v": 1}},
                "ansible_host": "evil.example",
                "ansible_become_user": "nobody",
                "discovered_interpreter_python": "/usr/bin/python3",
            }),
        );
        let out = module_output(r, false);
        assert_eq!(out.result["changed"], json!(true));
        let g = out.gathered.expect("module facts");
        assert_eq!(g["getent_passwd"], json!({"root": ["x", "0"]}));
        assert_eq!(g["ansible_pkg_mgr"], json!("apt"));
        assert_eq!(g["ansible_local"], json!({"app": {"v": 1}}));
        // A fact must not redirect the connection; it stays visible under ansible_facts.
        assert!(!g.contains_key("ansible_host") && !g.contains_key("ansible_become_user"));
        assert_eq!(
            g["ansible_facts"],
            json!({
                "getent_passwd": {"root": ["x", "0"]},
                "pkg_mgr": "apt",
                "ansible_local": {"app": {"v": 1}},
                "host": "evil.example",
                "become_user": "nobody",
            })
        );
        assert!(
            module_output(crate::modules::ModuleResult::ok(), false)
                .gathered
                .is_none()
        );
    }

    #[test]
    fn merged_facts_keep_earlier_ones() {
        let mut have = VarMap::new();
        have.insert("ansible_distribution".into(), json!("Debian"));
        have.insert(
            "ansible_facts".into(),
            json!({"distribution": "Debian", "packages": {}}),
        );
        let mut new = VarMap::new();
        new.insert("packages".into(), json!({"jq": [{"version": "1.6"}]}));
        new.insert(
            "ansible_facts".into(),
            json!({"packages": {"jq": [{"version": "1.6"}]}}),
        );
        merge_facts(&mut have, &new);
        assert_eq!(have["ansible_distribution"], json!("Debian"));
        assert_eq!(have["packages"], json!({"jq": [{"version": "1.6"}]}));
        assert_eq!(
            have["ansible_facts"],
            json!({"distribution": "Debian", "packages": {"jq": [{"version": "1.6"}]}})
        );
    }

    #[test]
    fn suggestions_use_edit_distance() {
        assert_eq!(edit_distance("tempalte", "template"), 2);
        assert_eq!(edit_distance("copy", "copy"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn scalars_stringify_like_ansible() {
        assert_eq!(scalar_string(&json!(true)), "True");
        assert_eq!(scalar_string(&json!(8080)), "8080");
        assert_eq!(scalar_string(&json!("a b")), "a b");
    }
}

//! The scheduler: plays x hosts with the `linear` and `free` strategies.
//!
//! Linear: each task runs on every active host of the play at once (at most `forks` at a
//! time); its results reach the renderer in completion order, and the next task starts when all
//! hosts are done. Free: each host gets its own runner for the batch and goes through the play
//! without waiting for the others (`run_free`). Blocks, rescue/always, includes (grouped by file, like Ansible), handlers and `meta`
//! are carried out here; what one task does on one host is in [`super::task`].
//!
//! State that outlives a play (facts, `set_fact`/`register` values, connections, stats) is in
//! [`HostState`]; state of one play (failed/ended hosts, notified handlers) is in `PlayState`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use indexmap::{IndexMap, IndexSet};
use serde_json::{Value as Json, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::keywords::{Inherit, merge};
use super::task::{Directive, Flags, HostOutcome, TaskJob};
use super::{RunError, RunOptions, connect};
use crate::connection::Connection;
use crate::connection::local::LocalConnection;
use crate::inventory::Inventory;
use crate::playbook::{
    self, Block, Keywords, LoadOptions, Play, Role, RoleRequest, Task, TaskItem,
};
use crate::report::{Event, HostStats, Renderer, Status, TaskResult};
use crate::template::{OMIT, Templar};
use crate::vars::hostvars::HostVarsTable;
use crate::vars::magic::{self, HostMagic, PlayMagic, TaskMagic};
use crate::vars::{Layer, VarMap, VarScope};

/// The key in `Runner::answers` that records the "not prompting" warning was shown (it cannot
/// clash with a prompt's key, which holds a NUL).
const NOT_PROMPTING: &str = "not prompting";

type Boxed<'a> = Pin<Box<dyn Future<Output = Result<(), RunError>> + 'a>>;

/// What persists for a host across plays.
#[derive(Clone, Default)]
struct HostState {
    /// Failed (and not rescued) in an earlier play: Ansible keeps such hosts out of later plays.
    failed: bool,
    /// Unreachable in an earlier play.
    unreachable: bool,
    facts: Arc<VarMap>,
    host_facts: Arc<VarMap>,
    conn: Option<Result<Arc<Connection>, String>>,
}

/// A host's state in the current play.
#[derive(Clone, Default)]
struct PlayHost {
    failed: bool,
    unreachable: bool,
    ended: bool,
    inv_layers: Vec<(Layer, Arc<VarMap>)>,
    play_vars: Vec<Arc<VarMap>>,
    host_magic: Arc<VarMap>,
    notified: IndexSet<usize>,
    last_failure: Option<(Json, Json)>,
    /// Failed or unreachable in an earlier play or batch.
    failed_before: bool,
    /// Failed because another host failed (`any_errors_fatal`, `max_fail_percentage`), not
    /// by a result of its own: a `rescue` takes it without counting it as rescued.
    marked: bool,
}

#[derive(Clone)]
struct Handler {
    task: Task,
    inh: Inherit,
}

impl Handler {
    fn matches(&self, name: &str) -> bool {
        if let Some(n) = &self.task.name {
            if n == name {
                return true;
            }
            if let Some(r) = self.task.role.as_ref().or(self.inh.role.as_ref())
                && format!("{} : {n}", r.name) == name
            {
                return true;
            }
        }
        self.task.listen.iter().any(|l| l == name)
    }
}

#[derive(Clone, Default)]
struct PlayState {
    name: String,
    /// The hosts of the current batch.
    all: Vec<String>,
    /// Every host the play matched (`ansible_play_hosts_all`).
    all_hosts: Vec<String>,
    hosts: IndexMap<String, PlayHost>,
    handlers: Vec<Handler>,
    role_layers: Vec<(Layer, Arc<VarMap>)>,
    role_names: Vec<String>,
    any_errors_fatal: bool,
    /// `max_fail_percentage`: past it, the play ends for every host of the batch.
    max_fail_percentage: Option<f64>,
    /// `max_fail_percentage` was exceeded: the playbook stops after this batch.
    break_play: bool,
    /// `strategy: free` (or `host_pinned`): each host runs through the play on its own.
    free: bool,
}

/// Whether a task is an ordinary one, a handler, or one jig adds (fact gathering).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Handler,
    Implicit,
}

/// Runs a loaded playbook.
pub struct Runner<'r> {
    opts: &'r RunOptions,
    renderer: &'r mut dyn Renderer,
    templar: Templar,
    inventory: Inventory,
    load_opts: LoadOptions,
    extra: Arc<VarMap>,
    flags: Arc<Flags>,
    local: Arc<Connection>,
    hosts: IndexMap<String, HostState>,
    stats: IndexMap<String, HostStats>,
    start_at: Option<String>,
    inventory_file: Option<PathBuf>,
    groups: IndexMap<String, Vec<String>>,
    ps: PlayState,
    table: Arc<HostVarsTable>,
    /// `vars_prompt` answers, asked once per play (not once per `serial` batch).
    answers: IndexMap<String, Json>,
}

impl<'r> Runner<'r> {
    /// A runner for `opts`, with the inventory and extra vars already loaded.
    pub fn new(
        opts: &'r RunOptions,
        renderer: &'r mut dyn Renderer,
        inventory: Inventory,
        extra: VarMap,
        playbook_dir: PathBuf,
    ) -> Self {
        let inventory_file = opts
            .inventory
            .first()
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .map(|p| std::path::absolute(&p).unwrap_or(p));
        let groups = inventory.groups_map();
        Runner {
            opts,
            renderer,
            templar: Templar::new(),
            inventory,
            load_opts: LoadOptions {
                roles_path: opts.roles_path.clone(),
            },
            extra: Arc::new(extra),
            flags: Arc::new(Flags {
                check: opts.check,
                diff: opts.diff,
                verbosity: opts.verbosity,
                playbook_dir,
                ssh: Arc::new(crate::connection::ssh::SshHub::new(opts.ssh.clone())),
                known: Default::default(),
                predicted: Default::default(),
            }),
            local: Arc::new(Connection::Local(LocalConnection::new("localhost"))),
            hosts: IndexMap::new(),
            stats: IndexMap::new(),
            start_at: opts.start_at_task.clone(),
            inventory_file,
            groups,
            ps: PlayState::default(),
            table: HostVarsTable::new(),
            answers: IndexMap::new(),
        }
    }

    /// The per-host totals, in inventory order.
    pub fn stats(&self) -> IndexMap<String, HostStats> {
        let order = self.inventory.host_names();
        let mut out: Vec<(String, HostStats)> = self
            .stats
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.sort_by_key(|(h, _)| order.iter().position(|o| o == h).unwrap_or(usize::MAX));
        out.into_iter().collect()
    }

    /// Sends an event to the renderer.
    pub fn emit(&mut self, e: Event) {
        self.renderer.event(&e);
    }

    fn playbook_dir(&self) -> PathBuf {
        self.flags.playbook_dir.clone()
    }

    /// A scope with only extra vars and run-level magic (for `hosts:` and play names).
    fn pattern_scope(&self) -> VarScope {
        let mut s = VarScope::new();
        s.push(Layer::ExtraVars, self.extra.clone());
        let mut m = VarMap::new();
        m.insert(
            "playbook_dir".into(),
            json!(self.playbook_dir().display().to_string()),
        );
        m.insert("omit".into(), json!(OMIT));
        m.insert("groups".into(), json!(self.groups));
        s.push(Layer::Magic, Arc::new(m));
        s
    }

    fn render_text(&self, text: &str, scope: &VarScope) -> Result<String, String> {
        if crate::template::is_template(text) {
            self.templar
                .render_str(text, scope)
                .map_err(|e| e.to_string())
        } else {
            Ok(text.to_string())
        }
    }

    /// Runs one play. Returns false when every host of a batch failed: as in Ansible, the
    /// playbook then stops.
    pub async fn run_play(&mut self, play: Play) -> Result<bool, RunError> {
        // `playbook_dir` is the directory of the file the play is written in: an imported
        // playbook's own directory, as in Ansible.
        if !play.dir.as_os_str().is_empty() && play.dir != self.flags.playbook_dir {
            let mut flags = (*self.flags).clone();
            flags.playbook_dir =
                std::path::absolute(&play.dir).unwrap_or_else(|_| play.dir.clone());
            self.flags = Arc::new(flags);
        }
        let pscope = self.pattern_scope();
        let pattern =
            self.render_text(&play.hosts, &pscope)
                .map_err(|message| RunError::HostPattern {
                    pattern: format!("{} ({})", play.hosts, play.pos),
                    message,
                })?;
        let mut hosts = self
            .inventory
            .select(&pattern)
            .map_err(|e| RunError::HostPattern {
                pattern: format!("{pattern} ({})", play.pos),
                message: e.to_string(),
            })?;
        for l in &self.opts.limit {
            let sel = self
                .inventory
                .select(l)
                .map_err(|e| RunError::HostPattern {
                    pattern: format!("{l} (--limit)"),
                    message: e.to_string(),
                })?;
            hosts.retain(|h| sel.contains(h));
        }
        let name = match &play.name {
            Some(n) => self.render_text(n, &pscope).unwrap_or_else(|_| n.clone()),
            None => pattern.clone(),
        };
        if hosts.is_empty() {
            self.emit(Event::PlayStart {
                name: name.clone(),
                hosts: Vec::new(),
            });
            self.emit(Event::NoHosts {
                reason: "no hosts matched".into(),
            });
            return Ok(true);
        }
        let batches = serial_batches(play.serial.as_ref(), &hosts, &self.templar, &pscope)
            .map_err(|message| RunError::Playbook {
                message: format!("{}: serial: {message}", play.pos),
            })?;
        for batch in &batches {
            self.emit(Event::PlayStart {
                name: name.clone(),
                hosts: batch.clone(),
            });
            let before = batch
                .iter()
                .filter(|h| {
                    self.hosts
                        .get(*h)
                        .is_some_and(|s| s.failed || s.unreachable)
                })
                .count();
            self.run_batch(&play, name.clone(), batch, &hosts).await?;
            // As in Ansible, the playbook stops when every host of a batch failed in it (hosts
            // that failed in earlier plays count against it), or past max_fail_percentage.
            let after = batch
                .iter()
                .filter(|h| {
                    self.hosts
                        .get(*h)
                        .is_some_and(|s| s.failed || s.unreachable)
                })
                .count();
            if after.saturating_sub(before) == batch.len() || self.ps.break_play {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn run_batch(
        &mut self,
        play: &Play,
        name: String,
        batch: &[String],
        all_hosts: &[String],
    ) -> Result<(), RunError> {
        let hosts = batch.to_vec();
        self.start_play(play, name, &hosts)?;
        self.ps.all_hosts = all_hosts.to_vec();
        self.ps.free = is_free_strategy(play, &self.templar, &self.pattern_scope())?;

        let mut base_kw = Keywords::default();
        base_kw = merge(&base_kw, &play.keywords);
        let base = Inherit {
            when: play.keywords.when.clone(),
            tags: play.keywords.tags.clone(),
            vars: Vec::new(),
            kw: base_kw,
            role: None,
            rescuable: false,
            notify: Vec::new(),
        };
        if self.ps.free {
            self.run_free(play, &base, &hosts).await?;
        } else {
            self.run_body(play, &base, &hosts).await?;
        }
        for (h, p) in &self.ps.hosts {
            if let Some(hs) = self.hosts.get_mut(h) {
                hs.failed = p.failed;
                hs.unreachable = p.unreachable;
            }
        }
        Ok(())
    }

    /// The answer to a `vars_prompt` entry, as ansible-playbook 2.19 gets it: asked on the
    /// terminal (hidden when `private`, twice with `confirm`), the default when the answer is
    /// empty; without a terminal, a warning and the default (or the string `None`).
    fn ask(&mut self, p: &playbook::VarsPrompt) -> Result<Json, RunError> {
        use std::io::{BufRead, IsTerminal, Write};
        let default_text = p.default.as_ref().map(super::task::scalar_string);
        let answer: Option<String> = if self.opts.interactive && std::io::stdin().is_terminal() {
            let msg = match (&p.prompt, &default_text) {
                (Some(q), Some(d)) => format!("{q} [{d}]: "),
                (Some(q), None) => format!("{q}: "),
                (None, _) => format!("input for {}: ", p.name),
            };
            let read = |msg: &str| -> Result<String, RunError> {
                let failed = |e: std::io::Error| RunError::Playbook {
                    message: format!("{}: vars_prompt '{}': {e}", p.pos, p.name),
                };
                if p.private {
                    crate::connection::ssh::auth::prompt_secret(msg)
                        .map(|s| s.expose().to_string())
                        .map_err(failed)
                } else {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(msg.as_bytes());
                    let _ = out.flush();
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .map_err(failed)?;
                    Ok(line.trim_end_matches(['\n', '\r']).to_string())
                }
            };
            loop {
                let first = read(&msg)?;
                if !p.confirm || read(&format!("confirm {msg}"))? == first {
                    break Some(first);
                }
                let mut out = std::io::stdout();
                let _ = out.write_all(b"***** VALUES ENTERED DO NOT MATCH ****\n");
            }
        } else {
            // Ansible's display shows a warning once per run.
            if !self.answers.contains_key(NOT_PROMPTING) {
                self.answers.insert(NOT_PROMPTING.into(), Json::Null);
                self.emit(Event::Warning {
                    message: "Not prompting as we are not in interactive mode".into(),
                });
            }
            None
        };
        let mut value = match (answer.filter(|a| !a.is_empty()), &p.default) {
            (Some(a), _) => Json::String(a),
            (None, Some(d)) => d.clone(),
            (None, None) => Json::String("None".into()),
        };
        if let Some(scheme) = &p.encrypt {
            // Hashed with the same filter templates use, so both support the same schemes.
            let mut m = VarMap::new();
            m.insert("__jig_prompt_value".into(), value);
            m.insert("__jig_prompt_scheme".into(), json!(scheme));
            m.insert(
                "__jig_prompt_salt".into(),
                p.salt.clone().unwrap_or(Json::Null),
            );
            let mut scope = VarScope::new();
            scope.push(Layer::Magic, Arc::new(m));
            value = self
                .templar
                .eval_expr(
                    "__jig_prompt_value | password_hash(__jig_prompt_scheme, \
                     salt=__jig_prompt_salt)",
                    &scope,
                )
                .map_err(|e| RunError::Playbook {
                    message: format!(
                        "{}: vars_prompt '{}' cannot be encrypted with {scheme}: {e}",
                        p.pos, p.name
                    ),
                })?;
        }
        Ok(value)
    }

    /// Runs a batch's tasks: fact gathering, `vars_files`, then the play's sections with their
    /// handler flushes.
    fn run_body<'a>(
        &'a mut self,
        play: &'a Play,
        base: &'a Inherit,
        hosts: &'a [String],
    ) -> Boxed<'a> {
        Box::pin(async move {
            let hosts = hosts.to_vec();
            let base = base.clone();
            // Like Ansible's default (`gathering = implicit`), every play gathers facts again.
            if play.gather_facts.unwrap_or(true) {
                let need: Vec<String> = hosts.clone();
                if !need.is_empty() {
                    let mut args = crate::playbook::VarMap::new();
                    if let Some(subset) = &play.gather_subset {
                        args.insert("gather_subset".into(), subset.clone());
                    }
                    let t = Task {
                        name: Some("Gathering Facts".into()),
                        pos: play.pos.clone(),
                        action: "gather_facts".into(),
                        action_as_written: "gather_facts".into(),
                        action_pos: play.pos.clone(),
                        args,
                        ..Task::default()
                    };
                    self.run_task_boxed(&t, &base, &need, Kind::Implicit)
                        .await?;
                }
            }
            self.load_vars_files(play)?;

            self.run_items(&play.pre_tasks, &base, &hosts).await?;
            self.flush_handlers().await?;
            self.run_items(&play.roles, &base, &hosts).await?;
            self.run_items(&play.tasks, &base, &hosts).await?;
            self.flush_handlers().await?;
            self.run_items(&play.post_tasks, &base, &hosts).await?;
            self.flush_handlers().await?;
            Ok(())
        })
    }

    /// `strategy: free`: every host runs through the batch on its own runner, concurrently;
    /// the events of all hosts reach the renderer as they come, with a task's banner printed
    /// again whenever another host's results came in between (as Ansible's free strategy
    /// shows them). Afterwards each host's state comes back to this runner.
    async fn run_free(
        &mut self,
        play: &Play,
        base: &Inherit,
        hosts: &[String],
    ) -> Result<(), RunError> {
        if self.ps.max_fail_percentage.is_some() {
            self.emit(Event::Warning {
                message: "Using max_fail_percentage with the free strategy is not supported, as \
                          tasks are executed independently on each host"
                    .into(),
            });
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut forwards: Vec<Forward> = (0..hosts.len())
            .map(|id| Forward { id, tx: tx.clone() })
            .collect();
        drop(tx);
        let singles: Vec<Vec<String>> = hosts.iter().map(|h| vec![h.clone()]).collect();
        let mut subs: Vec<Runner<'_>> = forwards
            .iter_mut()
            .zip(hosts)
            .map(|(f, h)| self.fork_for(h, f))
            .collect();
        let mut futs: Vec<Boxed<'_>> = subs
            .iter_mut()
            .zip(&singles)
            .map(|(sub, one)| sub.run_body(play, base, one))
            .collect();
        let mut done: Vec<Option<Result<(), RunError>>> = futs.iter().map(|_| None).collect();
        let mut banners = LazyBanners::new(hosts.len());
        let renderer = &mut *self.renderer;
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (f, d) in futs.iter_mut().zip(done.iter_mut()) {
                if d.is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(r) => *d = Some(r),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            while let std::task::Poll::Ready(Some((id, e))) = rx.poll_recv(cx) {
                banners.forward(id, e, renderer);
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        drop(futs);
        while let Ok((id, e)) = rx.try_recv() {
            banners.forward(id, e, renderer);
        }
        for (sub, h) in subs.into_iter().zip(hosts) {
            if let Some(hs) = sub.hosts.get(h) {
                self.hosts.insert(h.clone(), hs.clone());
            }
            if let Some(st) = sub.stats.get(h) {
                self.stats.insert(h.clone(), st.clone());
            }
            if let Some(ph) = sub.ps.hosts.get(h) {
                self.ps.hosts.insert(h.clone(), ph.clone());
            }
        }
        for r in done.into_iter().flatten() {
            r?;
        }
        // Ansible's free strategy announces an empty play when no host is left to run.
        let all = self.ps.all.clone();
        let left = all.iter().any(|h| {
            self.ps
                .hosts
                .get(h)
                .is_some_and(|p| !p.failed && !p.unreachable)
        });
        if !left {
            self.emit(Event::NoHosts {
                reason: "no more hosts left".into(),
            });
        }
        Ok(())
    }

    /// A runner for host `h` alone, sending its events to `renderer`, for `strategy: free`.
    /// It shares the hostvars table and the connections, and starts from copies of the host's
    /// state, the play's state and the stats.
    fn fork_for<'s>(&self, h: &str, renderer: &'s mut dyn Renderer) -> Runner<'s>
    where
        'r: 's,
    {
        let mut ps = self.ps.clone();
        ps.hosts.retain(|k, _| k == h);
        ps.all = vec![h.to_string()];
        Runner {
            opts: self.opts,
            renderer,
            templar: self.templar.clone(),
            inventory: self.inventory.clone(),
            load_opts: self.load_opts.clone(),
            extra: self.extra.clone(),
            flags: self.flags.clone(),
            local: self.local.clone(),
            hosts: self
                .hosts
                .get(h)
                .map(|hs| (h.to_string(), hs.clone()))
                .into_iter()
                .collect(),
            stats: self
                .stats
                .get(h)
                .map(|st| (h.to_string(), st.clone()))
                .into_iter()
                .collect(),
            start_at: self.start_at.clone(),
            inventory_file: self.inventory_file.clone(),
            groups: self.groups.clone(),
            ps,
            table: self.table.clone(),
            answers: self.answers.clone(),
        }
    }

    fn start_play(&mut self, play: &Play, name: String, hosts: &[String]) -> Result<(), RunError> {
        let mut ps = PlayState {
            name,
            all: hosts.to_vec(),
            any_errors_fatal: play
                .any_errors_fatal
                .as_ref()
                .or(play.keywords.any_errors_fatal.as_ref())
                .and_then(crate::modules::args::parse_bool)
                .unwrap_or(false),
            role_names: play.role_names.clone(),
            max_fail_percentage: play.max_fail_percentage.as_ref().and_then(|v| {
                v.as_f64().or_else(|| {
                    v.as_str()
                        .and_then(|s| s.trim().trim_end_matches('%').parse().ok())
                })
            }),
            ..PlayState::default()
        };
        // Roles listed in `roles:` expose their defaults and vars to the whole play.
        let mut seen = IndexSet::new();
        collect_roles(&play.roles, &mut |r: &Arc<Role>| {
            if seen.insert(r.path.clone()) {
                ps.role_layers
                    .push((Layer::RoleDefaults, Arc::new(r.defaults.clone())));
                ps.role_layers
                    .push((Layer::RoleVars, Arc::new(r.vars.clone())));
            }
        });
        let base = Inherit::default();
        flatten_handlers(&play.handlers, &base, &mut ps.handlers);

        let mut play_vars = VarMap::new();
        for p in &play.vars_prompt {
            // As in Ansible, a variable given with -e is not asked for.
            if self.extra.contains_key(&p.name) {
                continue;
            }
            let key = format!("{}\u{0}{}", p.pos, p.name);
            let value = match self.answers.get(&key) {
                Some(v) => v.clone(),
                None => {
                    let v = self.ask(p)?;
                    self.answers.insert(key, v.clone());
                    v
                }
            };
            play_vars.insert(p.name.clone(), value);
        }
        play_vars.extend(play.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        play_vars.extend(
            play.keywords
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let play_vars = Arc::new(play_vars);
        let pb_dir = self.playbook_dir();
        // A host enters the recap with its first result, as in Ansible (a host whose tasks
        // were all left out by tags is not listed).
        for h in hosts {
            self.hosts.entry(h.clone()).or_default();
            let inv_dir = self.inventory.inventory_dir(h);
            let hm = magic::host_magic(
                &HostMagic {
                    inventory_hostname: h,
                    groups: &self.groups,
                    group_names: self.inventory.group_names(h),
                    inventory_dir: inv_dir.as_deref(),
                    inventory_file: self.inventory_file.as_deref(),
                    playbook_dir: &pb_dir,
                },
                OMIT,
            );
            let (failed, unreachable) = self
                .hosts
                .get(h)
                .map_or((false, false), |s| (s.failed, s.unreachable));
            ps.hosts.insert(
                h.clone(),
                PlayHost {
                    failed,
                    unreachable,
                    failed_before: failed || unreachable,
                    inv_layers: self.inventory.var_layers(h),
                    play_vars: vec![play_vars.clone()],
                    host_magic: Arc::new(hm),
                    ..PlayHost::default()
                },
            );
        }
        self.ps = ps;
        // hostvars: every inventory host, play hosts with their full scopes.
        self.table = HostVarsTable::new();
        for h in self.inventory.host_names() {
            let s = self.base_scope(&h);
            self.table.set(&h, s);
        }
        for h in hosts {
            let s = self.base_scope(h);
            self.table.set(h, s);
        }
        Ok(())
    }

    fn load_vars_files(&mut self, play: &Play) -> Result<(), RunError> {
        if play.vars_files.is_empty() {
            return Ok(());
        }
        let hosts: Vec<String> = self.ps.hosts.keys().cloned().collect();
        for h in hosts {
            let scope = self.base_scope(&h);
            let mut layers = Vec::new();
            for entry in &play.vars_files {
                let cands: Vec<Json> = match entry {
                    Json::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                let mut found = None;
                let mut tried = Vec::new();
                for c in &cands {
                    let name =
                        self.templar
                            .template_value(c, &scope)
                            .map_err(|e| RunError::VarsFile {
                                message: format!(
                                    "{}: vars_files entry {c} for host {h}: {e}",
                                    play.pos
                                ),
                            })?;
                    let name = super::task::scalar_string(&name);
                    let p = PathBuf::from(&name);
                    let p = if p.is_absolute() { p } else { play.dir.join(p) };
                    if p.is_file() {
                        found = Some(p);
                        break;
                    }
                    tried.push(p.display().to_string());
                }
                let Some(path) = found else {
                    return Err(RunError::VarsFile {
                        message: format!(
                            "{}: vars file not found for host {h} (tried {})",
                            play.pos,
                            tried.join(", ")
                        ),
                    });
                };
                let vars = super::actions::load_vars_file(&path)
                    .map_err(|message| RunError::VarsFile { message })?;
                layers.push(Arc::new(vars));
            }
            if let Some(ph) = self.ps.hosts.get_mut(&h) {
                ph.play_vars.extend(layers);
            }
        }
        Ok(())
    }

    /// Host `h`'s variables without task-level layers.
    fn base_scope(&self, h: &str) -> VarScope {
        let mut s = VarScope::new();
        let ph = self.ps.hosts.get(h);
        match ph {
            Some(ph) => {
                for (l, m) in &ph.inv_layers {
                    s.push(*l, m.clone());
                }
            }
            None => {
                for (l, m) in self.inventory.var_layers(h) {
                    s.push(l, m);
                }
            }
        }
        if let Some(hs) = self.hosts.get(h) {
            s.push(Layer::Facts, hs.facts.clone());
            s.push(Layer::HostFacts, hs.host_facts.clone());
        }
        if let Some(ph) = ph {
            for pv in &ph.play_vars {
                s.push(Layer::PlayVars, pv.clone());
            }
            for (l, m) in &self.ps.role_layers {
                s.push(*l, m.clone());
            }
            s.push(Layer::Magic, ph.host_magic.clone());
        } else {
            let inv_dir = self.inventory.inventory_dir(h);
            let pb = self.playbook_dir();
            s.push(
                Layer::Magic,
                Arc::new(magic::host_magic(
                    &HostMagic {
                        inventory_hostname: h,
                        groups: &self.groups,
                        group_names: self.inventory.group_names(h),
                        inventory_dir: inv_dir.as_deref(),
                        inventory_file: self.inventory_file.as_deref(),
                        playbook_dir: &pb,
                    },
                    OMIT,
                )),
            );
        }
        s.push(Layer::ExtraVars, self.extra.clone());
        s.set_hostvars(self.table.clone());
        s
    }

    fn task_scope(
        &self,
        h: &str,
        task: &Task,
        inh: &Inherit,
        role: Option<&Arc<Role>>,
        pm: &Arc<VarMap>,
    ) -> VarScope {
        let mut s = self.base_scope(h);
        s.push(Layer::Magic, pm.clone());
        if let Some(r) = role {
            s.push(Layer::RoleDefaults, Arc::new(r.defaults.clone()));
            s.push(Layer::RoleVars, Arc::new(r.vars.clone()));
            s.push(Layer::RoleVars, Arc::new(r.params.clone()));
        }
        for (l, m) in &inh.vars {
            s.push(*l, m.clone());
        }
        if !task.keywords.vars.is_empty() {
            s.push(Layer::TaskVars, Arc::new(task.keywords.vars.clone()));
        }
        // `--secret-vars`: their values as this task would see them become secrets before
        // any of its output is built (a value may come from a fact set by an earlier task).
        for name in &self.opts.secret_vars {
            if let Ok(v) = self.templar.eval_expr(name, &s) {
                self.opts.secrets.add_value(&v);
            }
        }
        if let Some(r) = role {
            s.push(
                Layer::Magic,
                Arc::new(magic::task_magic(&TaskMagic {
                    role: Some((&r.name, &r.path, &r.parents)),
                    check_mode: self.flags.check,
                    diff_mode: self.flags.diff,
                    connection: None,
                })),
            );
        }
        s
    }

    fn active(&self, hosts: &[String]) -> Vec<String> {
        hosts
            .iter()
            .filter(|h| {
                self.ps
                    .hosts
                    .get(*h)
                    .is_some_and(|p| !p.failed && !p.unreachable && !p.ended)
            })
            .cloned()
            .collect()
    }

    /// No host of the batch is left to run tasks. (ansible-core 2.19 prints no banner for
    /// this; `NO MORE HOSTS LEFT` comes only with `max_fail_percentage`.)
    fn play_over(&self) -> bool {
        self.active(&self.ps.all).is_empty()
    }

    fn run_items<'a>(
        &'a mut self,
        items: &'a [TaskItem],
        inh: &'a Inherit,
        hosts: &'a [String],
    ) -> Boxed<'a> {
        Box::pin(async move {
            for item in items {
                if self.play_over() {
                    break;
                }
                match item {
                    TaskItem::Task(t) => self.run_task_boxed(t, inh, hosts, Kind::Normal).await?,
                    TaskItem::Block(b) => self.run_block(b, inh, hosts).await?,
                }
            }
            Ok(())
        })
    }

    async fn run_block(
        &mut self,
        b: &Block,
        inh: &Inherit,
        hosts: &[String],
    ) -> Result<(), RunError> {
        let entering = self.active(hosts);
        if entering.is_empty() {
            return Ok(());
        }
        let binh = inh.enter_block(b);
        self.run_items(&b.block, &binh, &entering).await?;
        let mut after = inh.enter_block(b);
        after.rescuable = inh.rescuable;
        if !b.rescue.is_empty() {
            let failed: Vec<String> = entering
                .iter()
                .filter(|h| {
                    self.ps
                        .hosts
                        .get(*h)
                        .is_some_and(|p| p.failed && !p.unreachable && !p.ended)
                })
                .cloned()
                .collect();
            if !failed.is_empty() {
                for h in &failed {
                    let mut marked = false;
                    if let Some(p) = self.ps.hosts.get_mut(h) {
                        p.failed = false;
                        marked = std::mem::take(&mut p.marked);
                        if let Some((t, r)) = p.last_failure.clone()
                            && let Some(hs) = self.hosts.get_mut(h)
                        {
                            let hf = Arc::make_mut(&mut hs.host_facts);
                            hf.insert("ansible_failed_task".into(), t);
                            hf.insert("ansible_failed_result".into(), r);
                        }
                    }
                    if !marked {
                        self.stats.entry(h.clone()).or_default().rescued += 1;
                    }
                }
                self.run_items(&b.rescue, &after, &failed).await?;
            }
        }
        if !b.always.is_empty() {
            // `always` runs for hosts that failed in the block too; they stay failed after it.
            let still_failed: Vec<String> = entering
                .iter()
                .filter(|h| {
                    self.ps
                        .hosts
                        .get(*h)
                        .is_some_and(|p| p.failed && !p.unreachable && !p.ended)
                })
                .cloned()
                .collect();
            for h in &still_failed {
                if let Some(p) = self.ps.hosts.get_mut(h) {
                    p.failed = false;
                }
            }
            let always_hosts = self.active(&entering);
            self.run_items(&b.always, &after, &always_hosts).await?;
            for h in &still_failed {
                if let Some(p) = self.ps.hosts.get_mut(h) {
                    p.failed = true;
                }
            }
        }
        Ok(())
    }

    fn display_name(
        &self,
        task: &Task,
        role: Option<&Arc<Role>>,
        scope: Option<&VarScope>,
    ) -> String {
        let base = match &task.name {
            Some(n) => match scope {
                Some(s) => self.render_text(n, s).unwrap_or_else(|_| n.clone()),
                None => n.clone(),
            },
            // ansible-playbook banners show the action as written (`ansible.builtin.debug`).
            None if task.action_as_written.is_empty() => task.action.clone(),
            None => task.action_as_written.clone(),
        };
        match role {
            Some(r) => format!("{} : {base}", r.name),
            None => base,
        }
    }

    fn play_magic(&self) -> Arc<VarMap> {
        let active = self.active(&self.ps.all);
        Arc::new(magic::play_magic(&PlayMagic {
            play_name: &self.ps.name,
            hosts_all: &self.ps.all_hosts,
            hosts_active: &active,
            role_names: &self.ps.role_names,
            run_tags: &self.opts.tags,
            skip_tags: &self.opts.skip_tags,
            verbosity: self.opts.verbosity,
        }))
    }

    fn connection(&mut self, h: &str, scope: &VarScope) -> Result<Arc<Connection>, String> {
        if let Some(Some(c)) = self.hosts.get(h).map(|s| s.conn.clone()) {
            return c;
        }
        let transport = scope
            .get("ansible_connection")
            .cloned()
            .map(|raw| {
                self.templar
                    .template_value(&raw, scope)
                    .map(|v| super::task::scalar_string(&v))
                    .unwrap_or_else(|_| super::task::scalar_string(&raw))
            })
            .or_else(|| self.opts.connection.clone());
        let c = connect::open(h, transport.as_deref(), &self.flags.ssh, || {
            connect::connection_vars(&self.templar, scope, h)
        });
        if let Some(hs) = self.hosts.get_mut(h) {
            hs.conn = Some(c.clone());
        }
        c
    }

    fn run_task_boxed<'a>(
        &'a mut self,
        task: &'a Task,
        inh: &'a Inherit,
        hosts: &'a [String],
        kind: Kind,
    ) -> Boxed<'a> {
        Box::pin(self.run_task(task, inh, hosts, kind))
    }

    async fn run_task(
        &mut self,
        task: &Task,
        inh: &Inherit,
        hosts: &[String],
        kind: Kind,
    ) -> Result<(), RunError> {
        let eff = inh.for_task(task);
        if kind == Kind::Normal
            && !playbook::tags_selected(&eff.tags, &self.opts.tags, &self.opts.skip_tags)
        {
            return Ok(());
        }
        let active = self.active(hosts);
        if active.is_empty() {
            return Ok(());
        }
        let pm = self.play_magic();
        let first_scope = self.task_scope(&active[0], task, inh, eff.role.as_ref(), &pm);
        let display = self.display_name(task, eff.role.as_ref(), Some(&first_scope));
        if kind == Kind::Normal
            && let Some(start) = &self.start_at
        {
            let plain = self.display_name(task, None, None);
            if &display != start && &plain != start {
                return Ok(());
            }
            self.start_at = None;
        }
        let is_meta = task.action == "meta";
        let is_include = matches!(
            task.action.as_str(),
            "include_tasks" | "include_role" | "include"
        );
        // A meta task's banners are shown with its results (below).
        if !is_meta {
            self.emit(Event::TaskStart {
                name: display.clone(),
                pos: task.pos.clone(),
                handler: kind == Kind::Handler,
            });
        }
        for h in &self.ps.all.clone() {
            let s = self.base_scope(h);
            self.table.set(h, s);
        }
        let run_once = eff
            .kw
            .run_once
            .as_ref()
            .and_then(|v| self.templar.template_value(v, &first_scope).ok())
            .and_then(|v| crate::modules::args::parse_bool(&v))
            .unwrap_or(false);
        let targets: Vec<String> = if run_once {
            vec![active[0].clone()]
        } else {
            active.clone()
        };
        if self.ps.free && kind == Kind::Normal && !is_meta {
            if run_once {
                self.emit(Event::Warning {
                    message: "Using run_once with the free strategy is not currently supported. \
                              This task will still be executed for every host in the inventory \
                              list."
                        .into(),
                });
            }
            let aef = eff
                .kw
                .any_errors_fatal
                .as_ref()
                .and_then(crate::modules::args::parse_bool)
                .unwrap_or(self.ps.any_errors_fatal);
            if aef {
                self.emit(Event::Warning {
                    message: "Using any_errors_fatal with the free strategy is not supported, as \
                              tasks are executed independently on each host"
                        .into(),
                });
            }
        }
        let task_arc = Arc::new(task.clone());
        let eff_arc = Arc::new(eff.clone());
        let throttle = eff
            .kw
            .throttle
            .as_ref()
            .and_then(|v| self.templar.template_value(v, &first_scope).ok())
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .filter(|t| *t > 0)
            .map_or(usize::MAX, |t| t as usize);
        let sem = Arc::new(Semaphore::new(self.opts.forks.max(1).min(throttle)));
        let mut set = JoinSet::new();
        let mut ids = std::collections::HashMap::new();
        let (progress, mut retries) = tokio::sync::mpsc::unbounded_channel();
        for h in &targets {
            let scope = self.task_scope(h, task, inh, eff.role.as_ref(), &pm);
            let conn = self.connection(h, &scope);
            let job = TaskJob {
                task: task_arc.clone(),
                eff: eff_arc.clone(),
                display_name: display.clone(),
                host: h.clone(),
                scope,
                conn,
                local: self.local.clone(),
                templar: self.templar.clone(),
                flags: self.flags.clone(),
                progress: Some(progress.clone()),
            };
            let sem = sem.clone();
            let handle = set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                job.run().await
            });
            ids.insert(handle.id(), h.clone());
        }
        let mut outcomes: Vec<HostOutcome> = Vec::new();
        while let Some(joined) =
            super::task::join_next_showing(&mut set, &mut retries, &mut *self.renderer).await
        {
            let outcome = match joined {
                Ok((_, o)) => o,
                Err(e) => {
                    let host = ids.get(&e.id()).cloned().unwrap_or_default();
                    internal_failure(&host, &display, &e.to_string())
                }
            };
            // A successful include shows as an `included:` line once every host is done.
            let include_ok = |s: Status| is_include && matches!(s, Status::Ok | Status::Changed);
            if !is_meta {
                for item in &outcome.items {
                    if !include_ok(item.status) {
                        self.emit(Event::Result(item.clone()));
                    }
                }
                if (outcome.looped && is_include) || include_ok(outcome.status) {
                } else if outcome.looped {
                    self.emit(Event::LoopDone(outcome.summary.clone()));
                } else {
                    self.emit(Event::Result(outcome.summary.clone()));
                }
            }
            self.apply_outcome(&outcome, task, &eff, inh, is_meta);
            outcomes.push(outcome);
        }
        if is_meta {
            self.show_meta(task, &display, kind, &mut outcomes);
        }
        if run_once && let Some(first) = outcomes.first() {
            let reg = first.register.clone();
            let facts = first.facts.clone();
            let gathered = first.gathered.clone();
            for h in active.iter().skip(1) {
                if let Some(hs) = self.hosts.get_mut(h) {
                    if let Some(g) = &gathered {
                        super::task::merge_facts(Arc::make_mut(&mut hs.facts), g);
                    }
                    let hf = Arc::make_mut(&mut hs.host_facts);
                    if let Some((k, v)) = &reg {
                        hf.insert(k.clone(), v.clone());
                    }
                    hf.extend(facts.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        let ignore_errors = eff
            .kw
            .ignore_errors
            .as_ref()
            .and_then(|v| self.templar.template_value(v, &first_scope).ok())
            .and_then(|v| crate::modules::args::parse_bool(&v))
            .unwrap_or(false);
        let any_errors_fatal = eff
            .kw
            .any_errors_fatal
            .as_ref()
            .and_then(crate::modules::args::parse_bool)
            .unwrap_or(self.ps.any_errors_fatal);
        if self.ps.free {
            // Each host runs on its own: these play-wide effects do not exist under free.
            return self.directives(outcomes, task, &eff, inh).await;
        }
        // As in Ansible's linear strategy, a failing `run_once` task is fatal for the play too.
        let fatal = (any_errors_fatal || run_once) && !ignore_errors;
        if fatal
            && outcomes
                .iter()
                .any(|o| matches!(o.status, Status::Failed | Status::Unreachable))
        {
            self.mark_remaining_failed();
        }
        if let Some(pct) = self.ps.max_fail_percentage
            && !outcomes.is_empty()
        {
            // Ansible counts the hosts that failed in this batch (not unreachable ones, not
            // those that failed in earlier plays) against the batch's size.
            let batch = self.ps.all.len().max(1);
            let failed = self
                .ps
                .hosts
                .values()
                .filter(|p| p.failed && !p.failed_before)
                .count();
            if failed as f64 / batch as f64 > pct / 100.0 {
                self.mark_remaining_failed();
                self.ps.break_play = true;
                // 2.19 announces it twice: once for the percentage, once for the empty play.
                for _ in 0..2 {
                    self.emit(Event::NoHosts {
                        reason: "no more hosts left".into(),
                    });
                }
            }
        }
        self.directives(outcomes, task, &eff, inh).await
    }

    /// Shows a meta task as ansible-core 2.19 does: the banner once per host for the metas
    /// that act per host (`flush_handlers`, `noop`, `end_host`...), once for the others, each
    /// followed by the host's result only when it was skipped or failed.
    fn show_meta(&mut self, task: &Task, display: &str, kind: Kind, outcomes: &mut [HostOutcome]) {
        let action = task
            .args
            .get("_raw_params")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .trim()
            .to_string();
        let per_host = matches!(
            action.as_str(),
            "noop"
                | "flush_handlers"
                | "end_host"
                | "reset_connection"
                | "role_complete"
                | "end_role"
        );
        let order = self.ps.all.clone();
        outcomes.sort_by_key(|o| order.iter().position(|h| *h == o.host));
        for (i, o) in outcomes.iter().enumerate() {
            if !per_host && i > 0 {
                break;
            }
            self.emit(Event::TaskStart {
                name: display.to_string(),
                pos: task.pos.clone(),
                handler: kind == Kind::Handler,
            });
            if matches!(o.status, Status::Skipped | Status::Failed) {
                self.emit(Event::Result(o.summary.clone()));
            }
        }
    }

    /// Marks every host still running as failed, without a failed result (`any_errors_fatal`,
    /// `max_fail_percentage`): they leave the play, and later plays, as Ansible's do.
    fn mark_remaining_failed(&mut self) {
        for p in self.ps.hosts.values_mut() {
            if !p.failed && !p.unreachable && !p.ended {
                p.failed = true;
                p.marked = true;
            }
        }
    }

    fn apply_outcome(
        &mut self,
        o: &HostOutcome,
        task: &Task,
        eff: &super::keywords::Effective,
        inh: &Inherit,
        is_meta: bool,
    ) {
        let h = o.host.clone();
        // With delegate_facts the facts (gathered, module facts, set_fact) go to the delegated
        // host; the registered result stays with the task's host.
        let fh = o.facts_host.clone().unwrap_or_else(|| h.clone());
        let fs = self.hosts.entry(fh).or_default();
        if let Some(g) = &o.gathered {
            super::task::merge_facts(Arc::make_mut(&mut fs.facts), g);
        }
        if !o.facts.is_empty() {
            Arc::make_mut(&mut fs.host_facts)
                .extend(o.facts.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if let Some(fh) = &o.facts_host
            && fh != &h
        {
            // The delegate may be outside the play: its hostvars must show the new facts now.
            let s = self.base_scope(fh);
            self.table.set(fh, s);
        }
        let hs = self.hosts.entry(h.clone()).or_default();
        if let Some((k, v)) = &o.register {
            Arc::make_mut(&mut hs.host_facts).insert(k.clone(), v.clone());
        }
        // Meta tasks count in the recap only when they fail.
        if is_meta && o.status != Status::Failed {
            return;
        }
        let st = self.stats.entry(h.clone()).or_default();
        let ph = self.ps.hosts.entry(h.clone()).or_default();
        let changed = o
            .summary
            .result
            .get("changed")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        let looped_include = o.looped
            && matches!(
                task.action.as_str(),
                "include_tasks" | "include_role" | "include"
            );
        if looped_include {
            // Each item of a looped include counts on its own, as in Ansible's recap.
            for item in &o.items {
                match item.status {
                    Status::Ok | Status::Changed => st.ok += 1,
                    Status::Skipped => st.skipped += 1,
                    _ => {}
                }
            }
        }
        match o.status {
            _ if looped_include && o.status != Status::Failed => {}
            Status::Ok if !is_meta => st.ok += 1,
            Status::Ok => {}
            Status::Changed => {
                st.ok += 1;
                st.changed += 1;
            }
            Status::Skipped => {
                st.skipped += 1;
                if self.flags.check && would_run(&o.summary, &o.items) {
                    st.would_run += 1;
                }
            }
            Status::Ignored => {
                st.ok += 1;
                st.ignored += 1;
                if changed {
                    st.changed += 1;
                }
            }
            Status::Failed => {
                if !inh.rescuable {
                    st.failed += 1;
                }
                ph.failed = true;
                ph.last_failure = Some((
                    json!({
                        "name": task.name.clone().unwrap_or_else(|| task.action.clone()),
                        "action": task.action,
                        "args": task.args,
                    }),
                    Json::Object(o.summary.result.clone()),
                ));
            }
            Status::Unreachable => {
                let ignore = eff
                    .kw
                    .ignore_unreachable
                    .as_ref()
                    .and_then(crate::modules::args::parse_bool)
                    .unwrap_or(false);
                // Ansible counts an ignored unreachable result as ok and ignored.
                if ignore {
                    st.ok += 1;
                    st.ignored += 1;
                } else {
                    st.unreachable += 1;
                    ph.unreachable = true;
                }
            }
        }
        if !o.notify.is_empty() {
            let names = o.notify.clone();
            self.notify(&h, &names);
        }
    }

    fn notify(&mut self, host: &str, names: &[String]) {
        for n in names {
            let matched: Vec<usize> = self
                .ps
                .handlers
                .iter()
                .enumerate()
                .filter(|(_, hd)| hd.matches(n))
                .map(|(i, _)| i)
                .collect();
            if matched.is_empty() {
                self.emit(Event::Warning {
                    message: format!(
                        "The requested handler '{n}' was not found in either the main handlers \
                         list nor in the listening handlers list"
                    ),
                });
                continue;
            }
            if let Some(ph) = self.ps.hosts.get_mut(host) {
                ph.notified.extend(matched);
            }
        }
    }

    async fn flush_handlers(&mut self) -> Result<(), RunError> {
        let mut idx = 0;
        while idx < self.ps.handlers.len() {
            let hosts: Vec<String> = self
                .ps
                .hosts
                .iter()
                .filter(|(_, p)| {
                    p.notified.contains(&idx) && !p.failed && !p.unreachable && !p.ended
                })
                .map(|(h, _)| h.clone())
                .collect();
            for h in &hosts {
                if let Some(p) = self.ps.hosts.get_mut(h) {
                    p.notified.shift_remove(&idx);
                }
            }
            if !hosts.is_empty() {
                let hd = self.ps.handlers[idx].clone();
                self.run_task_boxed(&hd.task, &hd.inh, &hosts, Kind::Handler)
                    .await?;
            }
            idx += 1;
        }
        Ok(())
    }

    async fn directives(
        &mut self,
        outcomes: Vec<HostOutcome>,
        task: &Task,
        eff: &super::keywords::Effective,
        inh: &Inherit,
    ) -> Result<(), RunError> {
        let mut flush = false;
        type Group = (Directive, Vec<String>);
        let mut includes: Vec<(String, Group)> = Vec::new();
        for o in &outcomes {
            for d in &o.directives {
                match d {
                    Directive::Meta(m) => match m.as_str() {
                        "flush_handlers" => flush = true,
                        "end_host" => {
                            if let Some(p) = self.ps.hosts.get_mut(&o.host) {
                                p.ended = true;
                            }
                        }
                        "end_play" | "end_batch" => {
                            for p in self.ps.hosts.values_mut() {
                                p.ended = true;
                            }
                        }
                        "clear_host_errors" => {
                            for p in self.ps.hosts.values_mut() {
                                p.failed = false;
                                p.unreachable = false;
                            }
                        }
                        "clear_facts" => {
                            if let Some(hs) = self.hosts.get_mut(&o.host) {
                                hs.facts = Arc::new(VarMap::new());
                                hs.host_facts = Arc::new(VarMap::new());
                            }
                        }
                        "end_role" => self.emit(Event::Warning {
                            message: format!(
                                "{}: meta: end_role is not supported by jig yet; ignored",
                                task.pos
                            ),
                        }),
                        _ => {}
                    },
                    other => {
                        let key = format!("{other:?}");
                        match includes.iter_mut().find(|(k, _)| *k == key) {
                            Some((_, (_, hosts))) => hosts.push(o.host.clone()),
                            None => includes.push((key, (other.clone(), vec![o.host.clone()]))),
                        }
                    }
                }
            }
        }
        if flush {
            self.flush_handlers().await?;
        }
        // Included tasks run for their hosts in the order the hosts are in the play. As in
        // Ansible, every include is loaded and announced (`included: ...`) before any runs.
        let order = self.ps.all.clone();
        let mut loaded: Vec<(Vec<TaskItem>, Inherit, Vec<String>)> = Vec::new();
        for (_, (d, mut hosts)) in includes {
            hosts.sort_by_key(|h| order.iter().position(|o| o == h));
            match d {
                Directive::IncludeTasks {
                    path,
                    vars,
                    apply,
                    item_label,
                } => {
                    let role = eff.role.clone();
                    // Names of static imports inside the file may use the include's
                    // variables and extra vars.
                    let mut import_vars = vars.clone();
                    import_vars.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
                    match playbook::load_tasks_file_with_vars(
                        &path,
                        role.clone(),
                        &[self.playbook_dir()],
                        &self.load_opts,
                        &import_vars,
                    ) {
                        Ok(items) => {
                            let mut inc = inh.enter_keywords(&apply);
                            inc.role = role;
                            if !vars.is_empty() {
                                inc.vars.push((Layer::BlockVars, Arc::new(vars)));
                            }
                            // Ansible names the file by its absolute path.
                            let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
                            self.emit(Event::Included {
                                file: shown.display().to_string(),
                                hosts: hosts.clone(),
                                item_label,
                            });
                            loaded.push((items, inc, hosts));
                        }
                        Err(e) => self.fail_hosts(&hosts, task, inh, &e.to_string()),
                    }
                }
                Directive::IncludeRole {
                    name,
                    tasks_from,
                    vars_from,
                    defaults_from,
                    handlers_from,
                    public,
                    vars,
                    apply,
                    item_label,
                } => {
                    let mut parents: Vec<String> = Vec::new();
                    if let Some(r) = &eff.role {
                        parents.push(r.name.clone());
                        parents.extend(r.parents.iter().cloned());
                    }
                    let search = vec![self.playbook_dir()];
                    let req = RoleRequest {
                        name: &name,
                        params: vars,
                        pos: task.pos.clone(),
                        tasks_from: tasks_from.as_deref(),
                        vars_from: vars_from.as_deref(),
                        defaults_from: defaults_from.as_deref(),
                        handlers_from: handlers_from.as_deref(),
                        search_from: &search,
                        parents,
                    };
                    match playbook::load_role(&req, &self.load_opts) {
                        Ok(loaded_role) => {
                            let hinh = Inherit {
                                role: Some(loaded_role.role.clone()),
                                ..Inherit::default()
                            };
                            let mut new_handlers = Vec::new();
                            flatten_handlers(&loaded_role.handlers, &hinh, &mut new_handlers);
                            for nh in new_handlers {
                                let dup = self.ps.handlers.iter().any(|x| {
                                    x.task.pos == nh.task.pos && x.task.name == nh.task.name
                                });
                                if !dup {
                                    self.ps.handlers.push(nh);
                                }
                            }
                            if public {
                                self.ps.role_layers.push((
                                    Layer::RoleDefaults,
                                    Arc::new(loaded_role.role.defaults.clone()),
                                ));
                                self.ps.role_layers.push((
                                    Layer::RoleVars,
                                    Arc::new(loaded_role.role.vars.clone()),
                                ));
                            }
                            let mut inc = inh.enter_keywords(&apply);
                            inc.role = Some(loaded_role.role.clone());
                            self.emit(Event::Included {
                                file: name.clone(),
                                hosts: hosts.clone(),
                                item_label,
                            });
                            loaded.push((loaded_role.tasks, inc, hosts));
                        }
                        Err(e) => self.fail_hosts(&hosts, task, inh, &e.to_string()),
                    }
                }
                Directive::Meta(_) => {}
            }
        }
        for (items, inc, hosts) in &loaded {
            self.run_items(items, inc, hosts).await?;
        }
        Ok(())
    }

    /// Fails `hosts` on `task` with `msg` (an include that could not be loaded).
    fn fail_hosts(&mut self, hosts: &[String], task: &Task, inh: &Inherit, msg: &str) {
        for h in hosts {
            let mut result = serde_json::Map::new();
            result.insert("failed".into(), json!(true));
            result.insert("msg".into(), json!(msg));
            let outcome = HostOutcome {
                host: h.clone(),
                items: Vec::new(),
                summary: TaskResult {
                    host: h.clone(),
                    delegated_to: None,
                    status: Status::Failed,
                    item_label: None,
                    msg: Some(msg.to_string()),
                    diffs: Vec::new(),
                    result,
                    debug_output: None,
                    error: None,
                    ignore_unreachable: false,
                },
                looped: false,
                status: Status::Failed,
                register: None,
                facts: VarMap::new(),
                gathered: None,
                notify: Vec::new(),
                directives: Vec::new(),
                facts_host: None,
            };
            self.emit(Event::Result(outcome.summary.clone()));
            let eff = inh.for_task(task);
            self.apply_outcome(&outcome, task, &eff, inh, false);
        }
    }
}

fn internal_failure(host: &str, task: &str, why: &str) -> HostOutcome {
    let msg =
        format!("internal error in jig while running '{task}' on {host}: {why}; please report it");
    let mut result = serde_json::Map::new();
    result.insert("failed".into(), json!(true));
    result.insert("msg".into(), json!(msg));
    HostOutcome {
        host: host.to_string(),
        items: Vec::new(),
        summary: TaskResult {
            host: host.to_string(),
            delegated_to: None,
            status: Status::Failed,
            item_label: None,
            msg: Some(msg),
            diffs: Vec::new(),
            result,
            debug_output: None,
            error: None,
            ignore_unreachable: false,
        },
        looped: false,
        status: Status::Failed,
        register: None,
        facts: VarMap::new(),
        gathered: None,
        notify: Vec::new(),
        directives: Vec::new(),
        facts_host: None,
    }
}

fn collect_roles(items: &[TaskItem], f: &mut dyn FnMut(&Arc<Role>)) {
    for item in items {
        if let TaskItem::Block(b) = item {
            if let Some(r) = &b.role {
                f(r);
            }
            collect_roles(&b.block, f);
        }
    }
}

fn flatten_handlers(items: &[TaskItem], inh: &Inherit, out: &mut Vec<Handler>) {
    for item in items {
        match item {
            TaskItem::Task(t) => out.push(Handler {
                task: (**t).clone(),
                inh: inh.clone(),
            }),
            TaskItem::Block(b) => {
                let binh = inh.enter_block(b);
                flatten_handlers(&b.block, &binh, out);
            }
        }
    }
}

/// Whether the play runs with `strategy: free` (`host_pinned` runs the same way here).
fn is_free_strategy(play: &Play, templar: &Templar, scope: &VarScope) -> Result<bool, RunError> {
    let Some(raw) = &play.strategy else {
        return Ok(false);
    };
    let name = if crate::template::is_template(raw) {
        templar
            .render_str(raw, scope)
            .map_err(|e| RunError::Playbook {
                message: format!("{}: strategy: {e}", play.pos),
            })?
    } else {
        raw.clone()
    };
    let short = name
        .trim()
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.trim().strip_prefix("ansible.legacy."))
        .unwrap_or(name.trim());
    match short {
        "linear" | "debug" => Ok(false),
        "free" | "host_pinned" => Ok(true),
        other => Err(RunError::Playbook {
            message: format!(
                "{}: invalid play strategy specified: {other} (jig runs linear, free and \
                 host_pinned)",
                play.pos
            ),
        }),
    }
}

/// The renderer of one host's runner under `strategy: free`: its events go to the play's
/// runner, tagged with the host's index.
struct Forward {
    id: usize,
    tx: tokio::sync::mpsc::UnboundedSender<(usize, Event)>,
}

impl Renderer for Forward {
    fn event(&mut self, event: &Event) {
        // The receiver lives until every host's runner is done.
        let _ = self.tx.send((self.id, event.clone()));
    }
}

/// Ansible's banners under the free strategy: a task's banner is printed when the first
/// result for it arrives, and again whenever results of another task came in between.
/// Warnings are shown once, as Ansible's display de-duplicates them.
struct LazyBanners {
    pending: Vec<Option<Event>>,
    shown: Option<Event>,
    warned: IndexSet<String>,
}

impl LazyBanners {
    fn new(n: usize) -> Self {
        LazyBanners {
            pending: vec![None; n],
            shown: None,
            warned: IndexSet::new(),
        }
    }

    fn forward(&mut self, id: usize, e: Event, out: &mut dyn Renderer) {
        match &e {
            Event::TaskStart { .. } => {
                if let Some(p) = self.pending.get_mut(id) {
                    *p = Some(e);
                }
            }
            // `included:` lines never bring a banner with them (Ansible's callback prints none).
            Event::Result(_) | Event::LoopDone(_) => {
                let banner = self.pending.get(id).cloned().flatten();
                if let Some(b) = banner
                    && !same_task(self.shown.as_ref(), &b)
                {
                    out.event(&b);
                    self.shown = Some(b);
                }
                out.event(&e);
            }
            Event::Warning { message } => {
                if self.warned.insert(message.clone()) {
                    out.event(&e);
                }
            }
            _ => out.event(&e),
        }
    }
}

fn same_task(a: Option<&Event>, b: &Event) -> bool {
    match (a, b) {
        (
            Some(Event::TaskStart {
                name: n1,
                pos: p1,
                handler: h1,
            }),
            Event::TaskStart {
                name: n2,
                pos: p2,
                handler: h2,
            },
        ) => n1 == n2 && p1 == p2 && h1 == h2,
        _ => false,
    }
}

/// Splits the play's hosts into `serial` batches: a number, a percentage, or a list of those
/// (the last size repeats).
fn serial_batches(
    serial: Option<&Json>,
    hosts: &[String],
    templar: &Templar,
    scope: &VarScope,
) -> Result<Vec<Vec<String>>, String> {
    let Some(raw) = serial else {
        return Ok(vec![hosts.to_vec()]);
    };
    let value = templar
        .template_value(raw, scope)
        .map_err(|e| e.to_string())?;
    let sizes: Vec<Json> = match value {
        Json::Array(a) => a,
        Json::Null => return Ok(vec![hosts.to_vec()]),
        other => vec![other],
    };
    let total = hosts.len();
    let size_of = |v: &Json| -> Result<usize, String> {
        let n = match v {
            Json::Number(n) => n.as_f64().unwrap_or(0.0) as usize,
            Json::String(s) => {
                let t = s.trim();
                match t.strip_suffix('%') {
                    Some(p) => {
                        let pct: f64 = p
                            .trim()
                            .parse()
                            .map_err(|_| format!("'{s}' is not a percentage"))?;
                        ((total as f64) * pct / 100.0) as usize
                    }
                    None => t
                        .parse()
                        .map_err(|_| format!("'{s}' is not a number or a percentage"))?,
                }
            }
            other => return Err(format!("{other} is not a number or a percentage")),
        };
        Ok(if n == 0 { total.max(1) } else { n })
    };
    if sizes.is_empty() {
        return Ok(vec![hosts.to_vec()]);
    }
    let mut out = Vec::new();
    let mut i = 0;
    let mut k = 0;
    while i < total {
        let n = size_of(&sizes[k.min(sizes.len() - 1)])?.max(1);
        let end = (i + n).min(total);
        out.push(hosts[i..end].to_vec());
        i = end;
        k += 1;
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    Ok(out)
}

/// A result check mode skipped because the command would have run (see
/// [`crate::report::HostStats::would_run`]): the task's, or one of its loop items'.
fn would_run(summary: &TaskResult, items: &[TaskResult]) -> bool {
    let says = |r: &TaskResult| {
        r.result.get("msg").and_then(Json::as_str) == Some(crate::modules::command::WOULD_RUN)
    };
    says(summary) || items.iter().any(says)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("h{i}")).collect()
    }

    fn sizes(serial: Json, n: usize) -> Vec<usize> {
        serial_batches(Some(&serial), &hosts(n), &Templar::new(), &VarScope::new())
            .unwrap()
            .iter()
            .map(Vec::len)
            .collect()
    }

    struct Sink;
    impl Renderer for Sink {
        fn event(&mut self, _: &Event) {}
    }

    fn outcome_with_facts(host: &str, facts: VarMap) -> HostOutcome {
        let mut o = internal_failure(host, "t", "unused");
        o.status = Status::Ok;
        o.summary.status = Status::Ok;
        o.summary.result = serde_json::Map::new();
        o.gathered = Some(facts);
        o
    }

    /// ansible-playbook 2.19 titles an unnamed task with its action as written:
    /// `TASK [ansible.builtin.debug]`, not the short name jig resolves it to.
    #[test]
    fn an_unnamed_task_is_titled_with_its_action_as_written() {
        let opts = RunOptions::default();
        let mut sink = Sink;
        let r = Runner::new(
            &opts,
            &mut sink,
            Inventory::empty(),
            VarMap::new(),
            PathBuf::from("/"),
        );
        let mut task = Task {
            action: "debug".into(),
            action_as_written: "ansible.builtin.debug".into(),
            ..Task::default()
        };
        assert_eq!(r.display_name(&task, None, None), "ansible.builtin.debug");
        task.action_as_written = "debug".into();
        assert_eq!(r.display_name(&task, None, None), "debug");
        task.name = Some("named".into());
        assert_eq!(r.display_name(&task, None, None), "named");
    }

    #[test]
    fn module_facts_reach_the_host_scope_beside_gathered_ones() {
        let opts = RunOptions::default();
        let mut sink = Sink;
        let mut r = Runner::new(
            &opts,
            &mut sink,
            Inventory::empty(),
            VarMap::new(),
            PathBuf::from("/"),
        );
        let task = Task::default();
        let inh = Inherit::default();
        let eff = inh.for_task(&task);
        let mut setup = VarMap::new();
        setup.insert("ansible_os_family".into(), json!("Debian"));
        setup.insert("ansible_facts".into(), json!({"os_family": "Debian"}));
        r.apply_outcome(&outcome_with_facts("h1", setup), &task, &eff, &inh, false);
        let mut getent = serde_json::Map::new();
        getent.insert("getent_passwd".into(), json!({"app user": ["x", "1000"]}));
        let module = super::super::task::module_fact_vars(&getent);
        r.apply_outcome(&outcome_with_facts("h1", module), &task, &eff, &inh, false);
        let scope = r.base_scope("h1");
        let t = Templar::new();
        let got = t
            .render_str(
                "{{ ansible_os_family }} {{ ansible_facts.os_family }} \
                 {{ getent_passwd['app user'][1] }} {{ ansible_facts.getent_passwd['app user'][0] }}",
                &scope,
            )
            .unwrap();
        assert_eq!(got, "Debian Debian 1000 x");
    }

    #[derive(Default)]
    struct Lines(Vec<String>);
    impl Renderer for Lines {
        fn event(&mut self, e: &Event) {
            self.0.push(match e {
                Event::TaskStart { name, .. } => format!("TASK {name}"),
                Event::Result(r) => format!("ok {}", r.host),
                Event::Included { hosts, .. } => format!("included {}", hosts.join(",")),
                Event::Warning { message } => format!("warn {message}"),
                _ => "other".into(),
            });
        }
    }

    #[test]
    fn free_banners_come_with_results_and_again_after_another_tasks() {
        let start = |name: &str| Event::TaskStart {
            name: name.into(),
            pos: crate::yaml::Pos::default(),
            handler: false,
        };
        let result = |host: &str| {
            let mut o = internal_failure(host, "t", "unused");
            o.summary.status = Status::Ok;
            Event::Result(o.summary)
        };
        let mut out = Lines::default();
        let mut b = LazyBanners::new(2);
        b.forward(0, start("one"), &mut out);
        b.forward(1, start("one"), &mut out);
        b.forward(0, result("a"), &mut out);
        b.forward(1, result("b"), &mut out);
        b.forward(0, start("inc"), &mut out);
        b.forward(
            0,
            Event::Included {
                file: "f".into(),
                hosts: vec!["a".into()],
                item_label: None,
            },
            &mut out,
        );
        b.forward(0, start("two"), &mut out);
        b.forward(0, result("a"), &mut out);
        b.forward(1, start("two"), &mut out);
        b.forward(1, result("b"), &mut out);
        b.forward(1, start("meta"), &mut out);
        b.forward(0, start("three"), &mut out);
        b.forward(1, start("one"), &mut out);
        b.forward(1, result("b"), &mut out);
        for _ in 0..2 {
            b.forward(
                0,
                Event::Warning {
                    message: "once".into(),
                },
                &mut out,
            );
        }
        assert_eq!(
            out.0,
            [
                "TASK one",
                "ok a",
                "ok b",
                "included a",
                "TASK two",
                "ok a",
                "ok b",
                "TASK one",
                "ok b",
                "warn once"
            ]
        );
    }

    #[test]
    fn serial_numbers_percentages_and_lists() {
        assert_eq!(sizes(json!(2), 5), vec![2, 2, 1]);
        assert_eq!(sizes(json!("50%"), 4), vec![2, 2]);
        assert_eq!(sizes(json!([1, "50%"]), 5), vec![1, 2, 2]);
        assert_eq!(sizes(json!(0), 3), vec![3]);
        assert!(
            serial_batches(
                Some(&json!("lots")),
                &hosts(2),
                &Templar::new(),
                &VarScope::new()
            )
            .is_err()
        );
    }
}

//! The scheduler: plays x hosts with the `linear` strategy.
//!
//! Each task runs on every active host of the play at once (at most `forks` at a time); its
//! results reach the renderer in completion order, and the next task starts when all hosts are
//! done. Blocks, rescue/always, includes (grouped by file, like Ansible), handlers and `meta`
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

type Boxed<'a> = Pin<Box<dyn Future<Output = Result<(), RunError>> + 'a>>;

/// What persists for a host across plays.
#[derive(Default)]
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
#[derive(Default)]
struct PlayHost {
    failed: bool,
    unreachable: bool,
    ended: bool,
    inv_layers: Vec<(Layer, Arc<VarMap>)>,
    play_vars: Vec<Arc<VarMap>>,
    host_magic: Arc<VarMap>,
    notified: IndexSet<usize>,
    last_failure: Option<(Json, Json)>,
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

#[derive(Default)]
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
    no_more_hosts_reported: bool,
    /// `max_fail_percentage` was exceeded or `any_errors_fatal` fired: as in Ansible, no
    /// later batch or play runs.
    broken: bool,
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
            }),
            local: Arc::new(Connection::Local(LocalConnection::new("localhost"))),
            hosts: IndexMap::new(),
            stats: IndexMap::new(),
            start_at: opts.start_at_task.clone(),
            inventory_file,
            groups,
            ps: PlayState::default(),
            table: HostVarsTable::new(),
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

    /// Runs one play. Returns false when every host of a batch failed, or
    /// `max_fail_percentage`/`any_errors_fatal` ended it: as in Ansible, the playbook then
    /// stops.
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
            let down = |me: &Self| {
                batch
                    .iter()
                    .filter(|h| me.hosts.get(*h).is_some_and(|s| s.failed || s.unreachable))
                    .count()
            };
            let down_before = down(self);
            self.run_batch(&play, name.clone(), batch, &hosts).await?;
            // A batch where every host failed ends the play (max_fail_percentage 100%). As in
            // Ansible, only this batch's failures count: a batch of hosts that failed in an
            // earlier play runs nothing and does not end the play.
            if down(self) - down_before == batch.len() || self.ps.broken {
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

        let mut base_kw = Keywords::default();
        base_kw = merge(&base_kw, &play.keywords);
        let base = Inherit {
            when: play.keywords.when.clone(),
            tags: play.keywords.tags.clone(),
            vars: Vec::new(),
            kw: base_kw,
            role: None,
            rescuable: false,
        };

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
        for (h, p) in &self.ps.hosts {
            if let Some(hs) = self.hosts.get_mut(h) {
                hs.failed = p.failed;
                hs.unreachable = p.unreachable;
            }
        }
        if !self.ps.no_more_hosts_reported && self.active(&hosts).is_empty() {
            let any_failed = self.ps.hosts.values().any(|h| h.failed || h.unreachable);
            if any_failed {
                self.emit(Event::NoHosts {
                    reason: "no more hosts left".into(),
                });
            }
        }
        Ok(())
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
        // jig runs unattended: a prompt takes its default (extra vars still win over it).
        for p in &play.vars_prompt {
            match &p.default {
                Some(d) => {
                    play_vars.insert(p.name.clone(), d.clone());
                }
                None if !self.extra.contains_key(&p.name) => {
                    self.renderer.event(&Event::Warning {
                        message: format!(
                            "{}: vars_prompt '{}' has no default and jig does not prompt; \
                             pass it with -e {}=...",
                            p.pos, p.name, p.name
                        ),
                    });
                }
                None => {}
            }
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
        for h in hosts {
            self.stats.entry(h.clone()).or_default();
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

    fn play_over(&mut self) -> bool {
        let all = self.ps.all.clone();
        if !self.active(&all).is_empty() {
            return false;
        }
        let any_failed = self.ps.hosts.values().any(|h| h.failed || h.unreachable);
        if any_failed && !self.ps.no_more_hosts_reported {
            self.ps.no_more_hosts_reported = true;
            self.emit(Event::NoHosts {
                reason: "no more hosts left".into(),
            });
        }
        true
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
                    if let Some(p) = self.ps.hosts.get_mut(h) {
                        p.failed = false;
                        if let Some((t, r)) = p.last_failure.clone()
                            && let Some(hs) = self.hosts.get_mut(h)
                        {
                            let hf = Arc::make_mut(&mut hs.host_facts);
                            hf.insert("ansible_failed_task".into(), t);
                            hf.insert("ansible_failed_result".into(), r);
                        }
                    }
                    self.stats.entry(h.clone()).or_default().rescued += 1;
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
            None => task.action.clone(),
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
        let transport = scope.get("ansible_connection").cloned().map(|raw| {
            self.templar
                .template_value(&raw, scope)
                .map(|v| super::task::scalar_string(&v))
                .unwrap_or_else(|_| super::task::scalar_string(&raw))
        });
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
        // Ansible shows a banner for a named `meta` task, never for an unnamed one.
        if !is_meta || task.name.is_some() {
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
            };
            let sem = sem.clone();
            let handle = set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                job.run().await
            });
            ids.insert(handle.id(), h.clone());
        }
        let mut outcomes: Vec<HostOutcome> = Vec::new();
        while let Some(joined) = set.join_next_with_id().await {
            let outcome = match joined {
                Ok((_, o)) => o,
                Err(e) => {
                    let host = ids.get(&e.id()).cloned().unwrap_or_default();
                    internal_failure(&host, &display, &e.to_string())
                }
            };
            if !(is_meta && outcome.status != Status::Failed) {
                for item in &outcome.items {
                    self.emit(Event::Result(item.clone()));
                }
                // Ansible shows one `included:` line per item of a looped include, no summary.
                if outcome.looped && is_include {
                } else if outcome.looped {
                    self.emit(Event::LoopDone(outcome.summary.clone()));
                } else {
                    self.emit(Event::Result(outcome.summary.clone()));
                }
            }
            self.apply_outcome(&outcome, task, &eff, inh, is_meta);
            outcomes.push(outcome);
        }
        if run_once && let Some(first) = outcomes.first() {
            let reg = first.register.clone();
            let facts = first.facts.clone();
            for h in active.iter().skip(1) {
                if let Some(hs) = self.hosts.get_mut(h) {
                    let hf = Arc::make_mut(&mut hs.host_facts);
                    if let Some((k, v)) = &reg {
                        hf.insert(k.clone(), v.clone());
                    }
                    hf.extend(facts.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        let fatal = eff
            .kw
            .any_errors_fatal
            .as_ref()
            .and_then(crate::modules::args::parse_bool)
            .unwrap_or(self.ps.any_errors_fatal);
        if let Some(pct) = self.ps.max_fail_percentage {
            let batch = self.ps.all.len().max(1);
            let failed = self
                .ps
                .all
                .iter()
                .filter(|h| {
                    self.ps
                        .hosts
                        .get(*h)
                        .is_some_and(|p| p.failed || p.unreachable)
                })
                .count();
            if (failed * 100) as f64 / batch as f64 > pct {
                self.ps.broken = true;
                for p in self.ps.hosts.values_mut() {
                    if !p.failed && !p.unreachable {
                        p.ended = true;
                    }
                }
            }
        }
        if fatal
            && outcomes
                .iter()
                .any(|o| matches!(o.status, Status::Failed | Status::Unreachable))
        {
            self.ps.broken = true;
            for p in self.ps.hosts.values_mut() {
                if !p.failed && !p.unreachable {
                    p.ended = true;
                }
            }
        }
        self.directives(outcomes, task, &eff, inh).await
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
        let hs = self.hosts.entry(h.clone()).or_default();
        if let Some(g) = &o.gathered {
            let mut f = (*hs.facts).clone();
            f.extend(g.iter().map(|(k, v)| (k.clone(), v.clone())));
            hs.facts = Arc::new(f);
        }
        if o.register.is_some() || !o.facts.is_empty() {
            let hf = Arc::make_mut(&mut hs.host_facts);
            if let Some((k, v)) = &o.register {
                hf.insert(k.clone(), v.clone());
            }
            hf.extend(o.facts.iter().map(|(k, v)| (k.clone(), v.clone())));
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
            Status::Skipped => st.skipped += 1,
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
                st.unreachable += 1;
                if !ignore {
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
        // Included tasks run for their hosts in the order the hosts are in the play.
        let order = self.ps.all.clone();
        for (_, (d, mut hosts)) in includes {
            hosts.sort_by_key(|h| order.iter().position(|o| o == h));
            match d {
                Directive::IncludeTasks { path, vars, apply } => {
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
                            self.run_items(&items, &inc, &hosts).await?;
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
                        Ok(loaded) => {
                            let hinh = Inherit {
                                role: Some(loaded.role.clone()),
                                ..Inherit::default()
                            };
                            let mut new_handlers = Vec::new();
                            flatten_handlers(&loaded.handlers, &hinh, &mut new_handlers);
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
                                    Arc::new(loaded.role.defaults.clone()),
                                ));
                                self.ps
                                    .role_layers
                                    .push((Layer::RoleVars, Arc::new(loaded.role.vars.clone())));
                            }
                            let mut inc = inh.enter_keywords(&apply);
                            inc.role = Some(loaded.role.clone());
                            self.run_items(&loaded.tasks, &inc, &hosts).await?;
                        }
                        Err(e) => self.fail_hosts(&hosts, task, inh, &e.to_string()),
                    }
                }
                Directive::Meta(_) => {}
            }
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
                },
                looped: false,
                status: Status::Failed,
                register: None,
                facts: VarMap::new(),
                gathered: None,
                notify: Vec::new(),
                directives: Vec::new(),
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
        },
        looped: false,
        status: Status::Failed,
        register: None,
        facts: VarMap::new(),
        gathered: None,
        notify: Vec::new(),
        directives: Vec::new(),
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

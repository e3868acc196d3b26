//! Inventory: which hosts exist, which groups they are in, and their inventory variables.
//!
//! This module owns reading `-i` sources the way ansible-core 2.19 does (INI files, YAML/JSON
//! files, directories of those, `h1,h2,` host lists), the `group_vars/` and `host_vars/`
//! directories beside each source and beside the playbook, host patterns (`hosts:` and
//! `--limit`), and what `jig inventory` prints ([`render`]). Values are kept untemplated.
//!
//! Order matters and follows Ansible: hosts and groups are kept in the order they were first
//! seen; a group's hosts are listed breadth-first through its children, which is the order
//! `hosts: all` runs in.
//!
//! Deliberate differences from Ansible, each because Ansible's behaviour hides a mistake:
//! a `-i` source that does not exist or does not parse is an error naming the file and line
//! (Ansible warns and carries on with an empty inventory); dynamic inventory scripts, TOML
//! files and inventory plugin configurations are refused with a message saying what to do
//! (vault-encrypted vars files are decrypted with the run's vault passwords); a subscript past the end (`web[9]`) is a [`PatternError`]; the
//! implicit `localhost` gets no `ansible_python_interpreter` (no Python is needed); `@file`
//! works in any pattern, not only `--limit`; and groups nested two or more levels deep are
//! enumerated in a fixed order where Ansible iterates a set.

mod ini;
mod pattern;
mod pyliteral;
mod range;
pub mod render;
mod vars_dirs;
mod yaml;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::{IndexMap, IndexSet};
use serde_json::Value as Json;

use crate::vars::{Layer, VarMap};
use crate::yaml::{Pos, YamlError};

pub use pattern::PatternError;

use vars_dirs::VarsDir;

/// The names Ansible treats as the controller itself when they are not in the inventory.
const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A host and its inventory-file variables.
#[derive(Clone, Debug, PartialEq)]
pub struct Host {
    /// The inventory name (`inventory_hostname`).
    pub name: String,
    /// Variables set on the host by inventory files (inline INI vars, YAML host vars, the port
    /// of `name:port`), later sources overriding earlier ones.
    vars: VarMap,
    /// Groups that list the host directly, in the order they did.
    groups: Vec<String>,
    /// The source the host was first seen in.
    source: Option<SourceRef>,
    /// The implicit `localhost`, made up because a pattern named it.
    implicit: bool,
}

impl Host {
    fn new(name: &str, source: Option<SourceRef>) -> Host {
        Host {
            name: name.to_string(),
            vars: VarMap::new(),
            groups: Vec::new(),
            source,
            implicit: false,
        }
    }

    /// The variables set on this host by inventory files (not group_vars/host_vars files).
    pub fn vars(&self) -> &VarMap {
        &self.vars
    }

    /// Whether this is the implicit `localhost` that is not in the inventory.
    pub fn is_implicit(&self) -> bool {
        self.implicit
    }

    /// The inventory file this host was first read from (`None` for hosts from a `h1,h2,`
    /// list and for the implicit localhost).
    pub fn source(&self) -> Option<&Path> {
        match &self.source {
            Some(SourceRef::File(p)) => Some(p),
            _ => None,
        }
    }
}

/// A group: its direct hosts and child groups, in inventory order.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The group name.
    pub name: String,
    /// Hosts listed directly in this group (not through children).
    pub hosts: Vec<String>,
    /// Child groups, in the order they were added.
    pub children: Vec<String>,
    parents: Vec<String>,
    vars: VarMap,
    /// `ansible_group_priority`, which orders groups of equal depth (default 1).
    priority: i64,
    /// The longest path from `all` (which has depth 0).
    depth: u32,
}

impl Group {
    fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            hosts: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            vars: VarMap::new(),
            priority: 1,
            depth: 0,
        }
    }

    /// Variables set on the group by inventory files (`[g:vars]`, YAML `vars:`).
    pub fn vars(&self) -> &VarMap {
        &self.vars
    }

    /// The groups this group is a child of.
    pub fn parents(&self) -> &[String] {
        &self.parents
    }

    /// `ansible_group_priority` (1 unless set in an inventory file).
    pub fn priority(&self) -> i64 {
        self.priority
    }
}

/// An inventory that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A source or vars file could not be read.
    #[error("cannot read inventory {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A `-i` source that is neither a path nor a comma-separated host list.
    #[error(
        "inventory source '{0}' does not exist (give a file, a directory, or a host list such as 'web1,web2,')"
    )]
    NoSuchSource(String),
    /// An INI inventory line that cannot be understood.
    #[error("{}:{line}: {message}", file.display())]
    Ini {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// YAML that does not parse.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// YAML (inventory or vars file) that parses but has the wrong shape.
    #[error("{pos}: {message}")]
    Structure {
        /// Where.
        pos: Pos,
        /// What is wrong and what to do.
        message: String,
    },
    /// A host that is not in the inventory.
    #[error("no host named '{0}' in the inventory")]
    UnknownHost(String),
    /// A source jig cannot read (a dynamic inventory script, a TOML file).
    #[error("cannot use inventory {}: {reason}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
}

/// Where inventory data is currently being read from, for errors and `inventory_file`.
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    /// Line `line` of an INI file.
    Ini(PathBuf, usize),
    /// A YAML node.
    Yaml(Pos),
}

impl Origin {
    fn error(&self, message: String) -> InventoryError {
        match self {
            Origin::Ini(file, line) => InventoryError::Ini {
                file: file.clone(),
                line: *line,
                message,
            },
            Origin::Yaml(pos) => InventoryError::Structure {
                pos: pos.clone(),
                message,
            },
        }
    }
}

/// Hosts and groups in inventory order, with the variables inventories give them.
#[derive(Clone, Debug)]
pub struct Inventory {
    hosts: IndexMap<String, Host>,
    groups: IndexMap<String, Group>,
    /// The implicit controller hosts (`localhost`, `127.0.0.1`, `::1`).
    implicit: Vec<Host>,
    /// Directories beside each inventory source, in `-i` order.
    inventory_vars: Vec<VarsDir>,
    /// Directories beside the playbook.
    playbook_vars: Vec<VarsDir>,
    /// The source being read, recorded as the `inventory_file` of hosts first seen in it.
    current_file: Option<SourceRef>,
    /// Things Ansible would warn about while reading (skipped keys, and so on).
    warnings: Vec<String>,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory::empty()
    }
}

impl Inventory {
    /// An empty inventory (only implicit localhost), as ansible-playbook has with no -i.
    pub fn empty() -> Inventory {
        let mut groups = IndexMap::new();
        groups.insert("all".to_string(), Group::new("all"));
        groups.insert("ungrouped".to_string(), Group::new("ungrouped"));
        let mut inv = Inventory {
            hosts: IndexMap::new(),
            groups,
            implicit: LOCALHOST_NAMES
                .iter()
                .map(|n| {
                    let mut h = Host::new(n, None);
                    h.implicit = true;
                    h.vars
                        .insert("ansible_connection".to_string(), Json::from("local"));
                    h
                })
                .collect(),
            inventory_vars: Vec::new(),
            playbook_vars: Vec::new(),
            current_file: None,
            warnings: Vec::new(),
        };
        // Cannot fail: neither group has parents yet.
        let _ = inv.add_child("all", "ungrouped");
        inv.reconcile();
        inv
    }

    /// `-i` sources: INI file, YAML/JSON file, directory of those, or `h1,h2,` host list.
    pub fn load(sources: &[String]) -> Result<Inventory, InventoryError> {
        let mut inv = Inventory::empty();
        let mut bases = Vec::new();
        for source in sources {
            let path = Path::new(source);
            if path.exists() {
                let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
                if abs.is_dir() {
                    inv.parse_dir(&abs)?;
                    bases.push(abs);
                } else {
                    inv.parse_file(&abs)?;
                    bases.push(abs.parent().map(Path::to_path_buf).unwrap_or_default());
                }
            } else if source.contains(',') {
                inv.parse_host_list(source)?;
            } else {
                return Err(InventoryError::NoSuchSource(source.clone()));
            }
        }
        inv.current_file = None;
        inv.reconcile();
        for base in bases {
            let dir = VarsDir::load(&base, &inv)?;
            inv.inventory_vars.push(dir);
        }
        Ok(inv)
    }

    /// Reads group_vars/ and host_vars/ beside the playbook (they outrank the inventory's).
    pub fn add_playbook_vars_dir(&mut self, dir: &Path) -> Result<(), InventoryError> {
        let vars = VarsDir::load(dir, self)?;
        self.playbook_vars.push(vars);
        Ok(())
    }

    /// The host named `name`: an inventory host, or the implicit localhost for `localhost`,
    /// `127.0.0.1` and `::1` when the inventory does not define them.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts
            .get(name)
            .or_else(|| self.implicit.iter().find(|h| h.name == name))
    }

    /// A group by name (`all` and `ungrouped` always exist).
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// Every group, in the order first seen (`all` and `ungrouped` first).
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    /// Every inventory host (never the implicit localhost), in inventory order: the order
    /// `hosts: all` runs them in.
    pub fn host_names(&self) -> Vec<String> {
        self.group_hosts("all")
    }

    /// Hosts matching an Ansible host pattern, in inventory order (implicit localhost included
    /// when named explicitly and absent from the inventory, with ansible_connection=local).
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, PatternError> {
        pattern::select(self, &[pattern])
    }

    /// Like [`Inventory::select`] for a list of patterns (`hosts: [web, "db:!db2"]`). Each item
    /// is split on its own, so a `:` inside one item still separates patterns, which joining
    /// the items with `,` would not do.
    pub fn select_many<S: AsRef<str>>(&self, patterns: &[S]) -> Result<Vec<String>, PatternError> {
        pattern::select(self, patterns)
    }

    /// `hosts` (from [`Inventory::select`]) narrowed to those `limit` also selects, keeping
    /// their order: what `--limit` does to every play's hosts.
    pub fn restrict(&self, hosts: &[String], limit: &str) -> Result<Vec<String>, PatternError> {
        let allowed: HashSet<String> = self.select(limit)?.into_iter().collect();
        Ok(hosts
            .iter()
            .filter(|h| allowed.contains(*h))
            .cloned()
            .collect())
    }

    /// The `groups` magic variable: every group (with `all` and `ungrouped`) -> its hosts.
    pub fn groups_map(&self) -> IndexMap<String, Vec<String>> {
        self.groups
            .keys()
            .map(|g| (g.clone(), self.group_hosts(g)))
            .collect()
    }

    /// `group_names`: groups the host is in, transitively, sorted. Like Ansible, this leaves
    /// out `all` but keeps `ungrouped` for hosts that are in no other group.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| g != "all")
            .collect();
        names.sort();
        names
    }

    /// The host's inventory variables as precedence layers, lowest first, in Ansible's order:
    /// the inventory files' `all` vars, the inventory files' vars of the host's other groups
    /// (by depth, `ansible_group_priority`, name), `group_vars/all` beside the inventory then
    /// beside the playbook, the other `group_vars/` beside the inventory then the playbook,
    /// inventory-file host vars, `host_vars/` beside the inventory then the playbook.
    ///
    /// Ansible ranks `group_vars/all` files above inventory-file vars of any group, so only the
    /// inventory files' own `all` vars are labelled [`Layer::GroupVarsAll`]; the `group_vars/all`
    /// files come after the inventory-file group vars as [`Layer::GroupVars`], which keeps the
    /// labels in non-decreasing order for [`crate::vars::VarScope::push`].
    pub fn var_layers(&self, host: &str) -> Vec<(Layer, Arc<VarMap>)> {
        self.var_sources(host)
            .into_iter()
            .map(|s| (s.layer, s.vars))
            .collect()
    }

    /// Like [`Inventory::var_layers`], naming where each layer comes from (for `jig explain`).
    pub fn var_sources(&self, host: &str) -> Vec<VarSource> {
        let mut out = Vec::new();
        let Some(h) = self.host(host) else {
            return out;
        };
        let mut push = |layer: Layer, origin: String, vars: Arc<VarMap>| {
            if !vars.is_empty() {
                out.push(VarSource {
                    layer,
                    origin,
                    vars,
                });
            }
        };
        if let Some(all) = self.groups.get("all") {
            push(
                Layer::GroupVarsAll,
                "inventory vars of group all".into(),
                Arc::new(all.vars.clone()),
            );
        }
        let groups = self.sorted_host_groups(host);
        for g in &groups {
            if let Some(group) = self.groups.get(g) {
                push(
                    Layer::GroupVars,
                    format!("inventory vars of group {g}"),
                    Arc::new(group.vars.clone()),
                );
            }
        }
        for dirs in [&self.inventory_vars, &self.playbook_vars] {
            for d in dirs {
                for (file, vars) in d.group("all") {
                    push(Layer::GroupVars, file.display().to_string(), vars.clone());
                }
            }
        }
        for dirs in [&self.inventory_vars, &self.playbook_vars] {
            for d in dirs {
                for g in &groups {
                    for (file, vars) in d.group(g) {
                        push(Layer::GroupVars, file.display().to_string(), vars.clone());
                    }
                }
            }
        }
        push(
            Layer::HostVars,
            format!("inventory vars of host {host}"),
            Arc::new(h.vars.clone()),
        );
        for dirs in [&self.inventory_vars, &self.playbook_vars] {
            for d in dirs {
                for (file, vars) in d.host(host) {
                    push(Layer::HostVars, file.display().to_string(), vars.clone());
                }
            }
        }
        out
    }

    /// The host's inventory variables merged by precedence (what `ansible-inventory --host`
    /// shows).
    pub fn host_vars(&self, host: &str) -> VarMap {
        let mut merged = VarMap::new();
        for (_, vars) in self.var_layers(host) {
            for (k, v) in vars.iter() {
                merged.insert(k.clone(), v.clone());
            }
        }
        merged
    }

    /// The directory of the first inventory source (`inventory_dir`) and the file (`inventory_file`).
    /// `None` for hosts from a `h1,h2,` list, as in Ansible.
    pub fn inventory_dir(&self, host: &str) -> Option<PathBuf> {
        self.host(host)
            .and_then(Host::source)
            .and_then(|f| f.parent().map(Path::to_path_buf))
    }

    /// The inventory file the host was first read from (`inventory_file`); for a host from a
    /// `h1,h2,` list, that list, as Ansible has it.
    pub fn inventory_file(&self, host: &str) -> Option<PathBuf> {
        self.host(host).and_then(|h| match &h.source {
            Some(SourceRef::File(p)) => Some(p.clone()),
            Some(SourceRef::HostList(l)) => Some(PathBuf::from(l)),
            None => None,
        })
    }

    /// Warnings from reading the inventory (each with its file and position), for the caller
    /// to show: things Ansible skips with a warning rather than failing on.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    // ----- building (used by the parsers) -----

    pub(crate) fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    pub(crate) fn add_group(&mut self, name: &str, origin: &Origin) -> Result<(), InventoryError> {
        if name.is_empty() {
            return Err(origin.error("a group name may not be empty".into()));
        }
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_string(), Group::new(name));
        }
        Ok(())
    }

    pub(crate) fn has_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }

    /// Adds (or revisits) a host, in `group` if given; `port` becomes `ansible_port`.
    pub(crate) fn add_host(&mut self, name: &str, group: Option<&str>, port: Option<u16>) {
        if !self.hosts.contains_key(name) {
            self.hosts
                .insert(name.to_string(), Host::new(name, self.current_file.clone()));
        }
        if let Some(g) = group {
            if !self.groups.contains_key(g) {
                self.groups.insert(g.to_string(), Group::new(g));
            }
            // The host's own (short) list of groups says whether it is already a member, so
            // adding thousands of hosts to one group stays linear.
            if let Some(h) = self.hosts.get_mut(name)
                && !h.groups.iter().any(|x| x == g)
            {
                h.groups.push(g.to_string());
                if let Some(group) = self.groups.get_mut(g) {
                    group.hosts.push(name.to_string());
                }
            }
        }
        if let (Some(port), Some(h)) = (port, self.hosts.get_mut(name)) {
            h.vars.insert("ansible_port".to_string(), Json::from(port));
        }
    }

    pub(crate) fn set_host_var(&mut self, host: &str, key: &str, value: Json) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.vars.insert(key.to_string(), value);
        }
    }

    pub(crate) fn set_group_var(
        &mut self,
        group: &str,
        key: &str,
        value: Json,
        origin: &Origin,
    ) -> Result<(), InventoryError> {
        let Some(g) = self.groups.get_mut(group) else {
            return Err(origin.error(format!("group '{group}' is not defined")));
        };
        if key == "ansible_group_priority" {
            g.priority = match &value {
                Json::Number(n) => n.as_i64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                origin.error(format!(
                    "ansible_group_priority of group '{group}' must be an integer, not {value}"
                ))
            })?;
        } else {
            g.vars.insert(key.to_string(), value);
        }
        Ok(())
    }

    /// Makes `child` a child of `parent`, refusing cycles as Ansible does.
    pub(crate) fn add_child(&mut self, parent: &str, child: &str) -> Result<(), String> {
        if parent == child {
            return Err(format!("group '{child}' cannot be a child of itself"));
        }
        if self.ancestors(parent).contains(child) {
            return Err(format!(
                "adding group '{child}' as child to '{parent}' creates a recursive dependency loop"
            ));
        }
        for name in [parent, child] {
            if !self.groups.contains_key(name) {
                self.groups.insert(name.to_string(), Group::new(name));
            }
        }
        if let Some(p) = self.groups.get_mut(parent)
            && !p.children.iter().any(|c| c == child)
        {
            p.children.push(child.to_string());
        }
        if let Some(c) = self.groups.get_mut(child)
            && !c.parents.iter().any(|p| p == parent)
        {
            c.parents.push(parent.to_string());
        }
        Ok(())
    }

    /// The transitive parents of a group (not the group itself).
    fn ancestors(&self, group: &str) -> IndexSet<String> {
        let mut out = IndexSet::new();
        let mut todo = vec![group.to_string()];
        while let Some(g) = todo.pop() {
            if let Some(grp) = self.groups.get(&g) {
                for p in &grp.parents {
                    if out.insert(p.clone()) {
                        todo.push(p.clone());
                    }
                }
            }
        }
        out
    }

    /// After all sources are read: top-level groups go under `all`, hosts in no group go to
    /// `ungrouped` (and leave it once they are in a real group), depths are computed.
    fn reconcile(&mut self) {
        let orphans: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.name != "all" && g.parents.is_empty())
            .map(|g| g.name.clone())
            .collect();
        for g in orphans {
            // Cannot loop: `all` has no parents.
            let _ = self.add_child("all", &g);
        }
        let names: Vec<String> = self.hosts.keys().cloned().collect();
        for name in names {
            let groups = self.host_groups(&name);
            let real = groups.iter().any(|g| g != "all" && g != "ungrouped");
            let in_ungrouped = groups.iter().any(|g| g == "ungrouped");
            if in_ungrouped && real {
                if let Some(u) = self.groups.get_mut("ungrouped") {
                    u.hosts.retain(|h| h != &name);
                }
                if let Some(h) = self.hosts.get_mut(&name) {
                    h.groups.retain(|g| g != "ungrouped");
                }
            } else if !real && !in_ungrouped {
                self.add_host(&name, Some("ungrouped"), None);
            }
        }
        let clashes: Vec<String> = self
            .groups
            .keys()
            .filter(|g| self.hosts.contains_key(*g))
            .cloned()
            .collect();
        for name in clashes {
            self.warn(format!("found both group and host with same name: {name}"));
        }
        let mut depth: HashMap<String, u32> = HashMap::new();
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for g in &names {
            self.depth_of(g, &mut depth);
        }
        for (name, g) in self.groups.iter_mut() {
            g.depth = depth.get(name).copied().unwrap_or(0);
        }
    }

    fn depth_of(&self, group: &str, memo: &mut HashMap<String, u32>) -> u32 {
        if let Some(d) = memo.get(group) {
            return *d;
        }
        // Parents form a DAG (add_child refuses cycles), so this terminates.
        let d = self
            .groups
            .get(group)
            .map(|g| {
                g.parents
                    .iter()
                    .map(|p| self.depth_of(p, memo) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        memo.insert(group.to_string(), d);
        d
    }

    /// Every group the host is in, directly or through parents (including `all`).
    fn host_groups(&self, host: &str) -> IndexSet<String> {
        let mut out = IndexSet::new();
        if let Some(h) = self.hosts.get(host) {
            for g in &h.groups {
                out.extend(self.ancestors(g));
                out.insert(g.clone());
            }
        }
        out
    }

    /// The host's groups other than `all` in Ansible's precedence order: depth, priority, name.
    fn sorted_host_groups(&self, host: &str) -> Vec<String> {
        let mut groups: Vec<&Group> = self
            .host_groups(host)
            .iter()
            .filter(|g| *g != "all")
            .filter_map(|g| self.groups.get(g))
            .collect();
        groups.sort_by(|a, b| (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name)));
        groups.into_iter().map(|g| g.name.clone()).collect()
    }

    /// The hosts of a group and its descendants: the group's own, then its children's
    /// breadth-first, without duplicates (Ansible's `Group.get_hosts`).
    pub(crate) fn group_hosts(&self, group: &str) -> Vec<String> {
        let Some(start) = self.groups.get(group) else {
            return Vec::new();
        };
        let mut ordered: IndexSet<&str> = IndexSet::new();
        ordered.insert(&start.name);
        ordered.extend(start.children.iter().map(String::as_str));
        let mut level: Vec<&str> = ordered.iter().copied().collect();
        let mut seen: HashSet<&str> = HashSet::new();
        while !level.is_empty() {
            seen.extend(level.iter().copied());
            let mut next = Vec::new();
            for g in &level {
                for c in self
                    .groups
                    .get(*g)
                    .map(|g| &g.children)
                    .into_iter()
                    .flatten()
                {
                    if !seen.contains(c.as_str()) && !next.contains(&c.as_str()) {
                        next.push(c.as_str());
                        ordered.insert(c.as_str());
                    }
                }
            }
            level = next;
        }
        let mut hosts: IndexSet<String> = IndexSet::new();
        for g in ordered {
            if let Some(grp) = self.groups.get(g) {
                hosts.extend(grp.hosts.iter().cloned());
            }
        }
        hosts.into_iter().collect()
    }

    fn parse_dir(&mut self, dir: &Path) -> Result<(), InventoryError> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| InventoryError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if ignored_in_dir(&name) {
                continue;
            }
            if path.is_dir() {
                self.parse_dir(&path)?;
            } else {
                self.parse_file(&path)?;
            }
        }
        Ok(())
    }

    fn parse_file(&mut self, path: &Path) -> Result<(), InventoryError> {
        self.current_file = Some(SourceRef::File(path.to_path_buf()));
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if let Some(reason) = unsupported_source(path, ext.as_deref()) {
            return Err(InventoryError::Unsupported {
                path: path.to_path_buf(),
                reason,
            });
        }
        match ext.as_deref() {
            Some("yml" | "yaml" | "json") => {
                let node = crate::yaml::load_file(path)?;
                yaml::parse(self, &node)
            }
            None => {
                // Ansible tries its YAML plugin first on files without an extension.
                if let Ok(node) = crate::yaml::load_file(path)
                    && node.as_map().is_some()
                {
                    return yaml::parse(self, &node);
                }
                self.parse_ini(path)
            }
            Some(_) => self.parse_ini(path),
        }
    }

    fn parse_ini(&mut self, path: &Path) -> Result<(), InventoryError> {
        let bytes = std::fs::read(path).map_err(|source| InventoryError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| InventoryError::Ini {
            file: path.to_path_buf(),
            line: 0,
            message: "the file is not UTF-8 text".into(),
        })?;
        ini::parse(self, path, &text)
    }

    fn parse_host_list(&mut self, list: &str) -> Result<(), InventoryError> {
        self.current_file = Some(SourceRef::HostList(list.to_string()));
        for item in list.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (name, port) =
                range::parse_address(item, false).unwrap_or((item.to_string(), None));
            self.add_host(&name, Some("ungrouped"), port);
        }
        Ok(())
    }
}

/// Where a host was first read from.
#[derive(Clone, Debug, PartialEq)]
enum SourceRef {
    /// An inventory file (absolute).
    File(PathBuf),
    /// A `h1,h2,` list given as a source.
    HostList(String),
}

/// One layer of a host's inventory variables and where it comes from.
#[derive(Clone, Debug)]
pub struct VarSource {
    /// The precedence layer.
    pub layer: Layer,
    /// A file path, or "inventory vars of group web" for variables inside inventory files.
    pub origin: String,
    /// The variables.
    pub vars: Arc<VarMap>,
}

/// Why jig cannot read `path` as a static inventory, if it cannot: Ansible would hand these
/// to its `script` or `toml` plugins.
fn unsupported_source(path: &Path, ext: Option<&str>) -> Option<String> {
    if ext == Some("toml") {
        return Some("TOML inventories are not supported; convert it to YAML or INI".into());
    }
    let mut head = [0u8; 2];
    let is_script = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head == b"#!";
    #[cfg(unix)]
    let executable = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    };
    #[cfg(not(unix))]
    let executable = true;
    (is_script && executable).then(|| {
        "this is an executable dynamic inventory script, which jig does not run; save its --list output as a JSON or YAML inventory instead".into()
    })
}

/// Names Ansible skips when reading a directory as an inventory.
fn ignored_in_dir(name: &str) -> bool {
    const EXTS: [&str; 12] = [
        ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg",
        ".retry",
    ];
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || EXTS.iter().any(|e| name.ends_with(e))
}

#[cfg(test)]
mod tests;

//! Reading playbook and task files: plays, task lists, blocks, and the static imports
//! (`import_playbook`, `import_tasks`; `import_role` and `roles:` are in `role.rs`).
//!
//! A [`Loader`] walks the files depth first and keeps the stack of files being expanded, so an
//! import cycle is an error that names the chain instead of a stack overflow. What one play
//! collects besides its task lists (role handlers, role names, the roles already used) is kept
//! in a [`PlayAcc`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use super::keywords::{self, invalid};
use super::kv::split_args;
use super::task;
use super::{
    Block, LoadError, LoadOptions, Play, Playbook, Role, Task, TaskItem, VarMap, VarsPrompt,
};
use crate::yaml::{self, Key, Node, NodeValue, Pos};

/// How deep imports may nest before jig gives up (a cycle through templated names, or a
/// pathological tree).
const MAX_DEPTH: usize = 64;

/// Loads a playbook file with its `import_playbook`s, roles and `import_*`s expanded.
pub fn load_playbook(path: &Path, opts: &LoadOptions) -> Result<Playbook, LoadError> {
    load_playbook_with_vars(path, opts, &VarMap::new())
}

/// Like [`load_playbook`], with the extra vars (`-e`) known before the run.
///
/// As in Ansible, the names given to static imports (`import_playbook`, `import_tasks`,
/// `import_role`, `roles:` entries) may use variables known before any host is contacted:
/// extra vars, play and import vars, task vars, role params/vars/defaults, `playbook_dir` and
/// `role_path`. Only plain `{{ name }}` references are replaced; a filter or an unknown name
/// is an error that suggests the dynamic `include_*` form.
pub fn load_playbook_with_vars(
    path: &Path,
    opts: &LoadOptions,
    extra_vars: &VarMap,
) -> Result<Playbook, LoadError> {
    let mut loader = Loader::new(opts);
    loader.extra_vars = extra_vars.clone();
    let plays = loader.playbook_file(path, &file_pos(path), &VarMap::new())?;
    Ok(Playbook {
        path: path.to_path_buf(),
        dir: absolute(&dir_of(path)),
        plays,
    })
}

/// A task file for include_tasks at run time (imports inside it are expanded statically).
///
/// Roles imported inside the file are searched beside the file, beside `role`'s directory and
/// in `opts.roles_path`; use [`load_tasks_file_from`] to give the playbook directory as well.
/// Handlers of roles imported inside the file are not returned.
pub fn load_tasks_file(
    path: &Path,
    role: Option<Arc<Role>>,
    opts: &LoadOptions,
) -> Result<Vec<TaskItem>, LoadError> {
    let mut search: Vec<PathBuf> = Vec::new();
    if let Some(r) = &role
        && let Some(roles_dir) = r.path.parent()
    {
        if let Some(pb) = roles_dir.parent() {
            search.push(pb.to_path_buf());
        }
        search.push(roles_dir.to_path_buf());
    }
    let dir = absolute(&dir_of(path));
    if let Some(parent) = dir.parent() {
        search.push(parent.to_path_buf());
    }
    search.push(dir);
    load_tasks_file_from(path, role, &search, opts)
}

/// Like [`load_tasks_file`], with the directories roles are searched from (the playbook
/// directory first), as in [`super::RoleRequest::search_from`].
pub fn load_tasks_file_from(
    path: &Path,
    role: Option<Arc<Role>>,
    search_from: &[PathBuf],
    opts: &LoadOptions,
) -> Result<Vec<TaskItem>, LoadError> {
    load_tasks_file_with_vars(path, role, search_from, opts, &VarMap::new())
}

/// Like [`load_tasks_file_from`], with the variables the names of static imports inside the
/// file may use (at run time: the host's variables, flattened).
pub fn load_tasks_file_with_vars(
    path: &Path,
    role: Option<Arc<Role>>,
    search_from: &[PathBuf],
    opts: &LoadOptions,
    vars: &VarMap,
) -> Result<Vec<TaskItem>, LoadError> {
    let mut loader = Loader::new(opts);
    loader.extra_vars = vars.clone();
    let mut acc = PlayAcc::default();
    let scope = Scope {
        dir: dir_of(path),
        role,
        role_subdir: "tasks",
        search_from: search_from.to_vec(),
        play_vars: Arc::new(VarMap::new()),
    };
    let at = Pos {
        file: Some(Arc::new(path.to_path_buf())),
        line: 0,
        column: 0,
    };
    if !path.is_file() {
        return Err(LoadError::FileNotFound {
            pos: at,
            what: "task file",
            name: path.display().to_string(),
            searched: path.display().to_string(),
        });
    }
    loader.task_file(path, &scope, &mut acc, &at)
}

/// Walks files, expanding static imports.
pub(crate) struct Loader<'o> {
    pub(crate) opts: &'o LoadOptions,
    /// Files being expanded, outermost first.
    stack: Vec<PathBuf>,
    /// Roles being expanded (directory and `tasks_from`), outermost first, for dependency
    /// cycles.
    pub(crate) role_stack: Vec<(PathBuf, Option<String>)>,
    /// `-e` variables, for the names of static imports.
    pub(crate) extra_vars: VarMap,
}

/// What expanding one play collects besides its task lists.
#[derive(Default)]
pub(crate) struct PlayAcc {
    /// Handlers of the roles in `roles:` (they come first in the play's handlers).
    pub(crate) role_handlers: Vec<TaskItem>,
    /// Handlers of roles brought in by `import_role` (they come last).
    pub(crate) import_handlers: Vec<TaskItem>,
    /// Names of the roles used, in order, without repeats.
    pub(crate) role_names: Vec<String>,
    /// Roles already expanded in this play: (directory, parameters) pairs.
    pub(crate) seen_roles: HashSet<(PathBuf, String)>,
    /// The play's vars (for the names of static imports inside roles).
    pub(crate) play_vars: Arc<VarMap>,
}

impl PlayAcc {
    pub(crate) fn add_role_name(&mut self, name: &str) {
        if !self.role_names.iter().any(|n| n == name) {
            self.role_names.push(name.to_string());
        }
    }
}

/// Where a task list is being read from.
#[derive(Clone, Debug)]
pub(crate) struct Scope {
    /// The directory of the file being read.
    pub(crate) dir: PathBuf,
    /// The role the tasks belong to.
    pub(crate) role: Option<Arc<Role>>,
    /// `tasks` or `handlers`: the role subdirectory imports are looked up in first.
    pub(crate) role_subdir: &'static str,
    /// Directories roles are searched from (see `RoleRequest::search_from`).
    pub(crate) search_from: Vec<PathBuf>,
    /// Play vars (with the vars of the `import_playbook` that brought the play in).
    pub(crate) play_vars: Arc<VarMap>,
}

/// The directory a file is in (`.` for a bare file name).
pub(crate) fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The path made absolute without resolving symlinks (kept as is if that fails).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn file_pos(path: &Path) -> Pos {
    Pos {
        file: Some(Arc::new(path.to_path_buf())),
        line: 0,
        column: 0,
    }
}

impl<'o> Loader<'o> {
    pub(crate) fn new(opts: &'o LoadOptions) -> Self {
        Loader {
            opts,
            stack: Vec::new(),
            role_stack: Vec::new(),
            extra_vars: VarMap::new(),
        }
    }

    /// Notes that `path` is being expanded; an error if it already is (an import cycle).
    fn enter(&mut self, path: &Path, at: &Pos) -> Result<(), LoadError> {
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&canon) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .skip_while(|p| **p != canon)
                .map(|p| p.display().to_string())
                .chain(std::iter::once(canon.display().to_string()))
                .collect();
            return Err(invalid(
                at,
                format!(
                    "import cycle: {}; an imported file cannot import itself",
                    chain.join(" -> ")
                ),
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(invalid(
                at,
                format!("imports are nested more than {MAX_DEPTH} deep; is there a cycle?"),
            ));
        }
        self.stack.push(canon);
        Ok(())
    }

    /// Reads a playbook file into plays.
    pub(crate) fn playbook_file(
        &mut self,
        path: &Path,
        at: &Pos,
        import_vars: &VarMap,
    ) -> Result<Vec<Play>, LoadError> {
        if !path.is_file() {
            return Err(LoadError::FileNotFound {
                pos: at.clone(),
                what: "playbook",
                name: path.display().to_string(),
                searched: path.display().to_string(),
            });
        }
        self.enter(path, at)?;
        let result = self.playbook_file_inner(path, import_vars);
        self.stack.pop();
        result
    }

    fn playbook_file_inner(
        &mut self,
        path: &Path,
        import_vars: &VarMap,
    ) -> Result<Vec<Play>, LoadError> {
        let node = yaml::load_file(path)?;
        let dir = dir_of(path);
        let items = match &node.value {
            NodeValue::Seq(items) => items,
            NodeValue::Null => {
                return Err(invalid(
                    &file_pos(path),
                    "the playbook is empty: a playbook is a list of plays (`- hosts: all` ...)",
                ));
            }
            NodeValue::Map(_) => {
                return Err(invalid(
                    &node.pos,
                    "a playbook must be a list of plays (`- hosts: ...`), but this file is a mapping; is it a task file or a vars file?",
                ));
            }
            _ => {
                return Err(invalid(
                    &node.pos,
                    format!(
                        "a playbook must be a list of plays, but this file holds {}",
                        node.kind()
                    ),
                ));
            }
        };
        let mut plays = Vec::new();
        for item in items {
            let Some(entries) = item.as_map() else {
                return Err(invalid(
                    &item.pos,
                    format!(
                        "a play must be a mapping (`hosts:`, `tasks:`...), got {}",
                        item.kind()
                    ),
                ));
            };
            let import = entries.iter().find(|(k, _)| {
                matches!(
                    k.name.as_str(),
                    "import_playbook"
                        | "ansible.builtin.import_playbook"
                        | "ansible.legacy.import_playbook"
                        | "include"
                )
            });
            match import {
                Some((k, v)) => {
                    plays.extend(self.import_playbook(entries, k, v, &dir, import_vars)?)
                }
                None => plays.push(self.play(item, entries, &dir, import_vars)?),
            }
        }
        Ok(plays)
    }

    fn import_playbook(
        &mut self,
        entries: &[(Key, Node)],
        key: &Key,
        value: &Node,
        dir: &Path,
        outer_vars: &VarMap,
    ) -> Result<Vec<Play>, LoadError> {
        let words = match value.as_str() {
            Some(text) => split_args(text).map_err(|e| invalid(&value.pos, e))?,
            None => Vec::new(),
        };
        let Some(first) = words.first().map(|w| w.trim()).filter(|w| !w.is_empty()) else {
            return Err(invalid(
                &value.pos,
                format!(
                    "`{}` needs a playbook file name, got {}",
                    key.name,
                    value.kind()
                ),
            ));
        };
        if words.len() > 1 {
            return Err(invalid(
                &value.pos,
                format!(
                    "`{}` takes only a file name; give variables under `vars:` and tags under `tags:`",
                    key.name
                ),
            ));
        }
        let mut vars = VarMap::new();
        let mut when = Vec::new();
        let mut tags = Vec::new();
        for (k, v) in entries {
            match k.name.as_str() {
                n if n == key.name => {}
                "name" => {}
                "vars" => vars = keywords::var_map(v, "vars")?,
                "when" => when = keywords::when_list(v),
                "tags" => tags = keywords::tags_list(v)?,
                other => {
                    return Err(invalid(
                        &k.pos,
                        format!(
                            "`{other}` cannot be used with `{}`; it takes only `vars`, `when`, `tags` and `name`",
                            key.name
                        ),
                    ));
                }
            }
        }
        // The imported plays see the outer import's vars, overridden by this import's.
        let mut known = outer_vars.clone();
        known.extend(vars.clone());
        let playbook_dir = absolute(dir);
        let lookup = |name: &str| -> Option<String> {
            if name == "playbook_dir" {
                return Some(playbook_dir.to_string_lossy().into_owned());
            }
            var_text(self.extra_vars.get(name).or_else(|| known.get(name))?)
        };
        let Some(file) = static_path(first, &lookup) else {
            return Err(invalid(
                &value.pos,
                format!(
                    "`{}: {first}` uses a variable jig cannot know before the run; only plain `{{{{ name }}}}` references to extra vars, import vars and `playbook_dir` are replaced",
                    key.name
                ),
            ));
        };
        let file = file.as_str();
        let path = if Path::new(file).is_absolute() {
            PathBuf::from(file)
        } else {
            dir.join(file)
        };
        let mut plays = self.playbook_file(&path, &value.pos, &known)?;
        // Applied again after loading so that, as in Ansible, an outer import's vars win over
        // an inner one's.
        for play in &mut plays {
            play.vars.extend(vars.clone());
            play.keywords.tags.splice(0..0, tags.iter().cloned());
            play.keywords.when.splice(0..0, when.iter().cloned());
        }
        Ok(plays)
    }

    fn play(
        &mut self,
        node: &Node,
        entries: &[(Key, Node)],
        dir: &Path,
        import_vars: &VarMap,
    ) -> Result<Play, LoadError> {
        let abs_dir = absolute(dir);
        let mut play = Play {
            pos: node.pos.clone(),
            dir: abs_dir.clone(),
            ..Play::default()
        };
        let mut hosts: Option<String> = None;
        let mut sections: [Option<&Node>; 5] = [None; 5];
        for (k, v) in entries {
            let key = k.name.as_str();
            match key {
                "hosts" => hosts = Some(hosts_value(v)?),
                "name" => play.name = keywords::scalar_text(v),
                "gather_facts" => {
                    play.gather_facts = match &v.value {
                        NodeValue::Null => None,
                        _ => Some(keywords::bool_value(v).ok_or_else(|| {
                            invalid(
                                &v.pos,
                                format!(
                                    "`gather_facts` must be true or false, got {}",
                                    v.to_json()
                                ),
                            )
                        })?),
                    }
                }
                "gather_subset" => play.gather_subset = keywords::opt_json(v),
                "vars" => play.vars.extend(keywords::var_map(v, "vars")?),
                "vars_files" => {
                    play.vars_files = match &v.value {
                        NodeValue::Null => Vec::new(),
                        NodeValue::Seq(items) => items.iter().map(Node::to_json).collect(),
                        _ => vec![v.to_json()],
                    }
                }
                "vars_prompt" => play.vars_prompt = vars_prompt(v)?,
                "roles" => sections[0] = Some(v),
                "pre_tasks" => sections[1] = Some(v),
                "tasks" => sections[2] = Some(v),
                "post_tasks" => sections[3] = Some(v),
                "handlers" => sections[4] = Some(v),
                "strategy" => play.strategy = keywords::string_value(v, "strategy")?,
                "serial" => play.serial = keywords::opt_json(v),
                "max_fail_percentage" => play.max_fail_percentage = keywords::opt_json(v),
                "force_handlers" => play.force_handlers = keywords::opt_json(v),
                "any_errors_fatal" => {
                    play.any_errors_fatal = keywords::opt_json(v);
                    play.keywords.any_errors_fatal = keywords::opt_json(v);
                }
                "user" => play.keywords.remote_user = keywords::opt_json(v),
                // Accepted and not used: jig gathers its fixed fact set, in inventory order.
                "gather_timeout" | "fact_path" | "order" => {}
                _ if keywords::IGNORED.contains(&key) => {}
                _ => {
                    if !keywords::apply_common(&mut play.keywords, key, v)? {
                        return Err(unknown_play_key(k));
                    }
                }
            }
        }
        play.hosts = hosts.ok_or_else(|| {
            invalid(
                &node.pos,
                "this play has no `hosts:`; add one, e.g. `hosts: all` or a group name",
            )
        })?;
        // Import vars override the play's own, as in Ansible.
        play.vars.extend(import_vars.clone());
        let scope = Scope {
            dir: dir.to_path_buf(),
            role: None,
            role_subdir: "tasks",
            search_from: vec![abs_dir],
            play_vars: Arc::new(play.vars.clone()),
        };
        let mut acc = PlayAcc {
            play_vars: scope.play_vars.clone(),
            ..PlayAcc::default()
        };
        if let Some(roles) = sections[0] {
            play.roles = self.roles_section(roles, &scope, &mut acc)?;
        }
        let mut lists: [Vec<TaskItem>; 4] = Default::default();
        let names = ["pre_tasks", "tasks", "post_tasks", "handlers"];
        for (i, list) in lists.iter_mut().enumerate() {
            if let Some(n) = sections[i + 1] {
                *list = self.items(n, &scope, &mut acc, names[i])?;
            }
        }
        let [pre, tasks, post, handlers] = lists;
        play.pre_tasks = pre;
        play.tasks = tasks;
        play.post_tasks = post;
        let PlayAcc {
            role_handlers,
            import_handlers,
            role_names,
            ..
        } = acc;
        play.handlers = role_handlers;
        play.handlers.extend(handlers);
        play.handlers.extend(import_handlers);
        play.role_names = role_names;
        Ok(play)
    }

    /// A list of tasks (or null); `what` names the list in messages.
    pub(crate) fn items(
        &mut self,
        node: &Node,
        scope: &Scope,
        acc: &mut PlayAcc,
        what: &str,
    ) -> Result<Vec<TaskItem>, LoadError> {
        let items = match &node.value {
            NodeValue::Null => return Ok(Vec::new()),
            NodeValue::Seq(items) => items,
            _ => {
                return Err(invalid(
                    &node.pos,
                    format!("`{what}` must be a list of tasks, got {}", node.kind()),
                ));
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.item(item, scope, acc)?);
        }
        Ok(out)
    }

    fn item(
        &mut self,
        node: &Node,
        scope: &Scope,
        acc: &mut PlayAcc,
    ) -> Result<TaskItem, LoadError> {
        let entries = match &node.value {
            NodeValue::Map(entries) if !entries.is_empty() => entries,
            NodeValue::Map(_) => return Err(invalid(&node.pos, "an empty task `{}`; remove it")),
            NodeValue::Null => {
                return Err(invalid(
                    &node.pos,
                    "an empty entry in a task list; remove the lone `-` or give it a task",
                ));
            }
            NodeValue::Str(s) => {
                return Err(invalid(
                    &node.pos,
                    format!(
                        "a task must be a mapping (`- name: ...` with a module on the next line), got the string '{s}'; check the indentation"
                    ),
                ));
            }
            _ => {
                return Err(invalid(
                    &node.pos,
                    format!("a task must be a mapping, got {}", node.kind()),
                ));
            }
        };
        if task::is_block(entries) {
            let header = task::parse_block_header(node, entries)?;
            let mut block = header.block;
            for (slot, section, name) in [
                (&mut block.block, header.block_items, "block"),
                (&mut block.rescue, header.rescue, "rescue"),
                (&mut block.always, header.always, "always"),
            ] {
                if let Some(n) = section {
                    *slot = self.items(n, scope, acc, name)?;
                }
            }
            return Ok(TaskItem::Block(Box::new(block)));
        }
        let t = task::parse_task(node, entries, scope.role.as_ref())?;
        match t.action.as_str() {
            "import_tasks" => self.import_tasks(t, scope, acc),
            "import_role" => self.import_role(t, scope, acc),
            "import_playbook" => Err(invalid(
                &t.action_pos,
                "`import_playbook` belongs at the top level of a playbook, among the plays; to reuse tasks here use `import_tasks`",
            )),
            _ => Ok(TaskItem::Task(Box::new(t))),
        }
    }

    fn import_tasks(
        &mut self,
        t: Task,
        scope: &Scope,
        acc: &mut PlayAcc,
    ) -> Result<TaskItem, LoadError> {
        if let Some(l) = &t.loop_ {
            return Err(invalid(
                &l.pos,
                "`import_tasks` is expanded before the play runs and cannot loop; use `include_tasks`",
            ));
        }
        let mut file: Option<String> = None;
        for (k, v) in &t.args {
            match (k.as_str(), v) {
                ("file" | "_raw_params", Json::String(s)) if file.is_none() || k == "file" => {
                    file = Some(s.trim().to_string())
                }
                ("file" | "_raw_params", _) => {
                    return Err(invalid(
                        &t.action_pos,
                        format!("`import_tasks` needs a file name, got {v}"),
                    ));
                }
                _ => {
                    return Err(invalid(
                        &t.action_pos,
                        format!(
                            "`import_tasks` takes only a file name, not `{k}`; pass variables with `vars:`"
                        ),
                    ));
                }
            }
        }
        let Some(file) = file.filter(|f| !f.is_empty()) else {
            return Err(invalid(
                &t.action_pos,
                "`import_tasks` needs a file name: `import_tasks: other.yml`",
            ));
        };
        let Some(file) = self.resolve_static(&file, scope, Some(&t.keywords.vars)) else {
            return Err(invalid(
                &t.action_pos,
                format!(
                    "`import_tasks: {file}` uses a variable jig cannot know before the run (imports are expanded before any host is contacted). Use `include_tasks` for a file name that depends on facts or host variables"
                ),
            ));
        };
        let path = self.find_task_file(&file, scope, &t.pos)?;
        let sub = Scope {
            dir: dir_of(&path),
            ..scope.clone()
        };
        let items = self.task_file(&path, &sub, acc, &t.action_pos)?;
        Ok(TaskItem::Block(Box::new(Block {
            name: t.name,
            pos: t.pos,
            block: items,
            keywords: t.keywords,
            ..Block::default()
        })))
    }

    /// `text` with its `{{ name }}` references replaced by the values known before the run,
    /// highest precedence first: extra vars, `task_vars`, role params and vars, play vars, role
    /// defaults, then `role_path` and `playbook_dir`. `None` if something else is templated.
    pub(crate) fn resolve_static(
        &self,
        text: &str,
        scope: &Scope,
        task_vars: Option<&VarMap>,
    ) -> Option<String> {
        let role = scope.role.as_deref();
        let lookup = |name: &str| -> Option<String> {
            let found = self
                .extra_vars
                .get(name)
                .or_else(|| task_vars.and_then(|v| v.get(name)))
                .or_else(|| role.and_then(|r| r.params.get(name).or_else(|| r.vars.get(name))))
                .or_else(|| scope.play_vars.get(name))
                .or_else(|| role.and_then(|r| r.defaults.get(name)));
            if let Some(v) = found {
                return var_text(v);
            }
            match (name, role, scope.search_from.first()) {
                ("role_path", Some(r), _) => Some(r.path.to_string_lossy().into_owned()),
                ("playbook_dir", _, Some(pb)) => Some(pb.to_string_lossy().into_owned()),
                _ => None,
            }
        };
        static_path(text, &lookup)
    }

    fn find_task_file(&self, file: &str, scope: &Scope, at: &Pos) -> Result<PathBuf, LoadError> {
        locate_task_file(
            file,
            scope.role.as_deref(),
            scope.role_subdir,
            &scope.dir,
            &scope.search_from,
            at,
        )
    }

    /// Reads a task file (a list of tasks, or empty).
    pub(crate) fn task_file(
        &mut self,
        path: &Path,
        scope: &Scope,
        acc: &mut PlayAcc,
        at: &Pos,
    ) -> Result<Vec<TaskItem>, LoadError> {
        self.enter(path, at)?;
        let result = (|| {
            let node = yaml::load_file(path)?;
            if let NodeValue::Map(_) = node.value {
                return Err(invalid(
                    &node.pos,
                    "a task file must be a list of tasks, but this file is a mapping; is it a vars file, or a playbook missing its `-`?",
                ));
            }
            let sub = Scope {
                dir: dir_of(path),
                ..scope.clone()
            };
            self.items(&node, &sub, acc, "task file")
        })();
        self.stack.pop();
        result
    }
}

/// Finds the file an `include_tasks` (or `import_tasks`) task names, as Ansible does: in a
/// role, the role's `tasks/` directory first (`handlers/` for a task in a handlers file); then
/// beside the file the task is written in; then the role directory and `playbook_dir`.
///
/// `name` is the already-templated file name. The error lists every path tried.
pub fn find_tasks_file(name: &str, from: &Task, playbook_dir: &Path) -> Result<PathBuf, LoadError> {
    let dir = from
        .pos
        .file
        .as_deref()
        .map(|f| dir_of(f))
        .unwrap_or_else(|| playbook_dir.to_path_buf());
    let role = from.role.as_deref();
    let subdir = match role {
        Some(r) if dir.starts_with(r.path.join("handlers")) => "handlers",
        _ => "tasks",
    };
    locate_task_file(
        name,
        role,
        subdir,
        &dir,
        &[playbook_dir.to_path_buf()],
        &from.pos,
    )
}

fn locate_task_file(
    file: &str,
    role: Option<&Role>,
    role_subdir: &str,
    dir: &Path,
    search_from: &[PathBuf],
    at: &Pos,
) -> Result<PathBuf, LoadError> {
    let p = Path::new(file);
    let mut candidates: Vec<PathBuf> = Vec::new();
    if p.is_absolute() {
        candidates.push(p.to_path_buf());
    } else {
        if let Some(r) = role {
            candidates.push(r.path.join(role_subdir).join(p));
        }
        candidates.push(dir.join(p));
        if let Some(r) = role {
            candidates.push(r.path.join(p));
        }
        candidates.extend(search_from.iter().map(|d| d.join(p)));
    }
    let mut unique: Vec<PathBuf> = Vec::new();
    for c in candidates {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    match unique.iter().find(|c| c.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(LoadError::FileNotFound {
            pos: at.clone(),
            what: "task file",
            name: file.to_string(),
            searched: unique
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// `text` with each `{{ name }}` replaced through `lookup`; `None` if a reference is unknown or
/// is more than a plain name (a filter, an expression), or a `{% %}` block is present.
fn static_path(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        let name = after[..end].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        out.push_str(&lookup(name)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if out.contains("{%") {
        return None;
    }
    Some(out)
}

/// A variable's value as text for a file or role name: strings without templates, numbers.
fn var_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) if !s.contains("{{") && !s.contains("{%") => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn hosts_value(v: &Node) -> Result<String, LoadError> {
    let text = match &v.value {
        NodeValue::Seq(items) => {
            let mut parts = Vec::new();
            for item in items {
                parts.push(keywords::scalar_text(item).ok_or_else(|| {
                    invalid(
                        &item.pos,
                        format!("a host pattern must be a string, got {}", item.kind()),
                    )
                })?);
            }
            parts.join(",")
        }
        _ => keywords::scalar_text(v).unwrap_or_default(),
    };
    if text.trim().is_empty() {
        return Err(invalid(
            &v.pos,
            "`hosts` is empty; give a host pattern such as `all` or a group name",
        ));
    }
    Ok(text)
}

fn unknown_play_key(k: &Key) -> LoadError {
    let mut known: Vec<&str> = keywords::COMMON.to_vec();
    known.extend_from_slice(keywords::PLAY_ONLY);
    let hint = match keywords::suggest(&k.name, &known) {
        Some(s) => format!(" (did you mean {s}?)"),
        None => " (tasks belong under `tasks:`)".to_string(),
    };
    invalid(
        &k.pos,
        format!("`{}` is not a valid keyword for a play{hint}", k.name),
    )
}

fn vars_prompt(node: &Node) -> Result<Vec<VarsPrompt>, LoadError> {
    let items = match &node.value {
        NodeValue::Null => return Ok(Vec::new()),
        NodeValue::Seq(items) => items,
        _ => {
            return Err(invalid(
                &node.pos,
                format!(
                    "`vars_prompt` must be a list of prompts (`- name: x`), got {}",
                    node.kind()
                ),
            ));
        }
    };
    let mut out = Vec::new();
    for item in items {
        let Some(entries) = item.as_map() else {
            return Err(invalid(
                &item.pos,
                format!(
                    "a `vars_prompt` entry must be a mapping with `name:`, got {}",
                    item.kind()
                ),
            ));
        };
        let mut p = VarsPrompt {
            private: true,
            pos: item.pos.clone(),
            ..VarsPrompt::default()
        };
        for (k, v) in entries {
            let flag = || {
                keywords::bool_value(v)
                    .ok_or_else(|| invalid(&v.pos, format!("`{}` must be true or false", k.name)))
            };
            match k.name.as_str() {
                "name" => p.name = keywords::string_value(v, "name")?.unwrap_or_default(),
                "prompt" => p.prompt = keywords::string_value(v, "prompt")?,
                "default" => p.default = keywords::opt_json(v),
                "private" => p.private = flag()?,
                "confirm" => p.confirm = flag()?,
                "unsafe" => p.unsafe_ = flag()?,
                "encrypt" => p.encrypt = keywords::string_value(v, "encrypt")?,
                "salt_size" => p.salt_size = keywords::opt_json(v),
                "salt" => p.salt = keywords::opt_json(v),
                other => {
                    return Err(invalid(
                        &k.pos,
                        format!("`{other}` is not a vars_prompt option"),
                    ));
                }
            }
        }
        if p.name.is_empty() {
            return Err(invalid(&item.pos, "a `vars_prompt` entry needs `name:`"));
        }
        out.push(p);
    }
    Ok(out)
}

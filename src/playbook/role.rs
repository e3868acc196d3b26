//! Roles: finding them, reading their directories, expanding `roles:` entries, `import_role`
//! and `meta/main.yml` dependencies.
//!
//! A role is looked for as `DIR/roles/NAME` for each search directory (the playbook directory
//! first), then in every `roles_path` entry, then as `DIR/NAME`; a name with a `/` is a path.
//! Each use of a role becomes a [`Block`] whose `role` is set: its dependencies' blocks first,
//! then its tasks. In a play's `roles:` (and among dependencies) a role already used with the
//! same parameters is skipped unless its meta says `allow_duplicates: true`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use super::keywords::{self, invalid};
use super::load::{Loader, PlayAcc, Scope, absolute};
use super::{
    Block, Keywords, LoadError, LoadOptions, LoadedRole, Role, RoleRequest, Task, TaskItem, VarMap,
};
use crate::yaml::{self, Node, NodeValue, Pos};

/// A role for include_role at run time.
///
/// The role's dependencies are expanded too (their blocks come first in `tasks`). Errors name
/// `req.pos`, the directories searched, or the broken file.
pub fn load_role(req: &RoleRequest<'_>, opts: &LoadOptions) -> Result<LoadedRole, LoadError> {
    load_role_with_vars(req, opts, &VarMap::new())
}

/// Like [`load_role`], with the variables the names of static imports inside the role may use
/// (at run time: the host's variables, flattened), above the role's own vars and defaults.
pub fn load_role_with_vars(
    req: &RoleRequest<'_>,
    opts: &LoadOptions,
    vars: &VarMap,
) -> Result<LoadedRole, LoadError> {
    let mut loader = Loader::new(opts);
    loader.extra_vars = vars.clone();
    let mut acc = PlayAcc::default();
    let mut loaded = loader
        .role_use(req, false, &mut acc)?
        .ok_or_else(|| invalid(&req.pos, format!("the role '{}' was skipped", req.name)))?;
    // An included role has no parameters in Ansible: the include's `vars` (which jig hands in
    // as `req.params`) are variables, validated only where the spec names them.
    for item in &mut loaded.tasks {
        if let TaskItem::Task(t) = item
            && is_validation_task(t)
        {
            t.args.insert(
                "provided_arguments".into(),
                Json::Object(Default::default()),
            );
        }
    }
    Ok(loaded)
}

/// A role as written in `roles:` or `dependencies:`.
struct RoleEntry {
    name: String,
    pos: Pos,
    keywords: Keywords,
    params: VarMap,
}

/// What `meta/main.yml` says.
#[derive(Default)]
struct RoleMeta {
    dependencies: Vec<RoleEntry>,
    allow_duplicates: bool,
    /// `argument_specs` written in `meta/main.yml` itself.
    argument_specs: Option<Json>,
}

fn parse_role_entry(node: &Node) -> Result<RoleEntry, LoadError> {
    let mut entry = RoleEntry {
        name: String::new(),
        pos: node.pos.clone(),
        keywords: Keywords::default(),
        params: VarMap::new(),
    };
    match &node.value {
        NodeValue::Str(s) => entry.name = s.trim().to_string(),
        NodeValue::Map(entries) => {
            let mut by_name: Option<String> = None;
            for (k, v) in entries {
                let key = k.name.as_str();
                match key {
                    "role" => entry.name = keywords::string_value(v, "role")?.unwrap_or_default(),
                    "name" => by_name = keywords::string_value(v, "name")?,
                    // Galaxy requirement fields that some dependency lists carry.
                    "src" | "scm" | "version" => {}
                    _ if keywords::IGNORED.contains(&key) => {}
                    _ => {
                        if !keywords::apply_common(&mut entry.keywords, key, v)? {
                            entry.params.insert(key.to_string(), v.to_json());
                        }
                    }
                }
            }
            if entry.name.is_empty() {
                entry.name = by_name.unwrap_or_default().trim().to_string();
            }
        }
        _ => {
            return Err(invalid(
                &node.pos,
                format!(
                    "a role entry must be a role name or a mapping with `role:`, got {}",
                    node.kind()
                ),
            ));
        }
    }
    if entry.name.is_empty() {
        return Err(invalid(
            &node.pos,
            "this role entry names no role; write `- role: NAME` or `- NAME`",
        ));
    }
    Ok(entry)
}

/// The file `NAME` in `dir`, trying `.yml`, `.yaml`, `.json` and no extension.
fn find_in_dir(dir: &Path, name: &str) -> Option<PathBuf> {
    let has_ext = [".yml", ".yaml", ".json"].iter().any(|e| name.ends_with(e));
    let candidates: Vec<PathBuf> = if has_ext {
        vec![dir.join(name)]
    } else {
        ["yml", "yaml", "json"]
            .iter()
            .map(|e| dir.join(format!("{name}.{e}")))
            .chain(std::iter::once(dir.join(name)))
            .collect()
    };
    candidates.into_iter().find(|c| c.is_file())
}

/// The vars files of a `vars/main/` (or `defaults/main/`) directory, as Ansible lists them:
/// names in sorted order, subdirectories (without an extension) entered recursively, hidden
/// and backup (`~`) files skipped, files with an extension other than `.yml`, `.yaml` or
/// `.json` ignored.
fn dir_vars_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let Some(file_name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if file_name.starts_with('.') || file_name.ends_with('~') {
            continue;
        }
        let ext = p.extension().and_then(|e| e.to_str());
        if p.is_dir() && ext.is_none() {
            dir_vars_files(&p, out)?;
        } else if p.is_file() && matches!(ext, None | Some("yml" | "yaml" | "json")) {
            out.push(p);
        }
    }
    Ok(())
}

/// A vars file: a mapping, or empty.
fn vars_file(path: &Path) -> Result<VarMap, LoadError> {
    let node = yaml::load_file(path)?;
    match &node.value {
        NodeValue::Null => Ok(VarMap::new()),
        NodeValue::Map(_) => keywords::var_map(&node, "a vars file"),
        _ => Err(invalid(
            &node.pos,
            format!(
                "a vars file must be a mapping of variable names to values, got {}",
                node.kind()
            ),
        )),
    }
}

impl Loader<'_> {
    /// Finds a role directory, and whether it was found only as a path from the working
    /// directory; on failure, every directory tried.
    fn find_role(
        &self,
        name: &str,
        search_from: &[PathBuf],
    ) -> Result<(PathBuf, bool), Vec<PathBuf>> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        let as_path = Path::new(name);
        if as_path.is_absolute() {
            candidates.push(as_path.to_path_buf());
        } else {
            let mut names: Vec<PathBuf> = vec![as_path.to_path_buf()];
            // `namespace.collection.role`: a collection installed beside the playbook or on the
            // roles path, or the role under its short name.
            let parts: Vec<&str> = name.split('.').collect();
            if !name.contains('/') && parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) {
                names.push(
                    ["ansible_collections", parts[0], parts[1], "roles", parts[2]]
                        .iter()
                        .collect(),
                );
                names.push(PathBuf::from(parts[2]));
            }
            // Ansible's order: PLAYBOOK_DIR/roles, the roles path, the directories of the
            // roles that refer to this one, then PLAYBOOK_DIR itself.
            let (base, others) = match search_from.split_first() {
                Some((b, o)) => (Some(b), o),
                None => (None, &[][..]),
            };
            for n in &names {
                candidates.extend(base.map(|b| b.join("roles").join(n)));
                candidates.extend(self.opts.roles_path.iter().map(|d| d.join(n)));
                candidates.extend(others.iter().map(|d| d.join(n)));
                candidates.extend(base.map(|b| b.join(n)));
            }
        }
        let mut unique: Vec<PathBuf> = Vec::new();
        for c in candidates {
            if !unique.contains(&c) {
                unique.push(c);
            }
        }
        if let Some(found) = unique.iter().find(|c| c.is_dir()) {
            return Ok((found.clone(), false));
        }
        // Last resort, as in Ansible: the name as a path from the working directory.
        let from_cwd = absolute(as_path);
        if !as_path.is_absolute() && from_cwd.is_dir() {
            return Ok((from_cwd, true));
        }
        Err(unique)
    }

    fn role_meta(&self, role_dir: &Path) -> Result<RoleMeta, LoadError> {
        let mut meta = RoleMeta::default();
        let Some(file) = find_in_dir(&role_dir.join("meta"), "main") else {
            return Ok(meta);
        };
        let node = yaml::load_file(&file)?;
        let entries = match &node.value {
            NodeValue::Null => return Ok(meta),
            NodeValue::Map(entries) => entries,
            _ => {
                return Err(invalid(
                    &node.pos,
                    format!("meta/main.yml must be a mapping, got {}", node.kind()),
                ));
            }
        };
        for (k, v) in entries {
            match k.name.as_str() {
                "dependencies" => match &v.value {
                    NodeValue::Null => {}
                    NodeValue::Seq(items) => {
                        for item in items {
                            meta.dependencies.push(parse_role_entry(item)?);
                        }
                    }
                    _ => {
                        return Err(invalid(
                            &v.pos,
                            format!("`dependencies` must be a list of roles, got {}", v.kind()),
                        ));
                    }
                },
                "allow_duplicates" => meta.allow_duplicates = keywords::bool_value(v) == Some(true),
                "argument_specs" => meta.argument_specs = keywords::opt_json(v),
                _ => {}
            }
        }
        Ok(meta)
    }

    /// `defaults/` or `vars/`: `FROM` (default `main`) as a file, or `main/` as a directory
    /// whose files are merged in name order.
    fn role_vars(
        &self,
        role_dir: &Path,
        sub: &str,
        from: Option<&str>,
        at: &Pos,
    ) -> Result<VarMap, LoadError> {
        let dir = role_dir.join(sub);
        let name = from.unwrap_or("main");
        if let Some(file) = find_in_dir(&dir, name) {
            return vars_file(&file);
        }
        let as_dir = dir.join(name);
        if as_dir.is_dir() {
            let mut files = Vec::new();
            dir_vars_files(&as_dir, &mut files)
                .map_err(|e| invalid(at, format!("cannot read {}: {e}", as_dir.display())))?;
            let mut out = VarMap::new();
            for f in files {
                out.extend(vars_file(&f)?);
            }
            return Ok(out);
        }
        if from.is_some() {
            return Err(LoadError::FileNotFound {
                pos: at.clone(),
                what: if sub == "defaults" {
                    "defaults file"
                } else {
                    "vars file"
                },
                name: name.to_string(),
                searched: dir.display().to_string(),
            });
        }
        Ok(VarMap::new())
    }

    /// Loads one use of a role; `None` when `dedupe` is set and the play already used it with
    /// the same parameters.
    pub(crate) fn role_use(
        &mut self,
        req: &RoleRequest<'_>,
        dedupe: bool,
        acc: &mut PlayAcc,
    ) -> Result<Option<LoadedRole>, LoadError> {
        if req.name.trim().is_empty() {
            return Err(invalid(&req.pos, "the role name is empty"));
        }
        let (path, via_cwd) =
            self.find_role(req.name, req.search_from)
                .map_err(|tried| LoadError::RoleNotFound {
                    pos: req.pos.clone(),
                    name: req.name.to_string(),
                    searched: tried
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        let canon = std::fs::canonicalize(&path).unwrap_or_else(|_| absolute(&path));
        // A role may import another entry point of itself (`tasks_from`); the same entry point
        // again is a cycle.
        let frame = (canon.clone(), req.tasks_from.map(str::to_string));
        if self.role_stack.contains(&frame) {
            let mut chain: Vec<String> = self
                .role_stack
                .iter()
                .map(|(dir, _)| {
                    dir.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .collect();
            chain.push(req.name.to_string());
            return Err(invalid(
                &req.pos,
                format!(
                    "role dependency cycle: {}; a role cannot depend on itself",
                    chain.join(" -> ")
                ),
            ));
        }
        let meta = self.role_meta(&path)?;
        if dedupe && !meta.allow_duplicates {
            // Parameters compare as values: the order they are written in does not matter.
            let key = serde_json::to_string(&(
                sorted(&Json::Object(req.params.clone().into_iter().collect())),
                req.tasks_from,
                req.vars_from,
                req.defaults_from,
                req.handlers_from,
            ))
            .unwrap_or_default();
            if !acc.seen_roles.insert((canon.clone(), key)) {
                return Ok(None);
            }
        }
        // Ansible keeps the name as written, except for a role found only as a path from the
        // working directory, which is named after its directory.
        let name = if via_cwd {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| req.name.to_string())
        } else {
            req.name.to_string()
        };
        // Ansible looks the spec up by `tasks_from` exactly as written: `tasks_from: x.yml`
        // finds no entry point `x` and so is not validated.
        let entry_point = req.tasks_from.unwrap_or("main");
        let specs = match find_in_dir(&path.join("meta"), "argument_specs") {
            Some(file) => {
                let node = yaml::load_file(&file)?;
                node.get("argument_specs").map(Node::to_json)
            }
            None => meta.argument_specs.clone(),
        };
        let argument_spec = specs.and_then(|s| s.get(entry_point).cloned());
        let role = Arc::new(Role {
            name,
            path: absolute(&path),
            defaults: self.role_vars(&path, "defaults", req.defaults_from, &req.pos)?,
            vars: self.role_vars(&path, "vars", req.vars_from, &req.pos)?,
            params: req.params.clone(),
            parents: req.parents.clone(),
            argument_spec,
        });
        self.role_stack.push(frame);
        let result = self.role_contents(req, &role, meta, acc);
        self.role_stack.pop();
        result.map(Some)
    }

    fn role_contents(
        &mut self,
        req: &RoleRequest<'_>,
        role: &Arc<Role>,
        meta: RoleMeta,
        acc: &mut PlayAcc,
    ) -> Result<LoadedRole, LoadError> {
        // As in Ansible, the directory holding a role is searched only for the role's own
        // meta dependencies, not for roles imported by its tasks; and only one level: a
        // dependency's dependencies are searched beside the dependency.
        let base: Vec<PathBuf> = req.search_from.first().cloned().into_iter().collect();
        let mut dep_search = base.clone();
        if let Some(parent) = role.path.parent()
            && !dep_search.iter().any(|d| d == parent)
        {
            dep_search.push(parent.to_path_buf());
        }
        // `ansible_parent_role_names` lists the roles whose `include_role`/`import_role` led
        // here; a dependency is not included by its dependent, so it shares the dependent's.
        let parents = req.parents.clone();

        let mut tasks: Vec<TaskItem> = Vec::new();
        let mut handlers: Vec<TaskItem> = Vec::new();
        let dep_scope = Scope {
            dir: role.path.join("meta"),
            role: Some(role.clone()),
            role_subdir: "tasks",
            search_from: dep_search.clone(),
            play_vars: acc.play_vars.clone(),
        };
        for dep in meta.dependencies {
            let name = self.static_role_name(&dep.name, &dep.pos, &dep_scope, None)?;
            let dreq = RoleRequest {
                name: &name,
                params: dep.params.clone(),
                pos: dep.pos.clone(),
                tasks_from: None,
                vars_from: None,
                defaults_from: None,
                handlers_from: None,
                search_from: &dep_search,
                parents: parents.clone(),
            };
            let Some(loaded) = self.role_use(&dreq, true, acc)? else {
                continue;
            };
            if !loaded.handlers.is_empty() {
                handlers.push(role_block(
                    &dep.pos,
                    None,
                    loaded.handlers,
                    dep.keywords.clone(),
                    &loaded.role,
                ));
            }
            tasks.push(role_block(
                &dep.pos,
                None,
                loaded.tasks,
                dep.keywords,
                &loaded.role,
            ));
        }

        if let Some(task) = validation_task(req, role) {
            tasks.push(TaskItem::Task(Box::new(task)));
        }
        for (sub, from, out) in [
            ("tasks", req.tasks_from, &mut tasks),
            ("handlers", req.handlers_from, &mut handlers),
        ] {
            let dir = role.path.join(sub);
            let file = match find_in_dir(&dir, from.unwrap_or("main")) {
                Some(f) => f,
                None if from.is_some() => {
                    return Err(LoadError::FileNotFound {
                        pos: req.pos.clone(),
                        what: if sub == "tasks" {
                            "task file"
                        } else {
                            "handlers file"
                        },
                        name: from.unwrap_or("main").to_string(),
                        searched: dir.display().to_string(),
                    });
                }
                None => continue,
            };
            let scope = Scope {
                dir: dir.clone(),
                role: Some(role.clone()),
                role_subdir: sub,
                search_from: base.clone(),
                play_vars: acc.play_vars.clone(),
            };
            out.extend(self.task_file(&file, &scope, acc, &req.pos)?);
        }
        Ok(LoadedRole {
            role: role.clone(),
            tasks,
            handlers,
        })
    }

    /// A role name (or `tasks_from`...) with the variables known before the run replaced.
    fn static_role_name(
        &self,
        text: &str,
        at: &Pos,
        scope: &Scope,
        task_vars: Option<&VarMap>,
    ) -> Result<String, LoadError> {
        self.resolve_static(text, scope, task_vars).ok_or_else(|| {
            invalid(
                at,
                format!(
                    "'{text}' uses a variable jig cannot know before the run (roles here are loaded before any host is contacted; extra vars, play vars and role variables can be used). Use `include_role` for a role chosen at run time"
                ),
            )
        })
    }

    /// The play's `roles:` section.
    pub(crate) fn roles_section(
        &mut self,
        node: &Node,
        scope: &Scope,
        acc: &mut PlayAcc,
    ) -> Result<Vec<TaskItem>, LoadError> {
        let items = match &node.value {
            NodeValue::Null => return Ok(Vec::new()),
            NodeValue::Seq(items) => items,
            _ => {
                return Err(invalid(
                    &node.pos,
                    format!("`roles` must be a list of roles, got {}", node.kind()),
                ));
            }
        };
        let mut out = Vec::new();
        for item in items {
            let entry = parse_role_entry(item)?;
            let name = self.static_role_name(&entry.name, &entry.pos, scope, None)?;
            let req = RoleRequest {
                name: &name,
                params: entry.params.clone(),
                pos: entry.pos.clone(),
                tasks_from: None,
                vars_from: None,
                defaults_from: None,
                handlers_from: None,
                search_from: &scope.search_from,
                parents: Vec::new(),
            };
            let Some(loaded) = self.role_use(&req, true, acc)? else {
                continue;
            };
            acc.add_role_name(&loaded.role.name);
            if !loaded.handlers.is_empty() {
                acc.role_handlers.push(role_block(
                    &entry.pos,
                    None,
                    loaded.handlers,
                    entry.keywords.clone(),
                    &loaded.role,
                ));
            }
            out.push(role_block(
                &entry.pos,
                None,
                loaded.tasks,
                entry.keywords,
                &loaded.role,
            ));
        }
        Ok(out)
    }

    /// `import_role` in a task list: the role's tasks as a block with the task's keywords.
    pub(crate) fn import_role(
        &mut self,
        t: Task,
        scope: &Scope,
        acc: &mut PlayAcc,
    ) -> Result<TaskItem, LoadError> {
        if let Some(l) = &t.loop_ {
            return Err(invalid(
                &l.pos,
                "`import_role` is expanded before the play runs and cannot loop; use `include_role`",
            ));
        }
        let mut name: Option<&str> = None;
        let mut froms: [Option<&str>; 4] = [None; 4];
        let mut rolespec_validate = true;
        for (k, v) in &t.args {
            let slot = match k.as_str() {
                "name" | "_raw_params" => &mut name,
                "tasks_from" => &mut froms[0],
                "vars_from" => &mut froms[1],
                "defaults_from" => &mut froms[2],
                "handlers_from" => &mut froms[3],
                "allow_duplicates" | "public" => continue,
                "rolespec_validate" => {
                    rolespec_validate = crate::modules::args::parse_bool(v).unwrap_or(true);
                    continue;
                }
                other => {
                    return Err(invalid(
                        &t.action_pos,
                        format!(
                            "`import_role` does not take `{other}`; pass role variables with `vars:`"
                        ),
                    ));
                }
            };
            match v {
                Json::String(s) => *slot = Some(s.as_str()),
                other => {
                    return Err(invalid(
                        &t.action_pos,
                        format!("`import_role` {k} must be a string, got {other}"),
                    ));
                }
            }
        }
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            return Err(invalid(
                &t.action_pos,
                "`import_role` needs the role's `name:`",
            ));
        };
        let name = self.static_role_name(name, &t.action_pos, scope, Some(&t.keywords.vars))?;
        let mut resolved: [Option<String>; 4] = Default::default();
        for (slot, from) in resolved.iter_mut().zip(froms) {
            if let Some(f) = from {
                *slot =
                    Some(self.static_role_name(f, &t.action_pos, scope, Some(&t.keywords.vars))?);
            }
        }
        let froms: [Option<&str>; 4] = [0, 1, 2, 3].map(|i| resolved[i].as_deref());
        let name = name.as_str();
        let parents = match &scope.role {
            Some(r) => {
                let mut p = vec![r.name.clone()];
                p.extend(r.parents.iter().cloned());
                p
            }
            None => Vec::new(),
        };
        let req = RoleRequest {
            name,
            params: VarMap::new(),
            pos: t.pos.clone(),
            tasks_from: froms[0],
            vars_from: froms[1],
            defaults_from: froms[2],
            handlers_from: froms[3],
            search_from: &scope.search_from,
            parents,
        };
        let mut loaded = self
            .role_use(&req, false, acc)?
            .ok_or_else(|| invalid(&t.pos, format!("the role '{name}' was skipped")))?;
        if !rolespec_validate {
            loaded
                .tasks
                .retain(|item| !matches!(item, TaskItem::Task(t) if is_validation_task(t)));
        }
        acc.add_role_name(&loaded.role.name);
        if !loaded.handlers.is_empty() {
            acc.import_handlers.push(role_block(
                &t.pos,
                None,
                loaded.handlers,
                t.keywords.clone(),
                &loaded.role,
            ));
        }
        Ok(role_block(
            &t.pos,
            t.name.clone(),
            loaded.tasks,
            t.keywords,
            &loaded.role,
        ))
    }
}

/// The task Ansible puts before a role's own tasks (after its dependencies) when the role has an
/// argument spec for the entry point: `validate_argument_spec` (src/exec/argspec.rs) with the
/// entry point's `options`, the role's parameters and where they come from, tagged `always`.
fn validation_task(req: &RoleRequest<'_>, role: &Arc<Role>) -> Option<Task> {
    let spec = role.argument_spec.as_ref()?;
    // An empty spec is no spec, as in Ansible (`if entrypoint_arg_spec:`).
    if spec.as_object().is_some_and(|m| m.is_empty()) || spec.is_null() {
        return None;
    }
    let entry_point = req.tasks_from.unwrap_or("main");
    let mut name = format!("Validating arguments against arg spec '{entry_point}'");
    if let Some(desc) = spec.get("short_description") {
        let desc = match desc {
            Json::String(s) => s.clone(),
            other => crate::pyfmt::str(other),
        };
        name = format!("{name} - {desc}");
    }
    let mut args = VarMap::new();
    args.insert(
        "argument_spec".into(),
        spec.get("options")
            .cloned()
            .filter(|o| !o.is_null())
            .unwrap_or_else(|| Json::Object(Default::default())),
    );
    args.insert(
        "provided_arguments".into(),
        Json::Object(role.params.clone().into_iter().collect()),
    );
    args.insert(
        "validate_args_context".into(),
        serde_json::json!({
            "type": "role",
            "name": role.name,
            "argument_spec_name": entry_point,
            "path": role.path.display().to_string(),
        }),
    );
    Some(Task {
        name: Some(name),
        pos: req.pos.clone(),
        action: "validate_argument_spec".into(),
        action_as_written: "ansible.builtin.validate_argument_spec".into(),
        action_pos: req.pos.clone(),
        args,
        keywords: Keywords {
            tags: vec!["always".into()],
            ..Keywords::default()
        },
        role: Some(role.clone()),
        ..Task::default()
    })
}

/// Whether `t` is the task [`validation_task`] made.
fn is_validation_task(t: &Task) -> bool {
    t.action == "validate_argument_spec"
        && t.action_as_written == "ansible.builtin.validate_argument_spec"
        && t.name
            .as_deref()
            .is_some_and(|n| n.starts_with("Validating arguments against arg spec"))
}

/// `value` with every mapping's keys in sorted order.
fn sorted(value: &Json) -> Json {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn role_block(
    pos: &Pos,
    name: Option<String>,
    items: Vec<TaskItem>,
    keywords: Keywords,
    role: &Arc<Role>,
) -> TaskItem {
    TaskItem::Block(Box::new(Block {
        name,
        pos: pos.clone(),
        block: items,
        keywords,
        role: Some(role.clone()),
        ..Block::default()
    }))
}

//! Playbooks as typed data: plays, blocks, tasks, handlers and roles, each with its source
//! position.
//!
//! This module owns reading playbook, task and role files (through [`crate::yaml`]) into the
//! types below. It resolves everything that Ansible resolves *statically* at load time:
//! `import_playbook`, `import_tasks`, `import_role` and a play's `roles:` are expanded here.
//! Dynamic includes (`include_tasks`, `include_role`, `include_vars`) stay tasks and are loaded
//! by the executor when they run, through [`load_tasks_file`] and [`load_role`].
//!
//! Values that may hold templates (`when`, `loop`, module arguments, `vars`...) are kept as
//! untemplated JSON; templating happens per host in `exec`.
//!
//! Layout of the types (the parser fills them; nothing else constructs them from files):
//! `Playbook` -> `Play` -> sections of `TaskItem` (a `Task` or a `Block`), `Role`s with their
//! defaults, vars, tasks and handlers.
//!
//! How the static expansion looks:
//! - each use of a role (`roles:` entry, `import_role`, a `meta/main.yml` dependency) is a
//!   [`Block`] whose `role` is set and whose keywords are the entry's (`when`, `tags`,
//!   `vars`...); inside it come one such block per dependency, then the role's tasks, each
//!   [`Task`] carrying its role too. Role handlers are appended to the play's handlers the same
//!   way (roles' first, then the play's own, then those of `import_role`s);
//! - `import_tasks` is a plain [`Block`] (no role) holding the imported tasks, with the import
//!   task's keywords;
//! - `import_playbook` contributes its plays, with its `vars` merged into each play's vars and
//!   its `tags`/`when` put first in the play's keywords.
//!
//! Submodules: `load` (files, plays, task lists, imports), `role` (role search and layout),
//! `task` (one task mapping, module arguments), `kv` (`k=v` text), `keywords` (keyword values),
//! `tags` (tag selection).

mod keywords;
mod kv;
mod load;
mod role;
mod tags;
mod task;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::yaml::Pos;

pub use kv::parse_kv;
pub use load::{
    find_tasks_file, load_playbook, load_playbook_with_vars, load_tasks_file, load_tasks_file_from,
    load_tasks_file_with_vars,
};
pub use role::{load_role, load_role_with_vars};
pub use tags::tags_selected;
pub use task::normalize_module_name;

/// Where roles are looked for, beyond `roles/` beside the playbook.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Extra role directories (`--roles-path`, `ANSIBLE_ROLES_PATH`), searched after `roles/`
    /// beside the playbook and before the playbook directory itself.
    pub roles_path: Vec<PathBuf>,
}

/// A role loaded for `include_role` at run time.
#[derive(Clone, Debug)]
pub struct LoadedRole {
    /// The role, with its defaults, vars and params.
    pub role: Arc<Role>,
    /// Its tasks (`tasks_from` or `tasks/main.yml`), preceded by one block per dependency.
    pub tasks: Vec<TaskItem>,
    /// Its handlers and its dependencies' handlers (dependencies first).
    pub handlers: Vec<TaskItem>,
}

/// What `include_role`/`import_role` asks for.
#[derive(Clone, Debug)]
pub struct RoleRequest<'a> {
    /// The role name or path, as written.
    pub name: &'a str,
    /// Role parameters (`include_role` has none; `roles:` entries may).
    pub params: VarMap,
    /// Where the role is referenced (for errors).
    pub pos: Pos,
    /// `tasks_from` (a file in the role's `tasks/`, extension optional).
    pub tasks_from: Option<&'a str>,
    /// `vars_from`.
    pub vars_from: Option<&'a str>,
    /// `defaults_from`.
    pub defaults_from: Option<&'a str>,
    /// `handlers_from`.
    pub handlers_from: Option<&'a str>,
    /// Directories to search, the playbook directory first, then the directories of the roles
    /// that refer to this one. The order is Ansible's: `PLAYBOOK_DIR/roles/NAME`, each
    /// `LoadOptions::roles_path` entry, the other directories, `PLAYBOOK_DIR/NAME`, and last
    /// `NAME` as a path from the working directory.
    pub search_from: &'a [PathBuf],
    /// The roles that include this one, innermost first (`ansible_parent_role_names`).
    pub parents: Vec<String>,
}

/// A `vars_prompt` entry of a play.
#[derive(Clone, Debug, Default)]
pub struct VarsPrompt {
    /// The variable to set.
    pub name: String,
    /// The question shown (defaults to the name).
    pub prompt: Option<String>,
    /// The value used when the answer is empty or there is no terminal.
    pub default: Option<Json>,
    /// Hide the answer while typing (Ansible's default is true).
    pub private: bool,
    /// Ask twice and compare.
    pub confirm: bool,
    /// A crypt scheme to hash the answer with (`sha512_crypt`...).
    pub encrypt: Option<String>,
    /// `salt_size` for `encrypt`.
    pub salt_size: Option<Json>,
    /// `salt` for `encrypt`.
    pub salt: Option<Json>,
    /// Keep the answer from being templated.
    pub unsafe_: bool,
    /// Where the entry is written.
    pub pos: Pos,
}

/// Visits every task of a list (into blocks), for --list-tasks / --list-tags / --start-at-task.
///
/// Tasks are visited in source order: a block's `block`, then `rescue`, then `always`. The
/// slice holds the enclosing blocks, outermost first.
pub fn walk_tasks<'a>(items: &'a [TaskItem], f: &mut dyn FnMut(&'a Task, &[&'a Block])) {
    fn walk<'a>(
        items: &'a [TaskItem],
        stack: &mut Vec<&'a Block>,
        f: &mut dyn FnMut(&'a Task, &[&'a Block]),
    ) {
        for item in items {
            match item {
                TaskItem::Task(t) => f(t, stack),
                TaskItem::Block(b) => {
                    stack.push(b);
                    walk(&b.block, stack, f);
                    walk(&b.rescue, stack, f);
                    walk(&b.always, stack, f);
                    stack.pop();
                }
            }
        }
    }
    walk(items, &mut Vec::new(), f)
}

/// A map of variable names to untemplated values.
pub type VarMap = IndexMap<String, Json>;

/// A whole playbook file with its `import_playbook`s expanded in place.
#[derive(Clone, Debug)]
pub struct Playbook {
    /// The file given on the command line.
    pub path: PathBuf,
    /// The directory of that file (`playbook_dir`).
    pub dir: PathBuf,
    /// Every play, in order.
    pub plays: Vec<Play>,
}

/// One play.
#[derive(Clone, Debug, Default)]
pub struct Play {
    /// `name`, untemplated.
    pub name: Option<String>,
    /// `hosts`: a host pattern (may be templated, may be a list joined with `,`).
    pub hosts: String,
    /// Where the play starts.
    pub pos: Pos,
    /// The directory of the file the play came from (an imported playbook's own directory).
    pub dir: PathBuf,
    /// `vars`.
    pub vars: VarMap,
    /// `vars_files`: each entry a file name (templated) or a list of candidates (first found).
    pub vars_files: Vec<Json>,
    /// `gather_facts` (defaults to true in Ansible).
    pub gather_facts: Option<bool>,
    /// `pre_tasks`.
    pub pre_tasks: Vec<TaskItem>,
    /// `roles:`, expanded: each role is a block of its tasks (with dependencies first).
    pub roles: Vec<TaskItem>,
    /// `tasks`.
    pub tasks: Vec<TaskItem>,
    /// `post_tasks`.
    pub post_tasks: Vec<TaskItem>,
    /// `handlers`, plus every handler of every role the play uses.
    pub handlers: Vec<TaskItem>,
    /// Keywords that tasks inherit (`tags`, `become`, `environment`, `check_mode`, ...).
    /// Plays have no `when` of their own: `keywords.when` holds the conditions of the
    /// `import_playbook` that brought the play in, which apply to each of its tasks.
    pub keywords: Keywords,
    /// `strategy` (`linear` or `free`).
    pub strategy: Option<String>,
    /// `serial`: number, percentage or list of those.
    pub serial: Option<Json>,
    /// `max_fail_percentage`.
    pub max_fail_percentage: Option<Json>,
    /// `any_errors_fatal`.
    pub any_errors_fatal: Option<Json>,
    /// The roles the play references in `roles:` and `import_role`, without repeats and without
    /// dependencies (the `role_names` variable).
    pub role_names: Vec<String>,
    /// `vars_prompt`.
    pub vars_prompt: Vec<VarsPrompt>,
    /// `force_handlers`.
    pub force_handlers: Option<Json>,
    /// `gather_subset`.
    pub gather_subset: Option<Json>,
}

/// An entry of a task list: a task or a block.
#[derive(Clone, Debug)]
pub enum TaskItem {
    /// A single task.
    Task(Box<Task>),
    /// A `block` with optional `rescue` and `always`.
    Block(Box<Block>),
}

/// `block` / `rescue` / `always`.
#[derive(Clone, Debug, Default)]
pub struct Block {
    /// `name`.
    pub name: Option<String>,
    /// Where the block starts.
    pub pos: Pos,
    /// `block:`.
    pub block: Vec<TaskItem>,
    /// `rescue:`.
    pub rescue: Vec<TaskItem>,
    /// `always:`.
    pub always: Vec<TaskItem>,
    /// Keywords inherited by the tasks inside (`when`, `tags`, `vars`, `become`, ...).
    pub keywords: Keywords,
    /// `notify`: handlers notified by every task inside that reports a change, unless the task
    /// has its own `notify` (which wins, as Ansible's keyword inheritance does).
    pub notify: Vec<String>,
    /// The role the block belongs to, if any. Role blocks made by expanding `roles:` or
    /// `import_role` carry the role here; their tasks carry it too.
    pub role: Option<Arc<Role>>,
}

/// One task.
#[derive(Clone, Debug, Default)]
pub struct Task {
    /// `name`, untemplated.
    pub name: Option<String>,
    /// Where the task starts.
    pub pos: Pos,
    /// The module or action, normalised to its short name: `ansible.builtin.copy`,
    /// `ansible.legacy.copy` and `copy` are all `copy`; `ansible.posix.sysctl` is `sysctl`.
    /// Names jig does not know are kept as written (the error comes only if the task runs).
    pub action: String,
    /// The module name as written in the file (for messages).
    pub action_as_written: String,
    /// Where the module name is written.
    pub action_pos: Pos,
    /// Module arguments, merged from the mapping form, `k=v` text and `args:`. Free-form text
    /// (the command of `command`/`shell`, the file of `include_tasks`) is under `_raw_params`.
    pub args: VarMap,
    /// Task keywords.
    pub keywords: Keywords,
    /// `register`.
    pub register: Option<String>,
    /// `loop`, or the items of a `with_<lookup>`.
    pub loop_: Option<Loop>,
    /// `loop_control`.
    pub loop_control: Option<LoopControl>,
    /// `notify`: handler names or `listen` topics (untemplated).
    pub notify: Vec<String>,
    /// For handlers: `listen` topics.
    pub listen: Vec<String>,
    /// `changed_when`: conditions (all must hold), or a literal boolean.
    pub changed_when: Option<Json>,
    /// `failed_when`.
    pub failed_when: Option<Json>,
    /// `until`.
    pub until: Option<Json>,
    /// `retries`.
    pub retries: Option<Json>,
    /// `delay`.
    pub delay: Option<Json>,
    /// The role the task belongs to, if any.
    pub role: Option<Arc<Role>>,
    /// `async`: run in the background for at most this many seconds.
    pub async_: Option<Json>,
    /// `poll`: how often to check an `async` task (0: fire and forget).
    pub poll: Option<Json>,
}

/// `loop` / `with_*`.
#[derive(Clone, Debug)]
pub struct Loop {
    /// `loop` or the lookup name of `with_<name>` (`items`, `dict`, `fileglob`, ...).
    pub kind: LoopKind,
    /// The untemplated value given to it.
    pub value: Json,
    /// Where it is written.
    pub pos: Pos,
}

/// Which loop keyword was used; the semantics differ (`with_items` flattens one level).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoopKind {
    /// `loop:` (no flattening).
    Loop,
    /// `with_<lookup>:`; the string is the lookup name (`items`, `dict`, `first_found`...).
    With(String),
}

/// `loop_control`.
#[derive(Clone, Debug, Default)]
pub struct LoopControl {
    /// `loop_var` (default `item`).
    pub loop_var: Option<String>,
    /// `index_var`.
    pub index_var: Option<String>,
    /// `label` (untemplated).
    pub label: Option<Json>,
    /// `pause` in seconds.
    pub pause: Option<Json>,
    /// `extended`.
    pub extended: Option<Json>,
    /// `extended_allitems`.
    pub extended_allitems: Option<Json>,
    /// `break_when`: conditions after which the loop stops.
    pub break_when: Vec<Json>,
}

/// Keywords that plays, blocks, role entries and tasks share; inner values override outer ones
/// (except `when` and `tags`, which accumulate). `None` means "not set here".
#[derive(Clone, Debug, Default)]
pub struct Keywords {
    /// `when`: conditions, all of which must hold. Raw strings or booleans.
    pub when: Vec<Json>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `vars`.
    pub vars: VarMap,
    /// `become`.
    pub become_: Option<Json>,
    /// `become_user`.
    pub become_user: Option<Json>,
    /// `become_method`.
    pub become_method: Option<Json>,
    /// `become_flags`.
    pub become_flags: Option<Json>,
    /// `environment` (a mapping, or a template giving one); lists are merged in order.
    pub environment: Vec<Json>,
    /// `ignore_errors`.
    pub ignore_errors: Option<Json>,
    /// `ignore_unreachable`.
    pub ignore_unreachable: Option<Json>,
    /// `check_mode`: force check mode on or off for these tasks.
    pub check_mode: Option<Json>,
    /// `diff`.
    pub diff: Option<Json>,
    /// `no_log`.
    pub no_log: Option<Json>,
    /// `delegate_to`.
    pub delegate_to: Option<Json>,
    /// `delegate_facts`.
    pub delegate_facts: Option<Json>,
    /// `run_once`.
    pub run_once: Option<Json>,
    /// `any_errors_fatal`.
    pub any_errors_fatal: Option<Json>,
    /// `connection`.
    pub connection: Option<Json>,
    /// `remote_user`.
    pub remote_user: Option<Json>,
    /// `throttle`.
    pub throttle: Option<Json>,
    /// `timeout`.
    pub timeout: Option<Json>,
    /// `module_defaults`.
    pub module_defaults: Option<Json>,
}

/// A role as loaded from disk, shared by every task that came from it.
#[derive(Clone, Debug, Default)]
pub struct Role {
    /// The role's name (the directory name, or the name it was referenced by).
    pub name: String,
    /// The role's directory (`role_path`).
    pub path: PathBuf,
    /// `defaults/main.yml` (and `defaults/main/*.yml`), untemplated.
    pub defaults: VarMap,
    /// `vars/main.yml` (and `vars/main/*.yml`), untemplated.
    pub vars: VarMap,
    /// Role parameters given where the role is used (`roles: - {role: x, port: 80}`).
    pub params: VarMap,
    /// The names of the roles that included this one, innermost first
    /// (`ansible_parent_role_names`).
    pub parents: Vec<String>,
    /// The argument spec of the entry point this use runs (`main`, or the `tasks_from` file),
    /// from `meta/argument_specs.yml` or `argument_specs` in `meta/main.yml`: the entry point's
    /// mapping (`short_description`, `options`...). Ansible validates the role's parameters and
    /// variables against `options` before the role's first task.
    pub argument_spec: Option<Json>,
}

/// A playbook, task file or role that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The YAML itself is broken or unreadable.
    #[error(transparent)]
    Yaml(#[from] crate::yaml::YamlError),
    /// The YAML is fine but is not a valid playbook construct.
    #[error("{pos}: {message}")]
    Invalid {
        /// Where.
        pos: Pos,
        /// What is wrong and what to do about it.
        message: String,
    },
    /// A role was not found on the search path.
    #[error("{pos}: the role '{name}' was not found in {searched}")]
    RoleNotFound {
        /// Where it is referenced.
        pos: Pos,
        /// The role name.
        name: String,
        /// The directories searched, joined for display.
        searched: String,
    },
    /// A file referenced by an import was not found.
    #[error("{pos}: cannot find {what} '{name}' (looked in {searched})")]
    FileNotFound {
        /// Where it is referenced.
        pos: Pos,
        /// "task file", "vars file", "playbook".
        what: &'static str,
        /// As written.
        name: String,
        /// Where jig looked.
        searched: String,
    },
}

impl Task {
    /// The task's title as ansible-playbook prints it in `TASK [...]`: `role : name`, or the
    /// action as written when the task has no name (`role : ansible.builtin.debug`). The name
    /// is untemplated; the executor templates it with the play's variables before printing.
    pub fn display_name(&self) -> String {
        let title = match self.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => n,
            _ => self.action_as_written.as_str(),
        };
        match &self.role {
            Some(r) => format!("{} : {title}", r.name),
            None => title.to_string(),
        }
    }
}

impl LoadError {
    /// Where the problem is, when known (a YAML syntax error carries its location in the text).
    pub fn pos(&self) -> Option<&Pos> {
        match self {
            LoadError::Yaml(_) => None,
            LoadError::Invalid { pos, .. }
            | LoadError::RoleNotFound { pos, .. }
            | LoadError::FileNotFound { pos, .. } => Some(pos),
        }
    }
}

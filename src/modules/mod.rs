//! Modules: the things a task does to a host, one file each.
//!
//! A module is split in three steps so that check mode, diffs and reports fall out of one
//! design (DESIGN.md, "the module contract"):
//!
//! - **probe**: read the host state that matters, in one round trip where possible;
//! - **plan**: compare the desired state with the probed one on the controller and decide the
//!   changes, with a [`Diff`] for content and before/after for attributes. Check mode stops here;
//! - **apply**: carry the plan out (unless `ctx.check_mode`) and report what changed.
//!
//! Each module implements [`Module::run`] in that shape. Modules receive arguments that the
//! executor has already templated, talk to the host only through [`ModuleContext::conn`] with
//! commands built by [`crate::connection::Cmd`], and never print: they return a
//! [`ModuleResult`], which the executor turns into events for the report layer.
//!
//! Controller-only actions that need the variable scope (`debug`, `set_fact`, `assert`, `fail`,
//! `meta`, `include_*`) are run by the executor, not through this trait.

pub mod accounts;
pub mod apt;
pub mod apt_key;
pub mod apt_repository;
pub mod args;
pub mod authorized_key;
pub mod copy;
pub mod deb822_repository;
pub mod debconf;
pub mod dpkg;
pub mod dpkg_divert;
pub mod dpkg_selections;
pub mod fetch;
pub mod file;
pub mod find;
pub mod get_url;
pub mod getent;
pub mod git;
pub mod group;
pub mod hostname;
pub mod ini_file;
pub mod known;
pub mod mode;
pub mod mount;
pub mod package;
pub mod package_facts;
pub mod remote;
pub mod replace;
pub mod script;
pub mod search;
pub mod service;
pub mod service_facts;
pub mod slurp;
pub mod stat;
pub mod sysctl;
pub mod systemd;
pub mod tempfile;
pub mod template;
pub mod unarchive;
pub mod uri;
pub mod user;
pub mod wait_for;

pub mod blockinfile;
pub mod command;
pub mod lineinfile;
pub mod pyregex;
pub mod textfile;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::connection::{Become, Connection, ConnectionError};

pub use args::{ArgError, ModuleArgs};

/// What a module needs from the run around it.
pub struct ModuleContext<'a> {
    /// The host's connection.
    pub conn: &'a Connection,
    /// The inventory name of the host (for messages).
    pub host: &'a str,
    /// `--check` (or `check_mode: true` on the task): probe and plan, never apply.
    pub check_mode: bool,
    /// `--diff` (or `diff: true`): fill in [`ModuleResult::diffs`].
    pub diff_mode: bool,
    /// Privilege escalation for the module's commands.
    pub become_: Option<Become>,
    /// `environment:` of the task, already templated; exported for commands that run user code
    /// (`command`, `shell`, `script`), not for jig's own probes.
    pub environment: &'a IndexMap<String, String>,
    /// Finds `src:` files and templates on the controller.
    pub files: &'a dyn FileSearch,
    /// Renders template files with the task's variables (for the `template` module).
    pub templates: &'a dyn TemplateRenderer,
    /// Files whose content jig knows on this host (written earlier in the run), so an edit
    /// can skip reading them; see [`known`].
    pub known: &'a known::KnownFiles,
}

/// Finds the controller-side files a task refers to (`src:` of copy/template/script...).
///
/// Ansible searches a role's `files/` (or `templates/`) directory, then the role directory, then
/// the playbook's `files/` (`templates/`) and the playbook directory; absolute paths are used as
/// they are.
pub trait FileSearch: Send + Sync {
    /// Resolves `name` for a file of `kind`; on failure returns every path that was tried.
    fn find(&self, kind: SearchKind, name: &str) -> Result<PathBuf, Vec<PathBuf>>;

    /// The directory relative controller paths are resolved against (the playbook's), for
    /// modules that write on the controller (`fetch`); `None` leaves them relative to the
    /// working directory.
    fn base_dir(&self) -> Option<PathBuf> {
        None
    }
}

/// Which role subdirectory to search first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchKind {
    /// `files/` (copy, script, unarchive...).
    Files,
    /// `templates/` (template).
    Templates,
    /// `vars/` (include_vars).
    Vars,
    /// `tasks/` (include_tasks).
    Tasks,
}

/// Renders a template file on the controller with the current task's variables.
pub trait TemplateRenderer: Send + Sync {
    /// Renders the file at `path` (already located with [`FileSearch`]). Errors are
    /// human-readable and name the template file and line.
    fn render_file(&self, path: &Path) -> Result<String, String>;
}

/// A change to show under `--diff`.
#[derive(Clone, Debug, PartialEq)]
pub enum Diff {
    /// Content before and after (files, lines). Either side may be empty for a new or removed
    /// file.
    Text {
        /// Label of the old side, usually the path.
        before_header: String,
        /// Label of the new side.
        after_header: String,
        /// Old content.
        before: String,
        /// New content.
        after: String,
    },
    /// Attribute changes (mode, owner, group, state, link target...), field by field.
    Fields {
        /// The file or object changed.
        path: String,
        /// Field -> old value.
        before: IndexMap<String, String>,
        /// Field -> new value.
        after: IndexMap<String, String>,
    },
    /// A change that is only summarised (binary or very large content).
    Summary(String),
}

/// What a module did (or would do, in check mode).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModuleResult {
    /// The host changed (or would change, in check mode).
    pub changed: bool,
    /// The module failed; the message says why.
    pub failed: bool,
    /// The module chose not to act (e.g. `command` in check mode, `creates` found).
    pub skipped: bool,
    /// Human message (`msg`).
    pub msg: Option<String>,
    /// Diffs to show under `--diff`.
    pub diffs: Vec<Diff>,
    /// Every other result key, named as Ansible names them (`rc`, `stdout`, `stdout_lines`,
    /// `stat`, `content`, `dest`, `mode`, ...), because roles read them through `register`.
    pub values: serde_json::Map<String, Json>,
}

impl ModuleResult {
    /// An unchanged result.
    pub fn ok() -> Self {
        ModuleResult::default()
    }

    /// A changed result.
    pub fn changed() -> Self {
        ModuleResult {
            changed: true,
            ..ModuleResult::default()
        }
    }

    /// A failed result with a message.
    pub fn failed(msg: impl Into<String>) -> Self {
        ModuleResult {
            failed: true,
            msg: Some(msg.into()),
            ..ModuleResult::default()
        }
    }

    /// Sets a result key.
    pub fn set(&mut self, key: &str, value: impl Into<Json>) -> &mut Self {
        self.values.insert(key.to_string(), value.into());
        self
    }
}

/// Why a module could not run at all (as opposed to running and failing).
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// Bad or missing arguments.
    #[error(transparent)]
    Args(#[from] ArgError),
    /// The host became unreachable.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
}

/// A module: probe, plan and apply one kind of host state.
#[async_trait]
pub trait Module: Send + Sync {
    /// The module's short name (`copy`).
    fn name(&self) -> &'static str;

    /// Runs the module with already-templated arguments.
    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError>;
}

/// The module called `name` (short name, as normalised by the playbook loader), if jig has it.
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    REGISTRY.iter().copied().find(|m| m.name() == name)
}

/// Every module jig implements.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|m| m.name()).collect()
}

/// The registry. Add a module here when its file lands.
static REGISTRY: &[&dyn Module] = &[
    &authorized_key::AuthorizedKey,
    &apt::Apt,
    &apt_key::AptKey,
    &apt_repository::AptRepository,
    &blockinfile::BlockInFile,
    &command::Command,
    &command::Raw,
    &command::Shell,
    &copy::Copy,
    &deb822_repository::Deb822Repository,
    &debconf::Debconf,
    &dpkg_selections::DpkgSelections,
    &file::File,
    &getent::Getent,
    &group::Group,
    &fetch::Fetch,
    &find::Find,
    &get_url::GetUrl,
    &git::Git,
    &ini_file::IniFile,
    &lineinfile::LineInFile,
    &package::Package,
    &package_facts::PackageFacts,
    &dpkg_divert::DpkgDivert,
    &hostname::Hostname,
    &mount::Mount,
    &replace::Replace,
    &service::Service,
    &service_facts::ServiceFacts,
    &script::Script,
    &slurp::Slurp,
    &stat::Stat,
    &systemd::Systemd,
    &systemd::SystemdService,
    &sysctl::Sysctl,
    &template::Template,
    &user::User,
    &tempfile::TempFile,
    &unarchive::Unarchive,
    &uri::Uri,
    &wait_for::WaitFor,
];

//! The executor: plays x hosts, tasks, loops, handlers, blocks, controller-side actions, and
//! the variable scope each task sees.
//!
//! [`run`] is the entry point the CLI calls: it loads the inventory, extra vars and playbook,
//! runs every play with its strategy (`linear`, or `free`/`host_pinned`) and sends [`Event`]s to a [`Renderer`]. Load-time
//! problems are [`RunError`]s; task failures are not errors, they are in the returned stats.
//!
//! Layout: `runner` schedules (plays, blocks, includes, handlers, meta); `task` runs one task on
//! one host (when, loops, until, changed_when/failed_when, register); `actions` holds the
//! controller-side actions (debug, set_fact, assert, include_*...); `argspec` validates role
//! arguments; `loops` expands `loop` and `with_*`; `keywords` does keyword inheritance;
//! `connect` picks a host's transport.

mod actions;
mod argspec;
pub mod connect;
pub mod facts;
mod keywords;
mod loops;
mod runner;
mod task;

pub use task::NO_LOG_NOTICE;

use std::path::PathBuf;
use std::time::Instant;

use indexmap::IndexMap;

use crate::inventory::Inventory;
use crate::playbook::{self, LoadOptions};
use crate::report::{Event, HostStats, Renderer};

/// Everything `jig run` needs to know, as parsed from the command line.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The playbook file.
    pub playbook: PathBuf,
    /// `-i` sources, in order: files, directories, or `host1,host2,` lists.
    pub inventory: Vec<String>,
    /// `-l/--limit` patterns (several are intersected, as Ansible does).
    pub limit: Vec<String>,
    /// `-t/--tags`.
    pub tags: Vec<String>,
    /// `--skip-tags`.
    pub skip_tags: Vec<String>,
    /// `-e/--extra-vars`, raw: `k=v k2=v2`, YAML/JSON text, or `@file`.
    pub extra_vars: Vec<String>,
    /// `-C/--check`.
    pub check: bool,
    /// `-D/--diff`.
    pub diff: bool,
    /// `-f/--forks`.
    pub forks: usize,
    /// `-v` count.
    pub verbosity: u8,
    /// `--start-at-task`.
    pub start_at_task: Option<String>,
    /// `--roles-path` entries (plus `ANSIBLE_ROLES_PATH`), searched after `roles/` beside the
    /// playbook.
    pub roles_path: Vec<PathBuf>,
    /// SSH settings from the command line (`-u`, `--private-key`, `-k`, `-K`, `--ssh-config`,
    /// `--host-key-checking`, `-T`).
    pub ssh: crate::connection::ssh::SshCliOptions,
    /// `vars_prompt` may ask on the terminal (the CLI sets it when stdin is one). Off, a
    /// prompt takes its default with Ansible's "Not prompting" warning.
    pub interactive: bool,
    /// `-c/--connection`: the transport for hosts whose `ansible_connection` is not set
    /// (`ssh`, `local`, `chroot`); `None` is ssh, or local for the controller's own names.
    pub connection: Option<String>,
    /// The vault passwords (`--vault-id`, `--vault-password-file`, `--ask-vault-pass`).
    pub vault: crate::vault::Keyring,
    /// The run's secrets: every event is redacted with them before a renderer sees it.
    pub secrets: crate::report::redact::Secrets,
    /// `--secret-vars`: variables whose values are added to `secrets` as tasks see them.
    pub secret_vars: Vec<String>,
}

/// What a run produced: per-host totals for the `PLAY RECAP` (in inventory order).
#[derive(Clone, Debug, Default)]
pub struct RunOutcome {
    /// ok/changed/unreachable/failed/skipped/rescued/ignored per host.
    pub stats: IndexMap<String, HostStats>,
}

/// A problem that stops the run before or between tasks (not a task failure).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The playbook, a role or a task file could not be loaded (message has file:line:col).
    #[error("{message}")]
    Playbook {
        /// What is wrong, where, and what to do.
        message: String,
    },
    /// The inventory could not be loaded.
    #[error("{message}")]
    Inventory {
        /// What is wrong and where.
        message: String,
    },
    /// `-e` could not be parsed.
    #[error("{message}")]
    ExtraVars {
        /// What is wrong.
        message: String,
    },
    /// A host pattern (`hosts:` or `--limit`) is malformed or could not be templated.
    #[error("bad host pattern {pattern}: {message}")]
    HostPattern {
        /// The pattern, with where it is written.
        pattern: String,
        /// What is wrong.
        message: String,
    },
    /// A play's `vars_files` entry could not be found or read.
    #[error("{message}")]
    VarsFile {
        /// What is wrong, where, for which host.
        message: String,
    },
}

/// Loads inventory and playbook, runs every play, sends events to `renderer`.
///
/// Load-time problems (bad YAML, missing role, bad pattern, bad -e) are `RunError`s with a
/// message naming file:line:col; task failures are not errors, they are in the stats. The
/// caller calls [`Renderer::finish`] when it is done with the renderer.
pub async fn run(opts: &RunOptions, renderer: &mut dyn Renderer) -> Result<RunOutcome, RunError> {
    crate::vault::install(opts.vault.clone(), opts.secrets.clone());
    // Every event passes through the redactor, whichever renderers are behind `renderer`.
    let mut redacting = crate::report::redact::Redacting::new(renderer, opts.secrets.clone());
    run_redacted(opts, &mut redacting)
        .await
        .map_err(|e| e.redacted(&opts.secrets))
}

impl RunError {
    /// The error with every secret in its text redacted.
    fn redacted(self, secrets: &crate::report::redact::Secrets) -> RunError {
        let r = |s: String| secrets.redact(&s).into_owned();
        match self {
            RunError::Playbook { message } => RunError::Playbook {
                message: r(message),
            },
            RunError::Inventory { message } => RunError::Inventory {
                message: r(message),
            },
            RunError::ExtraVars { message } => RunError::ExtraVars {
                message: r(message),
            },
            RunError::HostPattern { pattern, message } => RunError::HostPattern {
                pattern: r(pattern),
                message: r(message),
            },
            RunError::VarsFile { message } => RunError::VarsFile {
                message: r(message),
            },
        }
    }
}

async fn run_redacted(
    opts: &RunOptions,
    renderer: &mut dyn Renderer,
) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    let extra = crate::vars::extra::parse_extra_vars(&opts.extra_vars).map_err(|e| {
        RunError::ExtraVars {
            message: e.to_string(),
        }
    })?;
    let load_opts = LoadOptions {
        roles_path: opts.roles_path.clone(),
    };
    let pb =
        playbook::load_playbook(&opts.playbook, &load_opts).map_err(|e| RunError::Playbook {
            message: e.to_string(),
        })?;
    let mut inventory = if opts.inventory.is_empty() {
        Inventory::empty()
    } else {
        Inventory::load(&opts.inventory).map_err(|e| RunError::Inventory {
            message: e.to_string(),
        })?
    };
    inventory
        .add_playbook_vars_dir(&pb.dir)
        .map_err(|e| RunError::Inventory {
            message: e.to_string(),
        })?;
    let pb_dir = std::path::absolute(&pb.dir).unwrap_or_else(|_| pb.dir.clone());
    let mut runner = runner::Runner::new(opts, renderer, inventory, extra, pb_dir);
    for play in pb.plays {
        if !runner.run_play(play).await? {
            break;
        }
    }
    let stats = runner.stats();
    runner.emit(Event::Recap {
        stats: stats.clone(),
        elapsed: started.elapsed(),
    });
    Ok(RunOutcome { stats })
}

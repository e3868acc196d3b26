//! The executor: plays x hosts, tasks, loops, handlers, failures (being written).

pub mod facts;

use std::path::PathBuf;

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
}

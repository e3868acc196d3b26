//! Magic variables: the ones jig sets itself (`inventory_hostname`, `groups`, `play_hosts`,
//! `role_path`, `ansible_version`...), built per host, per play and per task.
//!
//! They live in [`Layer::Magic`](super::Layer::Magic), above everything else, so no inventory
//! or play variable can shadow them (Ansible behaves the same way for these names).

use std::path::Path;

use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::VarMap;

/// The Ansible version jig reports in `ansible_version`: the release whose semantics it follows.
pub const ANSIBLE_VERSION: &str = "2.19.0";

/// What `ansible_managed` expands to.
pub const ANSIBLE_MANAGED: &str = "Ansible managed";

/// `ansible_version` as Ansible shapes it.
pub fn ansible_version() -> Json {
    json!({
        "full": ANSIBLE_VERSION,
        "major": 2,
        "minor": 19,
        "revision": 0,
        "string": ANSIBLE_VERSION,
    })
}

/// Inputs for the per-host magic variables that do not change during a play.
pub struct HostMagic<'a> {
    /// The inventory name.
    pub inventory_hostname: &'a str,
    /// `groups`: every group -> its hosts.
    pub groups: &'a IndexMap<String, Vec<String>>,
    /// `group_names`.
    pub group_names: Vec<String>,
    /// `inventory_dir`.
    pub inventory_dir: Option<&'a Path>,
    /// `inventory_file`.
    pub inventory_file: Option<&'a Path>,
    /// `playbook_dir`.
    pub playbook_dir: &'a Path,
}

/// The per-host magic variables (`inventory_hostname`, `groups`, `omit`, `ansible_version`...).
pub fn host_magic(m: &HostMagic<'_>, omit: &str) -> VarMap {
    let mut v = VarMap::new();
    v.insert("inventory_hostname".into(), json!(m.inventory_hostname));
    let short = m
        .inventory_hostname
        .split('.')
        .next()
        .unwrap_or(m.inventory_hostname);
    v.insert("inventory_hostname_short".into(), json!(short));
    v.insert("groups".into(), json!(m.groups));
    v.insert("group_names".into(), json!(m.group_names));
    let path_json = |p: Option<&Path>| p.map_or(Json::Null, |p| json!(p.display().to_string()));
    v.insert("inventory_dir".into(), path_json(m.inventory_dir));
    v.insert("inventory_file".into(), path_json(m.inventory_file));
    v.insert(
        "playbook_dir".into(),
        json!(m.playbook_dir.display().to_string()),
    );
    v.insert("omit".into(), json!(omit));
    v.insert("ansible_managed".into(), json!(ANSIBLE_MANAGED));
    v.insert("ansible_version".into(), ansible_version());
    v
}

/// Inputs for the magic variables that describe the current play and run.
pub struct PlayMagic<'a> {
    /// `ansible_play_name`.
    pub play_name: &'a str,
    /// Every host the play matched (`ansible_play_hosts_all`).
    pub hosts_all: &'a [String],
    /// Hosts still active (`ansible_play_hosts`, `play_hosts`, `ansible_play_batch`).
    pub hosts_active: &'a [String],
    /// The play's role names (`role_names`).
    pub role_names: &'a [String],
    /// `--tags`.
    pub run_tags: &'a [String],
    /// `--skip-tags`.
    pub skip_tags: &'a [String],
    /// `-v` count.
    pub verbosity: u8,
}

/// The per-play magic variables.
pub fn play_magic(m: &PlayMagic<'_>) -> VarMap {
    let mut v = VarMap::new();
    v.insert("ansible_play_name".into(), json!(m.play_name));
    v.insert("ansible_play_hosts_all".into(), json!(m.hosts_all));
    v.insert("ansible_play_hosts".into(), json!(m.hosts_active));
    v.insert("play_hosts".into(), json!(m.hosts_active));
    v.insert("ansible_play_batch".into(), json!(m.hosts_active));
    v.insert("ansible_play_role_names".into(), json!(m.role_names));
    v.insert("role_names".into(), json!(m.role_names));
    let run_tags: Vec<&str> = if m.run_tags.is_empty() {
        vec!["all"]
    } else {
        m.run_tags.iter().map(String::as_str).collect()
    };
    v.insert("ansible_run_tags".into(), json!(run_tags));
    v.insert("ansible_skip_tags".into(), json!(m.skip_tags));
    v.insert("ansible_verbosity".into(), json!(m.verbosity));
    v
}

/// Inputs for the magic variables of one task on one host.
pub struct TaskMagic<'a> {
    /// The role the task belongs to: (name, path, parents innermost first).
    pub role: Option<(&'a str, &'a Path, &'a [String])>,
    /// `--check` (Ansible does not change it for a task's `check_mode:`).
    pub check_mode: bool,
    /// `--diff`.
    pub diff_mode: bool,
    /// The transport used for the host (`ansible_connection`), when known.
    pub connection: Option<&'a str>,
}

/// The per-task magic variables (`role_path`, `ansible_check_mode`...).
pub fn task_magic(m: &TaskMagic<'_>) -> VarMap {
    let mut v = VarMap::new();
    v.insert("ansible_check_mode".into(), json!(m.check_mode));
    v.insert("ansible_diff_mode".into(), json!(m.diff_mode));
    if let Some((name, path, parents)) = m.role {
        v.insert("role_name".into(), json!(name));
        v.insert("ansible_role_name".into(), json!(name));
        v.insert("role_path".into(), json!(path.display().to_string()));
        v.insert("ansible_parent_role_names".into(), json!(parents));
    }
    if let Some(c) = m.connection {
        v.insert("ansible_connection".into(), json!(c));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_magic_has_short_name_and_groups() {
        let mut groups = IndexMap::new();
        groups.insert("all".to_string(), vec!["web1.example.com".to_string()]);
        let v = host_magic(
            &HostMagic {
                inventory_hostname: "web1.example.com",
                groups: &groups,
                group_names: vec!["web".into()],
                inventory_dir: Some(Path::new("/inv")),
                inventory_file: None,
                playbook_dir: Path::new("/pb"),
            },
            "OMIT",
        );
        assert_eq!(v["inventory_hostname_short"], json!("web1"));
        assert_eq!(v["groups"]["all"], json!(["web1.example.com"]));
        assert_eq!(v["inventory_dir"], json!("/inv"));
        assert_eq!(v["inventory_file"], Json::Null);
        assert_eq!(v["ansible_version"]["minor"], json!(19));
        assert_eq!(v["omit"], json!("OMIT"));
    }

    #[test]
    fn run_tags_default_to_all() {
        let v = play_magic(&PlayMagic {
            play_name: "p",
            hosts_all: &["a".into(), "b".into()],
            hosts_active: &["a".into()],
            role_names: &[],
            run_tags: &[],
            skip_tags: &[],
            verbosity: 0,
        });
        assert_eq!(v["ansible_run_tags"], json!(["all"]));
        assert_eq!(v["play_hosts"], json!(["a"]));
        assert_eq!(v["ansible_play_hosts_all"], json!(["a", "b"]));
    }
}

//! What `jig inventory` prints, byte for byte what `ansible-inventory` 2.19 prints.
//!
//! `--list` and `--host` are Python's `json.dumps(..., sort_keys=True, indent=4)` (UTF-8 kept,
//! keys sorted at every level, Python's float spelling); `--graph` is the `@group:` tree with
//! `  |--` indentation, children and hosts in inventory order, and with `--vars` each value in
//! Python's `str()` spelling. Every function returns the text with its final newline.

use std::collections::HashSet;

use serde_json::Value as Json;

use super::{Inventory, InventoryError};
use crate::vars::VarMap;

/// Variables ansible-inventory never prints (its `INTERNAL_STATIC_VARS`).
const INTERNAL: [&str; 33] = [
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

fn printable_host_vars(inv: &Inventory, host: &str) -> VarMap {
    let mut vars = inv.host_vars(host);
    vars.retain(|k, _| !INTERNAL.contains(&k.as_str()));
    vars
}

/// A group's variables as `ansible-inventory` shows them: inventory-file vars, then the
/// `group_vars/` files for it, then `ansible_group_priority` when it is not the default.
fn printable_group_vars(inv: &Inventory, group: &str) -> VarMap {
    let mut vars = VarMap::new();
    let Some(g) = inv.groups.get(group) else {
        return vars;
    };
    vars.extend(g.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    for d in inv.inventory_vars.iter().chain(&inv.playbook_vars) {
        for (_, file_vars) in d.group(group) {
            vars.extend(file_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    if g.priority != 1 {
        vars.insert("ansible_group_priority".into(), Json::from(g.priority));
    }
    vars.retain(|k, _| !INTERNAL.contains(&k.as_str()));
    vars
}

/// `ansible-inventory --list`: `{"_meta": {"hostvars": ...}, "all": {"children": [...]}, ...}`.
pub fn list_json(inv: &Inventory) -> String {
    let hosts = inv.group_hosts("all");
    let available: HashSet<&str> = hosts.iter().map(String::as_str).collect();
    let mut results = serde_json::Map::new();
    let mut seen = HashSet::new();
    format_group(inv, "all", &available, &mut seen, &mut results);
    let mut hostvars = serde_json::Map::new();
    for h in &hosts {
        let vars = printable_host_vars(inv, h);
        if !vars.is_empty() {
            hostvars.insert(h.clone(), Json::Object(vars.into_iter().collect()));
        }
    }
    let mut meta = serde_json::Map::new();
    meta.insert("hostvars".into(), Json::Object(hostvars));
    meta.insert("profile".into(), Json::from("inventory_legacy"));
    results.insert("_meta".into(), Json::Object(meta));
    let mut out = python_json(&Json::Object(results));
    out.push('\n');
    out
}

fn format_group(
    inv: &Inventory,
    name: &str,
    available: &HashSet<&str>,
    seen: &mut HashSet<String>,
    results: &mut serde_json::Map<String, Json>,
) {
    let Some(group) = inv.groups.get(name) else {
        return;
    };
    let mut entry = serde_json::Map::new();
    if name != "all" {
        let hosts: Vec<Json> = group
            .hosts
            .iter()
            .filter(|h| available.contains(h.as_str()))
            .map(|h| Json::from(h.as_str()))
            .collect();
        if !hosts.is_empty() {
            entry.insert("hosts".into(), Json::Array(hosts));
        }
    }
    if !group.children.is_empty() {
        entry.insert(
            "children".into(),
            Json::Array(
                group
                    .children
                    .iter()
                    .map(|c| Json::from(c.as_str()))
                    .collect(),
            ),
        );
    }
    for child in &group.children {
        if seen.insert(child.clone()) {
            format_group(inv, child, available, seen, results);
        }
    }
    if !entry.is_empty() {
        results.insert(name.to_string(), Json::Object(entry));
    }
}

/// `ansible-inventory --graph [group] [--vars]`. A `group` that does not exist gives an empty
/// string: check [`Inventory::group`] first to report it as ansible-inventory does.
pub fn graph(inv: &Inventory, group: Option<&str>, with_vars: bool) -> String {
    let start = group.unwrap_or("all");
    if inv.groups.get(start).is_none() {
        return String::new();
    }
    let mut lines = Vec::new();
    graph_group(inv, start, 0, with_vars, &mut lines);
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn graph_name(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}

fn graph_group(inv: &Inventory, name: &str, depth: usize, with_vars: bool, out: &mut Vec<String>) {
    let Some(group) = inv.groups.get(name) else {
        return;
    };
    out.push(graph_name(&format!("@{name}:"), depth));
    let depth = depth + 1;
    for child in &group.children {
        graph_group(inv, child, depth, with_vars, out);
    }
    if name != "all" {
        for h in &group.hosts {
            out.push(graph_name(h, depth));
            if with_vars {
                show_vars(&printable_host_vars(inv, h), depth + 1, out);
            }
        }
    }
    if with_vars {
        show_vars(&printable_group_vars(inv, name), depth, out);
    }
}

fn show_vars(vars: &VarMap, depth: usize, out: &mut Vec<String>) {
    let mut sorted: Vec<(&String, &Json)> = vars.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in sorted {
        out.push(graph_name(&format!("{{{k} = {}}}", python_str(v)), depth));
    }
}

/// `ansible-inventory --host NAME`: the host's merged inventory variables.
pub fn host_json(inv: &Inventory, host: &str) -> Result<String, InventoryError> {
    let matched = inv.select(host).unwrap_or_default();
    let [name] = matched.as_slice() else {
        return Err(InventoryError::UnknownHost(host.to_string()));
    };
    let vars = printable_host_vars(inv, name);
    let mut out = python_json(&Json::Object(vars.into_iter().collect()));
    out.push('\n');
    Ok(out)
}

/// `json.dumps(v, sort_keys=True, indent=4)`, as ansible-inventory writes it.
pub fn python_json(v: &Json) -> String {
    crate::pyfmt::dumps(
        v,
        crate::pyfmt::Dumps {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: false,
        },
    )
}

/// Python's `str()` of a value, as `--graph --vars` shows variables.
pub fn python_str(v: &Json) -> String {
    crate::pyfmt::str(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_python_json_dumps() {
        let v = json!({"b": [1, 2.0, {}], "a": "é\"\n😀\u{1}", "c": []});
        assert_eq!(
            python_json(&v),
            "{\n    \"a\": \"é\\\"\\n😀\\u0001\",\n    \"b\": [\n        1,\n        2.0,\n        {}\n    ],\n    \"c\": []\n}"
        );
    }

    #[test]
    fn str_is_python_str() {
        assert_eq!(python_str(&json!("a b")), "a b");
        assert_eq!(
            python_str(&json!([1, "x", null, true])),
            "[1, 'x', None, True]"
        );
        assert_eq!(python_str(&json!({"k": "it's"})), "{'k': \"it's\"}");
        assert_eq!(python_str(&json!(1.0)), "1.0");
    }
}

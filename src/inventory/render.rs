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

/// `json.dumps(v, sort_keys=True, indent=4)` as Python writes it.
pub fn python_json(v: &Json) -> String {
    let mut out = String::new();
    write_json(v, 0, &mut out);
    out
}

fn write_json(v: &Json, level: usize, out: &mut String) {
    let pad = |n: usize| "    ".repeat(n);
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&python_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Json::String(s) => json_string(s, out),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&pad(level + 1));
                write_json(item, level + 1, out);
            }
            out.push('\n');
            out.push_str(&pad(level));
            out.push(']');
        }
        Json::Object(map) if map.is_empty() => out.push_str("{}"),
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&pad(level + 1));
                json_string(k, out);
                out.push_str(": ");
                write_json(&map[k.as_str()], level + 1, out);
            }
            out.push('\n');
            out.push_str(&pad(level));
            out.push('}');
        }
    }
}

/// A JSON string as ansible-inventory's encoder writes it: control characters escaped,
/// everything else (non-ASCII included) as is.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 or from 1e16.
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if (point as usize) >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let esign = if exp < 0 { "-" } else { "+" };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    }
}

/// Python's `str()` of a value: strings bare, containers with `repr()` items.
pub fn python_str(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => python_repr(other),
    }
}

fn python_repr(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(b) => if *b { "True" } else { "False" }.into(),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => python_float(f)
                .replace("Infinity", "inf")
                .replace("NaN", "nan"),
            _ => n.to_string(),
        },
        Json::String(s) => python_str_repr(s),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", python_str_repr(k), python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`.
fn python_str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_spell_like_python() {
        assert_eq!(python_float(1.5), "1.5");
        assert_eq!(python_float(1000.0), "1000.0");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(1.5e16), "1.5e+16");
        assert_eq!(python_float(0.0001), "0.0001");
        assert_eq!(python_float(0.00001), "1e-05");
        assert_eq!(python_float(-2.25e-7), "-2.25e-07");
        assert_eq!(python_float(0.1), "0.1");
        assert_eq!(python_float(123456.789), "123456.789");
    }

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

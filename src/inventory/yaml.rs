//! YAML (and JSON) inventories, read as Ansible's `yaml` inventory plugin reads them.
//!
//! The top-level keys are groups (usually just `all`); each group may have `hosts:` (names,
//! possibly with ranges and ports, each with its variables or null), `vars:` and `children:`
//! (nested groups of the same shape). Keys are processed in the order they are written.

use crate::yaml::{Node, NodeValue};

use super::{Inventory, InventoryError, Origin, range};

/// Reads a parsed YAML inventory document into `inv`.
pub(super) fn parse(inv: &mut Inventory, doc: &Node) -> Result<(), InventoryError> {
    let structure = |node: &Node, message: String| InventoryError::Structure {
        pos: node.pos.clone(),
        message,
    };
    // Ansible's YAML plugin refuses an empty file, but its INI plugin then reads it as an
    // empty inventory, so an empty file is no error.
    if doc.value == NodeValue::Null {
        inv.warn(format!("{}: the inventory file is empty", doc.pos));
        return Ok(());
    }
    let Some(groups) = doc.as_map() else {
        return Err(structure(
            doc,
            format!(
                "a YAML inventory must be a mapping of group names (such as 'all:'), not {}",
                doc.kind()
            ),
        ));
    };
    if groups.is_empty() {
        return Err(structure(doc, "the YAML inventory is empty".into()));
    }
    if doc.get("plugin").is_some() {
        return Err(structure(
            doc,
            "this is an inventory plugin configuration ('plugin:'), which jig does not run; list hosts under 'all:' instead".into(),
        ));
    }
    for (key, node) in groups {
        parse_group(inv, &key.name, node)?;
    }
    Ok(())
}

fn parse_group(inv: &mut Inventory, name: &str, node: &Node) -> Result<(), InventoryError> {
    let origin = Origin::Yaml(node.pos.clone());
    let entries = match &node.value {
        NodeValue::Null => {
            inv.add_group(name, &origin)?;
            return Ok(());
        }
        NodeValue::Map(entries) => entries,
        _ => {
            inv.warn(format!(
                "{}: skipping '{name}': a group must be a mapping with 'hosts', 'vars' and 'children', not {}",
                node.pos,
                node.kind()
            ));
            return Ok(());
        }
    };
    inv.add_group(name, &origin)?;
    for (key, value) in entries {
        let section_err = || InventoryError::Structure {
            pos: value.pos.clone(),
            message: format!(
                "'{}' of group '{name}' must be a mapping, not {}",
                key.name,
                value.kind()
            ),
        };
        // A bare string is accepted as a mapping with one null entry, as Ansible does.
        let single;
        let items: &[(crate::yaml::Key, Node)] = match &value.value {
            NodeValue::Null => continue,
            NodeValue::Map(items) => items,
            NodeValue::Str(s) if matches!(key.name.as_str(), "hosts" | "children" | "vars") => {
                single = [(
                    crate::yaml::Key {
                        name: s.clone(),
                        pos: value.pos.clone(),
                    },
                    Node {
                        value: NodeValue::Null,
                        pos: value.pos.clone(),
                    },
                )];
                &single
            }
            _ if matches!(key.name.as_str(), "hosts" | "children" | "vars") => {
                return Err(section_err());
            }
            _ => {
                inv.warn(format!(
                    "{}: skipping key '{}' in group '{name}': it is not a mapping",
                    key.pos, key.name
                ));
                continue;
            }
        };
        match key.name.as_str() {
            "vars" => {
                for (k, v) in items {
                    inv.set_group_var(name, &k.name, v.to_json(), &Origin::Yaml(k.pos.clone()))?;
                }
            }
            "children" => {
                for (k, v) in items {
                    parse_group(inv, &k.name, v)?;
                    inv.add_child(name, &k.name)
                        .map_err(|message| InventoryError::Structure {
                            pos: k.pos.clone(),
                            message,
                        })?;
                }
            }
            "hosts" => {
                for (k, v) in items {
                    let (hosts, port) = range::expand_host_pattern(&k.name).map_err(|m| {
                        InventoryError::Structure {
                            pos: k.pos.clone(),
                            message: format!("invalid host pattern '{}': {m}", k.name),
                        }
                    })?;
                    let vars = match &v.value {
                        NodeValue::Null => Vec::new(),
                        NodeValue::Map(vars) => vars.clone(),
                        _ => {
                            return Err(InventoryError::Structure {
                                pos: v.pos.clone(),
                                message: format!(
                                    "the variables of host '{}' must be a mapping (or empty), not {}",
                                    k.name,
                                    v.kind()
                                ),
                            });
                        }
                    };
                    for h in hosts {
                        inv.add_host(&h, Some(name), port);
                        for (vk, vv) in &vars {
                            inv.set_host_var(&h, &vk.name, vv.to_json());
                        }
                    }
                }
            }
            other => inv.warn(format!(
                "{}: skipping unexpected key '{other}' in group '{name}': only 'hosts', 'vars' and 'children' are valid",
                key.pos
            )),
        }
    }
    Ok(())
}

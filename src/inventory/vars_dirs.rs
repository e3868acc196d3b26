//! `group_vars/` and `host_vars/` directories, found as Ansible's `host_group_vars` plugin
//! finds them.
//!
//! For a group or host `name`, the first of `name` (a file, or a directory), `name.yml`,
//! `name.yaml`, `name.json` that exists is used, and only that one. A directory contributes
//! every file in it and its subdirectories, in sorted order, skipping hidden files, backups
//! (`~`) and extensions other than none/.yml/.yaml/.json. Every file must hold a mapping.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use super::{Inventory, InventoryError};
use crate::vars::VarMap;

const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// The vars files found beside one inventory source or playbook.
#[derive(Clone, Debug, Default)]
pub(super) struct VarsDir {
    groups: IndexMap<String, Vec<(PathBuf, Arc<VarMap>)>>,
    hosts: IndexMap<String, Vec<(PathBuf, Arc<VarMap>)>>,
}

impl VarsDir {
    /// Loads `base/group_vars/*` for every group of `inv` and `base/host_vars/*` for every host
    /// (and the implicit localhost names).
    pub(super) fn load(base: &Path, inv: &Inventory) -> Result<VarsDir, InventoryError> {
        let mut out = VarsDir::default();
        let gdir = base.join("group_vars");
        if gdir.is_dir() {
            for name in inv.groups.keys() {
                let files = load_entity(&gdir, name)?;
                if !files.is_empty() {
                    out.groups.insert(name.clone(), files);
                }
            }
        }
        let hdir = base.join("host_vars");
        if hdir.is_dir() {
            let names = inv
                .hosts
                .keys()
                .map(String::as_str)
                .chain(super::LOCALHOST_NAMES);
            for name in names {
                let files = load_entity(&hdir, name)?;
                if !files.is_empty() {
                    out.hosts.insert(name.to_string(), files);
                }
            }
        }
        Ok(out)
    }

    /// The files for group `name`, in load order.
    pub(super) fn group(&self, name: &str) -> impl Iterator<Item = (&Path, &Arc<VarMap>)> {
        self.groups
            .get(name)
            .into_iter()
            .flatten()
            .map(|(p, v)| (p.as_path(), v))
    }

    /// The files for host `name`, in load order.
    pub(super) fn host(&self, name: &str) -> impl Iterator<Item = (&Path, &Arc<VarMap>)> {
        self.hosts
            .get(name)
            .into_iter()
            .flatten()
            .map(|(p, v)| (p.as_path(), v))
    }
}

/// The vars files of one entity in `dir`, loaded, in order.
fn load_entity(dir: &Path, name: &str) -> Result<Vec<(PathBuf, Arc<VarMap>)>, InventoryError> {
    // A name with a path separator would escape the directory; Ansible finds nothing for it.
    if name.contains('/') || name == "." || name == ".." {
        return Ok(Vec::new());
    }
    let mut candidates = vec![dir.join(name)];
    candidates.extend(EXTENSIONS.iter().map(|e| dir.join(format!("{name}.{e}"))));
    let Some(found) = candidates.into_iter().find(|p| p.exists()) else {
        return Ok(Vec::new());
    };
    let files = if found.is_dir() {
        let mut files = Vec::new();
        dir_files(&found, &mut files)?;
        files
    } else {
        vec![found]
    };
    let mut out = Vec::new();
    for f in files {
        if let Some(vars) = load_vars_file(&f)? {
            out.push((f, Arc::new(vars)));
        }
    }
    Ok(out)
}

fn dir_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InventoryError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| InventoryError::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let fname = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if fname.starts_with('.') || fname.ends_with('~') {
            continue;
        }
        let ext = p.extension().map(|e| e.to_string_lossy().into_owned());
        if p.is_dir() {
            if ext.is_none() {
                dir_files(&p, out)?;
            }
        } else if ext.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            out.push(p);
        }
    }
    Ok(())
}

/// One vars file: a mapping, or nothing if the file is empty. A vault-encrypted file is
/// decrypted by [`crate::yaml::load_file`] with the run's vault passwords.
pub(super) fn load_vars_file(path: &Path) -> Result<Option<VarMap>, InventoryError> {
    let node = crate::yaml::load_file(path)?;
    match node.to_json() {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Object(map) => Ok(Some(map.into_iter().collect())),
        _ => Err(InventoryError::Structure {
            pos: node.pos.clone(),
            message: format!(
                "a variables file must hold a mapping of variable names to values, not {}",
                node.kind()
            ),
        }),
    }
}

//! The controller files a plan depends on, and their hashes.
//!
//! A plan is only valid for the playbook, roles, templates and variables it was made from.
//! Rather than trace every file a run opens, jig hashes whole trees: the playbook's directory,
//! each `--roles-path` directory, each inventory path and each `-e @file`. Symbolic links are
//! followed (a directory met twice is hashed once); `.git`, `.jig`, `*.retry`, the plan file
//! itself and any other plan file (JSON whose first key is `"schema": "jig.plan/..."`) are
//! left out, because runs and plans write them and no run reads them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::{Source, sha256_hex};

/// The trees and files to hash for a plan made from `source`.
pub fn roots(source: &Source) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut add = |p: PathBuf| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    if let Some(dir) = source.playbook.parent() {
        add(dir.to_path_buf());
    }
    for r in &source.roles_path {
        add(r.clone());
    }
    for i in &source.inventory {
        let p = Path::new(i);
        if !i.contains(',') && p.exists() {
            add(p.to_path_buf());
        }
    }
    for e in &source.extra_vars {
        if let Some(f) = e.strip_prefix('@') {
            add(PathBuf::from(f));
        }
    }
    out
}

/// Absolute path -> sha256 of every file under `roots`, except `exclude` (the plan file).
pub fn hash_files(
    roots: &[PathBuf],
    exclude: Option<&Path>,
) -> Result<BTreeMap<String, String>, String> {
    let exclude = exclude.and_then(|p| std::fs::canonicalize(p).ok());
    let mut out = BTreeMap::new();
    let mut seen = HashSet::new();
    for root in roots {
        walk(root, exclude.as_deref(), &mut seen, &mut out)?;
    }
    Ok(out)
}

/// A plan file (any plan: several may sit beside the playbook), which no run reads.
fn is_plan(data: &[u8]) -> bool {
    let head = &data[..data.len().min(80)];
    head.first() == Some(&b'{')
        && head
            .windows(br#""schema": "jig.plan/"#.len())
            .any(|w| w == br#""schema": "jig.plan/"#)
}

fn skipped_name(name: &str) -> bool {
    name == ".git" || name == ".jig" || name.ends_with(".retry")
}

fn walk(
    path: &Path,
    exclude: Option<&Path>,
    seen: &mut HashSet<PathBuf>,
    out: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        // A dangling link cannot be read by the run either.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if exclude == Some(canon.as_path()) {
        return Ok(());
    }
    if meta.is_dir() {
        if !seen.insert(canon) {
            return Ok(());
        }
        let mut names: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| format!("cannot list {}: {e}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for name in names {
            if skipped_name(&name.to_string_lossy()) {
                continue;
            }
            walk(&path.join(name), exclude, seen, out)?;
        }
    } else if meta.is_file() {
        let data =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if is_plan(&data) {
            return Ok(());
        }
        out.insert(path.display().to_string(), sha256_hex(&data));
    }
    Ok(())
}

/// The files that differ between two hash maps: `changed`, `added` and `removed` lines.
pub fn differences(then: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, h) in then {
        match now.get(path) {
            None => out.push(format!("removed: {path}")),
            Some(n) if n != h => out.push(format!("changed: {path}")),
            Some(_) => {}
        }
    }
    for path in now.keys() {
        if !then.contains_key(path) {
            out.push(format!("added: {path}"));
        }
    }
    out
}

/// The commit of the git work tree `dir` is in, and whether it has uncommitted changes;
/// `(None, None)` outside a work tree or without git.
pub fn git_state(dir: &Path) -> (Option<String>, Option<bool>) {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(commit) = run(&["rev-parse", "HEAD"]) else {
        return (None, None);
    };
    let dirty = run(&["status", "--porcelain"]).map(|s| !s.is_empty());
    (Some(commit), dirty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_are_hashed_without_git_retry_files_or_the_plan() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("roles/app/templates")).unwrap();
        std::fs::create_dir_all(d.join(".git")).unwrap();
        std::fs::write(d.join("site.yml"), "- hosts: all\n").unwrap();
        std::fs::write(d.join("roles/app/templates/a b 'é'.j2"), "x").unwrap();
        std::fs::write(d.join(".git/HEAD"), "ref").unwrap();
        std::fs::write(d.join("site.retry"), "web1").unwrap();
        std::fs::write(d.join("plan.json"), "{}").unwrap();
        std::fs::write(d.join("old.json"), "{\n  \"schema\": \"jig.plan/1\"\n}").unwrap();
        std::os::unix::fs::symlink(d.join("roles"), d.join("roles-link")).unwrap();
        let roots = vec![d.to_path_buf(), d.join("roles")];
        let then = hash_files(&roots, Some(&d.join("plan.json"))).unwrap();
        let names: Vec<String> = then
            .keys()
            .map(|k| {
                k.strip_prefix(&d.display().to_string())
                    .unwrap()
                    .to_string()
            })
            .collect();
        // The roles tree is hashed once, though the link and the second root reach it again.
        assert_eq!(names, vec!["/roles/app/templates/a b 'é'.j2", "/site.yml"]);
        assert_eq!(
            then,
            hash_files(&roots, Some(&d.join("plan.json"))).unwrap()
        );

        std::fs::write(d.join("plan.json"), "{\"other\": 1}").unwrap();
        std::fs::write(d.join("site.retry"), "web2").unwrap();
        std::fs::write(d.join("site.yml"), "- hosts: web\n").unwrap();
        std::fs::write(d.join("new.yml"), "").unwrap();
        std::fs::write(d.join("new.json"), "{\n  \"schema\": \"jig.plan/1\"\n}").unwrap();
        std::fs::remove_file(d.join("roles/app/templates/a b 'é'.j2")).unwrap();
        let now = hash_files(&roots, Some(&d.join("plan.json"))).unwrap();
        let diff: Vec<String> = differences(&then, &now)
            .into_iter()
            .map(|l| l.replace(&d.display().to_string(), ""))
            .collect();
        assert_eq!(
            diff,
            vec![
                "removed: /roles/app/templates/a b 'é'.j2",
                "changed: /site.yml",
                "added: /new.yml"
            ]
        );
    }

    #[test]
    fn roots_cover_the_playbook_dir_roles_inventory_and_var_files() {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("hosts.ini");
        std::fs::write(&inv, "").unwrap();
        let src = Source {
            playbook: PathBuf::from("/srv/pb/site.yml"),
            inventory: vec![inv.display().to_string(), "h1,h2".into()],
            extra_vars: vec!["@/srv/vars.yml".into(), "a=b".into()],
            roles_path: vec![PathBuf::from("/srv/roles")],
            ..Source::default()
        };
        assert_eq!(
            roots(&src),
            vec![
                PathBuf::from("/srv/pb"),
                PathBuf::from("/srv/roles"),
                inv,
                PathBuf::from("/srv/vars.yml")
            ]
        );
    }
}

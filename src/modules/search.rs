//! Where a task's `src:` files are found on the controller: Ansible's search order.
//!
//! This module owns [`TaskFiles`], the [`FileSearch`] the executor gives each task. The order
//! follows Ansible's `path_dwim_relative_stack`: for a task in a role, `role/files/NAME` (or
//! `templates/`...), `role/NAME`, then the task file's own directory (`role/tasks/NAME`); for a
//! task outside a role, `DIR/files/NAME` and `DIR/NAME` for the task file's directory; last,
//! `playbook_dir/files/NAME` and `playbook_dir/NAME`. A name that already starts with the kind's
//! directory (`files/x.conf`) is not prefixed again. Absolute names are used as they are.

use std::path::{Path, PathBuf};

use super::{FileSearch, SearchKind};

/// The places one task's relative file names are resolved against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskFiles {
    /// The role the task belongs to, if any.
    pub role_path: Option<PathBuf>,
    /// The directory of the playbook being run.
    pub playbook_dir: PathBuf,
    /// The directory of the file the task was read from (`role/tasks`, an included file's
    /// directory...), if known.
    pub task_dir: Option<PathBuf>,
}

fn kind_dir(kind: SearchKind) -> &'static str {
    match kind {
        SearchKind::Files => "files",
        SearchKind::Templates => "templates",
        SearchKind::Vars => "vars",
        SearchKind::Tasks => "tasks",
    }
}

impl TaskFiles {
    /// Every candidate for `name`, in the order they are tried.
    pub fn candidates(&self, kind: SearchKind, name: &str) -> Vec<PathBuf> {
        let n = Path::new(name);
        if n.is_absolute() {
            return vec![n.to_path_buf()];
        }
        let sub = kind_dir(kind);
        let already_prefixed = name.split('/').next() == Some(sub);
        let mut out: Vec<PathBuf> = Vec::new();
        let mut push = |p: PathBuf| {
            if !out.contains(&p) {
                out.push(p);
            }
        };
        let add_dir = |dir: &Path, push: &mut dyn FnMut(PathBuf)| {
            if !already_prefixed {
                push(dir.join(sub).join(name));
            }
            push(dir.join(name));
        };
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(role) = &self.role_path {
            dirs.push(role.clone());
            dirs.push(self.task_dir.clone().unwrap_or_else(|| role.join("tasks")));
        } else if let Some(t) = &self.task_dir {
            dirs.push(t.clone());
        }
        for dir in &dirs {
            // A role's `tasks` directory stands for the role: its sibling `files/` first.
            if self.role_path.is_some() && dir.file_name().is_some_and(|f| f == "tasks") {
                if let Some(parent) = dir.parent()
                    && !already_prefixed
                {
                    push(parent.join(sub).join(name));
                }
                push(dir.join(name));
            } else {
                add_dir(dir, &mut push);
            }
        }
        add_dir(&self.playbook_dir, &mut push);
        out
    }
}

impl FileSearch for TaskFiles {
    fn find(&self, kind: SearchKind, name: &str) -> Result<PathBuf, Vec<PathBuf>> {
        let candidates = self.candidates(kind, name);
        match candidates.iter().find(|p| p.exists()) {
            Some(p) => Ok(p.clone()),
            None => Err(candidates),
        }
    }

    fn base_dir(&self) -> Option<PathBuf> {
        Some(self.playbook_dir.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modules_are_registered() {
        for name in ["copy", "file", "slurp", "stat", "template"] {
            assert_eq!(crate::modules::lookup(name).map(|m| m.name()), Some(name));
        }
    }

    #[test]
    fn role_order_then_playbook() {
        let t = TaskFiles {
            role_path: Some("/pb/roles/web".into()),
            playbook_dir: "/pb".into(),
            task_dir: None,
        };
        let c = t.candidates(SearchKind::Templates, "nginx.conf.j2");
        let want: Vec<PathBuf> = [
            "/pb/roles/web/templates/nginx.conf.j2",
            "/pb/roles/web/nginx.conf.j2",
            "/pb/roles/web/tasks/nginx.conf.j2",
            "/pb/templates/nginx.conf.j2",
            "/pb/nginx.conf.j2",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(c, want);
        // Already prefixed names are not prefixed twice.
        let c = t.candidates(SearchKind::Files, "files/a b.txt");
        assert_eq!(c[0], PathBuf::from("/pb/roles/web/files/a b.txt"));
        assert!(
            !c.iter()
                .any(|p| p.to_string_lossy().contains("files/files"))
        );
        assert_eq!(
            t.candidates(SearchKind::Files, "/etc/x"),
            vec![PathBuf::from("/etc/x")]
        );
    }

    #[test]
    fn included_task_dir_and_finding() {
        let tmp = tempfile::tempdir().unwrap();
        let pb = tmp.path();
        std::fs::create_dir_all(pb.join("sub/files")).unwrap();
        std::fs::create_dir_all(pb.join("files")).unwrap();
        std::fs::write(pb.join("files/ünï 'x'.conf"), "top").unwrap();
        let t = TaskFiles {
            role_path: None,
            playbook_dir: pb.to_path_buf(),
            task_dir: Some(pb.join("sub")),
        };
        assert_eq!(
            t.find(SearchKind::Files, "ünï 'x'.conf"),
            Ok(pb.join("files/ünï 'x'.conf"))
        );
        std::fs::write(pb.join("sub/files/ünï 'x'.conf"), "near").unwrap();
        assert_eq!(
            t.find(SearchKind::Files, "ünï 'x'.conf"),
            Ok(pb.join("sub/files/ünï 'x'.conf"))
        );
        let tried = t.find(SearchKind::Files, "missing").unwrap_err();
        assert_eq!(tried.len(), 4);
        assert_eq!(tried[0], pb.join("sub/files/missing"));
    }
}

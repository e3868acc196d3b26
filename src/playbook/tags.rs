//! Tag selection (`--tags`, `--skip-tags`) with ansible-playbook's special tags.

/// Tag selection as ansible-playbook does it: `always`, `never`, `tagged`, `untagged`, `all`.
///
/// `task_tags` are the task's own tags plus every tag it inherits (block, role, play); `only`
/// is `--tags` (empty means `all`, the command-line default) and `skip` is `--skip-tags`.
/// A task tagged `always` runs unless `always` itself is skipped; a task tagged `never` runs
/// only when one of its other tags (or `never`) is asked for.
pub fn tags_selected(task_tags: &[String], only: &[String], skip: &[String]) -> bool {
    let untagged = task_tags.is_empty();
    let has = |t: &str| {
        if untagged {
            t == "untagged"
        } else {
            task_tags.iter().any(|x| x == t)
        }
    };
    let meets = |list: &[String]| list.iter().any(|t| has(t));
    let asked = |list: &[String], t: &str| list.iter().any(|x| x == t);

    let only_all: Vec<String>;
    let only = if only.is_empty() {
        only_all = vec!["all".to_string()];
        &only_all[..]
    } else {
        only
    };

    let run = has("always")
        || (asked(only, "all") && !has("never"))
        || meets(only)
        || (asked(only, "tagged") && !untagged && !has("never"));
    if !run {
        return false;
    }
    if skip.is_empty() {
        return true;
    }
    if asked(skip, "all") {
        return has("always") && !asked(skip, "always");
    }
    if meets(skip) {
        return false;
    }
    untagged || !asked(skip, "tagged")
}

#[cfg(test)]
mod tests {
    use super::tags_selected;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn sel(task: &[&str], only: &[&str], skip: &[&str]) -> bool {
        tags_selected(&v(task), &v(only), &v(skip))
    }

    #[test]
    fn default_runs_everything_but_never() {
        assert!(sel(&[], &[], &[]));
        assert!(sel(&["web"], &[], &[]));
        assert!(!sel(&["never"], &[], &[]));
        assert!(!sel(&["never", "debug"], &["all"], &[]));
        assert!(sel(&["never", "debug"], &["debug"], &[]));
        assert!(sel(&["never"], &["never"], &[]));
    }

    #[test]
    fn only_tags() {
        assert!(sel(&["web", "db"], &["db"], &[]));
        assert!(!sel(&["web"], &["db"], &[]));
        assert!(!sel(&[], &["db"], &[]));
        assert!(sel(&["always"], &["db"], &[]));
        assert!(sel(&[], &["untagged"], &[]));
        assert!(!sel(&["x"], &["untagged"], &[]));
        assert!(sel(&["x"], &["tagged"], &[]));
        assert!(!sel(&[], &["tagged"], &[]));
        assert!(!sel(&["never", "x"], &["tagged"], &[]));
    }

    #[test]
    fn skip_tags() {
        assert!(!sel(&["web"], &[], &["web"]));
        assert!(sel(&["db"], &[], &["web"]));
        assert!(!sel(&["always"], &[], &["always"]));
        assert!(sel(&["always"], &[], &["all"]));
        assert!(!sel(&["always"], &[], &["all", "always"]));
        assert!(!sel(&["x"], &[], &["all"]));
        assert!(!sel(&["x"], &[], &["tagged"]));
        assert!(sel(&[], &[], &["tagged"]));
        assert!(!sel(&[], &[], &["untagged"]));
        assert!(!sel(&["web", "db"], &["web"], &["db"]));
    }
}

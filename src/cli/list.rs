//! `--list-hosts`, `--list-tasks` and `--list-tags`: ansible-playbook's listing formats.
//!
//! The text is built exactly as ansible-playbook 2.19 builds it (`cli/playbook.py`): a blank
//! line and `playbook: FILE`, then per play `  play #N (HOSTS): NAME<TAB>TAGS: [..]`, the
//! matched hosts, the tasks selected by `--tags`/`--skip-tags` with their inherited tags, and
//! the union of those tags. Where Ansible iterates a Python set (the host list, play tags), jig
//! keeps inventory and source order so the output is stable.

use crate::playbook::{Block, Play, Playbook, Task, tags_selected, walk_tasks};
use crate::report::pyfmt;

/// What to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListWhat {
    /// `--list-hosts`.
    pub hosts: bool,
    /// `--list-tasks`.
    pub tasks: bool,
    /// `--list-tags`.
    pub tags: bool,
}

impl ListWhat {
    /// Whether anything is to be listed.
    pub fn any(self) -> bool {
        self.hosts || self.tasks || self.tags
    }
}

/// Resolves a play's `hosts` pattern to host names (with `--limit` applied), for
/// `--list-hosts`.
pub type HostResolver<'a> = dyn Fn(&Play) -> Result<Vec<String>, String> + 'a;

/// The listing of one playbook. `shown_as` is the playbook path as given on the command line.
pub fn list_playbook(
    shown_as: &str,
    pb: &Playbook,
    what: ListWhat,
    only_tags: &[String],
    skip_tags: &[String],
    resolve_hosts: &HostResolver<'_>,
) -> Result<String, String> {
    let mut out = format!("\nplaybook: {shown_as}\n");
    for (idx, play) in pb.plays.iter().enumerate() {
        let play_tags = dedup(play.keywords.tags.iter().cloned());
        let name = play
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| play.hosts.clone());
        let mut msg = format!(
            "\n  play #{} ({}): {}\tTAGS: [{}]",
            idx + 1,
            play.hosts,
            name,
            play_tags.join(",")
        );
        if what.hosts {
            let hosts = resolve_hosts(play)?;
            let pattern = pyfmt::repr(&serde_json::json!([play.hosts]));
            msg.push_str(&format!(
                "\n    pattern: {pattern}\n    hosts ({}):",
                hosts.len()
            ));
            for h in &hosts {
                msg.push_str(&format!("\n      {h}"));
            }
        }
        out.push_str(&msg);
        out.push('\n');

        if what.tasks || what.tags {
            let mut taskmsg = String::new();
            if what.tasks {
                taskmsg.push_str("    tasks:\n");
            }
            let mut all_tags: Vec<String> = Vec::new();
            for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
                walk_tasks(section, &mut |task: &Task, blocks: &[&Block]| {
                    let tags = effective_tags(&play_tags, blocks, task);
                    if !tags_selected(&tags, only_tags, skip_tags) {
                        return;
                    }
                    for t in &tags {
                        if !all_tags.contains(t) {
                            all_tags.push(t.clone());
                        }
                    }
                    if what.tasks {
                        let mut cur = tags.clone();
                        cur.sort();
                        taskmsg.push_str(&format!(
                            "      {}\tTAGS: [{}]\n",
                            task_name(task),
                            cur.join(", ")
                        ));
                    }
                });
            }
            if what.tags {
                let mut cur = dedup(play_tags.iter().cloned().chain(all_tags));
                cur.sort();
                taskmsg.push_str(&format!("      TASK TAGS: [{}]\n", cur.join(", ")));
            }
            // Ansible's display() keeps one trailing newline and adds one if missing.
            if !taskmsg.ends_with('\n') {
                taskmsg.push('\n');
            }
            out.push_str(&taskmsg);
        }
    }
    Ok(out)
}

/// A task's tags with everything it inherits from its play and enclosing blocks (role entries
/// are blocks too).
fn effective_tags(play_tags: &[String], blocks: &[&Block], task: &Task) -> Vec<String> {
    dedup(
        play_tags
            .iter()
            .cloned()
            .chain(blocks.iter().flat_map(|b| b.keywords.tags.iter().cloned()))
            .chain(task.keywords.tags.iter().cloned()),
    )
}

/// `role : name` for a named role task, the name for other named tasks, and the action as
/// written for unnamed ones (as ansible-playbook lists them).
fn task_name(task: &Task) -> String {
    match (&task.name, &task.role) {
        (Some(n), Some(role)) if !n.trim().is_empty() => format!("{} : {}", role.name, n),
        (Some(n), None) if !n.trim().is_empty() => n.clone(),
        _ => task.action_as_written.clone(),
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

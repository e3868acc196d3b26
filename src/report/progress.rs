//! Live progress under the console output when stdout is a terminal: one line that says how
//! many hosts finished the current task, how many still run it, how many failed, and which
//! task it is. Off a terminal nothing of it exists, so plain output stays byte for byte
//! ansible-playbook's.
//!
//! The console prints through [`Progress::show`], which lifts the line off the screen while
//! the console writes and puts it back after, so results never mix with it.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Event, Status};

/// The live progress line.
pub struct Progress {
    bar: ProgressBar,
    hosts: usize,
    done: usize,
    failed: usize,
    task: String,
}

impl Progress {
    /// A progress line drawn on stdout (call only when stdout is a terminal).
    pub fn stdout() -> Self {
        let p = Progress::with_target(ProgressDrawTarget::stdout());
        p.bar.enable_steady_tick(Duration::from_millis(120));
        p
    }

    /// A progress line drawn on `target` (tests use a hidden one).
    pub fn with_target(target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        Progress {
            bar,
            hosts: 0,
            done: 0,
            failed: 0,
            task: String::new(),
        }
    }

    /// Runs `print` (the console writing) with the line lifted off the screen.
    pub fn show<R>(&self, print: impl FnOnce() -> R) -> R {
        self.bar.suspend(print)
    }

    /// Follows `event`: a play sets how many hosts there are, a task starts a new count, a
    /// host's result (not a loop item's) counts it done (and failed when it failed or was
    /// unreachable); the recap takes the line away for good.
    pub fn observe(&mut self, event: &Event) {
        match event {
            Event::PlayStart { hosts, .. } => {
                self.hosts = hosts.len();
                self.task.clear();
                self.done = 0;
            }
            Event::TaskStart { name, handler, .. } => {
                self.task = format!(
                    "{} [{}]",
                    if *handler { "RUNNING HANDLER" } else { "TASK" },
                    name.trim()
                );
                self.done = 0;
            }
            Event::Result(r) if r.item_label.is_none() => self.count(r.status),
            Event::LoopDone(r) => self.count(r.status),
            Event::Recap { .. } => {
                self.bar.finish_and_clear();
                return;
            }
            _ => return,
        }
        self.bar.set_message(self.line());
    }

    fn count(&mut self, status: Status) {
        self.done += 1;
        if matches!(status, Status::Failed | Status::Unreachable) {
            self.failed += 1;
        }
    }

    /// The line as shown: `2/3 hosts done, 1 running, 0 failed: TASK [name]`.
    pub fn line(&self) -> String {
        let running = self.hosts.saturating_sub(self.done);
        format!(
            "{}/{} hosts done, {running} running, {} failed: {}",
            self.done,
            self.hosts.max(self.done),
            self.failed,
            self.task
        )
    }

    /// Takes the line away (the run ended without a recap).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TaskResult;

    fn result(host: &str, status: Status, item: Option<&str>) -> Event {
        Event::Result(TaskResult {
            host: host.into(),
            delegated_to: None,
            status,
            item_label: item.map(str::to_string),
            msg: None,
            diffs: Vec::new(),
            result: serde_json::Map::new(),
            debug_output: None,
            error: None,
            ignore_unreachable: false,
        })
    }

    #[test]
    fn the_line_counts_hosts_done_running_and_failed_per_task() {
        let mut p = Progress::with_target(ProgressDrawTarget::hidden());
        p.observe(&Event::PlayStart {
            name: "p".into(),
            hosts: vec!["a".into(), "b".into(), "c".into()],
        });
        p.observe(&Event::TaskStart {
            name: "install".into(),
            pos: crate::yaml::Pos::default(),
            handler: false,
        });
        assert_eq!(
            p.line(),
            "0/3 hosts done, 3 running, 0 failed: TASK [install]"
        );
        p.observe(&result("a", Status::Ok, None));
        // A loop item is not a host done.
        p.observe(&result("b", Status::Ok, Some("x")));
        p.observe(&result("c", Status::Unreachable, None));
        assert_eq!(
            p.line(),
            "2/3 hosts done, 1 running, 1 failed: TASK [install]"
        );
        p.observe(&Event::TaskStart {
            name: "restart".into(),
            pos: crate::yaml::Pos::default(),
            handler: true,
        });
        assert_eq!(
            p.line(),
            "0/3 hosts done, 3 running, 1 failed: RUNNING HANDLER [restart]"
        );
        let shown = p.show(|| 42);
        assert_eq!(shown, 42);
    }
}

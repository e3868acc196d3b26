//! The console renderer: ansible-playbook's default output, byte for byte where possible.
//!
//! Play and task banners padded with stars to the terminal width (80 columns off a terminal),
//! one line per host result, `=> {json}` under `-v` (Python's `json.dumps` spelling, keys
//! sorted), debug values indented by 4, unified diffs under `--diff` before the `changed:`
//! line (each loop item's before its own line), 2.19's `[ERROR]: Task failed` block with the task's source lines, and the `PLAY RECAP`
//! with Ansible's column layout and colours. Warnings go to the error stream as Ansible's do.
//!
//! Colours follow Ansible's defaults (`ok` green, `changed` yellow, failures red, unreachable
//! bright red, skipped cyan, ignored bright purple, diff additions green, removals red, hunk
//! headers cyan) and are applied line by line exactly as Ansible's `stringc` does, so a captured
//! coloured log compares equal too.

use std::collections::{HashMap, HashSet};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use super::pyfmt;
use super::{Event, FailureSource, HostStats, Renderer, Status, TaskError, TaskResult};
use crate::modules::Diff;
use crate::yaml::Pos;

const COLOR_OK: &str = "0;32";
const COLOR_CHANGED: &str = "0;33";
const COLOR_ERROR: &str = "0;31";
const COLOR_SKIP: &str = "0;36";
const COLOR_UNREACHABLE: &str = "1;31";
const COLOR_WARN: &str = "1;35";
const COLOR_DEBUG: &str = "1;30";
const COLOR_INCLUDED: &str = "0;36";
const COLOR_DIFF_ADD: &str = "0;32";
const COLOR_DIFF_REMOVE: &str = "0;31";
const COLOR_DIFF_LINES: &str = "0;36";

/// Lines of context around each diff hunk (Ansible's `DIFF_CONTEXT`).
const DIFF_CONTEXT: usize = 3;

/// When to colour the output (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// How the console output looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleOptions {
    /// Emit ANSI colours.
    pub color: bool,
    /// `-v` count: 1 shows result JSON, 2 adds task paths, 3 indents results and shows diffs
    /// and invocations inside them.
    pub verbosity: u8,
    /// Width that banners are padded to, minus one (Ansible's `columns`: 79 off a terminal).
    pub columns: usize,
}

impl Default for ConsoleOptions {
    fn default() -> Self {
        ConsoleOptions {
            color: false,
            verbosity: 0,
            columns: 79,
        }
    }
}

impl ConsoleOptions {
    /// Options for the process's stdout: colour per `choice` (`auto` colours only a terminal,
    /// and `NO_COLOR`/`ANSIBLE_NOCOLOR` turn it off, `ANSIBLE_FORCE_COLOR` on), and banners
    /// as wide as the terminal, as Ansible sizes them.
    pub fn for_stdout(choice: ColorChoice, verbosity: u8) -> Self {
        let tty = io::stdout().is_terminal();
        let env_set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                if env_set("NO_COLOR") || env_set("ANSIBLE_NOCOLOR") {
                    false
                } else {
                    tty || env_set("ANSIBLE_FORCE_COLOR")
                }
            }
        };
        let width = if tty {
            console::Term::stdout()
                .size_checked()
                .map(|(_, w)| w as usize)
                .unwrap_or(0)
        } else {
            0
        };
        ConsoleOptions {
            color,
            verbosity,
            columns: width.saturating_sub(1).max(79),
        }
    }
}

/// Renders events as ansible-playbook's default callback does.
pub struct ConsoleRenderer {
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    opts: ConsoleOptions,
    task_pos: Option<Pos>,
    /// Hosts whose loop items showed their diffs in the current task: the loop's summary
    /// then shows none of its own.
    item_diffs_shown: HashSet<String>,
    sources: HashMap<PathBuf, Option<Vec<String>>>,
    /// `[ERROR]` blocks and warnings already shown: Ansible's display prints each text once
    /// per run (the same failure on many hosts or items shows one block).
    shown_errors: HashSet<String>,
    shown_warnings: HashSet<String>,
}

impl ConsoleRenderer {
    /// A renderer writing results to `out` and warnings to `err`.
    pub fn new(
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
        opts: ConsoleOptions,
    ) -> Self {
        ConsoleRenderer {
            out,
            err,
            opts,
            task_pos: None,
            item_diffs_shown: HashSet::new(),
            sources: HashMap::new(),
            shown_errors: HashSet::new(),
            shown_warnings: HashSet::new(),
        }
    }

    /// A renderer on the process's stdout and stderr.
    pub fn stdio(opts: ConsoleOptions) -> Self {
        ConsoleRenderer::new(Box::new(io::stdout()), Box::new(io::stderr()), opts)
    }

    /// Prints `text` as Ansible's `Display.display` does: one trailing newline is kept or added,
    /// and colour is applied line by line.
    fn display(&mut self, text: &str, color: Option<&str>) {
        let body = text.strip_suffix('\n').unwrap_or(text);
        let mut line = match color {
            Some(c) if self.opts.color => stringc(body, c),
            _ => body.to_string(),
        };
        line.push('\n');
        // A closed stdout (`jig run ... | head`) must not abort the run.
        let _ = self.out.write_all(line.as_bytes());
    }

    fn warn(&mut self, message: &str) {
        let text = format!("[WARNING]: {message}");
        if !self.shown_warnings.insert(text.clone()) {
            return;
        }
        let mut line = if self.opts.color {
            stringc(&text, COLOR_WARN)
        } else {
            text
        };
        line.push('\n');
        let _ = self.err.write_all(line.as_bytes());
    }

    fn banner(&mut self, msg: &str) {
        let msg = msg.trim();
        let width = console::measure_text_width(msg);
        let stars = self.opts.columns.saturating_sub(width).max(3);
        self.display(&format!("\n{msg} {}", "*".repeat(stars)), None);
    }

    /// The `-vv` header of a playbook, printed before its first play as ansible-playbook does:
    /// a `PLAYBOOK: <file name>` banner and `<n> plays in <path>`.
    pub fn playbook_start(&mut self, path: &std::path::Path, plays: usize) {
        if self.opts.verbosity < 2 {
            return;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        self.banner(&format!("PLAYBOOK: {name}"));
        self.display(&format!("{plays} plays in {}", path.display()), None);
    }

    /// `jig check`'s closing lines after the recap: a `DRIFT SUMMARY` banner, one line per
    /// change (`host: task (source): path:lines`), one per unreachable or failed host, and the
    /// fleet's totals with the exit status.
    pub fn drift_summary(&mut self, report: &super::model::Report) {
        use super::model::HostStatus;
        // The recap already ends with a blank line.
        let title = "DRIFT SUMMARY";
        let stars = self.opts.columns.saturating_sub(title.len()).max(3);
        self.display(&format!("{title} {}", "*".repeat(stars)), None);
        for d in &report.drift {
            let item = d
                .item
                .as_ref()
                .map(|i| format!(" (item={i})"))
                .unwrap_or_default();
            let line = format!(
                "{}: {}{item} ({}): {}",
                d.host,
                d.task,
                d.source,
                d.location()
            );
            self.display(&line, Some(COLOR_CHANGED));
        }
        for h in &report.hosts {
            let (word, color) = match h.status {
                HostStatus::Unreachable => ("unreachable", COLOR_UNREACHABLE),
                HostStatus::Failed => ("failed", COLOR_ERROR),
                HostStatus::Drifted | HostStatus::Compliant => continue,
            };
            let tasks: Vec<String> = h
                .tasks
                .iter()
                .filter(|t| matches!(t.status, Status::Failed | Status::Unreachable))
                .map(|t| format!("{} ({})", t.task, t.source))
                .collect();
            let line = if tasks.is_empty() {
                format!("{}: {word}", h.name)
            } else {
                format!("{}: {word} at {}", h.name, tasks.join(", "))
            };
            self.display(&line, Some(color));
        }
        for e in &report.errors {
            let first = e.lines().next().unwrap_or_default();
            self.display(&format!("error: {first}"), Some(COLOR_ERROR));
        }
        let s = &report.summary;
        let verdict = match report.verdict {
            super::model::Verdict::Compliant => "in compliance",
            super::model::Verdict::Drift => "drift",
            super::model::Verdict::Unreachable => "unreachable hosts",
            super::model::Verdict::Error => "errors",
        };
        let plural =
            |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let line = format!(
            "{}: {} in compliance, {} drifted, {} unreachable, {} failed; {} would change; \
             exit status {} ({verdict})",
            plural(s.hosts, "host", "hosts"),
            s.compliant,
            s.drifted,
            s.unreachable,
            s.failed,
            plural(s.drift_tasks, "task", "tasks"),
            report.exit_code
        );
        let color = if report.exit_code == 0 {
            COLOR_OK
        } else {
            COLOR_CHANGED
        };
        self.display(&line, Some(color));
        let _ = self.out.flush();
    }

    fn on_play_start(&mut self, name: &str) {
        self.task_pos = None;
        self.item_diffs_shown.clear();
        let name = name.trim();
        if name.is_empty() {
            self.banner("PLAY");
        } else {
            self.banner(&format!("PLAY [{name}]"));
        }
    }

    fn on_task_start(&mut self, name: &str, pos: &Pos, handler: bool) {
        self.item_diffs_shown.clear();
        self.task_pos = Some(pos.clone());
        let prefix = if handler { "RUNNING HANDLER" } else { "TASK" };
        self.banner(&format!("{prefix} [{}]", name.trim()));
        let abs = absolute(pos);
        if self.opts.verbosity >= 2
            && let Some(file) = &abs.file
        {
            let path = if pos.line > 0 {
                format!("task path: {}:{}", file.display(), pos.line)
            } else {
                format!("task path: {}", file.display())
            };
            self.display(&path, Some(COLOR_DEBUG));
        }
    }

    fn on_result(&mut self, r: &TaskResult) {
        self.show_warnings(r);
        let label = host_label(r);
        match (&r.item_label, r.status) {
            (None, Status::Ok | Status::Changed) => {
                if r.status == Status::Changed {
                    self.show_diffs(&r.diffs);
                }
                let word = status_word(r.status);
                let mut msg = format!("{word}: [{label}]");
                self.append_dump(&mut msg, r);
                self.display(&msg, Some(status_color(r.status)));
            }
            (Some(item), Status::Ok | Status::Changed) => {
                // ansible-playbook 2.19 shows a changed item's diff just before its line,
                // whatever the later items do.
                if r.status == Status::Changed && !r.diffs.is_empty() {
                    self.show_diffs(&r.diffs);
                    self.item_diffs_shown.insert(r.host.clone());
                }
                let word = status_word(r.status);
                let mut msg = format!("{word}: [{label}] => (item={item})");
                self.append_dump(&mut msg, r);
                self.display(&msg, Some(status_color(r.status)));
            }
            (None, Status::Skipped) => {
                let mut msg = format!("skipping: [{}]", r.host);
                self.append_dump(&mut msg, r);
                self.display(&msg, Some(COLOR_SKIP));
            }
            (Some(item), Status::Skipped) => {
                let mut msg = format!("skipping: [{}] => (item={item}) ", r.host);
                self.append_dump(&mut msg, r);
                self.display(&msg, Some(COLOR_SKIP));
            }
            (None, Status::Failed | Status::Ignored) => {
                self.error_block(r);
                let msg = format!("fatal: [{label}]: FAILED! => {}", self.failed_dump(r));
                self.display(&msg, Some(COLOR_ERROR));
                if r.status == Status::Ignored {
                    self.display("...ignoring", Some(COLOR_SKIP));
                }
            }
            (Some(item), Status::Failed | Status::Ignored) => {
                self.error_block(r);
                let msg = format!("failed: [{label}] (item={item}) => {}", self.failed_dump(r));
                self.display(&msg, Some(COLOR_ERROR));
            }
            (_, Status::Unreachable) => self.unreachable(r),
        }
    }

    fn on_loop_done(&mut self, r: &TaskResult) {
        let items_showed_diffs = self.item_diffs_shown.remove(&r.host);
        if r.status == Status::Changed && !items_showed_diffs {
            self.show_diffs(&r.diffs);
        }
        match r.status {
            Status::Ok | Status::Changed | Status::Failed => {}
            Status::Skipped => {
                // Ansible drops the per-item `results` from the loop's summary line.
                let mut summary = r.clone();
                summary.result.remove("results");
                let mut msg = format!("skipping: [{}]", r.host);
                self.append_dump_of(&mut msg, &summary, true);
                self.display(&msg, Some(COLOR_SKIP));
            }
            Status::Ignored => self.display("...ignoring", Some(COLOR_SKIP)),
            Status::Unreachable => self.unreachable(r),
        }
    }

    fn unreachable(&mut self, r: &TaskResult) {
        self.error_block(r);
        // The connection's error reaches the result through 2.19's task error, whose message
        // the result's `msg` then carries: `Task failed: <why>`.
        let mut shown = r.clone();
        let why = shown
            .result
            .get("msg")
            .and_then(Json::as_str)
            .map(str::to_string)
            .or_else(|| r.msg.clone());
        if let Some(why) = why {
            let error = TaskError {
                source: FailureSource::Task,
                message: Some(why),
            };
            shown
                .result
                .insert("msg".into(), Json::String(error.headline()));
        }
        let msg = format!(
            "fatal: [{}]: UNREACHABLE! => {}",
            host_label(r),
            self.dump(&shown, false)
        );
        self.display(&msg, Some(COLOR_UNREACHABLE));
        if r.ignore_unreachable {
            self.display("...ignoring", Some(COLOR_SKIP));
        }
    }

    /// `FAILED - RETRYING: [web1]: name (2 retries left).`, with the attempt's result from
    /// `-vvv` (2.19 appends it without a space).
    fn on_retry(&mut self, task: &str, retries_left: u64, attempt: &TaskResult) {
        let mut msg = format!(
            "FAILED - RETRYING: [{}]: {task} ({retries_left} retries left).",
            host_label(attempt)
        );
        if self.opts.verbosity > 2 {
            msg.push_str("Result was: ");
            msg.push_str(&self.dump(attempt, false));
        }
        self.display(&msg, Some(COLOR_DEBUG));
    }

    fn on_recap(&mut self, stats: &IndexMap<String, HostStats>) {
        self.banner("PLAY RECAP");
        let mut hosts: Vec<&String> = stats.keys().collect();
        hosts.sort();
        for h in hosts {
            let t = &stats[h];
            let line = format!(
                "{} : {} {} {} {} {} {} {}",
                self.host_color(h, t),
                self.colorize("ok", t.ok, COLOR_OK),
                self.colorize("changed", t.changed, COLOR_CHANGED),
                self.colorize("unreachable", t.unreachable, COLOR_UNREACHABLE),
                self.colorize("failed", t.failed, COLOR_ERROR),
                self.colorize("skipped", t.skipped, COLOR_SKIP),
                self.colorize("rescued", t.rescued, COLOR_OK),
                self.colorize("ignored", t.ignored, COLOR_WARN),
            );
            // Check mode's own column, after Ansible's; absent otherwise (byte-identical).
            let line = if t.would_run > 0 {
                format!(
                    "{line} {}",
                    self.colorize("would_run", t.would_run, COLOR_SKIP)
                )
            } else {
                line
            };
            self.display(&line, None);
        }
        self.display("", None);
    }

    fn host_color(&self, host: &str, t: &HostStats) -> String {
        if !self.opts.color {
            return format!("{host:<26}");
        }
        let c = if t.failed != 0 || t.unreachable != 0 {
            COLOR_ERROR
        } else if t.changed != 0 {
            COLOR_CHANGED
        } else {
            COLOR_OK
        };
        // Ansible pads the coloured string, escapes included, to 37 characters.
        format!("{:<37}", stringc(host, c))
    }

    fn colorize(&self, lead: &str, num: u32, color: &str) -> String {
        let s = format!("{lead}={num:<4}");
        if num != 0 && self.opts.color {
            stringc(&s, color)
        } else {
            s
        }
    }

    fn show_warnings(&mut self, r: &TaskResult) {
        if let Some(Json::Array(ws)) = r.result.get("warnings") {
            for w in ws {
                let text = match w {
                    Json::String(s) => s.clone(),
                    other => pyfmt::item_label(other),
                };
                self.warn(&text);
            }
        }
    }

    /// ` => {json}` for verbose runs, and always for `debug`.
    fn append_dump(&mut self, msg: &mut String, r: &TaskResult) {
        self.append_dump_of(msg, r, false);
    }

    fn append_dump_of(&mut self, msg: &mut String, r: &TaskResult, loop_summary: bool) {
        if let Some(out) = &r.debug_output {
            let value = match out {
                Json::Object(_) => out.clone(),
                other => {
                    let mut m = Map::new();
                    m.insert("msg".into(), other.clone());
                    Json::Object(m)
                }
            };
            msg.push_str(" => ");
            msg.push_str(&pyfmt::dumps(&value, Some(4)));
        } else if self.opts.verbosity > 0 {
            msg.push_str(" => ");
            msg.push_str(&self.dump(r, loop_summary));
        }
    }

    /// A failed result's JSON: a result Ansible always shows in full (`assert`, a `debug` made
    /// to fail) is indented as it is on success, with what `debug` leaves out left out.
    fn failed_dump(&self, r: &TaskResult) -> String {
        match &r.debug_output {
            Some(Json::Object(shown)) => pyfmt::dumps(&Json::Object(shown.clone()), Some(4)),
            Some(other) => {
                let mut m = Map::new();
                m.insert("msg".into(), other.clone());
                pyfmt::dumps(&Json::Object(m), Some(4))
            }
            None => self.dump(r, false),
        }
    }

    /// The result as Ansible shows it: internal keys, `failed`/`skipped` (the status says it),
    /// warnings and exceptions removed; `invocation` and `diff` only from `-vvv`.
    fn dump(&self, r: &TaskResult, loop_summary: bool) -> String {
        let mut m: Map<String, Json> = r
            .result
            .iter()
            .filter(|(k, _)| !k.starts_with("_ansible_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for k in ["failed", "skipped", "exception", "warnings", "deprecations"] {
            m.remove(k);
        }
        if self.opts.verbosity < 3 {
            m.remove("invocation");
            m.remove("diff");
        }
        // Ansible's skipped loop items carry no `changed`; every other result does.
        let skipped_item = r.status == Status::Skipped && (r.item_label.is_some() || loop_summary);
        if !m.contains_key("changed") && !skipped_item {
            m.insert("changed".into(), Json::Bool(r.status == Status::Changed));
        }
        if let (false, Some(msg)) = (m.contains_key("msg"), &r.msg) {
            m.insert("msg".into(), Json::String(msg.clone()));
        }
        if r.status == Status::Unreachable {
            m.insert("unreachable".into(), Json::Bool(true));
        }
        let indent = (self.opts.verbosity > 2).then_some(4);
        pyfmt::dumps(&Json::Object(m), indent)
    }

    /// 2.19's `[ERROR]: Task failed: ...` block naming the task's file:line:column with the
    /// source lines leading to it; a block already shown in this run is not shown again.
    fn error_block(&mut self, r: &TaskResult) {
        let error = r.error.clone().unwrap_or_else(|| TaskError {
            source: FailureSource::Task,
            message: r.msg.clone().or_else(|| {
                r.result
                    .get("msg")
                    .and_then(Json::as_str)
                    .map(str::to_string)
            }),
        });
        let headline = error.headline();
        let mut text = format!("[ERROR]: {headline}\n");
        let mut context = false;
        if let Some(pos) = self.task_pos.clone()
            && pos.file.is_some()
        {
            // Ansible names the origin by its absolute path.
            text.push_str(&format!("Origin: {}\n", absolute(&pos)));
            context = true;
            if let Some(snippet) = self.snippet(&pos) {
                text.push('\n');
                text.push_str(&snippet);
            }
        }
        // Ansible ends a message of several lines with a blank line.
        if context || headline.contains('\n') {
            text.push('\n');
        }
        if !self.shown_errors.insert(text.clone()) {
            return;
        }
        self.display(&text, Some(COLOR_ERROR));
    }

    fn snippet(&mut self, pos: &Pos) -> Option<String> {
        let file = pos.file.as_ref()?;
        let lines = self
            .sources
            .entry(file.as_ref().clone())
            .or_insert_with(|| read_lines(file))
            .as_ref()?;
        snippet_of(lines, pos)
    }

    fn show_diffs(&mut self, diffs: &[Diff]) {
        let mut text = String::new();
        for d in diffs {
            text.push_str(&render_diff(d, self.opts.color));
        }
        if !text.is_empty() {
            self.display(&text, None);
        }
    }
}

impl Renderer for ConsoleRenderer {
    fn event(&mut self, event: &Event) {
        match event {
            Event::PlaybookStart { path, plays } => self.playbook_start(path, *plays),
            Event::PlayStart { name, .. } => self.on_play_start(name),
            Event::TaskStart { name, pos, handler } => self.on_task_start(name, pos, *handler),
            Event::Result(r) => self.on_result(r),
            Event::Retry {
                task,
                retries_left,
                attempt,
            } => self.on_retry(task, *retries_left, attempt),
            Event::LoopDone(r) => self.on_loop_done(r),
            Event::NoHosts { reason } => {
                if reason.to_ascii_lowercase().contains("no more hosts") {
                    self.banner("NO MORE HOSTS LEFT");
                } else {
                    self.display(&format!("skipping: {reason}"), Some(COLOR_SKIP));
                }
            }
            Event::Included {
                file,
                hosts,
                item_label,
            } => {
                let mut msg = format!("included: {file} for {}", hosts.join(", "));
                if let Some(item) = item_label {
                    msg.push_str(&format!(" => (item={item})"));
                }
                self.display(&msg, Some(COLOR_INCLUDED));
            }
            Event::Warning { message } => self.warn(message),
            Event::Recap { stats, .. } => self.on_recap(stats),
        }
    }

    fn finish(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Changed => "changed",
        _ => "ok",
    }
}

fn status_color(s: Status) -> &'static str {
    match s {
        Status::Changed => COLOR_CHANGED,
        _ => COLOR_OK,
    }
}

/// `web1` or `web1 -> db1` for delegated tasks.
fn host_label(r: &TaskResult) -> String {
    match &r.delegated_to {
        Some(d) if *d != r.host => format!("{} -> {d}", r.host),
        _ => r.host.clone(),
    }
}

/// `pos` with its file made absolute, as Ansible names task paths and error origins.
fn absolute(pos: &Pos) -> Pos {
    let mut shown = pos.clone();
    if let Some(file) = &pos.file
        && let Ok(abs) = std::path::absolute(file.as_ref())
    {
        shown.file = Some(std::sync::Arc::new(abs));
    }
    shown
}

fn read_lines(path: &std::path::Path) -> Option<Vec<String>> {
    std::fs::read_to_string(path).ok().map(|t| {
        t.lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect()
    })
}

/// The source lines leading to `pos` (up to three) with a caret under its column, as
/// Ansible 2.19 shows an error's origin:
///
/// ```text
///  8       file: path=/etc/x
///  9       notify: h1
/// 10     - name: cmd fail
///          ^ column 7
/// ```
pub fn source_snippet(pos: &Pos) -> Option<String> {
    let lines = read_lines(pos.file.as_ref()?)?;
    snippet_of(&lines, pos)
}

fn snippet_of(lines: &[String], pos: &Pos) -> Option<String> {
    // ansible-core's `SourceContext.from_origin`: two lines of context, lines cut to fit 120
    // columns with their label, a caret under the column (or a note when the line is not
    // there), an empty line with no space after its number.
    const WIDTH: usize = 120;
    const MARKER: &str = "...";
    let line = pos.line as usize;
    if line == 0 {
        return None;
    }
    if lines
        .first()
        .is_some_and(|l| l.starts_with("$ANSIBLE_VAULT;"))
    {
        return Some("(source not shown: content encrypted)\n".to_string());
    }
    if line > lines.len() {
        return Some("(source not shown: file truncated)\n".to_string());
    }
    let label = line.to_string().len();
    let max_len = WIDTH - label - 1;
    let mut usable = max_len;
    let mut out = String::new();
    let mut last = String::new();
    for n in line.saturating_sub(2).max(1)..=line {
        let mut text = lines[n - 1].replace('\t', " ");
        if text.chars().count() > max_len {
            text = text
                .chars()
                .take(max_len - MARKER.len())
                .collect::<String>()
                + MARKER;
            usable = max_len - MARKER.len();
        }
        let sep = if text.is_empty() { "" } else { " " };
        last = format!("{n:>label$}{sep}{text}");
        out.push_str(&last);
        out.push('\n');
    }
    let col = pos.column as usize;
    let pad = " ".repeat(label);
    if col == 0 {
        // No column known: the whole line is underlined.
        let underline = last.chars().count().saturating_sub(label + 1);
        out.push_str(&format!("{pad} {}\n", "^".repeat(underline)));
    } else if col <= usable {
        let text = format!("column {col}");
        let idx = col - 1;
        let marker = if idx + 2 + text.len() > max_len {
            format!("{}{text} ^", " ".repeat(idx.saturating_sub(text.len() + 1)))
        } else {
            format!("{}^ {text}", " ".repeat(idx))
        };
        out.push_str(&format!("{pad} {marker}\n"));
    }
    Some(out)
}

/// Ansible's `stringc`: each line wrapped in its own colour sequence.
fn stringc(text: &str, color: &str) -> String {
    text.split('\n')
        .map(|t| format!("\x1b[{color}m{t}\x1b[0m"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One diff as Ansible's `_get_diff` prints it, ending with a blank line when non-empty.
pub fn render_diff(diff: &Diff, color: bool) -> String {
    match diff {
        Diff::Text {
            before_header,
            after_header,
            before,
            after,
        } => {
            let bh = header("before", before_header);
            let ah = header("after", after_header);
            unified(&bh, &ah, before, after, color)
        }
        Diff::Fields {
            path,
            before,
            after,
        } => {
            let side = |fields: &IndexMap<String, String>| {
                let mut m = Map::new();
                m.insert("path".into(), Json::String(path.clone()));
                for (k, v) in fields {
                    m.insert(k.clone(), Json::String(v.clone()));
                }
                pyfmt::dumps(&Json::Object(m), Some(4)) + "\n"
            };
            unified("before", "after", &side(before), &side(after), color)
        }
        Diff::Summary(s) if s.ends_with('\n') => s.clone(),
        Diff::Summary(s) => format!("{s}\n"),
    }
}

fn header(side: &str, name: &str) -> String {
    if name.is_empty() {
        side.to_string()
    } else {
        format!("{side}: {name}")
    }
}

/// Python's `difflib.unified_diff` output with Ansible's colouring and "no newline" markers.
fn unified(
    before_header: &str,
    after_header: &str,
    before: &str,
    after: &str,
    color: bool,
) -> String {
    let lines = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s.split_inclusive('\n').map(str::to_string).collect();
        if let Some(last) = v.last_mut()
            && !last.ends_with('\n')
        {
            last.push_str("\n\\ No newline at end of file\n");
        }
        v
    };
    let old = lines(before);
    let new = lines(after);
    let old_refs: Vec<&str> = old.iter().map(String::as_str).collect();
    let new_refs: Vec<&str> = new.iter().map(String::as_str).collect();
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_slices(&old_refs, &new_refs);
    let groups = diff.grouped_ops(DIFF_CONTEXT);
    if groups.is_empty()
        || groups
            .iter()
            .all(|g| g.iter().all(|op| op.tag() == similar::DiffTag::Equal))
    {
        return String::new();
    }
    let mut out_lines: Vec<String> = vec![
        format!("--- {before_header}\n"),
        format!("+++ {after_header}\n"),
    ];
    for group in &groups {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let o = first.old_range().start..last.old_range().end;
        let n = first.new_range().start..last.new_range().end;
        out_lines.push(format!(
            "@@ -{} +{} @@\n",
            unified_range(o.start, o.end),
            unified_range(n.start, n.end)
        ));
        for op in group {
            match op.tag() {
                similar::DiffTag::Equal => {
                    for l in &old[op.old_range()] {
                        out_lines.push(format!(" {l}"));
                    }
                }
                similar::DiffTag::Delete => {
                    for l in &old[op.old_range()] {
                        out_lines.push(format!("-{l}"));
                    }
                }
                similar::DiffTag::Insert => {
                    for l in &new[op.new_range()] {
                        out_lines.push(format!("+{l}"));
                    }
                }
                similar::DiffTag::Replace => {
                    for l in &old[op.old_range()] {
                        out_lines.push(format!("-{l}"));
                    }
                    for l in &new[op.new_range()] {
                        out_lines.push(format!("+{l}"));
                    }
                }
            }
        }
    }
    let mut out = String::new();
    for line in out_lines {
        let c = if line.starts_with('+') {
            Some(COLOR_DIFF_ADD)
        } else if line.starts_with('-') {
            Some(COLOR_DIFF_REMOVE)
        } else if line.starts_with("@@") {
            Some(COLOR_DIFF_LINES)
        } else {
            None
        };
        match c {
            Some(c) if color => out.push_str(&stringc(&line, c)),
            _ => out.push_str(&line),
        }
    }
    out.push('\n');
    out
}

/// difflib's `_format_range_unified`.
fn unified_range(start: usize, stop: usize) -> String {
    let length = stop - start;
    let beginning = start + 1;
    match length {
        1 => format!("{beginning}"),
        0 => format!("{},0", beginning - 1),
        _ => format!("{beginning},{length}"),
    }
}

#[cfg(test)]
mod tests;

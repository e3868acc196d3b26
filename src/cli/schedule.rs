//! `jig schedule install|list|remove` (and the hidden `exec` the installed jobs run): jig runs
//! on a timer, on the controller, with report retention.
//!
//! The unit/cron text, retention and records are [`crate::schedule`]'s; this module picks the
//! locations (system or user, overridable with `--unit-dir`, `--cron-dir` and the
//! `JIG_SCHEDULE_ROOT` prefix), writes and removes files, talks to `systemctl` and `crontab`
//! when the job lives in the real locations, and runs a job's command in-process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::{Args, Subcommand};

use super::exit::ExitCode;
use super::{print_error, print_warning};
use crate::schedule::{self, Installed, Job, LastRun, Scope, When};

/// `jig schedule` subcommands.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ScheduleAction,
}

/// `jig schedule install|list|remove|exec`.
#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Install a job: a systemd service + timer, or a cron entry, running a jig command
    ///
    /// Examples:
    ///
    ///   jig schedule install drift --every 1h --keep 48 -- check site.yml -i prod --report /var/lib/jig/drift
    ///
    ///   jig schedule install nightly --on-calendar '*-*-* 03:00:00' -- check site.yml -i prod --report reports
    ///
    ///   jig schedule install drift --cron '*/30 * * * *' --keep 10 -- check site.yml -i prod --report reports
    #[command(verbatim_doc_comment)]
    Install(InstallArgs),
    /// List the installed jobs: name, kind, schedule, last run, command
    List(ScopeArgs),
    /// Remove a job: its units (stopped and disabled) or its cron entry
    Remove(RemoveArgs),
    /// Run a job's command now, as its timer does (report directory, retention, last run)
    #[command(hide = true)]
    Exec(ExecArgs),
}

/// Where jobs live.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Use the invoking user's scheduler (systemd --user, the user's crontab).
    ///
    /// The default is the system's (/etc/systemd/system, /etc/cron.d) when run as root, and the
    /// user's otherwise.
    #[arg(long = "user")]
    pub user: bool,
}

/// `jig schedule install` flags.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The job's name: letters, digits, '-' and '_' (units jig-NAME.service/.timer).
    ///
    /// Installing a name again replaces that job.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Run every DURATION (systemd timer): 30min, 1h, 1h30m, 1d.
    ///
    /// The first run is DURATION after the timer starts, then DURATION after each run.
    #[arg(long = "every", value_name = "DURATION", group = "when")]
    pub every: Option<String>,

    /// Run on a systemd calendar expression: daily, 'Mon..Fri 06:00', '*-*-* 03:00:00'.
    ///
    /// Missed runs (the machine was off) run at the next boot (Persistent=true).
    #[arg(long = "on-calendar", value_name = "SPEC", group = "when")]
    pub on_calendar: Option<String>,

    /// Run from cron on a five-field schedule ('m h dom mon dow') or @hourly, @daily...
    ///
    /// As root the entry is a file in /etc/cron.d; otherwise a marked block in your crontab.
    #[arg(long = "cron", value_name = "SCHEDULE", group = "when")]
    pub cron: Option<String>,

    /// Keep the newest N report directories (the command must have --report DIR).
    ///
    /// Each run writes DIR/<UTC timestamp>/ and points DIR/latest at it; older timestamped
    /// directories beyond N are deleted after the run.
    #[arg(long = "keep", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,

    /// Write the systemd units here instead of the scope's unit directory.
    ///
    /// Units written elsewhere are not enabled: load them yourself.
    #[arg(long = "unit-dir", value_name = "DIR")]
    pub unit_dir: Option<PathBuf>,

    /// Write the cron entry as a file in this directory instead of /etc/cron.d or a crontab.
    ///
    /// The file has a user field when installing for the system.
    #[arg(long = "cron-dir", value_name = "DIR")]
    pub cron_dir: Option<PathBuf>,

    /// Which scheduler.
    #[command(flatten)]
    pub scope: ScopeArgs,

    /// The jig command to run, after `--`: `check site.yml -i prod --report DIR`.
    ///
    /// It runs from the current directory, with this jig binary, each argument quoted.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `jig schedule remove` flags.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The job to remove.
    ///
    /// As `jig schedule list` names it.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Which scheduler.
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// `jig schedule exec` flags (written into units and cron entries by `install`).
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The job's name (names its last-run record).
    ///
    /// Written by `install`.
    #[arg(long = "name", value_name = "NAME")]
    pub name: String,

    /// Where the job's last run is recorded.
    ///
    /// Written by `install`.
    #[arg(long = "state-dir", value_name = "DIR")]
    pub state_dir: PathBuf,

    /// Keep the newest N report directories.
    ///
    /// Written by `install` from its --keep.
    #[arg(long = "keep", value_name = "N")]
    pub keep: Option<u32>,

    /// The jig command to run.
    ///
    /// Everything after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `jig schedule`.
pub fn execute(args: ScheduleArgs) -> ExitCode {
    let result = match args.action {
        ScheduleAction::Install(a) => install(a),
        ScheduleAction::List(a) => list(&a),
        ScheduleAction::Remove(a) => remove(&a),
        ScheduleAction::Exec(a) => return exec(a),
    };
    match result {
        Ok(()) => ExitCode::Ok,
        Err(e) => {
            print_error(&e);
            ExitCode::Error
        }
    }
}

/// The directories of one scope.
struct Locations {
    scope: Scope,
    unit_dir: PathBuf,
    /// `None`: the user's crontab.
    cron_dir: Option<PathBuf>,
    state_dir: PathBuf,
    /// The locations are the real ones (no override, no `JIG_SCHEDULE_ROOT`): install enables
    /// units with systemctl.
    real_units: bool,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl Locations {
    fn new(scope_args: &ScopeArgs, unit_dir: Option<&Path>, cron_dir: Option<&Path>) -> Self {
        let scope = if scope_args.user || !is_root() {
            Scope::User
        } else {
            Scope::System
        };
        let root = std::env::var_os("JIG_SCHEDULE_ROOT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let at = |p: PathBuf| match &root {
            Some(r) => r.join(p.strip_prefix("/").unwrap_or(&p)),
            None => p,
        };
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let xdg = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(default))
        };
        let (default_units, default_cron, state) = match scope {
            Scope::System => (
                PathBuf::from("/etc/systemd/system"),
                Some(PathBuf::from("/etc/cron.d")),
                PathBuf::from("/var/lib/jig/schedule"),
            ),
            Scope::User => (
                xdg("XDG_CONFIG_HOME", ".config").join("systemd/user"),
                None,
                xdg("XDG_STATE_HOME", ".local/state").join("jig/schedule"),
            ),
        };
        Locations {
            scope,
            real_units: unit_dir.is_none() && root.is_none(),
            unit_dir: unit_dir
                .map(Path::to_path_buf)
                .unwrap_or_else(|| at(default_units)),
            cron_dir: cron_dir
                .map(Path::to_path_buf)
                .or_else(|| default_cron.map(&at)),
            state_dir: at(state),
        }
    }

    fn systemctl(&self) -> Command {
        let mut c = Command::new("systemctl");
        if self.scope == Scope::User {
            c.arg("--user");
        }
        c.stdin(Stdio::null());
        c
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The program that edits the user's crontab (`JIG_CRONTAB` replaces `crontab`).
fn crontab_program() -> String {
    std::env::var("JIG_CRONTAB")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "crontab".into())
}

fn read_crontab(program: &str) -> Result<String, String> {
    let out = Command::new(program)
        .arg("-l")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{program} -l`: {e}"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    // "no crontab for USER": an empty crontab.
    if err.contains("no crontab") {
        return Ok(String::new());
    }
    Err(format!("`{program} -l` failed: {}", err.trim()))
}

fn write_crontab(program: &str, text: &str) -> Result<(), String> {
    let mut child = Command::new(program)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{program} -`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write to `{program} -`: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("`{program} -` failed: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} -` refused the new crontab: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            if is_root() {
                "root".into()
            } else {
                "nobody".into()
            }
        })
}

fn install(a: InstallArgs) -> Result<(), String> {
    schedule::validate_name(&a.name)?;
    let when = match (&a.every, &a.on_calendar, &a.cron) {
        (Some(e), _, _) => When::Every(e.clone()),
        (_, Some(c), _) => When::OnCalendar(c.clone()),
        (_, _, Some(c)) => When::Cron(c.clone()),
        _ => {
            return Err(
                "say when the job runs: --every DURATION, --on-calendar SPEC or --cron \
                 'm h dom mon dow'"
                    .into(),
            );
        }
    }
    .validated()?;
    if let When::OnCalendar(spec) = &when {
        check_calendar(spec)?;
    }
    if a.keep.is_some() && schedule::stamp_report(&mut a.command.clone(), "x").is_none() {
        return Err(
            "--keep needs a report directory to prune: add --report DIR to the command".into(),
        );
    }
    let mut parse = vec!["jig".to_string()];
    parse.extend(a.command.iter().cloned());
    if let Err(e) = <super::Cli as clap::Parser>::try_parse_from(&parse) {
        let first = e.to_string();
        print_warning(&format!(
            "this jig does not accept the scheduled command (`jig {}`): {}",
            a.command.join(" "),
            first
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
        ));
    }
    let loc = Locations::new(&a.scope, a.unit_dir.as_deref(), a.cron_dir.as_deref());
    let jig = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| format!("cannot find the jig binary's path: {e}"))?;
    let workdir =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let job = Job {
        name: a.name.clone(),
        scope: loc.scope,
        when: when.clone(),
        keep: a.keep,
        jig,
        workdir: workdir.clone(),
        command: a.command.clone(),
        state_dir: loc.state_dir.clone(),
    };
    // Installing again replaces the job: take the old one out first.
    let meta = schedule::installed_path(&loc.state_dir, &a.name);
    if meta.exists() {
        remove_job(&loc, &a.name)?;
    }
    let mut files = Vec::new();
    let mut crontab = None;
    let mut activated = false;
    match &when {
        When::Every(_) | When::OnCalendar(_) => {
            let service = loc.unit_dir.join(format!("jig-{}.service", a.name));
            let timer = loc.unit_dir.join(format!("jig-{}.timer", a.name));
            write_file(&service, &job.service_unit()?)?;
            write_file(&timer, &job.timer_unit()?)?;
            files.push(service);
            files.push(timer.clone());
            if loc.real_units {
                activated = enable_timer(&loc, &a.name);
            }
        }
        When::Cron(_) => match (&loc.cron_dir, a.cron_dir.is_some()) {
            (Some(dir), explicit) if explicit || loc.scope == Scope::System => {
                let user = (loc.scope == Scope::System).then(current_user);
                let path = dir.join(format!("jig-{}", a.name));
                write_file(&path, &job.cron_file(user.as_deref())?)?;
                files.push(path);
            }
            _ => {
                let program = crontab_program();
                let current = read_crontab(&program)?;
                let mut text = schedule::without_block(&current, &a.name);
                text.push_str(&job.crontab_block()?);
                write_crontab(&program, &text)?;
                crontab = Some(program);
            }
        },
    }
    let installed = Installed {
        name: a.name.clone(),
        scope: loc.scope,
        when: when.clone(),
        keep: a.keep,
        workdir,
        command: a.command.clone(),
        files: files.clone(),
        crontab,
        activated,
    };
    let text = serde_json::to_string_pretty(&installed).map_err(|e| e.to_string())?;
    write_file(&meta, &(text + "\n"))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "installed schedule {} ({}, {}): jig {}",
        a.name,
        when.kind(),
        when.describe(),
        a.command.join(" ")
    );
    for f in &files {
        let _ = writeln!(out, "  wrote {}", f.display());
    }
    if installed.crontab.is_some() {
        let _ = writeln!(out, "  added to your crontab");
    }
    if when.kind() == "systemd" && !activated {
        let user = if loc.scope == Scope::User {
            " --user"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  to start it: systemctl{user} daemon-reload && systemctl{user} enable --now jig-{}.timer",
            a.name
        );
    }
    Ok(())
}

/// Asks `systemd-analyze calendar` whether systemd accepts `spec`, when it is installed
/// (without it the timer itself reports a bad expression when it is loaded).
fn check_calendar(spec: &str) -> Result<(), String> {
    let Ok(out) = Command::new("systemd-analyze")
        .args(["calendar", "--", spec])
        .stdin(Stdio::null())
        .output()
    else {
        return Ok(());
    };
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "--on-calendar '{spec}' is not a systemd calendar expression ({}); see `man \
         systemd.time`, for example 'daily', 'Mon..Fri 06:00', '*-*-* 03:00:00'",
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// `systemctl daemon-reload` and `enable --now` the timer; a failure is a warning (the units
/// are written and can be started by hand).
fn enable_timer(loc: &Locations, name: &str) -> bool {
    let timer = format!("jig-{name}.timer");
    for args in [
        vec!["daemon-reload"],
        vec!["enable", "--now", timer.as_str()],
    ] {
        let ok = loc
            .systemctl()
            .args(&args)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            print_warning(&format!(
                "`systemctl {}` failed; the units are written: start the timer with \
                 `systemctl{} enable --now {timer}`",
                args.join(" "),
                if loc.scope == Scope::User {
                    " --user"
                } else {
                    ""
                }
            ));
            return false;
        }
    }
    true
}

fn list(a: &ScopeArgs) -> Result<(), String> {
    let loc = Locations::new(a, None, None);
    let jobs = schedule::list(&loc.state_dir);
    let mut out = std::io::stdout().lock();
    if jobs.is_empty() {
        let _ = writeln!(out, "no scheduled jobs ({})", loc.state_dir.display());
        return Ok(());
    }
    let rows: Vec<[String; 5]> = jobs
        .iter()
        .map(|(inst, last)| {
            let missing = inst.files.iter().any(|f| !f.exists());
            let kind = format!(
                "{}{}",
                inst.when.kind(),
                if missing { " (files missing)" } else { "" }
            );
            let last = match last {
                Some(l) => format!("{} exit {}", l.finished, l.exit_code),
                None => "never".into(),
            };
            let command = std::iter::once("jig".to_string())
                .chain(inst.command.iter().map(|w| crate::connection::quote(w)))
                .collect::<Vec<_>>()
                .join(" ");
            [inst.name.clone(), kind, inst.when.describe(), last, command]
        })
        .collect();
    let head = ["NAME", "KIND", "SCHEDULE", "LAST RUN", "COMMAND"].map(String::from);
    let mut widths = head.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in std::iter::once(&head).chain(rows.iter()) {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i + 1 == r.len() {
                    c.clone()
                } else {
                    format!("{c:w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  "));
    }
    Ok(())
}

fn remove(a: &RemoveArgs) -> Result<(), String> {
    schedule::validate_name(&a.name)?;
    let loc = Locations::new(&a.scope, None, None);
    let inst = remove_job(&loc, &a.name)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "removed schedule {}", inst.name);
    for f in &inst.files {
        let _ = writeln!(out, "  deleted {}", f.display());
    }
    Ok(())
}

/// Stops and deletes job `name`, returning what it was.
fn remove_job(loc: &Locations, name: &str) -> Result<Installed, String> {
    let meta = schedule::installed_path(&loc.state_dir, name);
    let text = std::fs::read_to_string(&meta).map_err(|_| {
        format!(
            "no schedule named '{name}' in {} (`jig schedule list{}` shows them)",
            loc.state_dir.display(),
            if loc.scope == Scope::User {
                " --user"
            } else {
                ""
            }
        )
    })?;
    let inst: Installed = serde_json::from_str(&text)
        .map_err(|e| format!("{}: a damaged schedule record: {e}", meta.display()))?;
    if inst.activated {
        let _ = loc
            .systemctl()
            .args(["disable", "--now", &format!("jig-{name}.timer")])
            .status();
    }
    for f in &inst.files {
        match std::fs::remove_file(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot delete {}: {e}", f.display())),
        }
    }
    if inst.activated {
        let _ = loc.systemctl().arg("daemon-reload").status();
    }
    if let Some(program) = &inst.crontab {
        let current = read_crontab(program)?;
        let text = schedule::without_block(&current, name);
        if text != current {
            write_crontab(program, &text)?;
        }
    }
    std::fs::remove_file(&meta).map_err(|e| format!("cannot delete {}: {e}", meta.display()))?;
    let _ = std::fs::remove_file(schedule::last_run_path(&loc.state_dir, name));
    Ok(inst)
}

/// Runs a job's command in this process: a fresh timestamped report directory, retention,
/// and the last-run record. Exits with the command's status.
fn exec(a: ExecArgs) -> ExitCode {
    let started = std::time::SystemTime::now();
    let mut command = a.command.clone();
    let mut report = None;
    let stamp = schedule::stamp(started);
    if let Some(base) = schedule::stamp_report(&mut a.command.clone(), &stamp) {
        match schedule::new_report_dir(&base, &stamp) {
            Ok(dir) => {
                // The directory may carry a `-N` suffix: point the command at the one made.
                let mut fixed = a.command.clone();
                schedule::stamp_report(
                    &mut fixed,
                    &dir.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or(stamp.clone()),
                );
                command = fixed;
                report = Some((base, dir));
            }
            Err(e) => {
                print_error(&format!(
                    "cannot create a report directory in {}: {e}",
                    base.display()
                ));
                return ExitCode::Error;
            }
        }
    }
    let code = super::main_with(std::iter::once("jig".to_string()).chain(command));
    if let Some((base, dir)) = &report {
        if let Err(e) = schedule::point_latest(base, dir) {
            print_warning(&format!("cannot update {}/latest: {e}", base.display()));
        }
        if let Some(keep) = a.keep
            && let Err(e) = schedule::prune(base, keep as usize)
        {
            print_warning(&format!(
                "cannot remove old reports in {}: {e}",
                base.display()
            ));
        }
    }
    let last = LastRun {
        started: schedule::rfc3339(started),
        finished: schedule::rfc3339(std::time::SystemTime::now()),
        exit_code: code.code(),
        report: report.map(|(_, d)| std::path::absolute(&d).unwrap_or(d)),
    };
    let record = schedule::last_run_path(&a.state_dir, &a.name);
    let written = serde_json::to_string_pretty(&last)
        .map_err(|e| e.to_string())
        .and_then(|t| write_file(&record, &(t + "\n")));
    if let Err(e) = written {
        print_warning(&format!("cannot record the run: {e}"));
    }
    code
}

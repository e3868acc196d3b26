//! Scheduled jig runs on the controller: systemd service + timer units or cron entries, report
//! retention, and a record of each job's last run.
//!
//! A job runs `jig schedule exec --name NAME --state-dir DIR [--keep N] -- COMMAND...` from its
//! working directory. `exec` (see [`stamp_report`] and [`prune`]) turns the command's
//! `--report DIR` into `DIR/<UTC timestamp>/`, points `DIR/latest` at it, keeps the newest N
//! timestamped directories, and records the run in `DIR/NAME.last-run.json` of the state
//! directory, which `jig schedule list` shows. What was installed is recorded beside it
//! (`NAME.json`, an [`Installed`]) so that `list` and `remove` need not parse unit files.
//!
//! Commands are written as one POSIX shell line built with [`crate::connection::quote`]
//! (`cd DIR && exec JIG schedule exec ...`): cron runs it with `/bin/sh`, systemd through
//! `/bin/sh -c` with the line escaped for systemd's own syntax ([`systemd_word`]).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::connection::quote::{Cmd, quote};

/// Whose scheduler: the system's (root) or the invoking user's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `/etc/systemd/system`, `/etc/cron.d`.
    System,
    /// `~/.config/systemd/user`, the user's crontab.
    User,
}

/// When a job runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// A systemd timer firing this long after it is started, then this long after each run
    /// (a systemd time span: `1h`, `30min`, `1h30m`, `2d`).
    Every(String),
    /// A systemd timer on a calendar expression (`daily`, `Mon *-*-* 06:00:00`).
    OnCalendar(String),
    /// A cron entry: five fields (`m h dom mon dow`) or `@daily` and friends.
    Cron(String),
}

impl When {
    /// Checks the expression, returning it normalised (`--every` and `--cron` spacing).
    pub fn validated(self) -> Result<When, String> {
        match self {
            When::Every(s) => parse_span(&s).map(|_| When::Every(s.trim().to_string())),
            When::OnCalendar(s) => {
                let t = s.trim();
                if t.is_empty() || t.contains(['\n', '\r']) {
                    Err(format!("--on-calendar '{s}' is not a calendar expression"))
                } else {
                    Ok(When::OnCalendar(t.to_string()))
                }
            }
            When::Cron(s) => validate_cron(&s).map(When::Cron),
        }
    }

    /// The scheduler that runs it.
    pub fn kind(&self) -> &'static str {
        match self {
            When::Every(_) | When::OnCalendar(_) => "systemd",
            When::Cron(_) => "cron",
        }
    }

    /// How `jig schedule list` shows it.
    pub fn describe(&self) -> String {
        match self {
            When::Every(s) => format!("every {s}"),
            When::OnCalendar(s) => format!("on-calendar {s}"),
            When::Cron(s) => format!("cron {s}"),
        }
    }
}

/// Seconds in a systemd-style time span made of `<n><unit>` parts.
pub fn parse_span(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "--every '{s}' is not a duration: use a number and a unit, like 30s, 15min, 1h, \
             1h30m, 2d, 1w"
        )
    };
    let text: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let secs = match unit {
            "s" | "sec" | "second" | "seconds" => 1,
            "m" | "min" | "minute" | "minutes" => 60,
            "h" | "hr" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 604_800,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if total == 0 {
        return Err(format!("--every '{s}' must be longer than zero"));
    }
    Ok(total)
}

fn validate_cron(s: &str) -> Result<String, String> {
    let t = s.trim();
    const MACROS: [&str; 8] = [
        "@reboot",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    if MACROS.contains(&t) {
        return Ok(t.to_string());
    }
    let fields: Vec<&str> = t.split_whitespace().collect();
    let ok_field = |f: &&str| {
        f.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-'))
    };
    if fields.len() != 5 || !fields.iter().all(ok_field) {
        return Err(format!(
            "--cron '{s}' is not a cron schedule: give five fields 'minute hour day-of-month \
             month day-of-week' (like '*/15 * * * *' or '0 6 * * 1-5') or one of {}",
            MACROS.join(", ")
        ));
    }
    Ok(fields.join(" "))
}

/// Checks a job name: it names unit files and cron.d files, which allow few characters.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "'{name}' cannot name a schedule: use 1 to 64 letters, digits, '-' and '_'"
        ));
    }
    Ok(())
}

/// A job to install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Its name (units `jig-NAME.service`/`.timer`, cron file `jig-NAME`).
    pub name: String,
    /// System or user scheduler.
    pub scope: Scope,
    /// When it runs.
    pub when: When,
    /// Keep the newest N report directories (needs `--report DIR` in the command).
    pub keep: Option<u32>,
    /// The jig binary, absolute.
    pub jig: PathBuf,
    /// The directory the command runs in, absolute.
    pub workdir: PathBuf,
    /// The jig command line after `jig` (`check site.yml -i inv --report reports`).
    pub command: Vec<String>,
    /// Where `exec` records the last run.
    pub state_dir: PathBuf,
}

impl Job {
    /// The arguments after the jig binary that the scheduler runs.
    pub fn exec_args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "schedule".into(),
            "exec".into(),
            "--name".into(),
            self.name.clone(),
            "--state-dir".into(),
            self.state_dir.display().to_string(),
        ];
        if let Some(k) = self.keep {
            a.push("--keep".into());
            a.push(k.to_string());
        }
        a.push("--".into());
        a.extend(self.command.iter().cloned());
        a
    }

    /// `exec JIG schedule exec ... -- COMMAND`, every word quoted.
    fn exec_line(&self) -> String {
        let mut c = Cmd::empty();
        c.raw("exec").arg(&self.jig.display().to_string());
        c.args(self.exec_args());
        c.into_string()
    }

    /// The whole shell line: `cd WORKDIR && exec JIG schedule exec ...`.
    pub fn shell_line(&self) -> String {
        format!(
            "cd {} && {}",
            quote(&self.workdir.display().to_string()),
            self.exec_line()
        )
    }

    /// The systemd service unit.
    pub fn service_unit(&self) -> Result<String, String> {
        no_newlines(&self.workdir.display().to_string(), "the working directory")?;
        Ok(format!(
            "# Written by `jig schedule install {name}`; remove with `jig schedule remove {name}`.\n\
             [Unit]\n\
             Description=jig scheduled run: {name}\n\
             Wants=network-online.target\n\
             After=network-online.target\n\
             \n\
             [Service]\n\
             Type=oneshot\n\
             WorkingDirectory={wd}\n\
             ExecStart=/bin/sh -c {line}\n",
            name = self.name,
            wd = self.workdir.display().to_string().replace('%', "%%"),
            line = systemd_word(&self.exec_line()),
        ))
    }

    /// The systemd timer unit.
    pub fn timer_unit(&self) -> Result<String, String> {
        let when = match &self.when {
            When::Every(span) => format!("OnActiveSec={span}\nOnUnitActiveSec={span}\n"),
            When::OnCalendar(spec) => format!("OnCalendar={spec}\nPersistent=true\n"),
            When::Cron(_) => return Err("a cron schedule has no systemd timer".into()),
        };
        Ok(format!(
            "# Written by `jig schedule install {name}`; remove with `jig schedule remove {name}`.\n\
             [Unit]\n\
             Description=jig scheduled run: {name} ({desc})\n\
             \n\
             [Timer]\n\
             {when}\
             Unit=jig-{name}.service\n\
             \n\
             [Install]\n\
             WantedBy=timers.target\n",
            name = self.name,
            desc = self.when.describe().replace('%', "%%"),
        ))
    }

    /// The cron line: five fields, the user when `with_user` (cron.d), and the shell line with
    /// `%` escaped (cron turns a bare `%` into a newline).
    pub fn cron_line(&self, with_user: Option<&str>) -> Result<String, String> {
        let When::Cron(spec) = &self.when else {
            return Err("a systemd schedule has no cron line".into());
        };
        let line = self.shell_line();
        no_newlines(&line, "a cron command")?;
        let user = with_user.map(|u| format!("{u} ")).unwrap_or_default();
        Ok(format!("{spec} {user}{}", line.replace('%', "\\%")))
    }

    /// The `/etc/cron.d` (or `--cron-dir`) file.
    pub fn cron_file(&self, with_user: Option<&str>) -> Result<String, String> {
        Ok(format!(
            "# Written by `jig schedule install {name}`; remove with `jig schedule remove {name}`.\n\
             SHELL=/bin/sh\n\
             {line}\n",
            name = self.name,
            line = self.cron_line(with_user)?
        ))
    }

    /// The block `jig schedule install` puts in a user's crontab.
    pub fn crontab_block(&self) -> Result<String, String> {
        Ok(format!(
            "{}\n{}\n{}\n",
            block_begin(&self.name),
            self.cron_line(None)?,
            block_end(&self.name)
        ))
    }
}

fn no_newlines(s: &str, what: &str) -> Result<(), String> {
    if s.contains(['\n', '\r']) {
        return Err(format!(
            "{what} cannot contain a line break (a scheduler reads one line): {s:?}"
        ));
    }
    Ok(())
}

fn block_begin(name: &str) -> String {
    format!("# BEGIN jig schedule {name}")
}

fn block_end(name: &str) -> String {
    format!("# END jig schedule {name}")
}

/// `text` with the block of job `name` removed.
pub fn without_block(text: &str, name: &str) -> String {
    let (begin, end) = (block_begin(name), block_end(name));
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line == begin {
            inside = true;
        } else if inside && line == end {
            inside = false;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// One systemd command-line word holding `s`: double-quoted, with backslash, quote and line
/// breaks escaped, `%` (specifiers) doubled and `$` (variables) doubled.
pub fn systemd_word(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What `jig schedule install` wrote, kept as `NAME.json` in the state directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// The job's name.
    pub name: String,
    /// System or user scheduler.
    pub scope: Scope,
    /// When it runs.
    pub when: When,
    /// `--keep`.
    pub keep: Option<u32>,
    /// The working directory.
    pub workdir: PathBuf,
    /// The jig command (after `jig`).
    pub command: Vec<String>,
    /// Files written (units or cron file).
    pub files: Vec<PathBuf>,
    /// The program whose crontab holds the job's block (`crontab`), for a user cron job.
    pub crontab: Option<String>,
    /// `install` enabled the timer with systemctl (so `remove` disables it).
    #[serde(default)]
    pub activated: bool,
}

/// The record of a job's last run, `NAME.last-run.json` in the state directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// When it finished.
    pub finished: String,
    /// jig's exit status.
    pub exit_code: i32,
    /// The report directory of this run, if the command writes one.
    pub report: Option<PathBuf>,
}

/// The metadata file of job `name`.
pub fn installed_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join(format!("{name}.json"))
}

/// The last-run file of job `name`.
pub fn last_run_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join(format!("{name}.last-run.json"))
}

/// Every job recorded in `state_dir`, by name, with its last run when known.
pub fn list(state_dir: &Path) -> Vec<(Installed, Option<LastRun>)> {
    let Ok(entries) = std::fs::read_dir(state_dir) else {
        return Vec::new();
    };
    let mut out: Vec<(Installed, Option<LastRun>)> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.ends_with(".json") && !n.ends_with(".last-run.json")
        })
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            let inst: Installed = serde_json::from_str(&text).ok()?;
            let last = std::fs::read_to_string(last_run_path(state_dir, &inst.name))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            Some((inst, last))
        })
        .collect();
    out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    out
}

/// Finds the command's `--report DIR` (or `--report=DIR`) and replaces DIR with
/// `DIR/<stamp>`, returning DIR. Arguments after a `--` are left alone.
pub fn stamp_report(args: &mut [String], stamp: &str) -> Option<PathBuf> {
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--" {
            return None;
        }
        if args[i] == "--report" && i + 1 < args.len() {
            let base = PathBuf::from(&args[i + 1]);
            args[i + 1] = base.join(stamp).display().to_string();
            return Some(base);
        }
        if let Some(v) = args[i].strip_prefix("--report=") {
            let base = PathBuf::from(v);
            args[i] = format!("--report={}", base.join(stamp).display());
            return Some(base);
        }
        i += 1;
    }
    None
}

/// A timestamp directory name of [`stamp`]'s shape, optionally with a `-N` suffix.
fn is_stamp(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && (b.len() == 16
            || (b[16] == b'-' && b.len() > 17 && b[17..].iter().all(u8::is_ascii_digit)))
}

/// Removes all but the newest `keep` timestamped report directories of `dir` (other entries
/// are never touched), returning those removed.
pub fn prune(dir: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut stamped: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_stamp(n))
        .collect();
    // Same-second runs get `-N` suffixes; order them after the bare stamp.
    stamped.sort_by_key(|n| {
        let (base, n) = n.split_once('-').unwrap_or((n, "0"));
        (base.to_string(), n.parse::<u64>().unwrap_or(0))
    });
    let excess = stamped.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for name in &stamped[..excess] {
        let p = dir.join(name);
        std::fs::remove_dir_all(&p)?;
        removed.push(p);
    }
    Ok(removed)
}

/// A fresh report directory `base/<stamp>` (`-1`, `-2`... when runs share a second), created.
pub fn new_report_dir(base: &Path, stamp: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(base)?;
    let mut n = 0;
    loop {
        let name = if n == 0 {
            stamp.to_string()
        } else {
            format!("{stamp}-{n}")
        };
        let p = base.join(&name);
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Points `base/latest` at `target` (a sibling directory), replacing it atomically.
pub fn point_latest(base: &Path, target: &Path) -> std::io::Result<()> {
    let Some(name) = target.file_name() else {
        return Ok(());
    };
    let tmp = base.join(format!(".latest.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(name, &tmp)?;
    std::fs::rename(&tmp, base.join("latest"))
}

/// The civil UTC date and time of `t`: (year, month, day, hour, minute, second).
fn civil(t: SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (sod / 3600) as u32,
        (sod % 3600 / 60) as u32,
        (sod % 60) as u32,
    )
}

/// `2026-11-27T00:25:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `20261127T002500Z`: a report directory name that sorts by time.
pub fn stamp(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_civil_time() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_480_000);
        assert_eq!(rfc3339(t), "2026-11-24T00:26:40Z");
        assert_eq!(stamp(t), "20261124T002640Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2024-02-29 exists.
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_709_164_800)),
            "2024-02-29T00:00:00Z"
        );
    }

    #[test]
    fn spans_and_cron_schedules_are_checked() {
        assert_eq!(parse_span("1h").unwrap(), 3600);
        assert_eq!(parse_span("1h 30min").unwrap(), 5400);
        assert_eq!(parse_span("2d").unwrap(), 172_800);
        assert!(parse_span("").is_err());
        assert!(parse_span("h").is_err());
        assert!(parse_span("5 parsecs").is_err());
        assert!(parse_span("0s").is_err());
        assert!(parse_span("1h; rm -rf /").is_err());
        assert_eq!(
            When::Cron("*/15  * * * 1-5".into()).validated().unwrap(),
            When::Cron("*/15 * * * 1-5".into())
        );
        assert!(When::Cron("@daily".into()).validated().is_ok());
        assert!(When::Cron("* * * *".into()).validated().is_err());
        assert!(
            When::Cron("* * * * * $(reboot)".into())
                .validated()
                .is_err()
        );
        assert!(
            When::OnCalendar("daily\nExecStart=x".into())
                .validated()
                .is_err()
        );
        assert!(validate_name("nightly-check_2").is_ok());
        assert!(validate_name("a.b").is_err());
        assert!(validate_name("../x").is_err());
    }

    #[test]
    fn the_report_argument_gets_a_timestamp() {
        let mut a: Vec<String> = ["check", "site.yml", "--report", "out dir"]
            .map(String::from)
            .into();
        assert_eq!(
            stamp_report(&mut a, "20260101T000000Z"),
            Some(PathBuf::from("out dir"))
        );
        assert_eq!(a[3], "out dir/20260101T000000Z");
        let mut b: Vec<String> = ["check", "--report=/r"].map(String::from).into();
        assert_eq!(stamp_report(&mut b, "S"), Some(PathBuf::from("/r")));
        assert_eq!(b[1], "--report=/r/S");
        let mut c: Vec<String> = ["run", "x.yml"].map(String::from).into();
        assert_eq!(stamp_report(&mut c, "S"), None);
    }

    #[test]
    fn retention_keeps_the_newest_timestamped_directories_only() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_795_480_000);
        let mut made = Vec::new();
        for i in [0u64, 0, 60, 3600] {
            made.push(new_report_dir(base, &stamp(t0 + Duration::from_secs(i))).unwrap());
        }
        assert!(made[1].ends_with("20261124T002640Z-1"));
        std::fs::create_dir(base.join("keep-me")).unwrap();
        std::fs::write(base.join("20000101T000000Z"), "a file, not a report").unwrap();
        point_latest(base, &made[3]).unwrap();
        let removed = prune(base, 2).unwrap();
        assert_eq!(removed, vec![made[0].clone(), made[1].clone()]);
        let mut left: Vec<String> = std::fs::read_dir(base)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![
                "20000101T000000Z",
                "20261124T002740Z",
                "20261124T012640Z",
                "keep-me",
                "latest"
            ]
        );
        assert_eq!(
            std::fs::read_link(base.join("latest")).unwrap(),
            PathBuf::from("20261124T012640Z")
        );
    }

    #[test]
    fn systemd_words_escape_quotes_specifiers_and_variables() {
        assert_eq!(
            systemd_word("cd '/a b' && echo \"$HOME\" 50% \\"),
            "\"cd '/a b' && echo \\\"$$HOME\\\" 50%% \\\\\""
        );
    }

    #[test]
    fn crontab_blocks_are_replaced_and_removed_alone() {
        let text = "MAILTO=x\n# BEGIN jig schedule a\n1 * * * * old\n# END jig schedule a\n\
                    # BEGIN jig schedule ab\n2 * * * * keep\n# END jig schedule ab\n5 * * * * mine\n";
        assert_eq!(
            without_block(text, "a"),
            "MAILTO=x\n# BEGIN jig schedule ab\n2 * * * * keep\n# END jig schedule ab\n\
             5 * * * * mine\n"
        );
    }
}

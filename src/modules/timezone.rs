//! The `timezone` module (community.general.timezone): the system time zone and whether the
//! hardware clock keeps UTC or local time, on Linux hosts.
//!
//! Two of community.general's strategies, the ones Debian-family hosts get:
//!
//! - **systemd**, when `timedatectl` runs: `timedatectl status` is read, `set-timezone` and
//!   `set-local-rtc` change it;
//! - **Debian without systemd** (`dpkg-reconfigure` present): the zone is the first word of
//!   `/etc/timezone`, cross-checked with the `/etc/localtime` link; it is set by rewriting
//!   `/etc/timezone`, `ln -sf /usr/share/zoneinfo/ZONE /etc/localtime` and
//!   `dpkg-reconfigure --frontend noninteractive tzdata`. The clock mode is `UTC=` of
//!   `/etc/default/rcS` and the last line of `/etc/adjtime`, set with `hwclock --systohc`.
//!
//! One probe reads everything; the apply script makes the changes and reads the state again in
//! the same round trip, so the result is checked as Ansible checks it ("still not desired
//! state"). Where the host has no hardware clock (no `/dev/rtc`: containers, the test bed),
//! `hwclock` cannot run: jig records the mode in `/etc/adjtime` itself and says so in a warning,
//! where Ansible fails.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::remote::{self, Frames};
use super::textfile::{Stop, add_warnings, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The configuration files of the Debian strategy.
const TIMEZONE_FILE: &str = "/etc/timezone";
const RCS_FILE: &str = "/etc/default/rcS";
const ADJTIME_FILE: &str = "/etc/adjtime";
const ZONEINFO: &str = "/usr/share/zoneinfo/";

/// `/etc/localtime` as the probe found it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Localtime {
    /// Missing.
    #[default]
    Absent,
    /// A symbolic link to `target`; `exists` when it resolves.
    Link {
        /// The link's text.
        target: String,
        /// The link is not dangling.
        exists: bool,
    },
    /// A file (or anything not a link); `same` when its bytes equal the planned zone's file.
    File {
        /// Equal to `/usr/share/zoneinfo/NAME`.
        same: bool,
    },
}

/// What the probe found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probed {
    /// `timedatectl` exists and runs.
    pub systemd: bool,
    /// The path of `timedatectl` (for messages).
    pub timedatectl: String,
    /// `timedatectl status` (systemd only).
    pub status: String,
    /// `/usr/share/zoneinfo/NAME` is a file.
    pub zone_file: bool,
    /// `dpkg-reconfigure` exists (Debian).
    pub dpkg_reconfigure: bool,
    /// The path of `hwclock`, if any.
    pub hwclock: Option<String>,
    /// `/etc/timezone`.
    pub timezone: Option<String>,
    /// `/etc/localtime`.
    pub localtime: Localtime,
    /// `/etc/default/rcS`.
    pub rcs: Option<String>,
    /// `/etc/adjtime`.
    pub adjtime: Option<String>,
    /// A hardware clock device exists.
    pub rtc: bool,
}

/// What the arguments ask for (`None`: leave as it is).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// `hwclock`: `UTC` or `local`.
    pub hwclock: Option<String>,
    /// `name`: the zone.
    pub name: Option<String>,
}

/// The probe. `$1` is the planned zone ('' when only `hwclock` is managed).
const PROBE_BODY: &str = r#"jig_tzfile() { if [ -f "$1" ]; then printf 'F\0'; jig_head "$1"; else printf 'A\0'; fi; }
s=0
t=$(command -v timedatectl 2>/dev/null) && "$t" >/dev/null 2>&1 && s=1
printf '%s\0%s\0' "$s" "$t"
if [ "$s" = 1 ]; then LC_ALL=C "$t" status 2>/dev/null; fi; printf '\0'
if [ -n "$1" ] && [ -f "/usr/share/zoneinfo/$1" ]; then printf 1; fi; printf '\0'
command -v dpkg-reconfigure >/dev/null 2>&1 && printf 1; printf '\0'
command -v hwclock 2>/dev/null | tr -d '\n'; printf '\0'
jig_tzfile /etc/timezone
if [ -L /etc/localtime ]; then
  printf L; [ -e /etc/localtime ] && printf E; printf '\0'; readlink /etc/localtime | tr -d '\n'; printf '\0'
elif [ -e /etc/localtime ]; then
  printf 'F\0'; [ -n "$1" ] && cmp -s /etc/localtime "/usr/share/zoneinfo/$1" && printf 1; printf '\0'
else
  printf 'A\0\0'
fi
jig_tzfile /etc/default/rcS
jig_tzfile /etc/adjtime
r=0; for d in /dev/rtc /dev/rtc0 /dev/misc/rtc; do [ -e "$d" ] && r=1; done; printf '%s\0' "$r"
"#;

/// The probe script for zone `name` ('' for none).
pub fn probe_script(name: &str) -> String {
    remote::script(&[name], PROBE_BODY)
}

fn file_record(f: &mut Frames<'_>) -> Option<Option<String>> {
    match f.next_record()? {
        b"F" => Some(Some(String::from_utf8_lossy(f.sized()?).into_owned())),
        b"A" => Some(None),
        _ => None,
    }
}

/// Parses the probe's output.
pub fn parse_probe(out: &[u8]) -> Option<Probed> {
    let mut f = Frames::new(out);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let systemd = f.next_record()? == b"1";
    let timedatectl = text(f.next_record()?);
    let status = text(f.next_record()?);
    let zone_file = f.next_record()? == b"1";
    let dpkg_reconfigure = f.next_record()? == b"1";
    let hwclock = Some(text(f.next_record()?)).filter(|s| !s.is_empty());
    let timezone = file_record(&mut f)?;
    let kind = f.next_record()?.to_vec();
    let extra = text(f.next_record()?);
    let localtime = match kind.as_slice() {
        b"L" | b"LE" => Localtime::Link {
            target: extra,
            exists: kind == b"LE",
        },
        b"F" => Localtime::File { same: extra == "1" },
        _ => Localtime::Absent,
    };
    let rcs = file_record(&mut f)?;
    let adjtime = file_record(&mut f)?;
    let rtc = f.next_record()? == b"1";
    Some(Probed {
        systemd,
        timedatectl,
        status,
        zone_file,
        dpkg_reconfigure,
        hwclock,
        timezone,
        localtime,
        rcs,
        adjtime,
        rtc,
    })
}

/// Python's `re.search(r'^PREFIX\s*:\s*([^\s]+)', text, re.MULTILINE)` for the lines of
/// `timedatectl status`, where PREFIX may be preceded by blanks.
fn status_field(status: &str, labels: &[&str]) -> Option<String> {
    status.split('\n').find_map(|line| {
        let rest = line.trim_start();
        let rest = labels.iter().find_map(|l| rest.strip_prefix(l))?;
        let rest = rest.trim_start().strip_prefix(':')?.trim_start();
        let word: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        (!word.is_empty()).then_some(word)
    })
}

/// Ansible's reading of `key` (`name` or `hwclock`) from `timedatectl status`.
pub fn systemd_value(status: &str, key: &str) -> Result<String, String> {
    let found = match key {
        "name" => status_field(status, &["Time zone", "Timezone"]),
        _ => status_field(status, &["RTC in local TZ"]),
    };
    let v = found.ok_or_else(|| format!("cannot read the {key} from `timedatectl status`"))?;
    if key == "hwclock" {
        let local = crate::modules::args::parse_bool(&Json::String(v.clone()))
            .ok_or_else(|| format!("The value '{v}' is not a valid boolean."))?;
        return Ok(if local { "local" } else { "UTC" }.into());
    }
    Ok(v)
}

/// The first line of `/etc/timezone` that starts with a non-blank, its first word
/// (`^([^\s]+)` with `re.MULTILINE`).
pub fn timezone_word(text: &str) -> Option<String> {
    text.split('\n').find_map(|line| {
        let word: String = line.chars().take_while(|c| !c.is_whitespace()).collect();
        (!word.is_empty()).then_some(word)
    })
}

/// `^UTC\s*=\s*([^\s]+)` with `re.MULTILINE` (the blanks may span lines, as in Python).
pub fn rcs_utc(text: &str) -> Option<String> {
    let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1));
    starts.into_iter().find_map(|at| {
        let rest = text[at..].strip_prefix("UTC")?;
        let rest = rest.trim_start().strip_prefix('=')?.trim_start();
        let word: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        (!word.is_empty()).then_some(word)
    })
}

/// The `UTC`/`LOCAL` line of `/etc/adjtime` (`^(UTC|LOCAL)$`), as Ansible reports it.
pub fn adjtime_mode(text: &str) -> String {
    match text.split('\n').find(|l| *l == "UTC" || *l == "LOCAL") {
        Some("LOCAL") => "local".into(),
        _ => "UTC".into(),
    }
}

/// The zone a `/etc/localtime` link names (`(?:/(?:usr/share|etc)/zoneinfo/)(.*)`).
pub fn link_zone(target: &str) -> Option<String> {
    let line = target.split('\n').next().unwrap_or_default();
    let a = line.find("/usr/share/zoneinfo/").map(|i| (i, 20));
    let b = line.find("/etc/zoneinfo/").map(|i| (i, 14));
    let (i, n) = match (a, b) {
        (Some(x), Some(y)) => {
            if x.0 <= y.0 {
                x
            } else {
                y
            }
        }
        (x, y) => x.or(y)?,
    };
    Some(line[i + n..].to_string())
}

/// The current zone by the Debian strategy, compared with `planned` as Ansible does: a value
/// equal to the plan is only believed when `/etc/localtime` agrees.
pub fn debian_name(p: &Probed, planned: &str) -> String {
    let value = p
        .timezone
        .as_deref()
        .and_then(timezone_word)
        .unwrap_or_else(|| "n/a".into());
    if value != planned {
        return value;
    }
    match &p.localtime {
        Localtime::Link {
            target,
            exists: true,
        } => match link_zone(target) {
            Some(z) if z != planned => z,
            Some(_) => value,
            None => "n/a".into(),
        },
        Localtime::Link { exists: false, .. } => "n/a".into(),
        Localtime::File { same: true } => value,
        Localtime::File { same: false } | Localtime::Absent => "n/a".into(),
    }
}

/// The current clock mode by the Debian strategy: `/etc/default/rcS`, and `/etc/adjtime`
/// when that already agrees with the plan.
pub fn debian_hwclock(p: &Probed, planned: &str) -> Result<String, String> {
    let value = match p.rcs.as_deref().and_then(rcs_utc) {
        None => "n/a".to_string(),
        Some(v) => {
            let utc = crate::modules::args::parse_bool(&Json::String(v.clone()))
                .ok_or_else(|| format!("The value '{v}' is not a valid boolean."))?;
            if utc { "UTC" } else { "local" }.to_string()
        }
    };
    if value == planned {
        return Ok(p
            .adjtime
            .as_deref()
            .map(adjtime_mode)
            .unwrap_or("UTC".into()));
    }
    Ok(value)
}

/// Ansible's `_edit_file`: every line that `matches` is removed and `line` put where the
/// first one was (or first in the file).
pub fn edit_lines(text: &str, matches: impl Fn(&str) -> bool, line: &str) -> (String, usize) {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let hits: Vec<usize> = (0..lines.len()).filter(|&i| matches(lines[i])).collect();
    let at = hits.first().copied().unwrap_or(0);
    for &i in hits.iter().rev() {
        lines.remove(i);
    }
    lines.insert(at.min(lines.len()), line);
    (lines.concat(), hits.len())
}

/// `/etc/adjtime` recording `mode` (`UTC`/`local`): its `UTC`/`LOCAL` line replaced, or the
/// file `hwclock --systohc` would write on a host that never had one.
pub fn adjtime_with(text: Option<&str>, mode: &str) -> String {
    let word = if mode == "local" { "LOCAL" } else { "UTC" };
    match text {
        Some(t) if t.split('\n').any(|l| l == "UTC" || l == "LOCAL") => t
            .split_inclusive('\n')
            .map(|l| match l.strip_suffix('\n').unwrap_or(l) {
                "UTC" | "LOCAL" => {
                    if l.ends_with('\n') {
                        format!("{word}\n")
                    } else {
                        word.to_string()
                    }
                }
                _ => l.to_string(),
            })
            .collect(),
        Some(t) if t.split('\n').filter(|l| !l.is_empty()).count() >= 2 => {
            let mut t = t.to_string();
            if !t.ends_with('\n') {
                t.push('\n');
            }
            let mut lines: Vec<&str> = t.split_inclusive('\n').take(2).collect();
            let tail = format!("{word}\n");
            lines.push(&tail);
            lines.concat()
        }
        _ => format!("0.0 0 0.0\n0\n{word}\n"),
    }
}

/// The strategy for this host, or why jig cannot manage its time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `timedatectl`.
    Systemd,
    /// `/etc/timezone`, `/etc/localtime`, `dpkg-reconfigure`, `hwclock`.
    Debian,
}

/// Picks the strategy as community.general does on Linux.
pub fn choose(p: &Probed) -> Result<Strategy, String> {
    if p.systemd {
        return Ok(Strategy::Systemd);
    }
    if p.hwclock.is_none() {
        return Err("Failed to find required executable \"hwclock\" in paths: \
                    /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            .into());
    }
    if !p.dpkg_reconfigure {
        return Err(
            "timezone: without systemd, jig manages the time zone on Debian-family \
                    hosts only (dpkg-reconfigure was not found)"
                .into(),
        );
    }
    Ok(Strategy::Debian)
}

/// The values Ansible reads for each managed key (`hwclock` then `name`).
pub fn current(
    strategy: Strategy,
    p: &Probed,
    want: &Wanted,
) -> Result<IndexMap<&'static str, String>, String> {
    let mut out = IndexMap::new();
    if let Some(h) = &want.hwclock {
        let v = match strategy {
            Strategy::Systemd => systemd_value(&p.status, "hwclock")?,
            Strategy::Debian => debian_hwclock(p, h)?,
        };
        out.insert("hwclock", v);
    }
    if let Some(n) = &want.name {
        let v = match strategy {
            Strategy::Systemd => systemd_value(&p.status, "name")?,
            Strategy::Debian => debian_name(p, n),
        };
        out.insert("name", v);
    }
    Ok(out)
}

/// The apply script's commands (run before the probe is repeated) and the messages Ansible
/// reports for them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Apply {
    /// Shell commands, one per line, each stopping the script on failure.
    pub script: String,
    /// `msg` lines.
    pub msgs: Vec<String>,
    /// Warnings (hardware clock not set).
    pub warnings: Vec<String>,
}

fn write_cmd(path: &str, content: &str) -> String {
    let mut c = Cmd::new("printf");
    c.arg("%s").arg(content).raw(">").arg(path).raw("|| exit 1");
    c.into_string()
}

fn step(c: Cmd) -> String {
    let mut line = c.into_string();
    line.push_str(" || exit 1");
    line
}

/// What to run for the keys whose current value differs from the plan.
pub fn plan_apply(
    strategy: Strategy,
    p: &Probed,
    want: &Wanted,
    before: &IndexMap<&'static str, String>,
) -> Apply {
    let mut a = Apply::default();
    let mut lines = Vec::new();
    if let Some(h) = &want.hwclock
        && before.get("hwclock") != Some(h)
    {
        match strategy {
            Strategy::Systemd => {
                let flag = if h == "local" { "yes" } else { "no" };
                let mut c = Cmd::new(&p.timedatectl);
                c.arg("set-local-rtc").arg(flag);
                lines.push(step(c));
                a.msgs
                    .push(format!("executed `{} set-local-rtc {flag}`", p.timedatectl));
            }
            Strategy::Debian => {
                let utc = if h == "local" { "no" } else { "yes" };
                let (text, deleted) = edit_lines(
                    p.rcs.as_deref().unwrap_or_default(),
                    |l| rcs_utc(l).is_some(),
                    &format!("UTC={utc}\n"),
                );
                lines.push(write_cmd(RCS_FILE, &text));
                a.msgs.push(format!(
                    "Added 1 line and deleted {deleted} line(s) on {RCS_FILE}"
                ));
                let option = if h == "local" { "--localtime" } else { "--utc" };
                let bin = p.hwclock.clone().unwrap_or_else(|| "hwclock".into());
                if p.rtc {
                    let mut c = Cmd::new(&bin);
                    c.arg("--systohc").arg(option);
                    lines.push(step(c));
                    a.msgs.push(format!("executed `{bin} --systohc {option}`"));
                } else {
                    lines.push(write_cmd(
                        ADJTIME_FILE,
                        &adjtime_with(p.adjtime.as_deref(), h),
                    ));
                    a.warnings.push(format!(
                        "this host has no hardware clock (no /dev/rtc): `{bin} --systohc \
                         {option}` was not run; {ADJTIME_FILE} records {h}"
                    ));
                }
            }
        }
    }
    if let Some(n) = &want.name
        && before.get("name") != Some(n)
    {
        match strategy {
            Strategy::Systemd => {
                let mut c = Cmd::new(&p.timedatectl);
                c.arg("set-timezone").arg(n);
                lines.push(step(c));
                a.msgs
                    .push(format!("executed `{} set-timezone {n}`", p.timedatectl));
            }
            Strategy::Debian => {
                let (text, deleted) = edit_lines(
                    p.timezone.as_deref().unwrap_or_default(),
                    |l| timezone_word(l).is_some(),
                    &format!("{n}\n"),
                );
                lines.push(write_cmd(TIMEZONE_FILE, &text));
                a.msgs.push(format!(
                    "Added 1 line and deleted {deleted} line(s) on {TIMEZONE_FILE}"
                ));
                let mut c = Cmd::new("ln");
                c.arg("-sf")
                    .arg(&format!("{ZONEINFO}{n}"))
                    .arg("/etc/localtime");
                lines.push(step(c));
                let mut c = Cmd::new("dpkg-reconfigure");
                c.arg("--frontend").arg("noninteractive").arg("tzdata");
                lines.push(step(c));
            }
        }
    }
    a.script = lines.join("\n");
    a
}

/// The apply script: the changes (their output on stderr), then the probe again.
pub fn apply_script(name: &str, apply: &Apply) -> String {
    remote::script(
        &[name],
        &format!(
            "(\n{}\n) >&2 || exit 1\n{PROBE_BODY}",
            if apply.script.is_empty() {
                "true"
            } else {
                &apply.script
            }
        ),
    )
}

/// Python's `str()` of a small dict of strings, for the "still not desired state" message.
fn py_dict(values: &IndexMap<&'static str, String>) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|(k, v)| format!("'{k}': '{v}'"))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// A diff of two small dicts as Ansible prints a module's `diff` of dicts: `json.dumps` with
/// sorted keys and an indent of 4.
pub(crate) fn dict_diff(before: &Json, after: &Json) -> Diff {
    let show = |v: &Json| {
        crate::pyfmt::dumps(
            v,
            crate::pyfmt::Dumps {
                indent: Some(4),
                sort_keys: true,
                ensure_ascii: true,
            },
        ) + "\n"
    };
    Diff::Text {
        before_header: String::new(),
        after_header: String::new(),
        before: show(before),
        after: show(after),
    }
}

fn as_json(values: &IndexMap<&'static str, String>) -> Json {
    Json::Object(
        values
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

/// The `timezone` module.
pub struct Timezone;

#[async_trait]
impl Module for Timezone {
    fn name(&self) -> &'static str {
        "timezone"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

fn conn_err(e: crate::connection::ConnectionError) -> Stop {
    Stop::Module(ModuleError::Connection(e))
}

fn abort(msg: &str, msgs: &[String]) -> Stop {
    let mut lines = vec!["Error message:".to_string(), msg.to_string()];
    if !msgs.is_empty() {
        lines.push("Other message(s):".into());
        lines.extend(msgs.iter().cloned());
    }
    Stop::Fail(lines.join("\n"))
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(&["name", "hwclock", "rtc"])?;
    let name = args.str("name")?;
    let hwclock = match args.get_any(&["hwclock", "rtc"]) {
        Some((k, _)) => args.str(k)?,
        None => None,
    };
    if let Some(h) = &hwclock
        && h != "local"
        && h != "UTC"
    {
        return Err(args
            .invalid("hwclock", format!("must be one of: local, UTC, got: {h}"))
            .into());
    }
    if name.is_none() && hwclock.is_none() {
        return Err(args
            .error("one of the following is required: hwclock, name")
            .into());
    }
    let want = Wanted { hwclock, name };
    let zone = want.name.clone().unwrap_or_default();
    let out = remote::run(ctx, probe_script(&zone), None)
        .await
        .map_err(conn_err)?;
    let p = parse_probe(&out.stdout).ok_or_else(|| {
        Stop::Fail(format!(
            "cannot read the time zone settings: {}",
            out.stderr_str().trim()
        ))
    })?;
    let strategy = choose(&p).map_err(Stop::Fail)?;
    if want.name.is_some() && !p.zone_file {
        return Err(abort(
            &format!("given timezone \"{zone}\" is not available"),
            &[],
        ));
    }
    let before = current(strategy, &p, &want).map_err(|e| abort(&e, &[]))?;
    let planned: IndexMap<&'static str, String> = before
        .keys()
        .map(|k| {
            let v = if *k == "name" {
                want.name.clone()
            } else {
                want.hwclock.clone()
            };
            (*k, v.unwrap_or_default())
        })
        .collect();
    let apply = plan_apply(strategy, &p, &want, &before);
    let after = if ctx.check_mode || apply.script.is_empty() {
        planned.clone()
    } else {
        let out = remote::run(ctx, apply_script(&zone, &apply), None)
            .await
            .map_err(conn_err)?;
        if out.rc != 0 {
            let err = format!("{}{}", out.stderr_str(), out.stdout_str());
            return Err(abort(
                &format!("changing the time zone settings failed: {}", err.trim()),
                &apply.msgs,
            ));
        }
        let q = parse_probe(&out.stdout).ok_or_else(|| {
            Stop::Fail(format!(
                "cannot read the time zone settings back: {}",
                out.stderr_str().trim()
            ))
        })?;
        let after = current(strategy, &q, &want).map_err(|e| abort(&e, &apply.msgs))?;
        if after != planned {
            return Err(abort(
                &format!(
                    "still not desired state, though changes have made - planned: {}, after: {}",
                    py_dict(&planned),
                    py_dict(&after)
                ),
                &apply.msgs,
            ));
        }
        after
    };
    let mut result = ModuleResult {
        changed: before != after,
        ..ModuleResult::default()
    };
    if result.changed && ctx.diff_mode {
        result
            .diffs
            .push(dict_diff(&as_json(&before), &as_json(&after)));
    }
    if !ctx.check_mode && !apply.msgs.is_empty() {
        result.msg = Some(apply.msgs.join("\n"));
    }
    add_warnings(&mut result, &apply.warnings);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};

    fn debian() -> Probed {
        Probed {
            hwclock: Some("/usr/sbin/hwclock".into()),
            dpkg_reconfigure: true,
            zone_file: true,
            timezone: Some("Etc/UTC\n".into()),
            localtime: Localtime::Link {
                target: "/usr/share/zoneinfo/Etc/UTC".into(),
                exists: true,
            },
            ..Probed::default()
        }
    }

    #[test]
    fn the_debian_zone_is_the_file_checked_against_the_link() {
        let mut p = debian();
        assert_eq!(debian_name(&p, "Europe/Paris"), "Etc/UTC");
        assert_eq!(debian_name(&p, "Etc/UTC"), "Etc/UTC");
        // The file agrees with the plan but the link does not: the link's zone.
        p.timezone = Some("  # indented\n\nEurope/Paris extra\n".into());
        assert_eq!(debian_name(&p, "Europe/Paris"), "Etc/UTC");
        p.localtime = Localtime::Link {
            target: "../usr/share/zoneinfo/Europe/Paris".into(),
            exists: true,
        };
        assert_eq!(debian_name(&p, "Europe/Paris"), "Europe/Paris");
        p.localtime = Localtime::Link {
            target: "/nowhere".into(),
            exists: false,
        };
        assert_eq!(debian_name(&p, "Europe/Paris"), "n/a");
        p.localtime = Localtime::File { same: false };
        assert_eq!(debian_name(&p, "Europe/Paris"), "n/a");
        p.timezone = None;
        assert_eq!(debian_name(&p, "Europe/Paris"), "n/a");
        assert_eq!(timezone_word("# x\n"), Some("#".into()));
        assert_eq!(
            link_zone("/etc/zoneinfo/Asia/Tokyo"),
            Some("Asia/Tokyo".into())
        );
        assert_eq!(link_zone("/opt/zones/x"), None);
    }

    #[test]
    fn the_clock_mode_reads_rcs_then_adjtime() {
        let mut p = debian();
        assert_eq!(debian_hwclock(&p, "UTC").unwrap(), "n/a");
        p.rcs = Some("# rcS\nUTC=no\n".into());
        assert_eq!(debian_hwclock(&p, "UTC").unwrap(), "local");
        // rcS agrees: /etc/adjtime decides (missing means UTC).
        assert_eq!(debian_hwclock(&p, "local").unwrap(), "UTC");
        p.adjtime = Some("0.0 0 0.0\n0\nLOCAL\n".into());
        assert_eq!(debian_hwclock(&p, "local").unwrap(), "local");
        p.rcs = Some("UTC = maybe\n".into());
        assert!(debian_hwclock(&p, "UTC").is_err());
        assert_eq!(rcs_utc("X=1\nUTC\n=\nyes"), Some("yes".into()));
        assert_eq!(adjtime_with(None, "local"), "0.0 0 0.0\n0\nLOCAL\n");
        assert_eq!(
            adjtime_with(Some("1 2 3\n4\nUTC\n"), "local"),
            "1 2 3\n4\nLOCAL\n"
        );
        assert_eq!(adjtime_with(Some("1 2 3\n4"), "UTC"), "1 2 3\n4\nUTC\n");
    }

    #[test]
    fn systemd_status_is_parsed() {
        let status = "               Local time: Fri 2026-11-27 01:00:00 CET\n\
                      Time zone: Europe/Paris (CET, +0100)\n\
                      RTC in local TZ: no\n";
        assert_eq!(systemd_value(status, "name").unwrap(), "Europe/Paris");
        assert_eq!(systemd_value(status, "hwclock").unwrap(), "UTC");
        assert!(systemd_value("", "name").is_err());
        let p = Probed {
            systemd: true,
            timedatectl: "/usr/bin/timedatectl".into(),
            status: status.into(),
            ..Probed::default()
        };
        let want = Wanted {
            hwclock: Some("local".into()),
            name: Some(HOSTILE.into()),
        };
        let before = current(Strategy::Systemd, &p, &want).unwrap();
        let a = plan_apply(Strategy::Systemd, &p, &want, &before);
        assert_eq!(
            a.script.lines().next().unwrap(),
            "/usr/bin/timedatectl set-local-rtc yes || exit 1"
        );
        assert!(a.script.contains(&crate::connection::quote(HOSTILE)));
        assert_eq!(
            a.msgs[0],
            "executed `/usr/bin/timedatectl set-local-rtc yes`"
        );
    }

    #[test]
    fn the_debian_plan_rewrites_the_files_and_reconfigures() {
        let mut p = debian();
        p.timezone = Some("Etc/UTC\n# keep\nOther\n".into());
        p.rcs = Some("# defaults\nUTC=yes\n".into());
        let want = Wanted {
            hwclock: Some("local".into()),
            name: Some("Europe/Paris".into()),
        };
        let before = current(Strategy::Debian, &p, &want).unwrap();
        assert_eq!(before["hwclock"], "UTC");
        assert_eq!(before["name"], "Etc/UTC");
        let a = plan_apply(Strategy::Debian, &p, &want, &before);
        assert!(
            a.script
                .starts_with("printf %s '# defaults\nUTC=no\n' > /etc/default/rcS || exit 1\n")
        );
        assert!(
            a.script
                .contains("printf %s 'Europe/Paris\n' > /etc/timezone || exit 1")
        );
        assert!(
            a.script
                .contains("ln -sf /usr/share/zoneinfo/Europe/Paris /etc/localtime || exit 1")
        );
        assert!(
            a.script
                .contains("dpkg-reconfigure --frontend noninteractive tzdata || exit 1")
        );
        // No hardware clock here: /etc/adjtime is written instead, with a warning.
        assert!(a.script.contains("> /etc/adjtime"));
        assert_eq!(a.warnings.len(), 1);
        assert_eq!(
            a.msgs,
            [
                "Added 1 line and deleted 1 line(s) on /etc/default/rcS",
                "Added 1 line and deleted 3 line(s) on /etc/timezone"
            ]
        );
        p.rtc = true;
        let a = plan_apply(Strategy::Debian, &p, &want, &before);
        assert!(
            a.script
                .contains("/usr/sbin/hwclock --systohc --localtime || exit 1")
        );
        // Nothing to do when the host already agrees.
        let same = Wanted {
            hwclock: None,
            name: Some("Etc/UTC".into()),
        };
        let before = current(Strategy::Debian, &p, &same).unwrap();
        assert!(
            plan_apply(Strategy::Debian, &p, &same, &before)
                .script
                .is_empty()
        );
        assert!(choose(&Probed::default()).is_err());
    }

    #[test]
    fn dict_diffs_look_like_ansibles() {
        let d = dict_diff(
            &json!({"name": "Etc/UTC"}),
            &json!({"name": "Europe/Paris"}),
        );
        let Diff::Text { before, after, .. } = d else {
            panic!("not text")
        };
        assert_eq!(before, "{\n    \"name\": \"Etc/UTC\"\n}\n");
        assert_eq!(after, "{\n    \"name\": \"Europe/Paris\"\n}\n");
    }

    #[tokio::test]
    async fn the_probe_runs_with_a_hostile_zone_name() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::new(dir.path());
        let ctx = env.ctx(false, false);
        let out = remote::run(&ctx, probe_script(HOSTILE), None)
            .await
            .unwrap();
        assert_eq!(out.rc, 0, "{}", out.stderr_str());
        let p = parse_probe(&out.stdout).expect("probe output parses");
        assert!(!p.zone_file);
        let out = remote::run(&ctx, apply_script(HOSTILE, &Apply::default()), None)
            .await
            .unwrap();
        assert_eq!(parse_probe(&out.stdout), Some(p));
        assert_not_pwned();
    }
}

//! The `file` module: a path's state (file, directory, link, hard, touch, absent), its mode,
//! owner and group (recursively with `recurse`), and its timestamps.
//!
//! One probe reads the path (as itself and followed), the link source if any, the wanted
//! timestamps converted by the host's clock and timezone, and with `recurse` every entry below
//! the directory. The plan is made on the controller; one apply script creates, links or
//! removes, sets attributes and times, and reports the final stat.

use std::sync::Arc;

use async_trait::async_trait;
use indexmap::IndexMap;

use super::mode::{self, DEFAULT_UMASK};
use super::predict::Predicted;
use super::remote::{self, AttrPlan, FileAttrs, FileKind, Frames, RemoteError, RemoteStat};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::{Cmd, ExecOutput};

/// The `file` module.
pub struct File;

const KNOWN: &[&str] = &[
    "path",
    "dest",
    "name",
    "state",
    "src",
    "force",
    "follow",
    "recurse",
    "mode",
    "owner",
    "group",
    "modification_time",
    "modification_time_format",
    "access_time",
    "access_time_format",
    "unsafe_writes",
    "attributes",
    "seuser",
    "serole",
    "setype",
    "selevel",
];

/// The wanted state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    File,
    Directory,
    Link,
    Hard,
    Touch,
    Absent,
}

impl State {
    fn parse(s: &str) -> Option<State> {
        Some(match s {
            "file" => State::File,
            "directory" => State::Directory,
            "link" => State::Link,
            "hard" => State::Hard,
            "touch" => State::Touch,
            "absent" => State::Absent,
            _ => return None,
        })
    }
}

/// A timestamp argument.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stamp {
    Preserve,
    Now,
    /// `YYYY-MM-DD HH:MM:SS` in the host's local time, converted by the host's `date`.
    At(String),
}

/// Parses `value` with a strftime-style `format` (`%Y %m %d %H %M %S %y %%` and literal text),
/// as Ansible's `time.strptime` would, into `YYYY-MM-DD HH:MM:SS`.
fn parse_stamp(value: &str, format: &str) -> Option<String> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (1900i64, 1i64, 1i64, 0i64, 0i64, 0i64);
    let v = value.as_bytes();
    let mut i = 0;
    let mut f = format.chars().peekable();
    let num = |i: &mut usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < v.len() && *i - start < max && v[*i].is_ascii_digit() {
            *i += 1;
        }
        std::str::from_utf8(&v[start..*i]).ok()?.parse().ok()
    };
    while let Some(c) = f.next() {
        if c == '%' {
            match f.next()? {
                'Y' => y = num(&mut i, 4)?,
                'y' => {
                    let yy = num(&mut i, 2)?;
                    y = if yy < 69 { 2000 + yy } else { 1900 + yy };
                }
                'm' => mo = num(&mut i, 2)?,
                'd' => d = num(&mut i, 2)?,
                'H' => h = num(&mut i, 2)?,
                'M' => mi = num(&mut i, 2)?,
                'S' => s = num(&mut i, 2)?,
                '%' => {
                    if v.get(i) != Some(&b'%') {
                        return None;
                    }
                    i += 1;
                }
                _ => return None,
            }
        } else {
            let mut buf = [0u8; 4];
            let lit = c.encode_utf8(&mut buf).as_bytes();
            if v.get(i..i + lit.len()) != Some(lit) {
                return None;
            }
            i += lit.len();
        }
    }
    let valid = i == v.len()
        && (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && (0..=23).contains(&h)
        && (0..=59).contains(&mi)
        && (0..=61).contains(&s);
    valid.then(|| format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
}

fn stamp_arg(
    args: &ModuleArgs,
    name: &str,
    format_name: &str,
    default: Stamp,
) -> Result<Stamp, ModuleError> {
    let format = args
        .str(format_name)?
        .unwrap_or_else(|| "%Y%m%d%H%M.%S".to_string());
    Ok(match args.str(name)?.as_deref() {
        None => default,
        Some("preserve") => Stamp::Preserve,
        Some("now") => Stamp::Now,
        Some(v) => Stamp::At(parse_stamp(v, &format).ok_or_else(|| {
            args.invalid(
                name,
                format!("'{v}' does not match the format '{format}' ({format_name})"),
            )
        })?),
    })
}

/// Ansible's state name for an existing path.
fn state_of(stat: &RemoteStat) -> &'static str {
    remote::state_name(stat)
}

/// The directory a relative link source is relative to.
fn link_base(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

/// What the probe found.
struct Probe {
    /// The path itself (lstat).
    own: Option<RemoteStat>,
    /// The path with links followed.
    followed: Option<RemoteStat>,
    /// The link source (link/hard), followed.
    src: Option<RemoteStat>,
    /// The wanted mtime/atime as epoch seconds.
    mtime: Option<f64>,
    atime: Option<f64>,
    /// `lsattr` flags of the path (without the dashes), when asked for and available.
    attr_flags: String,
    /// With `recurse`: every entry below the directory and its stat.
    entries: Vec<(String, RemoteStat)>,
}

const PROBE: &str = r#"jig_stat "$1" || exit 1
jig_stat "$1" -L || exit 1
if [ -n "$2" ]; then jig_stat "$2" -L || exit 1; fi
if [ -n "$3" ]; then date -d "$3" +%s || exit 1; fi
printf '\0'
if [ -n "$4" ]; then date -d "$4" +%s || exit 1; fi
printf '\0'
jig_walk() {
  for _e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    if [ -e "$_e" ] || [ -L "$_e" ]; then
      printf '%s\0' "$_e"
      jig_stat "$_e" $2 || return 1
      if [ -d "$_e" ] && [ ! -L "$_e" ]; then jig_walk "$_e" "$2" || return 1; fi
    fi
  done
}
if [ "$7" = 1 ] && [ -e "$1" ] && command -v lsattr >/dev/null 2>&1; then
  lsattr -d -- "$1" 2>/dev/null
fi
printf '\0'
if [ "$5" = 1 ] && [ -d "$1" ]; then jig_walk "$1" "$6" || exit 1; fi"#;

impl Probe {
    /// What the probe reports for a path that does not exist (and no link source).
    fn absent() -> Probe {
        Probe {
            own: None,
            followed: None,
            src: None,
            mtime: None,
            atime: None,
            attr_flags: String::new(),
            entries: Vec::new(),
        }
    }
}

/// What [`probe`] found, or did.
enum Probed {
    /// The path's state, to plan from.
    Found(Box<Probe>),
    /// The path was absent and the speculative plan ran; its output (status, the stat after).
    Created(ExecOutput),
}

#[allow(clippy::too_many_arguments)]
async fn probe(
    ctx: &ModuleContext<'_>,
    path: &str,
    src: Option<&str>,
    mtime: &Stamp,
    atime: &Stamp,
    recurse: bool,
    follow: bool,
    want_attrs: bool,
    if_absent: Option<&Plan>,
) -> Result<Result<Probed, String>, ModuleError> {
    let when = |s: &Stamp| match s {
        Stamp::At(t) => t.clone(),
        _ => String::new(),
    };
    let (m, a) = (when(mtime), when(atime));
    let cmd = remote::script(
        &[
            path,
            src.unwrap_or(""),
            &m,
            &a,
            if recurse { "1" } else { "0" },
            remote::follow_flag(follow),
            if want_attrs { "1" } else { "0" },
        ],
        &match if_absent {
            None => PROBE.to_string(),
            Some(plan) => format!(
                "if [ ! -e \"$1\" ] && [ ! -L \"$1\" ]; then\n  printf 'C\\0'\n  {}\n  exit $?\nfi\nprintf 'P\\0'\n{PROBE}",
                apply_line(path, plan, follow, false)
            ),
        },
    );
    let out = remote::run(ctx, cmd, None).await?;
    let mut fr = Frames::new(&out.stdout);
    if if_absent.is_some() {
        match fr.next_record() {
            Some(b"C") => return Ok(Ok(Probed::Created(out))),
            Some(b"P") => {}
            _ if out.rc != 0 => {
                return Ok(Err(remote::host_error(
                    &format!("cannot inspect {path}"),
                    &out,
                )
                .to_string()));
            }
            _ => return Ok(Err(format!("unexpected probe output for {path}"))),
        }
    }
    if out.rc != 0 {
        return Ok(Err(remote::host_error(
            &format!("cannot inspect {path}"),
            &out,
        )
        .to_string()));
    }
    let parse = |fr: &mut Frames<'_>, p: &str| fr.stat(p).map(|r| r.map(|r| r.stat));
    let mut inner = || -> Result<Probe, RemoteError> {
        let own = parse(&mut fr, path)?;
        let followed = parse(&mut fr, path)?;
        let src_stat = match src {
            Some(s) => parse(&mut fr, s)?,
            None => None,
        };
        let epoch = |r: Option<&[u8]>| {
            r.and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|t| t.trim().parse::<f64>().ok())
        };
        let mtime = epoch(fr.next_record());
        let atime = epoch(fr.next_record());
        let attr_flags = fr
            .next_record()
            .and_then(|r| std::str::from_utf8(r).ok())
            .and_then(|t| t.split_whitespace().next())
            .map(|f| f.replace('-', ""))
            .unwrap_or_default();
        let mut entries = Vec::new();
        while let Some(name) = fr.next_record() {
            let name = String::from_utf8_lossy(name).into_owned();
            if let Some(st) = parse(&mut fr, &name)? {
                entries.push((name, st));
            }
        }
        Ok(Probe {
            own,
            followed,
            src: src_stat,
            mtime,
            atime,
            attr_flags,
            entries,
        })
    };
    Ok(inner()
        .map(|p| Probed::Found(Box::new(p)))
        .map_err(|e| e.to_string()))
}

/// The touch commands for wanted timestamps that differ from `st` (or all of them if `st` is
/// None, for a path about to be created), and the diff fields.
#[allow(clippy::too_many_arguments)]
fn time_steps(
    path: &str,
    st: Option<&RemoteStat>,
    mtime: &Stamp,
    atime: &Stamp,
    probe: &Probe,
    no_deref: bool,
    cmd: &mut Cmd,
    before: &mut IndexMap<String, String>,
    after: &mut IndexMap<String, String>,
) -> bool {
    let mut changed = false;
    for (flag, stamp, epoch, current, key) in [
        ("-m", mtime, probe.mtime, st.map(|s| s.mtime), "mtime"),
        ("-a", atime, probe.atime, st.map(|s| s.atime), "atime"),
    ] {
        let step: Option<(Option<String>, String)> = match stamp {
            Stamp::Preserve => None,
            Stamp::Now => Some((None, "now".to_string())),
            Stamp::At(text) => match epoch {
                Some(e) if current != Some(e) => Some((Some(format!("@{e}")), text.clone())),
                _ => None,
            },
        };
        let Some((date, shown)) = step else { continue };
        changed = true;
        if let Some(c) = current {
            before.insert(key.to_string(), format!("{c}"));
        }
        after.insert(key.to_string(), shown);
        if !cmd.as_str().is_empty() {
            cmd.raw("&&");
        }
        cmd.arg("touch").arg("-c").arg(flag);
        if no_deref {
            cmd.arg("-h");
        }
        if let Some(d) = date {
            cmd.arg("-d").arg(&d);
        }
        cmd.arg("--").arg(path);
    }
    changed
}

fn chain(cmd: &mut Cmd, more: &Cmd) {
    if more.as_str().is_empty() {
        return;
    }
    if !cmd.as_str().is_empty() {
        cmd.raw("&&");
    }
    cmd.raw(more.as_str());
}

#[async_trait]
impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let path = match args.get_any(&["path", "dest", "name"]) {
            Some((n, _)) => args.req_str(n)?,
            None => {
                return Err(ArgErrorExt::missing(args, "path"));
            }
        };
        if path.is_empty() {
            return Err(args.invalid("path", "must not be empty").into());
        }
        // A trailing slash means the same path to the host; keep it out of results and joins.
        let path = if path.len() > 1 {
            path.trim_end_matches('/').to_string()
        } else {
            path
        };
        let wanted_state = match args.str("state")? {
            None => None,
            Some(s) => Some(State::parse(&s).ok_or_else(|| {
                args.invalid(
                    "state",
                    format!("must be one of absent, directory, file, hard, link, touch; got '{s}'"),
                )
            })?),
        };
        let src = args.str("src")?;
        if src.is_some() && !matches!(wanted_state, Some(State::Link) | Some(State::Hard)) {
            return Err(args
                .error("src option requires state to be 'link' or 'hard'")
                .into());
        }
        let force = args.bool_or("force", false)?;
        let follow = args.bool_or("follow", true)?;
        let recurse = args.bool_or("recurse", false)?;
        if recurse && !matches!(wanted_state, None | Some(State::Directory)) {
            return Err(args
                .error("recurse option requires state to be 'directory'")
                .into());
        }
        let attrs = remote::attrs_from_args(args)?;
        if attrs.mode == Some(mode::Mode::Preserve) {
            return Err(args
                .invalid("mode", "'preserve' is only for copy and template")
                .into());
        }
        let default_stamp = if wanted_state == Some(State::Touch) {
            Stamp::Now
        } else {
            Stamp::Preserve
        };
        let mtime = stamp_arg(
            args,
            "modification_time",
            "modification_time_format",
            default_stamp.clone(),
        )?;
        let atime = stamp_arg(args, "access_time", "access_time_format", default_stamp)?;

        let attributes = args.str("attributes")?.filter(|a| !a.is_empty());
        let src_abs = src.as_ref().map(|s| {
            if s.starts_with('/') {
                s.clone()
            } else {
                super::copy::join(link_base(&path), s)
            }
        });
        // A directory or file to create where nothing is yet is planned without looking (the
        // plan for an absent path needs no probed facts), so the probe can carry it out at
        // once when it finds the path absent: one round trip where it would take two.
        let speculative = match wanted_state {
            Some(state @ (State::Directory | State::Touch))
                if !ctx.check_mode
                    && !recurse
                    && attributes.is_none()
                    && !matches!(mtime, Stamp::At(_))
                    && !matches!(atime, Stamp::At(_)) =>
            {
                let absent = Probe::absent();
                let plan = match state {
                    State::Directory => plan_directory(
                        &path, &absent, "absent", follow, &attrs, &mtime, &atime, recurse,
                    ),
                    _ => plan_touch(&path, &absent, "absent", follow, &attrs, &mtime, &atime),
                };
                plan.ok()
                    .filter(|p| p.changed && !p.cmd.as_str().is_empty())
                    .map(|p| (state, p))
            }
            _ => None,
        };
        let probed = probe(
            ctx,
            &path,
            src_abs.as_deref(),
            &mtime,
            &atime,
            recurse,
            follow,
            attributes.is_some(),
            speculative.as_ref().map(|(_, plan)| plan),
        )
        .await?;
        let p = match probed {
            Ok(Probed::Found(p)) => *p,
            Ok(Probed::Created(out)) => {
                let Some((state, plan)) = speculative else {
                    return Ok(ModuleResult::failed(format!(
                        "unexpected probe output for {path}"
                    )));
                };
                return Ok(finish(ctx, &path, state, None, plan, &out));
            }
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let mut p = p;
        if ctx.check_mode {
            overlay_prediction(ctx, &path, src_abs.as_deref(), &mut p);
        } else {
            ctx.predicted.forget(&path);
        }
        let prev = p.own.as_ref().map(state_of).unwrap_or("absent");
        // Without `state`, Ansible keeps what is there (a multiply-linked file is treated as a
        // plain file here, as it has no `src` to check).
        let state = wanted_state.unwrap_or(match p.own.as_ref().map(|s| s.kind) {
            Some(FileKind::Directory) => State::Directory,
            Some(FileKind::Link) => State::Link,
            None if recurse => State::Directory,
            _ => State::File,
        });
        // A link without `src`: its current target stands in, as in Ansible.
        let mut src = src;
        let mut src_abs = src_abs;
        if state == State::Link
            && src.is_none()
            && let Some(target) = p.own.as_ref().and_then(|o| o.link_target.clone())
        {
            src_abs = Some(if target.starts_with('/') {
                target.clone()
            } else {
                super::copy::join(link_base(&path), &target)
            });
            src = Some(target);
            p.src = p.followed.clone();
        }
        let plan = match state {
            State::Absent => plan_absent(&path, &p, prev),
            State::File => plan_file(&path, &p, prev, follow, &attrs, &mtime, &atime),
            State::Directory => {
                plan_directory(&path, &p, prev, follow, &attrs, &mtime, &atime, recurse)
            }
            State::Touch => plan_touch(&path, &p, prev, follow, &attrs, &mtime, &atime),
            State::Link | State::Hard => {
                let Some(src) = src.as_deref() else {
                    return Err(args
                        .error(format!(
                            "src is required for state={}",
                            if state == State::Link { "link" } else { "hard" }
                        ))
                        .into());
                };
                plan_link(
                    &path,
                    src,
                    src_abs.as_deref().unwrap_or(src),
                    &p,
                    prev,
                    state,
                    force,
                    follow,
                    &attrs,
                    &mtime,
                    &atime,
                )
            }
        };
        let mut plan = match plan {
            Ok(plan) => plan,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        if let Some(wanted) = &attributes
            && !matches!(state, State::Absent | State::Link)
        {
            plan_chattr(&mut plan, &path, wanted, &p.attr_flags);
        }
        if ctx.check_mode && plan.changed {
            record_prediction(ctx, &path, state, src.as_deref(), &p, follow, &attrs);
        }
        execute(ctx, &path, state, src.as_deref(), follow, plan).await
    }
}

/// In check mode, what earlier tasks would have done stands for what the probe found: the
/// path itself, where it leads, and a link's source.
fn overlay_prediction(ctx: &ModuleContext<'_>, path: &str, src_abs: Option<&str>, p: &mut Probe) {
    let present = |found: Option<Predicted>| match found {
        Some(Predicted::Present(pp)) => Some(pp.stat),
        _ => None,
    };
    match ctx.predicted.path(path) {
        Some(Predicted::Absent) => {
            p.own = None;
            p.followed = None;
            p.entries.clear();
            p.attr_flags.clear();
        }
        Some(Predicted::Present(pp)) => {
            p.followed = if pp.stat.kind == FileKind::Link {
                present(ctx.predicted.follow(path))
            } else {
                Some(pp.stat.clone())
            };
            p.own = Some(pp.stat);
        }
        None => {}
    }
    if let Some(src) = src_abs {
        match ctx.predicted.follow(src) {
            Some(Predicted::Absent) => p.src = None,
            found @ Some(Predicted::Present(_)) => p.src = present(found),
            None => {}
        }
    }
}

/// Records the change planned in check mode as the path's predicted state.
fn record_prediction(
    ctx: &ModuleContext<'_>,
    path: &str,
    state: State,
    src: Option<&str>,
    p: &Probe,
    follow: bool,
    attrs: &FileAttrs,
) {
    let predicted = ctx.predicted;
    let content = || match predicted.follow(path) {
        Some(Predicted::Present(pp)) => pp.content,
        _ => None,
    };
    match state {
        State::Absent => predicted.put_absent(path),
        State::Directory => predicted.put_dir(path, attrs, target(p, follow)),
        State::Link => predicted.put_link(path, src.unwrap_or_default()),
        State::Hard => predicted.put_file(
            path,
            None,
            p.src.as_ref().map_or(0, |s| s.size),
            attrs,
            p.src.as_ref(),
        ),
        // Attributes of a link's target are not predicted (the target may be anywhere).
        State::File | State::Touch if p.own.as_ref().is_some_and(|o| o.kind == FileKind::Link) => {}
        State::File | State::Touch => {
            let cur = p.own.as_ref();
            let known = match cur {
                Some(_) => content(),
                None => Some(Arc::from(&b""[..])),
            };
            let size = known
                .as_ref()
                .map_or(cur.map_or(0, |c| c.size), |k| k.len() as u64);
            predicted.put_file(path, known.as_deref(), size, attrs, cur);
        }
    }
}

/// Builds a `Missing` argument error for `file`'s path (one of path/dest/name).
struct ArgErrorExt;

impl ArgErrorExt {
    fn missing(args: &ModuleArgs, name: &str) -> ModuleError {
        super::ArgError::Missing {
            module: args.module().to_string(),
            name: name.to_string(),
        }
        .into()
    }
}

/// What the module will do.
struct Plan {
    /// The commands to run (empty: nothing to do).
    cmd: Cmd,
    /// The host changes.
    changed: bool,
    /// Field diffs.
    before: IndexMap<String, String>,
    after: IndexMap<String, String>,
    /// Stat to report when nothing is applied (check mode or no change).
    report: Option<RemoteStat>,
    /// The state to report.
    state_after: &'static str,
    /// Stat the path after applying (with links followed if `follow`).
    stat_after: bool,
}

impl Plan {
    fn new(path: &str, prev: &str, state_after: &'static str) -> Plan {
        let mut before = IndexMap::new();
        let mut after = IndexMap::new();
        before.insert("path".to_string(), path.to_string());
        after.insert("path".to_string(), path.to_string());
        if prev != state_after {
            before.insert("state".to_string(), prev.to_string());
            after.insert("state".to_string(), state_after.to_string());
        }
        Plan {
            cmd: Cmd::empty(),
            changed: prev != state_after,
            before,
            after,
            report: None,
            state_after,
            stat_after: true,
        }
    }

    fn add_attrs(&mut self, path: &str, plan: &AttrPlan) {
        if plan.is_empty() {
            return;
        }
        self.changed = true;
        plan.add_to_diff(&mut self.before, &mut self.after);
        chain(&mut self.cmd, &remote::attr_commands(path, plan));
    }
}

fn plan_absent(path: &str, p: &Probe, prev: &str) -> Result<Plan, String> {
    let mut plan = Plan::new(path, prev, "absent");
    plan.stat_after = false;
    if p.own.is_some() {
        plan.cmd.arg("rm").arg("-rf").arg("--").arg(path);
    }
    Ok(plan)
}

/// The stat attributes apply to: the followed one for a link when following.
fn target(p: &Probe, follow: bool) -> Option<&RemoteStat> {
    match &p.own {
        Some(s) if s.kind == FileKind::Link && follow => p.followed.as_ref(),
        other => other.as_ref(),
    }
}

fn attrs_and_times(
    plan: &mut Plan,
    path: &str,
    st: &RemoteStat,
    attrs: &FileAttrs,
    p: &Probe,
    mtime: &Stamp,
    atime: &Stamp,
) -> Result<(), String> {
    let ap = remote::attr_changes(st, attrs).map_err(|e| e.to_string())?;
    plan.add_attrs(path, &ap);
    let mut c = Cmd::empty();
    if time_steps(
        path,
        Some(st),
        mtime,
        atime,
        p,
        st.kind == FileKind::Link,
        &mut c,
        &mut plan.before,
        &mut plan.after,
    ) {
        plan.changed = true;
        chain(&mut plan.cmd, &c);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn plan_file(
    path: &str,
    p: &Probe,
    prev: &str,
    follow: bool,
    attrs: &FileAttrs,
    mtime: &Stamp,
    atime: &Stamp,
) -> Result<Plan, String> {
    let Some(st) = target(p, follow).cloned() else {
        return Err(format!("file ({path}) is absent, cannot continue"));
    };
    let shown = remote::state_name(&st);
    if st.kind != FileKind::File {
        return Err(format!("file ({path}) is {shown}, cannot continue"));
    }
    let mut plan = Plan::new(path, prev, if prev == "hard" { "hard" } else { "file" });
    plan.changed = false;
    plan.before.shift_remove("state");
    plan.after.shift_remove("state");
    attrs_and_times(&mut plan, path, &st, attrs, p, mtime, atime)?;
    plan.report = Some(st);
    Ok(plan)
}

#[allow(clippy::too_many_arguments)]
fn plan_directory(
    path: &str,
    p: &Probe,
    prev: &str,
    follow: bool,
    attrs: &FileAttrs,
    mtime: &Stamp,
    atime: &Stamp,
    recurse: bool,
) -> Result<Plan, String> {
    match target(p, follow).cloned() {
        None => {
            let mut plan = Plan::new(path, prev, "directory");
            let mk = remote::mkdirs_cmd(path, attrs).map_err(|e| e.to_string())?;
            chain(&mut plan.cmd, &mk);
            if let Some(m) = &attrs.mode {
                let base = 0o777 & !DEFAULT_UMASK;
                if let Some(bits) = m.resolve(base, true, DEFAULT_UMASK) {
                    plan.after.insert("mode".into(), mode::render(bits));
                }
            }
            let mut c = Cmd::empty();
            time_steps(
                path,
                None,
                mtime,
                atime,
                p,
                false,
                &mut c,
                &mut plan.before,
                &mut plan.after,
            );
            chain(&mut plan.cmd, &c);
            Ok(plan)
        }
        Some(st) if st.kind == FileKind::Directory => {
            let mut plan = Plan::new(path, "directory", "directory");
            attrs_and_times(&mut plan, path, &st, attrs, p, mtime, atime)?;
            if recurse {
                for (entry, est) in &p.entries {
                    let ap = remote::attr_changes(est, attrs).map_err(|e| e.to_string())?;
                    if !ap.is_empty() {
                        plan.changed = true;
                        chain(&mut plan.cmd, &remote::attr_commands(entry, &ap));
                        let (mut b, mut a) = (IndexMap::new(), IndexMap::new());
                        ap.add_to_diff(&mut b, &mut a);
                        for (k, v) in b {
                            plan.before.insert(format!("{entry}: {k}"), v);
                        }
                        for (k, v) in a {
                            plan.after.insert(format!("{entry}: {k}"), v);
                        }
                    }
                }
            }
            plan.report = Some(st);
            Ok(plan)
        }
        Some(st) => Err(format!(
            "{path} already exists as a {}",
            remote::state_name(&st)
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_touch(
    path: &str,
    p: &Probe,
    prev: &str,
    follow: bool,
    attrs: &FileAttrs,
    mtime: &Stamp,
    atime: &Stamp,
) -> Result<Plan, String> {
    match target(p, follow).cloned() {
        None => {
            let mut plan = Plan::new(path, prev, "file");
            plan.after.insert("state".into(), "touch".into());
            // `: >>` creates without truncating, should the file appear meanwhile.
            let mut create = Cmd::empty();
            create.raw(": >>").arg(path);
            chain(&mut plan.cmd, &create);
            let mut fa = Cmd::empty();
            if let Some(m) = &attrs.mode {
                let m = m.chmod_arg().unwrap_or_default();
                fa.arg("chmod").arg("--").arg(&m).arg(path);
                let base = 0o666 & !DEFAULT_UMASK;
                if let Some(bits) = attrs
                    .mode
                    .as_ref()
                    .and_then(|m| m.resolve(base, false, DEFAULT_UMASK))
                {
                    plan.after.insert("mode".into(), mode::render(bits));
                }
            }
            chain(&mut plan.cmd, &fa);
            for (tool, v) in [("chown", &attrs.owner), ("chgrp", &attrs.group)] {
                if let Some(v) = v {
                    let mut c = Cmd::empty();
                    c.arg(tool).arg("--").arg(v).arg(path);
                    chain(&mut plan.cmd, &c);
                }
            }
            let mut c = Cmd::empty();
            time_steps(
                path,
                None,
                &non_now(mtime),
                &non_now(atime),
                p,
                false,
                &mut c,
                &mut plan.before,
                &mut plan.after,
            );
            chain(&mut plan.cmd, &c);
            Ok(plan)
        }
        Some(st) => {
            let state = remote::state_name(&st);
            // Ansible's touch diff always says state file -> touch; the change is in the times.
            let mut plan = Plan::new(path, prev, "touch");
            plan.changed = false;
            plan.state_after = state;
            attrs_and_times(&mut plan, path, &st, attrs, p, mtime, atime)?;
            plan.report = Some(st);
            Ok(plan)
        }
    }
}

/// A file created now already has the current time; only explicit times need setting.
fn non_now(s: &Stamp) -> Stamp {
    match s {
        Stamp::Now => Stamp::Preserve,
        other => other.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_link(
    path: &str,
    src: &str,
    src_abs: &str,
    p: &Probe,
    prev: &str,
    state: State,
    force: bool,
    follow: bool,
    attrs: &FileAttrs,
    mtime: &Stamp,
    atime: &Stamp,
) -> Result<Plan, String> {
    let hard = state == State::Hard;
    let kind = if hard { "hard" } else { "link" };
    if p.src.is_none() && (hard || !force) {
        return Err(if hard {
            format!("src does not exist: {src_abs}")
        } else {
            format!(
                "src file does not exist, use \"force=yes\" if you really want to create the \
                 link: {src_abs}"
            )
        });
    }
    let up_to_date = match (&p.own, hard) {
        (Some(own), false) => own.kind == FileKind::Link && own.link_target.as_deref() == Some(src),
        (Some(own), true) => p.src.as_ref().is_some_and(|s| {
            own.kind == FileKind::File && s.inode == own.inode && s.dev == own.dev
        }),
        (None, _) => false,
    };
    let mut plan = Plan::new(path, prev, kind);
    if up_to_date {
        plan.changed = false;
        plan.before.shift_remove("state");
        plan.after.shift_remove("state");
    } else {
        match prev {
            "absent" | "link" => {}
            "hard" | "file" if !force => {
                return Err(format!(
                    "refusing to convert from {prev} to {}link for {path}",
                    if hard { "hard " } else { "sym" }
                ));
            }
            "directory" if !force => {
                return Err(format!(
                    "refusing to convert from directory to {}link for {path}",
                    if hard { "hard " } else { "sym" }
                ));
            }
            _ => {}
        }
        if let Some(own) = &p.own
            && own.kind == FileKind::Link
        {
            plan.before
                .insert("src".into(), own.link_target.clone().unwrap_or_default());
        }
        plan.after.insert("src".into(), src.to_string());
        plan.changed = true;
        // Made under a temporary name in the same directory, then renamed over the path: the
        // path is never missing. A directory in the way must be empty (rmdir refuses otherwise).
        let mut c = Cmd::empty();
        if prev == "directory" {
            c.arg("rmdir").arg("--").arg(path).raw("&&");
        }
        c.raw("t=$(mktemp -u --")
            .arg(&format!("{}/.jig.XXXXXXXX", link_base(path)))
            .raw(") && ln");
        if !hard {
            c.arg("-s");
        }
        c.arg("--")
            .arg(if hard { src_abs } else { src })
            .raw("\"$t\" && mv -fT -- \"$t\"")
            .arg(path);
        chain(&mut plan.cmd, &c);
    }
    // Attributes go to the link's target when following (Ansible resolves the path), to the
    // link itself otherwise.
    let st = if follow || hard {
        p.src.clone()
    } else {
        p.own.clone().filter(|_| up_to_date)
    };
    if let Some(st) = st {
        let ap_path = if follow && !hard { src_abs } else { path };
        let ap = remote::attr_changes(&st, attrs).map_err(|e| e.to_string())?;
        plan.add_attrs(ap_path, &ap);
        let mut c = Cmd::empty();
        if time_steps(
            path,
            Some(&st),
            mtime,
            atime,
            p,
            !follow && !hard,
            &mut c,
            &mut plan.before,
            &mut plan.after,
        ) {
            plan.changed = true;
            chain(&mut plan.cmd, &c);
        }
    }
    // A link about to be made, kept as itself: its owner is set right after it is made, so the
    // next run finds nothing to do.
    if !follow && !hard && !up_to_date {
        for (tool, key, value) in [
            ("chown", "owner", &attrs.owner),
            ("chgrp", "group", &attrs.group),
        ] {
            if let Some(v) = value {
                let mut c = Cmd::empty();
                c.arg(tool).arg("-h").arg("--").arg(v).arg(path);
                chain(&mut plan.cmd, &c);
                plan.after.insert(key.to_string(), v.clone());
            }
        }
    }
    plan.report = p.own.clone().filter(|_| up_to_date);
    plan.stat_after = true;
    Ok(plan)
}

/// `attributes:` as Ansible applies them with `chattr`: `+flags`/`-flags` add or remove,
/// anything else sets exactly. Unlike Ansible, which compares the flag strings literally (so
/// `+i` on an ext4 file reports a change on every run), a change is planned only when a flag
/// would actually change.
fn plan_chattr(plan: &mut Plan, path: &str, wanted: &str, current: &str) {
    let (op, flags) = match wanted.chars().next() {
        Some(c @ ('+' | '-' | '=')) => (c, &wanted[1..]),
        _ => ('=', wanted),
    };
    let has = |f: char| current.contains(f);
    let needed = match op {
        '+' => flags.chars().any(|f| !has(f)),
        '-' => flags.chars().any(has),
        _ => flags.len() != current.len() || flags.chars().any(|f| !has(f)),
    };
    if !needed {
        return;
    }
    plan.changed = true;
    plan.before
        .insert("attributes".to_string(), current.to_string());
    plan.after
        .insert("attributes".to_string(), format!("{op}{flags}"));
    // chattr has no `--`; a path that looks like an option is made relative-explicit.
    let target = if path.starts_with('-') {
        format!("./{path}")
    } else {
        path.to_string()
    };
    let mut c = Cmd::empty();
    c.arg("chattr").arg(&format!("{op}{flags}")).arg(&target);
    chain(&mut plan.cmd, &c);
}

/// The result every outcome of `plan` starts from: changed or not, the path's key, the diff.
fn base_result(
    ctx: &ModuleContext<'_>,
    path: &str,
    state: State,
    src: Option<&str>,
    plan: &Plan,
) -> ModuleResult {
    let mut result = if plan.changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    };
    // Ansible names the path `dest` for links and touch, `path` otherwise.
    if matches!(state, State::Link | State::Hard | State::Touch) {
        result.set("dest", path.to_string());
        if let Some(s) = src {
            result.set("src", s.to_string());
        }
    } else {
        result.set("path", path.to_string());
    }
    if plan.changed && ctx.diff_mode {
        result.diffs.push(Diff::Fields {
            path: path.to_string(),
            before: plan.before.clone(),
            after: plan.after.clone(),
        });
    }
    result
}

/// The shell line that carries `plan` out and, when asked, stats the path after.
fn apply_line(path: &str, plan: &Plan, follow: bool, is_link: bool) -> String {
    let mut line = Cmd::empty();
    line.raw(plan.cmd.as_str());
    if plan.stat_after {
        let flag = if is_link {
            ""
        } else {
            remote::follow_flag(follow)
        };
        line.raw("&& jig_stat").arg(path).arg(flag);
    }
    line.into_string()
}

async fn execute(
    ctx: &ModuleContext<'_>,
    path: &str,
    state: State,
    src: Option<&str>,
    follow: bool,
    plan: Plan,
) -> Result<ModuleResult, ModuleError> {
    if !plan.changed || ctx.check_mode || plan.cmd.as_str().is_empty() {
        let mut result = base_result(ctx, path, state, src, &plan);
        if let Some(st) = &plan.report {
            remote::add_path_info(&mut result, st);
        }
        for key in ["mode", "owner", "group"] {
            if let Some(v) = plan.after.get(key) {
                result.set(key, v.clone());
            }
        }
        result.set("state", plan.state_after);
        return Ok(result);
    }
    let is_link = matches!(state, State::Link | State::Hard);
    let mut line = Cmd::empty();
    line.raw(remote::PRELUDE);
    line.raw(&apply_line(path, &plan, follow, is_link));
    let out = remote::run(ctx, line.into_string(), None).await?;
    Ok(finish(ctx, path, state, src, plan, &out))
}

/// The result of `plan` once its commands ran with output `out` (whose records may start
/// after a marker the caller already read: only the path's stat is looked for).
fn finish(
    ctx: &ModuleContext<'_>,
    path: &str,
    state: State,
    src: Option<&str>,
    plan: Plan,
    out: &ExecOutput,
) -> ModuleResult {
    let mut result = base_result(ctx, path, state, src, &plan);
    if out.rc != 0 {
        let mut failed = ModuleResult::failed(
            remote::host_error(&format!("cannot change {path}"), out).to_string(),
        );
        failed.values = result.values;
        return failed;
    }
    if plan.stat_after {
        let mut frames = Frames::new(&out.stdout);
        // A speculative run prints its marker record first.
        if out.stdout.starts_with(b"C\0") {
            frames.next_record();
        }
        if let Ok(Some(rec)) = frames.stat(path) {
            remote::add_path_info(&mut result, &rec.stat);
        }
    }
    result.set("state", plan.state_after);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
    use serde_json::{Value as Json, json};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new("file", v.as_object().unwrap().clone().into_iter().collect())
    }

    fn mode_of(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    async fn run(env: &Env, v: Json, check: bool) -> ModuleResult {
        File.run(&margs(v), &env.ctx(check, true)).await.unwrap()
    }

    #[test]
    fn timestamps_parse_with_formats() {
        assert_eq!(
            parse_stamp("202401311200.05", "%Y%m%d%H%M.%S").as_deref(),
            Some("2024-01-31 12:00:05")
        );
        assert_eq!(
            parse_stamp("31/01/24 07:08", "%d/%m/%y %H:%M").as_deref(),
            Some("2024-01-31 07:08:00")
        );
        assert_eq!(parse_stamp("2024", "%Y%m%d%H%M.%S"), None);
        assert_eq!(parse_stamp("202413011200.00", "%Y%m%d%H%M.%S"), None);
    }

    #[tokio::test]
    async fn directories_with_parents_modes_and_diffs() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let top = tmp.path().join(HOSTILE);
        let d = top.join("b c/d");
        let ds = d.to_str().unwrap();
        let r = run(
            &env,
            json!({"path": ds, "state": "directory", "mode": "0750"}),
            true,
        )
        .await;
        assert!(r.changed && !top.exists(), "{r:?}");
        match &r.diffs[0] {
            Diff::Fields { before, after, .. } => {
                assert_eq!(before["state"], "absent");
                assert_eq!(after["state"], "directory");
                assert_eq!(after["mode"], "0750");
            }
            d => panic!("{d:?}"),
        }
        let r = run(
            &env,
            json!({"path": ds, "state": "directory", "mode": "0750"}),
            false,
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(d.is_dir());
        // New parents get the same mode, as in Ansible.
        assert_eq!(mode_of(&top), 0o750);
        assert_eq!(mode_of(&d), 0o750);
        assert_eq!(r.values["state"], "directory");
        assert_eq!(r.values["mode"], "0750");
        assert_eq!(r.values["path"], ds);
        let r = run(
            &env,
            json!({"path": ds, "state": "directory", "mode": "0750"}),
            false,
        )
        .await;
        assert!(!r.changed, "{r:?}");
        // Mode change only.
        let r = run(
            &env,
            json!({"path": ds, "state": "directory", "mode": "u=rwx,go="}),
            false,
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        match &r.diffs[0] {
            Diff::Fields { before, after, .. } => {
                assert_eq!(before["mode"], "0750");
                assert_eq!(after["mode"], "0700");
                assert!(!before.contains_key("state"));
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(mode_of(&d), 0o700);
        // A file in the way is an error.
        let f = tmp.path().join("plain");
        std::fs::write(&f, "x").unwrap();
        let r = run(
            &env,
            json!({"path": f.to_str().unwrap(), "state": "directory"}),
            false,
        )
        .await;
        assert!(r.failed && r.msg.unwrap().contains("already exists as a file"));
        assert_not_pwned();
    }

    #[tokio::test]
    async fn recurse_sets_modes_below() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let root = tmp.path().join("tree");
        std::fs::create_dir_all(root.join("sub/.hidden dir")).unwrap();
        std::fs::write(root.join("sub").join(HOSTILE), "x").unwrap();
        std::fs::write(root.join("..dots"), "x").unwrap();
        let a = json!({"path": root.to_str().unwrap(), "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="});
        let r = run(&env, a.clone(), true).await;
        assert!(r.changed);
        assert_eq!(mode_of(&root.join("sub").join(HOSTILE)), 0o644);
        let r = run(&env, a.clone(), false).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(mode_of(&root), 0o750);
        assert_eq!(mode_of(&root.join("sub/.hidden dir")), 0o750);
        assert_eq!(mode_of(&root.join("sub").join(HOSTILE)), 0o640);
        assert_eq!(mode_of(&root.join("..dots")), 0o640);
        assert!(!run(&env, a, false).await.changed);
    }

    #[tokio::test]
    async fn file_state_absent_and_touch() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let f = tmp.path().join("touched 'q'");
        let fs = f.to_str().unwrap();
        let r = run(&env, json!({"path": fs, "mode": "0600"}), false).await;
        assert!(r.failed && r.msg.unwrap().contains("is absent, cannot continue"));
        let r = run(
            &env,
            json!({"path": fs, "state": "touch", "mode": "0600"}),
            true,
        )
        .await;
        assert!(r.changed && !f.exists());
        let r = run(
            &env,
            json!({"path": fs, "state": "touch", "mode": "0600"}),
            false,
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(mode_of(&f), 0o600);
        // Touching again changes the times, so it is a change, as in Ansible.
        let r = run(&env, json!({"path": fs, "state": "touch"}), false).await;
        assert!(r.changed);
        assert_eq!(r.values["dest"], fs);
        assert_eq!(r.values["state"], "file");
        match &r.diffs[0] {
            Diff::Fields { before, after, .. } => {
                assert_eq!(before["state"], "file");
                assert_eq!(after["state"], "touch");
                assert_eq!(after["mtime"], "now");
            }
            d => panic!("{d:?}"),
        }
        let keep = json!({"path": fs, "state": "touch", "modification_time": "preserve", "access_time": "preserve"});
        assert!(!run(&env, keep, false).await.changed);
        // Explicit times are idempotent.
        let at = json!({"path": fs, "modification_time": "202001021304.05"});
        let r = run(&env, at.clone(), false).await;
        assert!(r.changed && !r.failed, "{r:?}");
        let md = std::fs::metadata(&f).unwrap();
        let out = std::process::Command::new("date")
            .args(["-d", "2020-01-02 13:04:05", "+%s"])
            .output()
            .unwrap();
        let want: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert_eq!(md.mtime(), want);
        assert!(!run(&env, at, false).await.changed);
        // state=file only changes attributes of what is there.
        let r = run(
            &env,
            json!({"path": fs, "state": "file", "mode": "0644"}),
            false,
        )
        .await;
        assert!(r.changed);
        assert_eq!(r.values["mode"], "0644");
        // absent, in check mode first.
        let r = run(&env, json!({"path": fs, "state": "absent"}), true).await;
        assert!(r.changed && f.exists());
        let r = run(&env, json!({"path": fs, "state": "absent"}), false).await;
        assert!(r.changed && !f.exists(), "{r:?}");
        assert!(
            !run(&env, json!({"path": fs, "state": "absent"}), false)
                .await
                .changed
        );
        let d = tmp.path().join("full dir");
        std::fs::create_dir_all(d.join("x/y")).unwrap();
        let r = run(
            &env,
            json!({"path": d.to_str().unwrap(), "state": "absent"}),
            false,
        )
        .await;
        assert!(r.changed && !d.exists());
        let r = run(
            &env,
            json!({"path": tmp.path().to_str().unwrap(), "state": "file"}),
            false,
        )
        .await;
        assert!(r.failed && r.msg.unwrap().contains("is directory"));
    }

    #[tokio::test]
    async fn attributes_use_lsattr_and_chattr() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let f = tmp.path().join(HOSTILE);
        std::fs::write(&f, "x").unwrap();
        let flags = || {
            let out = std::process::Command::new("lsattr")
                .arg("-d")
                .arg(&f)
                .output();
            out.ok().filter(|o| o.status.success()).map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .replace('-', "")
            })
        };
        // Only where the filesystem has ext2-style attributes (not tmpfs).
        let Some(before) = flags() else { return };
        let wanted = format!("{before}d");
        let a = json!({"path": f.to_str().unwrap(), "attributes": wanted});
        let r = run(&env, a.clone(), true).await;
        assert!(r.changed, "{r:?}");
        assert_eq!(flags().unwrap(), before);
        let r = run(&env, a.clone(), false).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(flags().unwrap().contains('d'));
        assert!(!run(&env, a, false).await.changed);
        let r = run(
            &env,
            json!({"path": f.to_str().unwrap(), "attributes": "-d"}),
            false,
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!flags().unwrap().contains('d'));
    }

    #[tokio::test]
    async fn symlinks_and_hard_links() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let target = tmp.path().join(HOSTILE);
        std::fs::write(&target, "t").unwrap();
        let link = tmp.path().join("link ✓");
        let ls = link.to_str().unwrap();
        // Relative source, resolved against the link's directory.
        let a = json!({"path": ls, "src": HOSTILE, "state": "link"});
        let r = run(&env, a.clone(), true).await;
        assert!(r.changed && !link.is_symlink());
        let r = run(&env, a.clone(), false).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new(HOSTILE));
        assert_eq!(r.values["dest"], ls);
        assert_eq!(r.values["state"], "link");
        assert!(!run(&env, a, false).await.changed);
        // Retarget.
        let other = tmp.path().join("other");
        std::fs::write(&other, "o").unwrap();
        let b = json!({"path": ls, "src": other.to_str().unwrap(), "state": "link"});
        let r = run(&env, b, false).await;
        assert!(r.changed);
        match &r.diffs[0] {
            Diff::Fields { before, after, .. } => {
                assert_eq!(before["src"], HOSTILE);
                assert_eq!(after["src"], other.to_str().unwrap());
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(std::fs::read_link(&link).unwrap(), other);
        // Missing source needs force; a file in the way needs force.
        let c = json!({"path": ls, "src": "/nonexistent/x", "state": "link"});
        assert!(run(&env, c, false).await.failed);
        let plain = tmp.path().join("plain");
        std::fs::write(&plain, "p").unwrap();
        let d = json!({"path": plain.to_str().unwrap(), "src": other.to_str().unwrap(), "state": "link"});
        let r = run(&env, d.clone(), false).await;
        assert!(r.failed && r.msg.unwrap().contains("refusing to convert"));
        let mut forced = d.clone();
        forced["force"] = json!(true);
        assert!(run(&env, forced, false).await.changed);
        assert!(plain.is_symlink());
        // Without state, a link keeps its target and attributes go to the target.
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
        let keep = json!({"path": ls, "mode": "0600"});
        let r = run(&env, keep.clone(), false).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_link(&link).unwrap(), other);
        assert_eq!(mode_of(&other), 0o600);
        assert!(!run(&env, keep, false).await.changed);
        // A link kept as itself (follow: false) gets its owner on the first run.
        let own = tmp.path().join("own link");
        let f = json!({"path": own.to_str().unwrap(), "src": other.to_str().unwrap(), "state": "link", "follow": false, "owner": "nobody"});
        let r = run(&env, f.clone(), false).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::symlink_metadata(&own).unwrap().uid(), 65534);
        assert_eq!(std::fs::metadata(&other).unwrap().uid(), 0);
        assert!(!run(&env, f, false).await.changed);
        // Hard link.
        let h = tmp.path().join("hard 'x'");
        let e =
            json!({"path": h.to_str().unwrap(), "src": other.to_str().unwrap(), "state": "hard"});
        let r = run(&env, e.clone(), false).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(
            std::fs::metadata(&h).unwrap().ino(),
            std::fs::metadata(&other).unwrap().ino()
        );
        assert!(!run(&env, e, false).await.changed);
        assert!(std::fs::read_dir(tmp.path()).unwrap().all(|e| {
            !e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".jig.")
        }));
        assert_not_pwned();
    }
}

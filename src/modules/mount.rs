//! The `mount` module (ansible.posix.mount): a mount point's line in fstab and its mounted
//! state, with the host's `mount`, `umount` and `mountpoint`.
//!
//! [`set_line`] and [`unset_line`] are the pure fstab edits, following ansible.posix on Linux
//! (fields escaped as `\040`, `\046`, `\134`; a changed line rewritten as
//! `src name fstype opts dump passno`; swap lines matched by source). The probe reads the
//! fstab and whether the path is a mount point in one round trip; the apply writes the fstab
//! atomically and runs the mount commands in one or two more.

use async_trait::async_trait;

use super::predict::{Predicted, PredictedPath};
use super::remote::{self, Frames, WriteOptions};
use super::textfile::{Stop, add_warnings, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The states the module knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Only the fstab line.
    Present,
    /// The fstab line and mounted.
    Mounted,
    /// Not mounted; fstab untouched.
    Unmounted,
    /// Remounted (always a change).
    Remounted,
    /// No fstab line, not mounted, mount point directory removed.
    Absent,
    /// No fstab line; the mount is left alone.
    AbsentFromFstab,
    /// Mounted without an fstab line.
    Ephemeral,
}

impl State {
    fn parse(s: &str) -> Option<State> {
        Some(match s {
            "present" => State::Present,
            "mounted" => State::Mounted,
            "unmounted" => State::Unmounted,
            "remounted" => State::Remounted,
            "absent" => State::Absent,
            "absent_from_fstab" => State::AbsentFromFstab,
            "ephemeral" => State::Ephemeral,
            _ => return None,
        })
    }
}

/// The fstab fields of the mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `src` (`None` when not given).
    pub src: Option<String>,
    /// `path`.
    pub name: String,
    /// `fstype`.
    pub fstype: Option<String>,
    /// `opts` (`defaults`), with `noauto` added when `boot: false`.
    pub opts: String,
    /// `dump`.
    pub dump: String,
    /// `passno`.
    pub passno: String,
}

/// fstab's escapes for space, `&` and backslash.
pub fn escape(v: &str) -> String {
    v.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

/// Python's text-mode `readlines()`.
fn readlines(text: &str) -> Vec<String> {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    unified.split_inclusive('\n').map(str::to_string).collect()
}

fn is_swap_of_other(fields: &[&str], name_field: &str, fstype: &str, src: Option<&str>) -> bool {
    src.is_some_and(|s| name_field == "none" && fstype == "swap" && fields[0] != s)
}

/// Adds or updates the entry's line; returns the new text and whether it changed.
pub fn set_line(text: &str, e: &Entry) -> (String, bool) {
    let src = escape(e.src.as_deref().unwrap_or_default());
    let name = escape(&e.name);
    let fstype = escape(e.fstype.as_deref().unwrap_or_default());
    let opts = escape(&e.opts);
    let dump = escape(&e.dump);
    let passno = escape(&e.passno);
    let mut out = String::new();
    let mut exists = false;
    let mut changed = false;
    for mut line in readlines(text) {
        if !line.ends_with('\n') {
            line.push('\n');
        }
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            out.push_str(&line);
            continue;
        }
        let fields: Vec<&str> = line
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if !(4..=6).contains(&fields.len()) {
            out.push_str(&line);
            continue;
        }
        let mut ld: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        // Ansible fills missing dump/passno with the integer 0, which never equals the
        // wanted string: a short line is always rewritten. A NUL stands for that 0.
        while ld.len() < 6 {
            ld.push("\0".into());
        }
        if ld[1] != name || is_swap_of_other(&fields, &ld[1], &ld[2], e.src.as_deref()) {
            out.push_str(&line);
            continue;
        }
        exists = true;
        let wanted = [
            (0, &src),
            (2, &fstype),
            (3, &opts),
            (4, &dump),
            (5, &passno),
        ];
        let mut line_changed = false;
        for (i, v) in wanted {
            if ld[i] != *v {
                ld[i] = v.clone();
                line_changed = true;
            }
        }
        // Ansible's `changed` stays set for every later matching line too.
        changed |= line_changed;
        if changed {
            out.push_str(&format!("{}\n", ld.join(" ")));
        } else {
            out.push_str(&line);
        }
    }
    if !exists {
        out.push_str(&format!("{src} {name} {fstype} {opts} {dump} {passno}\n"));
        changed = true;
    }
    (out, changed)
}

/// Removes the entry's lines (only complete six-field lines, as Ansible).
pub fn unset_line(text: &str, name: &str, src: Option<&str>) -> (String, bool) {
    let escaped = escape(name);
    let mut out = String::new();
    let mut changed = false;
    for line in readlines(text) {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            out.push_str(&line);
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 6
            || fields[1] != escaped
            || is_swap_of_other(&fields, fields[1], fields[2], src)
        {
            out.push_str(&line);
            continue;
        }
        changed = true;
    }
    (out, changed)
}

/// `-T FSTAB` when the fstab is not /etc/fstab.
fn fstab_args(c: &mut Cmd, fstab: &str) {
    if fstab != "/etc/fstab" {
        c.arg("-T").arg(fstab);
    }
}

/// The command that mounts the entry (`mount [-T fstab] NAME`, or for `ephemeral`
/// `mount -t TYPE [-o OPTS] SRC NAME`).
pub fn mount_cmd(e: &Entry, fstab: &str, ephemeral: bool, remount: Option<&str>) -> Cmd {
    let mut c = Cmd::new("mount");
    if let Some(opts) = remount {
        c.arg("-o").arg(opts);
    }
    if ephemeral {
        c.arg("-t").arg(e.fstype.as_deref().unwrap_or_default());
        if e.opts != "defaults" {
            c.arg("-o").arg(&e.opts);
        }
        c.arg(e.src.as_deref().unwrap_or_default());
    } else {
        fstab_args(&mut c, fstab);
    }
    c.arg(&e.name);
    c
}

/// Remount, falling back to umount and mount when the remount fails (Ansible's order).
pub fn remount_script(e: &Entry, fstab: &str, state: State) -> String {
    let opts = if state == State::Remounted && e.opts != "defaults" {
        format!("remount,{}", e.opts)
    } else {
        "remount".to_string()
    };
    let ephemeral = state == State::Ephemeral;
    let mut c = Cmd::empty();
    c.raw("if ! o=$(");
    c.raw(mount_cmd(e, fstab, ephemeral, Some(&opts)).as_str());
    c.raw("2>&1); then");
    if state == State::Remounted && e.opts != "defaults" {
        c.raw("printf '%s' \"$o\" >&2; exit 4; fi");
        return c.into_string();
    }
    let mut um = Cmd::new("umount");
    um.arg(&e.name);
    c.raw(um.as_str())
        .raw("&&")
        .raw(mount_cmd(e, fstab, ephemeral, None).as_str())
        .raw("; fi");
    c.into_string()
}

/// The `mount` module.
pub struct Mount;

const KNOWN: &[&str] = &[
    "boot",
    "dump",
    "fstab",
    "fstype",
    "path",
    "name",
    "opts",
    "opts_no_log",
    "passno",
    "src",
    "backup",
    "state",
];

#[async_trait]
impl Module for Mount {
    fn name(&self) -> &'static str {
        "mount"
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

async fn exec(ctx: &ModuleContext<'_>, script: String, what: &str) -> Result<(), Stop> {
    let out = remote::run(ctx, script, None).await.map_err(conn_err)?;
    if out.rc != 0 {
        let detail = format!("{}{}", out.stdout_str(), out.stderr_str());
        return Err(Stop::Fail(format!("{what}: {}", detail.trim())));
    }
    Ok(())
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(KNOWN)?;
    let name = match args.get_any(&["path", "name"]) {
        Some((k, _)) => args.req_str(k)?,
        None => return Err(args.error("missing required argument 'path'").into()),
    };
    let state_s = args.req_str("state")?;
    let state = State::parse(&state_s).ok_or_else(|| {
        args.invalid(
            "state",
            format!(
                "must be one of: absent, absent_from_fstab, mounted, present, unmounted, \
                 remounted, ephemeral, got: {state_s}"
            ),
        )
    })?;
    let src = args.str("src")?;
    let fstype = args.str("fstype")?;
    if matches!(state, State::Mounted | State::Present | State::Ephemeral)
        && (src.is_none() || fstype.is_none())
    {
        let missing: Vec<&str> = [("src", src.is_none()), ("fstype", fstype.is_none())]
            .iter()
            .filter(|(_, m)| *m)
            .map(|(n, _)| *n)
            .collect();
        return Err(Stop::Fail(format!(
            "state is {state_s} but all of the following are missing: {}",
            missing.join(", ")
        )));
    }
    let boot = args.bool_or("boot", true)?;
    let mut opts = args.str("opts")?.unwrap_or_else(|| "defaults".into());
    let mut warnings = Vec::new();
    let split: Vec<&str> = opts.split(',').collect();
    if boot && split.contains(&"noauto") {
        warnings.push("Ignore the 'boot' due to 'opts' contains 'noauto'.".to_string());
    } else if !boot {
        opts.push_str(",noauto");
    }
    let entry = Entry {
        src: src.clone(),
        name: name.clone(),
        fstype: fstype.clone(),
        opts,
        dump: args.str("dump")?.unwrap_or_else(|| "0".into()),
        passno: args.str("passno")?.unwrap_or_else(|| "0".into()),
    };
    let fstab = args.str("fstab")?.unwrap_or_else(|| "/etc/fstab".into());
    let backup = args.bool_or("backup", false)?;

    // Probe: is NAME a mount point, does it exist, and the fstab.
    let probe = remote::script(
        &[&name, &fstab],
        r#"if mountpoint -q -- "$1" 2>/dev/null; then printf '1\0'; else printf '0\0'; fi
if [ -e "$1" ]; then printf '1\0'; else printf '0\0'; fi
jig_stat "$2" -L || exit 1
if [ -f "$2" ]; then cat -- "$2" || exit 1; fi"#,
    );
    let out = remote::run(ctx, probe, None).await.map_err(conn_err)?;
    if out.rc != 0 {
        return Err(remote::host_error(&format!("cannot read {fstab}"), &out).into());
    }
    let mut f = Frames::new(&out.stdout);
    let mounted = f.next_record() == Some(b"1");
    let exists = f.next_record() == Some(b"1");
    let mut fstab_stat = f.stat(&fstab)?.map(|r| r.stat);
    let mut text = String::from_utf8_lossy(f.remainder()).into_owned();
    // In check mode the fstab an earlier task would have written is the one edited, so the
    // diff is the real run's.
    if ctx.check_mode {
        match ctx.predicted.follow(&fstab) {
            Some(Predicted::Absent) => {
                text.clear();
                fstab_stat = None;
            }
            Some(Predicted::Present(PredictedPath {
                stat,
                content: Some(bytes),
            })) => {
                text = String::from_utf8_lossy(&bytes).into_owned();
                fstab_stat = Some(stat);
            }
            Some(Predicted::Present(_)) | None => {}
        }
    }

    let (new_text, fstab_changed) = match state {
        State::Present | State::Mounted => set_line(&text, &entry),
        State::Absent | State::AbsentFromFstab => unset_line(&text, &name, src.as_deref()),
        _ => (text.clone(), false),
    };
    let (changed, action) = match state {
        State::Present | State::AbsentFromFstab => (fstab_changed, Action::None),
        State::Absent => (
            fstab_changed,
            if fstab_changed {
                Action::Remove { mounted, exists }
            } else {
                Action::None
            },
        ),
        State::Unmounted => (
            mounted,
            if mounted {
                Action::Umount
            } else {
                Action::None
            },
        ),
        State::Mounted => match (mounted, fstab_changed) {
            (true, true) => (true, Action::Remount),
            (true, false) => (false, Action::None),
            (false, _) => (true, Action::Mount { mkdir: !exists }),
        },
        State::Ephemeral => {
            if mounted {
                (true, Action::Remount)
            } else {
                (true, Action::Mount { mkdir: !exists })
            }
        }
        State::Remounted => (true, Action::Remount),
    };

    let mut result = ModuleResult {
        changed,
        ..ModuleResult::default()
    };
    if ctx.diff_mode && fstab_changed {
        result.diffs.push(Diff::Text {
            before_header: fstab.clone(),
            after_header: fstab.clone(),
            before: text.clone(),
            after: new_text.clone(),
        });
    }
    let mut backup_file = String::new();
    if ctx.check_mode && fstab_changed {
        ctx.predicted.put_file(
            &fstab,
            Some(new_text.as_bytes()),
            new_text.len() as u64,
            &remote::FileAttrs::default(),
            fstab_stat.as_ref(),
        );
    }
    if !ctx.check_mode {
        ctx.predicted.forget(&fstab);
        if fstab_changed {
            let written = remote::write_file(
                ctx,
                &fstab,
                new_text.as_bytes(),
                &remote::FileAttrs::default(),
                &WriteOptions {
                    backup: backup && fstab_stat.is_some(),
                    ..WriteOptions::default()
                },
            )
            .await?;
            backup_file = written.backup_file.unwrap_or_default();
        }
        match action {
            Action::None => {}
            Action::Umount => {
                let mut c = Cmd::new("umount");
                c.arg(&name);
                exec(ctx, c.into_string(), &format!("Error unmounting {name}")).await?;
            }
            Action::Remove { mounted, exists } => {
                let mut c = Cmd::empty();
                c.raw("true");
                if mounted {
                    c.raw("&& umount").arg(&name);
                }
                if exists {
                    c.raw("&& rmdir --").arg(&name);
                }
                exec(ctx, c.into_string(), &format!("Error unmounting {name}")).await?;
            }
            Action::Remount => {
                exec(
                    ctx,
                    remount_script(&entry, &fstab, state),
                    &format!("Error remounting {name}"),
                )
                .await?;
            }
            Action::Mount { mkdir } => {
                let mut c = Cmd::empty();
                if mkdir {
                    c.raw("mkdir -p --").arg(&name).raw("&&");
                }
                c.raw(mount_cmd(&entry, &fstab, state == State::Ephemeral, None).as_str());
                let r = exec(ctx, c.into_string(), &format!("Error mounting {name}")).await;
                if let Err(e) = r {
                    // Ansible puts the old fstab back when the mount fails.
                    if fstab_changed {
                        let _ = remote::write_file(
                            ctx,
                            &fstab,
                            text.as_bytes(),
                            &remote::FileAttrs::default(),
                            &WriteOptions::default(),
                        )
                        .await;
                    }
                    return Err(e);
                }
            }
        }
    }
    result
        .set("name", name)
        .set("opts", entry.opts.clone())
        .set("dump", entry.dump.clone())
        .set("passno", entry.passno.clone())
        .set("fstab", fstab)
        .set("boot", if boot { "yes" } else { "no" })
        .set("backup_file", backup_file);
    if let Some(s) = src {
        result.set("src", s);
    }
    if let Some(t) = fstype {
        result.set("fstype", t);
    }
    add_warnings(&mut result, &warnings);
    Ok(result)
}

/// The mount commands after the fstab edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    None,
    Umount,
    Remove { mounted: bool, exists: bool },
    Remount,
    Mount { mkdir: bool },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Entry {
        Entry {
            src: Some("tmpfs".into()),
            name: name.into(),
            fstype: Some("tmpfs".into()),
            opts: "size=1m".into(),
            dump: "0".into(),
            passno: "0".into(),
        }
    }

    /// Check mode edits the fstab an earlier check-mode task would write, and the real run
    /// edits the host's: the second line's diff shows the first in both.
    #[tokio::test]
    async fn check_mode_sees_the_lines_an_earlier_task_would_add() {
        use crate::modules::remote::testutil::Env;
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let fstab = tmp.path().join("fstab 'q' ü");
        std::fs::write(&fstab, "# base\n").unwrap();
        let args = |name: &str, state: &str| {
            let v = serde_json::json!({"path": name, "src": "tmpfs", "fstype": "tmpfs",
                "state": state, "fstab": fstab.to_str().unwrap()});
            ModuleArgs::new(
                "mount",
                v.as_object().unwrap().clone().into_iter().collect(),
            )
        };
        let diffs = |r: &ModuleResult| -> Vec<(String, String)> {
            r.diffs
                .iter()
                .map(|d| match d {
                    Diff::Text { before, after, .. } => (before.clone(), after.clone()),
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        let mut runs = Vec::new();
        for check in [true, false] {
            let mut seen = Vec::new();
            for (name, state) in [
                ("/mnt/a b", "present"),
                ("/mnt/c", "present"),
                ("/mnt/a b", "absent_from_fstab"),
            ] {
                let r = Mount
                    .run(&args(name, state), &env.ctx(check, true))
                    .await
                    .unwrap();
                assert!(r.changed && !r.failed, "{r:?}");
                seen.push(diffs(&r));
            }
            if check {
                assert_eq!(std::fs::read_to_string(&fstab).unwrap(), "# base\n");
            }
            runs.push(seen);
        }
        assert_eq!(runs[0], runs[1]);
        assert_eq!(
            runs[1][2],
            [(
                "# base\ntmpfs /mnt/a\\040b tmpfs defaults 0 0\ntmpfs /mnt/c tmpfs defaults 0 0\n"
                    .to_string(),
                "# base\ntmpfs /mnt/c tmpfs defaults 0 0\n".to_string()
            )]
        );
    }

    #[test]
    fn lines_added_updated_kept() {
        let fstab = "# comment\nUUID=x / ext4 errors=remount-ro 0 1\n";
        let (t, c) = set_line(fstab, &entry("/mnt/a b"));
        assert!(c);
        assert_eq!(t, format!("{fstab}tmpfs /mnt/a\\040b tmpfs size=1m 0 0\n"));
        let (t2, c2) = set_line(&t, &entry("/mnt/a b"));
        assert!(!c2);
        assert_eq!(t2, t);
        let mut e = entry("/mnt/a b");
        e.opts = "size=2m".into();
        let (t3, c3) = set_line(&t, &e);
        assert!(c3);
        assert!(t3.ends_with("tmpfs /mnt/a\\040b tmpfs size=2m 0 0\n"));
        // A four-field line counts with dump and passno 0.
        let (_, c4) = set_line("tmpfs /x tmpfs size=1m\n", &entry("/x"));
        assert!(c4, "the rewritten line gets its six fields");
        let (t5, c5) = set_line("tmpfs  /x\ttmpfs size=1m 0 0", &entry("/x"));
        assert!(!c5);
        assert_eq!(t5, "tmpfs  /x\ttmpfs size=1m 0 0\n");
    }

    #[test]
    fn lines_removed() {
        let fstab = "# c\ntmpfs /x tmpfs defaults 0 0\n/dev/sda2 none swap sw 0 0\n";
        let (t, c) = unset_line(fstab, "/x", None);
        assert!(c);
        assert_eq!(t, "# c\n/dev/sda2 none swap sw 0 0\n");
        let (t, c) = unset_line(fstab, "none", Some("/dev/sdb1"));
        assert!(!c);
        assert_eq!(t, fstab);
        assert!(unset_line(fstab, "none", Some("/dev/sda2")).1);
    }

    #[test]
    fn escapes() {
        assert_eq!(escape("a b&c\\d"), "a\\040b\\046c\\134d");
    }

    #[test]
    fn commands_quote_and_follow_ansible() {
        let e = entry("/mnt/$(touch p) 'x'");
        assert_eq!(
            mount_cmd(&e, "/etc/fstab", false, None).as_str(),
            "mount '/mnt/$(touch p) '\\''x'\\'''"
        );
        assert_eq!(
            mount_cmd(&e, "/etc/fstab.jig", true, None).as_str(),
            "mount -t tmpfs -o size=1m tmpfs '/mnt/$(touch p) '\\''x'\\'''"
        );
        let s = remount_script(&e, "/etc/fstab", State::Remounted);
        assert!(s.contains("mount -o remount,size=1m '/mnt/"), "{s}");
        assert!(s.contains("exit 4"), "{s}");
        let s = remount_script(&e, "/etc/fstab", State::Mounted);
        assert!(
            s.contains("umount '/mnt/$(touch p) '\\''x'\\''' && mount"),
            "{s}"
        );
    }
}

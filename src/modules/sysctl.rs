//! The `sysctl` module (ansible.posix.sysctl): a kernel parameter in a sysctl file
//! (`/etc/sysctl.conf` by default), optionally set at once with `sysctl -w` and reloaded with
//! `sysctl -p FILE`.
//!
//! [`fix_lines`] and [`decide`] are the pure part and follow ansible.posix's module: the file
//! is read line by line, stripped, the first `key=value` of each key kept (later duplicates
//! dropped), and when anything changes the whole file is rewritten in that normalised form.
//! The host sees one probe (the live value and the file, together) and then the writes. In
//! check mode the file is the one earlier check-mode tasks would have written
//! ([`super::predict`]), and the one this task would write is recorded there; the live value is
//! still the host's.
//!
//! Where `/proc/sys` is read-only (a container), Ansible fails after writing the file; jig
//! keeps the written file, does not fail, and says in a warning that the value was not applied.

use async_trait::async_trait;

use super::predict::{Predicted, PredictedPath};
use super::remote::{self, WriteOptions};
use super::textfile::{Stop, add_warnings, expand_path, finish, state_present};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// A value as Ansible normalises it: booleans become `1`/`0`, other strings are stripped.
pub fn parse_value(v: &str) -> String {
    match v.to_ascii_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => "1".into(),
        "n" | "no" | "off" | "0" | "false" | "f" => "0".into(),
        _ => v.trim().to_string(),
    }
}

/// Whether two values are equal word by word (`"4096 87380"` equals `"4096\t87380\n"`).
pub fn values_equal(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// The file's lines as Python's text-mode `readlines()` and `strip()` give them.
pub fn file_lines(text: &str) -> Vec<String> {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    unified
        .split_inclusive('\n')
        .map(|l| l.trim().to_string())
        .collect()
}

fn is_setting(line: &str) -> bool {
    let l = line.trim();
    !l.is_empty() && !l.starts_with(['#', ';']) && l.contains('=')
}

fn split_setting(line: &str) -> (String, String) {
    let (k, v) = line.trim().split_once('=').unwrap_or((line, ""));
    (k.trim().to_string(), v.trim().to_string())
}

/// The value the file gives `name` (the last assignment, as Ansible's dict keeps it).
pub fn file_value(lines: &[String], name: &str) -> Option<String> {
    lines
        .iter()
        .filter(|l| is_setting(l))
        .map(|l| split_setting(l))
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v)
        .next_back()
}

/// The file rewritten: each key's first assignment kept as `key=value`, `name` set to `value`
/// (or dropped when `value` is `None`), appended when missing.
pub fn fix_lines(lines: &[String], name: &str, value: Option<&str>) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out = String::new();
    for line in lines {
        if !is_setting(line) {
            out.push_str(line.trim());
            out.push('\n');
            continue;
        }
        let (k, v) = split_setting(line);
        if seen.contains(&k) {
            continue;
        }
        seen.push(k.clone());
        if k == name {
            if let Some(value) = value {
                out.push_str(&format!("{k}={}\n", value.trim()));
            }
        } else {
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    if let Some(value) = value
        && !seen.iter().any(|k| k == name)
    {
        out.push_str(&format!("{name}={}\n", value.trim()));
    }
    out
}

/// What the module will do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// The task reports a change.
    pub changed: bool,
    /// Rewrite the file.
    pub write_file: bool,
    /// Run `sysctl -w name=value`.
    pub set_proc: bool,
}

/// Ansible's decision, from the live value (`None` when `sysctl -n` failed), the file's value
/// and the arguments. `reload` follows `changed` and is decided by the caller.
pub fn decide(
    proc_value: Option<&str>,
    file_value: Option<&str>,
    value: &str,
    present: bool,
    reload: bool,
    sysctl_set: bool,
) -> Decision {
    let mut d = Decision::default();
    match file_value {
        None if present => {
            d.changed = true;
            d.write_file = true;
        }
        None => {}
        Some(f) if !f.is_empty() && !present => {
            d.changed = true;
            d.write_file = true;
        }
        Some(f) if f != value => {
            d.changed = true;
            d.write_file = true;
        }
        Some(_) if reload && !proc_value.is_some_and(|p| values_equal(p, value)) => {
            d.changed = true;
        }
        Some(_) => {}
    }
    if sysctl_set && present {
        match proc_value {
            None => d.changed = true,
            Some(p) if !values_equal(p, value) => {
                d.changed = true;
                d.set_proc = true;
            }
            Some(_) => {}
        }
    }
    d
}

/// Ansible's test of sysctl's stderr, which may report a failure with exit status 0.
pub fn stderr_failed(err: &str) -> bool {
    err.lines().any(|l| {
        l.strip_prefix("sysctl: setting key \"")
            .is_some_and(|rest| {
                rest.split_once('"').is_some_and(|(key, tail)| {
                    !key.is_empty()
                        && (tail == ": Invalid argument" || tail == ": Read-only file system")
                })
            })
    })
}

/// Whether a failure only says that `/proc/sys` cannot be written (a container).
pub fn read_only(out: &str) -> bool {
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("sysctl")).collect();
    !lines.is_empty()
        && lines
            .iter()
            .all(|l| l.ends_with("Read-only file system") || l.ends_with("Permission denied"))
}

/// The probe: the live value (`R<rc>\0<value>\0`) and the file (`jig_stat` records, then its
/// content). `$1` is the key, `$2` the file.
pub fn probe_script(name: &str, file: &str) -> String {
    remote::script(
        &[name, file],
        r#"if ! command -v sysctl >/dev/null 2>&1; then echo 'Failed to find required executable "sysctl"' >&2; exit 127; fi
_v=$(LC_ALL=C LANG=C sysctl -e -n "$1" 2>/dev/null && printf x)
printf 'R%s\0%s\0' "$?" "${_v%x}"
jig_stat "$2" -L || exit 1
if [ -f "$2" ]; then cat -- "$2" || exit 1; fi"#,
    )
}

/// `sysctl [-e] -w name=value`.
pub fn set_cmd(name: &str, value: &str, ignoreerrors: bool) -> String {
    let mut c = Cmd::empty();
    c.raw("LC_ALL=C LANG=C sysctl");
    if ignoreerrors {
        c.arg("-e");
    }
    c.arg("-w").arg(&format!("{name}={value}"));
    c.into_string()
}

/// `sysctl [-e] -p FILE`.
pub fn reload_cmd(file: &str, ignoreerrors: bool) -> String {
    let mut c = Cmd::empty();
    c.raw("LC_ALL=C LANG=C sysctl");
    if ignoreerrors {
        c.arg("-e");
    }
    c.arg("-p").arg(file);
    c.into_string()
}

/// The `sysctl` module.
pub struct Sysctl;

const KNOWN: &[&str] = &[
    "name",
    "key",
    "value",
    "val",
    "state",
    "reload",
    "sysctl_set",
    "ignoreerrors",
    "sysctl_file",
    "mode",
    "owner",
    "group",
    "seuser",
    "serole",
    "setype",
    "selevel",
    "attributes",
    "unsafe_writes",
];

#[async_trait]
impl Module for Sysctl {
    fn name(&self) -> &'static str {
        "sysctl"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(KNOWN)?;
    let name = match args.get_any(&["name", "key"]) {
        Some((k, _)) => args.req_str(k)?,
        None => return Err(args.error("missing required argument 'name'").into()),
    };
    let raw_value = match args.get_any(&["value", "val"]) {
        Some((k, _)) => args.str(k)?,
        None => None,
    };
    let present = state_present(args)?;
    if present && raw_value.is_none() {
        return Err(Stop::Fail(
            "state is present but all of the following are missing: value".into(),
        ));
    }
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(Stop::Fail("name cannot be blank".into()));
    }
    if present && raw_value.as_deref() == Some("") {
        return Err(Stop::Fail("value cannot be blank".into()));
    }
    let value = raw_value.as_deref().map(parse_value).unwrap_or_default();
    let reload = args.bool_or("reload", true)?;
    let sysctl_set = args.bool_or("sysctl_set", false)?;
    let ignoreerrors = args.bool_or("ignoreerrors", false)?;
    let file = args
        .str("sysctl_file")?
        .unwrap_or_else(|| "/etc/sysctl.conf".into());
    let file = expand_path(ctx, &file).await?;
    let attrs = remote::attrs_from_args(args)?;

    let out = remote::run_probe(
        ctx,
        probe_script(&name, &file),
        &format!("cannot read {file}"),
    )
    .await?;
    let mut frames = remote::Frames::new(&out.stdout);
    let bad = || Stop::Fail(format!("unexpected output probing {name} and {file}"));
    let rc_rec = frames.next_record().ok_or_else(bad)?;
    let live = frames.next_record().ok_or_else(bad)?;
    let proc_value = (rc_rec == b"R0").then(|| String::from_utf8_lossy(live).into_owned());
    let mut stat = frames.stat(&file)?.map(|r| r.stat);
    let mut text = match &stat {
        Some(s) if s.kind == remote::FileKind::File => {
            String::from_utf8_lossy(frames.remainder()).into_owned()
        }
        _ => String::new(),
    };
    // In check mode the file an earlier task would have written is the one planned against,
    // so the diff and the changed flag are the real run's.
    if ctx.check_mode {
        match ctx.predicted.follow(&file) {
            Some(Predicted::Absent) => {
                stat = None;
                text.clear();
            }
            Some(Predicted::Present(PredictedPath {
                stat: s,
                content: Some(bytes),
            })) => {
                stat = Some(s);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            Some(Predicted::Present(_)) | None => {}
        }
    }
    let lines = file_lines(&text);
    let old_value = file_value(&lines, &name);
    let mut d = decide(
        proc_value.as_deref(),
        old_value.as_deref(),
        &value,
        present,
        reload,
        sysctl_set,
    );
    let attr_plan = match &stat {
        Some(s) => remote::attr_changes(s, &attrs)?,
        None => remote::AttrPlan::default(),
    };
    if !attr_plan.is_empty() {
        d.changed = true;
    }
    let new_text = fix_lines(&lines, &name, present.then_some(value.as_str()));

    let mut result = ModuleResult {
        changed: d.changed,
        ..ModuleResult::default()
    };
    if ctx.diff_mode && d.write_file {
        result.diffs.push(Diff::Text {
            before_header: file.clone(),
            after_header: file.clone(),
            before: text.clone(),
            after: new_text.clone(),
        });
    }
    if ctx.diff_mode && !attr_plan.is_empty() {
        result
            .diffs
            .push(attr_plan.diff(format!("{file} (file attributes)")));
    }
    if ctx.check_mode {
        if d.write_file || !attr_plan.is_empty() {
            let bytes = if d.write_file {
                new_text.as_bytes()
            } else {
                text.as_bytes()
            };
            ctx.predicted.put_file(
                &file,
                Some(bytes),
                bytes.len() as u64,
                &attrs,
                stat.as_ref(),
            );
        }
        return Ok(result);
    }
    ctx.predicted.forget(&file);
    let mut warnings = Vec::new();
    if d.set_proc {
        let out = remote::run(ctx, set_cmd(&name, &value, ignoreerrors), None).await?;
        let all = format!("{}{}", out.stdout_str(), out.stderr_str());
        if out.rc != 0 || stderr_failed(&out.stderr_str()) {
            if read_only(&all) {
                warnings.push(format!(
                    "{name} was not set: /proc/sys is read-only on this host ({})",
                    all.trim()
                ));
            } else {
                return Err(Stop::Fail(format!("setting {name} failed: {all}")));
            }
        }
    }
    if d.write_file {
        remote::write_file(
            ctx,
            &file,
            new_text.as_bytes(),
            &attrs,
            &WriteOptions::default(),
        )
        .await?;
    } else if !attr_plan.is_empty() {
        remote::apply_attrs(ctx, &file, &attr_plan).await?;
    }
    if d.changed && reload {
        let out = remote::run(ctx, reload_cmd(&file, ignoreerrors), None).await?;
        let all = format!("{}{}", out.stdout_str(), out.stderr_str());
        if out.rc != 0 || stderr_failed(&out.stderr_str()) {
            if read_only(&out.stderr_str()) {
                warnings.push(format!(
                    "{file} was written but not applied: /proc/sys is read-only on this host ({})",
                    out.stderr_str().trim()
                ));
            } else {
                return Err(Stop::Fail(format!("Failed to reload sysctl: {all}")));
            }
        }
    }
    add_warnings(&mut result, &warnings);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, assert_not_pwned};

    #[test]
    fn values_are_normalised() {
        assert_eq!(parse_value("yes"), "1");
        assert_eq!(parse_value("Off"), "0");
        assert_eq!(parse_value(" 4096 87380 "), "4096 87380");
        assert!(values_equal("4096\t87380\n", "4096 87380"));
        assert!(!values_equal("1", "1 2"));
    }

    #[test]
    fn the_file_is_normalised_when_rewritten() {
        let lines = file_lines("# c\r\n  net.a = 1 \nnet.b=2\nnet.a=3\n\n; x\nnet.c\n");
        assert_eq!(file_value(&lines, "net.a").as_deref(), Some("3"));
        assert_eq!(
            fix_lines(&lines, "net.b", Some("5")),
            "# c\nnet.a=1\nnet.b=5\n\n; x\nnet.c\n"
        );
        assert_eq!(
            fix_lines(&lines, "net.a", None),
            "# c\nnet.b=2\n\n; x\nnet.c\n"
        );
        assert_eq!(
            fix_lines(&lines, "vm.new", Some("7")),
            "# c\nnet.a=1\nnet.b=2\n\n; x\nnet.c\nvm.new=7\n"
        );
        assert_eq!(fix_lines(&[], "k", Some("v")), "k=v\n");
    }

    #[test]
    fn decisions_follow_ansible() {
        // Missing from the file.
        let d = decide(Some("0"), None, "1", true, true, false);
        assert!(d.changed && d.write_file && !d.set_proc);
        // In the file, live value differs, reload: a change without a write.
        let d = decide(Some("0\n"), Some("1"), "1", true, true, false);
        assert!(d.changed && !d.write_file);
        let d = decide(Some("1\n"), Some("1"), "1", true, true, false);
        assert_eq!(d, Decision::default());
        // sysctl_set sets the live value.
        let d = decide(Some("0\n"), Some("1"), "1", true, false, true);
        assert!(d.changed && d.set_proc && !d.write_file);
        // Absent: only a non-empty file value is a change.
        assert!(decide(None, Some("1"), "", false, true, false).write_file);
        assert!(!decide(None, None, "", false, true, false).changed);
    }

    #[test]
    fn errors_are_recognised() {
        assert!(stderr_failed(
            "x\nsysctl: setting key \"net.a\": Invalid argument\n"
        ));
        assert!(!stderr_failed(
            "sysctl: cannot stat /proc/sys/x: No such file"
        ));
        assert!(read_only(
            "sysctl: setting key \"vm.x\": Read-only file system\n"
        ));
        assert!(!read_only(
            "sysctl: setting key \"vm.x\": Invalid argument\n"
        ));
    }

    #[test]
    fn commands_quote_values() {
        assert_eq!(
            set_cmd("net.a", "1 $(touch x)", true),
            "LC_ALL=C LANG=C sysctl -e -w 'net.a=1 $(touch x)'"
        );
        assert_eq!(
            reload_cmd("/etc/sysctl.d/a b.conf", false),
            "LC_ALL=C LANG=C sysctl -p '/etc/sysctl.d/a b.conf'"
        );
    }

    #[tokio::test]
    async fn probe_reads_a_hostile_file_name() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let f = tmp
            .path()
            .join("sys 'ct' $(touch jig-files-pwned) ünï.conf");
        std::fs::write(&f, "a=1\n").unwrap();
        let out = remote::run(
            &ctx,
            probe_script("kernel.ostype", f.to_str().unwrap()),
            None,
        )
        .await
        .unwrap();
        if out.rc == 127 {
            // No sysctl on this controller: nothing more to see here.
            return;
        }
        assert_eq!(out.rc, 0, "{}", out.stderr_str());
        let mut fr = remote::Frames::new(&out.stdout);
        assert_eq!(fr.next_record().unwrap(), b"R0");
        assert_eq!(fr.next_record().unwrap(), b"Linux\n");
        assert!(fr.stat("x").unwrap().is_some());
        assert_eq!(fr.remainder(), b"a=1\n");
        assert_not_pwned();
    }

    #[tokio::test]
    async fn check_mode_sees_the_lines_an_earlier_task_would_add() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let f = tmp.path().join("sys 'ct' $(x) ü.conf");
        std::fs::write(&f, "# kept\nnet.jig.gone = 1\n").unwrap();
        let file = f.to_str().unwrap().to_string();
        let run = |name: &'static str, value: Option<&'static str>| {
            let ctx = env.ctx(true, true);
            let mut v = serde_json::json!({"name": name, "sysctl_file": file, "reload": false});
            match value {
                Some(x) => v["value"] = x.into(),
                None => v["state"] = "absent".into(),
            }
            let a = ModuleArgs::new(
                "sysctl",
                v.as_object().unwrap().clone().into_iter().collect(),
            );
            async move { Sysctl.run(&a, &ctx).await.unwrap() }
        };
        let before = |r: &ModuleResult| match &r.diffs[..] {
            [Diff::Text { before, .. }] => before.clone(),
            other => panic!("{other:?}"),
        };
        let first = run("net.jig.a", Some("yes")).await;
        assert!(first.changed && !first.failed, "{first:?}");
        assert_eq!(before(&first), "# kept\nnet.jig.gone = 1\n");
        let second = run("net.jig.b", Some("20000  40000")).await;
        assert!(second.changed, "{second:?}");
        assert_eq!(before(&second), "# kept\nnet.jig.gone=1\nnet.jig.a=1\n");
        // The first value again: already in the predicted file.
        let again = run("net.jig.a", Some("1")).await;
        assert!(!again.changed, "{again:?}");
        let gone = run("net.jig.gone", None).await;
        assert!(gone.changed, "{gone:?}");
        assert_eq!(
            before(&gone),
            "# kept\nnet.jig.gone=1\nnet.jig.a=1\nnet.jig.b=20000  40000\n"
        );
        assert!(!run("net.jig.gone", None).await.changed);
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "# kept\nnet.jig.gone = 1\n",
            "check mode wrote nothing"
        );
    }
}

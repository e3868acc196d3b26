//! The `modprobe` module (community.general.modprobe): a kernel module loaded or unloaded
//! with the host's `modprobe`, and its persistence across reboots in
//! `/etc/modules-load.d/NAME.conf` (the name) and `/etc/modprobe.d/NAME.conf` (its
//! `options` lines).
//!
//! Whether the module is loaded is read as community.general reads it: `/proc/modules`, then
//! the kernel's `modules.builtin` (a host without that file fails, as in Ansible). A kernel
//! built without module support has no `/proc/modules`: jig reads that as "nothing loaded",
//! where Ansible fails. Loading and
//! unloading run `modprobe` (`modprobe -n`, a dry run, in check mode) and fail with its error
//! when it cannot. The persistent part edits files: a name line or `options NAME key=value`
//! lines found in any file of those directories count; disabling comments them out with `#`.
//! Ansible rewrites such a file with its lines joined by an extra newline; jig keeps the
//! file's lines as they were (see docs/differences.md).
//!
//! One probe reads the `modprobe` path, the loaded state and both directories; loading or
//! unloading is one round trip, the file writes one more.

use std::collections::BTreeSet;

use async_trait::async_trait;
use indexmap::IndexMap;
use regex::Regex;

use super::remote::{self, Frames};
use super::textfile::{Stop, add_warnings, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

const MODULES_LOAD: &str = "/etc/modules-load.d";
const MODPROBE_D: &str = "/etc/modprobe.d";

/// Whether the kernel has the module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// In `/proc/modules` or built in.
    Yes,
    /// Neither.
    No,
    /// Not in `/proc/modules`, and `modules.builtin` (this path) is missing.
    Unknown(String),
}

/// A directory's regular files and their content (`None`: no such directory).
pub type Files = Option<IndexMap<String, String>>;

/// What the probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probed {
    /// The `modprobe` command.
    pub modprobe: String,
    /// Whether the module is loaded.
    pub loaded: Loaded,
    /// `/etc/modules-load.d`.
    pub load_files: Files,
    /// `/etc/modprobe.d`.
    pub option_files: Files,
}

/// Shell functions shared by the probe and the load script: `jig_loaded NAME KERNEL_NAME`
/// prints `L` (loaded), `B` (built in), `N` (neither) or `E<path>` (no `modules.builtin`).
const LOADED_FN: &str = r#"jig_loaded() {
  if [ -r /proc/modules ]; then
    while IFS= read -r _l; do case $_l in "$2 "*) printf L; return 0 ;; esac; done </proc/modules
  fi
  _b=/lib/modules/$(uname -r)/modules.builtin
  if [ ! -f "$_b" ]; then printf 'E%s' "$_b"; return 0; fi
  while IFS= read -r _l; do case $_l in *"/$1.ko") printf B; return 0 ;; esac; done <"$_b"
  printf N
}
"#;

/// The probe script. `$1` is the module name, `$2` its kernel name (`-` as `_`).
pub fn probe_script(name: &str) -> String {
    let kname = name.replace('-', "_");
    remote::script(
        &[name, &kname],
        &format!(
            r#"{LOADED_FN}m=$(command -v modprobe 2>/dev/null) || {{ echo 'Failed to find required executable "modprobe" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' >&2; exit 127; }}
printf '%s\0' "$m"
jig_loaded "$1" "$2"; printf '\0'
for d in /etc/modules-load.d /etc/modprobe.d; do
  if [ -d "$d" ]; then
    printf 'D\0'
    for f in "$d"/* "$d"/.[!.]* "$d"/..?*; do
      [ -f "$f" ] || continue
      printf 'F\0%s\0%s\0' "$f" "$(wc -c <"$f")"; cat -- "$f"
    done
  else
    printf 'M\0'
  fi
  printf 'Z\0'
done"#
        ),
    )
}

fn parse_dir(f: &mut Frames<'_>) -> Option<Files> {
    let present = match f.next_record()? {
        b"D" => true,
        b"M" => false,
        _ => return None,
    };
    let mut files = IndexMap::new();
    loop {
        match f.next_record()? {
            b"Z" => break,
            b"F" => {
                let path = String::from_utf8_lossy(f.next_record()?).into_owned();
                let content = String::from_utf8_lossy(f.sized()?).into_owned();
                files.insert(path, content);
            }
            _ => return None,
        }
    }
    Some(present.then_some(files))
}

/// Parses the probe's output.
pub fn parse_probe(out: &[u8]) -> Option<Probed> {
    let mut f = Frames::new(out);
    let modprobe = String::from_utf8_lossy(f.next_record()?).into_owned();
    let loaded_rec = f.next_record()?;
    let loaded = match loaded_rec {
        b"L" | b"B" => Loaded::Yes,
        b"N" => Loaded::No,
        other => Loaded::Unknown(String::from_utf8_lossy(other.strip_prefix(b"E")?).into_owned()),
    };
    let load_files = parse_dir(&mut f)?;
    let option_files = parse_dir(&mut f)?;
    Some(Probed {
        modprobe,
        loaded,
        load_files,
        option_files,
    })
}

/// community.general's patterns for a module's lines, applied to each line with its newline.
pub struct Patterns {
    module_line: Regex,
    options_line: Regex,
}

impl Patterns {
    /// The patterns for module `name`.
    pub fn new(name: &str) -> Patterns {
        let n = regex::escape(name);
        Patterns {
            module_line: Regex::new(&format!(r"^ *{n} *(?:[#;].*)?\n?\z"))
                .expect("an escaped name makes a valid regex"),
            options_line: Regex::new(&format!(r"^options {n} (\w+=\S+) *(?:[#;].*)?\n?\z"))
                .expect("an escaped name makes a valid regex"),
        }
    }

    /// A file of `/etc/modules-load.d` names the module.
    pub fn loads(&self, files: &Files) -> bool {
        all_lines(files).any(|l| self.module_line.is_match(l))
    }

    /// The `key=value` parameters set by `options NAME key=value` lines.
    pub fn params(&self, files: &Files) -> BTreeSet<String> {
        all_lines(files)
            .filter_map(|l| self.options_line.captures(l))
            .map(|c| c[1].to_string())
            .collect()
    }
}

fn all_lines(files: &Files) -> impl Iterator<Item = &str> {
    files
        .iter()
        .flat_map(|m| m.values())
        .flat_map(|t| t.split_inclusive('\n'))
}

/// `text` with every line `re` matches commented out (`None` when none does).
pub fn comment_out(text: &str, re: &Regex) -> Option<String> {
    let mut changed = false;
    let out = text
        .split_inclusive('\n')
        .map(|l| {
            if re.is_match(l) {
                changed = true;
                format!("#{l}")
            } else {
                l.to_string()
            }
        })
        .collect();
    changed.then_some(out)
}

/// The persistence wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistent {
    /// Leave the files alone.
    Disabled,
    /// Load at boot, with the parameters.
    Present,
    /// Do not load at boot.
    Absent,
}

/// The file writes that make the persistence right: path -> (old content, new content).
pub fn plan_files(
    name: &str,
    params: &str,
    persistent: Persistent,
    p: &Probed,
) -> IndexMap<String, (Option<String>, String)> {
    let pat = Patterns::new(name);
    let mut writes: IndexMap<String, (Option<String>, String)> = IndexMap::new();
    let loads = pat.loads(&p.load_files);
    let current = pat.params(&p.option_files);
    let wanted: BTreeSet<String> = params.split_whitespace().map(str::to_string).collect();
    match persistent {
        Persistent::Disabled => {}
        Persistent::Present if !(loads && current == wanted) => {
            if !loads {
                let path = format!("{MODULES_LOAD}/{name}.conf");
                let old = p.load_files.as_ref().and_then(|m| m.get(&path).cloned());
                writes.insert(path, (old, format!("{name}\n")));
            }
            if current != wanted {
                disable(&p.option_files, &pat.options_line, &mut writes);
                let path = format!("{MODPROBE_D}/{name}.conf");
                let old = p.option_files.as_ref().and_then(|m| m.get(&path).cloned());
                let lines: Vec<String> = params
                    .split_whitespace()
                    .map(|w| format!("options {name} {w}"))
                    .collect();
                writes.insert(path, (old, lines.join("\n") + "\n"));
            }
        }
        Persistent::Present => {}
        Persistent::Absent => {
            if loads {
                disable(&p.load_files, &pat.module_line, &mut writes);
            }
            if !current.is_empty() {
                disable(&p.option_files, &pat.options_line, &mut writes);
            }
        }
    }
    writes
}

fn disable(files: &Files, re: &Regex, writes: &mut IndexMap<String, (Option<String>, String)>) {
    for (path, text) in files.iter().flatten() {
        if let Some(new) = comment_out(text, re) {
            writes.insert(path.clone(), (Some(text.clone()), new));
        }
    }
}

/// The persistence changes with something to do: Ansible reports a change even when a file
/// it rewrites ends up the same.
pub fn persistence_changes(name: &str, params: &str, persistent: Persistent, p: &Probed) -> bool {
    let pat = Patterns::new(name);
    let loads = pat.loads(&p.load_files);
    let current = pat.params(&p.option_files);
    let wanted: BTreeSet<String> = params.split_whitespace().map(str::to_string).collect();
    match persistent {
        Persistent::Disabled => false,
        Persistent::Present => !(loads && current == wanted),
        Persistent::Absent => loads || !current.is_empty(),
    }
}

/// The command that loads (`-n`: dry run) or unloads the module, and reports the state after a
/// real load: `L`/`B` loaded, `W<stderr>` when `modprobe --first-time` explains why not.
pub fn module_script(p: &Probed, name: &str, params: &[String], load: bool, dry: bool) -> String {
    let kname = name.replace('-', "_");
    let mut args: Vec<&str> = vec![&p.modprobe, name, &kname];
    args.extend(params.iter().map(String::as_str));
    let body = match (load, dry) {
        (true, true) => "\"$m\" -n \"$n\" \"$@\"".to_string(),
        (true, false) => format!(
            "{LOADED_FN}\"$m\" \"$n\" \"$@\" || exit $?\n_s=$(jig_loaded \"$n\" \"$k\")\n\
             case $_s in L|B) printf %s \"$_s\"; exit 0 ;; esac\n\
             _e=$(\"$m\" -n --first-time \"$n\" \"$@\" 2>&1 >/dev/null) || printf 'W%s' \"$_e\""
        ),
        (false, true) => "\"$m\" -r \"$n\" -n".to_string(),
        (false, false) => "\"$m\" -r \"$n\"".to_string(),
    };
    remote::script(&args, &format!("m=$1 n=$2 k=$3; shift 3\n{body}"))
}

/// The script writing each file (`printf > path`, keeping its inode and mode as Python's
/// `open(path, 'w')` does).
pub fn write_script(writes: &IndexMap<String, (Option<String>, String)>) -> String {
    let lines: Vec<String> = writes
        .iter()
        .map(|(path, (_, new))| {
            let mut c = Cmd::new("printf");
            c.arg("%s").arg(new).raw(">").arg(path).raw("|| exit 1");
            c.into_string()
        })
        .collect();
    lines.join("\n")
}

/// The `modprobe` module.
pub struct Modprobe;

#[async_trait]
impl Module for Modprobe {
    fn name(&self) -> &'static str {
        "modprobe"
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

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(&["name", "state", "params", "persistent"])?;
    let name = args.req_str("name")?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    if state != "present" && state != "absent" {
        return Err(args
            .invalid(
                "state",
                format!("must be one of: absent, present, got: {state}"),
            )
            .into());
    }
    let params = args.str("params")?.unwrap_or_default();
    let persistent = match args.str("persistent")?.as_deref().unwrap_or("disabled") {
        "disabled" => Persistent::Disabled,
        "present" => Persistent::Present,
        "absent" => Persistent::Absent,
        other => {
            return Err(args
                .invalid(
                    "persistent",
                    format!("must be one of: disabled, present, absent, got: {other}"),
                )
                .into());
        }
    };
    let words =
        crate::modules::command::shlex_split(&params).map_err(|e| args.invalid("params", e))?;
    let out = remote::run(ctx, probe_script(&name), None)
        .await
        .map_err(conn_err)?;
    if out.rc == 127 {
        return Err(Stop::Fail(out.stderr_str().trim().to_string()));
    }
    let p = parse_probe(&out.stdout).ok_or_else(|| {
        Stop::Fail(format!(
            "cannot read the state of kernel module {name}: {}",
            out.stderr_str().trim()
        ))
    })?;
    let mut result = ModuleResult::ok();
    result
        .set("name", name.clone())
        .set("params", params.clone())
        .set("state", state.clone());
    let loaded = match &p.loaded {
        Loaded::Yes => true,
        Loaded::No => false,
        Loaded::Unknown(path) => {
            return Err(Stop::Fail(format!(
                "[Errno 2] No such file or directory: '{path}'"
            )));
        }
    };
    let mut warnings = Vec::new();
    let load = state == "present";
    if load != loaded {
        let out = remote::run(
            ctx,
            module_script(&p, &name, &words, load, ctx.check_mode),
            None,
        )
        .await
        .map_err(conn_err)?;
        if out.rc != 0 {
            let mut failed = result.clone();
            failed.failed = true;
            failed.msg = Some(out.stderr_str());
            failed
                .set("rc", out.rc)
                .set("stdout", out.stdout_str())
                .set("stderr", out.stderr_str());
            return Ok(failed);
        }
        let said = out.stdout_str();
        if !load || ctx.check_mode || said == "L" || said == "B" {
            result.changed = true;
        } else if let Some(why) = said.strip_prefix('W') {
            warnings.push(why.to_string());
        }
    }
    if persistence_changes(&name, &params, persistent, &p) {
        result.changed = true;
        let writes = plan_files(&name, &params, persistent, &p);
        for dir in [MODULES_LOAD, MODPROBE_D] {
            let files = if dir == MODULES_LOAD {
                &p.load_files
            } else {
                &p.option_files
            };
            if files.is_none() && writes.keys().any(|k| k.starts_with(dir)) {
                return Err(Stop::Fail(format!(
                    "[Errno 2] No such file or directory: '{dir}/{name}.conf' ({dir} does not \
                     exist on the host)"
                )));
            }
        }
        if ctx.diff_mode {
            for (path, (old, new)) in &writes {
                if old.as_deref() != Some(new.as_str()) {
                    result.diffs.push(Diff::Text {
                        before_header: path.clone(),
                        after_header: path.clone(),
                        before: old.clone().unwrap_or_default(),
                        after: new.clone(),
                    });
                }
            }
        }
        if !ctx.check_mode && !writes.is_empty() {
            let out = remote::run(ctx, remote::script(&[], &write_script(&writes)), None)
                .await
                .map_err(conn_err)?;
            if out.rc != 0 {
                return Err(Stop::Fail(format!(
                    "cannot write the persistence files of {name}: {}",
                    out.stderr_str().trim()
                )));
            }
        }
    }
    add_warnings(&mut result, &warnings);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};

    fn probed(load: &[(&str, &str)], opts: &[(&str, &str)]) -> Probed {
        let files = |v: &[(&str, &str)]| {
            Some(
                v.iter()
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect(),
            )
        };
        Probed {
            modprobe: "/usr/sbin/modprobe".into(),
            loaded: Loaded::No,
            load_files: files(load),
            option_files: files(opts),
        }
    }

    #[test]
    fn lines_are_recognised_like_community_general() {
        let pat = Patterns::new("dummy");
        let p = probed(
            &[("/etc/modules-load.d/x.conf", "# c\n  dummy  # why\nother\n")],
            &[(
                "/etc/modprobe.d/x.conf",
                "options dummy numdummies=2\noptions dummy a=1 b=2\n#options dummy c=3\noptions dummyx d=4\n",
            )],
        );
        assert!(pat.loads(&p.load_files));
        assert_eq!(
            pat.params(&p.option_files).into_iter().collect::<Vec<_>>(),
            ["numdummies=2"]
        );
        assert!(!Patterns::new("dumm.").loads(&p.load_files));
        assert_eq!(
            comment_out("a\ndummy\nb", &pat.module_line).unwrap(),
            "a\n#dummy\nb"
        );
        assert_eq!(comment_out("a\n", &pat.module_line), None);
    }

    #[test]
    fn persistence_writes_the_files_ansible_writes() {
        let p = probed(&[], &[("/etc/modprobe.d/old.conf", "options dummy x=1\n")]);
        assert!(persistence_changes(
            "dummy",
            "numdummies=2 y=3",
            Persistent::Present,
            &p
        ));
        let w = plan_files("dummy", "numdummies=2 y=3", Persistent::Present, &p);
        assert_eq!(
            w["/etc/modules-load.d/dummy.conf"],
            (None, "dummy\n".to_string())
        );
        assert_eq!(w["/etc/modprobe.d/old.conf"].1, "#options dummy x=1\n");
        assert_eq!(
            w["/etc/modprobe.d/dummy.conf"].1,
            "options dummy numdummies=2\noptions dummy y=3\n"
        );
        // Converged: nothing to do.
        let p = probed(
            &[("/etc/modules-load.d/dummy.conf", "dummy\n")],
            &[(
                "/etc/modprobe.d/dummy.conf",
                "options dummy y=3\noptions dummy numdummies=2\n",
            )],
        );
        assert!(!persistence_changes(
            "dummy",
            "numdummies=2 y=3",
            Persistent::Present,
            &p
        ));
        // Absent comments both out.
        assert!(persistence_changes("dummy", "", Persistent::Absent, &p));
        let w = plan_files("dummy", "", Persistent::Absent, &p);
        assert_eq!(w["/etc/modules-load.d/dummy.conf"].1, "#dummy\n");
        assert_eq!(
            w["/etc/modprobe.d/dummy.conf"].1,
            "#options dummy y=3\n#options dummy numdummies=2\n"
        );
        assert!(!persistence_changes("dummy", "", Persistent::Disabled, &p));
        // No parameters: the options file is a bare newline, as in Ansible.
        let p = probed(&[], &[]);
        assert_eq!(
            plan_files("dummy", "", Persistent::Present, &p).len(),
            1,
            "no parameters wanted and none set: only the modules-load.d file"
        );
    }

    #[test]
    fn scripts_quote_hostile_values() {
        let p = probed(&[], &[]);
        let params = vec![format!("opt={HOSTILE}")];
        let s = module_script(&p, "dummy", &params, true, true);
        assert!(s.contains(&format!(
            "set -- /usr/sbin/modprobe dummy dummy {} ;",
            crate::connection::quote(&params[0])
        )));
        assert!(s.ends_with("\"$m\" -n \"$n\" \"$@\""));
        assert!(module_script(&p, "dummy", &[], false, false).ends_with("\"$m\" -r \"$n\""));
        let mut w = IndexMap::new();
        w.insert(
            format!("/tmp/{HOSTILE}"),
            (None, "x $(touch /tmp/jig-files-pwned)\n".to_string()),
        );
        let s = write_script(&w);
        assert!(s.starts_with("printf %s 'x $(touch /tmp/jig-files-pwned)\n' > '/tmp/we ird"));
    }

    #[tokio::test]
    async fn the_probe_and_a_dry_run_script_run_in_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::new(dir.path());
        let ctx = env.ctx(false, false);
        let out = remote::run(&ctx, probe_script(HOSTILE), None)
            .await
            .unwrap();
        if out.rc == 0 {
            let p = parse_probe(&out.stdout).expect("probe output parses");
            assert_ne!(p.loaded, Loaded::Yes);
        } else {
            assert_eq!(out.rc, 127, "{}", out.stderr_str());
            assert!(
                out.stderr_str()
                    .contains("Failed to find required executable")
            );
        }
        // The module script with a stand-in for modprobe that prints its words.
        let stand_in = dir.path().join("modprobe");
        std::fs::write(&stand_in, "#!/bin/sh\nprintf '[%s]' \"$@\"\n").unwrap();
        std::fs::set_permissions(
            &stand_in,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let p = Probed {
            modprobe: stand_in.display().to_string(),
            ..probed(&[], &[])
        };
        let out = remote::run(
            &ctx,
            module_script(&p, HOSTILE, &["a=$(x)".into()], true, true),
            None,
        )
        .await
        .unwrap();
        assert_eq!(out.stdout_str(), format!("[-n][{HOSTILE}][a=$(x)]"));
        assert_not_pwned();
    }
}

//! The `dpkg_divert` module (community.general.dpkg_divert): a dpkg diversion of a file,
//! added, changed or removed with the host's `dpkg-divert`.
//!
//! The probe reads, in one round trip, dpkg-divert's version, the current diversion
//! (`--listpackage`, `--truename`) and whether the files involved exist; [`plan`] decides on the
//! controller, as the Ansible module does, which dpkg-divert commands are needed; the apply
//! runs them in one more round trip (removing a file in the way when `force` allows it) and
//! reads the diversion back.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::json;

use super::remote::{self, Frames};
use super::textfile::{Stop, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// A diversion as Ansible reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diversion {
    /// The diverted path.
    pub path: String,
    /// Present or not.
    pub present: bool,
    /// Where the original goes (`--truename`), when present.
    pub divert: Option<String>,
    /// The package holding it, or `LOCAL`, when present.
    pub holder: Option<String>,
}

impl Diversion {
    /// Ansible's `diversion` result dictionary.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "path": self.path,
            "state": if self.present { "present" } else { "absent" },
            "divert": self.divert,
            "holder": self.holder,
        })
    }

    fn fields(&self) -> IndexMap<String, String> {
        let mut m = IndexMap::new();
        m.insert("path".into(), self.path.clone());
        m.insert(
            "state".into(),
            if self.present { "present" } else { "absent" }.into(),
        );
        m.insert(
            "divert".into(),
            self.divert.clone().unwrap_or_else(|| "None".into()),
        );
        m.insert(
            "holder".into(),
            self.holder.clone().unwrap_or_else(|| "None".into()),
        );
        m
    }
}

/// What the probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probed {
    /// dpkg-divert's version (`1.21.22`).
    pub version: String,
    /// The current diversion.
    pub before: Diversion,
    /// `path` exists.
    pub path_exists: bool,
    /// The wanted divert target exists.
    pub target_exists: bool,
    /// The current divert target exists.
    pub truename_exists: bool,
}

/// The task's arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    /// `path`.
    pub path: String,
    /// `state: present`.
    pub present: bool,
    /// `holder`.
    pub holder: Option<String>,
    /// `divert`.
    pub divert: Option<String>,
    /// `rename`.
    pub rename: bool,
    /// `force`.
    pub force: bool,
}

impl Want {
    /// The divert target Ansible uses: `divert`, else `PATH.distrib`.
    pub fn target(&self) -> String {
        self.divert
            .clone()
            .unwrap_or_else(|| format!("{}.distrib", self.path))
    }

    /// The diversion wanted.
    pub fn wanted(&self) -> Diversion {
        if self.present {
            Diversion {
                path: self.path.clone(),
                present: true,
                divert: Some(self.target()),
                holder: Some(
                    self.holder
                        .clone()
                        .filter(|h| !h.is_empty())
                        .unwrap_or_else(|| "LOCAL".into()),
                ),
            }
        } else {
            Diversion {
                path: self.path.clone(),
                present: false,
                divert: None,
                holder: None,
            }
        }
    }
}

/// Whether a dpkg version is at least `major.minor.patch` (LooseVersion on dotted numbers).
fn version_at_least(version: &str, min: [u64; 3]) -> bool {
    let parts: Vec<u64> = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    for (i, m) in min.iter().enumerate() {
        let v = parts.get(i).copied().unwrap_or(0);
        if v != *m {
            return v > *m;
        }
    }
    true
}

/// The main dpkg-divert command as Ansible builds it.
pub fn main_command(want: &Want, no_rename: bool) -> Vec<String> {
    let mut c = vec!["dpkg-divert".to_string()];
    if want.rename {
        c.push("--rename".into());
    } else if no_rename {
        c.push("--no-rename".into());
    }
    if want.present {
        match want.holder.as_deref() {
            Some(h) if !h.is_empty() && h != "LOCAL" => {
                c.push("--package".into());
                c.push(h.into());
            }
            _ => c.push("--local".into()),
        }
        if let Some(d) = &want.divert {
            c.push("--divert".into());
            c.push(d.clone());
        }
        c.push("--add".into());
    } else {
        c.push("--remove".into());
    }
    c.push(want.path.clone());
    c
}

/// What the apply does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing: the diversion is as wanted.
    Keep,
    /// Add or remove the diversion with the main command. When it fails because of a file
    /// in the way (`conflict`), `force` allows removing `to_remove` and trying again.
    Switch {
        /// The command.
        command: Vec<String>,
        /// A rename would overwrite a file: dpkg-divert refuses.
        conflict: bool,
        /// The file removed first under `force`.
        to_remove: String,
    },
    /// Change holder or target: remove the diversion, add it again, move the diverted file.
    Modify {
        /// `dpkg-divert [--no-rename] --remove PATH`.
        remove: Vec<String>,
        /// The main command (without `--rename`).
        add: Vec<String>,
        /// The old and new divert targets, when they differ.
        moved: Option<(String, String)>,
    },
}

/// Decides the commands; fails as Ansible does for an old dpkg or a refused rename.
pub fn plan(want: &Want, p: &Probed) -> Result<Plan, String> {
    if !version_at_least(&p.version, [1, 15, 0]) {
        return Err("Unsupported dpkg version (<1.15.0).".into());
    }
    let no_rename = version_at_least(&p.version, [1, 19, 1]);
    let wanted = want.wanted();
    if wanted == p.before {
        return Ok(Plan::Keep);
    }
    let command = main_command(want, no_rename);
    if want.present != p.before.present {
        let conflict = want.rename
            && p.path_exists
            && ((!want.present && p.truename_exists) || (want.present && p.target_exists));
        if conflict && !want.force {
            return Err("Set 'force' param to True to force renaming of files.".into());
        }
        let to_remove = if want.present {
            want.target()
        } else {
            want.path.clone()
        };
        return Ok(Plan::Switch {
            command,
            conflict,
            to_remove,
        });
    }
    let mut remove = vec!["dpkg-divert".to_string()];
    if no_rename {
        remove.push("--no-rename".into());
    }
    remove.push("--remove".into());
    remove.push(want.path.clone());
    let mut add = command;
    if want.rename {
        add.retain(|w| w != "--rename");
        if no_rename {
            add.insert(1, "--no-rename".into());
        }
    }
    let moved = match (&p.before.divert, &wanted.divert) {
        (Some(old), Some(new)) if old != new => Some((old.clone(), new.clone())),
        _ => None,
    };
    Ok(Plan::Modify { remove, add, moved })
}

/// The probe script: `$1` path, `$2` wanted target. Prints the version line, the holder and
/// true name (empty when not diverted), and `1`/`0` for path, target and true name existing.
pub fn probe_script(path: &str, target: &str) -> String {
    let mut c = Cmd::empty();
    c.raw("set --").arg(path).arg(target).raw(";\n");
    c.raw(
        r#"if ! command -v dpkg-divert >/dev/null 2>&1; then echo 'Failed to find required executable "dpkg-divert"' >&2; exit 127; fi
v=$(LC_ALL=C dpkg-divert --version | head -n 1) || exit 1
h=$(LC_ALL=C dpkg-divert --listpackage "$1") || exit 1
t=
if [ -n "$h" ]; then t=$(LC_ALL=C dpkg-divert --truename "$1") || exit 1; fi
e() { if [ -n "$1" ] && { [ -e "$1" ] || [ -L "$1" ]; }; then printf '1\0'; else printf '0\0'; fi; }
printf '%s\0%s\0%s\0' "$v" "$h" "$t"
e "$1"; e "$2"; e "$t""#,
    );
    c.into_string()
}

fn words(cmd: &[String]) -> Cmd {
    let mut c = Cmd::empty();
    c.args(cmd);
    c
}

/// The apply script for a plan (`None` for [`Plan::Keep`]). It prints each command's output
/// as `O<text>\0`, then the diversion read back (holder and true name, NUL-terminated).
/// Exit status 3: a command failed (its output follows as `F<text>\0`).
pub fn apply_script(plan: &Plan) -> Option<String> {
    let mut c = Cmd::empty();
    c.raw("LC_ALL=C; export LC_ALL\n");
    c.raw("run() { if o=$(\"$@\" 2>&1); then printf 'O%s\\0' \"$o\"; else printf 'F%s\\0' \"$o\"; exit 3; fi; }\n");
    match plan {
        Plan::Keep => return None,
        Plan::Switch {
            command,
            conflict,
            to_remove,
        } => {
            if *conflict {
                // `force` was checked by `plan`: the file in the way goes first.
                c.raw("rm -f --").arg(to_remove).raw("|| exit 1\n");
            }
            c.raw("run").raw(words(command).as_str()).raw("\n");
        }
        Plan::Modify { remove, add, moved } => {
            c.raw("run").raw(words(remove).as_str()).raw("\n");
            c.raw("run").raw(words(add).as_str()).raw("\n");
            if let Some((old, new)) = moved {
                c.raw("if [ -e")
                    .arg(old)
                    .raw("] && [ ! -e")
                    .arg(new)
                    .raw("]; then mv -f --")
                    .arg(old)
                    .arg(new)
                    .raw("2>/dev/null; fi\n");
            }
        }
    }
    c.raw("set --").arg(match plan {
        Plan::Switch { command, .. } => command.last().map_or("", String::as_str),
        Plan::Modify { add, .. } => add.last().map_or("", String::as_str),
        Plan::Keep => "",
    });
    c.raw(
        ";\nh=$(LC_ALL=C dpkg-divert --listpackage \"$1\") || exit 1\nt=\nif [ -n \"$h\" ]; then t=$(LC_ALL=C dpkg-divert --truename \"$1\") || exit 1; fi\nprintf 'R%s\\0%s\\0' \"$h\" \"$t\"",
    );
    Some(c.into_string())
}

fn diversion(path: &str, holder: &str, truename: &str) -> Diversion {
    let holder = holder.trim_end();
    if holder.is_empty() {
        Diversion {
            path: path.into(),
            present: false,
            divert: None,
            holder: None,
        }
    } else {
        Diversion {
            path: path.into(),
            present: true,
            divert: Some(truename.trim_end().to_string()),
            holder: Some(holder.to_string()),
        }
    }
}

/// The `dpkg_divert` module.
pub struct DpkgDivert;

const KNOWN: &[&str] = &["path", "state", "holder", "divert", "rename", "force"];

#[async_trait]
impl Module for DpkgDivert {
    fn name(&self) -> &'static str {
        "dpkg_divert"
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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(KNOWN)?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let present = match state.as_str() {
        "present" => true,
        "absent" => false,
        other => {
            return Err(args
                .invalid(
                    "state",
                    format!("must be one of: absent, present, got: {other}"),
                )
                .into());
        }
    };
    let want = Want {
        path: args.req_str("path")?,
        present,
        holder: args.str("holder")?,
        divert: args.str("divert")?,
        rename: args.bool_or("rename", false)?,
        force: args.bool_or("force", false)?,
    };
    let out = remote::run(ctx, probe_script(&want.path, &want.target()), None)
        .await
        .map_err(conn_err)?;
    if out.rc != 0 {
        return Err(Stop::Fail(format!(
            "dpkg-divert failed: {}",
            out.stderr_str().trim()
        )));
    }
    let mut f = Frames::new(&out.stdout);
    let mut next = || f.next_record().map(text).unwrap_or_default();
    let version_line = next();
    let version = version_line
        .split_whitespace()
        .find(|w| {
            let mut it = w.split('.');
            it.next()
                .is_some_and(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_digit()))
                && it
                    .next()
                    .is_some_and(|b| b.starts_with(|c: char| c.is_ascii_digit()))
        })
        .unwrap_or_default()
        .to_string();
    let holder = next();
    let truename = next();
    let probed = Probed {
        version,
        before: diversion(&want.path, &holder, &truename),
        path_exists: next() == "1",
        target_exists: next() == "1",
        truename_exists: next() == "1",
    };
    let plan = plan(&want, &probed).map_err(Stop::Fail)?;
    let before = probed.before.clone();
    let wanted = want.wanted();
    let commands: Vec<String> = match &plan {
        Plan::Keep => {
            vec![main_command(&want, version_at_least(&probed.version, [1, 19, 1])).join(" ")]
        }
        Plan::Switch { command, .. } => vec![command.join(" ")],
        Plan::Modify { remove, add, .. } => vec![remove.join(" "), add.join(" ")],
    };
    let mut result = ModuleResult::ok();
    let after = if ctx.check_mode || plan == Plan::Keep {
        result.set("messages", Vec::<String>::new());
        wanted.clone()
    } else {
        let script = apply_script(&plan).ok_or_else(|| Stop::Fail("nothing to apply".into()))?;
        let out = remote::run(ctx, script, None).await.map_err(conn_err)?;
        let mut f = Frames::new(&out.stdout);
        let mut messages = Vec::new();
        let mut readback = Vec::new();
        let mut failure = None;
        while let Some(rec) = f.next_record() {
            match rec.first() {
                Some(b'O') => messages.push(text(&rec[1..]).trim_end().to_string()),
                Some(b'F') => failure = Some(text(&rec[1..])),
                Some(b'R') => {
                    readback.push(text(&rec[1..]));
                    if let Some(t) = f.next_record() {
                        readback.push(text(t));
                    }
                }
                _ => {}
            }
        }
        if out.rc != 0 || readback.len() != 2 {
            let detail = failure.unwrap_or_else(|| out.stderr_str().trim().to_string());
            let mut r = ModuleResult::failed(if out.rc == 3 {
                "Unexpected error while changing state of the diversion.".to_string()
            } else {
                format!("dpkg-divert failed: {detail}")
            });
            r.set("stderr", detail)
                .set("rc", out.rc)
                .set("diversion", before.to_json())
                .set("cmd", commands.last().cloned().unwrap_or_default());
            return Ok(r);
        }
        result.set("messages", messages);
        diversion(&want.path, &readback[0], &readback[1])
    };
    result.changed = after != before;
    result
        .set("diversion", after.to_json())
        .set("commands", commands);
    if ctx.diff_mode && result.changed {
        result.diffs.push(Diff::Fields {
            path: want.path.clone(),
            before: before.fields(),
            after: after.fields(),
        });
    }
    if after != wanted {
        result.failed = true;
        result.msg = Some("Unexpected error: see stdout and stderr for details.".into());
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(present: bool) -> Want {
        Want {
            path: "/etc/a b".into(),
            present,
            holder: None,
            divert: None,
            rename: false,
            force: false,
        }
    }

    fn probed(before: Diversion) -> Probed {
        Probed {
            version: "1.21.22".into(),
            before,
            path_exists: true,
            target_exists: false,
            truename_exists: false,
        }
    }

    #[test]
    fn versions() {
        assert!(version_at_least("1.21.22", [1, 19, 1]));
        assert!(!version_at_least("1.15.0", [1, 19, 1]));
        assert!(version_at_least("1.15", [1, 15, 0]));
        assert!(!version_at_least("1.14.9", [1, 15, 0]));
    }

    #[test]
    fn add_keep_modify_remove() {
        let absent = want(false).wanted();
        let w = want(true);
        let p = plan(&w, &probed(absent.clone())).unwrap();
        assert_eq!(
            p,
            Plan::Switch {
                command: ["dpkg-divert", "--no-rename", "--local", "--add", "/etc/a b"]
                    .map(String::from)
                    .to_vec(),
                conflict: false,
                to_remove: "/etc/a b.distrib".into(),
            }
        );
        assert_eq!(plan(&w, &probed(w.wanted())).unwrap(), Plan::Keep);
        let mut w2 = w.clone();
        w2.divert = Some("/etc/a b.orig".into());
        w2.rename = true;
        match plan(&w2, &probed(w.wanted())).unwrap() {
            Plan::Modify { remove, add, moved } => {
                assert_eq!(
                    remove,
                    ["dpkg-divert", "--no-rename", "--remove", "/etc/a b"]
                );
                assert_eq!(add[1], "--no-rename");
                assert!(!add.contains(&"--rename".to_string()));
                assert_eq!(
                    moved,
                    Some(("/etc/a b.distrib".into(), "/etc/a b.orig".into()))
                );
            }
            other => panic!("{other:?}"),
        }
        let p = plan(&want(false), &probed(w.wanted())).unwrap();
        assert!(
            matches!(p, Plan::Switch { ref command, .. } if command.contains(&"--remove".to_string()))
        );
    }

    #[test]
    fn renames_over_a_file_need_force() {
        let mut w = want(true);
        w.rename = true;
        let mut p = probed(want(false).wanted());
        p.target_exists = true;
        assert_eq!(
            plan(&w, &p).unwrap_err(),
            "Set 'force' param to True to force renaming of files."
        );
        w.force = true;
        let s = apply_script(&plan(&w, &p).unwrap()).unwrap();
        assert!(s.contains("rm -f -- '/etc/a b.distrib' || exit 1"), "{s}");
        assert!(
            s.contains("run dpkg-divert --rename --local --add '/etc/a b'"),
            "{s}"
        );
        assert!(
            plan(
                &w,
                &Probed {
                    version: "1.14".into(),
                    ..p
                }
            )
            .is_err()
        );
    }

    #[test]
    fn scripts_quote_hostile_paths() {
        let s = probe_script("/x/$(touch p) 'q'", "/x/t\nü");
        assert!(
            s.starts_with("set -- '/x/$(touch p) '\\''q'\\''' '/x/t\nü' ;"),
            "{s}"
        );
        let mut w = want(true);
        w.path = "/x/`touch p`".into();
        let s = apply_script(&plan(&w, &probed(want(false).wanted())).unwrap()).unwrap();
        assert!(s.contains("--add '/x/`touch p`'"), "{s}");
    }
}

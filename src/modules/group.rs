//! The `group` module: create, renumber or delete a local group with `groupadd`, `groupmod`
//! and `groupdel`, as Ansible's `group` module does on Linux.
//!
//! One round trip probes the group database (`getent group`); the plan is made on the
//! controller; one more round trip runs the planned command and reads the group back. Check
//! mode stops after the plan and reports what Ansible reports (a bare `changed` when the group
//! would be created or deleted).

use async_trait::async_trait;
use serde_json::json;

use super::accounts::{self, GroupEnt};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `group` module.
pub struct Group;

const KNOWN: &[&str] = &[
    "name",
    "state",
    "gid",
    "system",
    "force",
    "local",
    "non_unique",
    "gid_min",
    "gid_max",
];

/// The group the task asks for.
#[derive(Clone, Debug, PartialEq)]
struct Spec {
    name: String,
    present: bool,
    gid: Option<i64>,
    system: bool,
    force: bool,
    non_unique: bool,
    gid_min: Option<i64>,
    gid_max: Option<i64>,
}

impl Spec {
    fn from_args(args: &ModuleArgs) -> Result<Spec, ModuleError> {
        args.check_known(KNOWN)?;
        let present = match args.str("state")?.as_deref() {
            None | Some("present") => true,
            Some("absent") => false,
            Some(other) => {
                return Err(args
                    .invalid(
                        "state",
                        format!("must be one of: absent, present, got '{other}'"),
                    )
                    .into());
            }
        };
        if args.bool_or("local", false)? {
            return Err(args
                .error(
                    "'local: true' needs libuser's lgroupadd/lgroupdel, which jig does not drive; \
                     drop 'local' to use groupadd/groupdel",
                )
                .into());
        }
        let spec = Spec {
            name: args.req_str("name")?,
            present,
            gid: args.int("gid")?,
            system: args.bool_or("system", false)?,
            force: args.bool_or("force", false)?,
            non_unique: args.bool_or("non_unique", false)?,
            gid_min: args.int("gid_min")?,
            gid_max: args.int("gid_max")?,
        };
        if spec.non_unique && spec.gid.is_none() {
            return Err(args
                .error("non_unique is True but all of the following are missing: gid")
                .into());
        }
        Ok(spec)
    }
}

/// What to do: the command to run, if any.
#[derive(Clone, Debug, PartialEq)]
enum Plan {
    Nothing,
    Add(Vec<String>),
    Modify(Vec<String>),
    Delete(Vec<String>),
}

fn plan(spec: &Spec, groups: &[GroupEnt]) -> Plan {
    let current = groups.iter().find(|g| g.name == spec.name);
    let s = |v: &str| v.to_string();
    match (spec.present, current) {
        (false, None) => Plan::Nothing,
        (false, Some(_)) => {
            let mut argv = vec![s("groupdel")];
            if spec.force {
                argv.push(s("-f"));
            }
            argv.push(spec.name.clone());
            Plan::Delete(argv)
        }
        (true, None) => {
            let mut argv = vec![s("groupadd")];
            if let Some(gid) = spec.gid {
                argv.extend([s("-g"), gid.to_string()]);
                if spec.non_unique {
                    argv.push(s("-o"));
                }
            }
            if spec.system {
                argv.push(s("-r"));
            }
            if let Some(min) = spec.gid_min {
                argv.extend([s("-K"), format!("GID_MIN={min}")]);
            }
            if let Some(max) = spec.gid_max {
                argv.extend([s("-K"), format!("GID_MAX={max}")]);
            }
            argv.push(spec.name.clone());
            Plan::Add(argv)
        }
        (true, Some(g)) => match spec.gid {
            Some(gid) if i64::from(g.gid) != gid => {
                let mut argv = vec![s("groupmod"), s("-g"), gid.to_string()];
                if spec.non_unique {
                    argv.push(s("-o"));
                }
                argv.push(spec.name.clone());
                Plan::Modify(argv)
            }
            _ => Plan::Nothing,
        },
    }
}

/// The apply script: the command (its output on stderr), then the group's record.
fn apply_script(name: &str, argv: &[String]) -> String {
    format!(
        "{}{} >&2 || exit $?\n{}",
        accounts::export_name(name),
        accounts::render(argv),
        accounts::record_of("group")
    )
}

#[async_trait]
impl Module for Group {
    fn name(&self) -> &'static str {
        "group"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let spec = Spec::from_args(args)?;
        let out = accounts::exec(ctx, "getent group".to_string()).await?;
        if out.rc != 0 && out.rc != 2 {
            return Ok(ModuleResult::failed(format!(
                "cannot read the group database: {}",
                accounts::error_text(&out)
            )));
        }
        let groups = accounts::parse_groups(&out.stdout_str());
        let plan = plan(&spec, &groups);
        let argv = match &plan {
            Plan::Nothing => None,
            Plan::Add(a) | Plan::Modify(a) | Plan::Delete(a) => Some(a),
        };
        if ctx.check_mode && matches!(plan, Plan::Add(_) | Plan::Delete(_)) {
            if matches!(plan, Plan::Add(_)) {
                ctx.predicted.put_group(&spec.name);
            }
            // Ansible exits with a bare `changed` here.
            return Ok(ModuleResult::changed());
        }
        let mut r = ModuleResult::ok();
        r.set("name", spec.name.clone())
            .set("state", if spec.present { "present" } else { "absent" });
        let mut now = groups.iter().find(|g| g.name == spec.name).cloned();
        if let Some(argv) = argv {
            r.changed = true;
            if !ctx.check_mode {
                let out = accounts::exec(ctx, apply_script(&spec.name, argv)).await?;
                if out.rc != 0 {
                    let mut f = ModuleResult::failed(accounts::error_text(&out));
                    f.set("name", spec.name.clone());
                    return Ok(f);
                }
                let err = out.stderr_str();
                if !err.trim().is_empty() {
                    r.set("stderr", err);
                }
                now = accounts::parse_group(out.stdout_str().trim_end());
            }
        }
        if let Some(g) = now.filter(|_| spec.present) {
            r.set("system", spec.system).set("gid", json!(g.gid));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn spec(v: Json) -> Spec {
        Spec::from_args(&ModuleArgs::new(
            "group",
            v.as_object().unwrap().clone().into_iter().collect(),
        ))
        .unwrap()
    }

    fn db() -> Vec<GroupEnt> {
        accounts::parse_groups("root:x:0:\nstaff:x:50:al\nweb ✓:x:1200:\n")
    }

    #[test]
    fn plans_add_modify_delete() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            plan(
                &spec(json!({"name": "new", "gid": 1500, "system": true})),
                &db()
            ),
            Plan::Add(s(&["groupadd", "-g", "1500", "-r", "new"]))
        );
        assert_eq!(
            plan(&spec(json!({"name": "staff", "gid": "50"})), &db()),
            Plan::Nothing
        );
        assert_eq!(
            plan(
                &spec(json!({"name": "staff", "gid": 0, "non_unique": true})),
                &db()
            ),
            Plan::Modify(s(&["groupmod", "-g", "0", "-o", "staff"]))
        );
        assert_eq!(
            plan(
                &spec(json!({"name": "web ✓", "state": "absent", "force": "yes"})),
                &db()
            ),
            Plan::Delete(s(&["groupdel", "-f", "web ✓"]))
        );
        assert_eq!(
            plan(&spec(json!({"name": "gone", "state": "absent"})), &db()),
            Plan::Nothing
        );
    }

    #[test]
    fn hostile_names_are_quoted_and_arguments_checked() {
        let name = "g $(touch PWNED) 'q'\nü";
        let Plan::Add(argv) = plan(&spec(json!({"name": name})), &db()) else {
            panic!()
        };
        let script = apply_script(name, &argv);
        assert!(
            script.contains("groupadd 'g $(touch PWNED) '\\''q'\\''\nü' >&2 || exit $?"),
            "{script}"
        );
        let bad = Spec::from_args(&ModuleArgs::new(
            "group",
            json!({"name": "x", "non_unique": true})
                .as_object()
                .unwrap()
                .clone()
                .into_iter()
                .collect(),
        ));
        assert!(bad.unwrap_err().to_string().contains("missing: gid"));
    }
}

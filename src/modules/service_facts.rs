//! The `service_facts` module: `ansible_facts.services` in Ansible's shape (name -> name,
//! state, source, and status for systemd units), from `service --status-all` on sysvinit
//! hosts and `systemctl list-units`/`list-unit-files` (plus `show` of the units not loaded)
//! on systemd hosts, all in one round trip.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::accounts;
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `service_facts` module.
pub struct ServiceFacts;

/// Prints four records: `service --status-all` (when there is a `service` tool and neither
/// `chkconfig` nor `rc-status`), whether systemd runs (Ansible's `is_systemd_managed`:
/// `systemctl` and a canary, or PID 1 named `systemd`), `list-units`, and `list-unit-files`
/// with each unit's `ActiveState` appended as a third column.
const SCRIPT: &str = r#"PATH=$PATH:/sbin:/usr/sbin:/bin:/usr/bin; export PATH; LC_ALL=C; export LC_ALL
if command -v service >/dev/null && ! command -v chkconfig >/dev/null && ! command -v rc-status >/dev/null; then service --status-all 2>/dev/null; fi; printf '\0'
jig_sd=
if command -v systemctl >/dev/null; then
  for jig_d in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$jig_d" ] && jig_sd=yes; done
  [ "$(head -n 1 /proc/1/comm 2>/dev/null)" = systemd ] && jig_sd=yes
fi
if [ -n "$jig_sd" ]; then
  printf S; printf '\0'
  systemctl list-units --no-pager --type service --all --plain 2>/dev/null; printf '\0'
  systemctl list-unit-files --no-pager --type service --all 2>/dev/null | while read -r jig_u jig_s jig_rest; do
    case $jig_u in *.service) printf '%s %s %s\n' "$jig_u" "$jig_s" "$(systemctl show "$jig_u" --property=ActiveState 2>/dev/null | sed 's/^ActiveState=//')" ;; esac
  done; printf '\0'
else
  printf '\0\0\0'
fi
"#;

fn sysv(out: &str, services: &mut Map<String, Json>) {
    for line in out.lines() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("[ ") else {
            continue;
        };
        let mut chars = rest.chars();
        let state = match chars.next() {
            Some('+') => "running",
            Some('-') => "stopped",
            _ => continue,
        };
        let Some(after) = chars.as_str().strip_prefix(" ]") else {
            continue;
        };
        if !after.starts_with(char::is_whitespace) {
            continue;
        }
        let name = after.trim_start();
        if name.is_empty() {
            continue;
        }
        services.insert(
            name.to_string(),
            json!({"name": name, "state": state, "source": "sysv"}),
        );
    }
}

const BAD_STATES: &[&str] = &["not-found", "masked", "failed"];

fn systemd(units: &str, files: &str, services: &mut Map<String, Json>) {
    for line in units.lines().filter(|l| l.contains(".service")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            continue;
        }
        let status = BAD_STATES
            .iter()
            .find(|b| fields[..fields.len() - 1].contains(b))
            .copied()
            .unwrap_or(fields[2]);
        let state = if fields[3] == "running" {
            "running"
        } else {
            "stopped"
        };
        services.insert(
            fields[0].to_string(),
            json!({"name": fields[0], "state": state, "status": status, "source": "systemd"}),
        );
    }
    for line in files.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 2 {
            continue;
        }
        let (name, status) = (fields[0], fields[1]);
        match services.get_mut(name) {
            None => {
                let state = fields.get(2).copied().unwrap_or("unknown");
                services.insert(
                    name.to_string(),
                    json!({"name": name, "state": state, "status": status, "source": "systemd"}),
                );
            }
            Some(Json::Object(s)) => {
                let bad = s
                    .get("status")
                    .and_then(Json::as_str)
                    .is_some_and(|st| BAD_STATES.contains(&st));
                if !bad {
                    s.insert("status".into(), json!(status));
                }
            }
            Some(_) => {}
        }
    }
}

#[async_trait]
impl Module for ServiceFacts {
    fn name(&self) -> &'static str {
        "service_facts"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&[])?;
        let out = accounts::exec(ctx, SCRIPT.to_string()).await?;
        let r = accounts::records(&out.stdout);
        let get = |i: usize| r.get(i).map(String::as_str).unwrap_or("");
        let mut services = Map::new();
        sysv(get(0), &mut services);
        if get(1) == "S" {
            systemd(get(2), get(3), &mut services);
        }
        let mut result = ModuleResult::ok();
        if services.is_empty() {
            result.skipped = true;
            result.msg = Some(
                "Failed to find any services. This can be due to privileges or some other \
                 configuration issue."
                    .into(),
            );
        } else {
            result.set("ansible_facts", json!({"services": services}));
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_all_and_systemctl() {
        let mut s = Map::new();
        sysv(
            " [ + ]  cron\n [ - ]  nginx\n [ ? ]  weird\n [ - ]  procps\n",
            &mut s,
        );
        assert_eq!(
            s["cron"],
            json!({"name": "cron", "state": "running", "source": "sysv"})
        );
        assert_eq!(s["nginx"]["state"], "stopped");
        assert!(!s.contains_key("weird"));
        let mut s = Map::new();
        systemd(
            "cron.service loaded active running Regular background program\nx.service not-found inactive dead x.service\n",
            "cron.service enabled enabled\nx.service masked\nssh.service disabled inactive\n",
            &mut s,
        );
        assert_eq!(
            s["cron.service"],
            json!({"name": "cron.service", "state": "running", "status": "enabled", "source": "systemd"})
        );
        assert_eq!(s["x.service"]["status"], "not-found");
        assert_eq!(s["ssh.service"]["state"], "inactive");
    }

    #[test]
    fn systemd_is_detected_as_ansibles_is_systemd_managed() {
        assert!(SCRIPT.contains("/run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/"));
        assert!(SCRIPT.contains("\"$(head -n 1 /proc/1/comm 2>/dev/null)\" = systemd"));
        assert!(SCRIPT.contains("! command -v rc-status"));
    }

    #[test]
    fn the_script_is_valid_sh() {
        let st = std::process::Command::new("sh")
            .args(["-n", "-c", SCRIPT])
            .status()
            .unwrap();
        assert!(st.success());
    }
}

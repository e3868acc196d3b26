//! The `systemd` / `systemd_service` module: units through `systemctl`, as Ansible's
//! `systemd_service` does: `daemon_reload`, `daemon_reexec`, `masked`, `enabled`, `state`,
//! `scope`, `no_block`, `force`. The `service` module hands systemd hosts to [`run_systemd`].
//!
//! One round trip probes (after `daemon-reload`/`daemon-reexec`, which Ansible runs first and
//! never counts as changes): `systemctl show UNIT`, `systemctl is-enabled UNIT -l` and the
//! sysv fallbacks (`/etc/init.d/UNIT`, its `S` links). The controller plans the `systemctl`
//! commands (a pure function of the probe, unit-tested); one more round trip runs them.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};

use super::accounts;
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::quote;

/// The `systemd` module (also registered as `systemd_service`).
pub struct Systemd;

/// The `systemd_service` name of the same module.
pub struct SystemdService;

const KNOWN: &[&str] = &[
    "name",
    "service",
    "unit",
    "state",
    "enabled",
    "force",
    "masked",
    "daemon_reload",
    "daemon-reload",
    "daemon_reexec",
    "daemon-reexec",
    "scope",
    "no_block",
];

/// A unit state the task asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wanted {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

impl Wanted {
    /// Parses `state`.
    pub(crate) fn parse(args: &ModuleArgs) -> Result<Option<Wanted>, ModuleError> {
        Ok(match args.str("state")?.as_deref() {
            None => None,
            Some("started") => Some(Wanted::Started),
            Some("stopped") => Some(Wanted::Stopped),
            Some("restarted") => Some(Wanted::Restarted),
            Some("reloaded") => Some(Wanted::Reloaded),
            Some(other) => {
                return Err(args
                    .invalid(
                        "state",
                        format!(
                            "must be one of: reloaded, restarted, started, stopped, got '{other}'"
                        ),
                    )
                    .into());
            }
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Wanted::Started => "started",
            Wanted::Stopped => "stopped",
            Wanted::Restarted => "restarted",
            Wanted::Reloaded => "reloaded",
        }
    }
}

/// The task's request for one unit.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Spec {
    pub name: Option<String>,
    pub state: Option<Wanted>,
    pub enabled: Option<bool>,
    pub masked: Option<bool>,
    pub daemon_reload: bool,
    pub daemon_reexec: bool,
    /// `system`, `user` or `global`.
    pub scope: String,
    pub no_block: bool,
    pub force: bool,
}

impl Spec {
    fn from_args(args: &ModuleArgs) -> Result<Spec, ModuleError> {
        args.check_known(KNOWN)?;
        let name = match args.get_any(&["name", "service", "unit"]) {
            Some((n, _)) => args.str(n)?,
            None => None,
        };
        let flag = |a: &str, b: &str| -> Result<bool, ModuleError> {
            Ok(match args.get_any(&[a, b]) {
                Some((n, _)) => args.bool_or(n, false)?,
                None => false,
            })
        };
        let scope = args.str("scope")?.unwrap_or_else(|| "system".into());
        if !["system", "user", "global"].contains(&scope.as_str()) {
            return Err(args
                .invalid(
                    "scope",
                    format!("must be one of: system, user, global, got '{scope}'"),
                )
                .into());
        }
        let spec = Spec {
            state: Wanted::parse(args)?,
            enabled: args.bool("enabled")?,
            masked: args.bool("masked")?,
            daemon_reload: flag("daemon_reload", "daemon-reload")?,
            daemon_reexec: flag("daemon_reexec", "daemon-reexec")?,
            scope,
            no_block: args.bool_or("no_block", false)?,
            force: args.bool_or("force", false)?,
            name,
        };
        if spec.state.is_none()
            && spec.enabled.is_none()
            && spec.masked.is_none()
            && !spec.daemon_reload
            && !spec.daemon_reexec
        {
            return Err(args
                .error(
                    "one of the following is required: state, enabled, masked, daemon_reload, \
                     daemon_reexec",
                )
                .into());
        }
        if spec.name.is_none()
            && (spec.state.is_some() || spec.enabled.is_some() || spec.masked.is_some())
        {
            return Err(args
                .error("missing parameter(s) required by 'state', 'enabled' or 'masked': name")
                .into());
        }
        if let Some(n) = &spec.name
            && let Some(g) = ["*", "?", "["].iter().find(|g| n.contains(**g))
        {
            return Err(args
                .error(format!(
                    "This module does not currently support using glob patterns, found '{g}' in \
                     service name: {n}"
                ))
                .into());
        }
        Ok(spec)
    }

    /// `systemctl [--user|--global] [--no-block] [--force]`.
    fn systemctl(&self) -> Vec<String> {
        let mut argv = vec!["systemctl".to_string()];
        if self.scope != "system" {
            argv.push(format!("--{}", self.scope));
        }
        if self.no_block {
            argv.push("--no-block".into());
        }
        if self.force {
            argv.push("--force".into());
        }
        argv
    }
}

/// `systemctl show` output as Ansible's `parse_systemctl_show` reads it: `Key=value` lines,
/// a value that opens `{` running until a line that closes it.
pub(crate) fn parse_show(out: &str) -> IndexMap<String, String> {
    let mut map = IndexMap::new();
    let mut multi: Option<(String, Vec<String>)> = None;
    for line in out.split('\n') {
        if let Some((k, mut lines)) = multi.take() {
            lines.push(line.to_string());
            if line.trim_end().ends_with('}') {
                map.insert(k, lines.join("\n").trim().to_string());
            } else {
                multi = Some((k, lines));
            }
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.starts_with("Exec") && v.trim_start().starts_with('{') && !v.trim_end().ends_with('}')
        {
            multi = Some((k.to_string(), vec![v.to_string()]));
        } else {
            map.insert(k.to_string(), v.trim().to_string());
        }
    }
    map
}

/// What the probe found about the unit.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Probe {
    pub show_rc: i32,
    pub show: String,
    pub show_err: String,
    pub is_enabled_rc: i32,
    pub is_enabled: String,
    pub initd: bool,
    pub sysv_enabled: bool,
    /// The exit code of `systemctl list-unit-files UNIT`, asked when `show` failed or had no
    /// properties (Ansible's fallback where `show` does not work, as in a chroot).
    pub unit_files_rc: Option<i32>,
}

/// Fails the script (exit 3) as Ansible's `get_bin_path('systemctl', required=True)` does
/// when the host has no `systemctl`: before anything else, in check mode too, with the
/// directories searched (`PATH` and the sbin directories it lacks) in the message.
const REQUIRE_SYSTEMCTL: &str = r#"jig_p=$PATH
for jig_d in /sbin /usr/sbin /usr/local/sbin; do
  case ":$jig_p:" in *":$jig_d:"*) ;; *) jig_p="$jig_p:$jig_d" ;; esac
done
if ! PATH=$jig_p command -v systemctl >/dev/null 2>&1; then
  printf 'Failed to find required executable "systemctl" in paths: %s\n' "$jig_p" >&2; exit 3
fi
PATH=$jig_p
"#;

/// The probe script (daemon-reload/reexec first when asked, outside check mode).
pub(crate) fn probe_script(spec: &Spec, check: bool) -> String {
    let sc = accounts::render(&spec.systemctl());
    let mut s = String::from(REQUIRE_SYSTEMCTL);
    s.push_str("export XDG_RUNTIME_DIR=\"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}\"\n");
    for (on, verb) in [
        (spec.daemon_reload, "daemon-reload"),
        (spec.daemon_reexec, "daemon-reexec"),
    ] {
        if on && !check {
            s.push_str(&format!(
                "jig_e=$({sc} {verb} 2>&1) || {{ printf '%s\\n' \"failure $? during {verb}: $jig_e\" >&2; exit 3; }}\n"
            ));
        }
    }
    let Some(name) = &spec.name else {
        return s;
    };
    let n = quote(name);
    s.push_str(&format!(
        r#"jig_o=$({sc} show {n} 2>/tmp/.jig-show.$$); jig_rc=$?
jig_er=$(cat /tmp/.jig-show.$$ 2>/dev/null); rm -f /tmp/.jig-show.$$
printf '%s\0%s\0%s\0' "$jig_rc" "$jig_o" "$jig_er"
case $jig_o in *=*) jig_props=yes ;; *) jig_props= ;; esac
jig_o=$({sc} is-enabled {n} -l 2>/dev/null); printf '%s\0%s\0' "$?" "$jig_o"
if [ -f /etc/init.d/{n} ]; then printf I; fi; printf '\0'
for jig_f in /etc/rc?.d/S??*; do [ "${{jig_f##*/S??}}" = {n} ] && {{ printf E; break; }}; done; printf '\0'
if [ "$jig_rc" != 0 ] || [ -z "$jig_props" ]; then {sc} list-unit-files {n} >/dev/null 2>&1; printf '%s' "$?"; fi; printf '\0'
"#
    ));
    s
}

/// Parses the probe's records.
pub(crate) fn parse_probe(data: &[u8]) -> Option<Probe> {
    let r = accounts::records(data);
    if r.len() < 8 {
        return None;
    }
    Some(Probe {
        show_rc: r[0].trim().parse().ok()?,
        show: r[1].clone(),
        show_err: r[2].clone(),
        is_enabled_rc: r[3].trim().parse().ok()?,
        is_enabled: r[4].trim().to_string(),
        initd: r[5] == "I",
        sysv_enabled: r[6] == "E",
        unit_files_rc: r[7].trim().parse().ok(),
    })
}

const VALID_ENABLED: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "masked",
    "masked-runtime",
    "static",
    "indirect",
    "disabled",
    "generated",
    "transient",
];

/// The message when a planned command fails.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum OnFailure {
    /// This text, `: `, then the command's error output.
    Say(String),
    /// Exactly this text (a unit nobody knows: the error output says nothing more).
    Only(String),
}

/// The planned commands and the result they lead to.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Plan {
    /// `(argv, what failed message prefix)` in order.
    pub commands: Vec<(Vec<String>, OnFailure)>,
    pub changed: bool,
    pub status: Map<String, Json>,
    pub enabled: Option<bool>,
    pub state: Option<String>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

/// Ansible's `request_was_ignored`: no property, and systemctl said it ignored the request.
fn ignored(s: &str) -> bool {
    !s.contains('=') && (s.contains("ignoring request") || s.contains("ignoring command"))
}

/// Plans the systemctl commands for a probed unit.
pub(crate) fn plan(spec: &Spec, p: &Probe) -> Plan {
    let mut plan = Plan::default();
    let Some(unit) = &spec.name else {
        return plan;
    };
    let mut is_systemd = false;
    let mut status = IndexMap::new();
    if p.show_rc == 0 && !ignored(&p.show) && !ignored(&p.show_err) {
        if !p.show.is_empty() {
            status = parse_show(&p.show);
            let load = status.get("LoadState").map(String::as_str);
            is_systemd = load.is_some_and(|l| l != "not-found");
            let masked = load == Some("masked");
            if is_systemd
                && !masked
                && let Some(e) = status.get("LoadError")
            {
                plan.error = Some(format!("Error loading unit file '{unit}': {e}"));
                return plan;
            }
        }
    } else if VALID_ENABLED.contains(&p.is_enabled.as_str()) || p.unit_files_rc == Some(0) {
        is_systemd = true;
    }
    plan.status = status
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    let found = is_systemd || p.initd;
    if p.initd && !is_systemd {
        plan.warnings.push(format!(
            "The service ({unit}) is actually an init script but the system is managed by systemd"
        ));
    }
    let missing = || format!("Could not find the requested service {unit}: host");
    let cmd = |verb: &str| {
        let mut a = spec.systemctl();
        a.push(verb.to_string());
        a.push(unit.clone());
        a
    };
    if let Some(want) = spec.masked {
        let masked = p.is_enabled == "masked";
        if masked != want {
            plan.changed = true;
            let verb = if want { "mask" } else { "unmask" };
            // A failed mask of a unit nobody knows is reported as missing, as Ansible does.
            let what = if found {
                OnFailure::Say(format!("Failed to {verb} the service ({unit})"))
            } else {
                OnFailure::Only(missing())
            };
            plan.commands.push((cmd(verb), what));
        }
    }
    if let Some(want) = spec.enabled {
        if !found {
            plan.error = Some(missing());
            return plan;
        }
        let enabled = if p.is_enabled_rc == 0 {
            !["enabled-runtime", "indirect", "alias"].contains(&p.is_enabled.as_str())
        } else {
            p.is_enabled_rc == 1
                && spec.scope == "system"
                && p.initd
                && !p.is_enabled.ends_with("disabled")
                && p.sysv_enabled
        };
        plan.enabled = Some(enabled);
        if enabled != want {
            plan.changed = true;
            let verb = if want { "enable" } else { "disable" };
            plan.commands.push((
                cmd(verb),
                OnFailure::Say(format!("Unable to {verb} service {unit}")),
            ));
            plan.enabled = Some(want);
        }
    }
    if let Some(want) = spec.state {
        if !found {
            plan.error = Some(missing());
            return plan;
        }
        plan.state = Some(want.as_str().to_string());
        let Some(active) = status.get("ActiveState") else {
            plan.error = Some("Service is in unknown state".to_string());
            return plan;
        };
        let running = active == "active" || active == "activating";
        let verb = match want {
            Wanted::Started => (!running).then_some("start"),
            Wanted::Stopped => (running || active == "deactivating").then_some("stop"),
            Wanted::Restarted | Wanted::Reloaded => {
                plan.state = Some("started".into());
                Some(if !running {
                    "start"
                } else if want == Wanted::Restarted {
                    "restart"
                } else {
                    "reload"
                })
            }
        };
        if let Some(verb) = verb {
            plan.changed = true;
            plan.commands.push((
                cmd(verb),
                OnFailure::Say(format!("Unable to {verb} service {unit}")),
            ));
        }
    }
    plan
}

/// Notes on `r` that `state` of `unit` was not acted on because the host is an image (the
/// `chroot` connection): nothing runs in it, the unit starts when the image boots. The note is
/// a warning (shown on the console) and the result key `deferred`.
pub(crate) fn defer_to_boot(r: &mut ModuleResult, unit: &str, state: Wanted) {
    super::textfile::add_warnings(
        r,
        &[format!(
            "{unit}: state={} deferred to boot (the host is an image: nothing runs in it)",
            state.as_str()
        )],
    );
    r.set("deferred", state.as_str());
}

/// Runs the systemd module for `spec` (shared with `service` on systemd hosts). In an image
/// only `enabled`/`masked` act; `state` is deferred to boot and daemon-reload/reexec skipped
/// (no manager runs).
pub(crate) async fn run_systemd(
    spec: &Spec,
    ctx: &ModuleContext<'_>,
) -> Result<ModuleResult, ModuleError> {
    if !ctx.conn.is_image() {
        return run_unit(spec, ctx).await;
    }
    let mut s = spec.clone();
    let deferred = s.state.take();
    s.daemon_reload = false;
    s.daemon_reexec = false;
    let unit = s.name.clone().unwrap_or_default();
    let mut r = if s.enabled.is_some() || s.masked.is_some() {
        run_unit(&s, ctx).await?
    } else {
        let mut r = ModuleResult::ok();
        r.set("name", json!(s.name));
        r
    };
    if let Some(st) = deferred
        && !r.failed
    {
        defer_to_boot(&mut r, &unit, st);
    }
    Ok(r)
}

async fn run_unit(spec: &Spec, ctx: &ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
    let out = accounts::exec(ctx, probe_script(spec, ctx.check_mode)).await?;
    if out.rc != 0 {
        return Ok(ModuleResult::failed(accounts::error_text(&out)));
    }
    let probe = if spec.name.is_some() {
        match parse_probe(&out.stdout) {
            // In a chroot `systemctl show` has no manager to ask; `is-enabled` reads the files.
            Some(p) if ctx.conn.is_image() => Probe {
                show_rc: 1,
                show: String::new(),
                ..p
            },
            Some(p) => p,
            None => {
                return Ok(ModuleResult::failed(format!(
                    "cannot read the state of {} from systemctl",
                    spec.name.as_deref().unwrap_or_default()
                )));
            }
        }
    } else {
        Probe::default()
    };
    let plan = plan(spec, &probe);
    let mut r = ModuleResult::ok();
    super::textfile::add_warnings(&mut r, &plan.warnings);
    if let Some(e) = &plan.error
        && e.starts_with("Could not find the requested service")
        && let Some(predicted) = from_predicted_package(
            ctx,
            spec.name.as_deref().unwrap_or_default(),
            spec.state,
            spec.enabled,
            Manager::Systemd,
        )
    {
        return Ok(predicted);
    }
    if let Some(e) = plan.error {
        r.failed = true;
        r.msg = Some(e);
        return Ok(r);
    }
    r.changed = plan.changed;
    r.set("name", json!(spec.name))
        .set("status", Json::Object(plan.status));
    if let Some(e) = plan.enabled {
        r.set("enabled", e);
    }
    if let Some(s) = &plan.state {
        r.set("state", s.clone());
    }
    if ctx.check_mode || plan.commands.is_empty() {
        return Ok(r);
    }
    let mut script =
        String::from("export XDG_RUNTIME_DIR=\"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}\"\n");
    for (i, (argv, _)) in plan.commands.iter().enumerate() {
        script.push_str(&format!(
            "{} >&2 || {{ printf '{i}'; exit 1; }}\n",
            accounts::render(argv)
        ));
    }
    let out = accounts::exec(ctx, script).await?;
    if out.rc != 0 {
        let i: usize = out.stdout_str().trim().parse().unwrap_or(0);
        let err = out.stderr_str();
        return Ok(ModuleResult::failed(match plan.commands.get(i) {
            Some((_, OnFailure::Only(msg))) => msg.clone(),
            Some((_, OnFailure::Say(what))) => format!("{what}: {}", err.trim()),
            None => err.trim().to_string(),
        }));
    }
    Ok(r)
}

#[async_trait]
impl Module for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        run_systemd(&Spec::from_args(args)?, ctx).await
    }
}

#[async_trait]
impl Module for SystemdService {
    fn name(&self) -> &'static str {
        "systemd_service"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        run_systemd(&Spec::from_args(args)?, ctx).await
    }
}

/// Who finds a service on the host, for [`from_predicted_package`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Manager {
    /// systemctl is there: a package's unit file is found (`list-unit-files` works even
    /// without a running manager).
    Systemd,
    /// No systemd: only `/etc/init.d` scripts, named without a unit suffix.
    Sysv,
}

/// systemd's unit types (systemd.unit(5)): a name ending in one of them is a unit, never an
/// init script.
const UNIT_SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
];

/// Whether `name` is written as a systemd unit (`logrotate.timer`), with its type suffix.
fn is_unit_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, suffix)| !stem.is_empty() && UNIT_SUFFIXES.contains(&suffix))
}

/// In check mode, a service the host does not have yet while an earlier task would install
/// packages: the service is assumed to come with them (see [`super::predict`]) and the task
/// is planned as a package's fresh service would be: installed enabled (Debian's
/// `update-rc.d defaults`) and stopped, so `started`, `restarted`, `reloaded` and
/// `enabled: false` would change it. The result says so in `msg`. `None` outside check mode
/// or when no package is predicted: the service is missing, as the caller reports.
///
/// `manager` is who would look the service up in the real run. Under [`Manager::Sysv`] (a
/// host without systemd) a unit name (`logrotate.timer`, `x.socket`, `x.service`) can never
/// be found, whatever the packages bring: it is not predicted, and the check fails as the
/// real run does ("Could not find the requested service").
pub(crate) fn from_predicted_package(
    ctx: &ModuleContext<'_>,
    name: &str,
    state: Option<Wanted>,
    enabled: Option<bool>,
    manager: Manager,
) -> Option<ModuleResult> {
    if !ctx.check_mode || (manager == Manager::Sysv && is_unit_name(name)) {
        return None;
    }
    let note = ctx
        .predicted
        .from_packages_note(&format!("service {name}"))?;
    let mut r = ModuleResult::ok();
    r.changed = matches!(
        state,
        Some(Wanted::Started | Wanted::Restarted | Wanted::Reloaded)
    ) || enabled == Some(false);
    r.msg = Some(note);
    r.set("name", name);
    if let Some(e) = enabled {
        r.set("enabled", e);
    }
    if let Some(s) = state {
        r.set(
            "state",
            match s {
                Wanted::Stopped => "stopped",
                _ => "started",
            },
        );
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Json) -> Spec {
        Spec::from_args(&ModuleArgs::new(
            "systemd",
            v.as_object().unwrap().clone().into_iter().collect(),
        ))
        .unwrap()
    }

    fn probe(active: &str, enabled: &str, rc: i32) -> Probe {
        Probe {
            show_rc: 0,
            show: format!(
                "Id=nginx.service\nLoadState=loaded\nActiveState={active}\nExecStart={{ path=/usr/sbin/nginx ; argv[]=/usr/sbin/nginx -g daemon on;\n  status=0/0 }}\nDescription=A high performance web server\n"
            ),
            show_err: String::new(),
            is_enabled_rc: rc,
            is_enabled: enabled.into(),
            initd: true,
            sysv_enabled: false,
            unit_files_rc: None,
        }
    }

    fn verbs(p: &Plan) -> Vec<String> {
        p.commands.iter().map(|c| c.0.join(" ")).collect()
    }

    #[test]
    fn unit_names_are_told_from_init_script_names() {
        for unit in [
            "logrotate.timer",
            "x.socket",
            "nginx.service",
            "home.mount",
            "a.b.path",
        ] {
            assert!(is_unit_name(unit), "{unit}");
        }
        for script in ["nginx", "php7.4-fpm", ".service", "x.conf", "timer"] {
            assert!(!is_unit_name(script), "{script}");
        }
    }

    #[test]
    fn plans_systemctl_commands_from_show_output() {
        let p = plan(
            &spec(json!({"name": "nginx", "state": "started", "enabled": true})),
            &probe("inactive", "disabled", 1),
        );
        assert_eq!(
            verbs(&p),
            ["systemctl enable nginx", "systemctl start nginx"]
        );
        assert!(p.changed);
        assert_eq!(p.status["ActiveState"], "inactive");
        assert!(
            p.status["ExecStart"]
                .as_str()
                .unwrap()
                .ends_with("status=0/0 }")
        );
        let p = plan(
            &spec(json!({"name": "nginx", "state": "started", "enabled": true})),
            &probe("active", "enabled", 0),
        );
        assert!(p.commands.is_empty() && !p.changed);
        let p = plan(
            &spec(
                json!({"name": "nginx", "state": "reloaded", "scope": "user",
                "no_block": true}),
            ),
            &probe("active", "enabled", 0),
        );
        assert_eq!(verbs(&p), ["systemctl --user --no-block reload nginx"]);
        assert_eq!(p.state.as_deref(), Some("started"));
        let p = plan(
            &spec(json!({"name": "nginx", "state": "stopped", "masked": true})),
            &probe("deactivating", "enabled", 0),
        );
        assert_eq!(verbs(&p), ["systemctl mask nginx", "systemctl stop nginx"]);
        // enabled-runtime counts as not enabled.
        let p = plan(
            &spec(json!({"name": "nginx", "enabled": true})),
            &probe("active", "enabled-runtime", 0),
        );
        assert_eq!(verbs(&p), ["systemctl enable nginx"]);
    }

    #[test]
    fn missing_units_and_bad_arguments() {
        let mut pr = probe("inactive", "", 1);
        pr.show = "Id=nope.service\nLoadState=not-found\nActiveState=inactive\n".into();
        pr.initd = false;
        let p = plan(&spec(json!({"name": "nope", "state": "started"})), &pr);
        assert_eq!(
            p.error.as_deref(),
            Some("Could not find the requested service nope: host")
        );
        let e = Spec::from_args(&ModuleArgs::new(
            "systemd",
            json!({"name": "a*"})
                .as_object()
                .unwrap()
                .clone()
                .into_iter()
                .collect(),
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("one of the following is required"),
            "{e}"
        );
        let e = Spec::from_args(&ModuleArgs::new(
            "systemd",
            json!({"name": "a*", "state": "started"})
                .as_object()
                .unwrap()
                .clone()
                .into_iter()
                .collect(),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("glob patterns"), "{e}");
    }

    #[test]
    fn probe_script_quotes_and_parses() {
        let s = spec(json!({"name": "we ird'$(touch PWNED)", "state": "started",
            "daemon_reload": true}));
        let script = probe_script(&s, false);
        assert!(script.contains("systemctl daemon-reload"), "{script}");
        assert!(!probe_script(&s, true).contains("daemon-reload"));
        assert!(
            script.contains("show 'we ird'\\''$(touch PWNED)'"),
            "{script}"
        );
        let st = std::process::Command::new("sh")
            .args(["-n", "-c", &script])
            .status()
            .unwrap();
        assert!(st.success());
        let p = parse_probe(b"0\0Id=x\nActiveState=active\0\x001\0disabled\0I\0E\0\0").unwrap();
        assert_eq!(p.is_enabled_rc, 1);
        assert!(p.initd && p.sysv_enabled && p.unit_files_rc.is_none());
        let p = parse_probe(b"1\0\0no bus\x004\0\0\0\x000\0").unwrap();
        assert_eq!(p.unit_files_rc, Some(0));
        // The fallback is asked only when show failed or printed no property.
        assert!(
            script.contains(
                "if [ \"$jig_rc\" != 0 ] || [ -z \"$jig_props\" ]; then systemctl list-unit-files \
             'we ird'\\''$(touch PWNED)'"
            ),
            "{script}"
        );
    }

    #[test]
    fn a_host_without_systemctl_fails_as_ansible_says_even_in_check_mode() {
        let empty = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let sbin_has_it = ["/sbin", "/usr/sbin", "/usr/local/sbin"]
            .iter()
            .any(|d| std::path::Path::new(d).join("systemctl").exists());
        let run = |path: &std::path::Path| {
            std::process::Command::new("/bin/sh")
                .args(["-c", &format!("{REQUIRE_SYSTEMCTL}echo found")])
                .env("PATH", path)
                .output()
                .unwrap()
        };
        let out = run(empty.path());
        if !sbin_has_it {
            assert_eq!(out.status.code(), Some(3));
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                format!(
                    "Failed to find required executable \"systemctl\" in paths: \
                     {}:/sbin:/usr/sbin:/usr/local/sbin\n",
                    empty.path().display()
                )
            );
        }
        // Found on PATH: the probe goes on.
        let fake = bin.path().join("systemctl");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let out = run(bin.path());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "found\n");
        let script = probe_script(&spec(json!({"daemon_reload": true})), true);
        assert!(script.starts_with(REQUIRE_SYSTEMCTL), "{script}");
    }

    #[test]
    fn ignored_requests_unit_file_fallback_and_missing_masks_like_ansible() {
        // Ansible's request_was_ignored: words of refusal and no property.
        assert!(ignored("Running in chroot, ignoring request.\n"));
        assert!(ignored("Running in chroot, ignoring command 'show'"));
        assert!(!ignored("Description=ignoring request\n"));
        assert!(!ignored("Request was ignored"));
        let mut pr = probe("inactive", "", 1);
        pr.show = "Running in chroot, ignoring request.".into();
        pr.initd = false;
        let p = plan(&spec(json!({"name": "x", "enabled": true})), &pr);
        assert_eq!(
            p.error.as_deref(),
            Some("Could not find the requested service x: host")
        );
        // show did not answer, is-enabled said nothing useful, list-unit-files knows the unit.
        pr.unit_files_rc = Some(0);
        let p = plan(&spec(json!({"name": "x", "enabled": true})), &pr);
        assert_eq!(verbs(&p), ["systemctl enable x"]);
        assert_eq!(p.enabled, Some(true));
        // A mask of a unit nobody knows: planned (systemd can), reported missing if it fails.
        let mut pr = probe("inactive", "", 1);
        pr.show = "Id=ghost.service\nLoadState=not-found\nActiveState=inactive\n".into();
        pr.initd = false;
        let p = plan(&spec(json!({"name": "ghost", "masked": true})), &pr);
        assert_eq!(verbs(&p), ["systemctl mask ghost"]);
        assert_eq!(
            p.commands[0].1,
            OnFailure::Only("Could not find the requested service ghost: host".into())
        );
        let p = plan(
            &spec(json!({"name": "nginx", "masked": true})),
            &probe("active", "enabled", 0),
        );
        assert_eq!(
            p.commands[0].1,
            OnFailure::Say("Failed to mask the service (nginx)".into())
        );
    }
}

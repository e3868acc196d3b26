//! The `service` module: start, stop, restart, reload and enable services with the host's init
//! system, as Ansible's `service` action and its `LinuxService` do.
//!
//! The init system is chosen like Ansible's `service` action: its `service_mgr` fact (the same
//! rule as jig's facts, run in the probe, [`crate::exec::facts::SERVICE_MGR_PROBE`]); `systemd`
//! goes to [`super::systemd`] without `pattern`, `runlevel`, `sleep` and `arguments` (with
//! Ansible's warning for each given); any other manager gets Ansible's `service` module, which
//! itself drives systemd when `systemctl` and a systemd canary (or PID 1 named `systemd`) are
//! there, as jig does through [`super::systemd`] too, and otherwise the sysvinit tools:
//! `/etc/init.d/NAME`, `service NAME ACTION`, and `update-rc.d` for `enabled` with the
//! `/etc/rc?.d/S??NAME` links as the probe. `use:` forces a backend.
//!
//! One round trip probes the tools, the init script, the rc links and the status (the exit
//! code and output of `service NAME status`, or `ps auxww` for `pattern`); the controller
//! decides like Ansible (exit codes 1-4 and 69 mean stopped, then the one-line heuristics);
//! one more round trip runs `update-rc.d` and the action. Service commands run with stdin
//! from /dev/null and output to files, so a daemon that keeps its inherited descriptors
//! cannot hold the connection open (Ansible daemonizes for the same reason).

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::accounts;
use super::systemd::{self, Wanted};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::quote;
use crate::exec::facts;

/// The `service` module.
pub struct Service;

const KNOWN: &[&str] = &[
    "name",
    "state",
    "sleep",
    "pattern",
    "enabled",
    "runlevel",
    "arguments",
    "args",
    "use",
];

/// The task's request.
#[derive(Clone, Debug, PartialEq)]
struct Spec {
    name: String,
    state: Option<Wanted>,
    enabled: Option<bool>,
    sleep: Option<i64>,
    pattern: Option<String>,
    /// `arguments`, split like Ansible's `run_command` splits the command string.
    arguments: Vec<String>,
    backend: Backend,
    /// The arguments given that the systemd module does not take, in the order Ansible's
    /// action warns about them.
    unused_by_systemd: Vec<&'static str>,
}

/// What Ansible's `service` action drops (with a warning each) before calling `systemd`.
const UNUSED_BY_SYSTEMD: &[&str] = &["pattern", "runlevel", "sleep", "arguments", "args"];

/// `use:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Auto,
    Sysv,
    Systemd,
}

impl Spec {
    fn from_args(args: &ModuleArgs) -> Result<Spec, ModuleError> {
        args.check_known(KNOWN)?;
        let arguments = match args.get_any(&["arguments", "args"]) {
            Some((n, _)) => args.str(n)?.unwrap_or_default(),
            None => String::new(),
        };
        let arguments = shlex::split(&arguments).ok_or_else(|| {
            args.invalid("arguments", format!("has unbalanced quotes: {arguments}"))
        })?;
        let backend = match args.str("use")?.as_deref().map(str::to_ascii_lowercase) {
            None => Backend::Auto,
            Some(u) if u == "auto" => Backend::Auto,
            Some(u) if u == "systemd" => Backend::Systemd,
            Some(u) if u == "sysvinit" || u == "service" => Backend::Sysv,
            Some(other) => {
                return Err(args
                    .invalid(
                        "use",
                        format!(
                            "'{other}' is not a service manager jig drives (auto, systemd, \
                             sysvinit, service)"
                        ),
                    )
                    .into());
            }
        };
        let spec = Spec {
            name: args.req_str("name")?,
            state: Wanted::parse(args)?,
            enabled: args.bool("enabled")?,
            sleep: args.int("sleep")?,
            pattern: args.str("pattern")?,
            arguments,
            backend,
            unused_by_systemd: UNUSED_BY_SYSTEMD
                .iter()
                .copied()
                .filter(|u| args.keys().any(|k| k == *u))
                .collect(),
        };
        if spec.state.is_none() && spec.enabled.is_none() {
            return Err(args
                .error("one of the following is required: state, enabled")
                .into());
        }
        Ok(spec)
    }
}

/// Where `use: auto` sends the task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Route {
    /// The sysvinit tools.
    #[default]
    Sysv,
    /// The `service_mgr` fact is `systemd`: Ansible runs its `systemd` module.
    SystemdModule,
    /// Another manager, but Ansible's `service` module finds systemd and drives it.
    SystemdFromService,
}

impl Route {
    /// Ansible's choice for a host's service manager.
    fn of(mgr: &facts::ServiceManager) -> Route {
        if mgr.name == "systemd" {
            Route::SystemdModule
        } else if mgr.name != "sysvinit" && mgr.systemd_managed {
            Route::SystemdFromService
        } else {
            Route::Sysv
        }
    }
}

/// What the sysv probe found.
#[derive(Clone, Debug, Default, PartialEq)]
struct Probe {
    route: Route,
    initscript: bool,
    service_bin: bool,
    update_rc_d: bool,
    s_links: bool,
    k_links: bool,
    status_rc: Option<i32>,
    status_out: String,
    pattern_found: Option<bool>,
}

/// Runs `$@` with stdin from /dev/null and output to files, printing `rc\0out\0err\0`.
const RUN_FN: &str = r#"jig_run() {
  jig_t=$(mktemp) || exit 1
  "$@" </dev/null >"$jig_t.o" 2>"$jig_t.e"; jig_rc=$?
  printf '%s\0' "$jig_rc"; cat -- "$jig_t.o"; printf '\0'; cat -- "$jig_t.e"; printf '\0'
  rm -f -- "$jig_t" "$jig_t.o" "$jig_t.e"
  return 0
}
"#;

/// Ends the probe after the service-manager part (which set `jig_sc` and `c`) when the host
/// may be routed to systemd: `systemctl` and a canary, PID 1 named `systemd`, or `/sbin/init`
/// linking to systemd.
const SYSTEMD_MAYBE: &str = r#"if [ -n "$jig_sc" ]; then
  for jig_d in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$jig_d" ] && exit 0; done
  [ "$c" = systemd ] && exit 0
  case $(readlink /sbin/init 2>/dev/null) in systemd | */systemd) exit 0 ;; esac
fi
"#;

/// The command that runs `action` on the service: `service NAME ACTION ARGS...`, or the init
/// script when there is no `service` tool.
fn control(spec: &Spec, service_bin: bool, action: &str) -> Vec<String> {
    let mut argv = if service_bin {
        vec!["service".to_string(), spec.name.clone()]
    } else {
        vec![format!("/etc/init.d/{}", spec.name)]
    };
    argv.push(action.to_string());
    argv.extend(spec.arguments.iter().cloned());
    argv
}

/// The probe: first the service manager (in an `image`, systemd counts when it is installed:
/// it never runs there; elsewhere the facts' rule decides), then the sysv tools.
fn probe_script(spec: &Spec, image: bool) -> String {
    let n = quote(&spec.name);
    let mut s = String::new();
    if spec.backend == Backend::Auto {
        if image {
            s.push_str(
                "if [ -x /lib/systemd/systemd ] && command -v systemctl >/dev/null; then printf S; fi; printf '\\0'\n",
            );
        } else {
            s.push_str(&format!(
                "{{\n{}}} 2>/dev/null; printf '\\0'\n",
                facts::SERVICE_MGR_PROBE
            ));
        }
    } else {
        s.push_str("printf '\\0'\n");
    }
    if spec.backend == Backend::Auto && !image {
        // Ansible's choice comes first: where systemd may be chosen the sysv tools are not
        // asked (Debian's `service NAME status` would ask systemctl); if the controller
        // chooses them after all, it probes again with `use: sysvinit`.
        s.push_str(SYSTEMD_MAYBE);
    }
    s.push_str("PATH=$PATH:/sbin:/usr/sbin:/bin:/usr/bin; export PATH\n");
    s.push_str(RUN_FN);
    s.push_str(&format!(
        r#"if [ -f /etc/init.d/{n} ]; then printf I; fi; printf '\0'
if command -v service >/dev/null; then printf Y; fi; printf '\0'
if command -v update-rc.d >/dev/null; then printf Y; fi; printf '\0'
for jig_f in /etc/rc?.d/S??*; do [ "${{jig_f##*/S??}}" = {n} ] && {{ printf E; break; }}; done; printf '\0'
for jig_f in /etc/rc?.d/K??*; do [ "${{jig_f##*/K??}}" = {n} ] && {{ printf E; break; }}; done; printf '\0'
"#
    ));
    match (&spec.state, &spec.pattern) {
        (None, _) => {}
        (Some(_), Some(p)) => s.push_str(&format!(
            "JIG_PAT={}; export JIG_PAT\nps auxww | awk 'index($0, ENVIRON[\"JIG_PAT\"]) && !index($0, \"pattern=\") {{ f = 1 }} END {{ printf \"P%s\", f ? \"Y\" : \"\" }}'; printf '\\0'\n",
            quote(p)
        )),
        (Some(_), None) => {
            s.push_str(&format!(
                "if command -v service >/dev/null || [ -f /etc/init.d/{n} ]; then if command -v service >/dev/null; then jig_run {}; else jig_run {}; fi; fi\n",
                accounts::render(&control(spec, true, "status")),
                accounts::render(&control(spec, false, "status")),
            ));
        }
    }
    s
}

/// Reads the probe; `None` when the sysv part is missing (not run, or broken output).
fn parse_probe(data: &[u8]) -> (Route, Option<Probe>) {
    let r = accounts::records(data);
    let route = match r.first().map(String::as_str) {
        Some("S") => Route::SystemdModule,
        Some("") | None => Route::Sysv,
        Some(raw) => Route::of(&facts::service_manager(raw)),
    };
    if r.len() < 6 {
        return (route, None);
    }
    let mut p = Probe {
        route,
        initscript: r[1] == "I",
        service_bin: r[2] == "Y",
        update_rc_d: r[3] == "Y",
        s_links: r[4] == "E",
        k_links: r[5] == "E",
        ..Probe::default()
    };
    if let Some(rec) = r.get(6) {
        if let Some(found) = rec.strip_prefix('P') {
            p.pattern_found = Some(found == "Y");
        } else {
            p.status_rc = rec.trim().parse().ok();
            p.status_out = r.get(7).cloned().unwrap_or_default();
        }
    }
    (route, Some(p))
}

/// Ansible's `get_service_status` for the sysv tools: `None` when it cannot tell.
fn running(name: &str, rc: i32, stdout: &str) -> Option<bool> {
    if [1, 2, 3, 4, 69].contains(&rc) {
        return Some(false);
    }
    if stdout.matches('\n').count() <= 1 {
        let clean = stdout.to_lowercase().replace(&name.to_lowercase(), "");
        if clean.contains("stop") {
            return Some(false);
        } else if clean.contains("run") {
            return Some(!clean.contains("not "));
        } else if clean.contains("start") && !clean.contains("not ") {
            return Some(true);
        } else if [
            "could not access pid file",
            "is dead and pid file exists",
            "dead but subsys locked",
            "dead but pid file exists",
        ]
        .iter()
        .any(|m| clean.contains(m))
        {
            return Some(false);
        }
    }
    if rc == 0 {
        return Some(true);
    }
    if name == "iptables" && stdout.contains("ACCEPT") {
        return Some(true);
    }
    None
}

/// The sysv plan.
#[derive(Clone, Debug, Default, PartialEq)]
struct Plan {
    /// `update-rc.d` commands.
    enable: Vec<Vec<String>>,
    enable_changed: bool,
    /// The action, if the state changes: `start`, `stop`, `reload` or `restart`.
    action: Option<&'static str>,
    error: Option<String>,
}

fn plan(spec: &Spec, p: &Probe) -> Plan {
    let mut plan = Plan::default();
    let missing = || format!("Could not find the requested service {}: host", spec.name);
    // get_service_tools: without an init script there is no enable tool.
    if !(p.initscript && p.update_rc_d) {
        plan.error = Some(missing());
        return plan;
    }
    if let Some(want) = spec.enabled
        && want != p.s_links
    {
        plan.enable_changed = true;
        let urd = |verb: &str| {
            vec![
                "update-rc.d".to_string(),
                spec.name.clone(),
                verb.to_string(),
            ]
        };
        if want {
            if !p.k_links {
                plan.enable.push(urd("defaults"));
            }
            plan.enable.push(urd("enable"));
        } else {
            plan.enable.push(urd("disable"));
        }
    }
    let Some(want) = spec.state else {
        return plan;
    };
    let is_running = match (p.pattern_found, p.status_rc) {
        (Some(found), _) => Some(found),
        (None, Some(rc)) => running(&spec.name, rc, &p.status_out),
        (None, None) => None,
    };
    let Some(is_running) = is_running else {
        plan.error =
            Some("failed determining service state, possible typo of service name?".into());
        return plan;
    };
    plan.action = match want {
        Wanted::Started => (!is_running).then_some("start"),
        Wanted::Stopped => is_running.then_some("stop"),
        Wanted::Reloaded => Some(if is_running { "reload" } else { "start" }),
        Wanted::Restarted => Some("restart"),
    };
    if want == Wanted::Reloaded && !is_running {
        plan.action = Some("start");
    }
    plan
}

fn apply_script(spec: &Spec, p: &Probe, plan: &Plan) -> String {
    let mut s = String::from("PATH=$PATH:/sbin:/usr/sbin:/bin:/usr/bin; export PATH\n");
    s.push_str(RUN_FN);
    for argv in &plan.enable {
        s.push_str(&format!(
            "jig_e=$({} 2>&1 </dev/null) || {{ printf '%s\\n' \"$jig_e\" >&2; exit 1; }}\n",
            accounts::render(argv)
        ));
    }
    match plan.action {
        None => {}
        Some("restart") => {
            let sleep = spec
                .sleep
                .filter(|s| *s > 0)
                .map(|s| format!("sleep {s}\n"))
                .unwrap_or_default();
            s.push_str(&format!(
                "jig_run {}\n{sleep}jig_run {}\n",
                accounts::render(&control(spec, p.service_bin, "stop")),
                accounts::render(&control(spec, p.service_bin, "start")),
            ));
        }
        Some(action) => s.push_str(&format!(
            "jig_run {}\n",
            accounts::render(&control(spec, p.service_bin, action))
        )),
    }
    s
}

/// `(rc, stdout, stderr)` of the action, combining stop and start for a restart as Ansible.
fn action_outcome(data: &[u8]) -> (i32, String, String) {
    let r = accounts::records(data);
    let get = |i: usize| r.get(i).cloned().unwrap_or_default();
    let rc = |i: usize| get(i).trim().parse::<i32>().unwrap_or(1);
    if r.len() >= 6 {
        let (rc1, rc2) = (rc(0), rc(3));
        if rc1 != 0 && rc2 == 0 {
            (rc2, get(4), get(5))
        } else {
            (rc1 + rc2, get(1) + &get(4), get(2) + &get(5))
        }
    } else if r.len() >= 3 {
        (rc(0), get(1), get(2))
    } else {
        (0, String::new(), String::new())
    }
}

#[async_trait]
impl Module for Service {
    fn name(&self) -> &'static str {
        "service"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let mut spec = Spec::from_args(args)?;
        // An image (chroot) runs nothing: only `enabled` acts, the state waits for boot.
        let image = ctx.conn.is_image();
        let deferred = if image { spec.state.take() } else { None };
        let mut r = if spec.enabled.is_some() || spec.state.is_some() {
            run_spec(&spec, ctx, image).await?
        } else {
            let mut r = ModuleResult::ok();
            r.set("name", spec.name.clone());
            r
        };
        if let Some(st) = deferred
            && !r.failed
        {
            systemd::defer_to_boot(&mut r, &spec.name, st);
        }
        Ok(r)
    }
}

/// Puts `warnings` before those `r` already has (the action warns before the module runs).
fn prepend_warnings(r: &mut ModuleResult, warnings: Vec<String>) {
    if warnings.is_empty() {
        return;
    }
    let mut all: Vec<Json> = warnings.into_iter().map(Json::String).collect();
    if let Some(Json::Array(had)) = r.values.shift_remove("warnings") {
        all.extend(had);
    }
    r.values.insert("warnings".into(), Json::Array(all));
}

/// The service module for `spec` (in an image its state is already taken off).
async fn run_spec(
    spec: &Spec,
    ctx: &ModuleContext<'_>,
    image: bool,
) -> Result<ModuleResult, ModuleError> {
    let to_systemd = || systemd::Spec {
        name: Some(spec.name.clone()),
        state: spec.state,
        enabled: spec.enabled,
        scope: "system".into(),
        ..systemd::Spec::default()
    };
    // Ansible's `service` action calls the systemd module without the arguments it lacks.
    let systemd_module = || async {
        let mut r = systemd::run_systemd(&to_systemd(), ctx).await?;
        let dropped: Vec<String> = spec
            .unused_by_systemd
            .iter()
            .map(|u| format!("Ignoring \"{u}\" as it is not used in \"systemd\""))
            .collect();
        prepend_warnings(&mut r, dropped);
        Ok::<ModuleResult, ModuleError>(r)
    };
    if spec.backend == Backend::Systemd {
        return systemd_module().await;
    }
    let mut out = accounts::exec(ctx, probe_script(spec, image)).await?;
    let (route, mut probe) = parse_probe(&out.stdout);
    match route {
        Route::SystemdModule if out.rc == 0 => return systemd_module().await,
        Route::SystemdFromService if out.rc == 0 => {
            return systemd::run_systemd(&to_systemd(), ctx).await;
        }
        _ => {}
    }
    if out.rc == 0 && probe.is_none() && spec.backend == Backend::Auto {
        // The probe stopped where systemd might have been chosen, and it was not.
        let sysv = Spec {
            backend: Backend::Sysv,
            ..spec.clone()
        };
        out = accounts::exec(ctx, probe_script(&sysv, image)).await?;
        probe = parse_probe(&out.stdout).1;
    }
    let Some(probe) = probe.filter(|_| out.rc == 0) else {
        return Ok(ModuleResult::failed(format!(
            "cannot probe service {}: {}",
            spec.name,
            accounts::error_text(&out)
        )));
    };
    let plan = plan(spec, &probe);
    if !(probe.initscript && probe.update_rc_d)
        && let Some(predicted) = systemd::from_predicted_package(
            ctx,
            &spec.name,
            spec.state,
            spec.enabled,
            systemd::Manager::Sysv,
        )
    {
        return Ok(predicted);
    }
    if let Some(e) = plan.error {
        return Ok(ModuleResult::failed(e));
    }
    if ctx.check_mode && plan.action.is_some() {
        let mut r = ModuleResult::changed();
        r.msg = Some("service state changed".into());
        return Ok(r);
    }
    let mut r = ModuleResult::ok();
    r.changed = plan.enable_changed || plan.action.is_some();
    r.set("name", spec.name.clone());
    if let Some(e) = spec.enabled {
        r.set("enabled", e);
    }
    if let Some(st) = spec.state {
        r.set(
            "state",
            if st == Wanted::Stopped {
                "stopped"
            } else {
                "started"
            },
        );
    }
    if ctx.check_mode || !r.changed {
        return Ok(r);
    }
    let out = accounts::exec(ctx, apply_script(spec, &probe, &plan)).await?;
    if out.rc != 0 {
        return Ok(ModuleResult::failed(accounts::error_text(&out)));
    }
    let (rc, stdout, stderr) = action_outcome(&out.stdout);
    if rc != 0 && !stderr.contains("Job is already running") {
        let msg = if stderr.trim().is_empty() {
            stdout
        } else {
            stderr
        };
        let mut f = ModuleResult::failed(msg.trim_end().to_string());
        f.set("rc", json!(rc));
        return Ok(f);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Json) -> Spec {
        Spec::from_args(&ModuleArgs::new(
            "service",
            v.as_object().unwrap().clone().into_iter().collect(),
        ))
        .unwrap()
    }

    fn probe(rc: i32, out: &str, s_links: bool) -> Probe {
        Probe {
            initscript: true,
            service_bin: true,
            update_rc_d: true,
            s_links,
            status_rc: Some(rc),
            status_out: out.into(),
            ..Probe::default()
        }
    }

    #[test]
    fn status_heuristics_follow_ansible() {
        assert_eq!(running("cron", 3, ""), Some(false));
        assert_eq!(running("cron", 0, "cron is running.\n"), Some(true));
        assert_eq!(running("cron", 0, "cron is not running\n"), Some(false));
        assert_eq!(running("x", 0, "a\nb\nc\n"), Some(true));
        assert_eq!(running("x", 5, "a\nb\nc\n"), None);
    }

    #[test]
    fn plans_update_rc_d_and_actions() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let p = plan(
            &spec(json!({"name": "cron", "state": "started", "enabled": true})),
            &probe(3, "", false),
        );
        assert_eq!(
            p.enable,
            vec![
                s(&["update-rc.d", "cron", "defaults"]),
                s(&["update-rc.d", "cron", "enable"])
            ]
        );
        assert_eq!(p.action, Some("start"));
        let mut pr = probe(0, "cron is running.\n", true);
        let p = plan(
            &spec(json!({"name": "cron", "state": "started", "enabled": true})),
            &pr,
        );
        assert!(p.enable.is_empty() && p.action.is_none());
        let p = plan(
            &spec(json!({"name": "cron", "state": "reloaded", "enabled": false})),
            &pr,
        );
        assert_eq!(p.enable, vec![s(&["update-rc.d", "cron", "disable"])]);
        assert_eq!(p.action, Some("reload"));
        pr.k_links = true;
        pr.s_links = false;
        let p = plan(&spec(json!({"name": "cron", "enabled": true})), &pr);
        assert_eq!(p.enable, vec![s(&["update-rc.d", "cron", "enable"])]);
        // A systemd host is detected by the probe and handed to the systemd backend.
        let (route, d) = parse_probe(b"S\0\0Y\0\0\0\0");
        let d = d.unwrap();
        assert_eq!(route, Route::SystemdModule);
        assert!(!d.initscript && d.service_bin && d.status_rc.is_none());
        let auto = probe_script(&spec(json!({"name": "cron", "state": "started"})), false);
        assert!(auto.contains(facts::SERVICE_MGR_PROBE), "{auto}");
        assert!(auto.contains(SYSTEMD_MAYBE), "{auto}");
        // In an image systemd never runs: installed is what counts.
        assert!(
            probe_script(&spec(json!({"name": "cron", "enabled": true})), true)
                .contains("[ -x /lib/systemd/systemd ] && command -v systemctl")
        );
        assert!(
            !probe_script(
                &spec(json!({"name": "cron", "state": "started", "use": "sysvinit"})),
                false
            )
            .contains("/run/systemd/system")
        );
        pr.initscript = false;
        let p = plan(&spec(json!({"name": "cron", "state": "started"})), &pr);
        assert_eq!(
            p.error.as_deref(),
            Some("Could not find the requested service cron: host")
        );
    }

    #[test]
    fn scripts_quote_names_patterns_and_arguments() {
        let sp = spec(
            json!({"name": "we ird $(touch PWNED)", "state": "restarted",
            "arguments": "--opt 'a b' \"c'd\"", "sleep": 2, "pattern": "x 'y'"}),
        );
        assert_eq!(sp.arguments, vec!["--opt", "a b", "c'd"]);
        let pr = probe(0, "", true);
        let apply = apply_script(
            &sp,
            &pr,
            &Plan {
                action: Some("restart"),
                ..Plan::default()
            },
        );
        assert!(
            apply.contains(
                "jig_run service 'we ird $(touch PWNED)' stop --opt 'a b' 'c'\\''d'\nsleep 2\n"
            ),
            "{apply}"
        );
        let probe_s = probe_script(&sp, false);
        assert!(probe_s.contains("JIG_PAT='x '\\''y'\\'''"), "{probe_s}");
        for script in [apply, probe_s] {
            let st = std::process::Command::new("sh")
                .args(["-n", "-c", &script])
                .status()
                .unwrap();
            assert!(st.success(), "{script}");
        }
        // The probe really runs: a name no init script has. With `use: auto` its first
        // record is the service-manager part; the sysv part may stop there on a machine
        // that looks like systemd's.
        let run = |v: Json| {
            let out = std::process::Command::new("sh")
                .args(["-c", &probe_script(&spec(v), false)])
                .output()
                .unwrap();
            assert!(out.status.success());
            out.stdout
        };
        let auto = run(json!({"name": "jig-nope ü", "state": "started"}));
        assert!(String::from_utf8_lossy(&auto).starts_with("@@jig-facts:systemctl\n"));
        let p = parse_probe(&run(json!({"name": "jig-nope ü", "state": "started",
            "use": "service"})))
        .1
        .unwrap();
        assert!(!p.initscript && !p.s_links);
        assert_eq!(
            action_outcome(b"1\0\0stop failed\n\x000\0started\n\0\0"),
            (0, "started\n".into(), String::new())
        );
    }

    /// A host's service-manager probe output: PID 1's name, the canary, `systemctl`.
    fn mgr(pid1: &str, canary: bool, systemctl: bool) -> String {
        format!(
            "@@jig-facts:systemctl\n{}@@jig-facts:systemd\n{}@@jig-facts:systemd_version\n\
             @@jig-facts:pid1\n{pid1}\n@@jig-facts:sbin_init\n@@jig-facts:uname\nh\nLinux\n\
             @@jig-facts:paths\n/etc/init.d\n@@jig-facts:bins\n",
            if systemctl { "yes\n" } else { "" },
            if canary && systemctl { "yes\n" } else { "" },
        )
    }

    #[test]
    fn routes_like_ansibles_service_action() {
        let route = |raw: String| parse_probe(format!("{raw}\0").as_bytes()).0;
        // The fact says systemd: Ansible's systemd module.
        assert_eq!(route(mgr("systemd", false, true)), Route::SystemdModule);
        assert_eq!(route(mgr("bash", true, true)), Route::SystemdModule);
        // A custom PID 1 (the test bed's init): Ansible's service module, which finds systemd
        // by its canary.
        assert_eq!(
            route(mgr("jig-init", true, true)),
            Route::SystemdFromService
        );
        assert_eq!(route(mgr("jig-init", false, true)), Route::Sysv);
        assert_eq!(route(mgr("jig-init", true, false)), Route::Sysv);
        // No canary, PID 1 a shell: sysvinit by /etc/init.d.
        assert_eq!(route(mgr("sh", false, true)), Route::Sysv);
        // The probe stops after the manager where systemd may be chosen.
        let script = |pid1: &str, canary: bool| {
            let dir = tempfile::tempdir().unwrap();
            let comm = dir.path().join("comm");
            std::fs::write(&comm, format!("{pid1}\n")).unwrap();
            let canary_dir = dir.path().join("canary");
            if canary {
                std::fs::create_dir(&canary_dir).unwrap();
            }
            let text = SYSTEMD_MAYBE
                .replace(
                    "/run/systemd/system/",
                    &format!("{}/", canary_dir.display()),
                )
                .replace("/dev/.run/systemd/ /dev/.systemd/", "")
                .replace("/sbin/init", "/nonexistent/init");
            let out = std::process::Command::new("sh")
                .args([
                    "-c",
                    &format!(
                        "jig_sc=/bin/true; c=$(cat {}); {text}echo sysv",
                        quote(&comm.display().to_string())
                    ),
                ])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert_eq!(script("systemd", false), "");
        assert_eq!(script("jig-init", true), "");
        assert_eq!(script("jig-init", false), "sysv\n");
    }

    #[test]
    fn systemd_drops_the_arguments_it_lacks_with_ansibles_warnings() {
        let sp = spec(
            json!({"name": "x", "state": "started", "sleep": 1, "args": "-q",
            "pattern": "x", "runlevel": "3"}),
        );
        assert_eq!(
            sp.unused_by_systemd,
            vec!["pattern", "runlevel", "sleep", "args"]
        );
        let mut r = ModuleResult::ok();
        crate::modules::textfile::add_warnings(&mut r, &["from the module".to_string()]);
        prepend_warnings(
            &mut r,
            vec!["Ignoring \"sleep\" as it is not used in \"systemd\"".into()],
        );
        assert_eq!(
            r.values["warnings"],
            json!([
                "Ignoring \"sleep\" as it is not used in \"systemd\"",
                "from the module"
            ])
        );
        assert!(
            spec(json!({"name": "x", "enabled": true}))
                .unused_by_systemd
                .is_empty()
        );
    }
}

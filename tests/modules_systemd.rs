//! The systemd path of `systemd`/`systemd_service`, `service` and `service_facts`, compared
//! with ansible-core 2.19 on twin test-bed hosts that report systemd.
//!
//! The bed has no systemd, so both twins get the same stand-in (tests/fixtures/systemd/
//! systemctl.sh as /usr/bin/systemctl: systemd 252's output formats and exit codes over a tiny
//! per-unit state, every call logged) and report systemd as both tools detect it (seed.sh:
//! `/run/systemd/system`, PID 1 named `systemd`). jig runs tests/fixtures/systemd/play.yml on
//! one twin, ansible-playbook on the other: check mode, the real run, a second run. After
//! each, the two logs of mutating systemctl calls (start, stop, enable, mask, daemon-reload...)
//! must be the same, in order; the registered results (written by the playbook to
//! /root/results-*.json) must agree on the keys roles read; the fake unit state must be the
//! same; check mode must mutate nothing.

#[path = "support/testbed.rs"]
mod testbed;

#[path = "support/converge.rs"]
mod converge;

use serde_json::{Map, Value as Json};

const SHIM: &str = include_str!("fixtures/systemd/systemctl.sh");
const SEED: &str = include_str!("fixtures/systemd/seed.sh");
const PLAY: &str = include_str!("fixtures/systemd/play.yml");

/// The verbs that change a unit or the manager; the rest are queries.
const MUTATING: &[&str] = &[
    "start",
    "stop",
    "restart",
    "reload",
    "try-restart",
    "reload-or-restart",
    "enable",
    "disable",
    "reenable",
    "mask",
    "unmask",
    "daemon-reload",
    "daemon-reexec",
];

/// The result keys compared between the tools.
const KEYS: &[&str] = &[
    "changed", "failed", "msg", "name", "state", "enabled", "status", "skipped", "warnings",
];

/// Installs the shim and seeds one host.
fn prepare(run: impl Fn(&str) -> String) {
    run(&format!(
        "cat >/usr/bin/systemctl <<'JIG_SHIM_EOF'\n{SHIM}JIG_SHIM_EOF\nchmod 755 /usr/bin/systemctl"
    ));
    assert_eq!(run(SEED).trim(), "ok");
}

/// The logged calls (one quoted argv per line) whose verb mutates.
fn mutating(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.split(' ')
                .map(|w| w.trim_matches('\''))
                .find(|w| !w.starts_with('-'))
                .is_some_and(|verb| MUTATING.contains(&verb))
        })
        .map(str::to_string)
        .collect()
}

/// The compared part of each registered result.
fn comparable(results: &str) -> Map<String, Json> {
    let v: Json = serde_json::from_str(results)
        .unwrap_or_else(|e| panic!("results are not JSON ({e}):\n{results}"));
    let mut out = Map::new();
    for (k, r) in v.as_object().expect("a results object") {
        let kept = match r {
            Json::Object(m) if k != "services" && k != "systemd_fact" => Json::Object(
                m.iter()
                    .filter(|(k, _)| KEYS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        };
        out.insert(k.clone(), kept);
    }
    out
}

/// Asserts both result files agree, key by key (so a failure names the task).
fn assert_same_results(mode: &str, ours: &str, theirs: &str) {
    let (ours, theirs) = (comparable(ours), comparable(theirs));
    let mut keys: Vec<&String> = ours.keys().chain(theirs.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        assert_eq!(
            ours.get(k),
            theirs.get(k),
            "{mode}: the registered result `{k}` differs (left jig, right ansible)"
        );
    }
}

/// The warnings a run printed, its host's name replaced by `HOST`.
fn warnings(out: &converge::Outcome, host: &str) -> Vec<String> {
    out.stdout
        .lines()
        .chain(out.stderr.lines())
        .filter(|l| l.starts_with("[WARNING]"))
        .map(|l| l.replace(host, "HOST"))
        .collect()
}

const STATE: &str = "cd /var/lib/fake-systemd && find . -mindepth 3 | LC_ALL=C sort";
const LOG: &str = "cat /var/log/fake-systemctl.log";
const CLEAR: &str = ": >/var/log/fake-systemctl.log";

#[test]
fn systemd_service_and_service_facts_drive_systemctl_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    prepare(|c| pair.on_jig(c));
    prepare(|c| pair.on_ansible(c));
    pair.write("play.yml", PLAY);
    let before = pair.assert_same(STATE);

    let mut counts = Vec::new();
    for (mode, args) in [
        ("check", &["--check"][..]),
        ("first", &[][..]),
        ("second", &[][..]),
    ] {
        let (ours, theirs) = std::thread::scope(|s| {
            let theirs = s.spawn(|| pair.ansible("play.yml", args));
            (
                pair.jig("play.yml", args),
                theirs.join().expect("the ansible run"),
            )
        });
        ours.assert_ok(&format!("jig ({mode})"));
        theirs.assert_ok(&format!("ansible-playbook ({mode})"));
        assert_eq!(
            ours.recap, theirs.recap,
            "{mode}: the recaps differ\njig:\n{}\nansible:\n{}",
            ours.stdout, theirs.stdout
        );
        let (log_j, log_a) = (pair.on_jig(LOG), pair.on_ansible(LOG));
        let (mut_j, mut_a) = (mutating(&log_j), mutating(&log_a));
        assert_eq!(
            mut_j, mut_a,
            "{mode}: the mutating systemctl calls differ (left jig, right ansible)\n\
             jig's whole log:\n{log_j}\nansible's:\n{log_a}"
        );
        let file = if mode == "check" {
            "/root/results-check.json"
        } else {
            "/root/results-real.json"
        };
        assert_same_results(
            mode,
            &pair.on_jig(&format!("cat {file}")),
            &pair.on_ansible(&format!("cat {file}")),
        );
        if let Some(dir) = std::env::var_os("JIG_SYSTEMD_DUMP") {
            let dir = std::path::Path::new(&dir);
            std::fs::create_dir_all(dir).unwrap();
            for (who, out, log, host) in [
                ("jig", &ours.stdout, &log_j, pair.jig_host()),
                ("ansible", &theirs.stdout, &log_a, pair.ansible_host()),
            ] {
                std::fs::write(dir.join(format!("{mode}-{who}.out")), out).unwrap();
                std::fs::write(dir.join(format!("{mode}-{who}.log")), log).unwrap();
                let results = pair.bed().ssh_ok(host, &format!("cat {file}"));
                std::fs::write(dir.join(format!("{mode}-{who}.json")), results).unwrap();
            }
        }
        assert_eq!(
            warnings(&ours, &pair.jig_host().name),
            warnings(&theirs, &pair.ansible_host().name),
            "{mode}: the warnings differ (left jig, right ansible)"
        );
        let state = pair.assert_same(STATE);
        if mode == "check" {
            assert!(mut_j.is_empty(), "check mode mutated: {mut_j:?}");
            assert_eq!(state, before, "check mode changed the units");
        }
        println!(
            "{mode}: recap {:?}; {} mutating calls, {} queries by jig, {} by ansible",
            ours.recap,
            mut_j.len(),
            log_j.lines().count() - mut_j.len(),
            log_a.lines().count() - mut_a.len()
        );
        counts.push((ours.recap.changed, mut_j));
        pair.on_jig(CLEAR);
        pair.on_ansible(CLEAR);
    }
    let real = comparable(&pair.on_jig("cat /root/results-real.json"));
    assert_eq!(real["service_mgr"], "systemd");
    assert_eq!(real["systemd_fact"]["version"], 252);
    assert_eq!(
        real["svc"]["warnings"][0],
        r#"Ignoring "sleep" as it is not used in "systemd""#
    );
    assert_eq!(real["services"]["jig-web.service"]["state"], "running");
    assert_eq!(
        real["missing"]["msg"],
        "Could not find the requested service jig-missing: host"
    );
    the_beds_own_init_with_systemds_canary(&pair);
    // Check mode predicted the real run; the second run only restarts, reloads and
    // daemon-reloads (always done) and rewrites the results file.
    assert_eq!(counts[0].0, counts[1].0);
}

/// The play of the second part: `service` where the service manager is not `systemd`.
const PLAY_CUSTOM_INIT: &str = "- hosts: all
  gather_facts: true
  tasks:
    - ansible.builtin.service:
        name: jig-svc4
        state: started
        enabled: true
    - ansible.builtin.service_facts:
    - ansible.builtin.copy:
        dest: /root/custom.json
        content: \"{{ {'mgr': ansible_service_mgr, 'svc4': ansible_facts.services['jig-svc4.service']} | to_json }}\"
";

/// PID 1 as the bed has it (`jig-init`) with systemd's canary: Ansible's `service_mgr` is
/// `jig-init`, so its `service` action runs the `service` module, which finds systemd by the
/// canary and drives systemctl; jig routes there too and makes the same calls.
fn the_beds_own_init_with_systemds_canary(pair: &converge::Pair) {
    let seed = "umount /proc/1/comm && \
        echo install >/var/lib/fake-systemd/system/units/jig-svc4.service && \
        : >/var/log/fake-systemctl.log && cat /proc/1/comm";
    assert_eq!(pair.on_jig(seed), "jig-init\n");
    assert_eq!(pair.on_ansible(seed), "jig-init\n");
    pair.write("custom.yml", PLAY_CUSTOM_INIT);
    for pass in ["first", "second"] {
        let (ours, theirs) = std::thread::scope(|s| {
            let theirs = s.spawn(|| pair.ansible("custom.yml", &[]));
            (
                pair.jig("custom.yml", &[]),
                theirs.join().expect("the ansible run"),
            )
        });
        ours.assert_ok("jig (custom init)");
        theirs.assert_ok("ansible-playbook (custom init)");
        assert_eq!(
            ours.recap, theirs.recap,
            "{}\n{}",
            ours.stdout, theirs.stdout
        );
        let (log_j, log_a) = (pair.on_jig(LOG), pair.on_ansible(LOG));
        assert_eq!(
            mutating(&log_j),
            mutating(&log_a),
            "custom init, {pass} run: jig's log:\n{log_j}\nansible's:\n{log_a}"
        );
        if pass == "first" {
            assert_eq!(
                mutating(&log_j),
                ["'enable' 'jig-svc4'", "'start' 'jig-svc4'"]
            );
        } else {
            assert!(mutating(&log_j).is_empty(), "{log_j}");
        }
        pair.on_jig(CLEAR);
        pair.on_ansible(CLEAR);
    }
    let same = pair.assert_same("cat /root/custom.json");
    assert!(same.contains(r#""mgr": "jig-init""#), "{same}");
    assert!(same.contains(r#""state": "running""#), "{same}");
}

//! The `wait_for` module: wait on the host until a port opens, closes or drains, a file
//! appears (optionally with content matching `search_regex`) or goes away, or just some time.
//!
//! The whole wait is one round trip: a POSIX sh loop on the host with a deadline, testing the
//! condition every `sleep` seconds after `delay`. Ports are tested from the host (bash's
//! `/dev/tcp`, with `connect_timeout`), drained ports with `ss`, file content with `grep -P`.
//! Nothing changes, so the result is never `changed`; in check mode the task is skipped, as in
//! ansible-core (a service a check run did not start would only time out).

use std::time::Instant;

use async_trait::async_trait;

use serde_json::{Map, Value as Json};

use super::pyregex::{Dollar, PyRegex};
use super::remote::{self, Frames};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `wait_for` module.
pub struct WaitFor;

const KNOWN: &[&str] = &[
    "host",
    "port",
    "path",
    "state",
    "delay",
    "timeout",
    "sleep",
    "connect_timeout",
    "search_regex",
    "regex",
    "exclude_hosts",
    "active_connection_states",
    "msg",
];

/// The wait. Parameters: 1 kind (`port`, `closed`, `drained`, `present`, `absent`, `sleep`),
/// 2 host, 3 port, 4 path, 5 regex or empty, 6 delay, 7 timeout, 8 sleep, 9 connect timeout.
/// Exits 0 when the condition holds, after printing `S\0` and the `jig_stat` records of a
/// path that exists (or `N\0`), then the file for a `present` wait with a regex, whose groups
/// the controller reads; 3 on timeout.
const WAIT: &str = r#"kind=$1 host=$2 port=$3 path=$4 re=$5 ct=$9
sleep "$6"
end=$(( $(date +%s) + $7 ))
probe_port() {
  if [ -n "$re" ]; then
    timeout "$ct" bash -c 'exec 3<>"/dev/tcp/$0/$1" && timeout 2 head -c 65536 <&3' "$host" "$port" 2>/dev/null | grep -qP -- "$re"
  else
    timeout "$ct" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
  fi
}
check() {
  case $kind in
    port) probe_port ;;
    closed) ! timeout "$ct" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null ;;
    drained) [ -z "$(ss -Htn state established "( sport = :$port )" 2>/dev/null)" ] ;;
    present) [ -e "$path" ] && { [ -z "$re" ] || grep -qP -- "$re" "$path" 2>/dev/null; } ;;
    absent) [ ! -e "$path" ] ;;
    sleep) [ "$(date +%s)" -ge "$end" ] ;;
  esac
}
while :; do
  if check; then
    if [ -n "$path" ] && [ -e "$path" ]; then printf 'S\0'; jig_stat "$path"; else printf 'N\0'; fi
    if [ "$kind" = present ] && [ -n "$re" ]; then cat -- "$path"; fi
    exit 0
  fi
  if [ "$(date +%s)" -ge "$end" ]; then exit 3; fi
  sleep "$8"
done"#;

/// `match_groups` and `match_groupdict` of the first match of `re` in `text`, as Python's
/// `search.groups()` (unmatched groups null) and `search.groupdict()`.
fn match_groups(re: &PyRegex, text: &str) -> (Json, Json) {
    let Ok(Some(caps)) = re.search(text) else {
        return (Json::Array(Vec::new()), Json::Object(Map::new()));
    };
    let group = |m: Option<fancy_regex::Match<'_>>| m.map_or(Json::Null, |m| m.as_str().into());
    let groups = (1..caps.len()).map(|i| group(caps.get(i))).collect();
    // Group names in the order the pattern defines them (`(?P<name>...)`).
    let names = regex::Regex::new(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>").expect("a valid pattern");
    let named = names
        .captures_iter(re.as_str())
        .map(|c| (c[1].to_string(), group(caps.name(&c[1]))))
        .collect();
    (Json::Array(groups), Json::Object(named))
}

#[async_trait]
impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let host = args.str("host")?.unwrap_or_else(|| "127.0.0.1".into());
        let port = args.int("port")?;
        let path = args.str("path")?.filter(|p| !p.is_empty());
        let state = args.str("state")?.unwrap_or_else(|| "started".into());
        let delay = args.int("delay")?.unwrap_or(0).max(0);
        let timeout = args.int("timeout")?.unwrap_or(300).max(0);
        let sleep = args.int("sleep")?.unwrap_or(1).max(1);
        let connect_timeout = args.int("connect_timeout")?.unwrap_or(5).max(1);
        let regex = match args.get_any(&["search_regex", "regex"]) {
            Some((n, _)) => args.str(n)?,
            None => None,
        };
        if port.is_some() && path.is_some() {
            return Err(args
                .error("port and path parameter can not both be passed to wait_for")
                .into());
        }
        if path.is_some() && state == "stopped" {
            // Ansible treats stopped like absent for files.
        } else if path.is_some() && state == "drained" {
            return Err(args
                .error(
                    "state=drained should only be used for checking a port in the wait_for module",
                )
                .into());
        }
        let kind = match (&port, &path, state.as_str()) {
            (Some(_), None, "started" | "present") => "port",
            (Some(_), None, "stopped" | "absent") => "closed",
            (Some(_), None, "drained") => "drained",
            (None, Some(_), "started" | "present") => "present",
            (None, Some(_), "stopped" | "absent") => "absent",
            (None, None, _) => "sleep",
            (_, _, other) => {
                return Err(args
                    .invalid(
                        "state",
                        format!("must be one of started, stopped, present, absent, drained; got '{other}'"),
                    )
                    .into());
            }
        };
        // Python compiles the pattern with MULTILINE before waiting, and fails on a bad one.
        let compiled = match &regex {
            Some(r) => match PyRegex::compile(r, Dollar::Multiline, false) {
                Ok(re) => Some(re),
                Err(e) => {
                    return Ok(ModuleResult::failed(format!(
                        "Invalid regular expression: {e}"
                    )));
                }
            },
            None => None,
        };
        // Ansible returns every key, null when not given.
        let mut result = ModuleResult::ok();
        result
            .set("state", state.clone())
            .set("port", port.map_or(Json::Null, Json::from))
            .set("search_regex", regex.clone().map_or(Json::Null, Json::from))
            .set("match_groups", Json::Array(Vec::new()))
            .set("match_groupdict", Json::Object(Map::new()))
            .set("path", path.clone().map_or(Json::Null, Json::from));
        if ctx.check_mode {
            result.skipped = true;
            result.msg = Some("wait_for does not wait in check mode".into());
            return Ok(result);
        }
        let started = Instant::now();
        let p = port.map(|p| p.to_string()).unwrap_or_default();
        let cmd = remote::script(
            &[
                kind,
                &host,
                &p,
                path.as_deref().unwrap_or(""),
                regex.as_deref().unwrap_or(""),
                &delay.to_string(),
                &timeout.to_string(),
                &sleep.to_string(),
                &connect_timeout.to_string(),
            ],
            WAIT,
        );
        let out = remote::run(ctx, cmd, None).await?;
        let elapsed = started.elapsed().as_secs();
        result.set("elapsed", elapsed);
        match out.rc {
            0 => {
                let mut fr = Frames::new(&out.stdout);
                // Ansible's exit_json adds the path's attributes (`state` becomes its type).
                if fr.next_record() == Some(b"S")
                    && let Some(p) = &path
                    && let Ok(Some(rec)) = fr.stat(p)
                {
                    remote::add_path_info(&mut result, &rec.stat);
                }
                if kind == "present"
                    && let Some(re) = &compiled
                {
                    let text = String::from_utf8_lossy(fr.remainder());
                    let (groups, named) = match_groups(re, &text);
                    result
                        .set("match_groups", groups)
                        .set("match_groupdict", named);
                }
                Ok(result)
            }
            3 => {
                let msg = match args.str("msg")? {
                    Some(m) => m,
                    None => match (kind, &regex) {
                        ("present", Some(r)) => format!(
                            "Timeout when waiting for search string {r} in {}",
                            path.as_deref().unwrap_or("")
                        ),
                        ("present", None) => format!(
                            "Timeout when waiting for file {}",
                            path.as_deref().unwrap_or("")
                        ),
                        ("absent", _) => format!(
                            "Timeout when waiting for {} to be absent.",
                            path.as_deref().unwrap_or("")
                        ),
                        ("port", Some(r)) => {
                            format!("Timeout when waiting for search string {r} in {host}:{p}")
                        }
                        ("closed", _) => format!("Timeout when waiting for {host}:{p} to stop."),
                        ("drained", _) => {
                            format!("Timeout when waiting for {host}:{p} to drain")
                        }
                        _ => format!("Timeout when waiting for {host}:{p}"),
                    },
                };
                let mut f = ModuleResult::failed(msg);
                f.set("elapsed", elapsed);
                Ok(f)
            }
            _ => {
                let mut f = ModuleResult::failed(
                    remote::host_error("cannot wait on the host", &out).to_string(),
                );
                f.set("elapsed", elapsed);
                Ok(f)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
    use serde_json::{Value as Json, json};

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new(
            "wait_for",
            v.as_object().unwrap().clone().into_iter().collect(),
        )
    }

    #[tokio::test]
    async fn ports_files_and_timeouts() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                use std::io::Write;
                let _ = s.write_all(b"SSH-2.0-hello\r\n");
            }
        });
        let r = WaitFor
            .run(&margs(json!({"port": port, "timeout": 5})), &ctx)
            .await
            .unwrap();
        assert!(!r.failed && !r.changed, "{r:?}");
        let r = WaitFor
            .run(
                &margs(json!({"port": port, "search_regex": "SSH-\\d", "timeout": 5})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(!r.failed, "{r:?}");
        // A closed port: `stopped` holds at once, `started` times out with the message.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let r = WaitFor
            .run(
                &margs(json!({"port": closed, "state": "stopped", "timeout": 5})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(!r.failed, "{r:?}");
        let r = WaitFor
            .run(
                &margs(json!({"port": closed, "timeout": 1, "msg": "custom 'm'"})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(r.failed && r.msg.as_deref() == Some("custom 'm'"), "{r:?}");
        assert!(r.values["elapsed"].as_u64().unwrap() >= 1);
        // A failure carries only its message and the time waited, as Ansible's.
        assert!(r.values.get("state").is_none() && r.values.get("port").is_none());
        // A file that appears later, with content.
        let f = tmp.path().join(HOSTILE);
        let f2 = f.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1200));
            std::fs::write(&f2, "ready: yes\n").unwrap();
        });
        let r = WaitFor
            .run(
                &margs(json!({"path": f.to_str().unwrap(), "search_regex": "ready: (yes|no)", "timeout": 10})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(!r.failed, "{r:?}");
        assert_eq!(r.values["match_groups"], json!(["yes"]));
        assert_eq!(r.values["port"], Json::Null);
        // The path's attributes, as Ansible's exit_json adds them.
        assert_eq!(r.values["state"], "file");
        assert_eq!(r.values["size"], 11);
        let r = WaitFor
            .run(
                &margs(json!({"path": f.to_str().unwrap(), "search_regex": "^(?P<key>\\w+): (?P<v>\\w+)( no)?$", "timeout": 10})),
                &ctx,
            )
            .await
            .unwrap();
        assert_eq!(
            r.values["match_groups"],
            json!(["ready", "yes", null]),
            "{r:?}"
        );
        assert_eq!(
            r.values["match_groupdict"],
            json!({"key": "ready", "v": "yes"})
        );
        let r = WaitFor
            .run(
                &margs(json!({"path": f.to_str().unwrap(), "search_regex": "(", "timeout": 1})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(r.failed && r.msg.unwrap().starts_with("Invalid regular expression"));
        let r = WaitFor
            .run(
                &margs(json!({"path": f.to_str().unwrap(), "state": "absent", "timeout": 1})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(r.failed && r.msg.unwrap().contains("to be absent"));
        let r = WaitFor
            .run(&margs(json!({"path": tmp.path().join("never").to_str().unwrap(), "state": "absent", "timeout": 1})), &ctx)
            .await
            .unwrap();
        assert!(!r.failed);
        // Check mode does not wait.
        let r = WaitFor
            .run(
                &margs(json!({"port": closed, "timeout": 100})),
                &env.ctx(true, false),
            )
            .await
            .unwrap();
        assert!(r.skipped);
        assert_not_pwned();
    }
}

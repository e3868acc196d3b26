//! `jig facts`: the facts `ansible -m setup` would show for some hosts, as JSON.
//!
//! This module owns the command's flags, choosing each host's connection from its inventory
//! variables the way `jig run` does (through [`crate::exec::connect`] and one
//! [`crate::connection::ssh::SshHub`]), gathering every host concurrently, and the
//! output: `{"host": {"ansible_facts": {"ansible_os_family": ...}}}` with sorted keys, as
//! `ansible HOST -m setup` shows the module's result. Unreachable hosts appear as
//! `{"host": {"unreachable": true, "msg": ...}}` and make the exit status 4, as in `jig run`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use clap::Args;
use serde_json::{Map, Value as Json, json};

use super::exit::ExitCode;
use super::run::SshFlags;
use super::{print_error, print_warning, split_commas};
use crate::connection::Connection;
use crate::connection::ssh::{SshCliOptions, SshHub};
use crate::exec::connect;
use crate::exec::facts::{GatherOptions, Subset};
use crate::inventory::Inventory;
use crate::template::Templar;
use crate::vars::{Layer, VarMap, VarScope};

/// `jig facts` flags.
#[derive(Debug, Args)]
pub struct FactsArgs {
    /// Host patterns, as in a play's `hosts:` (`all`, `web`, `web:&prod`, `node[1:2]`).
    ///
    /// Several patterns select the union of their hosts, each once.
    #[arg(value_name = "PATTERN", required = true)]
    pub patterns: Vec<String>,

    /// Inventory source: a file, a directory, or a host list `h1,h2,` (repeatable).
    ///
    /// Without -i, ANSIBLE_INVENTORY is used; without either only `localhost` exists.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,

    /// Which facts to gather, as setup's gather_subset (comma-separated, repeatable).
    ///
    /// `all` (default), `min`, `hardware`, `network`, `virtual`, a collector name such as
    /// `distribution` or `dns`, or any of them negated with `!` (`!all,network`).
    #[arg(long = "gather-subset", value_name = "SUBSETS")]
    pub gather_subset: Vec<String>,

    /// Directory of local facts (*.fact files) read into ansible_local.
    ///
    /// JSON and INI files are read, executable ones are run and their output parsed.
    #[arg(
        long = "fact-path",
        value_name = "DIR",
        default_value = "/etc/ansible/facts.d"
    )]
    pub fact_path: String,

    /// SSH connection flags.
    #[command(flatten)]
    pub ssh: Box<SshFlags>,
}

/// Runs `jig facts`.
pub fn execute(args: FactsArgs) -> ExitCode {
    let sources = if args.inventory.is_empty() {
        std::env::var("ANSIBLE_INVENTORY")
            .map(|v| split_commas(&[v]))
            .unwrap_or_default()
    } else {
        args.inventory.clone()
    };
    let inventory = if sources.is_empty() {
        print_warning("No inventory was parsed, only implicit localhost is available");
        Inventory::empty()
    } else {
        match Inventory::load(&sources) {
            Ok(inv) => inv,
            Err(e) => {
                print_error(&e.to_string());
                return ExitCode::Error;
            }
        }
    };
    for w in inventory.warnings() {
        print_warning(w);
    }
    let hosts = match select_hosts(&inventory, &args.patterns) {
        Ok(h) => h,
        Err(e) => {
            print_error(&e);
            return ExitCode::Error;
        }
    };
    let options = GatherOptions {
        subset: match Subset::parse(&split_commas(&args.gather_subset)) {
            Ok(s) => s,
            Err(e) => {
                print_error(&e);
                return ExitCode::Usage;
            }
        },
        fact_path: args.fact_path.clone(),
    };
    let cli = match args.ssh.options() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            print_error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::Internal;
        }
    };
    let results = runtime.block_on(gather_all(&inventory, &hosts, &cli, &options));
    let (json, code) = render(results);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if writeln!(out, "{json}").is_err() {
        return ExitCode::Error;
    }
    code
}

/// The hosts matching any of `patterns`, each once, in the order the patterns name them.
fn select_hosts(inventory: &Inventory, patterns: &[String]) -> Result<Vec<String>, String> {
    let hosts = inventory.select_many(patterns).map_err(|e| e.to_string())?;
    if hosts.is_empty() {
        return Err(format!(
            "no hosts matched {}; check the pattern and the inventory (-i)",
            patterns.join(" ")
        ));
    }
    Ok(hosts)
}

/// One host's outcome: its facts, or why it could not be reached.
type Outcome = Result<VarMap, String>;

/// Gathers every host at once; the results come back in `hosts` order.
async fn gather_all(
    inventory: &Inventory,
    hosts: &[String],
    cli: &SshCliOptions,
    options: &GatherOptions,
) -> Vec<(String, Outcome)> {
    // One connection per host; ssh_config is read once, and only if some host needs SSH.
    let hub = SshHub::new(cli.clone());
    let templar = Templar::new();
    let mut set = tokio::task::JoinSet::new();
    let mut results: Vec<(String, Outcome)> = hosts
        .iter()
        .map(|h| (h.clone(), Err(String::from("not gathered"))))
        .collect();
    for (i, host) in hosts.iter().enumerate() {
        let conn = open_host(inventory, host, &templar, &hub);
        let options = options.clone();
        set.spawn(async move {
            let outcome = match conn {
                Ok(c) => crate::exec::facts::gather_with(&c, None, &options)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            (i, outcome)
        });
    }
    while let Some(done) = set.join_next().await {
        match done {
            Ok((i, outcome)) => {
                if let Some(slot) = results.get_mut(i) {
                    slot.1 = outcome;
                }
            }
            Err(e) => print_error(&format!("a fact-gathering task stopped: {e}")),
        }
    }
    results
}

/// The connection for `host`, chosen from its (templated) inventory variables as `jig run`
/// chooses it.
fn open_host(
    inventory: &Inventory,
    host: &str,
    templar: &Templar,
    hub: &SshHub,
) -> Result<Arc<Connection>, String> {
    let mut scope = VarScope::new();
    for (layer, vars) in inventory.var_layers(host) {
        scope.push(layer, vars);
    }
    let mut magic = VarMap::new();
    magic.insert("inventory_hostname".into(), json!(host));
    magic.insert(
        "inventory_hostname_short".into(),
        json!(host.split('.').next().unwrap_or(host)),
    );
    magic.insert("group_names".into(), json!(inventory.group_names(host)));
    scope.push(Layer::Magic, Arc::new(magic));
    let render = |name: &str| -> Result<Option<Json>, String> {
        scope
            .get(name)
            .map(|raw| {
                templar
                    .template_value(raw, &scope)
                    .map_err(|e| format!("{host}: cannot template {name}: {e}"))
            })
            .transpose()
    };
    let transport = render("ansible_connection")?.map(|v| match v {
        Json::String(s) => s,
        other => other.to_string(),
    });
    connect::open(host, transport.as_deref(), hub, || {
        connect::connection_vars(templar, &scope, host)
    })
}

/// The JSON document for the results (keys sorted at every level, four-space indents as
/// Ansible prints) and the exit status.
fn render(results: Vec<(String, Outcome)>) -> (String, ExitCode) {
    let mut code = ExitCode::Ok;
    let mut doc = Map::new();
    for (host, outcome) in results {
        let entry = match outcome {
            // As setup returns them: `ansible_`-prefixed, except gather_subset/module_setup.
            Ok(mut facts) => {
                facts.shift_remove("ansible_facts");
                json!({ "ansible_facts": Json::Object(facts.into_iter().collect()) })
            }
            Err(msg) => {
                code = ExitCode::HostUnreachable;
                print_error(&format!("{host} is UNREACHABLE: {msg}"));
                json!({"msg": msg, "unreachable": true})
            }
        };
        doc.insert(host, entry);
    }
    (to_sorted_json(&Json::Object(doc)), code)
}

/// `value` as pretty JSON with every object's keys sorted.
fn to_sorted_json(value: &Json) -> String {
    fn sorted(v: &Json) -> Json {
        match v {
            Json::Object(m) => {
                let tree: BTreeMap<&String, Json> = m.iter().map(|(k, v)| (k, sorted(v))).collect();
                Json::Object(tree.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Json::Array(a) => Json::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    match serde::Serialize::serialize(&sorted(value), &mut ser) {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        Err(e) => format!("{{\"error\": \"cannot print facts: {e}\"}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_sorted_and_unreachable_hosts_exit_4() {
        let mut facts = VarMap::new();
        facts.insert("ansible_zeta".into(), json!(1));
        facts.insert(
            "ansible_alpha".into(),
            json!({"b": 2, "a": [{"y": 1, "x": 2}]}),
        );
        facts.insert("ansible_facts".into(), json!({"zeta": 1}));
        let (text, code) = render(vec![("web1".into(), Ok(facts.clone()))]);
        assert_eq!(code, ExitCode::Ok);
        let alpha = text.find("\"ansible_alpha\"").unwrap();
        let zeta = text.find("\"ansible_zeta\"").unwrap();
        assert!(alpha < zeta, "{text}");
        assert!(text.find("\"x\"").unwrap() < text.find("\"y\"").unwrap());
        assert!(text.contains("\n    \"web1\": {"), "{text}");

        let (text, code) = render(vec![
            ("web1".into(), Ok(facts)),
            ("db 1".into(), Err("connect timed out".into())),
        ]);
        assert_eq!(code, ExitCode::HostUnreachable);
        let v: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(v["db 1"]["unreachable"], json!(true));
        assert_eq!(v["web1"]["ansible_facts"]["ansible_zeta"], json!(1));
        assert!(v["web1"]["ansible_facts"].get("ansible_facts").is_none());
    }

    #[test]
    fn no_matching_host_is_an_error_that_names_the_pattern() {
        let inv = Inventory::load(&["h1,h2,".to_string()]).unwrap();
        let e = select_hosts(&inv, &["nosuch".to_string()]).unwrap_err();
        assert!(e.contains("nosuch"), "{e}");
        let h = select_hosts(&inv, &["h2".to_string(), "all".to_string()]).unwrap();
        assert_eq!(
            h,
            vec!["h2", "h1"],
            "in the order the patterns name them, each once"
        );
    }

    #[test]
    fn connection_vars_are_templated_and_local_hosts_stay_local() {
        let dir = tempfile::tempdir().unwrap();
        let inv_path = dir.path().join("hosts.ini");
        std::fs::write(
            &inv_path,
            "ctl ansible_connection=\"{{ 'lo' ~ 'cal' }}\"\n\
             web1 ansible_host=10.0.0.1 ansible_port=\"{{ 2200 + 2 }}\"\n\
             bad ansible_connection=docker\n",
        )
        .unwrap();
        let inv = Inventory::load(&[inv_path.display().to_string()]).unwrap();
        let cli = SshCliOptions {
            ssh_config: Some(dir.path().join("none")),
            ..SshCliOptions::default()
        };
        std::fs::write(dir.path().join("none"), "").unwrap();
        let t = Templar::new();
        let hub = SshHub::new(cli);
        let c = open_host(&inv, "ctl", &t, &hub).unwrap();
        assert!(matches!(*c, Connection::Local(_)));
        let c = open_host(&inv, "web1", &t, &hub).unwrap();
        assert!(matches!(*c, Connection::Ssh(_)));
        let e = open_host(&inv, "bad", &t, &hub).unwrap_err();
        assert!(e.contains("docker"), "{e}");
    }
}

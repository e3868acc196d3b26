//! The `getent` module: one `getent DATABASE [KEY] [-s SERVICE]` on the host, its lines
//! split into `ansible_facts.getent_<database>` in Ansible's shape (first field -> the rest;
//! a repeated first field -> a list of those lists).

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

use super::accounts;
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `getent` module.
pub struct Getent;

const KNOWN: &[&str] = &["database", "key", "service", "split", "fail_key"];

/// The command line: database, key and service are single quoted words.
fn command(database: &str, key: Option<&str>, service: Option<&str>) -> Vec<String> {
    let mut argv = vec!["getent".to_string(), database.to_string()];
    if let Some(k) = key {
        argv.push(k.to_string());
    }
    if let Some(s) = service {
        argv.extend(["-s".to_string(), s.to_string()]);
    }
    argv
}

/// Ansible's fact tree from getent's output.
fn facts(out: &str, split: Option<&str>) -> Map<String, Json> {
    let mut tree = Map::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for line in out.lines() {
        let record: Vec<String> = match split {
            Some(sep) if !sep.is_empty() => line.split(sep).map(str::to_string).collect(),
            _ => line.split_whitespace().map(str::to_string).collect(),
        };
        let key = record.first().cloned().unwrap_or_default();
        let rest = Json::from(record.get(1..).unwrap_or_default().to_vec());
        match seen.get_mut(&key) {
            Some(n) => {
                if *n == 1 {
                    let first = tree.remove(&key).unwrap_or(Json::Null);
                    tree.insert(key.clone(), Json::Array(vec![first]));
                }
                if let Some(Json::Array(items)) = tree.get_mut(&key) {
                    items.push(rest);
                }
                *n += 1;
            }
            None => {
                tree.insert(key.clone(), rest);
                seen.insert(key, 1);
            }
        }
    }
    tree
}

#[async_trait]
impl Module for Getent {
    fn name(&self) -> &'static str {
        "getent"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let database = args.req_str("database")?;
        let key = args.str("key")?;
        let service = args.str("service")?;
        let fail_key = args.bool_or("fail_key", true)?;
        let split = args.str("split")?.or_else(|| {
            ["passwd", "shadow", "group", "gshadow"]
                .contains(&database.as_str())
                .then(|| ":".to_string())
        });
        let argv = command(&database, key.as_deref(), service.as_deref());
        let out = accounts::exec(ctx, accounts::render(&argv)).await?;
        let fact = format!("getent_{database}");
        let mut facts_map = Map::new();
        let msg = match out.rc {
            0 => {
                facts_map.insert(
                    fact,
                    Json::Object(facts(&out.stdout_str(), split.as_deref())),
                );
                let mut r = ModuleResult::ok();
                r.set("ansible_facts", Json::Object(facts_map));
                return Ok(r);
            }
            1 => "Missing arguments, or database unknown.",
            2 => {
                let msg = "One or more supplied key could not be found in the database.";
                if !fail_key {
                    let mut tree = Map::new();
                    tree.insert(key.clone().unwrap_or_default(), Json::Null);
                    facts_map.insert(fact, Json::Object(tree));
                    let mut r = ModuleResult::ok();
                    r.msg = Some(msg.to_string());
                    r.set("ansible_facts", Json::Object(facts_map));
                    return Ok(r);
                }
                msg
            }
            3 => "Enumeration not supported on this database.",
            127 => "Failed to find required executable \"getent\" in paths",
            _ => "Unexpected failure!",
        };
        Ok(ModuleResult::failed(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::Env;
    use serde_json::json;

    #[test]
    fn facts_have_ansible_shape() {
        let t = facts(
            "root:x:0:0:root:/root:/bin/sh\nal:x:1:1::/h:/s\n",
            Some(":"),
        );
        assert_eq!(
            t["root"],
            json!(["x", "0", "0", "root", "/root", "/bin/sh"])
        );
        let t = facts("http 80/tcp www\nhttp 80/udp\nssh 22/tcp\n", None);
        assert_eq!(t["http"], json!([["80/tcp", "www"], ["80/udp"]]));
        assert_eq!(t["ssh"], json!(["22/tcp"]));
        assert_eq!(
            accounts::render(&command("passwd", Some("a $(x) 'q'"), Some("files"))),
            "getent passwd 'a $(x) '\\''q'\\''' -s files"
        );
    }

    #[tokio::test]
    async fn runs_getent_on_the_host() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let run = |v: Json| {
            let a = ModuleArgs::new(
                "getent",
                v.as_object().unwrap().clone().into_iter().collect(),
            );
            let ctx = env.ctx(true, false);
            async move { Getent.run(&a, &ctx).await.unwrap() }
        };
        let r = run(json!({"database": "passwd", "key": "root"})).await;
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(r.values["ansible_facts"]["getent_passwd"]["root"][1], "0");
        let r = run(json!({"database": "passwd", "key": "no such $(x)"})).await;
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("One or more supplied key could not be found in the database.")
        );
        let r = run(json!({"database": "group", "key": "nope", "fail_key": false})).await;
        assert!(!r.failed);
        assert_eq!(
            r.values["ansible_facts"],
            json!({"getent_group": {"nope": null}})
        );
    }
}

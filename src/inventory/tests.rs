//! Tests of the inventory against fixture inventories in `tests/fixtures/inventory/`, whose
//! `expected/` files were produced by ansible-core 2.19 (`ansible-inventory`, `ansible
//! --list-hosts`, and a `debug` of `groups`/`group_names`) on the same fixtures.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::{Value as Json, json};

use super::*;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventory")
        .join(rel)
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixture("expected").join(name)).unwrap()
}

fn load(rel: &str) -> Inventory {
    Inventory::load(&[fixture(rel).display().to_string()]).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn ini_inventory_renders_like_ansible_inventory() {
    let inv = load("ini/hosts");
    assert_eq!(render::list_json(&inv), expected("ini.list.json"));
    assert_eq!(render::graph(&inv, None, false), expected("ini.graph.txt"));
    assert_eq!(
        render::graph(&inv, None, true),
        expected("ini.graph-vars.txt")
    );
    assert_eq!(
        render::host_json(&inv, "w4").unwrap(),
        expected("ini.host-w4.json")
    );
    assert_eq!(
        render::host_json(&inv, "loose1").unwrap(),
        expected("ini.host-loose1.json")
    );
}

#[test]
fn ini_values_are_python_literals_inline_and_in_vars_sections() {
    let inv = load("ini/hosts");
    let w4 = inv.host("w4").unwrap().vars();
    assert_eq!(w4["ansible_port"], json!(2222));
    assert_eq!(w4["s"], json!("a b"));
    assert_eq!(w4["n"], json!(5));
    assert_eq!(w4["t"], json!(true));
    assert_eq!(w4["y"], json!("yes"));
    assert_eq!(w4["o"], json!("0644"));
    assert_eq!(w4["l"], json!([1, "x"]));
    assert_eq!(w4["c"], json!("a"));
    // `#` starts a comment even inside a word, so `u=` after `c=a#b` is never read.
    assert!(!w4.contains_key("u"));
    let web01 = inv.host("web01.example.com").unwrap().vars();
    assert_eq!(web01["greeting"], json!("héllo wörld 😀"));
    assert_eq!(web01["tab"], json!("a\\tb"));
    let loose = inv.host("loose1").unwrap().vars();
    assert_eq!(loose["msg"], json!("it's $(reboot) \"x\""));
    let db = inv.group("db").unwrap().vars();
    assert_eq!(db["v3"], json!(5));
    assert_eq!(db["v4"], json!("yes # not a comment here"));
    assert_eq!(inv.group("prod").unwrap().priority(), 10);
    assert!(
        !inv.group("prod")
            .unwrap()
            .vars()
            .contains_key("ansible_group_priority")
    );
}

#[test]
fn yaml_inventory_renders_like_ansible_inventory() {
    let inv = load("yaml/hosts.yml");
    assert_eq!(render::list_json(&inv), expected("yaml.list.json"));
    assert_eq!(render::graph(&inv, None, false), expected("yaml.graph.txt"));
    assert_eq!(
        render::graph(&inv, None, true),
        expected("yaml.graph-vars.txt")
    );
    assert_eq!(
        render::graph(&inv, Some("web_and_db"), false),
        expected("yaml.graph-web_and_db.txt")
    );
    assert_eq!(render::graph(&inv, Some("nope"), false), "");
    assert!(matches!(
        render::host_json(&inv, "nope"),
        Err(InventoryError::UnknownHost(_))
    ));
}

#[test]
fn directory_inventory_skips_ignored_files_and_reads_vars_dirs() {
    let inv = load("dir");
    assert_eq!(render::list_json(&inv), expected("dir.list.json"));
    assert_eq!(render::graph(&inv, None, false), expected("dir.graph.txt"));
    assert!(inv.group("ignored").is_none());
    // host_vars/db1/ is a directory: 10-a.yml then 20-b; 30-c.txt has a foreign extension.
    assert_eq!(inv.host_vars("db1")["from_dir"], json!(2));
    let file = inv.inventory_file("db2").unwrap();
    assert!(file.ends_with("dir/01-static"), "{}", file.display());
    assert!(inv.inventory_dir("app1").unwrap().ends_with("dir/sub"));
}

#[test]
fn groups_and_group_names_match_ansible_magic_variables() {
    for name in ["yaml/hosts.yml", "ini/hosts", "dir"] {
        let inv = load(name);
        let stem = name.split('/').next().unwrap();
        let want: Json = serde_json::from_str(&expected(&format!("{stem}.magic.json"))).unwrap();
        let groups = serde_json::to_value(inv.groups_map()).unwrap();
        assert_eq!(groups, want["groups"], "{name}");
        // Key order of `groups` is part of what templates see.
        let got_keys: Vec<&String> = groups.as_object().unwrap().keys().collect();
        let want_keys: Vec<&String> = want["groups"].as_object().unwrap().keys().collect();
        assert_eq!(got_keys, want_keys, "{name}");
        for (host, names) in want["group_names"].as_object().unwrap() {
            assert_eq!(json!(inv.group_names(host)), *names, "{name} {host}");
        }
        assert_eq!(json!(inv.host_names()), want["groups"]["all"], "{name}");
    }
}

#[test]
fn patterns_select_what_ansible_list_hosts_selects() {
    let inv = load("yaml/hosts.yml");
    for line in expected("yaml.patterns.tsv").lines() {
        let (pattern, hosts) = line.split_once('\t').unwrap();
        let want: Vec<&str> = hosts.split_whitespace().collect();
        assert_eq!(inv.select(pattern).unwrap(), want, "pattern {pattern:?}");
    }
}

#[test]
fn malformed_patterns_are_errors_naming_the_pattern() {
    let inv = load("yaml/hosts.yml");
    let err = inv.select("web[12]").unwrap_err();
    assert!(err.to_string().contains("'web[12]'"), "{err}");
    let err = inv.select("~web(").unwrap_err();
    assert!(err.to_string().contains("~web("), "{err}");
    assert!(inv.select("  ").is_err());
}

#[test]
fn retry_files_list_one_host_per_line() {
    let inv = load("yaml/hosts.yml");
    let tmp = tempfile::tempdir().unwrap();
    let retry = write(tmp.path(), "site.retry", "db3\nweb1\n\n");
    assert_eq!(
        inv.select(&format!("@{retry}")).unwrap(),
        vec!["db3", "web1"]
    );
    assert_eq!(
        inv.select(&format!("@{retry},web,!web3")).unwrap(),
        vec!["db3", "web1", "web2"]
    );
    assert!(matches!(
        inv.select("@/nonexistent/file.retry"),
        Err(PatternError::LimitFile { .. })
    ));
}

#[test]
fn implicit_localhost_is_selectable_but_not_in_all() {
    let inv = load("yaml/hosts.yml");
    assert_eq!(inv.select("localhost").unwrap(), vec!["localhost"]);
    assert_eq!(inv.select("127.0.0.1").unwrap(), vec!["127.0.0.1"]);
    assert!(
        !inv.select("all")
            .unwrap()
            .contains(&"localhost".to_string())
    );
    assert!(!inv.groups_map()["all"].contains(&"localhost".to_string()));
    let lh = inv.host("localhost").unwrap();
    assert!(lh.is_implicit());
    let vars = inv.host_vars("localhost");
    assert_eq!(vars["ansible_connection"], json!("local"));
    // Implicit localhost still sees the `all` group's variables.
    assert_eq!(vars["ntp"], json!("pool.ntp.org"));
    assert!(!vars.contains_key("ansible_python_interpreter"));
    assert!(inv.group_names("localhost").is_empty());

    let empty = Inventory::empty();
    assert!(empty.select("all").unwrap().is_empty());
    assert_eq!(empty.select("localhost").unwrap(), vec!["localhost"]);
    assert!(empty.host_names().is_empty());

    // A localhost defined in the inventory is an ordinary host.
    let inv = Inventory::load(&["localhost,web1,".to_string()]).unwrap();
    assert!(!inv.host("localhost").unwrap().is_implicit());
    assert!(inv.host_vars("localhost").is_empty());
    assert_eq!(inv.select("all").unwrap(), vec!["localhost", "web1"]);
}

#[test]
fn host_lists_give_ungrouped_hosts_with_ports() {
    let inv = Inventory::load(&["h1, h2:2222,[::1]:2200,".to_string()]).unwrap();
    assert_eq!(inv.host_names(), vec!["h1", "h2", "::1"]);
    assert_eq!(inv.groups_map()["ungrouped"], vec!["h1", "h2", "::1"]);
    assert_eq!(inv.host_vars("h2")["ansible_port"], json!(2222));
    assert_eq!(inv.host_vars("::1")["ansible_port"], json!(2200));
    assert_eq!(inv.inventory_dir("h1"), None);
    assert_eq!(
        inv.inventory_file("h1"),
        Some(PathBuf::from("h1, h2:2222,[::1]:2200,"))
    );
    assert_eq!(inv.host("h1").unwrap().source(), None);
    assert_eq!(inv.inventory_file("localhost"), None);
    assert!(matches!(
        Inventory::load(&["no-such-file".to_string()]),
        Err(InventoryError::NoSuchSource(_))
    ));
}

#[test]
fn precedence_follows_ansible_at_every_level() {
    let mut inv = load("precedence/inv");
    inv.add_playbook_vars_dir(&fixture("precedence/play"))
        .unwrap();
    // vK is set at levels 1..=K, so level K must win for vK (checked against ansible-playbook).
    let levels = [
        "inv_all_vars",
        "inv_top_vars",
        "inv_web_vars",
        "inv_group_vars_all",
        "play_group_vars_all",
        "inv_group_vars_top",
        "inv_group_vars_web",
        "play_group_vars_top",
        "play_group_vars_web",
        "inv_host_inline",
        "inv_host_vars",
        "play_host_vars",
    ];
    let merged = inv.host_vars("h1");
    for (k, level) in levels.iter().enumerate() {
        assert_eq!(merged[&format!("v{}", k + 1)], json!(level), "v{}", k + 1);
    }
    // ansible_group_priority=5 puts group a after b (same depth), so a wins.
    assert_eq!(merged["p"], json!("a"));
    assert_eq!(render::list_json(&inv), expected("precedence.list.json"));

    // The same order through a VarScope built from the layers.
    let mut scope = crate::vars::VarScope::new();
    let layers = inv.var_layers("h1");
    let kinds: Vec<Layer> = layers.iter().map(|(l, _)| *l).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(kinds, sorted, "layer labels must not decrease");
    for (l, v) in layers {
        scope.push(l, v);
    }
    for (k, level) in levels.iter().enumerate() {
        assert_eq!(scope.get(&format!("v{}", k + 1)), Some(&json!(level)));
    }
    let origins: Vec<String> = inv
        .var_sources("h1")
        .into_iter()
        .map(|s| s.origin)
        .collect();
    assert_eq!(origins[0], "inventory vars of group all");
    assert!(origins.last().unwrap().ends_with("play/host_vars/h1.yml"));
}

#[test]
fn ini_errors_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("[web]\nh1\n[web:bogus]\n", 3, "unknown type"),
        ("[web]\nh1 novalue\n", 2, "key=value"),
        ("[web]\nh1 x='open\n", 2, "closing quotation"),
        ("[web:vars]\nx=1\n", 1, "undefined group 'web'"),
        ("[p:children]\nghost\n", 2, "undefined group 'ghost'"),
        ("[a:children]\nb\n[b:children]\na\n[b]\n", 4, "recursive"),
        ("[web]\nh[1:]\n", 2, "end"),
        ("[web]\nh1:\n", 2, "port"),
        ("[web app]\n", 1, "invalid section"),
        ("---\n", 1, "YAML"),
        ("[g]\nh1\n[g:vars]\nnot an assignment\n", 4, "key=value"),
    ];
    for (text, line, needle) in cases {
        let path = write(tmp.path(), "hosts.ini", text);
        let err = Inventory::load(std::slice::from_ref(&path)).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{path}:{line}: ")),
            "{text:?}: {msg}"
        );
        assert!(msg.contains(needle), "{text:?}: {msg}");
    }
}

#[test]
fn yaml_errors_name_the_position() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "inv.yml", "all:\n  hosts:\n    - web1\n");
    let msg = Inventory::load(std::slice::from_ref(&path))
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with(&format!("{path}:3:")), "{msg}");
    assert!(
        msg.contains("'hosts' of group 'all' must be a mapping"),
        "{msg}"
    );

    let path = write(tmp.path(), "bad.yml", "all:\n  hosts: [web1\n");
    let msg = Inventory::load(std::slice::from_ref(&path))
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with(&format!("{path}:")), "{msg}");

    let path = write(tmp.path(), "empty.yml", "---\n# nothing yet\n");
    let inv = Inventory::load(&[path]).unwrap();
    assert!(inv.host_names().is_empty());
    assert!(inv.warnings()[0].contains("empty"), "{:?}", inv.warnings());

    let path = write(tmp.path(), "list.yml", "- web1\n");
    let msg = Inventory::load(&[path]).unwrap_err().to_string();
    assert!(msg.contains("must be a mapping of group names"), "{msg}");

    let path = write(tmp.path(), "plugin.yml", "plugin: aws_ec2\n");
    let msg = Inventory::load(&[path]).unwrap_err().to_string();
    assert!(msg.contains("plugin"), "{msg}");

    let path = write(
        tmp.path(),
        "loop.yml",
        "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n",
    );
    let msg = Inventory::load(std::slice::from_ref(&path))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("recursive"), "{msg}");
    // `a` is added under `b` first; adding `b` under `a` (line 5) closes the loop.
    assert!(msg.starts_with(&format!("{path}:5:")), "{msg}");

    // Unknown keys are skipped with a warning, as Ansible does.
    let path = write(tmp.path(), "warn.yml", "all:\n  hostz:\n    web1:\n");
    let inv = Inventory::load(&[path]).unwrap();
    assert!(inv.host_names().is_empty());
    assert!(inv.warnings()[0].contains("hostz"), "{:?}", inv.warnings());
}

#[test]
fn vars_files_must_be_mappings_and_not_vault_files() {
    let tmp = tempfile::tempdir().unwrap();
    let inv_path = write(tmp.path(), "hosts", "[web]\nweb1\n");
    std::fs::create_dir(tmp.path().join("group_vars")).unwrap();
    write(&tmp.path().join("group_vars"), "web.yml", "- a\n- b\n");
    let msg = Inventory::load(std::slice::from_ref(&inv_path))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("group_vars/web.yml:1:1"), "{msg}");
    assert!(msg.contains("mapping"), "{msg}");

    write(
        &tmp.path().join("group_vars"),
        "web.yml",
        "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
    );
    let msg = Inventory::load(std::slice::from_ref(&inv_path))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("ansible-vault"), "{msg}");

    write(&tmp.path().join("group_vars"), "web.yml", "a: [1\n");
    let msg = Inventory::load(std::slice::from_ref(&inv_path))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("group_vars/web.yml:"), "{msg}");

    // Empty files are fine and contribute nothing.
    write(
        &tmp.path().join("group_vars"),
        "web.yml",
        "---\n# nothing\n",
    );
    let inv = Inventory::load(&[inv_path]).unwrap();
    assert!(inv.var_layers("web1").is_empty());
}

#[test]
fn hosts_in_all_directly_are_also_ungrouped_and_ports_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(
        tmp.path(),
        "inv.yaml",
        "all:\n  hosts:\n    'h[a:b]:2022':\n      k: v\n  children:\n    g:\n      hosts:\n        ha:\n",
    );
    let inv = Inventory::load(&[path]).unwrap();
    assert_eq!(inv.groups_map()["ungrouped"], vec!["hb"]);
    assert_eq!(inv.group_names("ha"), vec!["g"]);
    assert_eq!(inv.group_names("hb"), vec!["ungrouped"]);
    assert_eq!(inv.host_vars("hb")["ansible_port"], json!(2022));
}

#[test]
fn ini_files_with_bom_and_crlf_read_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(
        tmp.path(),
        "hosts.ini",
        "\u{feff}[web]\r\nweb1 x=\"a b\"\r\n[web:vars]\r\ny=2\r\n",
    );
    let inv = Inventory::load(&[path]).unwrap();
    assert_eq!(inv.select("web").unwrap(), vec!["web1"]);
    assert_eq!(inv.host_vars("web1")["x"], json!("a b"));
    assert_eq!(inv.host_vars("web1")["y"], json!(2));
}

#[test]
fn files_without_extension_try_yaml_then_ini() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = write(tmp.path(), "a", "all:\n  hosts:\n    y1:\n");
    let ini = write(tmp.path(), "b", "i1 x=1\n[g]\ni2\n");
    let inv = Inventory::load(&[yaml, ini]).unwrap();
    assert_eq!(inv.host_names(), vec!["y1", "i1", "i2"]);
}

#[test]
fn limit_restricts_play_hosts_in_play_order() {
    let inv = load("yaml/hosts.yml");
    let play = inv.select("db:localhost").unwrap();
    assert_eq!(play, vec!["db1", "db2", "db3", "localhost"]);
    assert_eq!(
        inv.restrict(&play, "db_replicas:web").unwrap(),
        vec!["db2", "db3"]
    );
    assert_eq!(
        inv.restrict(&play, "nothing").unwrap(),
        Vec::<String>::new()
    );
    assert!(inv.restrict(&play, "db[99]").is_err());
}

#[test]
fn several_sources_merge_with_their_own_vars_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["one/group_vars", "two/group_vars", "two/host_vars"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    let one = write(&tmp.path().join("one"), "hosts", "[web]\nweb1\n");
    write(
        &tmp.path().join("one/group_vars"),
        "web.yml",
        "a: one\nb: one\n",
    );
    let two = write(
        &tmp.path().join("two"),
        "hosts.yml",
        "web:\n  hosts:\n    web2:\n    web1:\n      h: inline\n",
    );
    write(&tmp.path().join("two/group_vars"), "web.yml", "b: two\n");
    write(&tmp.path().join("two/host_vars"), "web1.yml", "h: file\n");
    let inv = Inventory::load(&[one.clone(), two]).unwrap();
    assert_eq!(inv.select("web").unwrap(), vec!["web1", "web2"]);
    let v = inv.host_vars("web1");
    assert_eq!(v["a"], json!("one"));
    assert_eq!(v["b"], json!("two"));
    assert_eq!(v["h"], json!("file"));
    // inventory_file is where the host was first seen.
    assert_eq!(inv.inventory_file("web1").unwrap(), PathBuf::from(&one));
    assert!(
        inv.inventory_file("web2")
            .unwrap()
            .ends_with("two/hosts.yml")
    );
}

#[test]
fn json_inventories_scripts_and_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let json_inv = write(
        tmp.path(),
        "inv.json",
        r#"{"all": {"children": {"app": {"hosts": {"a1": {"port": 80}}}}}}"#,
    );
    let inv = Inventory::load(&[json_inv]).unwrap();
    assert_eq!(inv.host_vars("a1")["port"], json!(80));

    let toml = write(tmp.path(), "inv.toml", "[all.hosts]\n");
    let msg = Inventory::load(&[toml]).unwrap_err().to_string();
    assert!(msg.contains("TOML"), "{msg}");

    let script = write(
        tmp.path(),
        "ec2.py",
        "#!/usr/bin/env python3\nprint('{}')\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let msg = Inventory::load(&[script]).unwrap_err().to_string();
    assert!(msg.contains("dynamic inventory script"), "{msg}");
}

#[test]
fn host_and_group_with_one_name_warns() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "hosts", "[db]\ndb\n");
    let inv = Inventory::load(&[path]).unwrap();
    assert!(inv.warnings().iter().any(|w| w.contains("same name: db")));
    assert_eq!(inv.select("db").unwrap(), vec!["db"]);
}

#[test]
fn var_sources_snapshot() {
    let mut inv = load("precedence/inv");
    inv.add_playbook_vars_dir(&fixture("precedence/play"))
        .unwrap();
    let root = fixture("precedence").display().to_string();
    let listing: Vec<String> = inv
        .var_sources("h1")
        .iter()
        .map(|s| {
            let mut keys: Vec<&String> = s.vars.keys().collect();
            keys.sort();
            format!(
                "{:<14} {} [{}]",
                s.layer.to_string(),
                s.origin.replace(&root, "<fixture>"),
                keys.iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .collect();
    insta::assert_snapshot!(listing.join("\n"));
}

#[test]
fn edge_cases_match_ansible() {
    let inv = Inventory::load(&[
        fixture("edge/hosts.ini").display().to_string(),
        fixture("edge/more.yml").display().to_string(),
    ])
    .unwrap();
    assert_eq!(render::list_json(&inv), expected("edge.list.json"));
    assert_eq!(
        render::graph(&inv, None, true),
        expected("edge.graph-vars.txt")
    );
    let want: Json = serde_json::from_str(&expected("edge.magic.json")).unwrap();
    assert_eq!(
        serde_json::to_value(inv.groups_map()).unwrap(),
        want["groups"]
    );
    for (host, names) in want["group_names"].as_object().unwrap() {
        assert_eq!(json!(inv.group_names(host)), *names, "{host}");
    }
}

#[test]
fn large_ranges_load_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(
        tmp.path(),
        "hosts",
        "[web]\nweb[00000:19999]\n[db]\ndb[0:999]\n[all:vars]\nx=1\n",
    );
    let start = std::time::Instant::now();
    let inv = Inventory::load(&[path]).unwrap();
    assert_eq!(inv.select("all").unwrap().len(), 21_000);
    assert_eq!(inv.select("web[-1]").unwrap(), vec!["web19999"]);
    assert_eq!(inv.select("db:!db1*").unwrap().len(), 1000 - 111);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

#[test]
fn pattern_lists_split_each_item() {
    let inv = load("yaml/hosts.yml");
    assert_eq!(
        inv.select_many(&["db_replicas:web", "!web2"]).unwrap(),
        vec!["db2", "db3", "web1", "web3"]
    );
    assert!(inv.select_many::<&str>(&[]).is_err());
}

//! Loader tests over the fixture tree in `tests/fixtures/playbook/` and small trees written to
//! temporary directories for broken input.

use std::fs;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::{Value as Json, json};

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/playbook")
}

fn site() -> Playbook {
    let opts = LoadOptions {
        roles_path: vec![fixtures().join("site/extra_roles")],
    };
    load_playbook(&fixtures().join("site/site.yml"), &opts).expect("site.yml loads")
}

fn task(item: &TaskItem) -> &Task {
    match item {
        TaskItem::Task(t) => t,
        TaskItem::Block(b) => panic!("expected a task, got block {:?}", b.name),
    }
}

fn block(item: &TaskItem) -> &Block {
    match item {
        TaskItem::Block(b) => b,
        TaskItem::Task(t) => panic!("expected a block, got task {:?}", t.name),
    }
}

fn names(items: &[TaskItem]) -> Vec<String> {
    let mut out = Vec::new();
    walk_tasks(items, &mut |t, _| {
        out.push(t.name.clone().unwrap_or_else(|| t.action.clone()))
    });
    out
}

fn role_name(b: &Block) -> &str {
    b.role.as_ref().map(|r| r.name.as_str()).unwrap_or("")
}

#[test]
fn play_keywords_are_read() {
    let pb = site();
    assert_eq!(pb.plays.len(), 2);
    assert!(pb.dir.is_absolute());
    let p = &pb.plays[0];
    assert_eq!(p.name.as_deref(), Some("Web servers"));
    assert_eq!(p.hosts, "web,db");
    assert_eq!((p.pos.line, p.pos.column), (2, 3));
    assert_eq!(p.gather_facts, Some(false));
    assert_eq!(p.keywords.become_, Some(json!(true)));
    assert_eq!(p.keywords.tags, vec!["site"]);
    assert_eq!(p.vars["port"], json!(8080));
    assert_eq!(
        p.vars_files,
        vec![
            json!("vars/common.yml"),
            json!(["vars/{{ ansible_os_family }}.yml", "vars/default.yml"])
        ]
    );
    assert_eq!(p.vars_prompt.len(), 1);
    assert_eq!(p.vars_prompt[0].name, "pw");
    assert!(!p.vars_prompt[0].private);
    assert_eq!(p.serial, Some(json!("50%")));
    assert_eq!(p.keywords.environment, vec![json!({"LANG": "C"})]);
    assert_eq!(p.role_names, vec!["base", "web", "dup", "far"]);
}

#[test]
fn roles_expand_with_dependencies_dedupe_and_roles_path() {
    let pb = site();
    let roles = &pb.plays[0].roles;
    let used: Vec<&str> = roles.iter().map(|r| role_name(block(r))).collect();
    // The second `web` has the same params as the first: it runs once. `dup` allows duplicates.
    assert_eq!(used, vec!["base", "web", "dup", "dup", "far"]);

    let base = block(&roles[0]);
    let base_role = base.role.as_ref().unwrap();
    assert_eq!(base_role.defaults["base_default"], json!(1));
    assert!(base_role.path.ends_with("roles/base"));
    let base_task = task(&base.block[0]);
    assert_eq!(base_task.action, "package");
    assert_eq!(base_task.notify, vec!["base handler"]);
    assert_eq!(base_task.role.as_ref().unwrap().name, "base");

    let web = block(&roles[1]);
    let web_role = web.role.as_ref().unwrap();
    assert_eq!(web.keywords.tags, vec!["web"]);
    assert_eq!(web.keywords.when, vec![json!("deploy_web | bool")]);
    assert_eq!(web_role.params["http_port"], json!(80));
    assert_eq!(web_role.defaults["http_port"], json!(8000));
    // vars/main/ is a directory: its files merge in name order.
    assert_eq!(web_role.vars["web_a"], json!(1));
    assert_eq!(web_role.vars["web_shared"], json!("from_b"));
    // Dependency `base` already ran in this play with the same (no) params: skipped.
    // Dependency `dup` comes first, with its entry's keywords and params.
    let dep = block(&web.block[0]);
    assert_eq!(role_name(dep), "dup");
    assert_eq!(dep.keywords.tags, vec!["depdup"]);
    let dep_role = dep.role.as_ref().unwrap();
    assert_eq!(dep_role.params["level"], json!(2));
    // A dependency is not included by its dependent: no parent names of its own.
    assert!(dep_role.parents.is_empty());
    // The argument validation Ansible inserts comes after the dependencies.
    assert_eq!(
        names(&web.block),
        vec![
            "dup task",
            "Validating arguments against arg spec 'main' - The web role",
            "web pkg",
            "web conf"
        ]
    );
    // import_tasks inside a role resolves in the role's tasks/ and keeps the role on tasks.
    let install = block(&web.block[2]);
    assert!(install.role.is_none());
    assert_eq!(install.name.as_deref(), Some("web install"));
    assert_eq!(task(&install.block[0]).role.as_ref().unwrap().name, "web");

    let far = block(&roles[4]);
    let far_task = task(&far.block[0]);
    assert_eq!(far_task.action, "sysctl");
    assert_eq!(far_task.args["value"], json!("10"));
}

#[test]
fn task_sections_blocks_and_imports() {
    let pb = site();
    let p = &pb.plays[0];
    assert_eq!(task(&p.pre_tasks[0]).args["msg"], json!("pre {{ port }}"));

    let b = block(&p.tasks[0]);
    assert_eq!(b.name.as_deref(), Some("A block"));
    assert_eq!(b.keywords.when, vec![json!("x is defined")]);
    assert_eq!(b.keywords.become_user, Some(json!("app")));
    assert_eq!(b.notify, vec!["block handler"]);
    assert_eq!(task(&b.block[0]).args["_raw_params"], json!("/bin/true"));
    let inner = block(&b.block[1]);
    assert_eq!(task(&inner.block[0]).action, "shell");
    assert_eq!(task(&inner.rescue[0]).args["msg"], json!("rescued"));
    assert_eq!(task(&b.always[0]).args["msg"], json!("done"));

    let imp = block(&p.tasks[1]);
    assert_eq!(imp.keywords.tags, vec!["extra"]);
    assert_eq!(imp.keywords.vars["who"], json!("importer"));
    let extra = task(&imp.block[0]);
    assert_eq!(extra.args["mode"], json!("0600"));
    assert!(
        extra
            .pos
            .file
            .as_ref()
            .unwrap()
            .ends_with("tasks/extra.yml")
    );
    assert_eq!((extra.pos.line, extra.pos.column), (1, 3));
    let nested = task(&block(&imp.block[1]).block[0]);
    assert_eq!(nested.args["mode"], json!(493));

    let inc = task(&p.tasks[2]);
    assert_eq!(inc.action, "include_tasks");
    assert_eq!(inc.args["_raw_params"], json!("tasks/{{ flavour }}.yml"));

    let ir = block(&p.tasks[3]);
    assert_eq!(role_name(ir), "base");
    assert_eq!(ir.keywords.when, vec![json!("also_base")]);
    assert_eq!(names(&ir.block), vec!["base other"]);

    let incr = task(&p.tasks[4]);
    assert_eq!(incr.action, "include_role");
    assert_eq!(incr.args["name"], json!("web"));

    let post = task(&p.post_tasks[0]);
    assert_eq!(post.action, "command");
    assert_eq!(post.keywords.delegate_to, Some(json!("localhost")));
}

#[test]
fn handlers_gather_role_handlers_around_the_plays_own() {
    let pb = site();
    let h = &pb.plays[0].handlers;
    assert_eq!(
        names(h),
        vec![
            "base handler",
            "restart web",
            "play handler",
            "base handler"
        ]
    );
    assert_eq!(role_name(block(&h[0])), "base");
    let mut roles = Vec::new();
    walk_tasks(h, &mut |t, _| {
        roles.push(t.role.as_ref().map(|r| r.name.clone()))
    });
    assert_eq!(
        roles,
        vec![
            Some("base".to_string()),
            Some("web".to_string()),
            None,
            Some("base".to_string())
        ]
    );
    assert_eq!(task(&h[2]).listen, vec!["reload all"]);
}

#[test]
fn import_playbook_applies_vars_when_and_tags() {
    let pb = site();
    let p = &pb.plays[1];
    assert_eq!(p.hosts, "db");
    assert_eq!(p.vars["imported"], json!(true));
    assert_eq!(p.vars["own"], json!(1));
    assert_eq!(p.keywords.when, vec![json!("run_db")]);
    assert_eq!(p.keywords.tags, vec!["db", "dbplay"]);
    assert!(p.dir.ends_with("site/plays"));
    assert_eq!(task(&p.tasks[0]).args["name"], json!("postgresql"));
}

#[test]
fn walk_passes_the_enclosing_blocks() {
    let pb = site();
    let mut seen = Vec::new();
    walk_tasks(&pb.plays[0].tasks, &mut |t, blocks| {
        if t.name.as_deref() == Some("Deep") {
            seen = blocks.iter().map(|b| b.name.clone()).collect();
        }
    });
    assert_eq!(seen, vec![Some("A block".to_string()), None]);
}

#[test]
fn load_role_for_include_role() {
    let search = vec![fixtures().join("site")];
    let req = RoleRequest {
        name: "web",
        params: VarMap::new(),
        pos: Pos::unknown(),
        tasks_from: Some("install"),
        vars_from: None,
        defaults_from: None,
        handlers_from: None,
        search_from: &search,
        parents: vec!["caller".into()],
    };
    let loaded = load_role(&req, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.role.name, "web");
    assert_eq!(loaded.role.parents, vec!["caller"]);
    // Both dependencies (nothing ran before in this load), then the tasks_from file.
    assert_eq!(
        names(&loaded.tasks),
        vec![
            "base task",
            "dup task",
            "Validating arguments against arg spec 'install' - Only install",
            "web pkg"
        ]
    );
    assert_eq!(names(&loaded.handlers), vec!["base handler", "restart web"]);
    let deps: Vec<Vec<String>> = loaded.tasks[..2]
        .iter()
        .map(|b| block(b).role.as_ref().unwrap().parents.clone())
        .collect();
    assert_eq!(deps, vec![vec!["caller"], vec!["caller"]]);

    let missing = RoleRequest {
        tasks_from: Some("nope"),
        ..req.clone()
    };
    let err = load_role(&missing, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot find task file 'nope'"), "{err}");
}

#[test]
fn load_tasks_file_for_include_tasks() {
    let path = fixtures().join("site/tasks/extra.yml");
    let items = load_tasks_file(&path, None, &LoadOptions::default()).unwrap();
    assert_eq!(names(&items), vec!["Extra one", "Nested"]);
    let err = load_tasks_file(
        &fixtures().join("site/tasks/absent.yml"),
        None,
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::FileNotFound { .. }), "{err}");
}

/// Writes `files` (path, text) under a fresh directory.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (p, text) in files {
        let path = dir.path().join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

fn load_err(files: &[(&str, &str)]) -> String {
    let dir = tree(files);
    let err = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default())
        .expect_err("should fail");
    err.to_string()
}

#[test]
fn role_not_found_lists_the_directories_searched() {
    let dir = tree(&[("pb.yml", "- hosts: all\n  roles:\n    - ghost\n")]);
    let opts = LoadOptions {
        roles_path: vec![dir.path().join("elsewhere")],
    };
    let err = load_playbook(&dir.path().join("pb.yml"), &opts).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LoadError::RoleNotFound { .. }));
    assert!(msg.contains("pb.yml:3:7"), "{msg}");
    assert!(msg.contains("roles/ghost"), "{msg}");
    assert!(msg.contains("elsewhere/ghost"), "{msg}");
}

#[test]
fn a_role_may_be_a_path_and_meta_dependency_cycles_are_caught() {
    let dir = tree(&[
        (
            "pb.yml",
            "- hosts: all\n  roles:\n    - ./lib/thing\n    - a\n",
        ),
        ("lib/thing/tasks/main.yml", "- debug: msg=thing\n"),
        ("roles/a/meta/main.yml", "dependencies: [b]\n"),
        ("roles/b/meta/main.yml", "dependencies:\n  - role: a\n"),
    ]);
    let err = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("role dependency cycle: a -> b -> a"), "{err}");

    fs::write(dir.path().join("roles/b/meta/main.yml"), "").unwrap();
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    assert_eq!(role_name(block(&pb.plays[0].roles[0])), "./lib/thing");
    assert_eq!(pb.plays[0].role_names, vec!["./lib/thing", "a"]);
}

#[test]
fn import_cycles_are_errors() {
    let err = load_err(&[
        (
            "pb.yml",
            "- hosts: all\n  tasks:\n    - import_tasks: a.yml\n",
        ),
        ("a.yml", "- import_tasks: b.yml\n"),
        ("b.yml", "- import_tasks: a.yml\n"),
    ]);
    assert!(err.contains("import cycle"), "{err}");
    let err = load_err(&[("pb.yml", "- import_playbook: pb.yml\n")]);
    assert!(err.contains("import cycle"), "{err}");
}

#[test]
fn broken_structures_give_positioned_messages() {
    let cases: &[(&str, &str)] = &[
        (
            "- hosts: all\n  tasks:\n    - just a string\n",
            "pb.yml:3:7",
        ),
        (
            "- hosts: all\n  tasks:\n    - just a string\n",
            "got the string 'just a string'",
        ),
        ("- name: no hosts\n  tasks: []\n", "has no `hosts:`"),
        ("- [a, b]\n", "a play must be a mapping"),
        ("hosts: all\n", "must be a list of plays"),
        ("", "the playbook is empty"),
        (
            "- hosts: all\n  tasks: 3\n",
            "`tasks` must be a list of tasks",
        ),
        ("- hosts: all\n  tasks:\n    -\n", "an empty entry"),
        (
            "- hosts: all\n  taks: []\n",
            "did you mean `tags` or `tasks`?",
        ),
        (
            "- hosts: all\n  debug: msg=x\n",
            "tasks belong under `tasks:`",
        ),
        (
            "- hosts: all\n  tasks:\n    - block: []\n      debug: msg=x\n",
            "indented under `block:`",
        ),
        (
            "- hosts: all\n  tasks:\n    - import_tasks: missing.yml\n",
            "cannot find task file 'missing.yml'",
        ),
        (
            "- hosts: all\n  tasks:\n    - import_tasks: '{{ x }}.yml'\n",
            "Use `include_tasks`",
        ),
        (
            "- hosts: all\n  tasks:\n    - import_tasks: a.yml\n      loop: [1]\n",
            "cannot loop",
        ),
        (
            "- hosts: all\n  tasks:\n    - import_playbook: x.yml\n",
            "top level",
        ),
        (
            "- hosts: all\n  tasks:\n    - import_role: {}\n",
            "needs the role's `name:`",
        ),
        ("- hosts: all\n  gather_facts: maybe\n", "gather_facts"),
        (
            "- hosts: all\n  tasks: [{name: x, when: y}]\n",
            "has no module",
        ),
        (
            "- hosts: all\n  tasks:\n    - debug: msg=\"unclosed\n",
            "unbalanced quotes",
        ),
        ("- hosts: []\n", "`hosts` is empty"),
        ("- hosts: all\n  roles: [{tags: x}]\n", "names no role"),
        ("- import_playbook: other.yml\n", "cannot find playbook"),
        ("- hosts: all\n  tasks: [\n", "invalid YAML"),
    ];
    for (text, expected) in cases {
        let err = load_err(&[("pb.yml", text)]);
        assert!(
            err.contains(expected),
            "for {text:?}: expected {expected:?} in {err:?}"
        );
    }
}

#[test]
fn task_file_shapes() {
    // A vars-like mapping as a task file.
    let err = load_err(&[
        (
            "pb.yml",
            "- hosts: all\n  tasks:\n    - import_tasks: t.yml\n",
        ),
        ("t.yml", "a: 1\n"),
    ]);
    assert!(err.contains("a task file must be a list of tasks"), "{err}");
    // An empty task file and null sections are fine.
    let dir = tree(&[
        (
            "pb.yml",
            "- hosts: all\n  pre_tasks:\n  tasks:\n    - import_tasks: t.yml\n  handlers: ~\n",
        ),
        ("t.yml", "# nothing yet\n"),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    assert!(block(&pb.plays[0].tasks[0]).block.is_empty());
    assert!(pb.plays[0].pre_tasks.is_empty());
}

#[test]
fn odd_yaml_never_panics() {
    let odd = [
        "- hosts: all\n  tasks:\n    - {}\n",
        "- hosts: all\n  tasks:\n    - [1, 2]\n",
        "- hosts: all\n  tasks:\n    - 5\n",
        "- hosts: all\n  roles: 5\n",
        "- hosts: all\n  roles: [[a]]\n",
        "- hosts: all\n  vars: [1]\n",
        "- hosts: all\n  vars_prompt: [{prompt: x}]\n",
        "- hosts: all\n  vars_files: ~\n  tasks:\n    - block: ~\n      rescue: 3\n",
        "- hosts: all\n  tasks:\n    - name: x\n      copy: ~\n      tags: {a: 1}\n",
        "- hosts: all\n  tasks:\n    - action: {module: [1]}\n",
        "- hosts: all\n  tasks:\n    - local_action: ''\n",
        "- hosts: all\n  tasks:\n    - command: a\n      notify: [~]\n",
        "- ~\n",
        "- hosts: {a: 1}\n",
        "- import_playbook: [x]\n",
        "- import_playbook: x.yml\n  bogus: 1\n",
        "- hosts: all\n  tasks:\n    - import_role: {name: x, foo: 1}\n",
        "- hosts: all\n  tasks:\n    - import_tasks: {file: [1]}\n",
        "- hosts: all\n  tasks:\n    - block:\n        - debug: msg=\"x\n",
        "- hosts: all\n  tasks:\n    - command: x\n      loop_control: {bogus: 1}\n",
        "---\n- hosts: all\n...\n",
        "- hosts: all\n  tasks:\n    - include_tasks:\n",
    ];
    for text in odd {
        let dir = tree(&[("pb.yml", text)]);
        let _ = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default());
    }
    // The last ones are valid.
    let dir = tree(&[("pb.yml", "---\n- hosts: all\n...\n")]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    assert_eq!(pb.plays[0].hosts, "all");
}

#[test]
fn role_files_in_every_layout() {
    let dir = tree(&[
        ("pb.yml", "- hosts: all\n  roles: [r]\n"),
        ("roles/r/tasks/main", "- debug: msg=bare-main\n"),
        ("roles/r/defaults/main.json", "{\"d\": 1}\n"),
        ("roles/r/vars/main.yaml", "v: 2\n"),
        ("roles/r/handlers/main.yaml", "- name: h\n  debug: msg=h\n"),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    let b = block(&pb.plays[0].roles[0]);
    let r = b.role.as_ref().unwrap();
    assert_eq!(r.defaults["d"], json!(1));
    assert_eq!(r.vars["v"], json!(2));
    assert_eq!(task(&b.block[0]).args["msg"], json!("bare-main"));
    assert_eq!(names(&pb.plays[0].handlers), vec!["h"]);

    let err = load_err(&[
        ("pb.yml", "- hosts: all\n  roles: [r]\n"),
        ("roles/r/defaults/main.yml", "- not a mapping\n"),
    ]);
    assert!(err.contains("a vars file must be a mapping"), "{err}");
}

#[test]
fn role_found_beside_the_playbook_and_from_a_collection_name() {
    let dir = tree(&[
        (
            "pb.yml",
            "- hosts: all\n  roles:\n    - beside\n    - acme.tools.widget\n",
        ),
        ("beside/tasks/main.yml", "- debug: msg=beside\n"),
        ("roles/widget/tasks/main.yml", "- debug: msg=widget\n"),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    let used: Vec<&str> = pb.plays[0]
        .roles
        .iter()
        .map(|r| role_name(block(r)))
        .collect();
    assert_eq!(used, vec!["beside", "acme.tools.widget"]);
}

#[test]
fn magic_dirs_in_import_names_are_replaced() {
    let dir = tree(&[
        (
            "pb.yml",
            "- import_playbook: '{{ playbook_dir }}/other.yml'\n- hosts: all\n  roles: [r]\n",
        ),
        (
            "other.yml",
            "- hosts: all\n  tasks:\n    - import_tasks: \"{{playbook_dir}}/t.yml\"\n",
        ),
        ("t.yml", "- debug: msg=t\n"),
        (
            "roles/r/tasks/main.yml",
            "- import_tasks: '{{ role_path }}/tasks/sub.yml'\n",
        ),
        ("roles/r/tasks/sub.yml", "- name: sub\n  debug: msg=sub\n"),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    assert_eq!(names(&pb.plays[0].tasks), vec!["debug"]);
    assert_eq!(names(&pb.plays[1].roles), vec!["sub"]);
    let err = load_err(&[("pb.yml", "- import_playbook: other.yml x=1\n")]);
    assert!(err.contains("takes only a file name"), "{err}");
}

#[test]
fn errors_expose_their_position() {
    let dir = tree(&[("pb.yml", "- hosts: all\n  tasks:\n    - 5\n")]);
    let err = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap_err();
    let pos = err.pos().unwrap();
    assert_eq!((pos.line, pos.column), (3, 7));
    let err = load_playbook(&dir.path().join("absent.yml"), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("absent.yml"), "{err}");
}

#[test]
fn nested_role_names_and_dependencies_beside_their_parent() {
    let dir = tree(&[
        ("pb.yml", "- hosts: all\n  roles:\n    - group/inner\n"),
        (
            "roles/group/inner/meta/main.yml",
            "dependencies:\n  - role: sibling\n    when: s\n",
        ),
        ("roles/group/inner/tasks/main.yml", "- debug: msg=inner\n"),
        (
            "roles/group/sibling/tasks/main.yml",
            "- debug: msg=sibling\n",
        ),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    let inner = block(&pb.plays[0].roles[0]);
    assert_eq!(role_name(inner), "group/inner");
    // ...but, as in Ansible, not for a role imported by the role's tasks.
    fs::write(
        dir.path().join("roles/group/inner/tasks/main.yml"),
        "- import_role: {name: sibling}
",
    )
    .unwrap();
    let err = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, LoadError::RoleNotFound { .. }), "{err}");
    fs::write(
        dir.path().join("roles/group/inner/tasks/main.yml"),
        "- debug: msg=inner\n",
    )
    .unwrap();
    let dep = block(&inner.block[0]);
    assert_eq!(role_name(dep), "sibling");
    assert_eq!(dep.keywords.when, vec![json!("s")]);
    assert_eq!(pb.plays[0].role_names, vec!["group/inner"]);
}

#[test]
fn include_tasks_files_are_found_like_ansible() {
    let pb = site();
    let role_task = task(&block(&pb.plays[0].roles[1]).block[3]);
    assert_eq!(role_task.name.as_deref(), Some("web conf"));
    let found = find_tasks_file("install.yml", role_task, &pb.dir).unwrap();
    assert!(found.ends_with("roles/web/tasks/install.yml"), "{found:?}");
    let play_task = task(&pb.plays[0].tasks[2]);
    let found = find_tasks_file("tasks/nested.yml", play_task, &pb.dir).unwrap();
    assert!(found.ends_with("site/tasks/nested.yml"), "{found:?}");
    let err = find_tasks_file("nope.yml", role_task, &pb.dir).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("roles/web/tasks/nope.yml"), "{msg}");
    assert!(
        msg.contains("site.yml") || msg.contains("main.yml"),
        "{msg}"
    );
}

#[test]
fn argument_specs_of_the_entry_point_are_attached() {
    let pb = site();
    let web = block(&pb.plays[0].roles[1]).role.clone().unwrap();
    let spec = web.argument_spec.as_ref().unwrap();
    assert_eq!(spec["options"]["http_port"]["type"], json!("int"));
    let base = block(&pb.plays[0].roles[0]).role.clone().unwrap();
    assert!(base.argument_spec.is_none());

    let search = vec![fixtures().join("site")];
    let req = RoleRequest {
        name: "web",
        params: VarMap::new(),
        pos: Pos::unknown(),
        tasks_from: Some("install"),
        vars_from: None,
        defaults_from: None,
        handlers_from: None,
        search_from: &search,
        parents: Vec::new(),
    };
    let loaded = load_role(&req, &LoadOptions::default()).unwrap();
    assert_eq!(
        loaded.role.argument_spec.as_ref().unwrap()["short_description"],
        json!("Only install")
    );
    // Written inside meta/main.yml.
    let dir = tree(&[
        ("pb.yml", "- hosts: all\n  roles: [r]\n"),
        (
            "roles/r/meta/main.yml",
            "argument_specs:\n  main:\n    options:\n      x: {type: str}\n",
        ),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    let r = block(&pb.plays[0].roles[0]).role.clone().unwrap();
    assert_eq!(
        r.argument_spec.as_ref().unwrap()["options"]["x"]["type"],
        json!("str")
    );
}

#[test]
fn role_dedupe_compares_params_as_values() {
    let dir = tree(&[
        (
            "pb.yml",
            "- hosts: all\n  roles:\n    - {role: r, a: 1, b: {x: 1, y: 2}}\n    - {role: r, b: {y: 2, x: 1}, a: 1}\n    - {role: r, a: 2}\n",
        ),
        ("roles/r/tasks/main.yml", "- debug: msg=r\n"),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    let params: Vec<Json> = pb.plays[0]
        .roles
        .iter()
        .map(|r| json!(block(r).role.as_ref().unwrap().params["a"]))
        .collect();
    assert_eq!(params, vec![json!(1), json!(2)]);

    let search = vec![dir.path().to_path_buf()];
    let req = RoleRequest {
        name: " ",
        params: VarMap::new(),
        pos: Pos::unknown(),
        tasks_from: None,
        vars_from: None,
        defaults_from: None,
        handlers_from: None,
        search_from: &search,
        parents: Vec::new(),
    };
    assert!(load_role(&req, &LoadOptions::default()).is_err());
}

#[test]
fn variables_known_before_the_run_name_static_imports() {
    let dir = tree(&[
        (
            "pb.yml",
            "- import_playbook: '{{ which }}.yml'\n  vars:\n    which: inner\n",
        ),
        (
            "inner.yml",
            "- hosts: all\n  vars:\n    flavour: debian\n    base_role: base\n  roles:\n    - '{{ base_role }}'\n  tasks:\n    - import_tasks: 'tasks/{{ flavour }}.yml'\n    - import_role:\n        name: '{{ extra_role }}'\n        tasks_from: '{{ entry }}'\n      vars:\n        entry: other\n",
        ),
        ("tasks/debian.yml", "- name: deb\n  debug: msg=deb\n"),
        (
            "roles/base/tasks/main.yml",
            "- import_tasks: '{{ base_file }}'\n",
        ),
        (
            "roles/base/defaults/main.yml",
            "base_file: from_default.yml\n",
        ),
        (
            "roles/base/tasks/from_default.yml",
            "- name: from default\n  debug: msg=x\n",
        ),
        (
            "roles/picked/tasks/other.yml",
            "- name: picked other\n  debug: msg=x\n",
        ),
    ]);
    let extra = VarMap::from_iter([("extra_role".to_string(), json!("picked"))]);
    let pb = load_playbook_with_vars(&dir.path().join("pb.yml"), &LoadOptions::default(), &extra)
        .unwrap();
    let p = &pb.plays[0];
    assert_eq!(p.vars["which"], json!("inner"));
    assert_eq!(names(&p.roles), vec!["from default"]);
    assert_eq!(names(&p.tasks), vec!["deb", "picked other"]);

    // Without the extra var the role name cannot be known.
    let err = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("'{{ extra_role }}'"), "{err}");
    assert!(err.contains("include_role"), "{err}");
    // Filters are not evaluated here.
    let err = load_err(&[(
        "pb.yml",
        "- hosts: all\n  vars: {x: a}\n  tasks:\n    - import_tasks: \"{{ x | upper }}.yml\"\n",
    )]);
    assert!(err.contains("include_tasks"), "{err}");
}

#[test]
fn run_time_loads_take_the_hosts_variables() {
    let dir = tree(&[
        ("inc.yml", "- import_tasks: '{{ os }}.yml'\n"),
        ("Debian.yml", "- name: on debian\n  debug: msg=x\n"),
        ("roles/r/tasks/main.yml", "- import_tasks: '{{ os }}.yml'\n"),
        (
            "roles/r/tasks/Debian.yml",
            "- name: role on debian\n  debug: msg=x\n",
        ),
    ]);
    let vars = VarMap::from_iter([("os".to_string(), json!("Debian"))]);
    let search = vec![dir.path().to_path_buf()];
    let items = load_tasks_file_with_vars(
        &dir.path().join("inc.yml"),
        None,
        &search,
        &LoadOptions::default(),
        &vars,
    )
    .unwrap();
    assert_eq!(names(&items), vec!["on debian"]);
    let req = RoleRequest {
        name: "r",
        params: VarMap::new(),
        pos: Pos::unknown(),
        tasks_from: None,
        vars_from: None,
        defaults_from: None,
        handlers_from: None,
        search_from: &search,
        parents: Vec::new(),
    };
    let loaded = load_role_with_vars(&req, &LoadOptions::default(), &vars).unwrap();
    assert_eq!(names(&loaded.tasks), vec!["role on debian"]);
    assert!(load_role(&req, &LoadOptions::default()).is_err());
}

#[test]
fn a_role_may_import_another_entry_point_of_itself() {
    let dir = tree(&[
        ("pb.yml", "- hosts: all\n  roles: [r]\n"),
        (
            "roles/r/tasks/main.yml",
            "- import_role:\n    name: r\n    tasks_from: other\n",
        ),
        ("roles/r/tasks/other.yml", "- name: other\n  debug: msg=x\n"),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    assert_eq!(names(&pb.plays[0].roles), vec!["other"]);
    fs::write(
        dir.path().join("roles/r/tasks/other.yml"),
        "- import_role:\n    name: r\n    tasks_from: other\n",
    )
    .unwrap();
    let err = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn every_task_block_and_play_has_a_position() {
    let pb = site();
    for p in &pb.plays {
        assert!(p.pos.line > 0 && p.pos.file.is_some(), "{:?}", p.name);
        for list in [&p.pre_tasks, &p.roles, &p.tasks, &p.post_tasks, &p.handlers] {
            walk_tasks(list, &mut |t, blocks| {
                assert!(t.pos.line > 0 && t.pos.file.is_some(), "{:?}", t.name);
                assert!(t.action_pos.line > 0, "{:?}", t.name);
                for b in blocks {
                    assert!(b.pos.line > 0 && b.pos.file.is_some(), "{:?}", b.name);
                }
            });
        }
    }
}

#[test]
fn mangled_playbooks_never_panic() {
    let text = fs::read_to_string(fixtures().join("site/site.yml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = tree(&[]);
    let path = dir.path().join("pb.yml");
    let mut loaded = 0;
    for i in 0..lines.len() {
        // Drop one line, then keep only a prefix.
        let without: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, l)| *l)
            .collect();
        for variant in [without.join("\n"), lines[..i].join("\n")] {
            fs::write(&path, variant).unwrap();
            if load_playbook(&path, &LoadOptions::default()).is_ok() {
                loaded += 1;
            }
        }
    }
    // Without its roles directory most variants fail; the point is that none panics.
    assert!(loaded > 0 && loaded < 2 * lines.len(), "{loaded}");
}

#[test]
fn kv_text_of_any_shape_never_panics() {
    let alphabet = ['a', '=', '"', '\'', ' ', '\\', '{', '}', '\n', 'é'];
    let n = alphabet.len();
    for len in 1..=4u32 {
        for mut code in 0..n.pow(len) {
            let mut s = String::new();
            for _ in 0..len {
                s.push(alphabet[code % n]);
                code /= n;
            }
            let _ = parse_kv(&s, true);
            let _ = parse_kv(&s, false);
        }
    }
}

#[test]
fn import_role_entry_points() {
    let dir = tree(&[
        (
            "pb.yml",
            "- hosts: all\n  tasks:\n    - name: use r\n      import_role:\n        name: r\n        tasks_from: setup.yml\n        vars_from: debian\n        defaults_from: small\n        handlers_from: extra\n      become: true\n",
        ),
        ("roles/r/tasks/setup.yml", "- name: setup\n  debug: msg=x\n"),
        ("roles/r/vars/debian.yml", "pkg: apt\n"),
        ("roles/r/vars/main.yml", "pkg: none\n"),
        ("roles/r/defaults/small.yml", "size: 1\n"),
        (
            "roles/r/handlers/extra.yml",
            "- name: extra handler\n  debug: msg=h\n",
        ),
        (
            "roles/r/handlers/main.yml",
            "- name: main handler\n  debug: msg=h\n",
        ),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    let p = &pb.plays[0];
    let b = block(&p.tasks[0]);
    assert_eq!(b.name.as_deref(), Some("use r"));
    assert_eq!(b.keywords.become_, Some(json!(true)));
    let r = b.role.as_ref().unwrap();
    assert_eq!(r.vars["pkg"], json!("apt"));
    assert_eq!(r.defaults["size"], json!(1));
    assert_eq!(names(&b.block), vec!["setup"]);
    assert_eq!(names(&p.handlers), vec!["extra handler"]);
    assert_eq!(p.role_names, vec!["r"]);

    let err = load_err(&[
        (
            "pb.yml",
            "- hosts: all\n  tasks:\n    - import_role: {name: r, vars_from: absent}\n",
        ),
        ("roles/r/tasks/main.yml", "- debug: msg=x\n"),
    ]);
    assert!(err.contains("cannot find vars file 'absent'"), "{err}");
}

#[test]
fn display_names_follow_ansible() {
    let pb = site();
    let web = block(&pb.plays[0].roles[1]);
    let conf = task(&web.block[3]);
    assert_eq!(conf.display_name(), "web : web conf");
    let pre = task(&pb.plays[0].pre_tasks[0]);
    assert_eq!(pre.display_name(), "Before");
    let post = task(&pb.plays[0].post_tasks[0]);
    assert_eq!(post.display_name(), "command");
    let dir = tree(&[
        ("pb.yml", "- hosts: all\n  roles: [r]\n"),
        ("roles/r/tasks/main.yml", "- ansible.builtin.debug: msg=x\n"),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    let t = task(&block(&pb.plays[0].roles[0]).block[0]);
    assert_eq!(t.display_name(), "r : ansible.builtin.debug");
}

#[test]
fn vars_directories_are_read_recursively_in_name_order() {
    let dir = tree(&[
        ("pb.yml", "- hosts: all\n  roles: [r]\n"),
        ("roles/r/defaults/main/10-a.yml", "a: 1\nshared: a\n"),
        ("roles/r/defaults/main/20-sub/x.yaml", "x: 1\nshared: sub\n"),
        ("roles/r/defaults/main/30-b.json", "{\"shared\": \"b\"}\n"),
        ("roles/r/defaults/main/40-skip.txt", "shared: txt\n"),
        ("roles/r/defaults/main/.hidden.yml", "shared: hidden\n"),
        ("roles/r/defaults/main/50-old.yml~", "shared: backup\n"),
    ]);
    let pb = load_playbook(&dir.path().join("pb.yml"), &LoadOptions::default()).unwrap();
    let r = block(&pb.plays[0].roles[0]).role.clone().unwrap();
    assert_eq!(r.defaults["a"], json!(1));
    assert_eq!(r.defaults["x"], json!(1));
    assert_eq!(r.defaults["shared"], json!("b"));
}

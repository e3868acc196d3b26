//! One task mapping -> [`Task`]: finding the module among the keys, its arguments in every form
//! Ansible accepts, and the task keywords. Also the header of a `block` mapping.
//!
//! The module is the one key that is not a keyword. `action:` and `local_action:` (which also
//! delegates to localhost) name it the old way. Arguments come as a mapping, as `k=v` text, or
//! under `args:`; `args:` gives defaults that the module's own arguments override, as in
//! Ansible's `ModuleArgsParser`. Module names are normalised ([`normalize_module_name`]).

use std::sync::Arc;

use serde_json::Value as Json;

use super::keywords::{self, invalid};
use super::kv::{parse_kv, split_args};
use super::{Block, LoadError, Loop, LoopControl, LoopKind, Role, Task, VarMap};
use crate::yaml::{Key, Node, NodeValue};

/// Modules whose free-form text is a command line: only their documented options are taken out
/// of it, every other word (even `x=y`) stays in `_raw_params`.
const FREE_FORM: &[&str] = &[
    "command",
    "shell",
    "raw",
    "script",
    "win_command",
    "win_shell",
];

/// Well-known Ansible modules. A value that cannot be module arguments (a list, a number) is an
/// error at load time for these; for any other name the task is kept, so that an unknown
/// module fails only if its task runs.
const KNOWN_MODULES: &[&str] = &[
    "template",
    "file",
    "set_fact",
    "command",
    "service",
    "include_tasks",
    "copy",
    "import_tasks",
    "package",
    "stat",
    "apt",
    "shell",
    "systemd",
    "lineinfile",
    "include_vars",
    "assert",
    "user",
    "meta",
    "get_url",
    "group",
    "yum",
    "include_role",
    "debug",
    "fail",
    "import_role",
    "unarchive",
    "git",
    "apt_repository",
    "pause",
    "cron",
    "systemd_service",
    "find",
    "slurp",
    "blockinfile",
    "getent",
    "replace",
    "uri",
    "dnf",
    "fetch",
    "apt_key",
    "setup",
    "script",
    "raw",
    "reboot",
];

/// `ansible.builtin.copy`, `ansible.legacy.copy`, `copy` -> `copy`; `ansible.posix.sysctl` ->
/// `sysctl`; `community.general.ufw` -> `ufw`. Unknown collections: last segment.
///
/// The legacy `include` is `include_tasks`. A templated name (`{{ x }}`) is kept as written.
pub fn normalize_module_name(name: &str) -> String {
    let name = name.trim();
    if name.contains("{{") || name.contains("{%") {
        return name.to_string();
    }
    let short = name.rsplit('.').next().unwrap_or(name);
    match short {
        "include" => "include_tasks".to_string(),
        other => other.to_string(),
    }
}

/// Whether `key` is a keyword of a block mapping (which makes the mapping a block).
pub(crate) fn is_block(entries: &[(Key, Node)]) -> bool {
    entries
        .iter()
        .any(|(k, _)| matches!(k.name.as_str(), "block" | "rescue" | "always"))
}

/// The sections of a block mapping, before its task lists are loaded.
pub(crate) struct BlockHeader<'n> {
    /// The block with its name, position and keywords (task lists still empty).
    pub block: Block,
    /// `block:`.
    pub block_items: Option<&'n Node>,
    /// `rescue:`.
    pub rescue: Option<&'n Node>,
    /// `always:`.
    pub always: Option<&'n Node>,
}

/// Reads the keywords of a block mapping.
pub(crate) fn parse_block_header<'n>(
    node: &'n Node,
    entries: &'n [(Key, Node)],
) -> Result<BlockHeader<'n>, LoadError> {
    let mut header = BlockHeader {
        block: Block {
            pos: node.pos.clone(),
            ..Block::default()
        },
        block_items: None,
        rescue: None,
        always: None,
    };
    for (k, v) in entries {
        match k.name.as_str() {
            "name" => header.block.name = keywords::scalar_text(v),
            "block" => header.block_items = Some(v),
            "rescue" => header.rescue = Some(v),
            "always" => header.always = Some(v),
            key if keywords::IGNORED.contains(&key) => {}
            key => {
                if !keywords::apply_common(&mut header.block.keywords, key, v)? {
                    let mut known: Vec<&str> = keywords::COMMON.to_vec();
                    known.extend_from_slice(keywords::BLOCK_ONLY);
                    let hint = match keywords::suggest(key, &known) {
                        Some(s) => format!(" (did you mean {s}?)"),
                        None => {
                            " (a task inside the block must be indented under `block:`)".to_string()
                        }
                    };
                    return Err(invalid(
                        &k.pos,
                        format!("`{key}` is not a valid keyword for a block{hint}"),
                    ));
                }
            }
        }
    }
    Ok(header)
}

/// Parses a task mapping (not a block). `role` is set on the task.
pub(crate) fn parse_task(
    node: &Node,
    entries: &[(Key, Node)],
    role: Option<&Arc<Role>>,
) -> Result<Task, LoadError> {
    let mut task = Task {
        pos: node.pos.clone(),
        role: role.cloned(),
        ..Task::default()
    };
    let mut candidates: Vec<(&Key, &Node)> = Vec::new();
    let mut old_style: Option<(&Key, &Node)> = None;
    let mut args_kw: Option<&Node> = None;

    for (k, v) in entries {
        let key = k.name.as_str();
        match key {
            "name" => task.name = keywords::scalar_text(v),
            "action" | "local_action" => {
                if let Some((first, _)) = old_style {
                    return Err(invalid(
                        &k.pos,
                        format!(
                            "`{}` (at {}) and `{key}` name the module twice; keep one",
                            first.name, first.pos
                        ),
                    ));
                }
                old_style = Some((k, v));
            }
            "args" => args_kw = Some(v),
            "register" => task.register = keywords::string_value(v, "register")?,
            "loop" => set_loop(&mut task, LoopKind::Loop, k, v)?,
            "loop_control" => task.loop_control = Some(parse_loop_control(v)?),
            "notify" => task.notify = keywords::string_list(v, "notify")?,
            "listen" => task.listen = keywords::string_list(v, "listen")?,
            "changed_when" => task.changed_when = keywords::opt_json(v),
            "failed_when" => task.failed_when = keywords::opt_json(v),
            "until" => task.until = keywords::opt_json(v),
            "retries" => task.retries = keywords::opt_json(v),
            "delay" => task.delay = keywords::opt_json(v),
            "async" => task.async_ = keywords::opt_json(v),
            "poll" => task.poll = keywords::opt_json(v),
            "static" => {}
            _ if keywords::IGNORED.contains(&key) => {}
            _ if key.starts_with("with_") && key.len() > 5 => {
                set_loop(&mut task, LoopKind::With(key[5..].to_string()), k, v)?
            }
            _ => {
                if !keywords::apply_common(&mut task.keywords, key, v)? {
                    candidates.push((k, v));
                }
            }
        }
    }

    let (written, action_pos, mut args) = match (old_style, candidates.as_slice()) {
        (Some((k, _)), [(other, _), ..]) => {
            return Err(invalid(
                &other.pos,
                format!(
                    "this task names its module twice: `{}` at {} and `{}` at {}; keep one{}",
                    k.name,
                    k.pos,
                    other.name,
                    other.pos,
                    misspelling_hint(&candidates)
                ),
            ));
        }
        (Some((k, v)), []) => {
            if k.name == "local_action" {
                task.keywords.delegate_to = Some(Json::String("localhost".into()));
            }
            let (name, args) = old_style_args(k, v)?;
            (name, v.pos.clone(), args)
        }
        (None, [(k, v)]) => {
            let short = normalize_module_name(&k.name);
            (k.name.clone(), k.pos.clone(), new_style_args(&short, k, v)?)
        }
        (None, []) => {
            let what = match &task.name {
                Some(n) => format!("the task '{n}'"),
                None => "this task".to_string(),
            };
            return Err(invalid(
                &node.pos,
                format!(
                    "{what} has no module: add one, for example `debug: msg=hello` or `ansible.builtin.command: /bin/true`"
                ),
            ));
        }
        (None, many) => {
            let listed: Vec<String> = many
                .iter()
                .map(|(k, _)| format!("`{}` at {}", k.name, k.pos))
                .collect();
            return Err(invalid(
                &many[1].0.pos,
                format!(
                    "this task has more than one module: {}; a task runs exactly one module{}",
                    listed.join(", "),
                    misspelling_hint(many)
                ),
            ));
        }
    };

    // `args:` gives defaults; the module's own arguments win (Ansible's ModuleArgsParser).
    let mut merged = match args_kw {
        Some(a) => args_keyword(a)?,
        None => VarMap::new(),
    };
    merged.extend(std::mem::take(&mut args));

    task.action = normalize_module_name(&written);
    task.action_as_written = written;
    task.action_pos = action_pos;
    if task.action == "include_tasks"
        && task.action_as_written.rsplit('.').next() == Some("include")
    {
        // The legacy `include: file.yml x=1` passed its extra words as variables.
        let extra: Vec<String> = merged
            .keys()
            .filter(|k| !matches!(k.as_str(), "_raw_params" | "file" | "apply"))
            .cloned()
            .collect();
        for k in extra {
            if let Some(v) = merged.shift_remove(&k) {
                task.keywords.vars.insert(k, v);
            }
        }
    }
    task.args = merged;
    Ok(task)
}

/// " (`x` looks like a misspelling of `y`)" for the candidates that are near a keyword.
fn misspelling_hint(candidates: &[(&Key, &Node)]) -> String {
    let known = keywords::task_keywords();
    let hints: Vec<String> = candidates
        .iter()
        .filter_map(|(k, _)| {
            keywords::suggest(&k.name, &known)
                .map(|s| format!("`{}` looks like a misspelling of {s}", k.name))
        })
        .collect();
    if hints.is_empty() {
        String::new()
    } else {
        format!(" ({})", hints.join("; "))
    }
}

fn set_loop(task: &mut Task, kind: LoopKind, key: &Key, value: &Node) -> Result<(), LoadError> {
    if let Some(existing) = &task.loop_ {
        let first = match &existing.kind {
            LoopKind::Loop => "loop".to_string(),
            LoopKind::With(n) => format!("with_{n}"),
        };
        return Err(invalid(
            &key.pos,
            format!(
                "this task loops twice (`{first}` at {} and `{}`); a task takes one loop",
                existing.pos, key.name
            ),
        ));
    }
    if value.value == NodeValue::Null {
        return Err(invalid(
            &key.pos,
            format!(
                "`{}` needs a value (a list, or a template giving one)",
                key.name
            ),
        ));
    }
    task.loop_ = Some(Loop {
        kind,
        value: value.to_json(),
        pos: key.pos.clone(),
    });
    Ok(())
}

fn parse_loop_control(node: &Node) -> Result<LoopControl, LoadError> {
    let mut lc = LoopControl::default();
    let entries = match &node.value {
        NodeValue::Null => return Ok(lc),
        NodeValue::Map(entries) => entries,
        _ => {
            return Err(invalid(
                &node.pos,
                format!(
                    "`loop_control` must be a mapping (loop_var, index_var, label...), got {}",
                    node.kind()
                ),
            ));
        }
    };
    for (k, v) in entries {
        match k.name.as_str() {
            "loop_var" => lc.loop_var = keywords::string_value(v, "loop_var")?,
            "index_var" => lc.index_var = keywords::string_value(v, "index_var")?,
            "label" => lc.label = keywords::opt_json(v),
            "pause" => lc.pause = keywords::opt_json(v),
            "extended" => lc.extended = keywords::opt_json(v),
            "extended_allitems" => lc.extended_allitems = keywords::opt_json(v),
            "break_when" => lc.break_when = keywords::when_list(v),
            other => {
                const KNOWN: &[&str] = &[
                    "loop_var",
                    "index_var",
                    "label",
                    "pause",
                    "extended",
                    "extended_allitems",
                    "break_when",
                ];
                let hint = keywords::suggest(other, KNOWN)
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default();
                return Err(invalid(
                    &k.pos,
                    format!("`{other}` is not a loop_control option{hint}"),
                ));
            }
        }
    }
    Ok(lc)
}

/// Arguments given with the module key: a mapping, `k=v` text, or nothing.
fn new_style_args(short: &str, key: &Key, value: &Node) -> Result<VarMap, LoadError> {
    match &value.value {
        NodeValue::Map(entries) => Ok(entries
            .iter()
            .map(|(k, v)| (k.name.clone(), v.to_json()))
            .collect()),
        NodeValue::Str(text) => kv_args(short, text, value),
        NodeValue::Null => Ok(VarMap::new()),
        _ if KNOWN_MODULES.contains(&short) => Err(invalid(
            &value.pos,
            format!(
                "the arguments of `{}` must be a mapping or `key=value` text, got {}",
                key.name,
                value.kind()
            ),
        )),
        // Not a module jig knows (maybe a misspelt keyword): keep the value; the task fails
        // with "unknown module" only if it runs.
        _ => Ok(VarMap::from_iter([(
            "_raw_params".to_string(),
            value.to_json(),
        )])),
    }
}

fn kv_args(short: &str, text: &str, at: &Node) -> Result<VarMap, LoadError> {
    parse_kv(text, FREE_FORM.contains(&short)).map_err(|e| {
        invalid(
            &at.pos,
            format!("cannot read the arguments of `{short}`: {e}"),
        )
    })
}

/// `action:`/`local_action:` as text (`copy src=a dest=b`) or a mapping with `module:`.
fn old_style_args(key: &Key, value: &Node) -> Result<(String, VarMap), LoadError> {
    let split_module = |text: &str| -> Result<(String, String), LoadError> {
        let mut tokens = split_args(text).map_err(|e| invalid(&value.pos, e))?;
        let explicit = tokens
            .iter()
            .position(|t| t.starts_with("module="))
            .map(|i| tokens.remove(i));
        let module = match explicit {
            Some(t) => t["module=".len()..].trim().to_string(),
            None if !tokens.is_empty() => tokens.remove(0).trim().to_string(),
            None => String::new(),
        };
        if module.is_empty() {
            return Err(invalid(
                &value.pos,
                format!(
                    "`{}` does not name a module; write e.g. `{}: copy src=a dest=b`",
                    key.name, key.name
                ),
            ));
        }
        Ok((module, tokens.join(" ")))
    };
    match &value.value {
        NodeValue::Str(text) => {
            let (module, rest) = split_module(text)?;
            let args = kv_args(&normalize_module_name(&module), &rest, value)?;
            Ok((module, args))
        }
        NodeValue::Map(entries) => {
            let Some(module_node) = value.get("module") else {
                return Err(invalid(
                    &value.pos,
                    format!("`{}` as a mapping needs a `module:` key", key.name),
                ));
            };
            let Some(module_text) = module_node.as_str() else {
                return Err(invalid(
                    &module_node.pos,
                    format!("`module` must be a string, got {}", module_node.kind()),
                ));
            };
            let (module, rest) = split_module(module_text)?;
            let short = normalize_module_name(&module);
            let mut args = VarMap::new();
            for (k, v) in entries {
                match k.name.as_str() {
                    "module" => {}
                    "args" => match &v.value {
                        NodeValue::Str(text) => args.extend(kv_args(&short, text, v)?),
                        _ => args.extend(args_keyword(v)?),
                    },
                    name => {
                        args.insert(name.to_string(), v.to_json());
                    }
                }
            }
            args.extend(kv_args(&short, &rest, module_node)?);
            Ok((module, args))
        }
        _ => Err(invalid(
            &value.pos,
            format!(
                "`{}` must be text (`copy src=a dest=b`) or a mapping with `module:`, got {}",
                key.name,
                value.kind()
            ),
        )),
    }
}

/// The `args:` keyword: a mapping, or a template that gives one at run time.
fn args_keyword(node: &Node) -> Result<VarMap, LoadError> {
    match &node.value {
        NodeValue::Null => Ok(VarMap::new()),
        NodeValue::Map(entries) => Ok(entries
            .iter()
            .map(|(k, v)| (k.name.clone(), v.to_json()))
            .collect()),
        NodeValue::Str(s) if s.contains("{{") => Ok(VarMap::from_iter([(
            "_variable_params".to_string(),
            Json::String(s.clone()),
        )])),
        NodeValue::Str(s) => Err(invalid(
            &node.pos,
            format!(
                "`args: {s}` is a bare word; `args` must be a mapping or a full template such as '{{{{ {s} }}}}'"
            ),
        )),
        _ => Err(invalid(
            &node.pos,
            format!(
                "`args` must be a mapping or a template string, got {}",
                node.kind()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;
    use serde_json::json;
    use std::path::Path;

    fn task(text: &str) -> Result<Task, LoadError> {
        let node = parse_str(text, Some(Path::new("t.yml"))).unwrap();
        let entries = node.as_map().unwrap().to_vec();
        parse_task(&node, &entries, None)
    }

    #[test]
    fn module_names_normalise() {
        assert_eq!(normalize_module_name("ansible.builtin.copy"), "copy");
        assert_eq!(normalize_module_name("ansible.legacy.copy"), "copy");
        assert_eq!(normalize_module_name("copy"), "copy");
        assert_eq!(normalize_module_name("ansible.posix.sysctl"), "sysctl");
        assert_eq!(normalize_module_name("community.general.ufw"), "ufw");
        assert_eq!(normalize_module_name("include"), "include_tasks");
        assert_eq!(
            normalize_module_name("ansible.builtin.include"),
            "include_tasks"
        );
        assert_eq!(normalize_module_name("{{ mod }}"), "{{ mod }}");
    }

    #[test]
    fn mapping_args_keep_yaml_types() {
        let t = task("name: conf\nansible.builtin.copy:\n  src: a\n  dest: /etc/a\n  mode: 0644\n  force: yes\n").unwrap();
        assert_eq!(t.action, "copy");
        assert_eq!(t.action_as_written, "ansible.builtin.copy");
        assert_eq!((t.action_pos.line, t.action_pos.column), (2, 1));
        assert_eq!(t.args["mode"], json!(420));
        assert_eq!(t.args["force"], json!(true));
        assert_eq!(t.name.as_deref(), Some("conf"));
    }

    #[test]
    fn kv_text_and_args_keyword_merge_with_inline_winning() {
        let t =
            task("template: src=a.j2 dest=/etc/a mode=0600\nargs:\n  mode: 0644\n  owner: root\n")
                .unwrap();
        assert_eq!(t.args["src"], json!("a.j2"));
        assert_eq!(t.args["mode"], json!("0600"));
        assert_eq!(t.args["owner"], json!("root"));
    }

    #[test]
    fn free_form_command_with_options() {
        let t =
            task("shell: echo \"it's $(date)\" > /tmp/x creates=/tmp/x\nargs:\n  chdir: /srv\n")
                .unwrap();
        assert_eq!(t.action, "shell");
        assert_eq!(
            t.args["_raw_params"],
            json!("echo \"it's $(date)\" > /tmp/x")
        );
        assert_eq!(t.args["creates"], json!("/tmp/x"));
        assert_eq!(t.args["chdir"], json!("/srv"));
    }

    #[test]
    fn set_fact_and_debug_kv() {
        let t = task("set_fact: a=1 b=\"two words\"").unwrap();
        assert_eq!(t.args["a"], json!("1"));
        assert_eq!(t.args["b"], json!("two words"));
        let t = task("debug: msg=\"{{ x }} y\"").unwrap();
        assert_eq!(t.args["msg"], json!("{{ x }} y"));
    }

    #[test]
    fn action_and_local_action_forms() {
        let t = task("action: copy src=a dest=b").unwrap();
        assert_eq!(t.action, "copy");
        assert_eq!(t.args["dest"], json!("b"));
        assert!(t.keywords.delegate_to.is_none());
        let t = task("local_action: command echo hi chdir=/tmp").unwrap();
        assert_eq!(t.action, "command");
        assert_eq!(t.args["_raw_params"], json!("echo hi"));
        assert_eq!(t.keywords.delegate_to, Some(json!("localhost")));
        let t =
            task("local_action:\n  module: ansible.builtin.file\n  path: /tmp/x\n  state: touch\n")
                .unwrap();
        assert_eq!(t.action, "file");
        assert_eq!(t.args["path"], json!("/tmp/x"));
        assert!(!t.args.contains_key("module"));
        assert!(task("action: {path: x}").is_err());
    }

    #[test]
    fn keywords_loops_and_fields() {
        let t = task(
            "command: /bin/true\nwhen: [a, b]\ntags: x,y\nnotify: restart\nregister: r\nwith_items: [1, 2]\nloop_control:\n  loop_var: pkg\n  label: '{{ pkg }}'\nchanged_when: false\nretries: 3\ndelay: 2\nuntil: r is success\nbecome: yes\nasync: 30\npoll: 0\nvars:\n  v: 1\n",
        )
        .unwrap();
        assert_eq!(t.keywords.when, vec![json!("a"), json!("b")]);
        assert_eq!(t.keywords.tags, vec!["x", "y"]);
        assert_eq!(t.notify, vec!["restart"]);
        assert_eq!(t.register.as_deref(), Some("r"));
        let l = t.loop_.unwrap();
        assert_eq!(l.kind, LoopKind::With("items".into()));
        assert_eq!(l.value, json!([1, 2]));
        assert_eq!(t.loop_control.unwrap().loop_var.as_deref(), Some("pkg"));
        assert_eq!(t.changed_when, Some(json!(false)));
        assert_eq!(t.retries, Some(json!(3)));
        assert_eq!(t.until, Some(json!("r is success")));
        assert_eq!(t.keywords.become_, Some(json!(true)));
        assert_eq!(t.async_, Some(json!(30)));
        assert_eq!(t.poll, Some(json!(0)));
        assert_eq!(t.keywords.vars["v"], json!(1));
    }

    #[test]
    fn two_modules_is_an_error_naming_both() {
        let err = task("copy: src=a dest=b\nfile: path=x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`copy` at t.yml:1:1"), "{err}");
        assert!(err.contains("`file` at t.yml:2:1"), "{err}");
        let err = task("copy: src=a dest=b\nnotfy: x\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`notfy` looks like a misspelling of `notify`"),
            "{err}"
        );
        let err = task("action: copy\nfile: path=x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("twice"), "{err}");
    }

    #[test]
    fn a_misspelt_keyword_alone_becomes_the_action() {
        let t = task("name: x\nignore_erors: yes\n").unwrap();
        assert_eq!(t.action, "ignore_erors");
        assert_eq!(t.args["_raw_params"], json!(true));
    }

    #[test]
    fn no_module_is_an_error() {
        let err = task("name: lonely\nwhen: x\n").unwrap_err().to_string();
        assert!(err.contains("t.yml:1:1"), "{err}");
        assert!(err.contains("'lonely' has no module"), "{err}");
    }

    #[test]
    fn legacy_include_moves_extra_words_to_vars() {
        let t = task("include: other.yml port=80").unwrap();
        assert_eq!(t.action, "include_tasks");
        assert_eq!(t.action_as_written, "include");
        assert_eq!(t.args["_raw_params"], json!("other.yml"));
        assert_eq!(t.keywords.vars["port"], json!("80"));
    }

    #[test]
    fn odd_values_are_errors_not_panics() {
        assert!(task("copy: [a, b]").is_err());
        assert!(task("debug: msg='unclosed").is_err());
        assert!(task("command: x\nloop: [1]\nwith_items: [2]").is_err());
        assert!(task("command: x\nwith_items:").is_err());
        assert!(task("command: x\nargs: notatemplate").is_err());
        assert!(task("command: x\nloop_control: 3").is_err());
        assert!(task("action: ''").is_err());
        assert!(task("action: 5").is_err());
        let t = task("command: x\nargs: '{{ a }}'").unwrap();
        assert_eq!(t.args["_variable_params"], json!("{{ a }}"));
    }
}

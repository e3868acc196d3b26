//! Controller-side actions: the task actions that never reach a module because they work on
//! variables or on the run itself (`debug`, `set_fact`, `assert`, `fail`, `meta`,
//! `include_tasks`, `include_role`, `include_vars`, `set_stats`, `ping`, `setup`, `pause`).
//!
//! Everything else goes to [`super::task::run_module`]. Includes and `meta` only describe what
//! to do ([`Directive`]); the scheduler carries them out across hosts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value as Json, json};

use super::keywords;
use super::task::{ActionOutput, Ctx, Directive, run_module};
use crate::modules::args::parse_bool;
use crate::modules::pyregex::{Dollar, PyRegex};
use crate::template::{OMIT, TemplateError};
use crate::vars::{VarMap, VarScope};

/// Actions the executor implements itself (for "did you mean" suggestions).
pub const ACTION_NAMES: &[&str] = &[
    "debug",
    "set_fact",
    "assert",
    "fail",
    "meta",
    "include_tasks",
    "include_role",
    "include_vars",
    "set_stats",
    "ping",
    "setup",
    "gather_facts",
    "pause",
    "validate_argument_spec",
];

/// The `meta` actions jig understands.
pub const META_ACTIONS: &[&str] = &[
    "flush_handlers",
    "noop",
    "end_play",
    "end_host",
    "end_batch",
    "end_role",
    "clear_host_errors",
    "refresh_inventory",
    "clear_facts",
    "reset_connection",
];

/// Runs the task's action once, on one item.
pub async fn dispatch(ctx: &Ctx<'_>, scope: &VarScope, loop_vars: Option<&VarMap>) -> ActionOutput {
    let task = &ctx.job.task;
    let result = match task.action.as_str() {
        "debug" => debug(ctx, scope),
        "set_fact" => set_fact(ctx, scope),
        "assert" => assert(ctx, scope),
        "fail" => fail(ctx, scope),
        "meta" => meta(ctx, scope),
        "include_tasks" | "include" => include_tasks(ctx, scope, loop_vars),
        "include_role" => include_role(ctx, scope, loop_vars),
        "include_vars" => include_vars(ctx, scope),
        "set_stats" => Ok(ActionOutput::new(false, false, None)),
        "ping" => return ping(ctx, scope).await,
        "setup" | "gather_facts" => return setup(ctx, scope).await,
        "pause" => return pause(ctx, scope).await,
        "validate_argument_spec" => return super::argspec::run(ctx, scope),
        _ => match template_args(ctx, scope, &with_module_defaults(ctx, scope, &task.args)) {
            Ok(args) => return run_module(ctx, scope, args).await,
            Err(out) => Err(out),
        },
    };
    result.unwrap_or_else(|failed| *failed)
}

type Outcome = Result<ActionOutput, Box<ActionOutput>>;

/// The task's arguments over the `module_defaults` that name its module (short or FQCN),
/// applied outermost first so the play's give way to a block's and the task's own. Action
/// groups (`group/...`) name collection modules jig does not have, so they match nothing.
fn with_module_defaults(ctx: &Ctx<'_>, scope: &VarScope, args: &VarMap) -> VarMap {
    let task = &ctx.job.task;
    let Some(Json::Array(levels)) = &ctx.job.eff.kw.module_defaults else {
        return args.clone();
    };
    let mut merged = VarMap::new();
    for level in levels {
        // A level may be a template that yields the mapping.
        let level = match level {
            Json::String(_) => match ctx.job.templar.template_value(level, scope) {
                Ok(v) => v,
                Err(_) => continue,
            },
            other => other.clone(),
        };
        let Json::Object(m) = level else { continue };
        for (name, defaults) in m {
            if crate::playbook::normalize_module_name(&name) != task.action {
                continue;
            }
            if let Json::Object(d) = defaults {
                merged.extend(d);
            }
        }
    }
    if merged.is_empty() {
        return args.clone();
    }
    merged.extend(args.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

fn bad(msg: impl Into<String>) -> Box<ActionOutput> {
    Box::new(ActionOutput::failed(msg))
}

/// Templates a task's arguments; keys whose value is `omit` are dropped.
pub fn template_args(
    ctx: &Ctx<'_>,
    scope: &VarScope,
    args: &VarMap,
) -> Result<VarMap, Box<ActionOutput>> {
    let raw = Json::Object(args.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    let v = ctx
        .job
        .templar
        .template_value(&raw, scope)
        .map_err(|e| bad(ctx.template_failure("the task arguments", &e)))?;
    match v {
        Json::Object(m) => Ok(m
            .into_iter()
            .filter(|(_, v)| v.as_str() != Some(OMIT))
            .collect()),
        _ => Ok(VarMap::new()),
    }
}

fn templ(ctx: &Ctx<'_>, scope: &VarScope, what: &str, v: &Json) -> Result<Json, Box<ActionOutput>> {
    ctx.job
        .templar
        .template_value(v, scope)
        .map_err(|e| bad(ctx.template_failure(what, &e)))
}

fn arg_str(args: &VarMap, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match args.get(*n) {
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Null) | None => None,
        Some(other) => Some(super::task::scalar_string(other)),
    })
}

fn debug(ctx: &Ctx<'_>, scope: &VarScope) -> Outcome {
    let args = &ctx.job.task.args;
    if let Some(v) = args.get("verbosity") {
        let v = templ(ctx, scope, "verbosity", v)?;
        let need = v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .unwrap_or(0);
        if u64::from(ctx.job.flags.verbosity) < need {
            let mut out = ActionOutput::new(false, false, None);
            out.result.insert("skipped".into(), json!(true));
            out.result.insert(
                "skipped_reason".into(),
                json!("Verbosity threshold not met."),
            );
            return Ok(out);
        }
    }
    let mut out = ActionOutput::new(false, false, None);
    if let Some(var) = args.get("var") {
        let expr = match var {
            Json::String(s) => s.clone(),
            other => super::task::scalar_string(other),
        };
        let value = match ctx.job.templar.eval_expr(&expr, scope) {
            Ok(v) => v,
            Err(TemplateError::Undefined { .. }) => json!("VARIABLE IS NOT DEFINED!"),
            Err(e) => return Err(bad(ctx.template_failure("var", &e))),
        };
        out.result.insert(expr.clone(), value.clone());
        let mut shown = Map::new();
        shown.insert(expr, value);
        out.debug_output = Some(Json::Object(shown));
    } else {
        // Templated as a whole so that `msg: "{{ omit }}"` falls back to the default.
        let mut raw = VarMap::new();
        if let Some(m) = args.get("msg") {
            raw.insert("msg".into(), m.clone());
        }
        let templated = template_args(ctx, scope, &raw)?;
        let msg = templated
            .get("msg")
            .cloned()
            .unwrap_or_else(|| json!("Hello world!"));
        out.result.insert("msg".into(), msg.clone());
        out.debug_output = Some(json!({ "msg": msg }));
    }
    Ok(out)
}

/// `set_fact`: keys and values templated; with `cacheable: true` the facts also join the
/// host's `ansible_facts` (Ansible's fact cache), as well as being variables.
fn set_fact(ctx: &Ctx<'_>, scope: &VarScope) -> Outcome {
    let mut raw = ctx.job.task.args.clone();
    let cacheable = match raw.shift_remove("cacheable") {
        None => false,
        Some(v) => {
            let v = templ(ctx, scope, "cacheable", &v)?;
            parse_bool(&v).ok_or_else(|| {
                bad(format!(
                    "{}: cacheable must be a boolean, got {}",
                    ctx.location(),
                    crate::pyfmt::str(&v)
                ))
            })?
        }
    };
    let mut args = VarMap::new();
    for (k, v) in template_args(ctx, scope, &raw)? {
        let key = if crate::template::is_template(&k) {
            match ctx.job.templar.render_str(&k, scope) {
                Ok(k) => k,
                Err(e) => return Err(bad(ctx.template_failure("a variable name", &e))),
            }
        } else {
            k
        };
        args.insert(key, v);
    }
    let mut out = ActionOutput::new(false, false, None);
    for k in args.keys() {
        if !is_identifier(k) {
            return Err(bad(format!(
                "{}: the variable name '{k}' is not valid. Variables must start with a letter or \
                 underscore character, and contain only letters, numbers and underscores.",
                ctx.location()
            )));
        }
    }
    out.result.insert(
        "ansible_facts".into(),
        Json::Object(args.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
    );
    if cacheable {
        out.result
            .insert("_ansible_facts_cacheable".into(), json!(true));
        let mut all = match scope.get("ansible_facts") {
            Some(Json::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let mut gathered = VarMap::new();
        for (k, v) in &args {
            all.insert(k.clone(), v.clone());
            gathered.insert(k.clone(), v.clone());
        }
        gathered.insert("ansible_facts".into(), Json::Object(all));
        out.gathered = Some(gathered);
    }
    out.facts = args;
    Ok(out)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn assert(ctx: &Ctx<'_>, scope: &VarScope) -> Outcome {
    let args = &ctx.job.task.args;
    let that: Vec<Json> = match args.get("that") {
        Some(Json::Array(a)) => a.clone(),
        Some(other) => vec![other.clone()],
        None => {
            return Err(bad(format!(
                "{}: assert needs 'that': a condition or a list of conditions",
                ctx.location()
            )));
        }
    };
    // Ansible shows an assertion's whole result, failed or not, unless `quiet`.
    let quiet = match args.get("quiet") {
        Some(q) => parse_bool(&templ(ctx, scope, "quiet", q)?).unwrap_or(false),
        None => false,
    };
    for cond in &that {
        let ok = ctx
            .job
            .templar
            .eval_condition(cond, scope)
            .map_err(|e| bad(ctx.template_failure("the assertion", &e)))?;
        if !ok {
            let msg = match args.get("fail_msg").or_else(|| args.get("msg")) {
                Some(m) => templ(ctx, scope, "fail_msg", m)?,
                None => json!("Assertion failed"),
            };
            let mut out = ActionOutput::new(false, true, None);
            out.result.insert("msg".into(), msg);
            out.result.insert("assertion".into(), cond.clone());
            out.result.insert("evaluated_to".into(), json!(false));
            out.verbose_always = !quiet;
            return Ok(out);
        }
    }
    let msg = match args.get("success_msg") {
        Some(m) => templ(ctx, scope, "success_msg", m)?,
        None => json!("All assertions passed"),
    };
    let mut out = ActionOutput::new(false, false, None);
    out.result.insert("msg".into(), msg);
    out.verbose_always = !quiet;
    Ok(out)
}

fn fail(ctx: &Ctx<'_>, scope: &VarScope) -> Outcome {
    let msg = match ctx.job.task.args.get("msg") {
        Some(m) => templ(ctx, scope, "msg", m)?,
        None => json!("Failed as requested from task"),
    };
    let mut out = ActionOutput::new(false, true, None);
    out.result.insert("msg".into(), msg);
    Ok(out)
}

fn meta(ctx: &Ctx<'_>, scope: &VarScope) -> Outcome {
    let args = template_args(ctx, scope, &ctx.job.task.args)?;
    let Some(action) = arg_str(&args, &["_raw_params", "free_form"]) else {
        return Err(bad(format!(
            "{}: meta needs an action ({})",
            ctx.location(),
            META_ACTIONS.join(", ")
        )));
    };
    let action = action.trim().to_string();
    if !META_ACTIONS.contains(&action.as_str()) {
        return Err(bad(format!(
            "{}: invalid meta action '{action}' (valid: {})",
            ctx.location(),
            META_ACTIONS.join(", ")
        )));
    }
    let mut out = ActionOutput::new(false, false, None);
    out.directives.push(Directive::Meta(action));
    Ok(out)
}

/// Variables an include passes to the tasks it includes: the include's `vars` and the loop
/// variables of the item.
fn include_vars_for(ctx: &Ctx<'_>, loop_vars: Option<&VarMap>) -> VarMap {
    let mut v = ctx.job.task.keywords.vars.clone();
    if let Some(lv) = loop_vars {
        v.extend(lv.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    v
}

fn find_first(cands: Vec<PathBuf>) -> Result<PathBuf, Vec<PathBuf>> {
    match cands.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(cands),
    }
}

fn candidates(ctx: &Ctx<'_>, name: &str, role_subdir: &str) -> Vec<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return vec![p.to_path_buf()];
    }
    let mut c = Vec::new();
    if let Some(r) = ctx.role_path() {
        c.push(r.join(role_subdir).join(p));
        c.push(r.join(p));
    }
    if let Some(d) = ctx.task_dir() {
        c.push(d.join(role_subdir).join(p));
        c.push(d.join(p));
    }
    c.push(ctx.job.flags.playbook_dir.join(role_subdir).join(p));
    c.push(ctx.job.flags.playbook_dir.join(p));
    let mut seen = std::collections::HashSet::new();
    c.retain(|x| seen.insert(x.clone()));
    c
}

fn not_found(ctx: &Ctx<'_>, what: &str, name: &str, tried: &[PathBuf]) -> Box<ActionOutput> {
    bad(format!(
        "{}: could not find {what} '{name}' (looked in: {})",
        ctx.location(),
        tried
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn include_tasks(ctx: &Ctx<'_>, scope: &VarScope, loop_vars: Option<&VarMap>) -> Outcome {
    let mut raw = ctx.job.task.args.clone();
    let apply = raw.shift_remove("apply");
    let args = template_args(ctx, scope, &raw)?;
    let Some(name) = arg_str(&args, &["file", "_raw_params"]) else {
        return Err(bad(format!(
            "{}: include_tasks needs a file name",
            ctx.location()
        )));
    };
    let path = find_first(candidates(ctx, name.trim(), "tasks"))
        .map_err(|tried| not_found(ctx, "the task file", &name, &tried))?;
    let mut out = ActionOutput::new(false, false, None);
    out.result
        .insert("include".into(), json!(path.display().to_string()));
    out.result.insert("include_args".into(), json!({}));
    out.directives.push(Directive::IncludeTasks {
        path,
        vars: include_vars_for(ctx, loop_vars),
        apply: apply.as_ref().map(keywords::from_apply).unwrap_or_default(),
        item_label: None,
    });
    Ok(out)
}

fn include_role(ctx: &Ctx<'_>, scope: &VarScope, loop_vars: Option<&VarMap>) -> Outcome {
    let mut raw = ctx.job.task.args.clone();
    let apply = raw.shift_remove("apply");
    let args = template_args(ctx, scope, &raw)?;
    let Some(name) = arg_str(&args, &["name", "role", "_raw_params"]) else {
        return Err(bad(format!(
            "{}: include_role needs 'name'",
            ctx.location()
        )));
    };
    let public = args.get("public").and_then(parse_bool).unwrap_or(false);
    let mut out = ActionOutput::new(false, false, None);
    out.result.insert("include_role".into(), json!(name));
    out.directives.push(Directive::IncludeRole {
        name,
        tasks_from: arg_str(&args, &["tasks_from"]),
        vars_from: arg_str(&args, &["vars_from"]),
        defaults_from: arg_str(&args, &["defaults_from"]),
        handlers_from: arg_str(&args, &["handlers_from"]),
        public,
        vars: include_vars_for(ctx, loop_vars),
        apply: apply.as_ref().map(keywords::from_apply).unwrap_or_default(),
        item_label: None,
    });
    Ok(out)
}

/// Reads a YAML/JSON vars file into a mapping.
pub fn load_vars_file(path: &Path) -> Result<VarMap, String> {
    let node = crate::yaml::load_file(path).map_err(|e| e.to_string())?;
    match node.to_json() {
        Json::Object(m) => Ok(m.into_iter().collect()),
        Json::Null => Ok(VarMap::new()),
        other => Err(format!(
            "{}: a vars file must hold a mapping, not {}",
            path.display(),
            match other {
                Json::Array(_) => "a list",
                _ => "a scalar",
            }
        )),
    }
}

/// The arguments `include_vars` takes, by kind (Ansible refuses a mix of file and dir ones).
const INCLUDE_VARS_DIR_ARGS: &[&str] = &[
    "dir",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];
const INCLUDE_VARS_FILE_ARGS: &[&str] = &["file", "_raw_params"];

/// An `include_vars` failure as Ansible reports it: its text under `message`, jig's located
/// version under `msg`.
fn include_vars_failure(ctx: &Ctx<'_>, message: String, loaded: &[PathBuf]) -> Box<ActionOutput> {
    let mut out = ActionOutput::failed(format!("{}: {message}", ctx.location()));
    out.result.insert("message".into(), json!(message));
    out.result.insert("ansible_facts".into(), json!({}));
    out.result.insert(
        "ansible_included_var_files".into(),
        json!(
            loaded
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        ),
    );
    Box::new(out)
}

/// `include_vars`: a file (found like Ansible's `vars` files: the role's `vars/`, the role, the
/// task's directory, the playbook's) or a directory walked in name order, optionally under
/// `name:`, optionally merged into the existing values (`hash_behaviour: merge`).
fn include_vars(ctx: &Ctx<'_>, scope: &VarScope) -> Outcome {
    let args = template_args(ctx, scope, &ctx.job.task.args)?;
    let mut dir_args = 0;
    let mut file_args = 0;
    for k in args.keys() {
        if INCLUDE_VARS_DIR_ARGS.contains(&k.as_str()) {
            dir_args += 1;
        } else if INCLUDE_VARS_FILE_ARGS.contains(&k.as_str()) {
            file_args += 1;
        } else if !matches!(k.as_str(), "name" | "hash_behaviour" | "free_form") {
            return Err(bad(format!(
                "{}: {k} is not a valid option in include_vars",
                ctx.location()
            )));
        }
    }
    if dir_args > 0 && file_args > 0 {
        return Err(bad(format!(
            "{}: You are mixing file only and dir only arguments, these are incompatible",
            ctx.location()
        )));
    }
    let mut loaded: Vec<PathBuf> = Vec::new();
    let mut data = VarMap::new();
    if let Some(dir) = arg_str(&args, &["dir"]) {
        let base = include_vars_dir(ctx, &dir);
        if !base.exists() {
            let m = format!("{} directory does not exist", base.display());
            return Err(include_vars_failure(ctx, m, &loaded));
        }
        if !base.is_dir() {
            let m = format!("{} is not a directory", base.display());
            return Err(include_vars_failure(ctx, m, &loaded));
        }
        let depth = match args.get("depth") {
            None | Some(Json::Null) => 0,
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| {
                    bad(format!(
                        "{}: depth must be a number, got {v}",
                        ctx.location()
                    ))
                })? as usize,
        };
        let matching = match arg_str(&args, &["files_matching"]).filter(|s| !s.is_empty()) {
            Some(re) => Some(PyRegex::compile(&re, Dollar::Line, false).map_err(|e| {
                bad(format!(
                    "{}: bad files_matching '{re}': {e}",
                    ctx.location()
                ))
            })?),
            None => None,
        };
        let ignore: Vec<String> = match args.get("ignore_files") {
            Some(Json::Array(a)) => a.iter().map(crate::pyfmt::str).collect(),
            Some(Json::String(s)) => s.split_whitespace().map(String::from).collect(),
            None | Some(Json::Null) => Vec::new(),
            Some(other) => {
                return Err(bad(format!(
                    "{}: {} must be a list",
                    ctx.location(),
                    crate::pyfmt::str(other)
                )));
            }
        };
        let ignore: Vec<PyRegex> = ignore
            .iter()
            .map(|p| {
                PyRegex::compile(&format!("{p}$"), Dollar::Line, false).map_err(|_| {
                    bad(format!(
                        "{}: Invalid regular expression: {p}",
                        ctx.location()
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let exts: Vec<String> = match args.get("extensions") {
            Some(Json::Array(a)) => a.iter().map(crate::pyfmt::str).collect(),
            // Ansible turns a string into the list of its characters.
            Some(Json::String(s)) => s.chars().map(String::from).collect(),
            None | Some(Json::Null) => vec!["yaml".into(), "yml".into(), "json".into()],
            Some(_) => {
                return Err(bad(format!(
                    "{}: Invalid type for \"extensions\" option, it must be a list",
                    ctx.location()
                )));
            }
        };
        let skip_unknown = args
            .get("ignore_unknown_extensions")
            .and_then(parse_bool)
            .unwrap_or(false);
        let valid_ext = |name: &str| {
            let ext = Path::new(name)
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default();
            exts.contains(&ext)
        };
        for (root, names) in walk_vars_dir(&base, depth) {
            let mut from_dir = VarMap::new();
            for name in names {
                if matching
                    .as_ref()
                    .is_some_and(|re| !re.is_match(&name).unwrap_or(false))
                {
                    continue;
                }
                if ignore.iter().any(|re| re.is_match(&name).unwrap_or(false)) {
                    continue;
                }
                if skip_unknown && !valid_ext(&name) {
                    continue;
                }
                let path = root.join(&name);
                if !valid_ext(&name) {
                    let m = format!(
                        "{} does not have a valid extension: {}",
                        path.display(),
                        exts.join(", ")
                    );
                    return Err(include_vars_failure(ctx, m, &loaded));
                }
                let m = load_vars_file(&path).map_err(|e| include_vars_failure(ctx, e, &loaded))?;
                loaded.push(path);
                from_dir.extend(m);
            }
            data.extend(from_dir);
        }
    } else {
        let Some(name) = arg_str(&args, &["file", "_raw_params", "free_form"]) else {
            return Err(bad(format!(
                "{}: include_vars needs a file (`file:` or free-form) or a `dir:`",
                ctx.location()
            )));
        };
        let name = name.trim_end_matches('\n');
        let path = find_first(candidates(ctx, name.trim(), "vars")).map_err(|tried| {
            let m = format!(
                "Could not find or access '{name}'\nSearched in:\n\t{} on the Ansible Controller.\n\
                 If you are using a module and expect the file to exist on the remote, see the \
                 remote_src option",
                tried
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join("\n\t")
            );
            include_vars_failure(ctx, m, &loaded)
        })?;
        data = load_vars_file(&path).map_err(|e| include_vars_failure(ctx, e, &loaded))?;
        loaded.push(path);
    }
    let mut facts = match arg_str(&args, &["name"]) {
        Some(n) => {
            let mut v = VarMap::new();
            v.insert(
                n,
                Json::Object(data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            );
            v
        }
        None => data,
    };
    match arg_str(&args, &["hash_behaviour"]).as_deref() {
        None | Some("replace") => {}
        Some("merge") => {
            for (k, v) in facts.iter_mut() {
                if let Some(old) = scope.get(k) {
                    *v = merge_hash(old, v);
                }
            }
        }
        Some(other) => {
            return Err(bad(format!(
                "{}: hash_behaviour must be 'replace' or 'merge', got '{other}'",
                ctx.location()
            )));
        }
    }
    let mut out = ActionOutput::new(false, false, None);
    out.result.insert(
        "ansible_facts".into(),
        Json::Object(facts.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
    );
    out.result.insert(
        "ansible_included_var_files".into(),
        json!(
            loaded
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        ),
    );
    out.facts = facts;
    Ok(out)
}

/// Where `include_vars: dir:` looks: in a role, `ROLE/vars/DIR` (or `ROLE/DIR` when DIR
/// already starts with `vars/` and exists); elsewhere, beside the task's file.
fn include_vars_dir(ctx: &Ctx<'_>, dir: &str) -> PathBuf {
    let as_path = Path::new(dir);
    if as_path.is_absolute() {
        return as_path.to_path_buf();
    }
    if let Some(role) = ctx.role_path() {
        if dir.split('/').next() == Some("vars") && role.join(dir).exists() {
            return role.join(dir);
        }
        return role.join("vars").join(dir);
    }
    match ctx.task_dir() {
        Some(d) => d.join(dir),
        None => ctx.job.flags.playbook_dir.join(dir),
    }
}

/// Ansible's `combine_vars(..., merge=True)`: mappings merge recursively, anything else is
/// replaced by the newer value.
fn merge_hash(old: &Json, new: &Json) -> Json {
    match (old, new) {
        (Json::Object(a), Json::Object(b)) => {
            let mut out = a.clone();
            for (k, v) in b {
                let merged = match out.get(k) {
                    Some(prev) => merge_hash(prev, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Json::Object(out)
        }
        _ => new.clone(),
    }
}

/// The directories under `base` (itself first) with their file names, as `os.walk` sorted by
/// path gives them, down to `depth` levels (0: all).
fn walk_vars_dir(base: &Path, depth: usize) -> Vec<(PathBuf, Vec<String>)> {
    fn walk(dir: &Path, level: usize, depth: usize, out: &mut Vec<(PathBuf, Vec<String>)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut files = Vec::new();
        let mut subdirs = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            // `os.walk(followlinks=True)`: a link to a directory is walked.
            if p.is_dir() {
                subdirs.push(p);
            } else {
                files.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        files.sort();
        if depth == 0 || level <= depth {
            out.push((dir.to_path_buf(), files));
        }
        for d in subdirs {
            walk(&d, level + 1, depth, out);
        }
    }
    let mut out = Vec::new();
    walk(base, 1, depth, &mut out);
    out.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    out
}

async fn ping(ctx: &Ctx<'_>, scope: &VarScope) -> ActionOutput {
    let conn = match super::task::connection_for(ctx, scope) {
        Ok(c) => c,
        Err(m) => return ActionOutput::unreachable(m),
    };
    let cmd = crate::connection::Cmd::new("true");
    match conn
        .exec(&crate::connection::ExecRequest::new(cmd.into_string()))
        .await
    {
        Ok(_) => {
            let mut out = ActionOutput::new(false, false, None);
            out.result.insert("ping".into(), json!("pong"));
            out
        }
        Err(e) => ActionOutput::unreachable(e.to_string()),
    }
}

async fn setup(ctx: &Ctx<'_>, scope: &VarScope) -> ActionOutput {
    // `gather_subset` and `fact_path` come from a setup task's arguments or, for the implicit
    // "Gathering Facts", from the play's `gather_subset`.
    let args = match template_args(ctx, scope, &ctx.job.task.args) {
        Ok(a) => a,
        Err(f) => return *f,
    };
    let options = match super::facts::GatherOptions::from_args(
        args.get("gather_subset"),
        args.get("fact_path"),
    ) {
        Ok(o) => o,
        Err(message) => return ActionOutput::failed(format!("{}: {message}", ctx.location())),
    };
    let conn = match super::task::connection_for(ctx, scope) {
        Ok(c) => c,
        Err(m) => return ActionOutput::unreachable(m),
    };
    match super::facts::gather_with(&conn, None, &options).await {
        Ok(facts) => {
            let mut out = ActionOutput::new(false, false, None);
            out.result.insert(
                "ansible_facts".into(),
                facts.get("ansible_facts").cloned().unwrap_or(json!({})),
            );
            out.gathered = Some(facts);
            out
        }
        Err(e) => ActionOutput::unreachable(e.to_string()),
    }
}

/// What a `pause` task asks for, from its (templated) arguments, as ansible-core's action
/// reads them: `minutes` or `seconds` (each truncated to an integer, a wait below one second
/// made one second), otherwise a prompt.
#[derive(Debug, Clone, PartialEq)]
struct PausePlan {
    /// How long to wait, if a duration was given.
    seconds: Option<u64>,
    /// Whether the duration was given in minutes (the unit of the `stdout` message).
    minutes: bool,
    /// `echo` (default true).
    echo: bool,
}

fn pause_plan(args: &VarMap) -> Result<PausePlan, String> {
    let int = |k: &str| -> Result<Option<i64>, String> {
        match args.get(k) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .or_else(|| {
                    v.as_str().and_then(|s| {
                        let s = s.trim();
                        s.parse::<i64>()
                            .ok()
                            .or_else(|| s.parse::<f64>().ok().map(|f| f as i64))
                    })
                })
                .map(Some)
                .ok_or_else(|| format!("{k} must be an integer, got {v}")),
        }
    };
    let (minutes, seconds) = (int("minutes")?, int("seconds")?);
    if minutes.is_some() && seconds.is_some() {
        return Err("parameters are mutually exclusive: minutes|seconds".into());
    }
    let echo = match args.get("echo") {
        None | Some(Json::Null) => true,
        Some(v) => parse_bool(v).ok_or_else(|| format!("echo must be a boolean, got {v}"))?,
    };
    let seconds = minutes.map(|m| m * 60).or(seconds).map(|s| s.max(1) as u64);
    Ok(PausePlan {
        seconds,
        minutes: minutes.is_some() || seconds.is_none(),
        echo,
    })
}

/// The local time as Python's `str(datetime.now())`.
fn python_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r only writes the tm it is given.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_micros()
    )
}

/// `pause`: waits for its duration. jig runs unattended, so a prompt is never answered: as
/// ansible-core does without an interactive stdin, a pause without a duration warns and
/// goes on with empty `user_input`, and one with a duration just waits.
async fn pause(ctx: &Ctx<'_>, scope: &VarScope) -> ActionOutput {
    let args = match template_args(ctx, scope, &ctx.job.task.args) {
        Ok(a) => a,
        Err(f) => return *f,
    };
    let plan = match pause_plan(&args) {
        Ok(p) => p,
        Err(m) => return ActionOutput::failed(format!("{}: pause: {m}", ctx.location())),
    };
    let start = python_now();
    let began = std::time::Instant::now();
    let mut out = ActionOutput::new(false, false, None);
    match plan.seconds {
        Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
        None => {
            out.result.insert(
                "warnings".into(),
                json!(["Not waiting for response to prompt as stdin is not interactive"]),
            );
        }
    }
    let duration = began.elapsed().as_secs_f64();
    let shown = if plan.minutes {
        duration / 60.0
    } else {
        duration
    };
    let shown = (shown * 100.0).round() / 100.0;
    let unit = if plan.minutes { "minutes" } else { "seconds" };
    for (k, v) in [
        ("rc", json!(0)),
        ("stderr", json!("")),
        ("stdout", json!(format!("Paused for {shown:?} {unit}"))),
        ("start", json!(start)),
        ("stop", json!(python_now())),
        ("delta", json!(duration as u64)),
        ("echo", json!(plan.echo)),
        ("user_input", json!("")),
    ] {
        out.result.insert(k.into(), v);
    }
    out
}

#[cfg(test)]
mod pause_tests {
    use super::*;

    fn args(v: Json) -> VarMap {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    #[test]
    fn pause_reads_its_arguments_like_ansible() {
        let p = pause_plan(&args(json!({"seconds": 1}))).unwrap();
        assert_eq!((p.seconds, p.minutes, p.echo), (Some(1), false, true));
        // Below one second waits one; floats and strings are truncated like int().
        assert_eq!(
            pause_plan(&args(json!({"seconds": 0}))).unwrap().seconds,
            Some(1)
        );
        assert_eq!(
            pause_plan(&args(json!({"seconds": "2.7"})))
                .unwrap()
                .seconds,
            Some(2)
        );
        let p = pause_plan(&args(json!({"minutes": 2, "echo": "no"}))).unwrap();
        assert_eq!((p.seconds, p.minutes, p.echo), (Some(120), true, false));
        // A prompt alone: no wait (nobody answers), minutes as the unit, as ansible-core.
        let p = pause_plan(&args(json!({"prompt": "Continue?"}))).unwrap();
        assert_eq!((p.seconds, p.minutes), (None, true));
        assert!(pause_plan(&args(json!({"minutes": 1, "seconds": 1}))).is_err());
        assert!(pause_plan(&args(json!({"seconds": "soon"}))).is_err());
        assert_eq!(python_now().len(), "2026-01-01 00:00:00.000000".len());
    }
}

//! Role argument validation: the `validate_argument_spec` action, which the role loader inserts
//! as a role's first task ("Validating arguments against arg spec 'main'") when the role's
//! `meta/argument_specs.yml` describes the entry point being run.
//!
//! The checks and their messages are ansible-core 2.19's `ArgumentSpecValidator`, in its order:
//! `aliases`, unsupported parameters (collected), `default`s that are not null, `required`, type
//! conversions (`str`, `int`, `float`, `bool`, `list`, `dict`, `path`, `raw`, `json`/`jsonarg`,
//! with `elements`), `choices`, then the nested `options` of `dict` (and `list` of `dict`)
//! arguments, recursively. As in Ansible, validation only checks: the converted values and the
//! spec's defaults are not written back to the role's variables.

use serde_json::{Map, Value as Json, json};

use super::task::{ActionOutput, Ctx};
use crate::pyfmt;
use crate::template::TemplateError;
use crate::vars::VarScope;

/// What Ansible lists after "Valid booleans include:" (its set's iteration order as printed by
/// ansible-core 2.19 on CPython 3.11).
const VALID_BOOLEANS: &str =
    "0, 't', 1, '0', '1', 'n', 'yes', 'true', 'off', 'no', 'false', 'y', 'on', 'f'";
const BOOLEANS_TRUE: &[&str] = &["y", "yes", "on", "1", "true", "t"];
const BOOLEANS_FALSE: &[&str] = &["n", "no", "off", "0", "false", "f"];

/// The `validate_argument_spec` action: checks the task's `provided_arguments`, plus the
/// variables named in `argument_spec` that the host has, against `argument_spec`.
pub(super) fn run(ctx: &Ctx<'_>, scope: &VarScope) -> ActionOutput {
    let args = &ctx.job.task.args;
    let context = args
        .get("validate_args_context")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let spec = match args.get("argument_spec") {
        Some(Json::Object(m)) => m.clone(),
        Some(other) => {
            return ActionOutput::failed(format!(
                "{}: Incorrect type for argument_spec, expected dict and got {}",
                ctx.location(),
                class_name(other)
            ));
        }
        None => {
            return ActionOutput::failed(format!(
                "{}: \"argument_spec\" arg is required",
                ctx.location()
            ));
        }
    };
    // The spec is data, not a template (its descriptions may hold `{{`); only the values are
    // templated.
    let provided = match args.get("provided_arguments") {
        None | Some(Json::Null) => Map::new(),
        Some(v) => match ctx.job.templar.template_value(v, scope) {
            Ok(Json::Object(m)) => m,
            Ok(other) => {
                return ActionOutput::failed(format!(
                    "{}: Incorrect type for provided_arguments, expected dict and got {}",
                    ctx.location(),
                    class_name(&other)
                ));
            }
            Err(e) => {
                return ActionOutput::failed(ctx.template_failure("the role's parameters", &e));
            }
        },
    };
    let mut params = Map::new();
    for name in spec.keys() {
        let Some(raw) = scope.get(name) else { continue };
        match ctx.job.templar.template_value(raw, scope) {
            Ok(v) => {
                params.insert(name.clone(), v);
            }
            // A variable whose value refers to an undefined one is left to the role's tasks,
            // which report it where it is used.
            Err(TemplateError::Undefined { .. }) => {}
            Err(e) => return ActionOutput::failed(ctx.template_failure(name, &e)),
        }
    }
    params.extend(provided);
    let errors = validate(&spec, &mut params);
    let mut out = ActionOutput::new(false, !errors.is_empty(), None);
    out.result.insert("validate_args_context".into(), context);
    if errors.is_empty() {
        out.result
            .insert("msg".into(), json!("The arg spec validation passed"));
    } else {
        out.result.insert(
            "msg".into(),
            json!(format!(
                "Validation of arguments failed:\n{}",
                errors.join("\n")
            )),
        );
        out.result
            .insert("argument_spec_data".into(), Json::Object(spec));
        out.result.insert("argument_errors".into(), json!(errors));
    }
    out
}

/// Validates `params` against `spec` (the entry point's `options`), converting values in place
/// as Ansible does; returns the error messages, empty when the parameters are valid.
pub fn validate(spec: &Map<String, Json>, params: &mut Map<String, Json>) -> Vec<String> {
    let mut v = Validator::default();
    let aliases = v.aliases(spec, params);
    v.errors.extend(no_log_pass(spec, params));
    v.unsupported_in(spec, params, aliases, &[]);
    set_defaults(spec, params, false);
    v.required(spec, params, &[]);
    v.types(spec, params, &[]);
    v.choices(spec, params, &[]);
    set_defaults(spec, params, true);
    v.sub_specs(spec, params, &mut Vec::new());
    if !v.unsupported.is_empty() {
        let mut names: Vec<String> = v.unsupported.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        // Ansible lists the parameters supported where the last unsupported one was found.
        let supported = names
            .last()
            .and_then(|last| v.unsupported.iter().find(|(n, _)| n == last))
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        v.errors.push(format!(
            "{}. Supported parameters include: {supported}.",
            names.join(", ")
        ));
    }
    v.errors
}

#[derive(Default)]
struct Validator {
    errors: Vec<String>,
    /// Each unsupported parameter (dotted path) with the names supported beside it, as
    /// Ansible lists them (`a, b (alias1, alias2)`).
    unsupported: Vec<(String, String)>,
}

fn spec_of(spec: &Json) -> Option<&Map<String, Json>> {
    spec.as_object()
}

fn flag(spec: &Json, key: &str) -> bool {
    match spec.get(key) {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => BOOLEANS_TRUE.contains(&s.to_lowercase().as_str()),
        Some(Json::Number(n)) => n.as_f64() == Some(1.0),
        _ => false,
    }
}

fn found_in(context: &[String]) -> String {
    context.join(" -> ")
}

/// `_set_defaults`: a missing parameter gets its spec's default; with `all`, a missing one
/// without a default becomes null.
fn set_defaults(spec: &Map<String, Json>, params: &mut Map<String, Json>, all: bool) {
    for (name, s) in spec {
        let default = s.get("default").cloned().unwrap_or(Json::Null);
        if !params.contains_key(name) && (!default.is_null() || all) {
            params.insert(name.clone(), default);
        }
    }
}

impl Validator {
    /// `_handle_aliases`: a value given under an alias is copied to its option (replacing one
    /// given under the option's own name); returns the aliases, which are legal names. A spec
    /// option both `required` and with a `default` is an error, as in Ansible, and then no
    /// alias counts (the error is returned as well as recorded).
    fn aliases(
        &mut self,
        spec: &Map<String, Json>,
        params: &mut Map<String, Json>,
    ) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        for (name, s) in spec {
            if flag(s, "required") && s.get("default").is_some_and(|d| !d.is_null()) {
                let e = format!(
                    "internal error: required and default are mutually exclusive for {name}"
                );
                self.errors.push(e.clone());
                return Err(e);
            }
            let list = match s.get("aliases") {
                None | Some(Json::Null) => continue,
                Some(Json::Array(a)) => a,
                Some(_) => {
                    let e = "internal error: aliases must be a list or tuple".to_string();
                    self.errors.push(e.clone());
                    return Err(e);
                }
            };
            for alias in list {
                let alias = pyfmt::str(alias);
                if let Some(v) = params.get(&alias).cloned() {
                    params.insert(name.clone(), v);
                }
                names.push(alias);
            }
        }
        Ok(names)
    }

    fn unsupported_in(
        &mut self,
        spec: &Map<String, Json>,
        params: &Map<String, Json>,
        aliases: Result<Vec<String>, String>,
        context: &[String],
    ) {
        // When the aliases could not be read, Ansible's search for unsupported names stops
        // with the same error again at the first one it finds, and reports none.
        let aliases = match aliases {
            Ok(a) => a,
            Err(e) => {
                if params.keys().any(|k| !spec.contains_key(k)) {
                    self.errors.push(e);
                }
                return;
            }
        };
        let mut supported: Vec<String> = spec.keys().cloned().collect();
        supported.sort();
        let mut alias_names = aliases.clone();
        alias_names.sort();
        let mut listed = supported.join(", ");
        if !alias_names.is_empty() {
            listed = format!("{listed} ({})", alias_names.join(", "));
        }
        for k in params.keys() {
            if !spec.contains_key(k) && !aliases.contains(k) {
                let mut path = context.to_vec();
                path.push(k.clone());
                self.unsupported.push((path.join("."), listed.clone()));
            }
        }
    }

    fn required(&mut self, spec: &Map<String, Json>, params: &Map<String, Json>, ctx: &[String]) {
        let mut missing: Vec<&str> = spec
            .iter()
            .filter(|(k, s)| flag(s, "required") && !params.contains_key(*k))
            .map(|(k, _)| k.as_str())
            .collect();
        if missing.is_empty() {
            return;
        }
        missing.sort();
        let mut msg = format!("missing required arguments: {}", missing.join(", "));
        if !ctx.is_empty() {
            msg = format!("{msg} found in {}", found_in(ctx));
        }
        self.errors.push(msg);
    }

    fn types(&mut self, spec: &Map<String, Json>, params: &mut Map<String, Json>, ctx: &[String]) {
        for (name, s) in spec {
            let Some(value) = params.get(name).cloned() else {
                continue;
            };
            let default_null = s.get("default").is_none_or(Json::is_null);
            if value.is_null() && !flag(s, "required") && default_null {
                continue;
            }
            let wanted = type_name(s.get("type"));
            match convert(&wanted, &value) {
                Ok(converted) => {
                    params.insert(name.clone(), converted.clone());
                    if let Some(elements) = s.get("elements") {
                        let element_type = type_name(Some(elements));
                        match converted {
                            Json::Array(items) => {
                                let checked = self.elements(&element_type, name, &items, ctx);
                                params.insert(name.clone(), Json::Array(checked));
                            }
                            other => {
                                let mut msg = format!(
                                    "Invalid type {wanted} for option '{}'",
                                    pyfmt::str(&other)
                                );
                                if !ctx.is_empty() {
                                    msg.push_str(&format!(" found in '{}'.", found_in(ctx)));
                                }
                                msg.push_str(
                                    ", elements value check is supported only with 'list' type",
                                );
                                self.errors.push(msg);
                            }
                        }
                    }
                }
                Err(e) => {
                    let mut msg = format!("argument '{name}' is of type {}", type_of(&value));
                    if !ctx.is_empty() {
                        msg.push_str(&format!(" found in '{}'.", found_in(ctx)));
                    }
                    msg.push_str(&format!(" and we were unable to convert to {wanted}: {e}"));
                    self.errors.push(msg);
                }
            }
        }
    }

    fn elements(&mut self, wanted: &str, name: &str, items: &[Json], ctx: &[String]) -> Vec<Json> {
        let mut out = Vec::new();
        for item in items {
            match convert(wanted, item) {
                Ok(v) => out.push(v),
                Err(e) => {
                    let mut msg = format!("Elements value for option '{name}'");
                    if !ctx.is_empty() {
                        msg.push_str(&format!(" found in '{}'", found_in(ctx)));
                    }
                    msg.push_str(&format!(
                        " is of type {} and we were unable to convert to {wanted}: {e}",
                        type_of(item)
                    ));
                    self.errors.push(msg);
                }
            }
        }
        out
    }

    fn choices(
        &mut self,
        spec: &Map<String, Json>,
        params: &mut Map<String, Json>,
        ctx: &[String],
    ) {
        let suffix = |msg: String| {
            if ctx.is_empty() {
                msg
            } else {
                format!("{msg} found in {}", found_in(ctx))
            }
        };
        for (name, s) in spec {
            let Some(choices) = s.get("choices") else {
                continue;
            };
            if choices.is_null() {
                continue;
            }
            let Json::Array(choices) = choices else {
                self.errors.push(suffix(format!(
                    "internal error: choices for argument {name} are not iterable: {}",
                    pyfmt::str(choices)
                )));
                continue;
            };
            let Some(value) = params.get(name).cloned() else {
                continue;
            };
            let listed = || {
                choices
                    .iter()
                    .map(pyfmt::str)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let is_choice = |v: &Json| choices.iter().any(|c| py_eq(c, v));
            if let Json::Array(items) = &value {
                let missing: Vec<String> = items
                    .iter()
                    .filter(|i| !is_choice(i))
                    .map(pyfmt::str)
                    .collect();
                if !missing.is_empty() {
                    self.errors.push(suffix(format!(
                        "value of {name} must be one or more of: {}. Got no match for: {}",
                        listed(),
                        missing.join(", ")
                    )));
                }
                continue;
            }
            if is_choice(&value) {
                continue;
            }
            // YAML may have turned `no` into False and the conversion to str into 'False':
            // Ansible maps it back when exactly one boolean spelling is among the choices.
            let mut value = value;
            for (spelled, set) in [("False", BOOLEANS_FALSE), ("True", BOOLEANS_TRUE)] {
                if value.as_str() == Some(spelled) {
                    let overlap: Vec<&Json> = choices
                        .iter()
                        .filter(|c| c.as_str().is_some_and(|c| set.contains(&c)))
                        .collect();
                    if let [only] = overlap[..] {
                        value = only.clone();
                        params.insert(name.clone(), value.clone());
                    }
                }
            }
            if !is_choice(&value) {
                self.errors.push(suffix(format!(
                    "value of {name} must be one of: {}, got: {}",
                    listed(),
                    pyfmt::str(&value)
                )));
            }
        }
    }

    fn sub_specs(
        &mut self,
        spec: &Map<String, Json>,
        params: &mut Map<String, Json>,
        ctx: &mut Vec<String>,
    ) {
        for (name, s) in spec {
            let wanted = type_name(s.get("type"));
            let is_list_of_dicts =
                wanted == "list" && s.get("elements").and_then(Json::as_str) == Some("dict");
            if wanted != "dict" && !is_list_of_dicts {
                continue;
            }
            let Some(sub) = s.get("options").and_then(spec_of) else {
                continue;
            };
            if flag(s, "apply_defaults") {
                if params.get(name).is_none_or(Json::is_null) {
                    params.insert(name.clone(), json!({}));
                }
            } else if params.get(name).is_none_or(Json::is_null) {
                continue;
            }
            ctx.push(name.clone());
            let Some(value) = params.get_mut(name) else {
                ctx.pop();
                continue;
            };
            let mut single;
            let elements: &mut [Json] = match value {
                Json::Array(items) => items.as_mut_slice(),
                other => {
                    single = [other.clone()];
                    &mut single
                }
            };
            let mut converted = Vec::new();
            for item in elements.iter_mut() {
                let Json::Object(sub_params) = item else {
                    self.errors.push(format!(
                        "value of '{name}' must be of type dict or list of dicts"
                    ));
                    converted.push(item.clone());
                    continue;
                };
                let aliases = self.aliases(sub, sub_params);
                self.errors.extend(no_log_pass(sub, sub_params));
                self.unsupported_in(sub, sub_params, aliases, ctx);
                set_defaults(sub, sub_params, false);
                self.required(sub, sub_params, ctx);
                self.types(sub, sub_params, ctx);
                self.choices(sub, sub_params, ctx);
                set_defaults(sub, sub_params, true);
                self.sub_specs(sub, sub_params, ctx);
                converted.push(item.clone());
            }
            if let Some(v) = params.get_mut(name) {
                match v {
                    Json::Array(items) => *items = converted,
                    other => {
                        if let Some(first) = converted.into_iter().next() {
                            *other = first;
                        }
                    }
                }
            }
            ctx.pop();
        }
    }
}

/// Ansible's search for `no_log` values walks the nested options first and stops at the first
/// value that is not a mapping there, which becomes one more error (reported before the others).
fn no_log_pass(spec: &Map<String, Json>, params: &Map<String, Json>) -> Option<String> {
    for (name, s) in spec {
        let Some(sub) = s.get("options").and_then(spec_of) else {
            continue;
        };
        let wanted = type_name(s.get("type"));
        let list_of_dicts =
            wanted == "list" && s.get("elements").and_then(Json::as_str) == Some("dict");
        if wanted != "dict" && !list_of_dicts {
            continue;
        }
        let values: Vec<Json> = match params.get(name) {
            None | Some(Json::Null) => continue,
            Some(Json::Array(items)) => items.clone(),
            Some(other) => vec![other.clone()],
        };
        for value in values {
            let value = match &value {
                Json::String(_) => match to_dict(&value) {
                    Ok(d) => d,
                    Err(e) => return Some(e),
                },
                other => other.clone(),
            };
            let Json::Object(sub_params) = &value else {
                return Some(format!(
                    "Value '{}' in the sub parameter field '{name}' must be a {wanted}, not '{}'",
                    pyfmt::str(&value),
                    type_of(&value)
                ));
            };
            if let Some(e) = no_log_pass(sub, sub_params) {
                return Some(e);
            }
        }
    }
    None
}

/// The type a spec asks for (`str` when it says nothing).
fn type_name(t: Option<&Json>) -> String {
    match t {
        None | Some(Json::Null) => "str".into(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => pyfmt::str(other),
    }
}

/// Python's type name of the value (`native_type_name`).
fn type_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

fn class_name(v: &Json) -> String {
    format!("<class '{}'>", type_of(v))
}

/// Python's `==` between two values as Ansible compares choices (1 == 1.0 == True).
fn py_eq(a: &Json, b: &Json) -> bool {
    fn num(v: &Json) -> Option<f64> {
        match v {
            Json::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// One of Ansible's `check_type_*` conversions.
fn convert(wanted: &str, v: &Json) -> Result<Json, String> {
    match wanted {
        "str" => Ok(to_str(v)),
        "path" => {
            let s = to_str(v);
            Ok(match s.as_str().and_then(expand_user) {
                Some(expanded) => json!(expanded),
                None => s,
            })
        }
        "raw" => Ok(v.clone()),
        "int" => to_int(v),
        "float" => to_float(v),
        "bool" => to_bool(v),
        "list" => match v {
            Json::Array(_) => Ok(v.clone()),
            Json::String(s) => Ok(json!(s.split(',').collect::<Vec<_>>())),
            Json::Number(_) | Json::Bool(_) => Ok(json!([pyfmt::str(v)])),
            other => Err(format!(
                "{} cannot be converted to a list",
                class_name(other)
            )),
        },
        "dict" => to_dict(v),
        "json" | "jsonarg" => match v {
            Json::String(s) => Ok(json!(s.trim())),
            Json::Array(_) | Json::Object(_) => Ok(json!(v.to_string())),
            other => Err(format!(
                "{} cannot be converted to a json string",
                class_name(other)
            )),
        },
        _ => Err("'NoneType' object is not callable".into()),
    }
}

fn to_str(v: &Json) -> Json {
    match v {
        Json::String(_) => v.clone(),
        Json::Null => json!(""),
        other => json!(pyfmt::str(other)),
    }
}

fn expand_user(s: &str) -> Option<String> {
    let rest = s.strip_prefix('~')?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let home = std::env::var("HOME").ok()?;
    Some(format!("{home}{rest}"))
}

fn to_int(v: &Json) -> Result<Json, String> {
    let fail = || {
        Err(format!(
            "\"{}\" cannot be converted to an int",
            pyfmt::repr(v)
        ))
    };
    match v {
        Json::Bool(_) => Ok(v.clone()),
        Json::Number(n) if !n.is_f64() => Ok(v.clone()),
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(json!(f as i64)),
            _ => fail(),
        },
        Json::String(s) => {
            // Python's Decimal(): surrounding whitespace, a sign, `_` between digits,
            // exponents; a value with a fractional part is refused.
            let t = s.trim().replace('_', "");
            if let Ok(i) = t.parse::<i64>() {
                return Ok(json!(i));
            }
            let looks_numeric = t
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
            match t.parse::<f64>() {
                Ok(f) if looks_numeric && f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => {
                    Ok(json!(f as i64))
                }
                _ => fail(),
            }
        }
        _ => fail(),
    }
}

fn to_float(v: &Json) -> Result<Json, String> {
    let fail = || Err(format!("{} cannot be converted to a float", class_name(v)));
    match v {
        Json::Number(n) => Ok(json!(n.as_f64().unwrap_or(0.0))),
        Json::Bool(b) => Ok(json!(if *b { 1.0 } else { 0.0 })),
        Json::String(s) => {
            let t = s.trim().replace('_', "");
            let lower = t.to_ascii_lowercase();
            let word = lower.trim_start_matches(['+', '-']);
            let numeric = t
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
            if !(numeric || matches!(word, "inf" | "infinity" | "nan")) {
                return fail();
            }
            match t.parse::<f64>() {
                // JSON holds no infinities; they stay the text they were, as valid floats.
                Ok(f) if f.is_finite() => Ok(json!(f)),
                Ok(_) => Ok(v.clone()),
                Err(_) => fail(),
            }
        }
        _ => fail(),
    }
}

fn to_bool(v: &Json) -> Result<Json, String> {
    let normalized = match v {
        Json::Bool(_) => return Ok(v.clone()),
        Json::String(s) => s.trim().to_lowercase(),
        Json::Number(n) => match n.as_f64() {
            Some(1.0) => "1".into(),
            Some(0.0) => "0".into(),
            _ => String::new(),
        },
        other => {
            return Err(format!(
                "{} cannot be converted to a bool",
                class_name(other)
            ));
        }
    };
    if BOOLEANS_TRUE.contains(&normalized.as_str()) {
        Ok(json!(true))
    } else if BOOLEANS_FALSE.contains(&normalized.as_str()) {
        Ok(json!(false))
    } else {
        Err(format!(
            "The value '{}' is not a valid boolean. Valid booleans include: {VALID_BOOLEANS}",
            pyfmt::str(v)
        ))
    }
}

fn to_dict(v: &Json) -> Result<Json, String> {
    let s = match v {
        Json::Object(_) => return Ok(v.clone()),
        Json::String(s) => s,
        other => {
            return Err(format!(
                "{} cannot be converted to a dict",
                class_name(other)
            ));
        }
    };
    if s.starts_with('{') {
        return match serde_json::from_str::<Json>(s) {
            Ok(d @ Json::Object(_)) => Ok(d),
            _ => Err("unable to evaluate string as dictionary".into()),
        };
    }
    if !s.contains('=') {
        return Err("dictionary requested, could not parse JSON or key=value".into());
    }
    // `k1=v1, k2=v2` or `k1=v1 k2=v2`, with quotes and backslash escapes.
    let mut fields: Vec<String> = Vec::new();
    let mut buf = String::new();
    let mut quote: Option<char> = None;
    let mut escape = false;
    for c in s.trim().chars() {
        if escape {
            buf.push(c);
            escape = false;
        } else if c == '\\' {
            escape = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !buf.is_empty() {
                fields.push(std::mem::take(&mut buf));
            }
        } else {
            buf.push(c);
        }
    }
    if !buf.is_empty() {
        fields.push(buf);
    }
    let mut out = Map::new();
    for f in fields {
        let Some((k, v)) = f.split_once('=') else {
            return Err(
                "unable to evaluate string in the \"key=value\" format as dictionary".into(),
            );
        };
        out.insert(k.to_string(), json!(v));
    }
    Ok(Json::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Map<String, Json> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spec.yml");
        std::fs::write(&path, yaml).unwrap();
        let node = crate::yaml::load_file(&path).unwrap();
        match node.to_json() {
            Json::Object(m) => m,
            _ => panic!("spec must be a mapping"),
        }
    }

    fn params(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => panic!("params must be a mapping"),
        }
    }

    /// A spec and parameters run through ansible-core 2.19, with its error list verbatim
    /// (except `<class 'str'>`, which 2.19 spells as its internal tagged-string class).
    #[test]
    fn errors_match_ansible_core_2_19() {
        let s = spec(
            "s: {type: str, required: true}\ni: {type: int}\nf: {type: float}\nb: {type: bool}\n\
             l: {type: list, elements: int}\nd:\n  type: dict\n  options:\n    x: {type: str, required: true}\n    y: {type: int, default: 5}\n\
             p: {type: path}\nc: {type: str, choices: [a, b]}\ndflt: {type: str, default: from_spec}\nr: {type: raw}\n",
        );
        let mut p = params(json!({
            "i": "forty", "f": "x", "b": "maybe", "l": ["a"], "d": {"y": 2, "z": 1},
            "c": "q", "extra": 1
        }));
        let errors = validate(&s, &mut p);
        assert_eq!(
            errors,
            vec![
                "missing required arguments: s",
                "argument 'i' is of type str and we were unable to convert to int: \"'forty'\" cannot be converted to an int",
                "argument 'f' is of type str and we were unable to convert to float: <class 'str'> cannot be converted to a float",
                "argument 'b' is of type str and we were unable to convert to bool: The value 'maybe' is not a valid boolean. Valid booleans include: 0, 't', 1, '0', '1', 'n', 'yes', 'true', 'off', 'no', 'false', 'y', 'on', 'f'",
                "Elements value for option 'l' is of type str and we were unable to convert to int: \"'a'\" cannot be converted to an int",
                "value of c must be one of: a, b, got: q",
                "missing required arguments: x found in d",
                "d.z, extra. Supported parameters include: b, c, d, dflt, f, i, l, p, r, s.",
            ]
        );
    }

    #[test]
    fn conversions_accept_what_ansible_accepts() {
        let s = spec(
            "s: {type: str, required: true}\ni: {type: int}\nf: {type: float}\nb: {type: bool}\n\
             l: {type: list, elements: int}\nd:\n  type: dict\n  options:\n    x: {type: str, required: true}\n    y: {type: int, default: 5}\n\
             c: {choices: [a, b]}\nk: {type: dict}\nn: {type: list}\nwith_default: {default: 1}\n",
        );
        let mut p = params(json!({
            "s": 1, "i": " 42 ", "f": "1.5", "b": "Yes", "l": ["1", 2, "3.0"],
            "d": {"x": 3}, "c": "a", "k": "a=1, b='x y'", "n": "p,q"
        }));
        assert_eq!(validate(&s, &mut p), Vec::<String>::new());
        assert_eq!(p["s"], json!("1"));
        assert_eq!(p["i"], json!(42));
        assert_eq!(p["f"], json!(1.5));
        assert_eq!(p["b"], json!(true));
        assert_eq!(p["l"], json!([1, 2, 3]));
        assert_eq!(p["d"], json!({"x": "3", "y": 5}));
        assert_eq!(p["k"], json!({"a": "1", "b": "x y"}));
        assert_eq!(p["n"], json!(["p", "q"]));
        assert_eq!(p["with_default"], json!("1"));
    }

    /// Recorded from ansible-core 2.19 the same way (`<class 'list'>` likewise).
    #[test]
    fn nested_lists_of_dicts_and_bad_shapes() {
        let s = spec(
            "users:\n  type: list\n  elements: dict\n  options:\n    name: {required: true}\n    \
             shell: {choices: [bash, zsh]}\n    uid: {type: int}\nmode: {type: dict, options: {a: {type: bool}}}\n\
             flag: {type: bool}\nnum: {type: int}\n",
        );
        let mut p = params(json!({
            "users": [{"name": "a", "shell": "fish"}, {"uid": 1.5}, "oops"],
            "mode": "text",
            "flag": [1],
            "num": 2.5,
        }));
        assert_eq!(
            validate(&s, &mut p),
            vec![
                "dictionary requested, could not parse JSON or key=value",
                "Elements value for option 'users' is of type str and we were unable to convert to dict: dictionary requested, could not parse JSON or key=value",
                "argument 'mode' is of type str and we were unable to convert to dict: dictionary requested, could not parse JSON or key=value",
                "argument 'flag' is of type list and we were unable to convert to bool: <class 'list'> cannot be converted to a bool",
                "argument 'num' is of type float and we were unable to convert to int: \"2.5\" cannot be converted to an int",
                "value of shell must be one of: bash, zsh, got: fish found in users",
                "missing required arguments: name found in users",
                "argument 'uid' is of type float found in 'users'. and we were unable to convert to int: \"1.5\" cannot be converted to an int",
                "value of 'mode' must be of type dict or list of dicts",
            ]
        );
    }

    /// Recorded from ansible-core 2.19 (role r3 of the session's notes: aliases at two levels).
    #[test]
    fn aliases_are_legal_names_and_fill_their_option() {
        let s = spec(
            "name: {type: str, required: true, aliases: [n, nm]}\ncount: {type: int, aliases: [cnt]}\n\
             opts:\n  type: dict\n  options:\n    path: {type: str, aliases: [dest]}\n",
        );
        let mut p =
            params(json!({"n": "x", "cnt": "z", "opts": {"dest": "/a", "bogus": 1}, "other": 1}));
        assert_eq!(
            validate(&s, &mut p),
            vec![
                "argument 'count' is of type str and we were unable to convert to int: \"'z'\" cannot be converted to an int",
                // Ansible names the options beside whichever unsupported name its set yields
                // last; jig takes the last in sorted order.
                "opts.bogus, other. Supported parameters include: count, name, opts (cnt, n, nm).",
            ]
        );
        assert_eq!(p["name"], json!("x"));
        assert_eq!(p["opts"]["path"], json!("/a"));
        let s = spec("a: {required: true, default: 1}\nb: {aliases: [bb]}\n");
        let mut p = params(json!({"a": 2, "bb": 3}));
        assert_eq!(
            validate(&s, &mut p),
            vec![
                "internal error: required and default are mutually exclusive for a",
                "internal error: required and default are mutually exclusive for a",
            ]
        );
    }

    #[test]
    fn yaml_booleans_map_back_to_a_single_spelling_among_choices() {
        let s = spec("state: {type: str, choices: ['yes', 'maybe']}\n");
        let mut p = params(json!({"state": true}));
        assert_eq!(validate(&s, &mut p), Vec::<String>::new());
        assert_eq!(p["state"], json!("yes"));
    }
}

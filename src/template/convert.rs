//! Conversions between minijinja values, JSON and Python's text forms: template values to
//! `serde_json::Value` (for native results and filters), Python `repr`/`str` (what Ansible
//! prints for lists, dicts, `True`, `None` inside text), and Ansible truthiness.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, Output, State};
use serde_json::Value as Json;

use super::is_template;

/// True if a string anywhere inside `v` (keys included) holds template syntax.
pub(crate) fn json_has_template(v: &Json) -> bool {
    match v {
        Json::String(s) => is_template(s),
        Json::Array(a) => a.iter().any(json_has_template),
        Json::Object(m) => m
            .iter()
            .any(|(k, v)| is_template(k) || json_has_template(v)),
        _ => false,
    }
}

fn undefined_error() -> Error {
    Error::new(ErrorKind::UndefinedError, "value is undefined")
}

/// Converts a template value to JSON. Undefined values are an error; map keys become strings
/// as Python's `str()` would print them.
pub(crate) fn value_to_json(v: &Value) -> Result<Json, Error> {
    Ok(match v.kind() {
        ValueKind::Undefined => return Err(undefined_error()),
        ValueKind::None => Json::Null,
        ValueKind::Bool => Json::Bool(v.is_true()),
        ValueKind::Number => number_to_json(v),
        ValueKind::String => Json::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => {
            Json::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into())
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let mut out = Vec::new();
            for item in v.try_iter()? {
                out.push(value_to_json(&item)?);
            }
            Json::Array(out)
        }
        ValueKind::Map => {
            let mut out = serde_json::Map::new();
            for key in v.try_iter()? {
                let item = v.get_item(&key)?;
                let k = match key.as_str() {
                    Some(s) => s.to_string(),
                    None => py_str(&key),
                };
                out.insert(k, value_to_json(&item)?);
            }
            Json::Object(out)
        }
        // Namespaces, macros, callables: only their text can be kept.
        _ => Json::String(v.to_string()),
    })
}

fn number_to_json(v: &Value) -> Json {
    if !v.is_integer() {
        return match f64::try_from(v.clone()) {
            Ok(f) => serde_json::Number::from_f64(f)
                .map(Json::Number)
                .unwrap_or_else(|| Json::String(py_float(f))),
            Err(_) => Json::String(v.to_string()),
        };
    }
    if let Ok(i) = i64::try_from(v.clone()) {
        return Json::from(i);
    }
    if let Ok(u) = u64::try_from(v.clone()) {
        return Json::from(u);
    }
    match f64::try_from(v.clone()) {
        Ok(f) if v.is_integer() => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Ok(f) => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(py_float(f))),
        Err(_) => Json::String(v.to_string()),
    }
}

/// Python's `repr()` of a float.
pub(crate) fn py_float(f: f64) -> String {
    crate::pyfmt::float_repr(f)
}

/// Python's `repr()` of a string.
pub(crate) fn py_str_repr(s: &str) -> String {
    crate::pyfmt::str_repr(s)
}

/// Python's `repr()` of a value, as Jinja prints items inside lists and dicts.
pub(crate) fn py_repr(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => py_str_repr(v.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = match v.try_iter() {
                Ok(it) => it.map(|x| py_repr(&x)).collect(),
                Err(_) => Vec::new(),
            };
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let mut parts = Vec::new();
            if let Ok(keys) = v.try_iter() {
                for k in keys {
                    let item = v.get_item(&k).unwrap_or(Value::UNDEFINED);
                    parts.push(format!("{}: {}", py_repr(&k), py_repr(&item)));
                }
            }
            format!("{{{}}}", parts.join(", "))
        }
        _ => py_str(v),
    }
}

/// Python's `str()` of a value: what `{{ x }}` prints inside text.
pub(crate) fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number if !v.is_integer() => match f64::try_from(v.clone()) {
            Ok(f) => py_float(f),
            Err(_) => v.to_string(),
        },
        ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => py_repr(v),
        _ => v.to_string(),
    }
}

/// The output formatter: Python's `str()` of the value, except that `none` prints as nothing
/// (as Ansible 2.19 does when concatenating) and undefined values are an error.
pub(crate) fn formatter(out: &mut Output, state: &mut State, v: &Value) -> Result<(), Error> {
    if v.is_undefined() || holds_undefined(v, 0) {
        return Err(undefined_error());
    }
    if let Some(ctx) = state.lookup(super::scope::RESOLVER_KEY)
        && let Some(obj) = ctx.downcast_object_ref::<super::scope::ScopeObj>()
    {
        obj.record_emit(v);
    }
    out.write_str(&formatted(v)).map_err(Error::from)
}

/// Whether a list or mapping built in the template holds an undefined value
/// (`{{ {'rc': r.rc} }}` with no `r.rc`), which Ansible reports instead of printing a hole.
/// The variable-scope objects are not walked: printing them is not a value being built.
fn holds_undefined(v: &Value, depth: usize) -> bool {
    if depth > 32 || super::scope::is_scope_object(v) {
        return false;
    }
    match v.kind() {
        ValueKind::Seq => v
            .try_iter()
            .map(|mut it| it.any(|x| x.is_undefined() || holds_undefined(&x, depth + 1)))
            .unwrap_or(false),
        ValueKind::Map => v
            .try_iter()
            .map(|mut keys| {
                keys.any(|k| {
                    let item = v.get_item(&k).unwrap_or(Value::UNDEFINED);
                    item.is_undefined() || holds_undefined(&item, depth + 1)
                })
            })
            .unwrap_or(false),
        _ => false,
    }
}

/// The text `{{ v }}` writes.
pub(crate) fn formatted(v: &Value) -> String {
    match v.kind() {
        ValueKind::None => String::new(),
        _ => py_str(v),
    }
}

/// Jinja truthiness of a value (empty strings, lists, maps, zero, none and false are false).
pub(crate) fn truthy(v: &Value) -> bool {
    v.is_true()
}

/// The text of a value as Ansible filters see their input (`to_text`).
pub(crate) fn to_text(v: &Value) -> String {
    py_str(v)
}

/// Converts any serializable value (JSON included) into a template value.
pub(crate) fn ser<T: serde::Serialize>(v: T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// Doubles the backslashes inside string literals of an expression, so that Jinja's own
/// escape processing leaves them as they were: task strings come from YAML, which already
/// processed escapes (Ansible's `escape_backslashes`).
pub(crate) fn escape_expr_strings(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len() + 8);
    let mut quote: Option<char> = None;
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
            Some(q) => {
                if c == '\\' {
                    out.push_str("\\\\");
                    // An escaped quote does not end the string.
                    if chars.peek() == Some(&q) {
                        out.push(q);
                        chars.next();
                    }
                } else {
                    if c == q {
                        quote = None;
                    }
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Applies [`escape_expr_strings`] to every `{{ ... }}` of a template (not to `{% %}`).
pub(crate) fn escape_backslashes(src: &str) -> std::borrow::Cow<'_, str> {
    if !src.contains('\\') {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len() + 8);
    let mut rest = src;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start + 2]);
        let body = &rest[start + 2..];
        // Find the closing `}}` outside string literals.
        let mut quote: Option<char> = None;
        let mut end = None;
        let mut prev_backslash = false;
        for (i, c) in body.char_indices() {
            match quote {
                Some(q) => {
                    if c == q && !prev_backslash {
                        quote = None;
                    }
                    prev_backslash = c == '\\' && !prev_backslash;
                }
                None => {
                    if c == '\'' || c == '"' {
                        quote = Some(c);
                    } else if body[i..].starts_with("}}") {
                        end = Some(i);
                        break;
                    }
                }
            }
        }
        match end {
            Some(e) => {
                out.push_str(&escape_expr_strings(&body[..e]));
                rest = &body[e..];
            }
            None => {
                out.push_str(body);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

//! Data filters: JSON in and out with Python's `json.dumps` formatting, `from_yaml`,
//! `combine`, `dict2items`/`items2dict`, `flatten`, set operations, `product`,
//! `subelements`, `extract`, `b64encode`/`b64decode`.

use base64::Engine;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};
use serde_json::Value as Json;

use super::{fail, items_of, pairs_of};
use crate::template::convert::{py_float, to_text, value_to_json};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict(env, "to_json", to_json);
    super::strict(env, "to_nice_json", to_nice_json);
    super::strict(env, "from_json", from_json);
    super::strict(env, "from_yaml", from_yaml);
    super::strict(env, "from_yaml_all", from_yaml_all);
    super::strict(env, "combine", combine);
    super::strict(env, "dict2items", dict2items);
    super::strict(env, "items2dict", items2dict);
    super::strict(env, "flatten", flatten);
    super::strict(env, "unique", unique);
    super::strict(env, "union", union);
    super::strict(env, "intersect", intersect);
    super::strict(env, "difference", difference);
    super::strict(env, "symmetric_difference", symmetric_difference);
    super::strict(env, "product", product);
    super::strict(env, "zip_longest", zip_longest);
    super::strict(env, "subelements", subelements);
    super::strict(env, "extract", extract);
    super::strict(env, "b64encode", b64encode);
    super::strict(env, "b64decode", b64decode);
}

/// Writes `s` as a JSON string the way Python's `json.dumps` does (`ensure_ascii`).
fn json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Options of Python's `json.dumps` that Ansible's filters use.
pub(crate) struct DumpOpts {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    pub item_sep: String,
    pub key_sep: String,
    pub ensure_ascii: bool,
}

/// Python's `json.dumps` of a JSON value.
pub(crate) fn py_json_dumps(v: &Json, o: &DumpOpts) -> String {
    let mut out = String::new();
    dump(&mut out, v, o, 0);
    out
}

fn dump(out: &mut String, v: &Json, o: &DumpOpts, level: usize) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                if f.is_nan() {
                    out.push_str("NaN");
                } else if f.is_infinite() {
                    out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
                } else {
                    out.push_str(&py_float(f));
                }
            } else {
                out.push_str(&n.to_string());
            }
        }
        Json::String(s) => json_str(out, s, o.ensure_ascii),
        Json::Array(a) => {
            if a.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(&o.item_sep);
                }
                newline(out, o, level + 1);
                dump(out, item, o, level + 1);
            }
            newline(out, o, level);
            out.push(']');
        }
        Json::Object(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &Json)> = m.iter().collect();
            if o.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(&o.item_sep);
                }
                newline(out, o, level + 1);
                json_str(out, k, o.ensure_ascii);
                out.push_str(&o.key_sep);
                dump(out, item, o, level + 1);
            }
            newline(out, o, level);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, o: &DumpOpts, level: usize) {
    if let Some(ind) = o.indent {
        out.push('\n');
        out.push_str(&" ".repeat(ind * level));
    }
}

fn dump_opts(
    kw: &Kwargs,
    indent: Option<usize>,
    sort_keys: bool,
    nice: bool,
) -> Result<DumpOpts, Error> {
    let indent = match kw.get::<Option<Value>>("indent")? {
        Some(v) if v.is_none() => None,
        Some(v) => Some(usize::try_from(v).map_err(|_| fail("indent must be a number"))?),
        None => indent,
    };
    let sort_keys = kw.get::<Option<bool>>("sort_keys")?.unwrap_or(sort_keys);
    let ensure_ascii = kw.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true);
    let item_sep = if nice || indent.is_some() { "," } else { ", " };
    let (item_sep, key_sep) = match kw.get::<Option<Vec<String>>>("separators")? {
        Some(seps) if seps.len() == 2 && !nice => (seps[0].clone(), seps[1].clone()),
        _ => (item_sep.to_string(), ": ".to_string()),
    };
    // Accepted for compatibility and meaningless here.
    for k in [
        "profile",
        "vault_to_text",
        "preprocess_unsafe",
        "skipkeys",
        "allow_nan",
        "check_circular",
    ] {
        let _ = kw.get::<Option<Value>>(k)?;
    }
    kw.assert_all_used()?;
    Ok(DumpOpts {
        indent,
        sort_keys,
        item_sep,
        key_sep,
        ensure_ascii,
    })
}

fn to_json(v: Value, kw: Kwargs) -> Result<String, Error> {
    let o = dump_opts(&kw, None, false, false)?;
    Ok(py_json_dumps(&value_to_json(&v)?, &o))
}

fn to_nice_json(v: Value, indent: Option<usize>, kw: Kwargs) -> Result<String, Error> {
    let o = dump_opts(&kw, Some(indent.unwrap_or(4)), true, true)?;
    Ok(py_json_dumps(&value_to_json(&v)?, &o))
}

fn from_json(v: Value, _kw: Kwargs) -> Result<Value, Error> {
    let text = to_text(&v);
    let j: Json =
        serde_json::from_str(&text).map_err(|e| fail(format!("from_json: invalid JSON: {e}")))?;
    Ok(crate::template::convert::ser(&j))
}

fn from_yaml(v: Value) -> Result<Value, Error> {
    if v.is_none() {
        return Ok(v);
    }
    if v.as_str().is_none() {
        // Ansible passes non-strings through unchanged.
        return Ok(v);
    }
    let text = to_text(&v);
    let node = crate::yaml::parse_str(&text, None)
        .map_err(|e| fail(format!("from_yaml: invalid YAML: {e}")))?;
    Ok(crate::template::convert::ser(node.to_json()))
}

fn from_yaml_all(v: Value) -> Result<Value, Error> {
    let text = to_text(&v);
    let mut docs = Vec::new();
    for doc in split_documents(&text) {
        if doc.trim().is_empty() {
            continue;
        }
        let node = crate::yaml::parse_str(doc, None)
            .map_err(|e| fail(format!("from_yaml_all: invalid YAML: {e}")))?;
        docs.push(node.to_json());
    }
    Ok(crate::template::convert::ser(docs))
}

/// Splits a YAML stream on `---` document markers at the start of a line.
fn split_documents(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            out.push(&text[start..pos]);
            start = pos + 3;
        }
        pos += line.len();
    }
    out.push(&text[start..]);
    out
}

/// Ansible's `merge_hash`: `high` wins; nested dicts merge when `recursive`; lists follow
/// `list_merge` (replace, keep, append, prepend, append_rp, prepend_rp).
fn merge(low: &Json, high: &Json, recursive: bool, list_merge: &str) -> Json {
    let (Json::Object(lo), Json::Object(hi)) = (low, high) else {
        return high.clone();
    };
    let mut out = lo.clone();
    for (k, hv) in hi {
        let merged = match (out.get(k), hv) {
            (Some(lv @ Json::Object(_)), Json::Object(_)) if recursive => {
                merge(lv, hv, recursive, list_merge)
            }
            (Some(Json::Array(la)), Json::Array(ha)) => match list_merge {
                "keep" => Json::Array(la.clone()),
                "append" => Json::Array(la.iter().chain(ha).cloned().collect()),
                "prepend" => Json::Array(ha.iter().chain(la).cloned().collect()),
                "append_rp" => {
                    let mut v: Vec<Json> = la.iter().filter(|x| !ha.contains(x)).cloned().collect();
                    v.extend(ha.iter().cloned());
                    Json::Array(v)
                }
                "prepend_rp" => {
                    let mut v: Vec<Json> = ha.clone();
                    v.extend(la.iter().filter(|x| !ha.contains(x)).cloned());
                    Json::Array(v)
                }
                _ => hv.clone(),
            },
            _ => hv.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Json::Object(out)
}

fn combine(v: Value, rest: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let recursive = kw.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = kw
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    kw.assert_all_used()?;
    if ![
        "replace",
        "keep",
        "append",
        "prepend",
        "append_rp",
        "prepend_rp",
    ]
    .contains(&list_merge.as_str())
    {
        return Err(fail(format!(
            "combine: '{list_merge}' is not a valid list_merge value"
        )));
    }
    let mut dicts = Vec::new();
    for term in std::iter::once(v).chain(rest.iter().cloned()) {
        // `[d1, d2] | combine` flattens one level.
        if matches!(term.kind(), ValueKind::Seq | ValueKind::Iterable) {
            for t in items_of("combine", &term)? {
                dicts.push(value_to_json(&t)?);
            }
        } else {
            dicts.push(value_to_json(&term)?);
        }
    }
    let mut acc: Option<Json> = None;
    for d in dicts {
        if !d.is_object() {
            return Err(fail(format!(
                "combine: failed to combine variables, expected dicts but got {}",
                kind_name(&d)
            )));
        }
        acc = Some(match acc {
            None => d,
            Some(low) => merge(&low, &d, recursive, &list_merge),
        });
    }
    Ok(crate::template::convert::ser(
        acc.unwrap_or(Json::Object(Default::default())),
    ))
}

fn kind_name(j: &Json) -> &'static str {
    match j {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

fn dict2items(v: Value, kw: Kwargs) -> Result<Value, Error> {
    let key_name = kw
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name = kw
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kw.assert_all_used()?;
    let pairs = pairs_of("dict2items", &v)?;
    Ok(Value::from(
        pairs
            .into_iter()
            .map(|(k, item)| {
                Value::from_pairs([
                    (Value::from(key_name.clone()), k),
                    (Value::from(value_name.clone()), item),
                ])
            })
            .collect::<Vec<_>>(),
    ))
}

fn items2dict(v: Value, kw: Kwargs) -> Result<Value, Error> {
    let key_name = kw
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name = kw
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kw.assert_all_used()?;
    let mut out = Vec::new();
    for item in items_of("items2dict", &v)? {
        let k = item.get_attr(&key_name).ok().filter(|x| !x.is_undefined());
        let val = item
            .get_attr(&value_name)
            .ok()
            .filter(|x| !x.is_undefined());
        match (k, val) {
            (Some(k), Some(val)) => out.push((k, val)),
            _ => {
                return Err(fail(format!(
                    "items2dict requires each dictionary in the list to contain the keys '{key_name}' and '{value_name}'"
                )));
            }
        }
    }
    Ok(Value::from_pairs(out))
}

fn is_seq(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

fn flatten_into(
    out: &mut Vec<Value>,
    items: Vec<Value>,
    levels: Option<i64>,
    skip_nulls: bool,
) -> Result<(), Error> {
    for el in items {
        if skip_nulls && (el.is_none() || matches!(el.as_str(), Some("None") | Some("null"))) {
            continue;
        }
        if is_seq(&el) {
            match levels {
                None => flatten_into(out, items_of("flatten", &el)?, None, skip_nulls)?,
                Some(l) if l >= 1 => {
                    flatten_into(out, items_of("flatten", &el)?, Some(l - 1), skip_nulls)?
                }
                Some(_) => out.push(el),
            }
        } else {
            out.push(el);
        }
    }
    Ok(())
}

fn flatten(v: Value, levels: Option<Value>, kw: Kwargs) -> Result<Value, Error> {
    let levels = match kw.get::<Option<Value>>("levels")?.or(levels) {
        Some(l) if l.is_none() => None,
        Some(l) => Some(i64::try_from(l).map_err(|_| fail("flatten: levels must be a number"))?),
        None => None,
    };
    let skip_nulls = kw.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kw.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(&mut out, items_of("flatten", &v)?, levels, skip_nulls)?;
    Ok(Value::from(out))
}

fn dedup(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn unique(v: Value, kw: Kwargs) -> Result<Value, Error> {
    let case_sensitive = kw.get::<Option<bool>>("case_sensitive")?.unwrap_or(false);
    let attribute = kw.get::<Option<Value>>("attribute")?;
    kw.assert_all_used()?;
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    for item in items_of("unique", &v)? {
        let mut key = match &attribute {
            Some(a) => item.get_item(a)?,
            None => item.clone(),
        };
        if !case_sensitive && let Some(s) = key.as_str() {
            key = Value::from(s.to_lowercase());
        }
        if !seen.contains(&key) {
            seen.push(key);
            out.push(item);
        }
    }
    Ok(Value::from(out))
}

fn union(a: Value, b: Value) -> Result<Value, Error> {
    let mut items = items_of("union", &a)?;
    items.extend(items_of("union", &b)?);
    Ok(Value::from(dedup(items)))
}

fn intersect(a: Value, b: Value) -> Result<Value, Error> {
    let bs = items_of("intersect", &b)?;
    let items: Vec<Value> = items_of("intersect", &a)?
        .into_iter()
        .filter(|x| bs.contains(x))
        .collect();
    Ok(Value::from(dedup(items)))
}

fn difference(a: Value, b: Value) -> Result<Value, Error> {
    let bs = items_of("difference", &b)?;
    let items: Vec<Value> = items_of("difference", &a)?
        .into_iter()
        .filter(|x| !bs.contains(x))
        .collect();
    Ok(Value::from(dedup(items)))
}

fn symmetric_difference(a: Value, b: Value) -> Result<Value, Error> {
    let as_ = items_of("symmetric_difference", &a)?;
    let bs = items_of("symmetric_difference", &b)?;
    let mut all = as_.clone();
    all.extend(bs.iter().cloned());
    let items: Vec<Value> = dedup(all)
        .into_iter()
        .filter(|x| !(as_.contains(x) && bs.contains(x)))
        .collect();
    Ok(Value::from(items))
}

fn product(v: Value, rest: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let repeat = kw.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kw.assert_all_used()?;
    // itertools.product takes any iterable; a string gives its characters.
    let iterable = |v: &Value| -> Result<Vec<Value>, Error> {
        match v.as_str() {
            Some(s) => Ok(s.chars().map(|c| Value::from(c.to_string())).collect()),
            None => items_of("product", v),
        }
    };
    let mut lists = vec![iterable(&v)?];
    for r in rest.iter() {
        lists.push(iterable(r)?);
    }
    let lists: Vec<Vec<Value>> = (0..repeat).flat_map(|_| lists.clone()).collect();
    let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
    for l in &lists {
        let mut next = Vec::new();
        for prefix in &acc {
            for x in l {
                let mut p = prefix.clone();
                p.push(x.clone());
                next.push(p);
            }
        }
        acc = next;
    }
    Ok(Value::from(
        acc.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

fn subelements(
    v: Value,
    path: Value,
    skip_missing: Option<bool>,
    kw: Kwargs,
) -> Result<Value, Error> {
    let skip_missing = kw
        .get::<Option<bool>>("skip_missing")?
        .or(skip_missing)
        .unwrap_or(false);
    kw.assert_all_used()?;
    Ok(Value::from(subelements_list(&v, &path, skip_missing)?))
}

/// Pairs of (element, sub-item) for every item of the list at `path` in each element.
fn subelements_list(v: &Value, path: &Value, skip_missing: bool) -> Result<Vec<Value>, Error> {
    let elements = if v.kind() == ValueKind::Map {
        pairs_of("subelements", v)?
            .into_iter()
            .map(|(_, x)| x)
            .collect()
    } else {
        items_of("subelements", v)?
    };
    let keys: Vec<Value> = if let Some(s) = path.as_str() {
        s.split('.').map(Value::from).collect()
    } else {
        items_of("subelements", path)?
    };
    let mut out = Vec::new();
    for el in elements {
        let mut cur = el.clone();
        let mut missing = false;
        for k in &keys {
            let next = cur.get_item(k).unwrap_or(Value::UNDEFINED);
            if next.is_undefined() {
                if skip_missing {
                    missing = true;
                    break;
                }
                return Err(fail(format!(
                    "could not find '{k}' key in iterated item {}",
                    crate::template::convert::py_repr(&cur)
                )));
            }
            cur = next;
        }
        if missing {
            continue;
        }
        if !is_seq(&cur) {
            return Err(fail(format!(
                "the key '{}' should point to a list, got {}",
                path,
                crate::template::convert::py_repr(&cur)
            )));
        }
        for x in items_of("subelements", &cur)? {
            out.push(Value::from(vec![el.clone(), x]));
        }
    }
    Ok(out)
}

fn extract(item: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut keys = vec![item];
    match morekeys {
        Some(m) if is_seq(&m) => keys.extend(items_of("extract", &m)?),
        Some(m) if !m.is_none() => keys.push(m),
        _ => {}
    }
    let mut cur = container;
    for k in keys {
        cur = cur.get_item(&k)?;
    }
    Ok(cur)
}

fn b64encode(v: Value, kw: Kwargs) -> Result<String, Error> {
    let urlsafe = kw.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    let _ = kw.get::<Option<String>>("encoding")?;
    kw.assert_all_used()?;
    let text = to_text(&v);
    Ok(if urlsafe {
        base64::engine::general_purpose::URL_SAFE.encode(text.as_bytes())
    } else {
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
    })
}

fn b64decode(v: Value, kw: Kwargs) -> Result<String, Error> {
    let urlsafe = kw.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    let _ = kw.get::<Option<String>>("encoding")?;
    kw.assert_all_used()?;
    let text: String = to_text(&v).chars().filter(|c| !c.is_whitespace()).collect();
    let engine = if urlsafe {
        base64::engine::general_purpose::URL_SAFE
    } else {
        base64::engine::general_purpose::STANDARD
    };
    let bytes = engine
        .decode(text.as_bytes())
        .map_err(|e| fail(format!("b64decode: invalid base64 input: {e}")))?;
    String::from_utf8(bytes).map_err(|_| fail("b64decode: the decoded data is not UTF-8 text"))
}

/// Ansible's `zip_longest(*others, fillvalue=None)`.
fn zip_longest(v: Value, rest: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let fill = kw
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kw.assert_all_used()?;
    let mut lists = vec![items_of("zip_longest", &v)?];
    for r in rest.iter() {
        lists.push(items_of("zip_longest", r)?);
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|i| {
                Value::from(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

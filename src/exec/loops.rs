//! Loops: turning `loop:` and the `with_<lookup>` family into the list of items a task runs
//! over, with each form's own flattening rules.
//!
//! `loop` takes its list as given; `with_items` flattens one level; `with_dict` yields
//! `{key, value}` items; the file lookups (`with_fileglob`, `with_first_found`) search the
//! controller like Ansible's `files` search path (role, task file directory, playbook).

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::playbook::{Loop, LoopKind};
use crate::template::{Templar, TemplateError};
use crate::vars::VarScope;

/// Why a loop could not be expanded.
#[derive(Debug)]
pub enum LoopError {
    /// Templating the loop value failed (an undefined variable is deferred by the caller when
    /// the task's `when` turns out false, as Ansible does).
    Template(TemplateError),
    /// The value has the wrong shape, or the lookup failed.
    Invalid(String),
}

impl std::fmt::Display for LoopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoopError::Template(e) => write!(f, "{e}"),
            LoopError::Invalid(m) => f.write_str(m),
        }
    }
}

/// Controller directories searched by file lookups, in order.
#[derive(Clone, Debug, Default)]
pub struct SearchDirs {
    /// Base directories: the role directory, the task file's directory, the playbook directory.
    pub bases: Vec<PathBuf>,
    /// The subdirectory `with_first_found` looks in, from the task's action as Ansible picks it:
    /// `templates` for `template`, `vars` for `include_vars`, else `files` (also when empty).
    pub lookup_subdir: &'static str,
}

/// The subdirectory Ansible's task executor gives a loop lookup: the first of `template`,
/// `var`, `file` that the action's name contains, plus `s`.
pub fn lookup_subdir(action: &str) -> &'static str {
    if action.contains("template") {
        "templates"
    } else if action.contains("var") {
        "vars"
    } else {
        "files"
    }
}

impl SearchDirs {
    /// Finds `name` (a relative or absolute path) under `subdir` (e.g. `files`) or directly in
    /// each base, as Ansible's `find_file_in_search_path` does.
    pub fn find(&self, subdir: &str, name: &str) -> Option<PathBuf> {
        let p = Path::new(name);
        if p.is_absolute() {
            return p.exists().then(|| p.to_path_buf());
        }
        for base in &self.bases {
            for cand in [base.join(subdir).join(p), base.join(p)] {
                if cand.exists() {
                    return Some(cand);
                }
            }
        }
        None
    }

    fn find_dir(&self, subdir: &str, dir: &str) -> Option<PathBuf> {
        self.find(subdir, dir).filter(|p| p.is_dir())
    }
}

/// The items of a task's loop, templated in `scope`.
pub fn expand(
    lp: &Loop,
    templar: &Templar,
    scope: &VarScope,
    dirs: &SearchDirs,
) -> Result<Vec<Json>, LoopError> {
    match &lp.kind {
        LoopKind::Loop => {
            let v = templar
                .template_value(&lp.value, scope)
                .map_err(LoopError::Template)?;
            match v {
                Json::Array(items) => Ok(items),
                other => Err(LoopError::Invalid(format!(
                    "Invalid data passed to 'loop', it requires a list, got this instead: {}. \
                     Hint: if you passed a list/dict of just one element, try adding \
                     wantlist=True to your lookup invocation or use q/query instead of lookup.",
                    compact(&other)
                ))),
            }
        }
        LoopKind::With(name) => {
            let value = with_terms(&lp.value, templar, scope)?;
            let short = name.rsplit('.').next().unwrap_or(name);
            if BUILT_IN_WITH.contains(&short) {
                with_lookup(name, value, dirs)
            } else {
                any_lookup(short, value, templar, scope)
            }
        }
    }
}

/// Templates the value of a `with_*` keyword. A bare variable name (`with_items: users`) is
/// read as that variable, as old Ansible did; if it is not one, the text stays a string.
fn with_terms(raw: &Json, templar: &Templar, scope: &VarScope) -> Result<Json, LoopError> {
    if let Json::String(s) = raw {
        let t = s.trim();
        if !t.is_empty()
            && !crate::template::is_template(t)
            && t.chars()
                .all(|c| c.is_alphanumeric() || "_.[]'\"".contains(c))
            && t.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            && let Ok(v) = templar.eval_expr(t, scope)
        {
            return Ok(v);
        }
    }
    templar
        .template_value(raw, scope)
        .map_err(LoopError::Template)
}

/// The `with_*` loops done here; any other `with_<name>` runs the lookup `name`.
const BUILT_IN_WITH: &[&str] = &[
    "items",
    "flattened",
    "list",
    "dict",
    "indexed_items",
    "together",
    "nested",
    "cartesian",
    "sequence",
    "subelements",
    "fileglob",
    "first_found",
];

/// `with_<name>`: the items are what `query('<name>', terms)` returns, as Ansible runs the
/// lookup plugin of that name with the loop's terms. An unknown lookup is an error naming it.
fn any_lookup(
    name: &str,
    terms: Json,
    templar: &Templar,
    scope: &VarScope,
) -> Result<Vec<Json>, LoopError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(LoopError::Invalid(format!(
            "with_{name} does not name a lookup"
        )));
    }
    let mut m = crate::vars::VarMap::new();
    m.insert("__jig_with_terms".into(), Json::Array(as_list(terms)));
    let bound = scope.with(crate::vars::Layer::TaskVars, std::sync::Arc::new(m));
    let v = templar
        .eval_expr(&format!("query('{name}', __jig_with_terms)"), &bound)
        .map_err(LoopError::Template)?;
    Ok(as_list(v))
}

fn as_list(v: Json) -> Vec<Json> {
    match v {
        Json::Array(a) => a,
        Json::Null => Vec::new(),
        other => vec![other],
    }
}

fn flatten_one(v: Json) -> Vec<Json> {
    let mut out = Vec::new();
    for item in as_list(v) {
        match item {
            Json::Array(inner) => out.extend(inner),
            other => out.push(other),
        }
    }
    out
}

fn with_lookup(name: &str, value: Json, dirs: &SearchDirs) -> Result<Vec<Json>, LoopError> {
    let name = name.rsplit('.').next().unwrap_or(name);
    match name {
        "items" => Ok(flatten_one(value)),
        "flattened" => Ok(flatten_all(value)),
        "list" => Ok(as_list(value)),
        "dict" => match value {
            Json::Object(m) => Ok(m
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect()),
            other => Err(LoopError::Invalid(format!(
                "with_dict expects a dict, got {}",
                compact(&other)
            ))),
        },
        "indexed_items" => Ok(flatten_one(value)
            .into_iter()
            .enumerate()
            .map(|(i, v)| json!([i, v]))
            .collect()),
        "together" => {
            let lists: Vec<Vec<Json>> = as_list(value).into_iter().map(as_list).collect();
            let n = lists.iter().map(Vec::len).max().unwrap_or(0);
            Ok((0..n)
                .map(|i| {
                    Json::Array(
                        lists
                            .iter()
                            .map(|l| l.get(i).cloned().unwrap_or(Json::Null))
                            .collect(),
                    )
                })
                .collect())
        }
        "nested" | "cartesian" => {
            let mut acc: Vec<Vec<Json>> = vec![Vec::new()];
            for list in as_list(value) {
                let list = as_list(list);
                let mut next = Vec::new();
                for prefix in &acc {
                    for x in &list {
                        let mut p = prefix.clone();
                        p.push(x.clone());
                        next.push(p);
                    }
                }
                acc = next;
            }
            Ok(acc.into_iter().map(Json::Array).collect())
        }
        "sequence" => {
            let mut out = Vec::new();
            for term in as_list(value) {
                let text = match term {
                    Json::String(s) => s,
                    other => compact(&other),
                };
                out.extend(sequence(&text).map_err(LoopError::Invalid)?);
            }
            Ok(out)
        }
        "subelements" => subelements(value),
        "fileglob" => {
            let mut out = Vec::new();
            for pat in as_list(value) {
                if let Json::String(p) = pat {
                    out.extend(fileglob(&p, dirs).into_iter().map(Json::String));
                }
            }
            Ok(out)
        }
        "first_found" => first_found(value, dirs),
        other => Err(LoopError::Invalid(format!(
            "with_{other} is not supported by jig yet; use `loop:` with a filter or lookup instead"
        ))),
    }
}

fn flatten_all(v: Json) -> Vec<Json> {
    let mut out = Vec::new();
    for item in as_list(v) {
        match item {
            Json::Array(_) => out.extend(flatten_all(item)),
            other => out.push(other),
        }
    }
    out
}

fn subelements(value: Json) -> Result<Vec<Json>, LoopError> {
    let terms = as_list(value);
    let (Some(list), Some(Json::String(key))) = (terms.first(), terms.get(1)) else {
        return Err(LoopError::Invalid(
            "with_subelements expects [list, 'key'] (and optionally {skip_missing: true})".into(),
        ));
    };
    let skip_missing = terms
        .get(2)
        .and_then(|f| f.get("skip_missing"))
        .and_then(crate::modules::args::parse_bool)
        .unwrap_or(false);
    let parents = match list {
        Json::Object(m) => m.values().cloned().collect(),
        other => as_list(other.clone()),
    };
    let mut out = Vec::new();
    for parent in parents {
        let mut cur = Some(&parent);
        for part in key.split('.') {
            cur = cur.and_then(|c| c.get(part));
        }
        match cur {
            Some(Json::Array(subs)) => {
                for s in subs {
                    out.push(json!([parent.clone(), s.clone()]));
                }
            }
            None if skip_missing => {}
            _ => {
                return Err(LoopError::Invalid(format!(
                    "could not find '{key}' key in iterated item {}",
                    compact(&parent)
                )));
            }
        }
    }
    Ok(out)
}

/// `with_sequence`: `start=1 end=10 stride=2 format=web%02d`, `count=5`, or `1-10/2`.
fn sequence(text: &str) -> Result<Vec<Json>, String> {
    let (mut start, mut end, mut stride, mut count, mut format) =
        (1i64, None::<i64>, 1i64, None::<i64>, None::<String>);
    let parse = |k: &str, v: &str| -> Result<i64, String> {
        let v = v.trim();
        let r = if let Some(h) = v.strip_prefix("0x") {
            i64::from_str_radix(h, 16)
        } else if let Some(o) = v.strip_prefix("0o") {
            i64::from_str_radix(o, 8)
        } else {
            v.parse()
        };
        r.map_err(|_| format!("with_sequence: can't parse {k}={v} as an integer"))
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    for w in &words {
        if let Some((k, v)) = w.split_once('=') {
            match k {
                "start" => start = parse(k, v)?,
                "end" => end = Some(parse(k, v)?),
                "stride" => stride = parse(k, v)?,
                "count" => count = Some(parse(k, v)?),
                "format" => format = Some(v.to_string()),
                _ => return Err(format!("with_sequence: unknown argument '{k}'")),
            }
        } else {
            // Shortcut form: [start-]end[/stride][:format]
            let (body, fmt) = match w.split_once(':') {
                Some((b, f)) => (b, Some(f.to_string())),
                None => (*w, None),
            };
            let (range, st) = match body.split_once('/') {
                Some((r, s)) => (r, Some(parse("stride", s)?)),
                None => (body, None),
            };
            match range.split_once('-') {
                Some((a, b)) => {
                    start = parse("start", a)?;
                    end = Some(parse("end", b)?);
                }
                None => end = Some(parse("end", range)?),
            }
            if let Some(s) = st {
                stride = s;
            }
            if fmt.is_some() {
                format = fmt;
            }
        }
    }
    if let Some(c) = count {
        if end.is_some() {
            return Err("with_sequence: can't set both count and end".into());
        }
        end = Some(start + (c - 1) * stride);
        if c == 0 {
            return Ok(Vec::new());
        }
    }
    let end = end.ok_or("with_sequence: must specify count or end")?;
    if stride == 0 {
        return Err("with_sequence: stride must not be 0".into());
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(Json::String(printf_int(
            format.as_deref().unwrap_or("%d"),
            i,
        )));
        i += stride;
        if out.len() > 1_000_000 {
            return Err("with_sequence: more than a million items".into());
        }
    }
    Ok(out)
}

/// Python `%`-formatting of one integer (`%d`, `%02d`, `%x`, `%o`, `%s`).
fn printf_int(fmt: &str, n: i64) -> String {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '-' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let conv = chars.next().unwrap_or('d');
        let body = match conv {
            'x' => format!("{n:x}"),
            'X' => format!("{n:X}"),
            'o' => format!("{n:o}"),
            '%' => "%".to_string(),
            _ => n.to_string(),
        };
        let zero = spec.starts_with('0');
        let left = spec.starts_with('-');
        let width: usize = spec.trim_start_matches(['0', '-']).parse().unwrap_or(0);
        if body.len() >= width {
            out.push_str(&body);
        } else if left {
            out.push_str(&format!("{body:<width$}"));
        } else if zero {
            out.push_str(&format!("{body:0>width$}"));
        } else {
            out.push_str(&format!("{body:>width$}"));
        }
    }
    out
}

fn fileglob(pattern: &str, dirs: &SearchDirs) -> Vec<String> {
    let p = Path::new(pattern);
    let (dir, file_pat) = match (p.parent(), p.file_name()) {
        (Some(d), Some(f)) => (
            d.to_string_lossy().into_owned(),
            f.to_string_lossy().into_owned(),
        ),
        _ => return Vec::new(),
    };
    let base = if dir.is_empty() {
        dirs.find_dir("files", ".")
    } else {
        dirs.find_dir("files", &dir)
    };
    let Some(base) = base else {
        return Vec::new();
    };
    let Ok(glob) = globset::Glob::new(&file_pat) else {
        return Vec::new();
    };
    let matcher = glob.compile_matcher();
    let mut out: Vec<String> = std::fs::read_dir(&base)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file() && matcher.is_match(e.file_name()))
        .map(|e| e.path().display().to_string())
        .collect();
    out.sort();
    out
}

fn first_found(value: Json, dirs: &SearchDirs) -> Result<Vec<Json>, LoopError> {
    let mut files: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut skip = false;
    let split = |s: &str| -> Vec<String> {
        s.split([',', ';'])
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    };
    let mut take = |term: &Json, files: &mut Vec<String>, paths: &mut Vec<String>| match term {
        Json::String(s) => files.push(s.clone()),
        Json::Object(m) => {
            for f in as_list(m.get("files").cloned().unwrap_or(Json::Null)) {
                if let Json::String(s) = f {
                    files.extend(split(&s));
                }
            }
            for p in as_list(m.get("paths").cloned().unwrap_or(Json::Null)) {
                if let Json::String(s) = p {
                    paths.extend(split(&s));
                }
            }
            if let Some(s) = m.get("skip") {
                skip = crate::modules::args::parse_bool(s).unwrap_or(false);
            }
        }
        _ => {}
    };
    for term in flatten_one(value) {
        take(&term, &mut files, &mut paths);
    }
    let subdir = if dirs.lookup_subdir.is_empty() {
        "files"
    } else {
        dirs.lookup_subdir
    };
    for f in &files {
        let found = if paths.is_empty() {
            dirs.find(subdir, f)
        } else {
            paths.iter().find_map(|p| {
                let cand = Path::new(p).join(f);
                if cand.is_absolute() {
                    cand.exists().then_some(cand)
                } else {
                    dirs.find(subdir, &cand.to_string_lossy())
                }
            })
        };
        if let Some(path) = found {
            return Ok(vec![Json::String(path.display().to_string())]);
        }
    }
    if skip {
        Ok(Vec::new())
    } else {
        Err(LoopError::Invalid(format!(
            "No file was found when using first_found. Looked for: {}",
            files.join(", ")
        )))
    }
}

/// A value in compact JSON, for messages.
pub fn compact(v: &Json) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A value as Python's `repr` shows it, the way Ansible prints loop labels
/// (`{'key': 'a', 'value': 1}`).
pub fn py_repr(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => {
            let q = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::new();
            out.push(q);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c if c == q => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(q);
            out
        }
        Json::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Json::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Json::String(k.clone())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The label Ansible shows for an item: strings as they are, other values as Python reprs.
pub fn label_of(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => py_repr(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_items_flattens_one_level_only() {
        let v = json!([1, [2, [3]], "a"]);
        assert_eq!(
            flatten_one(v),
            vec![json!(1), json!(2), json!([3]), json!("a")]
        );
    }

    #[test]
    fn dict_together_nested_indexed() {
        let d = with_lookup("dict", json!({"a": 1, "b": 2}), &SearchDirs::default()).unwrap();
        assert_eq!(
            d,
            vec![
                json!({"key": "a", "value": 1}),
                json!({"key": "b", "value": 2})
            ]
        );
        let t = with_lookup("together", json!([[1, 2], ["a"]]), &SearchDirs::default()).unwrap();
        assert_eq!(t, vec![json!([1, "a"]), json!([2, null])]);
        let n = with_lookup(
            "nested",
            json!([[1, 2], ["a", "b"]]),
            &SearchDirs::default(),
        )
        .unwrap();
        assert_eq!(n.len(), 4);
        assert_eq!(n[1], json!([1, "b"]));
        let i = with_lookup("indexed_items", json!(["x", "y"]), &SearchDirs::default()).unwrap();
        assert_eq!(i, vec![json!([0, "x"]), json!([1, "y"])]);
    }

    #[test]
    fn sequences() {
        assert_eq!(
            sequence("start=1 end=3").unwrap(),
            vec![json!("1"), json!("2"), json!("3")]
        );
        assert_eq!(
            sequence("count=2 start=4 format=web%02d").unwrap(),
            vec![json!("web04"), json!("web05")]
        );
        assert_eq!(
            sequence("2-6/2").unwrap(),
            vec![json!("2"), json!("4"), json!("6")]
        );
        assert!(sequence("start=a end=2").is_err());
        assert!(sequence("start=1 end=5 stride=0").is_err());
    }

    #[test]
    fn subelements_pairs_parent_and_child() {
        let v =
            json!([[{"name": "a", "keys": [1, 2]}, {"name": "b"}], "keys", {"skip_missing": true}]);
        let out = subelements(v).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1][1], json!(2));
        let bad = json!([[{"name": "b"}], "keys"]);
        assert!(subelements(bad).is_err());
    }

    #[test]
    fn files_are_found_in_search_dirs() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("files")).unwrap();
        std::fs::write(d.path().join("files/a.conf"), "").unwrap();
        std::fs::write(d.path().join("files/b.conf"), "").unwrap();
        std::fs::write(d.path().join("files/c.txt"), "").unwrap();
        std::fs::create_dir_all(d.path().join("vars")).unwrap();
        std::fs::write(d.path().join("vars/Debian.yml"), "").unwrap();
        let dirs = SearchDirs {
            bases: vec![d.path().to_path_buf()],
            lookup_subdir: "",
        };
        let g = fileglob("*.conf", &dirs);
        assert_eq!(g.len(), 2);
        assert!(g[0].ends_with("a.conf"));
        let f = first_found(json!(["vars/RedHat.yml", "vars/Debian.yml"]), &dirs).unwrap();
        assert!(f[0].as_str().unwrap().ends_with("vars/Debian.yml"));
        let f = first_found(json!({"files": ["Debian.yml"], "paths": ["vars"]}), &dirs).unwrap();
        assert_eq!(f.len(), 1);
        assert!(first_found(json!(["nope.yml"]), &dirs).is_err());
        assert!(
            first_found(json!({"files": ["nope.yml"], "skip": true}), &dirs)
                .unwrap()
                .is_empty()
        );
        // For include_vars, Ansible's loop lookups look in vars/ rather than files/.
        let vars_dirs = SearchDirs {
            lookup_subdir: lookup_subdir("include_vars"),
            ..dirs.clone()
        };
        let f = first_found(json!(["RedHat.yml", "Debian.yml"]), &vars_dirs).unwrap();
        assert!(f[0].as_str().unwrap().ends_with("vars/Debian.yml"));
        assert!(first_found(json!(["Debian.yml"]), &dirs).is_err());
        assert_eq!(lookup_subdir("template"), "templates");
        assert_eq!(lookup_subdir("copy"), "files");
    }

    #[test]
    fn labels_look_like_python() {
        assert_eq!(
            label_of(&json!({"key": "a", "value": 1})),
            "{'key': 'a', 'value': 1}"
        );
        assert_eq!(label_of(&json!("plain")), "plain");
        assert_eq!(label_of(&json!([true, null])), "[True, None]");
    }
}

//! Lookups (`lookup(name, ...)`, `query`/`q`) run on the controller, and the Jinja globals
//! Ansible adds. Files are searched like Ansible does: the role's `files/` (or `templates/`),
//! the playbook directory's, then the name as given. `wantlist=` and `errors=` follow
//! Ansible 2.19: without `wantlist`, one result is returned bare and several strings are
//! joined with commas.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::Value as Json;

use super::convert::{to_text, value_to_json};
use super::filters::{fail, items_of};
use super::scope::{RESOLVER_KEY, Resolver, ScopeObj};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function(
        "lookup",
        |state: &State, name: String, terms: Rest<Value>, kw: Kwargs| {
            lookup_fn(state, &name, &terms, kw, false)
        },
    );
    let query = |state: &State, name: String, terms: Rest<Value>, kw: Kwargs| {
        lookup_fn(state, &name, &terms, kw, true)
    };
    env.add_function("query", query);
    env.add_function("q", query);
    env.add_function("dict", dict_fn);
}

fn resolver(state: &State) -> Result<Arc<Resolver>, Error> {
    state
        .lookup(RESOLVER_KEY)
        .and_then(|v| {
            v.downcast_object_ref::<ScopeObj>()
                .map(|o| o.resolver.clone())
        })
        .ok_or_else(|| fail("lookups need variables; none are available here"))
}

fn lookup_fn(
    state: &State,
    name: &str,
    terms: &[Value],
    kw: Kwargs,
    query: bool,
) -> Result<Value, Error> {
    let wantlist = query || kw.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let errors = kw
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    let name = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("community.general."))
        .unwrap_or(name);
    let result = run_lookup(state, name, terms, &kw).and_then(|r| {
        kw.assert_all_used()?;
        Ok(r)
    });
    let items = match result {
        Ok(items) => items,
        Err(e) => {
            return match errors.as_str() {
                "ignore" | "warn" => Ok(if wantlist {
                    Value::from(Vec::<Value>::new())
                } else {
                    Value::from(())
                }),
                _ => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("lookup plugin '{name}' failed"),
                )
                .with_source(e)),
            };
        }
    };
    if wantlist {
        return Ok(Value::from(items));
    }
    Ok(match items.len() {
        0 => Value::from(Vec::<Value>::new()),
        1 => items.into_iter().next().unwrap_or(Value::from(())),
        _ if items.iter().all(|i| i.kind() == ValueKind::String) => {
            Value::from(items.iter().map(to_text).collect::<Vec<_>>().join(","))
        }
        _ => Value::from(items),
    })
}

fn var_str(r: &Resolver, name: &str) -> Option<String> {
    match r.scope.get(name) {
        Some(Json::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Where Ansible looks for a relative file of a lookup: `<role>/<subdir>`, `<role>`,
/// `<playbook_dir>/<subdir>`, `<playbook_dir>`, then as given.
fn search_paths(r: &Resolver, subdir: &str, name: &str) -> Vec<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return vec![p.to_path_buf()];
    }
    let mut out = Vec::new();
    for base in ["role_path", "playbook_dir"] {
        if let Some(dir) = var_str(r, base) {
            out.push(Path::new(&dir).join(subdir).join(p));
            out.push(Path::new(&dir).join(p));
        }
    }
    out.push(p.to_path_buf());
    out
}

fn find_file(r: &Resolver, subdir: &str, name: &str) -> Option<PathBuf> {
    search_paths(r, subdir, name)
        .into_iter()
        .find(|p| p.is_file())
}

fn flat_terms(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        if matches!(t.kind(), ValueKind::Seq | ValueKind::Iterable) {
            out.extend(items_of("lookup", t)?);
        } else {
            out.push(t.clone());
        }
    }
    Ok(out)
}

fn run_lookup(
    state: &State,
    name: &str,
    terms: &[Value],
    kw: &Kwargs,
) -> Result<Vec<Value>, Error> {
    match name {
        "items" | "flattened" => {
            let mut out = Vec::new();
            flatten_terms(&mut out, terms, name == "flattened")?;
            Ok(out)
        }
        "list" => Ok(terms.to_vec()),
        "indexed_items" => Ok(flat_terms(terms)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| Value::from(vec![Value::from(i), v]))
            .collect()),
        "dict" => {
            let mut out = Vec::new();
            for t in terms {
                for (k, v) in super::filters::pairs_of("dict lookup", t)? {
                    out.push(Value::from_pairs([("key", k), ("value", v)]));
                }
            }
            Ok(out)
        }
        "together" => {
            let lists: Vec<Vec<Value>> = terms
                .iter()
                .map(|t| items_of("together", t))
                .collect::<Result<_, _>>()?;
            let n = lists.iter().map(|l| l.len()).max().unwrap_or(0);
            Ok((0..n)
                .map(|i| {
                    Value::from(
                        lists
                            .iter()
                            .map(|l| l.get(i).cloned().unwrap_or(Value::from(())))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect())
        }
        "nested" | "cartesian" => {
            let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
            for t in terms {
                let l = items_of(name, t)?;
                acc = acc
                    .into_iter()
                    .flat_map(|p| {
                        l.iter().map(move |x| {
                            let mut q = p.clone();
                            q.push(x.clone());
                            q
                        })
                    })
                    .collect();
            }
            Ok(acc.into_iter().map(Value::from).collect())
        }
        "subelements" => {
            let (Some(obj), Some(path)) = (terms.first(), terms.get(1)) else {
                return Err(fail("subelements lookup expects a list and a key"));
            };
            let skip = terms
                .get(2)
                .and_then(|f| f.get_attr("skip_missing").ok())
                .is_some_and(|s| !s.is_undefined() && super::filters::ansible_bool(&s));
            subelements_lookup(obj, &to_text(path), skip)
        }
        "env" => {
            let default = kw.get::<Option<Value>>("default")?;
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                let var = to_text(&t);
                match std::env::var(&var) {
                    Ok(v) => out.push(Value::from(v)),
                    Err(_) => out.push(default.clone().unwrap_or(Value::from(""))),
                }
            }
            Ok(out)
        }
        "vars" => {
            let r = resolver(state)?;
            let default = kw.get::<Option<Value>>("default")?;
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                let var = to_text(&t);
                let ctx = r.context();
                match ctx.get_attr(&var).ok().filter(|v| !v.is_undefined()) {
                    Some(v) => out.push(v),
                    None => match &default {
                        Some(d) => out.push(d.clone()),
                        None => {
                            return Err(fail(format!("No variable found with this name: {var}")));
                        }
                    },
                }
            }
            Ok(out)
        }
        "varnames" => {
            let r = resolver(state)?;
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                let re = super::filters::regex::compile(&to_text(&t), false, false)?;
                for n in r.scope.names() {
                    if re.is_match(&n).unwrap_or(false) && !out.contains(&Value::from(n.as_str())) {
                        out.push(Value::from(n));
                    }
                }
            }
            Ok(out)
        }
        "file" => {
            let r = resolver(state)?;
            let lstrip = kw.get::<Option<bool>>("lstrip")?.unwrap_or(false);
            let rstrip = kw.get::<Option<bool>>("rstrip")?.unwrap_or(true);
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                let name = to_text(&t);
                let path = find_file(&r, "files", &name)
                    .ok_or_else(|| fail(format!("could not locate file in lookup: {name}")))?;
                let mut text = std::fs::read_to_string(&path)
                    .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
                if rstrip {
                    text = text.trim_end().to_string();
                }
                if lstrip {
                    text = text.trim_start().to_string();
                }
                out.push(Value::from(text));
            }
            Ok(out)
        }
        "template" => {
            let r = resolver(state)?;
            let extra = kw.get::<Option<Value>>("template_vars")?;
            for k in [
                "convert_data",
                "variable_start_string",
                "variable_end_string",
                "comment_start_string",
                "comment_end_string",
                "jinja2_native",
                "trim_blocks",
            ] {
                let _ = kw.get::<Option<Value>>(k)?;
            }
            let mut scope = r.scope.clone();
            if let Some(extra) = extra.filter(|e| !e.is_none()) {
                let j = value_to_json(&extra)?;
                if let Json::Object(m) = j {
                    scope.push(
                        crate::vars::Layer::TaskVars,
                        Arc::new(m.into_iter().collect()),
                    );
                }
            }
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                let name = to_text(&t);
                let path = find_file(&r, "templates", &name).ok_or_else(|| {
                    fail(format!(
                        "the template file {name} could not be found for the lookup"
                    ))
                })?;
                let text = r
                    .templar
                    .render_file(&path, &scope)
                    .map_err(|e| fail(e.to_string()))?;
                out.push(Value::from(text));
            }
            Ok(out)
        }
        "first_found" => first_found(state, terms, kw),
        "fileglob" => {
            let r = resolver(state)?;
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                let pattern = to_text(&t);
                let dir = Path::new(&pattern)
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                // The directory part is searched like a file; the first that exists is used.
                let base = if Path::new(&pattern).is_absolute() {
                    pattern.clone()
                } else {
                    search_paths(&r, "files", if dir.is_empty() { "." } else { &dir })
                        .into_iter()
                        .find(|p| p.is_dir())
                        .map(|d| {
                            let file = Path::new(&pattern)
                                .file_name()
                                .map(|f| f.to_string_lossy().to_string())
                                .unwrap_or_default();
                            d.join(file).display().to_string()
                        })
                        .unwrap_or(pattern.clone())
                };
                for f in super::filters::paths_glob(&base)? {
                    out.push(Value::from(f));
                }
            }
            Ok(out)
        }
        "pipe" | "lines" => {
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                let cmd = to_text(&t);
                let o = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(&cmd)
                    .output()
                    .map_err(|e| fail(format!("cannot run `{cmd}`: {e}")))?;
                if !o.status.success() {
                    return Err(fail(format!(
                        "lookup_plugin.{name}({cmd}) returned {}",
                        o.status.code().unwrap_or(-1)
                    )));
                }
                let text = String::from_utf8_lossy(&o.stdout).to_string();
                if name == "pipe" {
                    out.push(Value::from(text.trim_end()));
                } else {
                    out.extend(text.lines().map(Value::from));
                }
            }
            Ok(out)
        }
        "sequence" => sequence(terms, kw),
        "ini" => {
            let r = resolver(state)?;
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                out.push(ini(&r, &to_text(&t), kw)?);
            }
            Ok(out)
        }
        "password" => {
            let r = resolver(state)?;
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                out.push(Value::from(password(&r, &to_text(&t), kw)?));
            }
            Ok(out)
        }
        "inventory_hostnames" => {
            let r = resolver(state)?;
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                out.extend(
                    inventory_hostnames(&r, &to_text(&t))
                        .into_iter()
                        .map(Value::from),
                );
            }
            Ok(out)
        }
        other => Err(fail(format!(
            "lookup plugin '{other}' is not supported by jig"
        ))),
    }
}

/// `items` flattens one level; community.general's `flattened` flattens all levels and, like
/// it, stops a level at the string 'None' or 'null'.
fn flatten_terms(out: &mut Vec<Value>, terms: &[Value], deep: bool) -> Result<(), Error> {
    for t in terms {
        if deep && matches!(t.as_str(), Some("None") | Some("null")) {
            break;
        }
        if matches!(t.kind(), ValueKind::Seq | ValueKind::Iterable) {
            let items = items_of("items", t)?;
            if deep {
                flatten_terms(out, &items, true)?;
            } else {
                out.extend(items);
            }
        } else {
            out.push(t.clone());
        }
    }
    Ok(())
}

fn first_found(state: &State, terms: &[Value], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    let r = resolver(state)?;
    let mut files: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut skip = kw.get::<Option<bool>>("skip")?.unwrap_or(false);
    let split = |v: &Value| -> Result<Vec<String>, Error> {
        Ok(if let Some(s) = v.as_str() {
            s.split([',', ';'])
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        } else {
            items_of("first_found", v)?.iter().map(to_text).collect()
        })
    };
    if let Some(f) = kw.get::<Option<Value>>("files")? {
        files.extend(split(&f)?);
    }
    if let Some(p) = kw.get::<Option<Value>>("paths")? {
        paths.extend(split(&p)?);
    }
    for t in flat_terms(terms)? {
        if t.kind() == ValueKind::Map {
            if let Ok(f) = t.get_attr("files")
                && !f.is_undefined()
            {
                files.extend(split(&f)?);
            }
            if let Ok(p) = t.get_attr("paths")
                && !p.is_undefined()
            {
                paths.extend(split(&p)?);
            }
            if let Ok(s) = t.get_attr("skip")
                && !s.is_undefined()
            {
                skip = super::filters::ansible_bool(&s);
            }
        } else {
            files.push(to_text(&t));
        }
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    for f in &files {
        if paths.is_empty() {
            candidates.extend(search_paths(&r, "files", f));
        } else {
            for p in &paths {
                let joined = Path::new(p).join(f);
                candidates.extend(search_paths(&r, "files", &joined.display().to_string()));
            }
        }
    }
    if let Some(found) = candidates.into_iter().find(|p| p.exists()) {
        let abs = if found.is_absolute() {
            found
        } else {
            std::env::current_dir().unwrap_or_default().join(found)
        };
        return Ok(vec![Value::from(abs.display().to_string())]);
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(fail(format!(
        "No file was found when using first_found (searched: {})",
        files.join(", ")
    )))
}

/// `sequence`: `start=1 end=5 stride=1 format=%d`, `count=`, or `1-5/1:fmt` shorthand.
fn sequence(terms: &[Value], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    let mut start: i64 = 1;
    let mut end: Option<i64> = None;
    let mut count: Option<i64> = None;
    let mut stride: i64 = 1;
    let mut format = "%d".to_string();
    let num = |s: &str| -> Result<i64, Error> {
        let s = s.trim();
        let v = if let Some(h) = s.strip_prefix("0x") {
            i64::from_str_radix(h, 16)
        } else if let Some(o) = s
            .strip_prefix("0o")
            .or_else(|| s.strip_prefix("0").filter(|r| !r.is_empty()))
        {
            i64::from_str_radix(o, 8)
        } else {
            s.parse()
        };
        v.map_err(|_| fail(format!("sequence: can't parse '{s}' as a number")))
    };
    for key in ["start", "end", "count", "stride"] {
        if let Some(v) = kw.get::<Option<Value>>(key)? {
            let n = num(&to_text(&v))?;
            match key {
                "start" => start = n,
                "end" => end = Some(n),
                "count" => count = Some(n),
                _ => stride = n,
            }
        }
    }
    if let Some(f) = kw.get::<Option<String>>("format")? {
        format = f;
    }
    for t in terms {
        let term = to_text(t);
        let term = term.trim();
        if term.contains('=') {
            for pair in term.split_whitespace() {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| fail(format!("sequence: bad argument '{pair}'")))?;
                match k {
                    "start" => start = num(v)?,
                    "end" => end = Some(num(v)?),
                    "count" => count = Some(num(v)?),
                    "stride" => stride = num(v)?,
                    "format" => format = v.to_string(),
                    other => {
                        return Err(fail(format!("sequence: unrecognized argument '{other}'")));
                    }
                }
            }
        } else if !term.is_empty() {
            let (range, fmt) = match term.split_once(':') {
                Some((a, b)) => (a, Some(b)),
                None => (term, None),
            };
            let (range, st) = match range.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (range, None),
            };
            match range.split_once('-') {
                Some((a, b)) => {
                    start = num(a)?;
                    end = Some(num(b)?);
                }
                None => end = Some(num(range)?),
            }
            if let Some(s) = st {
                stride = num(s)?;
            }
            if let Some(f) = fmt {
                format = f.to_string();
            }
        }
    }
    let end = match (end, count) {
        (Some(_), Some(_)) => return Err(fail("sequence: can't specify both count and end")),
        (Some(e), None) => e,
        (None, Some(0)) => return Ok(Vec::new()),
        (None, Some(c)) => (c - 1)
            .checked_mul(stride)
            .and_then(|x| x.checked_add(start))
            .ok_or_else(|| fail("sequence: count is too large"))?,
        (None, None) => return Err(fail("sequence: must specify count or end")),
    };
    if stride == 0 {
        return Ok(Vec::new());
    }
    if (stride > 0 && end < start) || (stride < 0 && end > start) {
        return Err(fail("sequence: to count backwards make stride negative"));
    }
    let span = (i128::from(end) - i128::from(start)) / i128::from(stride);
    if span > 1_000_000 {
        return Err(fail("sequence: more than a million items requested"));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(Value::from(printf_int(&format, i)?));
        match i.checked_add(stride) {
            Some(n) => i = n,
            None => break,
        }
    }
    Ok(out)
}

/// Python `%`-formatting of one integer (`%d`, `%02d`, `%x`, `%o` inside other text).
fn printf_int(fmt: &str, n: i64) -> Result<String, Error> {
    let re = regex::Regex::new(r"%(-?)(0?)(\d*)([dixXo])").map_err(|e| fail(e.to_string()))?;
    let mut done = false;
    let out = re.replace(fmt, |c: &regex::Captures| {
        done = true;
        let body = match &c[4] {
            "x" => format!("{n:x}"),
            "X" => format!("{n:X}"),
            "o" => format!("{n:o}"),
            _ => n.to_string(),
        };
        let width: usize = c[3].parse().unwrap_or(0);
        if body.len() >= width {
            body
        } else if &c[1] == "-" {
            format!("{body:<width$}")
        } else if &c[2] == "0" {
            format!("{body:0>width$}")
        } else {
            format!("{body:>width$}")
        }
    });
    if !done {
        return Err(fail(format!("sequence: bad formatting string: {fmt}")));
    }
    Ok(out.replace("%%", "%"))
}

/// The characters a `chars=` name of the `password` lookup stands for (Python's `string`).
fn char_set(name: &str) -> String {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    match name {
        "ascii_letters" | "letters" => format!("{LOWER}{UPPER}"),
        "ascii_lowercase" | "lowercase" => LOWER.into(),
        "ascii_uppercase" | "uppercase" => UPPER.into(),
        "digits" => DIGITS.into(),
        "hexdigits" => "0123456789abcdefABCDEF".into(),
        "octdigits" => "01234567".into(),
        "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".into(),
        other => other.into(),
    }
}

/// Ansible's `password` lookup: the password stored in the file, or a new random one
/// written there (mode 0600, directories 0700); `/dev/null` never stores. Parameters come
/// as `path key=value...` in the term or as keywords.
fn password(r: &Resolver, term: &str, kw: &Kwargs) -> Result<String, Error> {
    let (rel, params) = match term.split_once(' ') {
        Some((p, rest)) => (p, rest),
        None => (term, ""),
    };
    let mut length: usize = 20;
    let mut chars: Vec<String> = vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()];
    let mut seed: Option<String> = None;
    let set_chars = |v: &str| {
        let mut list = Vec::new();
        if v.contains(",,") {
            list.push(",".to_string());
        }
        list.extend(
            v.replace(",,", ",")
                .split(',')
                .filter(|c| !c.is_empty())
                .map(String::from),
        );
        list
    };
    for pair in params.split_whitespace() {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            fail("Unrecognized value after key=value parameters given to password lookup")
        })?;
        match k {
            "length" => {
                length = v
                    .parse()
                    .map_err(|_| fail(format!("password: invalid length '{v}'")))?
            }
            "chars" => chars = set_chars(v),
            "seed" => seed = Some(v.to_string()),
            "encrypt" | "ident" => {
                return Err(fail(
                    "password lookup: encrypt= is not supported by jig yet; store the plain password and hash it on the host",
                ));
            }
            other => {
                return Err(fail(format!(
                    "Unrecognized parameter(s) given to password lookup: {other}"
                )));
            }
        }
    }
    if let Some(l) = kw.get::<Option<usize>>("length")? {
        length = l;
    }
    if let Some(c) = kw.get::<Option<Value>>("chars")? {
        chars = match c.as_str() {
            Some(s) => set_chars(s),
            None => items_of("password", &c)?.iter().map(to_text).collect(),
        };
    }
    if let Some(s) = kw.get::<Option<Value>>("seed")? {
        seed = Some(to_text(&s));
    }
    let path = if Path::new(rel).is_absolute() {
        PathBuf::from(rel)
    } else {
        match var_str(r, "playbook_dir") {
            Some(d) => Path::new(&d).join(rel),
            None => PathBuf::from(rel),
        }
    };
    let null = path == Path::new("/dev/null");
    if !null && let Ok(content) = std::fs::read_to_string(&path) {
        let content = content.trim_end_matches('\n');
        let plain = match content.rfind(" salt=") {
            Some(i) => &content[..i],
            None => content,
        };
        return Ok(plain.to_string());
    }
    let pool: Vec<char> = chars
        .iter()
        .flat_map(|c| char_set(c).chars().collect::<Vec<_>>())
        .collect();
    if pool.is_empty() {
        return Err(fail(
            "password lookup: chars= gives no characters to choose from",
        ));
    }
    let mut out = String::with_capacity(length);
    for i in 0..length {
        let bytes = match &seed {
            Some(s) => {
                *uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{s}:{i}").as_bytes())
                    .as_bytes()
            }
            None => *uuid::Uuid::new_v4().as_bytes(),
        };
        let mut x = [0u8; 8];
        x.copy_from_slice(&bytes[..8]);
        out.push(pool[(u64::from_le_bytes(x) % pool.len() as u64) as usize]);
    }
    if !null {
        write_secret(&path, &format!("{out}\n")).map_err(|e| {
            fail(format!(
                "password lookup: cannot write {}: {e}",
                path.display()
            ))
        })?;
    }
    Ok(out)
}

fn write_secret(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

/// Hosts matching an inventory pattern (`all`, a group, a host, `a:b`, `a:&b`, `a:!b`, `*`
/// globs), resolved from the `groups` variable.
fn inventory_hostnames(r: &Resolver, pattern: &str) -> Vec<String> {
    let groups: serde_json::Map<String, Json> = match r.scope.get("groups") {
        Some(Json::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    };
    let all: Vec<String> = match groups.get("all") {
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|h| h.as_str().map(String::from))
            .collect(),
        _ => r
            .scope
            .hostvars()
            .map(|h| h.host_names())
            .unwrap_or_default(),
    };
    let resolve = |term: &str| -> Vec<String> {
        if let Some(Json::Array(hosts)) = groups.get(term) {
            return hosts
                .iter()
                .filter_map(|h| h.as_str().map(String::from))
                .collect();
        }
        if term.contains('*') || term.contains('?') {
            let Ok(g) = globset::Glob::new(term) else {
                return Vec::new();
            };
            let m = g.compile_matcher();
            return all
                .iter()
                .filter(|h| m.is_match(h.as_str()))
                .cloned()
                .collect();
        }
        all.iter().filter(|h| *h == term).cloned().collect()
    };
    let mut out: Vec<String> = Vec::new();
    for part in pattern
        .split([':', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if let Some(t) = part.strip_prefix('&') {
            let keep = resolve(t);
            out.retain(|h| keep.contains(h));
        } else if let Some(t) = part.strip_prefix('!') {
            let drop = resolve(t);
            out.retain(|h| !drop.contains(h));
        } else {
            for h in resolve(part) {
                if !out.contains(&h) {
                    out.push(h);
                }
            }
        }
    }
    out
}

/// The `subelements` lookup: like the filter, but each element is given without the list it
/// was split on, and elements marked `skipped` are left out (Ansible's lookup behaviour).
fn subelements_lookup(obj: &Value, path: &str, skip_missing: bool) -> Result<Vec<Value>, Error> {
    let elements: Vec<Json> = match value_to_json(obj)? {
        Json::Array(a) => a,
        Json::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
        _ => return Err(fail("subelements lookup expects a list of dictionaries")),
    };
    let keys: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    'elements: for mut el in elements {
        if !el.is_object() {
            return Err(fail(format!(
                "subelements lookup expects a dictionary, got '{el}'"
            )));
        }
        if el.get("skipped").is_some_and(|s| s != &Json::Bool(false)) {
            continue;
        }
        // Check the path read-only first, then take the list out of its parent.
        let mut pointer = String::new();
        for (i, k) in keys.iter().enumerate() {
            let last = i + 1 == keys.len();
            let here = el.pointer(&pointer).and_then(Json::as_object);
            let Some(map) = here else { continue 'elements };
            match map.get(*k) {
                None if skip_missing => continue 'elements,
                None => return Err(fail(format!("could not find '{k}' key in iterated item"))),
                Some(Json::Array(_)) if last => {}
                Some(other) if last => {
                    return Err(fail(format!(
                        "the key {k} should point to a list, got '{other}'"
                    )));
                }
                Some(Json::Object(_)) => {
                    pointer.push('/');
                    pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                }
                Some(_) if skip_missing => continue 'elements,
                Some(_) => return Err(fail(format!("the key {k} should point to a dictionary"))),
            }
        }
        let last_key = keys.last().copied().unwrap_or_default();
        let sub = match el
            .pointer_mut(&pointer)
            .and_then(Json::as_object_mut)
            .and_then(|m| m.shift_remove(last_key))
        {
            Some(Json::Array(items)) => items,
            _ => Vec::new(),
        };
        let el_value = crate::template::convert::ser(&el);
        for item in sub {
            out.push(Value::from(vec![
                el_value.clone(),
                crate::template::convert::ser(&item),
            ]));
        }
    }
    Ok(out)
}

/// Python's `dict(mapping_or_pairs, **kwargs)`, as Jinja exposes it.
fn dict_fn(args: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let mut out: Vec<(Value, Value)> = Vec::new();
    let mut put = |k: Value, v: Value| match out.iter_mut().find(|(x, _)| *x == k) {
        Some(slot) => slot.1 = v,
        None => out.push((k, v)),
    };
    if args.len() > 1 {
        return Err(fail("dict expected at most 1 positional argument"));
    }
    if let Some(a) = args.first() {
        if a.kind() == ValueKind::Map {
            for (k, v) in super::filters::pairs_of("dict", a)? {
                put(k, v);
            }
        } else {
            for pair in items_of("dict", a)? {
                let p = items_of("dict", &pair)?;
                if p.len() != 2 {
                    return Err(fail(format!(
                        "dictionary update sequence element has length {}; 2 is required",
                        p.len()
                    )));
                }
                put(p[0].clone(), p[1].clone());
            }
        }
    }
    for k in kw.args().map(str::to_string).collect::<Vec<_>>() {
        let v: Value = kw.get(&k)?;
        put(Value::from(k), v);
    }
    Ok(Value::from_pairs(out))
}

/// The `ini` lookup: `key [section=global] [file=ansible.ini] [default=''] [type=ini]
/// [re=false] [case_sensitive=false]`, as term text or keywords. `type=properties` reads
/// `key=value` lines without sections.
fn ini(r: &Resolver, term: &str, kw: &Kwargs) -> Result<Value, Error> {
    let mut opts: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut words = term.split_whitespace();
    let key = words.next().unwrap_or_default().to_string();
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| fail(format!("ini lookup: unexpected '{w}' after the key")))?;
        opts.insert(k.to_string(), v.to_string());
    }
    for k in [
        "section",
        "file",
        "default",
        "type",
        "re",
        "case_sensitive",
        "encoding",
        "allow_no_value",
        "allow_none",
    ] {
        if let Some(v) = kw.get::<Option<Value>>(k)? {
            opts.insert(k.to_string(), to_text(&v));
        }
    }
    let get = |k: &str, d: &str| opts.get(k).cloned().unwrap_or_else(|| d.to_string());
    let section = get("section", "global");
    let file = get("file", "ansible.ini");
    let properties = get("type", "ini") == "properties";
    let use_re = super::filters::ansible_bool(&Value::from(get("re", "false")));
    let case_sensitive = super::filters::ansible_bool(&Value::from(get("case_sensitive", "false")));
    let path = find_file(r, "files", &file)
        .ok_or_else(|| fail(format!("ini lookup: could not locate file {file}")))?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| fail(format!("ini lookup: cannot read {}: {e}", path.display())))?;
    let norm = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let matcher = if use_re {
        Some(super::filters::regex::compile(
            &format!(r"\A(?:{key})\z"),
            false,
            false,
        )?)
    } else {
        None
    };
    let mut current = if properties {
        Some(String::new())
    } else {
        None
    };
    let want_section = if properties {
        String::new()
    } else {
        section.clone()
    };
    let mut found: Vec<Value> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if !properties && l.starts_with('[') && l.ends_with(']') {
            current = Some(l[1..l.len() - 1].trim().to_string());
            continue;
        }
        if current.as_deref() != Some(want_section.as_str()) {
            continue;
        }
        let (k, v) = match l.find(['=', ':']) {
            Some(i) => (l[..i].trim(), l[i + 1..].trim()),
            None => (l, ""),
        };
        let hit = match &matcher {
            Some(re) => re.is_match(k).unwrap_or(false),
            None => norm(k) == norm(&key),
        };
        if hit {
            found.push(Value::from(v));
            if matcher.is_none() {
                break;
            }
        }
    }
    Ok(match (found.len(), use_re) {
        (0, _) => Value::from(get("default", "")),
        (_, true) => Value::from(found),
        _ => found.swap_remove(0),
    })
}

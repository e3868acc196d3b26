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
use super::filters::crypt::Scheme;
use super::filters::{fail, items_of};
use super::pyrandom::{PyRandom, Seed};
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
    if !SUPPORTED.contains(&name) {
        // Like Ansible, a lookup that does not exist fails even with errors='ignore'.
        return Err(fail(format!(
            "lookup plugin '{name}' is not supported by jig (it knows {})",
            SUPPORTED.join(", ")
        )));
    }
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

/// The lookups `run_lookup` implements.
const SUPPORTED: &[&str] = &[
    "cartesian",
    "dict",
    "env",
    "file",
    "fileglob",
    "first_found",
    "flattened",
    "indexed_items",
    "ini",
    "inventory_hostnames",
    "items",
    "lines",
    "list",
    "nested",
    "password",
    "pipe",
    "sequence",
    "subelements",
    "template",
    "together",
    "url",
    "varnames",
    "vars",
];

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
            let default = kw.get::<Option<Value>>("default")?.filter(|d| !d.is_none());
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                let var = to_text(&t);
                let ctx = r.context();
                match ctx.get_attr(&var).ok().filter(|v| !v.is_undefined()) {
                    Some(v) => out.push(v),
                    None => match &default {
                        Some(d) => out.push(d.clone()),
                        None => {
                            return Err(fail(format!("No variable named '{var}' was found.")));
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
        "url" => super::url::url_lookup(&flat_terms(terms)?, kw),
        "ini" => {
            let r = resolver(state)?;
            let mut out = Vec::new();
            for t in flat_terms(terms)? {
                // A `re=` lookup's values join the results one by one.
                let v = ini(&r, &to_text(&t), kw)?;
                if v.kind() == ValueKind::Seq {
                    out.extend(items_of("ini", &v)?);
                } else {
                    out.push(v);
                }
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
            // Deprecated in Ansible, still honoured: a string term is split on `,` and `;`.
            files.extend(split(&t)?);
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
        "No file was found when using first_found. Searched for: {}",
        files.join(", ")
    )))
}

/// `sequence`: `start=1 end=5 stride=1 format=%d`, `count=`, or `1-5/1:fmt` shorthand.
fn sequence(terms: &[Value], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    // Options are integers as Ansible's config reads them: decimal, Python's int().
    let decimal = |key: &str, s: &str| -> Result<i64, Error> {
        let t = s.trim().replace('_', "");
        t.strip_prefix('+')
            .unwrap_or(&t)
            .parse::<i64>()
            .ok()
            .filter(|_| !s.trim().starts_with('_') && !s.trim().ends_with('_'))
            .ok_or_else(|| {
                fail(format!(
                    "Config '{key}' for 'sequence' lookup plugin from 'Direct' has an invalid \
                     value: Invalid value provided for 'integer': '{s}'"
                ))
            })
    };
    // The shortcut form `[start-]end[/stride][:format]` reads numbers as int(x, 0).
    let base0 = |s: &str| -> Result<i64, Error> {
        let lower = s.to_lowercase();
        let v = match lower.strip_prefix("0x") {
            Some(h) => i64::from_str_radix(h, 16).ok(),
            None if lower.len() > 1 && lower.starts_with('0') => None,
            None => lower.parse().ok(),
        };
        v.ok_or_else(|| {
            fail(format!(
                "unknown error parsing with_sequence arguments: '{s}'. Error was: invalid \
                 literal for int() with base 0: '{s}'"
            ))
        })
    };
    static SHORTCUT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"(?i)^(?:([0-9]+|0x[0-9a-f]+|0[0-7]+)-)?([0-9]+|0x[0-9a-f]+|0[0-7]+)",
            r"(?:/([0-9]+|0x[0-9a-f]+|0[0-7]+))?(?::(.+))?$"
        ))
        .expect("static regex")
    });
    let mut kw_opts: Vec<(&str, String)> = Vec::new();
    for key in ["start", "end", "count", "stride", "format"] {
        if let Some(v) = kw.get::<Option<Value>>(key)? {
            kw_opts.push((key, to_text(&v)));
        }
    }
    let mut out = Vec::new();
    // Keyword options alone make one sequence, as in Ansible.
    let only_keywords = [Value::from("")];
    let terms = if terms.is_empty() {
        &only_keywords[..]
    } else {
        terms
    };
    for t in terms {
        // Each term starts from the defaults and the keyword options.
        let mut start: i64 = 1;
        let mut end: Option<i64> = None;
        let mut count: Option<i64> = None;
        let mut stride: i64 = 1;
        let mut format = "%d".to_string();
        let mut set = |k: &str, v: &str| -> Result<(), Error> {
            match k {
                "start" => start = decimal(k, v)?,
                "end" => end = Some(decimal(k, v)?),
                "count" => count = Some(decimal(k, v)?),
                "stride" => stride = decimal(k, v)?,
                _ => format = v.to_string(),
            }
            Ok(())
        };
        for (k, v) in &kw_opts {
            set(k, v)?;
        }
        let term = to_text(t);
        let term = term.trim();
        if let Some(c) = SHORTCUT.captures(term) {
            if let Some(s) = c.get(1) {
                start = base0(s.as_str())?;
            }
            end = Some(base0(&c[2])?);
            if let Some(s) = c.get(3) {
                stride = base0(s.as_str())?;
            }
            if let Some(f) = c.get(4) {
                format = f.as_str().to_string();
            }
        } else {
            let mut unknown = Vec::new();
            for word in term.split_whitespace() {
                match word.split_once('=') {
                    Some((k, v)) if ["start", "end", "count", "stride", "format"].contains(&k) => {
                        set(k, v)?
                    }
                    Some((k, _)) => unknown.push(format!("'{k}'")),
                    None if !unknown.contains(&"'_raw_params'".to_string()) => {
                        unknown.push("'_raw_params'".into())
                    }
                    None => {}
                }
            }
            if !unknown.is_empty() {
                return Err(fail(format!(
                    "unrecognized arguments to with_sequence: [{}]",
                    unknown.join(", ")
                )));
            }
        }
        let end = match (end, count) {
            (None, None) => return Err(fail("must specify count or end in with_sequence")),
            (Some(_), Some(_)) => {
                return Err(fail("can't specify both count and end in with_sequence"));
            }
            (Some(e), None) => e,
            (None, Some(0)) => {
                start = 0;
                stride = 0;
                0
            }
            // Ansible's arithmetic, odd as it is for strides other than 1.
            (None, Some(c)) => c
                .checked_mul(stride)
                .and_then(|x| x.checked_add(start))
                .and_then(|x| x.checked_sub(1))
                .ok_or_else(|| fail("sequence: count is too large"))?,
        };
        if stride > 0 && end < start {
            return Err(fail("to count backwards make stride negative"));
        }
        if stride < 0 && end > start {
            return Err(fail("to count forward don't make stride negative"));
        }
        if format.matches('%').count() != 1 {
            return Err(fail(format!("bad formatting string: {format}")));
        }
        if stride == 0 {
            continue;
        }
        let span = (i128::from(end) - i128::from(start)) / i128::from(stride);
        if span > 1_000_000 {
            return Err(fail("sequence: more than a million items requested"));
        }
        // Python's range(start, end + adjust, stride).
        let stop = i128::from(end) + if stride > 0 { 1 } else { -1 };
        let mut i = i128::from(start);
        while (stride > 0 && i < stop) || (stride < 0 && i > stop) {
            out.push(Value::from(printf_int(&format, i as i64)?));
            i += i128::from(stride);
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

/// The characters a `chars=` entry of the `password` lookup stands for: the name of a
/// constant of Python's `string` module, or else the characters themselves.
fn char_set(name: &str) -> String {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    const PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    const WHITE: &str = " \t\n\r\x0b\x0c";
    match name {
        "ascii_letters" => format!("{LOWER}{UPPER}"),
        "ascii_lowercase" => LOWER.into(),
        "ascii_uppercase" => UPPER.into(),
        "digits" => DIGITS.into(),
        "hexdigits" => "0123456789abcdefABCDEF".into(),
        "octdigits" => "01234567".into(),
        "punctuation" => PUNCT.into(),
        "whitespace" => WHITE.into(),
        "printable" => format!("{DIGITS}{LOWER}{UPPER}{PUNCT}{WHITE}"),
        other => other.into(),
    }
}

/// The options of one `password` lookup term.
struct PasswordParams {
    length: usize,
    chars: Vec<String>,
    seed: Option<String>,
    encrypt: Option<Scheme>,
    ident: Option<String>,
}

/// `chars=` text: comma-separated entries, `,,` standing for a literal comma.
fn split_chars(v: &str) -> Vec<String> {
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
}

/// The path and options of a `password` term. As in Ansible, options written in the term
/// replace the keyword options entirely, and words without `=` belong to the path.
fn password_params(term: &str, kw: &Kwargs) -> Result<(String, PasswordParams), Error> {
    let mut p = PasswordParams {
        length: 20,
        chars: vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
        seed: None,
        encrypt: None,
        ident: None,
    };
    let mut given: Vec<(String, Value)> = Vec::new();
    let (mut path, rest) = match term.split_once(' ') {
        Some((a, b)) => (a.to_string(), b),
        None => (term.to_string(), ""),
    };
    for word in rest.split(' ').filter(|w| !w.is_empty()) {
        match word.split_once('=') {
            Some((k, v)) => given.push((k.to_string(), Value::from(v))),
            None if given.is_empty() => {
                path.push(' ');
                path.push_str(word);
            }
            None => {
                return Err(fail(
                    "Unrecognized value after key=value parameters given to password lookup",
                ));
            }
        }
    }
    let unknown: Vec<&str> = given
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !["length", "encrypt", "chars", "ident", "seed"].contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(fail(format!(
            "Unrecognized parameter(s) given to password lookup: {}",
            unknown.join(", ")
        )));
    }
    // Every keyword is read, so that none is reported unused even when the term's own
    // options win.
    let mut from_kw = Vec::new();
    for k in ["length", "encrypt", "chars", "ident", "seed"] {
        if let Some(v) = kw.get::<Option<Value>>(k)? {
            from_kw.push((k.to_string(), v));
        }
    }
    if given.is_empty() {
        given = from_kw;
    }
    for (k, v) in given {
        if v.is_none() {
            continue;
        }
        match k.as_str() {
            "length" => {
                p.length = to_text(&v).trim().parse().map_err(|_| {
                    fail(format!(
                        "Config 'length' for 'password' lookup plugin has an invalid value: \
                         Invalid value provided for 'integer': '{}'",
                        to_text(&v)
                    ))
                })?
            }
            "chars" => {
                p.chars = match v.as_str() {
                    Some(s) => split_chars(s),
                    None => items_of("password", &v)?.iter().map(to_text).collect(),
                }
            }
            "seed" => p.seed = Some(to_text(&v)),
            "encrypt" => p.encrypt = Some(Scheme::from_name(&to_text(&v)).map_err(fail)?),
            _ => p.ident = Some(to_text(&v)),
        }
    }
    Ok((path, p))
}

/// Ansible's `random_password`: `length` draws of `Random(seed).choice(chars)` (the
/// system's randomness without a seed), quotes taken out of the pool.
fn random_password(p: &PasswordParams) -> Result<String, Error> {
    let pool: Vec<char> = p
        .chars
        .iter()
        .flat_map(|c| char_set(c).chars().collect::<Vec<_>>())
        .filter(|c| *c != '"' && *c != '\'')
        .collect();
    if pool.is_empty() {
        return Err(fail(
            "password lookup: chars= gives no characters to choose from",
        ));
    }
    let mut rng = match &p.seed {
        Some(s) => PyRandom::new(Seed::Text(s)),
        None => PyRandom::from_entropy(),
    };
    Ok((0..p.length)
        .map(|_| pool[rng.below(pool.len() as u128) as usize])
        .collect())
}

/// The stored file's `password[ salt=SALT[ ident=IDENT]]`.
fn parse_password_file(content: &str) -> (String, Option<String>, Option<String>) {
    let Some(i) = content.rfind(" salt=") else {
        return (content.to_string(), None, None);
    };
    let (password, rem) = (&content[..i], &content[i + " salt=".len()..]);
    if rem.is_empty() {
        return (password.to_string(), None, None);
    }
    match rem.rfind(" ident=") {
        Some(j) => (
            password.to_string(),
            Some(rem[..j].to_string()),
            Some(rem[j + " ident=".len()..].to_string()),
        ),
        None => (password.to_string(), Some(rem.to_string()), None),
    }
}

/// Ansible's `password` lookup: the password stored in the file, or a new random one
/// written there (mode 0600, directories 0700); `/dev/null` never stores. With `encrypt=`
/// the file also keeps the salt (`password salt=...`) and the crypt hash is returned.
fn password(r: &Resolver, term: &str, kw: &Kwargs) -> Result<String, Error> {
    let (rel, params) = password_params(term, kw)?;
    let path = if Path::new(&rel).is_absolute() {
        PathBuf::from(&rel)
    } else {
        match var_str(r, "playbook_dir") {
            Some(d) => Path::new(&d).join(&rel),
            None => PathBuf::from(&rel),
        }
    };
    let null = path == Path::new("/dev/null");
    let stored = if null {
        None
    } else {
        match std::fs::read(&path) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).trim_end().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(fail(format!(
                    "password lookup: cannot read {}: {e}",
                    path.display()
                )));
            }
        }
    };
    let (plain, mut salt, mut ident, mut changed) = match stored {
        Some(content) => {
            let (p, s, i) = parse_password_file(&content);
            (p, s, i, false)
        }
        None => (random_password(&params)?, None, None, true),
    };
    if let Some(scheme) = params.encrypt
        && salt.is_none()
    {
        salt = Some(super::filters::crypt::random_salt(scheme.salt_size()));
        changed = true;
    }
    match (&ident, &params.ident) {
        (None, given) => ident = given.clone(),
        (Some(stored), Some(given)) if stored != given => {
            return Err(fail(format!(
                "The ident parameter provided ({given}) does not match the stored one ({stored})."
            )));
        }
        _ => {}
    }
    if changed && !null {
        let mut content = plain.clone();
        if let Some(s) = &salt {
            content.push_str(&format!(" salt={s}"));
            if let Some(i) = &ident {
                content.push_str(&format!(" ident={i}"));
            }
        }
        write_secret(&path, &format!("{content}\n")).map_err(|e| {
            fail(format!(
                "password lookup: cannot write {}: {e}",
                path.display()
            ))
        })?;
    }
    match params.encrypt {
        Some(scheme) => {
            if let Some(i) = ident {
                return Err(fail(format!(
                    "Could not hash the secret: ident={i} is only used by bcrypt"
                )));
            }
            super::filters::crypt::hash_password(&plain, scheme, salt.as_deref(), None, None)
                .map_err(fail)
        }
        None => Ok(plain),
    }
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

/// Hosts matching an inventory pattern, resolved from the `groups` variable as Ansible's
/// lookup does (it builds an inventory from it): `a,b` or `a:b` unions, `&` intersections
/// and `!` exclusions (applied in that order, from `all` when there is no plain term),
/// group and host names with globs, `~regex`, and `[i]`/`[x:y]` subscripts.
fn inventory_hostnames(r: &Resolver, pattern: &str) -> Vec<String> {
    let groups: Vec<(String, Vec<String>)> = match r.scope.get("groups") {
        Some(Json::Object(m)) => m
            .iter()
            .map(|(g, hosts)| {
                let hosts = match hosts {
                    Json::Array(a) => a
                        .iter()
                        .filter_map(|h| h.as_str().map(String::from))
                        .collect(),
                    _ => Vec::new(),
                };
                (g.clone(), hosts)
            })
            .collect(),
        _ => Vec::new(),
    };
    let all: Vec<String> = match groups.iter().find(|(g, _)| g == "all") {
        Some((_, hosts)) => hosts.clone(),
        None => r
            .scope
            .hostvars()
            .map(|h| h.host_names())
            .unwrap_or_default(),
    };
    let terms = split_host_pattern(pattern);
    let mut ordered: Vec<&str> = terms
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with('&') && !t.starts_with('!'))
        .collect();
    if ordered.is_empty() {
        ordered.push("all");
    }
    ordered.extend(
        terms
            .iter()
            .map(String::as_str)
            .filter(|t| t.starts_with('&')),
    );
    ordered.extend(
        terms
            .iter()
            .map(String::as_str)
            .filter(|t| t.starts_with('!')),
    );
    let mut out: Vec<String> = Vec::new();
    for term in ordered {
        if let Some(t) = term.strip_prefix('&') {
            let keep = match_host_term(&groups, &all, t);
            out.retain(|h| keep.contains(h));
        } else if let Some(t) = term.strip_prefix('!') {
            let drop = match_host_term(&groups, &all, t);
            out.retain(|h| !drop.contains(h));
        } else {
            for h in match_host_term(&groups, &all, term) {
                if !out.contains(&h) {
                    out.push(h);
                }
            }
        }
    }
    out
}

/// Ansible's `split_host_pattern`: on commas if there are any, else on colons outside
/// `[...]`.
fn split_host_pattern(pattern: &str) -> Vec<String> {
    static PARTS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("static regex")
    });
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(String::from).collect()
    } else {
        PARTS
            .find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The hosts one pattern term names: matching groups' hosts, then matching host names
/// (for globs and regexes even when a group matched), then the subscript.
fn match_host_term(groups: &[(String, Vec<String>)], all: &[String], term: &str) -> Vec<String> {
    static SUBSCRIPT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("static regex")
    });
    let (base, subscript) = match SUBSCRIPT.captures(term).filter(|_| !term.starts_with('~')) {
        Some(c) => {
            let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<i64>().ok());
            let sub = match num(2) {
                Some(i) => (i, None),
                None => (num(3).unwrap_or(0), Some(num(5).unwrap_or(-1))),
            };
            (c.get(1).map_or(term, |m| m.as_str()), Some(sub))
        }
        None => (term, None),
    };
    let matcher: Box<dyn Fn(&str) -> bool> = if let Some(re) = base.strip_prefix('~') {
        match super::filters::regex::compile(&format!("^(?:{re})"), false, false) {
            Ok(re) => Box::new(move |s: &str| re.is_match(s).unwrap_or(false)),
            Err(_) => Box::new(|_: &str| false),
        }
    } else if base.contains(['*', '?', '[']) {
        match globset::Glob::new(base) {
            Ok(g) => {
                let m = g.compile_matcher();
                Box::new(move |s: &str| m.is_match(s))
            }
            Err(_) => Box::new(|_: &str| false),
        }
    } else {
        let exact = base.to_string();
        Box::new(move |s: &str| s == exact)
    };
    let mut hosts: Vec<String> = Vec::new();
    let mut push = |h: &String| {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    };
    let mut group_matched = false;
    for (g, members) in groups {
        if matcher(g) {
            group_matched = true;
            members.iter().for_each(&mut push);
        }
    }
    if !group_matched || base.starts_with('~') || base.contains(['.', '?', '*', '[']) {
        all.iter().filter(|h| matcher(h)).for_each(&mut push);
    }
    let Some((start, end)) = subscript else {
        return hosts;
    };
    let len = hosts.len() as i64;
    let index = |i: i64| if i < 0 { len + i } else { i };
    // Ansible's `if end:` — an end of 0 means a single index, -1 the last host.
    match end.filter(|e| *e != 0) {
        Some(e) => {
            let e = if e == -1 { len - 1 } else { e };
            let (s, e) = (index(start).clamp(0, len), (e + 1).clamp(0, len));
            hosts
                .get(s as usize..e.max(s) as usize)
                .map(<[String]>::to_vec)
                .unwrap_or_default()
        }
        None => {
            let i = index(start);
            if (0..len).contains(&i) {
                vec![hosts[i as usize].clone()]
            } else {
                Vec::new()
            }
        }
    }
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
                None => {
                    return Err(fail(format!(
                        "could not find '{k}' key in iterated item '{}'",
                        crate::pyfmt::repr(&el)
                    )));
                }
                Some(Json::Array(_)) if last => {}
                Some(other) if last => {
                    return Err(fail(format!(
                        "the key {k} should point to a list, got '{}'",
                        crate::pyfmt::str(other)
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
    let text = if properties {
        format!("[java_properties]\n{text}")
    } else {
        text
    };
    let sections = parse_ini(&text, case_sensitive)?;
    let want = if properties {
        "java_properties".to_string()
    } else {
        section.clone()
    };
    let defaults: Vec<(String, String)> = sections
        .iter()
        .find(|(n, _)| n == "DEFAULT")
        .map(|(_, e)| e.clone())
        .unwrap_or_default();
    let Some((_, entries)) = sections.iter().find(|(n, _)| *n == want) else {
        return Err(fail(format!("No section '{want}' in '{file}'.")));
    };
    // A section's own keys first, then [DEFAULT]'s it does not override, as
    // ConfigParser.items() gives them.
    let mut all: Vec<(String, String)> = entries.clone();
    for (k, v) in defaults {
        if !all.iter().any(|(x, _)| *x == k) {
            all.push((k, v));
        }
    }
    if use_re {
        // re.match: anchored at the start only.
        let re = super::filters::regex::compile(&format!("^(?:{key})"), false, false)?;
        return Ok(Value::from(
            all.iter()
                .filter(|(k, _)| re.is_match(k).unwrap_or(false))
                .map(|(_, v)| Value::from(v.as_str()))
                .collect::<Vec<_>>(),
        ));
    }
    let key = if case_sensitive {
        key
    } else {
        key.to_lowercase()
    };
    Ok(match all.iter().find(|(k, _)| *k == key) {
        Some((_, v)) => Value::from(v.as_str()),
        None => Value::from(get("default", "")),
    })
}

/// A section's name and its keys and values, in file order.
type IniSection = (String, Vec<(String, String)>);

/// INI text read as Python's ConfigParser reads it: `[section]` headers, `key = value` or
/// `key: value` (keys lowercased unless case-sensitive), `#`/`;` comment lines, indented
/// continuation lines joined with newlines.
fn parse_ini(text: &str, case_sensitive: bool) -> Result<Vec<IniSection>, Error> {
    let mut sections: Vec<IniSection> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = line.len() != trimmed.len();
        if indented
            && let Some((_, entries)) = sections.last_mut()
            && let Some((_, v)) = entries.last_mut()
        {
            v.push('\n');
            v.push_str(trimmed);
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            sections.push((name.to_string(), Vec::new()));
            continue;
        }
        let Some((_, entries)) = sections.last_mut() else {
            return Err(fail("File contains no section headers."));
        };
        let (k, v) = match trimmed.find(['=', ':']) {
            Some(i) => (trimmed[..i].trim(), trimmed[i + 1..].trim()),
            None => {
                return Err(fail(format!(
                    "Source contains parsing errors: line {}: {trimmed}",
                    n + 1
                )));
            }
        };
        let k = if case_sensitive {
            k.to_string()
        } else {
            k.to_lowercase()
        };
        match entries.iter_mut().find(|(x, _)| *x == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => entries.push((k, v.to_string())),
        }
    }
    Ok(sections)
}

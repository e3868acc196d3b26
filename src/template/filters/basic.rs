//! Core filters where Ansible's behaviour differs from minijinja's builtins: `bool`,
//! `ternary`, `mandatory`, `int`/`float` with defaults, `string`, `list`, `join`, `split`,
//! `comment`, `type_debug`, `quote`, `to_uuid`, `strftime`, `urlsplit`, `random`, `shuffle`,
//! `indent`.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::{fail, items_of};
use crate::template::convert::{py_str, to_text};
use crate::template::pyrandom::{PyRandom, Seed};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict(env, "bool", to_bool);
    super::strict(env, "ternary", ternary);
    env.add_filter("mandatory", mandatory);
    super::strict(env, "int", to_int);
    super::strict(env, "float", to_float);
    super::strict(env, "string", to_string);
    super::strict(env, "list", to_list);
    super::strict(env, "join", join);
    super::strict(env, "split", split);
    super::strict(env, "comment", comment);
    super::strict(env, "type_debug", type_debug);
    super::strict(env, "quote", quote);
    super::strict(env, "to_uuid", to_uuid);
    super::strict(env, "strftime", strftime);
    super::strict(env, "urlsplit", urlsplit);
    super::strict(env, "shuffle", shuffle);
    super::strict(env, "center", center);
    super::strict(env, "version_sort", |v: Value| -> Result<Value, Error> {
        let mut items = items_of("version_sort", &v)?;
        items.sort_by(|a, b| crate::template::tests::loose_cmp(&to_text(a), &to_text(b)));
        Ok(Value::from(items))
    });
    super::strict(env, "truncate", truncate);
    super::strict(env, "wordcount", |v: Value| {
        to_text(&v)
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .count()
    });
    super::strict(env, "random", random);
    super::strict(env, "lower", |v: Value| to_text(&v).to_lowercase());
    super::strict(env, "upper", |v: Value| to_text(&v).to_uppercase());
    super::strict(env, "indent", indent);
}

/// Jinja2's `indent(width=4, first=False, blank=False)`, positional or by keyword; `width`
/// may be a string to indent with. Unlike minijinja's, a text ending in a newline keeps it:
/// Jinja appends a newline before splitting lines, so only that added one goes. Roles indent
/// YAML `|` block scalars (which end in a newline) into config files with it.
fn indent(
    v: Value,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kw: Kwargs,
) -> Result<String, Error> {
    let width = match kw.get::<Option<Value>>("width")? {
        Some(w) => Some(w),
        None => width,
    };
    let first = kw.get::<Option<bool>>("first")?.or(first).unwrap_or(false);
    let blank = kw.get::<Option<bool>>("blank")?.or(blank).unwrap_or(false);
    kw.assert_all_used()?;
    let indention = match width {
        None => " ".repeat(4),
        Some(w) if w.kind() == ValueKind::String => w.as_str().unwrap_or_default().to_string(),
        Some(w) => {
            let n = i64::try_from(w.clone()).map_err(|_| {
                fail(format!(
                    "indent: width must be a number or a string, got {w}"
                ))
            })?;
            " ".repeat(usize::try_from(n).unwrap_or(0))
        }
    };
    let mut text = to_text(&v);
    text.push('\n');
    let lines = py_splitlines(&text);
    let mut out = if blank {
        lines.join(&format!("\n{indention}"))
    } else {
        let mut it = lines.iter();
        let mut out = it.next().cloned().unwrap_or_default();
        for line in it {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&indention);
            }
            out.push_str(line);
        }
        out
    };
    if first {
        out.insert_str(0, &indention);
    }
    Ok(out)
}

/// Python's `str.splitlines()`: every line boundary Python knows, `\r\n` as one; no empty
/// last line.
fn py_splitlines(s: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut cur));
            }
            '\n' | '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => lines.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Ansible's `bool`: "yes"/"on"/"true"/"1" (any case) and 1 are true.
pub(crate) fn ansible_bool(v: &Value) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default().to_lowercase();
            matches!(s.as_str(), "yes" | "on" | "true" | "1")
        }
        ValueKind::Number => f64::try_from(v.clone()).is_ok_and(|f| f == 1.0),
        _ => false,
    }
}

fn to_bool(v: Value) -> Result<bool, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "bool got an undefined value",
        ));
    }
    Ok(ansible_bool(&v))
}

fn ternary(v: Value, true_val: Value, false_val: Value, none_val: Option<Value>) -> Value {
    if v.is_none()
        && let Some(n) = none_val
        && !n.is_none()
    {
        return n;
    }
    if v.is_true() { true_val } else { false_val }
}

fn mandatory(v: Value, msg: Option<String>) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(fail(
            msg.unwrap_or_else(|| "Mandatory variable not defined.".into()),
        ));
    }
    Ok(v)
}

fn parse_int(s: &str, base: u32) -> Option<i64> {
    if !(2..=36).contains(&base) {
        return None;
    }
    let t = s.trim().replace('_', "");
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d.to_string()),
        None => (false, t.strip_prefix('+').unwrap_or(&t).to_string()),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = match base {
        16 => (16, lower.strip_prefix("0x").unwrap_or(&lower).to_string()),
        8 => (8, lower.strip_prefix("0o").unwrap_or(&lower).to_string()),
        2 => (2, lower.strip_prefix("0b").unwrap_or(&lower).to_string()),
        b => (b, lower),
    };
    let n = i64::from_str_radix(&body, radix).ok()?;
    Some(if neg { -n } else { n })
}

/// Jinja's `int(default=0, base=10)`: strings like "3.7" truncate, unparsable input gives
/// the default.
fn to_int(v: Value, default: Option<Value>, base: Option<u32>, kw: Kwargs) -> Result<Value, Error> {
    let default = kw
        .get::<Option<Value>>("default")?
        .or(default)
        .unwrap_or(Value::from(0));
    let base = kw.get::<Option<u32>>("base")?.or(base).unwrap_or(10);
    kw.assert_all_used()?;
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(i64::from(v.is_true())),
        ValueKind::Number => {
            if v.is_integer() {
                v
            } else {
                match f64::try_from(v) {
                    Ok(f) if f.is_finite() => Value::from(f.trunc() as i64),
                    _ => default,
                }
            }
        }
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            if let Some(n) = parse_int(s, base) {
                Value::from(n)
            } else if base == 10 {
                match s.trim().parse::<f64>() {
                    Ok(f) if f.is_finite() => Value::from(f.trunc() as i64),
                    _ => default,
                }
            } else {
                default
            }
        }
        _ => default,
    })
}

fn to_float(v: Value, default: Option<Value>, kw: Kwargs) -> Result<Value, Error> {
    let default = kw
        .get::<Option<Value>>("default")?
        .or(default)
        .unwrap_or(Value::from(0.0));
    kw.assert_all_used()?;
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(if v.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => Value::from(f64::try_from(v).unwrap_or(0.0)),
        ValueKind::String => match v.as_str().unwrap_or_default().trim().parse::<f64>() {
            Ok(f) => Value::from(f),
            Err(_) => default,
        },
        _ => default,
    })
}

fn to_string(v: Value) -> Result<String, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "string got an undefined value",
        ));
    }
    Ok(py_str(&v))
}

fn to_list(v: Value) -> Result<Value, Error> {
    if let Some(s) = v.as_str() {
        return Ok(Value::from(
            s.chars()
                .map(|c| Value::from(c.to_string()))
                .collect::<Vec<_>>(),
        ));
    }
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "list got an undefined value",
        ));
    }
    Ok(Value::from(items_of("list", &v)?))
}

fn join(v: Value, sep: Option<String>, attribute: Option<Value>) -> Result<String, Error> {
    if let Some(s) = v.as_str() {
        let sep = sep.unwrap_or_default();
        return Ok(s
            .chars()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(&sep));
    }
    let items = items_of("join", &v)?;
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        let item = match &attribute {
            Some(a) => item.get_item(a)?,
            None => item,
        };
        if item.is_undefined() {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                "join met an undefined item",
            ));
        }
        parts.push(py_str(&item));
    }
    Ok(parts.join(&sep.unwrap_or_default()))
}

/// Python's `str.split(sep=None, maxsplit=-1)`.
pub(crate) fn py_split(s: &str, sep: Option<&str>, maxsplit: i64) -> Vec<String> {
    let max = if maxsplit < 0 {
        usize::MAX
    } else {
        maxsplit as usize
    };
    match sep {
        Some(sep) if !sep.is_empty() => {
            if max == usize::MAX {
                s.split(sep).map(String::from).collect()
            } else {
                s.splitn(max.saturating_add(1), sep)
                    .map(String::from)
                    .collect()
            }
        }
        _ => {
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if out.len() == max {
                    out.push(rest.trim_end().to_string());
                    break;
                }
                match rest.find(char::is_whitespace) {
                    Some(i) => {
                        out.push(rest[..i].to_string());
                        rest = rest[i..].trim_start();
                    }
                    None => {
                        out.push(rest.to_string());
                        break;
                    }
                }
            }
            out
        }
    }
}

fn split(v: Value, sep: Option<Value>, maxsplit: Option<i64>) -> Result<Value, Error> {
    let s = to_text(&v);
    let sep = sep.filter(|s| !s.is_none()).map(|s| to_text(&s));
    if sep.as_deref() == Some("") {
        return Err(fail("split: empty separator"));
    }
    Ok(Value::from(py_split(
        &s,
        sep.as_deref(),
        maxsplit.unwrap_or(-1),
    )))
}

fn kw_str(kw: &Kwargs, key: &str) -> Result<Option<String>, Error> {
    match kw.get::<Option<Value>>(key)? {
        Some(v) if !v.is_none() => Ok(Some(to_text(&v))),
        _ => Ok(None),
    }
}

/// Ansible's `comment(style='plain', decoration=, prefix=, prefix_count=, postfix=,
/// postfix_count=, beginning=, end=, newline=)`.
fn comment(text: Value, style: Option<String>, kw: Kwargs) -> Result<String, Error> {
    let text = to_text(&text);
    let style = match kw.get::<Option<String>>("style")? {
        Some(s) => s,
        None => style.unwrap_or_else(|| "plain".into()),
    };
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(fail(format!(
                "comment: invalid style '{other}'; available styles: plain, erlang, c, cblock, xml"
            )));
        }
    };
    let prepostfix = kw_str(&kw, "decoration")?.unwrap_or_else(|| decoration.to_string());
    let newline = kw_str(&kw, "newline")?.unwrap_or_else(|| "\n".into());
    let beginning = kw_str(&kw, "beginning")?.unwrap_or_else(|| beginning.to_string());
    let end = kw_str(&kw, "end")?.unwrap_or_else(|| end.to_string());
    // The decoration given as a keyword replaces the style's; prefix/postfix default to it.
    let deco = match kw_str(&kw, "decoration")? {
        Some(d) => d,
        None => decoration.to_string(),
    };
    let prefix = kw_str(&kw, "prefix")?.unwrap_or_else(|| prepostfix.trim_end().to_string());
    let postfix = kw_str(&kw, "postfix")?.unwrap_or_else(|| prepostfix.trim_end().to_string());
    let prefix_count = kw.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let postfix_count = kw.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    kw.assert_all_used()?;

    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        let unit = if prefix != newline {
            format!("{prefix}{newline}")
        } else {
            newline.clone()
        };
        out.push_str(&unit.repeat(prefix_count));
    }
    let body = format!(
        "{deco}{}",
        text.replace(&newline, &format!("{newline}{deco}"))
    );
    let body = body.replace(
        &format!("{deco}{newline}"),
        &format!("{}{newline}", deco.trim_end()),
    );
    out.push_str(&body);
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(out)
}

/// Python's type name of a value.
pub(crate) fn py_type_name(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

fn type_debug(v: Value) -> &'static str {
    py_type_name(&v)
}

fn quote(v: Value) -> String {
    let s = if v.is_none() {
        String::new()
    } else {
        to_text(&v)
    };
    if s.is_empty() {
        return "''".into();
    }
    // Python's shlex.quote writes an embedded quote as '"'"'; the shared routine as '\''.
    crate::connection::quote::quote(&s).replace("'\\''", "'\"'\"'")
}

/// Ansible's uuid namespace for `to_uuid`.
const ANSIBLE_NS: &str = "361e6d51-faec-444a-9079-341386da8e2e";

fn to_uuid(v: Value, namespace: Option<String>, kw: Kwargs) -> Result<String, Error> {
    let ns = kw
        .get::<Option<String>>("namespace")?
        .or(namespace)
        .unwrap_or_else(|| ANSIBLE_NS.into());
    kw.assert_all_used()?;
    let ns = uuid::Uuid::parse_str(&ns)
        .map_err(|e| fail(format!("to_uuid: invalid namespace '{ns}': {e}")))?;
    Ok(uuid::Uuid::new_v5(&ns, to_text(&v).as_bytes()).to_string())
}

/// `strftime(format, second=None, utc=False)`: formats a Unix time (now by default).
fn strftime(state: &State, fmt: Value, second: Option<Value>, kw: Kwargs) -> Result<Value, Error> {
    let utc: bool = kw.get::<Option<bool>>("utc")?.unwrap_or(false);
    kw.assert_all_used()?;
    let Some(fmt) = fmt.as_str() else {
        return Err(fail(format!(
            "strftime() argument 1 must be str, not {}",
            py_type_name(&fmt)
        )));
    };
    let fmt = c_locale_formats(fmt, utc);
    let ts = match second.filter(|v| !v.is_none()) {
        Some(v) => f64::try_from(v.clone())
            .or_else(|_| to_text(&v).trim().parse::<f64>())
            .map_err(|_| fail(format!("Invalid value for epoch value ({v})")))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
    };
    // The datetime filter formats in UTC; local time is UTC shifted by the local offset.
    let shifted = if utc {
        ts
    } else {
        ts + local_offset(ts) as f64
    };
    let kwargs = Kwargs::from_iter([("format", Value::from(fmt))]);
    minijinja_contrib::filters::datetimeformat(state, Value::from(shifted), kwargs).map(Value::from)
}

/// Spells out the C locale's composite conversions (`%c`, `%x`, `%X`, `%h`, `%r`) that
/// the date formatter lacks, and `%Z` as Python's `gmtime` names UTC; `%%` stays.
fn c_locale_formats(fmt: &str, utc: bool) -> String {
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('c') => out.push_str("%a %b %e %H:%M:%S %Y"),
            Some('x') => out.push_str("%m/%d/%y"),
            Some('X') => out.push_str("%H:%M:%S"),
            Some('h') => out.push_str("%b"),
            Some('r') => out.push_str("%I:%M:%S %p"),
            Some('Z') if utc => out.push_str("GMT"),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

fn urlsplit(v: Value, query: Option<String>) -> Result<Value, Error> {
    let url = to_text(&v);
    let (scheme, rest) = match url.find(':') {
        Some(i)
            if url[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && i > 0 =>
        {
            (url[..i].to_lowercase(), &url[i + 1..])
        }
        _ => (String::new(), url.as_str()),
    };
    let (netloc, rest) = match rest.strip_prefix("//") {
        Some(r) => {
            let end = r.find(['/', '?', '#']).unwrap_or(r.len());
            (&r[..end], &r[end..])
        }
        None => ("", rest),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((a, b)) => (a, b),
        None => (rest, ""),
    };
    let (path, q) = match rest.split_once('?') {
        Some((a, b)) => (a, b),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match netloc.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((a, b)) => (Value::from(a), Value::from(b)),
            None => (Value::from(u), Value::from(())),
        },
        None => (Value::from(()), Value::from(())),
    };
    let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
        match r.split_once(']') {
            Some((h, p)) => (h.to_string(), p.strip_prefix(':').unwrap_or("")),
            None => (r.to_string(), ""),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (hostport.to_string(), ""),
        }
    };
    let hostname = if host.is_empty() {
        Value::from(())
    } else {
        Value::from(host.to_lowercase())
    };
    let port = if port.is_empty() {
        Value::from(())
    } else {
        let n = port.parse::<i64>().map_err(|_| {
            fail(format!(
                "Port could not be cast to integer value as '{port}'"
            ))
        })?;
        // Python's urlsplit rejects ports outside 0..=65535 when `.port` is read.
        if !(0..=65535).contains(&n) {
            return Err(fail("Port out of range 0-65535"));
        }
        Value::from(n)
    };
    let fields: Vec<(&str, Value)> = vec![
        ("fragment", Value::from(fragment)),
        ("hostname", hostname),
        ("netloc", Value::from(netloc)),
        ("password", password),
        ("path", Value::from(path)),
        ("port", port),
        ("query", Value::from(q)),
        ("scheme", Value::from(scheme)),
        ("username", username),
    ];
    match query {
        Some(name) => fields
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
            .ok_or_else(|| fail(format!("urlsplit: unknown URL component: {name}"))),
        None => Ok(Value::from_pairs(fields)),
    }
}

/// The generator Ansible makes: `Random(seed)` for a seed, the system's randomness without.
pub(crate) fn generator(seed: Option<&Value>) -> Result<PyRandom, Error> {
    let Some(seed) = seed.filter(|s| !s.is_none() && !s.is_undefined()) else {
        return Ok(PyRandom::from_entropy());
    };
    Ok(match seed.kind() {
        ValueKind::Bool => PyRandom::new(Seed::Int(i128::from(seed.is_true()))),
        ValueKind::Number => match i128::try_from(seed.clone()) {
            Ok(i) => PyRandom::new(Seed::Int(i)),
            Err(_) => PyRandom::new(Seed::Float(f64::try_from(seed.clone())?)),
        },
        ValueKind::String => PyRandom::new(Seed::Text(seed.as_str().unwrap_or_default())),
        other => {
            return Err(fail(format!(
                "random: a seed must be a string or a number, got {other}"
            )));
        }
    })
}

/// Ansible's `shuffle`: a seeded (truthy seed) or unseeded `Random().shuffle` of a copy.
fn shuffle(v: Value, seed: Option<Value>, kw: Kwargs) -> Result<Value, Error> {
    let seed = match kw.get::<Option<Value>>("seed")? {
        Some(s) => Some(s),
        None => seed,
    };
    kw.assert_all_used()?;
    let mut items = if let Some(s) = v.as_str() {
        s.chars().map(|c| Value::from(c.to_string())).collect()
    } else {
        items_of("shuffle", &v)?
    };
    // Ansible seeds only with a truthy seed (`if seed:`).
    let seed = seed.filter(|s| s.is_true());
    generator(seed.as_ref())?.shuffle(&mut items);
    Ok(Value::from(items))
}

/// Ansible's `random`: `Random(seed).randrange(start, end, step)` for an integer, or
/// `.choice()` of a sequence.
fn random(v: Value, start: Option<i64>, step: Option<i64>, kw: Kwargs) -> Result<Value, Error> {
    let start = match kw.get::<Option<i64>>("start")? {
        Some(s) => Some(s),
        None => start,
    };
    let step = match kw.get::<Option<i64>>("step")? {
        Some(s) => Some(s),
        None => step,
    };
    let seed = kw.get::<Option<Value>>("seed")?;
    kw.assert_all_used()?;
    let mut rng = generator(seed.as_ref())?;
    if v.kind() == ValueKind::Number {
        let end = i64::try_from(v).map_err(|_| fail("random: end must be an integer"))?;
        // Python's `if not start`/`if not step`: zero means the default.
        let start = start.filter(|s| *s != 0).unwrap_or(0);
        let step = step.filter(|s| *s != 0).unwrap_or(1);
        let n = rng
            .randrange(i128::from(start), i128::from(end), i128::from(step))
            .map_err(fail)?;
        return Ok(Value::from(i64::try_from(n).unwrap_or(i64::MAX)));
    }
    if start.is_some_and(|s| s != 0) || step.is_some_and(|s| s != 0) {
        return Err(fail("start and step can only be used with integer values"));
    }
    let items = if let Some(s) = v.as_str() {
        s.chars().map(|c| Value::from(c.to_string())).collect()
    } else {
        items_of("random", &v)?
    };
    if items.is_empty() {
        return Err(fail("Cannot choose from an empty sequence"));
    }
    let k = rng.below(items.len() as u128) as usize;
    Ok(items[k].clone())
}

/// Jinja's `center(width=80)`.
fn center(v: Value, width: Option<usize>) -> String {
    let s = to_text(&v);
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if len >= width {
        return s;
    }
    let pad = width - len;
    // Python's str.center puts the odd space on the right unless both are odd.
    let left = pad / 2 + (pad & width & 1);
    format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left))
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(
    v: Value,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kw: Kwargs,
) -> Result<String, Error> {
    let length = kw.get::<Option<usize>>("length")?.or(length).unwrap_or(255);
    let killwords = kw
        .get::<Option<bool>>("killwords")?
        .or(killwords)
        .unwrap_or(false);
    let end = kw
        .get::<Option<String>>("end")?
        .or(end)
        .unwrap_or_else(|| "...".into());
    let leeway = kw.get::<Option<usize>>("leeway")?.unwrap_or(5);
    kw.assert_all_used()?;
    let s = to_text(&v);
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(s);
    }
    let keep: String = chars[..length.saturating_sub(end.chars().count())]
        .iter()
        .collect();
    if killwords {
        return Ok(format!("{keep}{end}"));
    }
    let cut = match keep.rfind(' ') {
        Some(i) => &keep[..i],
        None => keep.as_str(),
    };
    Ok(format!("{cut}{end}"))
}

/// The controller's UTC offset in seconds at Unix time `ts` (what Python's `time.localtime`
/// applies).
fn local_offset(ts: f64) -> i64 {
    let t = ts.floor() as libc::time_t;
    // SAFETY: localtime_r only writes into the `tm` we own; a zeroed `tm` is a valid value.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff
        }
    }
}

//! Regular-expression filters with Python `re` semantics: `regex_replace` (`\1`, `\g<name>`
//! in replacements, `ignorecase`, `multiline`, `count`), `regex_search` (group arguments),
//! `regex_findall`, `regex_escape`. Patterns go through fancy-regex, which accepts Python's
//! look-around and back-references.

use fancy_regex::{Captures, Regex};
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error};

use super::fail;
use crate::template::convert::to_text;

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict(env, "regex_replace", regex_replace);
    super::strict(env, "regex_search", regex_search);
    super::strict(env, "regex_findall", regex_findall);
    super::strict(env, "regex_escape", regex_escape);
}

/// Compiles a Python pattern with optional `re.I` / `re.M` flags.
pub(crate) fn compile(pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    let mut flags = String::new();
    if ignorecase {
        flags.push('i');
    }
    if multiline {
        flags.push('m');
    }
    // Python's `\Z` is the end of the text; Rust spells it `\z`.
    let translated = pattern.replace("\\Z", "\\z");
    let full = if flags.is_empty() {
        translated
    } else {
        format!("(?{flags}){translated}")
    };
    Regex::new(&full).map_err(|e| fail(format!("invalid regular expression '{pattern}': {e}")))
}

/// Python's `re` replacement template expansion: `\1`, `\g<1>`, `\g<name>`, `\n`, `\\`.
fn expand(template: &str, caps: &Captures, names: &[String]) -> Result<String, Error> {
    let mut out = String::new();
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    let group = |out: &mut String, key: &str| -> Result<(), Error> {
        let m = match key.parse::<usize>() {
            Ok(n) => {
                if n >= caps.len() {
                    return Err(fail(format!("invalid group reference {n}")));
                }
                caps.get(n)
            }
            Err(_) => {
                if !names.iter().any(|n| n == key) {
                    return Err(fail(format!("unknown group name '{key}'")));
                }
                caps.name(key)
            }
        };
        if let Some(m) = m {
            out.push_str(m.as_str());
        }
        Ok(())
    };
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        match n {
            'g' if chars.get(i + 2) == Some(&'<') => {
                let end = chars[i + 3..]
                    .iter()
                    .position(|&c| c == '>')
                    .ok_or_else(|| fail("missing > in group reference"))?;
                let name: String = chars[i + 3..i + 3 + end].iter().collect();
                group(&mut out, &name)?;
                i += 4 + end;
            }
            '0'..='9' => {
                let mut j = i + 1;
                while j < chars.len() && j < i + 3 && chars[j].is_ascii_digit() {
                    j += 1;
                }
                let num: String = chars[i + 1..j].iter().collect();
                group(&mut out, &num)?;
                i = j;
            }
            'n' => {
                out.push('\n');
                i += 2;
            }
            't' => {
                out.push('\t');
                i += 2;
            }
            'r' => {
                out.push('\r');
                i += 2;
            }
            '\\' => {
                out.push('\\');
                i += 2;
            }
            other => {
                out.push('\\');
                out.push(other);
                i += 2;
            }
        }
    }
    Ok(out)
}

/// `re.subn(pattern, replacement, value, count)`; returns the text and the substitutions.
pub(crate) fn py_sub(
    re: &Regex,
    replacement: &str,
    text: &str,
    count: usize,
) -> Result<(String, usize), Error> {
    let names: Vec<String> = re.capture_names().flatten().map(String::from).collect();
    let mut out = String::new();
    let mut last = 0;
    let mut n = 0;
    for caps in re.captures_iter(text) {
        let caps = caps.map_err(|e| fail(format!("regular expression failed: {e}")))?;
        let Some(m) = caps.get(0) else { continue };
        if count > 0 && n >= count {
            break;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str(&expand(replacement, &caps, &names)?);
        last = m.end();
        n += 1;
    }
    out.push_str(&text[last..]);
    Ok((out, n))
}

/// `regex_replace(pattern='', replacement='', ignorecase=False, multiline=False, count=0,
/// mandatory_count=0)`: the flags and counts may come by position too, as in Ansible.
fn regex_replace(
    v: Value,
    pattern: Option<String>,
    replacement: Option<String>,
    rest: Rest<Value>,
    kw: Kwargs,
) -> Result<String, Error> {
    if rest.len() > 4 {
        return Err(fail("regex_replace takes at most 6 arguments"));
    }
    let arg = |i: usize, name: &str| -> Result<Option<Value>, Error> {
        Ok(match kw.get::<Option<Value>>(name)? {
            Some(v) => Some(v),
            None => rest.get(i).cloned(),
        })
    };
    let flag = |v: Option<Value>| v.is_some_and(|v| v.is_true());
    let number = |v: Option<Value>, name: &str| -> Result<usize, Error> {
        match v {
            None => Ok(0),
            Some(v) => usize::try_from(v.clone()).map_err(|_| {
                fail(format!(
                    "regex_replace: {name} must be a non-negative integer, got {v}"
                ))
            }),
        }
    };
    let ignorecase = flag(arg(0, "ignorecase")?);
    let multiline = flag(arg(1, "multiline")?);
    let count = number(arg(2, "count")?, "count")?;
    let mandatory = number(arg(3, "mandatory_count")?, "mandatory_count")?;
    kw.assert_all_used()?;
    let text = to_text(&v);
    let pattern = pattern.unwrap_or_default();
    let re = compile(&pattern, ignorecase, multiline)?;
    let (out, subs) = py_sub(&re, &replacement.unwrap_or_default(), &text, count)?;
    if mandatory > 0 && mandatory != subs {
        return Err(fail(format!(
            "'{pattern}' should match {mandatory} times, but matches {subs} times in '{text}'"
        )));
    }
    Ok(out)
}

fn regex_search(
    v: Value,
    pattern: String,
    groups: Rest<String>,
    kw: Kwargs,
) -> Result<Value, Error> {
    let ignorecase = kw.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kw.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kw.assert_all_used()?;
    let text = to_text(&v);
    let re = compile(&pattern, ignorecase, multiline)?;
    // Group arguments are checked before searching, as Python does.
    let mut wanted: Vec<Result<usize, String>> = Vec::new();
    for g in groups.iter() {
        if let Some(name) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            wanted.push(name.parse::<usize>().map_err(|_| name.to_string()));
        } else if let Some(num) = g.strip_prefix('\\') {
            let n: usize = num
                .parse()
                .map_err(|_| fail(format!("regex_search: unknown argument '{g}'")))?;
            wanted.push(Ok(n));
        } else {
            return Err(fail(format!(
                "regex_search: unknown argument '{g}'; use '\\\\1' or '\\\\g<name>'"
            )));
        }
    }
    let caps = re
        .captures(&text)
        .map_err(|e| fail(format!("regular expression failed: {e}")))?;
    let Some(caps) = caps else {
        return Ok(Value::from(()));
    };
    if wanted.is_empty() {
        return Ok(Value::from(caps.get(0).map(|m| m.as_str()).unwrap_or("")));
    }
    let mut out = Vec::new();
    for w in wanted {
        let m = match w {
            Ok(n) => caps.get(n),
            Err(name) => caps.name(&name),
        };
        out.push(
            m.map(|m| Value::from(m.as_str()))
                .unwrap_or(Value::from(())),
        );
    }
    Ok(Value::from(out))
}

fn regex_findall(v: Value, pattern: String, kw: Kwargs) -> Result<Value, Error> {
    let ignorecase = kw.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kw.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kw.assert_all_used()?;
    let text = to_text(&v);
    let re = compile(&pattern, ignorecase, multiline)?;
    let mut out = Vec::new();
    for caps in re.captures_iter(&text) {
        let caps = caps.map_err(|e| fail(format!("regular expression failed: {e}")))?;
        // Like Python: no groups gives the matches, one group its text, more a tuple.
        match caps.len() {
            1 => out.push(Value::from(caps.get(0).map(|m| m.as_str()).unwrap_or(""))),
            2 => out.push(Value::from(caps.get(1).map(|m| m.as_str()).unwrap_or(""))),
            n => out.push(Value::from(
                (1..n)
                    .map(|i| Value::from(caps.get(i).map(|m| m.as_str()).unwrap_or("")))
                    .collect::<Vec<_>>(),
            )),
        }
    }
    Ok(Value::from(out))
}

fn regex_escape(v: Value, re_type: Option<String>, kw: Kwargs) -> Result<String, Error> {
    let re_type = match kw.get::<Option<String>>("re_type")? {
        Some(t) => Some(t),
        None => re_type,
    };
    kw.assert_all_used()?;
    let text = to_text(&v);
    match re_type.as_deref().unwrap_or("python") {
        "python" => {
            // Python 3.7+ `re.escape`: escapes only regex-special characters.
            let mut out = String::new();
            for c in text.chars() {
                if "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            Ok(out)
        }
        "posix_basic" => {
            let mut out = String::new();
            for c in text.chars() {
                if "].[^$*\\".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            Ok(out)
        }
        other => Err(fail(format!(
            "regex_escape: regex type ({other}) not supported"
        ))),
    }
}

//! Ansible's Jinja tests (`x is ...`): regex tests (`match`, `search`, `regex`), `version`
//! comparison with Python LooseVersion ordering, task-result tests (`succeeded`, `failed`,
//! `changed`, `skipped`...), `truthy`/`falsy`, `contains`, `subset`/`superset`, `any`/`all`,
//! and controller-side path tests (`file`, `directory`, `link`, `exists`, `abs`).

use std::cmp::Ordering;
use std::path::Path;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::convert::to_text;
use super::filters::{fail, items_of, regex::compile};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_test("defined", |v: Value| !v.is_undefined());
    env.add_test("undefined", |v: Value| v.is_undefined());
    env.add_test("match", |v: Value, p: String, kw: Kwargs| {
        regex_test(v, p, kw, Mode::Match)
    });
    env.add_test("search", |v: Value, p: String, kw: Kwargs| {
        regex_test(v, p, kw, Mode::Search)
    });
    env.add_test("regex", regex_generic);
    env.add_test("version", version_test);
    env.add_test("version_compare", version_test);
    for name in ["succeeded", "success", "successful"] {
        env.add_test(name, |v: Value| -> Result<bool, Error> { Ok(!failed(&v)?) });
    }
    env.add_test("failed", |v: Value| failed(&v));
    env.add_test("failure", |v: Value| failed(&v));
    env.add_test("changed", |v: Value| result_flag(&v, "changed", "changed"));
    env.add_test("change", |v: Value| result_flag(&v, "changed", "change"));
    env.add_test("skipped", |v: Value| result_flag(&v, "skipped", "skipped"));
    env.add_test("skip", |v: Value| result_flag(&v, "skipped", "skip"));
    env.add_test("unreachable", |v: Value| {
        result_flag(&v, "unreachable", "unreachable")
    });
    env.add_test("finished", |v: Value| -> Result<bool, Error> {
        Ok(v.get_attr("finished")
            .map(|f| f.is_undefined() || f.is_true())
            .unwrap_or(true))
    });
    env.add_test("truthy", |v: Value| v.is_true());
    env.add_test("falsy", |v: Value| !v.is_true());
    env.add_test("contains", |v: Value, x: Value| -> Result<bool, Error> {
        Ok(items_of("contains", &v)?.contains(&x))
    });
    env.add_test("subset", |a: Value, b: Value| -> Result<bool, Error> {
        let bs = items_of("subset", &b)?;
        Ok(items_of("subset", &a)?.iter().all(|x| bs.contains(x)))
    });
    env.add_test("superset", |a: Value, b: Value| -> Result<bool, Error> {
        let as_ = items_of("superset", &a)?;
        Ok(items_of("superset", &b)?.iter().all(|x| as_.contains(x)))
    });
    env.add_test("any", |v: Value| -> Result<bool, Error> {
        Ok(items_of("any", &v)?.iter().any(|x| x.is_true()))
    });
    env.add_test("all", |v: Value| -> Result<bool, Error> {
        Ok(items_of("all", &v)?.iter().all(|x| x.is_true()))
    });
    // Jinja: anything with a length and indexing, strings and dicts included.
    env.add_test("sequence", |v: Value| {
        matches!(
            v.kind(),
            ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Bytes
        )
    });
    env.add_test("float", |v: Value| {
        v.kind() == ValueKind::Number && !v.is_integer()
    });
    env.add_test("file", |v: Value| Path::new(&to_text(&v)).is_file());
    env.add_test("directory", |v: Value| Path::new(&to_text(&v)).is_dir());
    env.add_test("link", |v: Value| Path::new(&to_text(&v)).is_symlink());
    env.add_test("exists", |v: Value| {
        let p = to_text(&v);
        Path::new(&p).exists() || Path::new(&p).is_symlink()
    });
    env.add_test("abs", |v: Value| to_text(&v).starts_with('/'));
    env.add_test("same_file", |a: Value, b: Value| {
        match (
            Path::new(&to_text(&a)).canonicalize(),
            Path::new(&to_text(&b)).canonicalize(),
        ) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    });
}

#[derive(Clone, Copy)]
enum Mode {
    Match,
    Search,
}

fn regex_test(v: Value, pattern: String, kw: Kwargs, mode: Mode) -> Result<bool, Error> {
    let ignorecase = kw.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kw.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kw.assert_all_used()?;
    let text = to_text(&v);
    let pattern = match mode {
        // `re.match` anchors at the start only.
        Mode::Match => format!(r"\A(?:{pattern})"),
        Mode::Search => pattern,
    };
    let re = compile(&pattern, ignorecase, multiline)?;
    re.is_match(&text)
        .map_err(|e| fail(format!("regular expression failed: {e}")))
}

fn regex_generic(v: Value, pattern: String, kw: Kwargs) -> Result<bool, Error> {
    let match_type = kw
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| "search".into());
    let mode = match match_type.as_str() {
        "match" => Mode::Match,
        "search" => Mode::Search,
        "fullmatch" => {
            let ignorecase = kw.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
            let multiline = kw.get::<Option<bool>>("multiline")?.unwrap_or(false);
            kw.assert_all_used()?;
            let re = compile(&format!(r"\A(?:{pattern})\z"), ignorecase, multiline)?;
            return re
                .is_match(&to_text(&v))
                .map_err(|e| fail(format!("regular expression failed: {e}")));
        }
        other => return Err(fail(format!("regex: invalid match_type '{other}'"))),
    };
    regex_test(v, pattern, kw, mode)
}

fn as_result(v: &Value, test: &str) -> Result<(), Error> {
    if v.kind() != ValueKind::Map {
        return Err(fail(format!(
            "the '{test}' test expects a registered task result (a dictionary), got {}",
            v.kind()
        )));
    }
    Ok(())
}

fn failed(v: &Value) -> Result<bool, Error> {
    as_result(v, "failed")?;
    let f = v.get_attr("failed").unwrap_or(Value::UNDEFINED);
    Ok(!f.is_undefined() && f.is_true())
}

fn result_flag(v: &Value, key: &str, test: &str) -> Result<bool, Error> {
    as_result(v, test)?;
    let f = v.get_attr(key).unwrap_or(Value::UNDEFINED);
    if key == "changed" && f.is_undefined() {
        // A loop result is changed when any item changed.
        if let Ok(results) = v.get_attr("results")
            && let Ok(items) = results.try_iter()
        {
            return Ok(items.into_iter().any(|r| {
                r.get_attr("changed")
                    .map(|c| !c.is_undefined() && c.is_true())
                    .unwrap_or(false)
            }));
        }
    }
    Ok(!f.is_undefined() && f.is_true())
}

/// One component of a LooseVersion: numbers compare as numbers, words as text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Num(u64),
    Word(String),
}

fn loose_parts(v: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_num: Option<bool> = None;
    let flush = |cur: &mut String, cur_num: &mut Option<bool>, out: &mut Vec<Part>| {
        if !cur.is_empty() {
            match cur_num {
                Some(true) => out.push(Part::Num(cur.parse().unwrap_or(u64::MAX))),
                _ => out.push(Part::Word(cur.clone())),
            }
        }
        cur.clear();
        *cur_num = None;
    };
    for c in v.chars() {
        if c == '.' {
            flush(&mut cur, &mut cur_num, &mut out);
            continue;
        }
        let is_num = c.is_ascii_digit();
        if cur_num.is_some_and(|n| n != is_num) {
            flush(&mut cur, &mut cur_num, &mut out);
        }
        cur_num = Some(is_num);
        cur.push(c);
    }
    flush(&mut cur, &mut cur_num, &mut out);
    out
}

/// Python's LooseVersion ordering (numbers before words when types differ, as Ansible's
/// compat implementation orders them).
pub(crate) fn loose_cmp(a: &str, b: &str) -> Ordering {
    let (pa, pb) = (loose_parts(a), loose_parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let o = match (x, y) {
            (Part::Num(m), Part::Num(n)) => m.cmp(n),
            (Part::Word(m), Part::Word(n)) => m.cmp(n),
            (Part::Num(_), Part::Word(_)) => Ordering::Less,
            (Part::Word(_), Part::Num(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

/// `version(other, operator='eq', strict=False, version_type=None)`.
fn version_test(v: Value, other: Value, op: Option<String>, kw: Kwargs) -> Result<bool, Error> {
    let op = match kw.get::<Option<String>>("operator")? {
        Some(o) => o,
        None => op.unwrap_or_else(|| "eq".into()),
    };
    let _ = kw.get::<Option<bool>>("strict")?;
    let vt = kw.get::<Option<String>>("version_type")?;
    kw.assert_all_used()?;
    let a = to_text(&v);
    let b = to_text(&other);
    if a.is_empty() {
        return Err(fail(
            "version test: the input version value cannot be empty",
        ));
    }
    if b.is_empty() {
        return Err(fail(
            "version test: the version value to compare against cannot be empty",
        ));
    }
    let ord = match vt.as_deref() {
        Some("semver") | Some("semantic") => semver_cmp(&a, &b)?,
        _ => loose_cmp(&a, &b),
    };
    Ok(match op.as_str() {
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        other => {
            return Err(fail(format!(
                "version test: invalid operator type ({other})"
            )));
        }
    })
}

fn semver_cmp(a: &str, b: &str) -> Result<Ordering, Error> {
    let parse = |s: &str| -> Result<(Vec<u64>, Option<String>), Error> {
        let s = s.trim_start_matches('v');
        let core = s.split('+').next().unwrap_or(s);
        let (nums, pre) = match core.split_once('-') {
            Some((n, p)) => (n, Some(p.to_string())),
            None => (core, None),
        };
        let parts: Result<Vec<u64>, _> = nums.split('.').map(|p| p.parse::<u64>()).collect();
        let parts = parts.map_err(|_| fail(format!("invalid semantic version '{s}'")))?;
        Ok((parts, pre))
    };
    let (na, pa) = parse(a)?;
    let (nb, pb) = parse(b)?;
    Ok(na.cmp(&nb).then_with(|| match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => loose_cmp(&x, &y),
    }))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn loose_version_orders_like_python() {
        assert_eq!(loose_cmp("1.10", "1.9"), Ordering::Greater);
        assert_eq!(loose_cmp("1.2.0", "1.2"), Ordering::Greater);
        assert_eq!(loose_cmp("2.4.1", "2.4.1"), Ordering::Equal);
        assert_eq!(loose_cmp("1.2a", "1.2"), Ordering::Greater);
        assert_eq!(loose_cmp("12", "9"), Ordering::Greater);
    }
}

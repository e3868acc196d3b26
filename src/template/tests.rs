//! Ansible's Jinja tests (`x is ...`): regex tests (`match`, `search`, `regex`), `version`
//! comparison with Python LooseVersion ordering, task-result tests (`succeeded`, `failed`,
//! `changed`, `skipped`...), `truthy`/`falsy`, `contains`, `subset`/`superset`, `any`/`all`,
//! and controller-side path tests (`file`, `directory`, `link`, `exists`, `abs`).

use std::path::Path;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::convert::to_text;
use super::filters::{fail, items_of, regex::compile};
pub(crate) use super::version::loose_cmp;
use super::version::{Op, Scheme};

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
    env.add_test("truthy", |v: Value, kw: Kwargs| truthy(&v, &kw));
    env.add_test("falsy", |v: Value, kw: Kwargs| {
        Ok::<_, Error>(!truthy(&v, &kw)?)
    });
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
    // Controller-side path tests, each with Ansible's `is_` alias (os.path semantics:
    // `exists` follows symlinks, `link_exists` does not).
    for (name, alias, f) in [
        (
            "file",
            "is_file",
            (|p: &Path| p.is_file()) as fn(&Path) -> bool,
        ),
        ("directory", "is_dir", |p: &Path| p.is_dir()),
        ("link", "is_link", |p: &Path| p.is_symlink()),
        ("exists", "exists", |p: &Path| p.exists()),
        ("link_exists", "link_exists", |p: &Path| {
            p.exists() || p.is_symlink()
        }),
        ("abs", "is_abs", |p: &Path| p.is_absolute()),
        ("mount", "is_mount", is_mount),
    ] {
        let test = move |v: Value| -> Result<bool, Error> { Ok(f(Path::new(&path_arg(&v)?))) };
        env.add_test(name, test);
        env.add_test(alias, test);
    }
    let same_file = |a: Value, b: Value| -> Result<bool, Error> {
        let canon = |v: &Value| -> Result<std::path::PathBuf, Error> {
            let p = path_arg(v)?;
            Path::new(&p)
                .canonicalize()
                .map_err(|e| fail(format!("[Errno 2] {e}: '{p}'")))
        };
        Ok(canon(&a)? == canon(&b)?)
    };
    env.add_test("same_file", same_file);
    env.add_test("is_same_file", same_file);
}

/// `truthy(convert_bool=False)`: with `convert_bool`, Ansible's boolean spellings ('no',
/// 'off', 'f', '0'...) count first; anything else falls back to Python truth.
fn truthy(v: &Value, kw: &Kwargs) -> Result<bool, Error> {
    let convert = kw
        .get::<Option<Value>>("convert_bool")?
        .is_some_and(|c| c.is_true());
    kw.assert_all_used()?;
    if convert {
        match v.kind() {
            ValueKind::String => {
                let s = v.as_str().unwrap_or_default().trim().to_lowercase();
                if ["y", "yes", "on", "1", "true", "t"].contains(&s.as_str()) {
                    return Ok(true);
                }
                if ["n", "no", "off", "0", "false", "f"].contains(&s.as_str()) {
                    return Ok(false);
                }
            }
            ValueKind::Number => {
                if let Ok(f) = f64::try_from(v.clone()) {
                    if f == 1.0 {
                        return Ok(true);
                    }
                    if f == 0.0 {
                        return Ok(false);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(v.is_true())
}

/// A path test's argument: a string, as `os.path` requires.
fn path_arg(v: &Value) -> Result<String, Error> {
    match v.as_str() {
        Some(s) => Ok(s.to_string()),
        None => Err(fail(format!(
            "expected str, bytes or os.PathLike object, not {}",
            super::filters::py_type_name(v)
        ))),
    }
}

/// `os.path.ismount`: `/`, or a directory on another device than its parent (or the same
/// inode as its parent).
fn is_mount(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return false;
    };
    if !meta.is_dir() {
        return false;
    }
    let Ok(parent) = std::fs::symlink_metadata(p.join("..")) else {
        return false;
    };
    meta.dev() != parent.dev() || meta.ino() == parent.ino()
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

/// `version(other, operator='eq', strict=None, version_type=None)`, Ansible's checks and
/// messages included.
fn version_test(v: Value, other: Value, op: Option<String>, kw: Kwargs) -> Result<bool, Error> {
    let op = match kw.get::<Option<String>>("operator")? {
        Some(o) => o,
        None => op.unwrap_or_else(|| "eq".into()),
    };
    let strict = kw.get::<Option<Value>>("strict")?.filter(|s| !s.is_none());
    let vt = kw
        .get::<Option<Value>>("version_type")?
        .filter(|s| !s.is_none());
    kw.assert_all_used()?;
    if strict.is_some() && vt.is_some() {
        return Err(fail("Cannot specify both 'strict' and 'version_type'"));
    }
    if !v.is_true() {
        return Err(fail("Input version value cannot be empty"));
    }
    if !other.is_true() {
        return Err(fail("Version parameter to compare against cannot be empty"));
    }
    let scheme = if strict.is_some_and(|s| s.is_true()) {
        Scheme::Strict
    } else if let Some(t) = vt {
        Scheme::parse(&to_text(&t)).map_err(fail)?
    } else {
        Scheme::Loose
    };
    let op = Op::parse(&op).map_err(fail)?;
    super::version::compare(scheme, &to_text(&v), &to_text(&other), op)
        .map_err(|e| fail(format!("Version comparison failed: {e}")))
}

#[cfg(test)]
mod unit {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn loose_version_orders_like_python() {
        assert_eq!(loose_cmp("1.10", "1.9"), Ordering::Greater);
        assert_eq!(loose_cmp("1.2.0", "1.2"), Ordering::Greater);
        assert_eq!(loose_cmp("2.4.1", "2.4.1"), Ordering::Equal);
        assert_eq!(loose_cmp("1.2a", "1.2"), Ordering::Greater);
        assert_eq!(loose_cmp("12", "9"), Ordering::Greater);
    }
}

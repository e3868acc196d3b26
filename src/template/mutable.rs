//! In-place mutation (`{% set _ = l.append(x) %}`, `d.update(...)`), which Ansible's Python
//! values allow and minijinja's immutable values do not. When a template calls a mutating
//! method on a name it created with `{% set name = ... %}`, that `set` is rewritten to
//! `{% set name = __jig_mut(...) %}`, which wraps the list or dict in a shared mutable object;
//! the method calls then change it in place, also from inside loops. Mutating a value that
//! came from the inventory or vars is still refused (see `methods`).

use std::sync::{Arc, Mutex, OnceLock};

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

use super::convert::py_repr;

/// The name of the wrapping function the rewrite calls.
pub(crate) const MUT_FN: &str = "__jig_mut";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `__jig_mut(v)`: a mutable copy of a list or dict; anything else unchanged.
pub(crate) fn make_mut(v: Value) -> Result<Value, Error> {
    Ok(match v.kind() {
        ValueKind::Seq | ValueKind::Iterable
            if v.as_object()
                .is_none_or(|o| o.downcast_ref::<MutList>().is_none()) =>
        {
            Value::from_object(MutList(Mutex::new(v.try_iter()?.collect())))
        }
        ValueKind::Map
            if v.as_object()
                .is_none_or(|o| o.downcast_ref::<MutMap>().is_none()) =>
        {
            let mut m = IndexMap::new();
            for k in v.try_iter()? {
                let item = v.get_item(&k)?;
                m.insert(k, item);
            }
            Value::from_object(MutMap(Mutex::new(m)))
        }
        _ => v,
    })
}

fn arg(args: &[Value], i: usize, method: &str) -> Result<Value, Error> {
    args.get(i).cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::MissingArgument,
            format!("{method}() is missing an argument"),
        )
    })
}

/// A list that template code can change in place.
#[derive(Debug)]
pub(crate) struct MutList(Mutex<Vec<Value>>);

impl Object for MutList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = lock(&self.0);
        let idx = i64::try_from(key.clone()).ok()?;
        let idx = if idx < 0 {
            items.len() as i64 + idx
        } else {
            idx
        };
        items.get(usize::try_from(idx).ok()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.0).clone())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let mut items = lock(&self.0);
        match method {
            "append" => items.push(arg(args, 0, method)?),
            "extend" => items.extend(arg(args, 0, method)?.try_iter()?),
            "insert" => {
                let at = i64::try_from(arg(args, 0, method)?)?;
                let len = items.len() as i64;
                let at = if at < 0 {
                    (len + at).max(0)
                } else {
                    at.min(len)
                } as usize;
                items.insert(at, arg(args, 1, method)?);
            }
            "pop" => {
                let len = items.len() as i64;
                let at = match args.first() {
                    Some(i) => i64::try_from(i.clone())?,
                    None => -1,
                };
                let at = if at < 0 { len + at } else { at };
                if at < 0 || at >= len {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "pop index out of range",
                    ));
                }
                return Ok(items.remove(at as usize));
            }
            "remove" => {
                let x = arg(args, 0, method)?;
                match items.iter().position(|i| *i == x) {
                    Some(p) => {
                        items.remove(p);
                    }
                    None => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            "list.remove(x): x not in list",
                        ));
                    }
                }
            }
            "clear" => items.clear(),
            "reverse" => items.reverse(),
            "sort" => {
                // `sort(reverse=False)`; a `key=` function has no Jinja spelling.
                let reverse = args
                    .last()
                    .and_then(|a| minijinja::value::Kwargs::try_from(a.clone()).ok())
                    .and_then(|k| k.get::<Option<bool>>("reverse").ok().flatten())
                    .unwrap_or(false);
                items.sort();
                if reverse {
                    items.reverse();
                }
            }
            "copy" => return Ok(Value::from(items.clone())),
            "count" => {
                let x = arg(args, 0, method)?;
                return Ok(Value::from(items.iter().filter(|i| **i == x).count()));
            }
            "index" => {
                let x = arg(args, 0, method)?;
                return items
                    .iter()
                    .position(|i| *i == x)
                    .map(Value::from)
                    .ok_or_else(|| {
                        Error::new(ErrorKind::InvalidOperation, "value is not in list")
                    });
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        Ok(Value::from(()))
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&py_repr(&Value::from(lock(&self.0).clone())))
    }
}

/// A dict that template code can change in place.
#[derive(Debug)]
pub(crate) struct MutMap(Mutex<IndexMap<Value, Value>>);

impl Object for MutMap {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        lock(&self.0).get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.0).keys().cloned().collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.0).len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let mut m = lock(&self.0);
        match method {
            "update" => {
                for other in args {
                    if other.is_kwargs() || other.kind() == ValueKind::Map {
                        for k in other.try_iter()? {
                            let v = other.get_item(&k)?;
                            m.insert(k, v);
                        }
                    }
                }
            }
            "__setitem__" => {
                m.insert(arg(args, 0, method)?, arg(args, 1, method)?);
            }
            "setdefault" => {
                let k = arg(args, 0, method)?;
                let d = args.get(1).cloned().unwrap_or(Value::from(()));
                return Ok(m.entry(k).or_insert(d).clone());
            }
            "pop" => {
                let k = arg(args, 0, method)?;
                return match m.shift_remove(&k) {
                    Some(v) => Ok(v),
                    None => args.get(1).cloned().ok_or_else(|| {
                        Error::new(ErrorKind::InvalidOperation, format!("key {k} not found"))
                    }),
                };
            }
            "clear" => m.clear(),
            "get" => {
                let k = arg(args, 0, method)?;
                return Ok(m
                    .get(&k)
                    .cloned()
                    .unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::from(()))));
            }
            "keys" => return Ok(Value::from(m.keys().cloned().collect::<Vec<_>>())),
            "values" => return Ok(Value::from(m.values().cloned().collect::<Vec<_>>())),
            "items" => {
                return Ok(Value::from(
                    m.iter()
                        .map(|(k, v)| Value::from(vec![k.clone(), v.clone()]))
                        .collect::<Vec<_>>(),
                ));
            }
            "copy" => {
                return Ok(Value::from_pairs(
                    m.iter().map(|(k, v)| (k.clone(), v.clone())),
                ));
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        Ok(Value::from(()))
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = lock(&self.0);
        f.write_str(&py_repr(&Value::from_pairs(
            m.iter().map(|(k, v)| (k.clone(), v.clone())),
        )))
    }
}

fn mutating_call_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?:^|[^.\w])([A-Za-z_]\w*)\.(?:append|extend|insert|update|setdefault|__setitem__|pop|remove|clear|reverse)\(",
        )
        .expect("constant regex is valid")
    })
}

/// Rewrites `{% set name = expr %}` to `{% set name = __jig_mut(expr) %}` for every name the
/// template mutates. `block` holds the block delimiters.
pub(crate) fn rewrite(src: &str, block: (&str, &str)) -> Option<String> {
    let names: Vec<&str> = mutating_call_re()
        .captures_iter(src)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    if names.is_empty() {
        return None;
    }
    let (open, close) = block;
    let mut out = String::with_capacity(src.len() + 32);
    let mut rest = src;
    let mut changed = false;
    while let Some(p) = rest.find(open) {
        out.push_str(&rest[..p + open.len()]);
        let body = &rest[p + open.len()..];
        let Some(end) = body.find(close) else {
            out.push_str(body);
            rest = "";
            break;
        };
        let inner = &body[..end];
        let (inner_core, trail) = match inner.strip_suffix('-') {
            Some(c) => (c, "-"),
            None => (inner, ""),
        };
        let t = inner_core.trim_start_matches('-').trim_start();
        let mut rewritten = None;
        if let Some(after_set) = t.strip_prefix("set ")
            && let Some((lhs, rhs)) = after_set.split_once('=')
        {
            let name = lhs.trim();
            if !rhs.starts_with('=') && names.contains(&name) {
                let lead = &inner_core[..inner_core.len() - t.len()];
                rewritten = Some(format!(
                    "{lead}set {name} = {MUT_FN}({}) {trail}",
                    rhs.trim()
                ));
            }
        }
        match rewritten {
            Some(r) => {
                out.push_str(&r);
                changed = true;
            }
            None => out.push_str(inner),
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

//! Python methods called on values inside expressions (`x.split(',')`, `d.items()`,
//! `s.startswith('a')`...). minijinja-contrib's pycompat covers most; the ones it lacks are
//! added here. Mutating methods (`append`, `update`...) cannot change minijinja's immutable
//! values; they fail with an error that shows the immutable way to write the same thing.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

use super::convert::to_text;
use super::filters::core_split;

fn arg_str(args: &[Value], i: usize) -> Option<String> {
    args.get(i).filter(|v| !v.is_none()).map(to_text)
}

fn arg_int(args: &[Value], i: usize) -> Option<i64> {
    args.get(i).and_then(|v| i64::try_from(v.clone()).ok())
}

fn mutation_error(method: &str) -> Error {
    let hint = match method {
        "append" | "extend" | "insert" => {
            "build a new list instead: `{% set ns.items = ns.items + [x] %}` with \
             `{% set ns = namespace(items=[]) %}`, or use the `map`/`select` filters"
        }
        "update" | "setdefault" | "__setitem__" => {
            "build a new dictionary instead: `{% set d = d | combine({'k': v}) %}`"
        }
        _ => "build a new value with filters (`reject`, `difference`, `combine`) instead",
    };
    Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "the Python method `{method}()` changes a value in place, which jig's templates do not support; {hint}"
        ),
    )
}

/// The environment's unknown-method callback.
pub(crate) fn unknown_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if let Some(v) = extra_method(value, method, args)? {
        return Ok(v);
    }
    match minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args) {
        Err(e) if e.kind() == ErrorKind::UnknownMethod => {
            if matches!(
                method,
                "append"
                    | "extend"
                    | "insert"
                    | "update"
                    | "setdefault"
                    | "__setitem__"
                    | "pop"
                    | "remove"
                    | "clear"
                    | "popitem"
            ) {
                return Err(mutation_error(method));
            }
            Err(Error::new(
                ErrorKind::UnknownMethod,
                format!(
                    "{} has no method named {method}",
                    super::filters::py_type_name(value)
                ),
            ))
        }
        other => other,
    }
}

fn extra_method(value: &Value, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    match value.kind() {
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            Ok(match method {
                "split" => Some(Value::from(core_split(
                    s,
                    arg_str(args, 0).as_deref(),
                    arg_int(args, 1).unwrap_or(-1),
                ))),
                "rsplit" => {
                    let sep = arg_str(args, 0);
                    let max = arg_int(args, 1).unwrap_or(-1);
                    let parts: Vec<String> = match (sep.as_deref(), max) {
                        (Some(sep), m) if m >= 0 && !sep.is_empty() => {
                            let mut v: Vec<String> =
                                s.rsplitn(m as usize + 1, sep).map(String::from).collect();
                            v.reverse();
                            v
                        }
                        (sep, _) => core_split(s, sep, -1),
                    };
                    Some(Value::from(parts))
                }
                "index" | "rindex" => {
                    let needle = arg_str(args, 0).unwrap_or_default();
                    let found = if method == "index" {
                        s.find(&needle)
                    } else {
                        s.rfind(&needle)
                    };
                    match found {
                        Some(i) => Some(Value::from(s[..i].chars().count())),
                        None => {
                            return Err(Error::new(
                                ErrorKind::InvalidOperation,
                                "substring not found",
                            ));
                        }
                    }
                }
                "ljust" | "rjust" | "center" => {
                    let width = arg_int(args, 0).unwrap_or(0).max(0) as usize;
                    let fill = arg_str(args, 1)
                        .and_then(|f| f.chars().next())
                        .unwrap_or(' ');
                    let len = s.chars().count();
                    if len >= width {
                        Some(Value::from(s))
                    } else {
                        let pad = width - len;
                        let (l, r) = match method {
                            "ljust" => (0, pad),
                            "rjust" => (pad, 0),
                            _ => {
                                // Python puts the extra space on the right when the text
                                // length is even and the padding odd.
                                let left = pad / 2 + (pad & width & 1);
                                (left, pad - left)
                            }
                        };
                        let f = fill.to_string();
                        Some(Value::from(format!("{}{s}{}", f.repeat(l), f.repeat(r))))
                    }
                }
                "istitle" => {
                    // Python: uppercase only after uncased characters, lowercase only
                    // after cased ones, and at least one cased character.
                    let (mut cased, mut prev_cased, mut ok) = (false, false, true);
                    for c in s.chars() {
                        if c.is_uppercase() {
                            ok &= !prev_cased;
                            prev_cased = true;
                            cased = true;
                        } else if c.is_lowercase() {
                            ok &= prev_cased;
                            prev_cased = true;
                            cased = true;
                        } else {
                            prev_cased = false;
                        }
                    }
                    Some(Value::from(ok && cased))
                }
                "zfill" => {
                    let width = arg_int(args, 0).unwrap_or(0).max(0) as usize;
                    let len = s.chars().count();
                    if len >= width {
                        Some(Value::from(s))
                    } else {
                        let (sign, rest) = match s.chars().next() {
                            Some(c @ ('+' | '-')) => (c.to_string(), &s[1..]),
                            _ => (String::new(), s),
                        };
                        Some(Value::from(format!(
                            "{sign}{}{rest}",
                            "0".repeat(width - len)
                        )))
                    }
                }
                "removeprefix" => {
                    let p = arg_str(args, 0).unwrap_or_default();
                    Some(Value::from(s.strip_prefix(p.as_str()).unwrap_or(s)))
                }
                "removesuffix" => {
                    let p = arg_str(args, 0).unwrap_or_default();
                    Some(Value::from(s.strip_suffix(p.as_str()).unwrap_or(s)))
                }
                "partition" | "rpartition" => {
                    let sep = arg_str(args, 0).unwrap_or_default();
                    let found = if method == "partition" {
                        s.find(&sep)
                    } else {
                        s.rfind(&sep)
                    };
                    let parts = match found {
                        Some(i) if !sep.is_empty() => [&s[..i], sep.as_str(), &s[i + sep.len()..]],
                        _ if method == "partition" => [s, "", ""],
                        _ => ["", "", s],
                    };
                    Some(Value::from(
                        parts.iter().map(|p| Value::from(*p)).collect::<Vec<_>>(),
                    ))
                }
                "encode" | "decode" => Some(value.clone()),
                "swapcase" => Some(Value::from(
                    s.chars()
                        .map(|c| {
                            if c.is_uppercase() {
                                c.to_lowercase().collect::<String>()
                            } else {
                                c.to_uppercase().collect::<String>()
                            }
                        })
                        .collect::<String>(),
                )),
                _ => None,
            })
        }
        ValueKind::Map => Ok(match method {
            "has_key" => Some(Value::from(
                args.first()
                    .map(|k| {
                        value
                            .get_item(k)
                            .map(|v| !v.is_undefined())
                            .unwrap_or(false)
                    })
                    .unwrap_or(false),
            )),
            "copy" => Some(value.clone()),
            _ => None,
        }),
        ValueKind::Seq => Ok(match method {
            "index" => {
                let needle = args.first().cloned().unwrap_or(Value::UNDEFINED);
                match value.try_iter()?.position(|x| x == needle) {
                    Some(i) => Some(Value::from(i)),
                    None => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            "value is not in list",
                        ));
                    }
                }
            }
            "copy" => Some(value.clone()),
            _ => None,
        }),
        _ => Ok(None),
    }
}

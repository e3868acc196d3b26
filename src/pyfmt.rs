//! Python's spellings of values: `repr()`, `str()` and `json.dumps()`.
//!
//! Ansible is written in Python, and users compare what jig prints and writes with what Ansible
//! does: loop labels are `str()` of the item (`(item={'a': 'b', 'c': True})`), results are
//! `json.dumps(..., sort_keys=True)`, `{{ 1e16 }}` renders as `1e+16`, `copy: content=` of a
//! mapping is `json.dumps` of it. Inventory output, templating, modules and the report layer
//! all use this one module for those spellings.

use serde_json::Value as Json;

/// How [`dumps`] writes JSON, as `json.dumps` keyword arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dumps {
    /// `indent=N`: one item a line, nested by N spaces; `None` is the compact `", "`/`": "` form.
    pub indent: Option<usize>,
    /// `sort_keys=True`.
    pub sort_keys: bool,
    /// `ensure_ascii=True` (Python's default): non-ASCII as `\uXXXX` escapes.
    pub ensure_ascii: bool,
}

/// `json.dumps(value, ...)` with Python's separators and number spellings.
pub fn dumps(value: &Json, opts: Dumps) -> String {
    let mut out = String::new();
    write_json(&mut out, value, opts, 0);
    out
}

fn write_json(out: &mut String, value: &Json, opts: Dumps, level: usize) {
    match value {
        Json::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(out, i, opts.indent, level + 1);
                write_json(out, item, opts, level + 1);
            }
            close(out, opts.indent, level);
            out.push(']');
        }
        Json::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            if opts.sort_keys {
                keys.sort();
            }
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                separator(out, i, opts.indent, level + 1);
                json_string(out, k, opts.ensure_ascii);
                out.push_str(": ");
                write_json(out, &map[k], opts, level + 1);
            }
            close(out, opts.indent, level);
            out.push('}');
        }
        Json::Array(_) => out.push_str("[]"),
        Json::Object(_) => out.push_str("{}"),
        Json::String(s) => json_string(out, s, opts.ensure_ascii),
        Json::Number(n) => out.push_str(&number(n, true)),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Null => out.push_str("null"),
    }
}

fn separator(out: &mut String, index: usize, indent: Option<usize>, level: usize) {
    match indent {
        Some(n) => {
            if index > 0 {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
        None if index > 0 => out.push_str(", "),
        None => {}
    }
}

fn close(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(n) = indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * level));
    }
}

/// A JSON string literal with Python's escapes.
fn json_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && !c.is_ascii() => {
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

/// A JSON number as Python prints it; in JSON (`json`) non-finite floats are `NaN`/`Infinity`,
/// in `repr()` they are `nan`/`inf`.
fn number(n: &serde_json::Number, json: bool) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) if json && f.is_nan() => "NaN".into(),
        Some(f) if json && f.is_infinite() => if f > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        Some(f) => float_repr(f),
        None => n.to_string(),
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, positional for exponents in
/// [-4, 16), otherwise scientific with a signed two-digit exponent (`1e+16`, `1e-05`).
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if mant.starts_with('-') { "-" } else { "" };
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let esign = if exp < 0 { "-" } else { "+" };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`.
pub fn str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Python's `repr(value)` of the equivalent Python value: `'text'`, `True`, `None`, `[1, 'a']`,
/// `{'k': 'v'}`.
pub fn repr(value: &Json) -> String {
    match value {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => number(n, false),
        Json::String(s) => str_repr(s),
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", str_repr(k), repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Python's `str(value)`: strings bare, everything else as [`repr`]. This is how Ansible shows a
/// loop item's label (`(item=web)`) and an inventory variable in `--graph --vars`.
pub fn str(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => repr(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_spell_like_python() {
        for (f, s) in [
            (1.5, "1.5"),
            (1000.0, "1000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.25e-7, "-2.25e-07"),
            (0.1, "0.1"),
            (123456.789, "123456.789"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(float_repr(f), s);
        }
    }

    #[test]
    fn dumps_follows_json_dumps_options() {
        let v = json!({"b": [1, 2.5, "ü"], "a": {}, "c": null});
        assert_eq!(
            dumps(
                &v,
                Dumps {
                    ensure_ascii: true,
                    ..Dumps::default()
                }
            ),
            r#"{"b": [1, 2.5, "\u00fc"], "a": {}, "c": null}"#
        );
        assert_eq!(
            dumps(
                &v,
                Dumps {
                    indent: Some(4),
                    sort_keys: true,
                    ensure_ascii: false
                }
            ),
            "{\n    \"a\": {},\n    \"b\": [\n        1,\n        2.5,\n        \"ü\"\n    ],\n    \"c\": null\n}"
        );
    }

    #[test]
    fn repr_and_str_are_pythons() {
        assert_eq!(str(&json!("a b")), "a b");
        assert_eq!(str(&json!([1, "x", null, true])), "[1, 'x', None, True]");
        assert_eq!(str(&json!({"k": "it's"})), "{'k': \"it's\"}");
        assert_eq!(repr(&json!("a\nb")), "'a\\nb'");
    }
}

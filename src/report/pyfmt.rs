//! Python's spellings of values, as Ansible's output shows them.
//!
//! Ansible prints results with `json.dumps(..., sort_keys=True, ensure_ascii=False)` and loop
//! item labels with Python's `str()`: `(item={'a': 'b', 'c': True})`. Users compare jig's output
//! with Ansible's, so the report layer reproduces both spellings here.

use serde_json::Value as Json;

/// `json.dumps(value, sort_keys=True, ensure_ascii=False, indent=indent)`: keys sorted at every
/// level; compact form uses `", "` and `": "` separators; indented form puts one item a line.
pub fn dumps(value: &Json, indent: Option<usize>) -> String {
    let mut out = String::new();
    write_json(&mut out, value, indent, 0);
    out
}

fn write_json(out: &mut String, value: &Json, indent: Option<usize>, level: usize) {
    match value {
        Json::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(out, i, indent, level + 1);
                write_json(out, item, indent, level + 1);
            }
            close(out, indent, level);
            out.push(']');
        }
        Json::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                separator(out, i, indent, level + 1);
                out.push_str(&json_string(k));
                out.push_str(": ");
                write_json(out, &map[k], indent, level + 1);
            }
            close(out, indent, level);
            out.push('}');
        }
        Json::String(s) => out.push_str(&json_string(s)),
        other => out.push_str(&other.to_string()),
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

/// A JSON string literal with Python's escapes under `ensure_ascii=False` (which are the same
/// as serde_json's: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, `\u00XX` for other controls).
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Python's `str(value)`: strings bare, everything else as [`repr`]. This is how Ansible shows a
/// loop item's label: `(item=web)`, `(item={'name': 'x', 'state': 'present'})`.
pub fn item_label(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Python's `repr(value)` of the equivalent Python value: `'text'`, `True`, `None`, `[1, 'a']`,
/// `{'k': 'v'}`.
pub fn repr(value: &Json) -> String {
    match value {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => repr_str(s),
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", repr_str(k), repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`.
fn repr_str(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dumps_sorts_keys_and_uses_python_separators() {
        let v = json!({"b": [1, "x"], "a": {"d": null, "c": true}, "e": "é\n\"q\""});
        assert_eq!(
            dumps(&v, None),
            r#"{"a": {"c": true, "d": null}, "b": [1, "x"], "e": "é\n\"q\""}"#
        );
        assert_eq!(
            dumps(&v, Some(4)),
            "{\n    \"a\": {\n        \"c\": true,\n        \"d\": null\n    },\n    \"b\": [\n        1,\n        \"x\"\n    ],\n    \"e\": \"é\\n\\\"q\\\"\"\n}"
        );
        assert_eq!(
            dumps(&json!({"a": [], "b": {}}), Some(4)),
            "{\n    \"a\": [],\n    \"b\": {}\n}"
        );
    }

    #[test]
    fn labels_are_python_str() {
        assert_eq!(item_label(&json!("web 1")), "web 1");
        assert_eq!(item_label(&json!(1)), "1");
        assert_eq!(
            item_label(&json!({"a": "b", "c": true, "d": null, "e": [1.5, "it's"]})),
            "{'a': 'b', 'c': True, 'd': None, 'e': [1.5, \"it's\"]}"
        );
        assert_eq!(repr(&json!("a'b\"c\n")), "'a\\'b\"c\\n'");
    }
}

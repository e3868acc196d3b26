//! `-e/--extra-vars`: turning the command line's raw strings into one variable map.
//!
//! Each `-e` value is read the way `ansible-playbook` reads it: `@file` loads a YAML (or JSON)
//! file, text starting with `{` or `[` is YAML/JSON, anything else is `k=v k2='v 2'` text whose
//! values are strings. Every value must give a mapping; later `-e`s replace earlier top-level
//! keys (Ansible's default `hash_behaviour=replace`).

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::vars::VarMap;
use crate::yaml::{self, YamlError};

/// Why an `-e` value could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExtraVarsError {
    /// `@file` could not be read or is not valid YAML.
    #[error("extra vars file: {0}")]
    File(#[source] YamlError),
    /// Inline YAML/JSON text is not valid.
    #[error("extra vars {text:?}: {source}")]
    Text {
        /// The `-e` value.
        text: String,
        /// What the YAML parser said.
        source: YamlError,
    },
    /// The value parsed, but is not a mapping of variable names to values.
    #[error(
        "invalid extra vars data supplied: {text:?} could not be made into a dictionary \
         (use `-e key=value`, `-e '{{\"key\": \"value\"}}'` or `-e @file.yml`)"
    )]
    NotAMapping {
        /// The `-e` value (or `@file`).
        text: String,
    },
    /// A path was given without the `@` that marks a file.
    #[error("please prepend the extra vars file name {path:?} with '@' (`-e @{path}`)")]
    MissingAt {
        /// The value as given.
        path: String,
    },
    /// `k=v` text with an unterminated quote.
    #[error("extra vars {text:?}: {message}")]
    KeyValue {
        /// The `-e` value.
        text: String,
        /// What is wrong.
        message: String,
    },
}

/// Parses every `-e` value, in order, into one map; later values win key by key.
pub fn parse_extra_vars(raw: &[String]) -> Result<VarMap, ExtraVarsError> {
    let mut vars = VarMap::new();
    for text in raw {
        if text.is_empty() {
            continue;
        }
        let data = if let Some(file) = text.strip_prefix('@') {
            load_file(Path::new(file))?
        } else if text.starts_with('/') || text.starts_with('.') {
            return Err(ExtraVarsError::MissingAt { path: text.clone() });
        } else if text.starts_with('{') || text.starts_with('[') {
            yaml::parse_str(text, None)
                .map_err(|source| ExtraVarsError::Text {
                    text: text.clone(),
                    source,
                })?
                .to_json()
        } else {
            Json::Object(parse_kv(text).map_err(|message| ExtraVarsError::KeyValue {
                text: text.clone(),
                message,
            })?)
        };
        match data {
            Json::Object(map) => vars.extend(map),
            _ => return Err(ExtraVarsError::NotAMapping { text: text.clone() }),
        }
    }
    Ok(vars)
}

fn load_file(path: &Path) -> Result<Json, ExtraVarsError> {
    let node = yaml::load_file(path).map_err(ExtraVarsError::File)?;
    match node.to_json() {
        Json::Object(map) => Ok(Json::Object(map)),
        _ => Err(ExtraVarsError::NotAMapping {
            text: format!("@{}", PathBuf::from(path).display()),
        }),
    }
}

/// Ansible's `parse_kv` for extra vars: words split on whitespace outside quotes and outside
/// `{{ }}`/`{% %}` blocks; `k=v` words give string values with one level of quotes removed;
/// other words are joined into `_raw_params`.
fn parse_kv(text: &str) -> Result<serde_json::Map<String, Json>, String> {
    let mut out = serde_json::Map::new();
    let mut raw = Vec::new();
    for word in split_words(text)? {
        let decoded = decode_escapes(&word);
        match find_unescaped_eq(&decoded) {
            Some(pos) => {
                let key = decoded[..pos].trim().to_string();
                let value = unquote(decoded[pos + 1..].trim());
                out.insert(key, Json::String(value));
            }
            None => raw.push(word),
        }
    }
    if !raw.is_empty() {
        out.insert("_raw_params".into(), Json::String(raw.join(" ")));
    }
    Ok(out)
}

/// The first `=` not preceded by a backslash, past position 0 (Ansible's rule).
fn find_unescaped_eq(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\')
}

fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// Splits on whitespace that is outside quotes and outside Jinja blocks, keeping quotes.
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    let mut prev = '\0';
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q && prev != '\\' {
                    quote = None;
                }
            }
            None => {
                if (c == '{') && matches!(chars.peek(), Some('{') | Some('%') | Some('#')) {
                    depth += 1;
                    cur.push(c);
                } else if matches!(c, '}' | '%' | '#') && chars.peek() == Some(&'}') && depth > 0 {
                    depth -= 1;
                    cur.push(c);
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                    prev = '}';
                    continue;
                } else if (c == '"' || c == '\'') && prev != '\\' && depth == 0 {
                    quote = Some(c);
                    cur.push(c);
                } else if c.is_whitespace() && depth == 0 {
                    if !cur.is_empty() {
                        words.push(std::mem::take(&mut cur));
                    }
                } else {
                    cur.push(c);
                }
            }
        }
        prev = c;
    }
    if let Some(q) = quote {
        return Err(format!("unterminated {q} quote"));
    }
    if depth > 0 {
        return Err("unbalanced Jinja block ({{ or {% without its end)".into());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}

/// Python's `unicode_escape` on the escape sequences Ansible's `_decode_escapes` recognises.
fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&n) = chars.peek() else {
            out.push('\\');
            break;
        };
        let simple = match n {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(ch) = simple {
            chars.next();
            out.push(ch);
            continue;
        }
        let width = match n {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if width > 0 {
            let hex: String = chars.clone().skip(1).take(width).collect();
            if hex.len() == width
                && hex.chars().all(|h| h.is_ascii_hexdigit())
                && let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
            {
                for _ in 0..=width {
                    chars.next();
                }
                out.push(ch);
                continue;
            }
        }
        out.push('\\');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn key_value_text_gives_strings_and_keeps_quoted_spaces() {
        let v = parse_extra_vars(&s(&["a=1 b='two words' c=\"it's\" d=x=y"])).unwrap();
        assert_eq!(v["a"], json!("1"));
        assert_eq!(v["b"], json!("two words"));
        assert_eq!(v["c"], json!("it's"));
        assert_eq!(v["d"], json!("x=y"));
    }

    #[test]
    fn key_value_keeps_jinja_blocks_whole_and_decodes_escapes() {
        let v = parse_extra_vars(&s(&[
            "msg={{ a | default('x y') }} nl=a\\nb u=caf\\u00e9 $(id)",
        ]))
        .unwrap();
        assert_eq!(v["msg"], json!("{{ a | default('x y') }}"));
        assert_eq!(v["nl"], json!("a\nb"));
        assert_eq!(v["u"], json!("café"));
        assert_eq!(v["_raw_params"], json!("$(id)"));
    }

    #[test]
    fn yaml_and_json_text_keep_types() {
        let v = parse_extra_vars(&s(&[
            "{\"port\": 8080, \"on\": true, \"l\": [1, \"ü\"]}",
            "{mode: 0644, x: yes}",
        ]))
        .unwrap();
        assert_eq!(v["port"], json!(8080));
        assert_eq!(v["l"], json!([1, "ü"]));
        assert_eq!(v["mode"], json!(420));
        assert_eq!(v["x"], json!(true));
    }

    #[test]
    fn files_load_and_later_values_win() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("vars file.yml");
        std::fs::write(&f, "a: from file\nb: [1, 2]\nc: {d: e}\n").unwrap();
        let v = parse_extra_vars(&[
            "a=first".to_string(),
            format!("@{}", f.display()),
            "c=last".to_string(),
            String::new(),
        ])
        .unwrap();
        assert_eq!(v["a"], json!("from file"));
        assert_eq!(v["b"], json!([1, 2]));
        assert_eq!(v["c"], json!("last"));
        assert_eq!(v.keys().collect::<Vec<_>>(), vec!["a", "b", "c"]);
    }

    #[test]
    fn bad_values_are_errors_that_say_what_to_do() {
        let e = parse_extra_vars(&s(&["[1, 2]"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("could not be made into a dictionary"),
            "{e}"
        );
        let e = parse_extra_vars(&s(&["./vars.yml"])).unwrap_err();
        assert!(e.to_string().contains("-e @./vars.yml"), "{e}");
        let e = parse_extra_vars(&s(&["a='open"])).unwrap_err();
        assert!(e.to_string().contains("unterminated"), "{e}");
        let e = parse_extra_vars(&s(&["@/nonexistent/x.yml"])).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.yml"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.yml");
        std::fs::write(&f, "a: [1\n").unwrap();
        let e = parse_extra_vars(&[format!("@{}", f.display())]).unwrap_err();
        assert!(e.to_string().contains("bad.yml:"), "{e}");
        let e = parse_extra_vars(&s(&["{a: [1}"])).unwrap_err();
        assert!(e.to_string().contains("invalid YAML"), "{e}");
    }
}

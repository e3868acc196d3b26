//! INI inventories, read line by line as Ansible's `ini` plugin reads them.
//!
//! Hosts before any section belong to `ungrouped`; `[g]` lists hosts, `[g:children]` child
//! groups (which may be declared further down), `[g:vars]` variables. Host lines are split the
//! way Python's `shlex.split(line, comments=True)` splits them, and every value, inline or in a
//! `:vars` section, goes through Python's `literal_eval` (so `n=5` is a number and `y=yes` a
//! string), which is what ansible-core 2.19 does whatever older docs say about `:vars`.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::{Inventory, InventoryError, Origin, pyliteral, range};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Children,
    Vars,
}

/// A group named in `[x:children]` or `[x:vars]` before it was declared.
struct Pending {
    line: usize,
    state: State,
    parents: Vec<String>,
}

/// Reads INI inventory `text` (from `path`) into `inv`.
pub(super) fn parse(inv: &mut Inventory, path: &Path, text: &str) -> Result<(), InventoryError> {
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    let err = |line: usize, message: String| InventoryError::Ini {
        file: path.to_path_buf(),
        line,
        message,
    };
    // Editors on Windows may start the file with a byte-order mark; it is not part of a line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let origin = Origin::Ini(path.to_path_buf(), lineno);
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some((name, kind)) = section(line) {
            state = match kind {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(err(
                        lineno,
                        format!(
                            "section [{name}:{other}] has unknown type '{other}' (use [{name}], [{name}:children] or [{name}:vars])"
                        ),
                    ));
                }
            };
            group = name.to_string();
            if !inv.has_group(&group) {
                if state == State::Vars && !pending.contains_key(&group) {
                    pending.insert(
                        group.clone(),
                        Pending {
                            line: lineno,
                            state,
                            parents: Vec::new(),
                        },
                    );
                }
                inv.add_group(&group, &origin)?;
            }
            if state != State::Vars
                && let Some(p) = pending.shift_remove(&group)
                && p.state == State::Children
            {
                for parent in p.parents {
                    inv.add_child(&parent, &group).map_err(|m| err(p.line, m))?;
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(err(
                lineno,
                format!(
                    "invalid section entry '{line}': a section is [name], [name:children] or [name:vars], with no spaces"
                ),
            ));
        }
        match state {
            State::Hosts => {
                let tokens = shlex_split(line).map_err(|m| {
                    err(
                        lineno,
                        format!("cannot parse host definition '{line}': {m}"),
                    )
                })?;
                let Some(first) = tokens.first() else {
                    continue;
                };
                if first.trim() == "---" {
                    return Err(err(
                        lineno,
                        "invalid host pattern '---': this looks like a YAML file; give it a .yml extension".into(),
                    ));
                }
                let (hosts, port) = range::expand_host_pattern(first)
                    .map_err(|m| err(lineno, format!("invalid host pattern '{first}': {m}")))?;
                if first.trim().ends_with(':') && port.is_none() {
                    return Err(err(
                        lineno,
                        format!(
                            "invalid host pattern '{first}': a trailing ':' must be followed by a port"
                        ),
                    ));
                }
                let mut vars = Vec::new();
                for t in &tokens[1..] {
                    let Some((k, v)) = t.split_once('=') else {
                        return Err(err(
                            lineno,
                            format!("expected key=value host variable assignment, got '{t}'"),
                        ));
                    };
                    vars.push((k.to_string(), parse_value(v)));
                }
                for h in hosts {
                    inv.add_host(&h, Some(&group), port);
                    for (k, v) in &vars {
                        inv.set_host_var(&h, k, v.clone());
                    }
                }
            }
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(
                        lineno,
                        format!("expected key=value in [{group}:vars], got '{line}'"),
                    ));
                };
                inv.set_group_var(&group, k.trim(), parse_value(v.trim()), &origin)?;
            }
            State::Children => {
                let Some(child) = child_name(line).map(str::to_string) else {
                    return Err(err(
                        lineno,
                        format!("expected a group name in [{group}:children], got '{line}'"),
                    ));
                };
                if inv.has_group(&child) {
                    inv.add_child(&group, &child).map_err(|m| err(lineno, m))?;
                } else {
                    pending
                        .entry(child)
                        .or_insert(Pending {
                            line: lineno,
                            state: State::Children,
                            parents: Vec::new(),
                        })
                        .parents
                        .push(group.clone());
                }
            }
        }
    }
    // Anything still pending names a group that was never declared; Ansible reports the first.
    if let Some((name, p)) = pending.into_iter().next() {
        let message = match p.state {
            State::Vars => format!(
                "section [{name}:vars] is not valid for undefined group '{name}' (declare it with [{name}] or [{name}:children])"
            ),
            _ => format!(
                "section [{}:children] includes undefined group '{name}' (declare it with a [{name}] section)",
                p.parents.last().map(String::as_str).unwrap_or("?")
            ),
        };
        return Err(err(p.line, message));
    }
    Ok(())
}

/// `[name]`, `[name:kind]`, optionally followed by a `# comment` -> (name, kind).
fn section(line: &str) -> Option<(&str, Option<&str>)> {
    static SECTION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("static regex")
    });
    let c = SECTION.captures(line)?;
    let name = c.get(1)?.as_str();
    Some((name, c.get(2).map(|m| m.as_str())))
}

/// A child group line: the name, optionally followed by a `# comment`.
fn child_name(line: &str) -> Option<&str> {
    static NAME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("static regex")
    });
    NAME.captures(line)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

/// A value as Ansible's `_parse_value` reads it: a Python literal, or else the text itself.
fn parse_value(v: &str) -> Json {
    pyliteral::literal_eval(v).unwrap_or_else(|| Json::String(v.to_string()))
}

/// Splits a line as Python's `shlex.split(line, comments=True)` (POSIX mode) does.
pub(super) fn shlex_split(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            '#' => break,
            '\\' => {
                in_token = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => return Err("no escaped character after '\\'".into()),
                }
            }
            '\'' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                        None => return Err("no closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\')) => cur.push(n),
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => return Err("no closing quotation".into()),
                        },
                        Some(n) => cur.push(n),
                        None => return Err("no closing quotation".into()),
                    }
                }
            }
            c => {
                in_token = true;
                cur.push(c);
            }
        }
    }
    if in_token {
        tokens.push(cur);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlex_matches_python() {
        assert_eq!(
            shlex_split(r#"h x="a b" y='c "d"' z=e\ f w=a#b # c"#).unwrap(),
            vec!["h", "x=a b", "y=c \"d\"", "z=e f", "w=a"]
        );
        assert_eq!(
            shlex_split(r#"h x="a\"b\n""#).unwrap(),
            vec!["h", "x=a\"b\\n"]
        );
        assert_eq!(shlex_split(r#"h x="""#).unwrap(), vec!["h", "x="]);
        assert!(shlex_split("h x='open").is_err());
    }

    #[test]
    fn sections_parse() {
        assert_eq!(section("[web]"), Some(("web", None)));
        assert_eq!(section("[web:vars]"), Some(("web", Some("vars"))));
        assert_eq!(section("[web app]"), None);
        assert_eq!(
            section("[web:children] # c"),
            Some(("web", Some("children")))
        );
        assert_eq!(child_name("db # c"), Some("db"));
        assert_eq!(child_name("a b"), None);
        assert_eq!(section("[]"), None);
    }
}

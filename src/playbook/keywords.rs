//! Keywords shared by plays, blocks, role entries and tasks, and the value shapes they accept.
//!
//! This owns the lists of known keywords (so that anything else in a task is its module, and a
//! misspelt keyword can be pointed out), the conversion of keyword values into
//! [`Keywords`] fields (`when` and `tags` in their several spellings, `vars` as a mapping or a
//! list of mappings) and the "did you mean" suggestions used in error messages.

use serde_json::Value as Json;

use super::{Keywords, LoadError, VarMap};
use crate::yaml::{Node, NodeValue, Pos};

/// Keywords valid on plays, blocks, role entries and tasks alike; they fill [`Keywords`].
pub(crate) const COMMON: &[&str] = &[
    "when",
    "tags",
    "vars",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "check_mode",
    "diff",
    "no_log",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "any_errors_fatal",
    "connection",
    "remote_user",
    "throttle",
    "timeout",
    "module_defaults",
];

/// Keywords Ansible accepts that jig reads and deliberately ignores (collections are resolved
/// by normalising module names; there is no debugger; `port` belongs in the inventory).
pub(crate) const IGNORED: &[&str] = &["collections", "debugger", "become_exe", "port"];

/// Task-only keywords (besides [`COMMON`] and `with_*`).
pub(crate) const TASK_ONLY: &[&str] = &[
    "name",
    "action",
    "local_action",
    "args",
    "register",
    "loop",
    "loop_control",
    "notify",
    "listen",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "async",
    "poll",
    "static",
];

/// Block-only keywords (besides [`COMMON`]).
pub(crate) const BLOCK_ONLY: &[&str] = &["name", "block", "rescue", "always"];

/// Play-only keywords (besides [`COMMON`]).
pub(crate) const PLAY_ONLY: &[&str] = &[
    "name",
    "hosts",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "vars_files",
    "vars_prompt",
    "roles",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "strategy",
    "serial",
    "max_fail_percentage",
    "force_handlers",
    "order",
    "user",
];

/// An [`LoadError::Invalid`] at `pos`.
pub(crate) fn invalid(pos: &Pos, message: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        pos: pos.clone(),
        message: message.into(),
    }
}

/// Stores a [`COMMON`] keyword into `kw`; `Ok(false)` if `key` is not one of them.
pub(crate) fn apply_common(kw: &mut Keywords, key: &str, node: &Node) -> Result<bool, LoadError> {
    let raw = || opt_json(node);
    match key {
        "when" => kw.when.extend(when_list(node)),
        "tags" => kw.tags.extend(tags_list(node)?),
        "vars" => {
            let vars = var_map(node, "vars")?;
            kw.vars.extend(vars);
        }
        "become" => kw.become_ = raw(),
        "become_user" => kw.become_user = raw(),
        "become_method" => kw.become_method = raw(),
        "become_flags" => kw.become_flags = raw(),
        "environment" => match &node.value {
            NodeValue::Null => {}
            NodeValue::Seq(items) => kw.environment.extend(items.iter().map(Node::to_json)),
            _ => kw.environment.push(node.to_json()),
        },
        "ignore_errors" => kw.ignore_errors = raw(),
        "ignore_unreachable" => kw.ignore_unreachable = raw(),
        "check_mode" => kw.check_mode = raw(),
        "diff" => kw.diff = raw(),
        "no_log" => kw.no_log = raw(),
        "delegate_to" => kw.delegate_to = raw(),
        "delegate_facts" => kw.delegate_facts = raw(),
        "run_once" => kw.run_once = raw(),
        "any_errors_fatal" => kw.any_errors_fatal = raw(),
        "connection" => kw.connection = raw(),
        "remote_user" => kw.remote_user = raw(),
        "throttle" => kw.throttle = raw(),
        "timeout" => kw.timeout = raw(),
        "module_defaults" => kw.module_defaults = raw(),
        _ => return Ok(false),
    }
    Ok(true)
}

/// The JSON of a node, `None` for null (an empty `become:` means "not set").
pub(crate) fn opt_json(node: &Node) -> Option<Json> {
    match node.value {
        NodeValue::Null => None,
        _ => Some(node.to_json()),
    }
}

/// `when`: a string, a boolean or a list of those; null means no condition.
pub(crate) fn when_list(node: &Node) -> Vec<Json> {
    match &node.value {
        NodeValue::Null => Vec::new(),
        NodeValue::Seq(items) => items
            .iter()
            .filter(|i| i.value != NodeValue::Null)
            .map(Node::to_json)
            .collect(),
        _ => vec![node.to_json()],
    }
}

/// `tags`: a comma-separated string, or a list whose items may be numbers (kept as text).
pub(crate) fn tags_list(node: &Node) -> Result<Vec<String>, LoadError> {
    let mut out = Vec::new();
    match &node.value {
        NodeValue::Null => {}
        NodeValue::Str(s) => out.extend(
            s.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        ),
        NodeValue::Seq(items) => {
            for item in items {
                match &item.value {
                    NodeValue::Seq(_) => out.extend(tags_list(item)?),
                    NodeValue::Null => {}
                    _ => match scalar_text(item) {
                        Some(t) => out.push(t),
                        None => {
                            return Err(invalid(
                                &item.pos,
                                format!("a tag must be a string, got {}", item.kind()),
                            ));
                        }
                    },
                }
            }
        }
        _ => match scalar_text(node) {
            Some(t) => out.push(t),
            None => {
                return Err(invalid(
                    &node.pos,
                    format!(
                        "tags must be a string or a list of strings, got {}",
                        node.kind()
                    ),
                ));
            }
        },
    }
    Ok(out)
}

/// The text of a scalar as YAML wrote it (numbers and booleans converted), `None` for
/// collections and null.
pub(crate) fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Int(i) => Some(i.to_string()),
        NodeValue::Float(f) => Some(f.to_string()),
        NodeValue::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

/// A string-valued keyword (`register`, `loop_var`...); numbers are accepted as text.
pub(crate) fn string_value(node: &Node, what: &str) -> Result<Option<String>, LoadError> {
    match &node.value {
        NodeValue::Null => Ok(None),
        NodeValue::Seq(_) | NodeValue::Map(_) => Err(invalid(
            &node.pos,
            format!("`{what}` must be a string, got {}", node.kind()),
        )),
        _ => Ok(scalar_text(node)),
    }
}

/// `notify` and `listen`: one string or a list of strings.
pub(crate) fn string_list(node: &Node, what: &str) -> Result<Vec<String>, LoadError> {
    match &node.value {
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Seq(items) => {
            let mut out = Vec::new();
            for item in items {
                match string_value(item, what)? {
                    Some(s) => out.push(s),
                    None => {
                        return Err(invalid(
                            &item.pos,
                            format!("`{what}` has an empty entry; remove it or give a name"),
                        ));
                    }
                }
            }
            Ok(out)
        }
        _ => Ok(string_value(node, what)?.into_iter().collect()),
    }
}

/// `vars`: a mapping, a list of mappings (merged in order), or null.
pub(crate) fn var_map(node: &Node, what: &str) -> Result<VarMap, LoadError> {
    let mut out = VarMap::new();
    match &node.value {
        NodeValue::Null => {}
        NodeValue::Map(entries) => {
            for (k, v) in entries {
                out.insert(k.name.clone(), v.to_json());
            }
        }
        NodeValue::Seq(items) => {
            for item in items {
                match &item.value {
                    NodeValue::Map(_) => out.extend(var_map(item, what)?),
                    NodeValue::Null => {}
                    _ => {
                        return Err(invalid(
                            &item.pos,
                            format!(
                                "`{what}` must be a mapping of variable names to values (or a list of such mappings), got a list containing {}",
                                item.kind()
                            ),
                        ));
                    }
                }
            }
        }
        _ => {
            return Err(invalid(
                &node.pos,
                format!(
                    "`{what}` must be a mapping of variable names to values, got {}",
                    node.kind()
                ),
            ));
        }
    }
    Ok(out)
}

/// A boolean keyword written as a boolean or as Ansible's boolean words (`yes`, `"false"`).
pub(crate) fn bool_value(node: &Node) -> Option<bool> {
    match &node.value {
        NodeValue::Bool(b) => Some(*b),
        NodeValue::Int(i) => Some(*i != 0),
        NodeValue::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "t" | "on" | "1" => Some(true),
            "no" | "n" | "false" | "f" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The known keywords closest to `word`, formatted for a message (`` `tags` or `tasks` ``), if
/// any is close enough to be a likely misspelling.
pub(crate) fn suggest(word: &str, known: &[&str]) -> Option<String> {
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    let scored: Vec<(usize, &str)> = known
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, _)| *d <= limit && *d > 0)
        .collect();
    let best = scored.iter().map(|(d, _)| *d).min()?;
    let mut names: Vec<String> = Vec::new();
    for (d, k) in scored {
        let quoted = format!("`{k}`");
        if d == best && !names.contains(&quoted) {
            names.push(quoted);
        }
    }
    Some(names.join(" or "))
}

/// Every keyword a task may use, for suggestions.
pub(crate) fn task_keywords() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = COMMON.to_vec();
    all.extend_from_slice(TASK_ONLY);
    all.extend_from_slice(&["with_items", "with_dict", "with_first_found", "block"]);
    all
}

/// Levenshtein distance with transpositions counted as one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;
    use serde_json::json;

    fn node(text: &str) -> Node {
        parse_str(text, None).unwrap()
    }

    #[test]
    fn tags_in_every_spelling() {
        assert_eq!(tags_list(&node("a, b ,c")).unwrap(), vec!["a", "b", "c"]);
        assert_eq!(
            tags_list(&node("[web, 42, [x]]")).unwrap(),
            vec!["web", "42", "x"]
        );
        assert_eq!(tags_list(&node("7")).unwrap(), vec!["7"]);
        assert!(tags_list(&node("{a: 1}")).is_err());
    }

    #[test]
    fn when_forms() {
        assert_eq!(
            when_list(&node("x is defined")),
            vec![json!("x is defined")]
        );
        assert_eq!(when_list(&node("yes")), vec![json!(true)]);
        assert_eq!(when_list(&node("[a, b]")), vec![json!("a"), json!("b")]);
        assert!(when_list(&node("~")).is_empty());
    }

    #[test]
    fn vars_as_list_of_mappings_merge() {
        let m = var_map(&node("[{a: 1}, {b: 2, a: 3}]"), "vars").unwrap();
        assert_eq!(m["a"], json!(3));
        assert_eq!(m["b"], json!(2));
        let err = var_map(&node("just text"), "vars").unwrap_err().to_string();
        assert!(err.contains("`vars` must be a mapping"), "{err}");
    }

    #[test]
    fn suggestions_find_near_misses_only() {
        let kws = task_keywords();
        assert_eq!(suggest("notfy", &kws).as_deref(), Some("`notify`"));
        assert_eq!(suggest("wehn", &kws).as_deref(), Some("`when`"));
        assert_eq!(
            suggest("ignore_erors", &kws).as_deref(),
            Some("`ignore_errors`")
        );
        assert_eq!(
            suggest("taks", &["tags", "tasks", "hosts"]).as_deref(),
            Some("`tags` or `tasks`")
        );
        assert_eq!(suggest("copy", &kws), None);
        assert_eq!(suggest("template", &kws), None);
    }
}

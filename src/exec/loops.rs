//! Loops: turning `loop:` and the `with_<lookup>` family into the list of items a task runs
//! over.
//!
//! `loop` takes its list as given. Every `with_<name>` runs the lookup `name` through
//! [`Templar::query`], the one implementation `query()` uses too, so a loop and the
//! equivalent `query('<name>', ...)` agree on numbers, messages and search paths. What is
//! genuinely loop-specific stays here, as in Ansible's task executor: the keyword's value
//! becomes the lookup's terms (a list as is, anything else as one term); the lookup sees the
//! task's search path (role, task file directory, playbook directory) as
//! `ansible_search_path`; and `with_first_found` drops undefined terms and searches the
//! directory the task's action implies (`templates` for template, `vars` for include_vars,
//! else `files`).

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::playbook::{Loop, LoopKind};
use crate::template::{Templar, TemplateError};
use crate::vars::{Layer, VarMap, VarScope};

/// Why a loop could not be expanded.
#[derive(Debug)]
pub enum LoopError {
    /// Templating the loop value or running its lookup failed (an undefined variable is
    /// deferred by the caller when the task's `when` turns out false, as Ansible does).
    Template(TemplateError),
    /// The value has the wrong shape.
    Invalid(String),
}

impl std::fmt::Display for LoopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoopError::Template(e) => write!(f, "{e}"),
            LoopError::Invalid(m) => f.write_str(m),
        }
    }
}

/// The task's search path for controller files, as Ansible's `ansible_search_path`.
#[derive(Clone, Debug, Default)]
pub struct SearchDirs {
    /// Base directories in order: the role directory, the task file's directory, the
    /// playbook directory. Lookups try `<base>/<subdir>/<name>` then `<base>/<name>`.
    pub bases: Vec<PathBuf>,
    /// The subdirectory `with_first_found` looks in, from the task's action as Ansible picks it:
    /// `templates` for `template`, `vars` for `include_vars`, else `files` (also when empty).
    pub lookup_subdir: &'static str,
}

/// The subdirectory Ansible's task executor gives a loop lookup: the first of `template`,
/// `var`, `file` that the action's name contains, plus `s`.
pub fn lookup_subdir(action: &str) -> &'static str {
    if action.contains("template") {
        "templates"
    } else if action.contains("var") {
        "vars"
    } else {
        "files"
    }
}

/// The items of a task's loop, templated in `scope`.
pub fn expand(
    lp: &Loop,
    templar: &Templar,
    scope: &VarScope,
    dirs: &SearchDirs,
) -> Result<Vec<Json>, LoopError> {
    match &lp.kind {
        LoopKind::Loop => {
            let v = templar
                .template_value(&lp.value, scope)
                .map_err(LoopError::Template)?;
            match v {
                Json::Array(items) => Ok(items),
                other => Err(LoopError::Invalid(format!(
                    "Invalid data passed to 'loop', it requires a list, got this instead: {}. \
                     Hint: if you passed a list/dict of just one element, try adding \
                     wantlist=True to your lookup invocation or use q/query instead of lookup.",
                    compact(&other)
                ))),
            }
        }
        LoopKind::With(name) => with_lookup(name, &lp.value, templar, scope, dirs),
    }
}

/// `with_<name>`: the items are what `query('<name>', *terms)` returns.
fn with_lookup(
    name: &str,
    raw: &Json,
    templar: &Templar,
    scope: &VarScope,
    dirs: &SearchDirs,
) -> Result<Vec<Json>, LoopError> {
    let short = name.rsplit('.').next().unwrap_or(name);
    let first_found = short == "first_found";
    let value = if first_found {
        first_found_terms(raw, templar, scope)?
    } else {
        with_terms(raw, templar, scope)?
    };
    // Ansible: a list is the lookup's terms, anything else is its one term.
    let terms = match value {
        Json::Array(items) => items,
        other => vec![other],
    };
    let mut call = VarMap::new();
    call.insert(
        "ansible_search_path".into(),
        Json::Array(
            dirs.bases
                .iter()
                .map(|b| Json::String(b.display().to_string()))
                .collect(),
        ),
    );
    if first_found {
        // Read by the first_found lookup; `query()` elsewhere searches `files`.
        call.insert(
            "__jig_with_subdir".into(),
            Json::String(if dirs.lookup_subdir.is_empty() {
                "files".into()
            } else {
                dirs.lookup_subdir.into()
            }),
        );
    }
    let bound = scope.with(Layer::TaskVars, Arc::new(call));
    templar
        .query(name, &terms, &serde_json::Map::new(), &bound)
        .map_err(lookup_error)
}

/// A failed lookup told as Ansible tells it (`The lookup plugin 'sequence' failed: ...`),
/// without the expression `Templar::query` evaluates, which the user never wrote.
fn lookup_error(e: TemplateError) -> LoopError {
    match e {
        TemplateError::Render {
            message, template, ..
        } if template.contains("__jig_lookup_name") => {
            let m = message.replace("invalid operation: ", "");
            LoopError::Invalid(match m.strip_prefix("lookup plugin") {
                Some(rest) => format!("The lookup plugin{rest}"),
                None => m,
            })
        }
        other => LoopError::Template(other),
    }
}

/// Templates the value of a `with_*` keyword. A bare variable name (`with_items: users`) is
/// read as that variable, as old Ansible did; if it is not one, the text stays a string.
fn with_terms(raw: &Json, templar: &Templar, scope: &VarScope) -> Result<Json, LoopError> {
    if let Json::String(s) = raw {
        let t = s.trim();
        if !t.is_empty()
            && !crate::template::is_template(t)
            && t.chars()
                .all(|c| c.is_alphanumeric() || "_.[]'\"".contains(c))
            && t.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            && let Ok(v) = templar.eval_expr(t, scope)
        {
            return Ok(v);
        }
    }
    templar
        .template_value(raw, scope)
        .map_err(LoopError::Template)
}

/// The terms of `with_first_found`: inside a list or mapping, a value whose template is
/// undefined is dropped rather than failing the task, so that
/// `["{{ ansible_distribution }}.yml", "default.yml"]` falls through to the next name, as
/// Ansible does for this loop only.
fn first_found_terms(raw: &Json, templar: &Templar, scope: &VarScope) -> Result<Json, LoopError> {
    match raw {
        Json::Array(_) | Json::Object(_) => {
            Ok(defined_part(raw, templar, scope)?.unwrap_or(Json::Array(Vec::new())))
        }
        other => with_terms(other, templar, scope),
    }
}

/// `value` templated with its undefined leaves left out (`None` when it is one).
fn defined_part(
    value: &Json,
    templar: &Templar,
    scope: &VarScope,
) -> Result<Option<Json>, LoopError> {
    match value {
        Json::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.extend(defined_part(item, templar, scope)?);
            }
            Ok(Some(Json::Array(out)))
        }
        Json::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                if let Some(v) = defined_part(v, templar, scope)? {
                    out.insert(k.clone(), v);
                }
            }
            Ok(Some(Json::Object(out)))
        }
        leaf => match templar.template_value(leaf, scope) {
            Ok(v) => Ok(Some(v)),
            Err(TemplateError::Undefined { .. }) => Ok(None),
            Err(e) => Err(LoopError::Template(e)),
        },
    }
}

/// A value in compact JSON, for messages.
pub fn compact(v: &Json) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A value as Python's `repr` shows it, the way Ansible prints loop labels
/// (`{'key': 'a', 'value': 1}`).
pub fn py_repr(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => {
            let q = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::new();
            out.push(q);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c if c == q => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(q);
            out
        }
        Json::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Json::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Json::String(k.clone())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The label Ansible shows for an item: strings as they are, other values as Python reprs.
pub fn label_of(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => py_repr(other),
    }
}

#[cfg(test)]
mod tests {
    //! Each `with_<lookup>` case is checked against the equivalent `query()`; the expected
    //! values are ansible-core 2.19's for the same loops and calls.

    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn scope(vars: Json) -> VarScope {
        let map: VarMap = match vars {
            Json::Object(m) => m.into_iter().collect(),
            _ => VarMap::new(),
        };
        VarScope::new().with(Layer::PlayVars, Arc::new(map))
    }

    fn with(name: &str, value: Json, s: &VarScope, dirs: &SearchDirs) -> Result<Vec<Json>, String> {
        let lp = Loop {
            kind: LoopKind::With(name.into()),
            value,
            pos: Default::default(),
        };
        expand(&lp, &Templar::new(), s, dirs).map_err(|e| e.to_string())
    }

    fn query(expr: &str, s: &VarScope) -> Result<Vec<Json>, String> {
        match Templar::new().eval_expr(expr, s) {
            Ok(Json::Array(items)) => Ok(items),
            Ok(other) => panic!("{expr} gave {other}"),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The loop and the query both succeed with `want`, or both fail saying `want_err`.
    fn agree(
        loop_out: Result<Vec<Json>, String>,
        query_out: Result<Vec<Json>, String>,
        want: Result<Json, &str>,
    ) {
        match want {
            Ok(items) => {
                let items = items.as_array().cloned().unwrap_or_default();
                assert_eq!(loop_out, Ok(items.clone()), "loop");
                assert_eq!(query_out, Ok(items), "query");
            }
            Err(msg) => {
                let (l, q) = (loop_out.unwrap_err(), query_out.unwrap_err());
                assert!(l.contains(msg), "loop error: {l}");
                assert!(q.contains(msg), "query error: {q}");
            }
        }
    }

    #[test]
    fn with_family_flattens_as_its_lookup_does() {
        let s = scope(json!({"nested": [1, [2, [3]], "a"]}));
        let d = SearchDirs::default();
        assert_eq!(
            with("items", json!("{{ nested }}"), &s, &d).unwrap(),
            vec![json!(1), json!(2), json!([3]), json!("a")]
        );
        assert_eq!(
            with("community.general.flattened", json!("{{ nested }}"), &s, &d).unwrap(),
            vec![json!(1), json!(2), json!(3), json!("a")]
        );
        assert_eq!(
            with("dict", json!({"a": 1, "b": 2}), &s, &d).unwrap(),
            vec![
                json!({"key": "a", "value": 1}),
                json!({"key": "b", "value": 2})
            ]
        );
        assert_eq!(
            with("together", json!([[1, 2], ["a"]]), &s, &d).unwrap(),
            vec![json!([1, "a"]), json!([2, null])]
        );
        let n = with("nested", json!([[1, 2], ["a", "b"]]), &s, &d).unwrap();
        assert_eq!(n.len(), 4);
        assert_eq!(n[1], json!([1, "b"]));
        assert_eq!(
            with("indexed_items", json!(["x", "y"]), &s, &d).unwrap(),
            vec![json!([0, "x"]), json!([1, "y"])]
        );
        // A bare variable name is read as the variable, as old Ansible did.
        assert_eq!(with("items", json!("nested"), &s, &d).unwrap().len(), 4);
        // The executor's call variables are not the user's.
        assert_eq!(
            with("varnames", json!("^__jig"), &s, &d).unwrap(),
            Vec::<Json>::new()
        );
        let e = with("frobnicate", json!(["a"]), &s, &d).unwrap_err();
        assert!(e.contains("frobnicate"), "{e}");
    }

    #[test]
    fn sequences_parse_numbers_as_ansible_config_does() {
        let s = scope(json!({}));
        let d = SearchDirs::default();
        let both = |term: &str| {
            (
                with("sequence", json!(term), &s, &d),
                query(&format!("query('sequence', '{term}')"), &s),
            )
        };
        let cases: [(&str, Result<Json, &str>); 7] = [
            (
                "start=0 end=16 stride=4 format=%02x",
                Ok(json!(["00", "04", "08", "0c", "10"])),
            ),
            (
                "count=3 start=4 format=web%02d",
                Ok(json!(["web04", "web05", "web06"])),
            ),
            // Leading zeros are decimal; hex is rejected, in the shortcut form too.
            ("010-012", Ok(json!(["10", "11", "12"]))),
            ("start=1e1 end=12", Ok(json!(["10", "11", "12"]))),
            (
                "start=0x10 end=0x12",
                Err("Invalid value provided for 'integer': '0x10'"),
            ),
            (
                "0x0a-0x0c",
                Err(
                    "Config 'start' for 'sequence' lookup plugin from 'Direct' has an invalid value",
                ),
            ),
            (
                "start=3 end=1",
                Err("to count backwards make stride negative"),
            ),
        ];
        for (term, want) in cases {
            let (l, q) = both(term);
            agree(l, q, want);
        }
        // The loop's message is Ansible's, without jig's internal call expression.
        assert_eq!(
            with("sequence", json!("start=0x10 end=3"), &s, &d).unwrap_err(),
            "The lookup plugin 'sequence' failed: Config 'start' for 'sequence' lookup plugin \
             from 'Direct' has an invalid value: Invalid value provided for 'integer': '0x10'"
        );
    }

    #[test]
    fn subelements_skip_missing_pops_the_list_and_skips_skipped() {
        let s = scope(json!({"users": [
            {"name": "a", "keys": [1, 2]},
            {"name": "b"},
            {"name": "c", "keys": [3], "skipped": true},
        ]}));
        let d = SearchDirs::default();
        agree(
            with(
                "subelements",
                json!(["{{ users }}", "keys", {"skip_missing": true}]),
                &s,
                &d,
            ),
            query(
                "query('subelements', users, 'keys', {'skip_missing': true})",
                &s,
            ),
            Ok(json!([[{"name": "a"}, 1], [{"name": "a"}, 2]])),
        );
        agree(
            with("subelements", json!(["{{ users }}", "keys"]), &s, &d),
            query("query('subelements', users, 'keys')", &s),
            Err("could not find 'keys' key in iterated item '{'name': 'b'}'"),
        );
    }

    /// A role with files/, templates/, vars/ and a file beside its tasks, under a playbook
    /// directory with its own files/.
    fn role_tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let pb = d.path().to_path_buf();
        let role = pb.join("roles/web");
        for (path, text) in [
            ("roles/web/files/a.conf", "a"),
            ("roles/web/files/b.conf", "b"),
            ("roles/web/files/c.txt", "c"),
            ("roles/web/files/sub dir/s.conf", "s"),
            ("roles/web/templates/t.j2", "t"),
            ("roles/web/vars/Debian.yml", "x: 1"),
            ("roles/web/tasks/beside.conf", "k"),
            ("files/pb.conf", "p"),
        ] {
            let p = pb.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        (d, pb, role)
    }

    fn role_dirs(pb: &Path, role: &Path, action: &str) -> SearchDirs {
        SearchDirs {
            bases: vec![role.to_path_buf(), role.join("tasks"), pb.to_path_buf()],
            lookup_subdir: lookup_subdir(action),
        }
    }

    fn role_scope(pb: &Path, role: &Path) -> VarScope {
        scope(json!({
            "role_path": role.display().to_string(),
            "playbook_dir": pb.display().to_string(),
            "os": "Debian",
        }))
    }

    fn names(items: Result<Vec<Json>, String>, base: &Path) -> Vec<String> {
        items
            .unwrap()
            .iter()
            .map(|i| {
                let p = Path::new(i.as_str().unwrap());
                p.strip_prefix(base).unwrap().display().to_string()
            })
            .collect()
    }

    #[test]
    fn fileglob_in_a_role_searches_its_files_then_the_playbooks() {
        let (_keep, pb, role) = role_tree();
        let s = role_scope(&pb, &role);
        let d = role_dirs(&pb, &role, "copy");
        for (pattern, want) in [
            (
                "*.conf",
                vec!["roles/web/files/a.conf", "roles/web/files/b.conf"],
            ),
            ("sub dir/*.conf", vec!["roles/web/files/sub dir/s.conf"]),
            ("pb.conf", vec!["files/pb.conf"]),
            ("*.none", vec![]),
        ] {
            let l = names(with("fileglob", json!([pattern]), &s, &d), &pb);
            let q = names(query(&format!("query('fileglob', '{pattern}')"), &s), &pb);
            assert_eq!(l, want, "loop {pattern}");
            assert_eq!(q, want, "query {pattern}");
        }
    }

    #[test]
    fn first_found_skip_subdir_by_action_and_undefined_terms() {
        let (_keep, pb, role) = role_tree();
        let s = role_scope(&pb, &role);
        let copy = role_dirs(&pb, &role, "copy");
        agree(
            with(
                "first_found",
                json!([{"files": ["nope.yml"], "skip": true}]),
                &s,
                &copy,
            ),
            query(
                "query('first_found', {'files': ['nope.yml'], 'skip': true})",
                &s,
            ),
            Ok(json!([])),
        );
        agree(
            with("first_found", json!(["nope.yml"]), &s, &copy),
            query("query('first_found', ['nope.yml'])", &s),
            Err("No file was found when using first_found"),
        );
        // files/ for other actions, `paths` joined with each name, ',' splitting.
        let found = |v: Json, d: &SearchDirs| names(with("first_found", v, &s, d), &pb);
        assert_eq!(
            found(json!(["c.txt", "a.conf"]), &copy),
            vec!["roles/web/files/c.txt"]
        );
        assert_eq!(
            found(json!([{"files": "nope.yml,b.conf"}]), &copy),
            vec!["roles/web/files/b.conf"]
        );
        assert_eq!(
            found(
                json!([{"files": ["{{ os }}.yml"], "paths": ["vars"]}]),
                &copy
            ),
            vec!["roles/web/vars/Debian.yml"]
        );
        // The directory beside the task file is on the search path.
        assert_eq!(
            found(json!(["beside.conf"]), &copy),
            vec!["roles/web/tasks/beside.conf"]
        );
        // include_vars searches vars/, template templates/, as Ansible's loop does.
        assert_eq!(lookup_subdir("ansible.builtin.template"), "templates");
        assert_eq!(lookup_subdir("copy"), "files");
        let vars = role_dirs(&pb, &role, "include_vars");
        assert_eq!(
            found(json!(["{{ os }}.yml"]), &vars),
            vec!["roles/web/vars/Debian.yml"]
        );
        assert!(with("first_found", json!(["Debian.yml"]), &s, &copy).is_err());
        let tpl = role_dirs(&pb, &role, "template");
        assert_eq!(
            found(json!(["t.j2"]), &tpl),
            vec!["roles/web/templates/t.j2"]
        );
        // Undefined terms are dropped in the loop only; query() fails on them.
        assert_eq!(
            found(
                json!(["{{ missing_os }}.yml", {"files": ["{{ nope }}", "Debian.yml"]}]),
                &vars
            ),
            vec!["roles/web/vars/Debian.yml"]
        );
        let q = query(
            "query('first_found', [missing_os ~ '.yml', 'Debian.yml'])",
            &s,
        );
        assert!(q.unwrap_err().contains("missing_os"));
        // A template error that is not an undefined variable still fails the loop.
        let bad = with("first_found", json!(["{{ os | frobnicate }}"]), &s, &vars);
        assert!(bad.unwrap_err().contains("frobnicate"));
    }

    #[test]
    fn labels_look_like_python() {
        assert_eq!(
            label_of(&json!({"key": "a", "value": 1})),
            "{'key': 'a', 'value': 1}"
        );
        assert_eq!(label_of(&json!("plain")), "plain");
        assert_eq!(label_of(&json!([true, null])), "[True, None]");
    }
}

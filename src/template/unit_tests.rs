//! Table tests: template text + variables -> expected output, checked against ansible-core
//! 2.19's behaviour.

use std::sync::Arc;

use serde_json::{Value as Json, json};

use super::*;
use crate::vars::{Layer, VarMap, VarScope};

fn scope(vars: Json) -> VarScope {
    let mut s = VarScope::new();
    let map: VarMap = match vars {
        Json::Object(m) => m.into_iter().collect(),
        _ => VarMap::new(),
    };
    s.push(Layer::PlayVars, Arc::new(map));
    s
}

fn render(t: &str, vars: Json) -> String {
    Templar::new()
        .render_str(t, &scope(vars))
        .unwrap_or_else(|e| panic!("{t}: {e}"))
}

fn value(t: &str, vars: Json) -> Json {
    Templar::new()
        .template_value(&json!(t), &scope(vars))
        .unwrap_or_else(|e| panic!("{t}: {e}"))
}

fn err(t: &str, vars: Json) -> TemplateError {
    match Templar::new().render_str(t, &scope(vars)) {
        Ok(s) => panic!("{t}: expected an error, got {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn renders_plain_and_python_forms() {
    let cases: &[(&str, Json, &str)] = &[
        ("hello", json!({}), "hello"),
        (
            "a{{ [1,'x',True,None] }} {{ none }} {{ {'a':1} }}",
            json!({}),
            "a[1, 'x', True, None]  {'a': 1}",
        ),
        ("{{ x }}\n", json!({"x": 1}), "1\n"),
        ("{{ b }}", json!({"b": true}), "True"),
        ("{{ f }}", json!({"f": 1.0}), "1.0"),
        ("{% if true %}\nyes\n{% endif %}\n", json!({}), "yes\n"),
    ];
    for (t, v, want) in cases {
        assert_eq!(render(t, v.clone()), *want, "template {t:?}");
    }
}

#[test]
fn native_types_only_for_a_single_expression() {
    let v = json!({"l": [1, 2], "d": {"a": 1}, "n": 3, "s": "1"});
    assert_eq!(value("{{ l }}", v.clone()), json!([1, 2]));
    assert_eq!(value("{{ d }}", v.clone()), json!({"a": 1}));
    assert_eq!(value("{{ n + 1 }}", v.clone()), json!(4));
    assert_eq!(value("{{ s }}", v.clone()), json!("1"));
    assert_eq!(value("{{ 'yes' }}", v.clone()), json!("yes"));
    assert_eq!(value("{{ none }}", v.clone()), json!(null));
    assert_eq!(value(" {{ l }}", v.clone()), json!(" [1, 2]"));
    assert_eq!(value("{{ n }}{{ n }}", v.clone()), json!("33"));
    assert_eq!(value("{{ n > 1 }}", v), json!(true));
}

#[test]
fn template_value_recurses_and_drops_omit() {
    let t = Templar::new();
    let s = scope(json!({"name": "web", "port": 80}));
    let got = t
        .template_value(
            &json!({"{{ name }}_conf": {"port": "{{ port }}", "skip": "{{ omit }}"}, "list": ["a", "{{ omit }}", "{{ name | upper }}"]}),
            &s,
        )
        .unwrap();
    assert_eq!(got, json!({"web_conf": {"port": 80}, "list": ["a", "WEB"]}));
}

#[test]
fn lazy_variables_render_in_scope() {
    let v = json!({
        "base": "/srv",
        "app_dir": "{{ base }}/app",
        "conf": {"path": "{{ app_dir }}/conf", "bad": "{{ nope }}"},
        "paths": ["{{ base }}", "x"],
    });
    assert_eq!(render("{{ app_dir }}", v.clone()), "/srv/app");
    assert_eq!(render("{{ conf.path }}", v.clone()), "/srv/app/conf");
    assert_eq!(render("{{ paths | join(',') }}", v.clone()), "/srv,x");
    assert_eq!(render("{{ conf.bad is defined }}", v.clone()), "False");
    let e = err("{{ conf.bad }}", v);
    assert!(e.to_string().contains("'nope' is undefined"), "{e}");
}

#[test]
fn recursion_is_reported() {
    let e = err("{{ a }}", json!({"a": "{{ b }}", "b": "{{ a }}"}));
    assert!(matches!(e, TemplateError::Recursion { .. }), "{e:?}");
    assert!(e.to_string().contains("a -> b -> a"), "{e}");
}

#[test]
fn undefined_errors_name_the_variable() {
    let e = err("x {{ foo }} y", json!({}));
    assert!(e.to_string().contains("'foo' is undefined"), "{e}");
    let e = err("{{ foo | lower }}", json!({}));
    assert!(e.to_string().contains("'foo' is undefined"), "{e}");
    let e = err("{{ x.missing }}", json!({"x": {}}));
    assert!(
        e.to_string()
            .contains("'x' has no attribute or key 'missing'"),
        "{e}"
    );
    assert_eq!(
        render("{{ x.missing is defined }}", json!({"x": {}})),
        "False"
    );
    assert_eq!(
        render("{{ x.missing | default('d') }}", json!({"x": {}})),
        "d"
    );
    assert_eq!(render("{{ foo is undefined }}", json!({})), "True");
    assert_eq!(render("{{ foo | d(1) }}", json!({})), "1");
}

#[test]
fn syntax_errors_show_line_and_text() {
    let e = err("line1\n{{ foo bar }}", json!({}));
    let s = e.to_string();
    assert!(matches!(e, TemplateError::Syntax { .. }), "{e:?}");
    assert!(s.contains("line 2"), "{s}");
}

#[test]
fn conditions() {
    let t = Templar::new();
    let s = scope(json!({"a": 1, "flag": "yes", "l": []}));
    assert!(t.eval_condition(&json!("a == 1"), &s).unwrap());
    assert!(t.eval_condition(&json!("{{ a == 1 }}"), &s).unwrap());
    assert!(t.eval_condition(&json!(true), &s).unwrap());
    assert!(!t.eval_condition(&json!("l"), &s).unwrap());
    assert!(t.eval_condition(&json!("flag | bool"), &s).unwrap());
    assert!(
        t.eval_condition(&json!(["a == 1", "flag | bool"]), &s)
            .unwrap()
    );
    assert!(!t.eval_condition(&json!(["a == 1", "a == 2"]), &s).unwrap());
    let e = t.eval_condition(&json!("nope"), &s).unwrap_err();
    assert!(e.to_string().contains("'nope' is undefined"), "{e}");
    assert_eq!(t.eval_expr("a + 1", &s).unwrap(), json!(2));
}

#[test]
fn is_template_detects_syntax() {
    assert!(is_template("{{ x }}"));
    assert!(is_template("{% if %}"));
    assert!(!is_template("plain { text }"));
}

//! Cases recorded from ansible-core 2.19 by `testdata/record.py` (templates in
//! `testdata/cases.jsonl`, results in `testdata/recorded_cases.rs`): seeded `random` and
//! `shuffle`, `password_hash`, every `version` scheme and operator, `strftime`, `to_uuid`,
//! `urlsplit`, `product`, `subelements`, `combine`'s list merges, regex flags, `comment`
//! styles, path tests, and the lookups, file lookups reading `testdata/files`. An expected
//! error must be an error in jig too.

use serde_json::Value as Json;

use super::*;
use crate::vars::{Layer, VarMap, VarScope};
use std::sync::Arc;

include!("testdata/recorded_cases.rs");

fn fixtures() -> String {
    format!("{}/src/template/testdata/files", env!("CARGO_MANIFEST_DIR"))
}

/// golden_tests.rs's variables plus `playbook_dir`, as record.py gives them.
fn vars() -> VarScope {
    let src = include_str!("golden_tests.rs");
    let start = src.find("r########\"{").expect("golden variables") + "r########\"".len();
    let end = start
        + src[start..]
            .find("\"########")
            .expect("end of golden variables");
    let mut map: VarMap = serde_json::from_str::<Json>(&src[start..end])
        .expect("golden variables are JSON")
        .as_object()
        .expect("an object")
        .clone()
        .into_iter()
        .collect();
    map.insert("playbook_dir".into(), Json::String(fixtures()));
    let mut s = VarScope::new();
    s.push(Layer::PlayVars, Arc::new(map));
    s
}

/// The error text with its sources, where minijinja keeps a filter's own message.
fn error_text(e: &TemplateError) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        out.push_str(" | ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

#[test]
fn matches_recorded_ansible_output() {
    let t = Templar::new();
    let s = vars();
    let fixtures = fixtures();
    let mut failures = Vec::new();
    for (tpl, want) in CASES {
        let want: Json = serde_json::from_str(&want.replace("@FIXTURES@", &fixtures)).unwrap();
        let got = t.template_value(&Json::String(tpl.to_string()), &s);
        let ok = match (&want, &got) {
            (Json::String(w), Ok(Json::String(g))) => w == g,
            (Json::Object(m), Ok(g)) if m.contains_key("native") => &m["native"] == g,
            // Where Ansible fails jig must fail too; jig's words may say more (what to do).
            (Json::Object(m), Err(_)) if m.contains_key("error") => true,
            _ => false,
        };
        if !ok {
            let got = got.map_err(|e| error_text(&e));
            failures.push(format!("{tpl}\n  want: {want}\n  got:  {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn env_lookup_reads_the_controller_environment() {
    let t = Templar::new();
    let path = std::env::var("PATH").unwrap_or_default();
    let got = t
        .render_str(
            "{{ lookup('env', 'PATH') }}|{{ q('env', 'PATH') | length }}",
            &vars(),
        )
        .unwrap();
    assert_eq!(got, format!("{path}|1"));
}

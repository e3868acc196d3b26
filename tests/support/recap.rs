//! Reading `jig run`'s console output in tests: the PLAY RECAP line of a host and its counts.
//!
//! Include it with `#[path = "support/recap.rs"] mod recap;` (adjust the path).

#![allow(dead_code)] // each test crate uses a different part of this module

use std::collections::BTreeMap;

/// The last recap line of `host` (`host : ok=3 changed=1 ...`), or "" when there is none.
pub fn recap(stdout: &str, host: &str) -> String {
    stdout
        .lines()
        .rev()
        .find(|l| {
            l.strip_prefix(host)
                .is_some_and(|rest| rest.trim_start().starts_with(": ok="))
        })
        .unwrap_or_default()
        .to_string()
}

/// The counts of `host`'s recap line by name (`ok`, `changed`, `unreachable`, `failed`,
/// `skipped`, `rescued`, `ignored`); empty when the host has no recap line.
pub fn counts(stdout: &str, host: &str) -> BTreeMap<String, u32> {
    recap(stdout, host)
        .split_whitespace()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// One count of `host`'s recap line; panics with the output when the host has no recap.
pub fn count(stdout: &str, host: &str, what: &str) -> u32 {
    *counts(stdout, host)
        .get(what)
        .unwrap_or_else(|| panic!("no `{what}` in the recap of {host}:\n{stdout}"))
}

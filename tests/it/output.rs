//! Snapshots of jig's console output for a small playbook (`tests/it/fixtures/output/`).
//!
//! The committed snapshots are ansible-playbook 2.19's own output for the same runs (with
//! `ANSIBLE_NOCOLOR=1`, 80 columns, as when not on a terminal): jig aims to print the same,
//! byte for byte. Paths of the temporary output directory and durations are filtered out.

use std::fs;
use std::path::Path;

use crate::support::jig;

/// Filters that make a run's output independent of the temp dir and of timing.
fn filtered(out: &Path, text: &str) -> String {
    let text = text.replace(&out.display().to_string(), "[OUT]");
    let durations = regex::Regex::new(r"\b\d+(\.\d+)?(ms|s)\b").expect("valid regex");
    durations.replace_all(&text, "[DURATION]").into_owned()
}

#[test]
fn console_output_of_a_first_run_and_of_a_check_diff_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/output");
    let out = tempfile::tempdir().expect("temp dir");
    let out_arg = format!("out={}", out.path().display());

    let first = jig(
        &dir,
        &["run", "site.yml", "-i", "hosts.ini", "-e", &out_arg],
    );
    assert!(!first.panicked(), "{}", first.tail());
    insta::assert_snapshot!("console_first_run", filtered(out.path(), &first.stdout));

    let hello = out.path().join("hello.txt");
    let mut contents = fs::read(&hello).unwrap_or_default();
    contents.extend_from_slice(b"hand edit\n");
    fs::write(&hello, contents).expect("hand edit");
    let check = jig(
        &dir,
        &[
            "run",
            "site.yml",
            "-i",
            "hosts.ini",
            "-e",
            &out_arg,
            "--check",
            "--diff",
        ],
    );
    assert!(!check.panicked(), "{}", check.tail());
    // One deliberate difference from ansible-playbook here (docs/differences.md, "Check mode
    // with predicted state"): "Write it again" plans against the content the first write
    // would leave, so it is `ok` and the recap says changed=1, as the real run would.
    insta::assert_snapshot!(
        "console_check_diff_after_hand_edit",
        filtered(out.path(), &check.stdout)
    );
}

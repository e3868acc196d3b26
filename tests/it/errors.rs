//! Bad input gives a message a person can act on: it names the file and line (and the
//! variable, module, role or template), exits with the documented code (1 for load errors,
//! 2 for a failed task), and never panics. Fixtures: `tests/it/fixtures/errors/`.
//!
//! Line numbers are those ansible-core 2.19 reports for the same files.

use std::path::{Path, PathBuf};

use crate::support::{Run, jig};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/errors")
}

/// Runs a fixture playbook with an empty output directory; returns the run and that directory.
fn run_fixture(playbook: &str) -> (Run, tempfile::TempDir) {
    let out = tempfile::tempdir().expect("temp dir");
    let out_arg = format!("out={}", out.path().display());
    let run = jig(
        &fixtures(),
        &["run", playbook, "-i", "hosts.ini", "-e", &out_arg],
    );
    (run, out)
}

/// The common expectations: exit code, no panic, and every `needle` in the output.
fn assert_error(run: &Run, code: i32, needles: &[&str]) {
    assert!(!run.panicked(), "jig panicked\n{}", run.tail());
    assert_eq!(run.code, Some(code), "wrong exit code\n{}", run.tail());
    let all = run.all_output();
    for needle in needles {
        assert!(
            all.contains(needle),
            "the message does not mention {needle:?}\n{}",
            run.tail()
        );
    }
}

#[test]
fn malformed_yaml_names_file_line_and_exits_1() {
    let (run, _out) = run_fixture("malformed_yaml.yml");
    // libyaml, as used by ansible-core, puts the error at 9:6, the misindented `- name`.
    assert_error(&run, 1, &["malformed_yaml.yml:9"]);
    assert!(
        run.all_output().contains("- name: misindented"),
        "the offending line is not shown\n{}",
        run.tail()
    );
}

#[test]
fn undefined_variable_names_the_variable_and_the_task() {
    let (run, out) = run_fixture("undefined_variable.yml");
    assert_error(&run, 2, &["no_such_variable", "undefined_variable.yml:6"]);
    assert!(
        !out.path().join("never-written").exists(),
        "the task must not write"
    );
}

#[test]
fn unknown_module_in_a_running_task_fails_the_host() {
    let (run, _out) = run_fixture("unknown_module.yml");
    assert_error(&run, 2, &["frobnicate_widget", "unknown_module.yml:6"]);
}

/// A role carries branches for other platforms: an unknown module is only an error when its
/// task runs. (ansible-core rejects it at load time; jig deliberately does not.)
#[test]
fn unknown_module_in_a_skipped_task_is_fine() {
    let (run, out) = run_fixture("unknown_module_skipped.yml");
    assert!(!run.panicked(), "jig panicked\n{}", run.tail());
    assert_eq!(
        run.code,
        Some(0),
        "a skipped task must not fail\n{}",
        run.tail()
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("ran"))
            .ok()
            .as_deref(),
        Some("ran\n"),
        "the next task must run\n{}",
        run.tail()
    );
}

#[test]
fn missing_role_is_a_load_error() {
    let (run, _out) = run_fixture("missing_role.yml");
    assert_error(&run, 1, &["role_that_does_not_exist", "missing_role.yml:6"]);
}

#[test]
fn missing_template_names_the_template_and_the_task() {
    let (run, out) = run_fixture("missing_template.yml");
    assert_error(&run, 2, &["no_such_template.j2", "missing_template.yml:6"]);
    assert!(
        !out.path().join("never-written").exists(),
        "the task must not write"
    );
}

#[test]
fn missing_playbook_is_a_load_error() {
    let (run, _out) = run_fixture("no_such_playbook.yml");
    assert_error(&run, 1, &["no_such_playbook.yml"]);
}

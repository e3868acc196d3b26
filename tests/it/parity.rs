//! Parity with ansible-core: each case under `tests/parity/cases/` is run by jig exactly as
//! ansible-core 2.19 was run to record `expected.tree` (see `tests/parity/regen.sh`).
//!
//! For each case, in a fresh temporary output directory:
//! 1. `jig run site.yml -i INV -e out=DIR` exits as ansible-playbook did, leaves the tree
//!    ansible-core left, and prints the same `PLAY RECAP` counts;
//! 2. a second run reports `changed=0` for every host and leaves the tree alone;
//! 3. after a hand edit of the case's managed file (named in `managed`), `--check --diff`
//!    shows the edit as a removed line, changes nothing, and exits as ansible-playbook did
//!    (`expected.check_rc`: check mode skips commands, so a later task may fail);
//! 4. a normal run restores the expected tree.
//!
//! Every step runs even when an earlier one failed, and the test reports all problems at once.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{Run, jig, recap_field, recap_lines};
use crate::tree::manifest;

/// The line appended to the managed file by hand.
const HAND_EDIT: &str = "edited by hand, not by jig";

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/parity/cases")
        .join(case)
}

/// The inventory of a case: `inventory/`, else `hosts.yml`, else `hosts.ini` (as regen.sh).
fn inventory_of(dir: &Path) -> &'static str {
    if dir.join("inventory").is_dir() {
        "inventory"
    } else if dir.join("hosts.yml").is_file() {
        "hosts.yml"
    } else {
        "hosts.ini"
    }
}

/// A readable diff of two manifests.
fn manifest_diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(2)
        .header("expected.tree (ansible-core 2.19)", "tree left by jig")
        .to_string()
}

/// The exit code ansible-playbook had, from its recap: 2 when a host failed, else 0.
fn expected_exit(recap: &[String]) -> i32 {
    if recap
        .iter()
        .any(|l| recap_field(l, "failed").unwrap_or(0) > 0)
    {
        2
    } else if recap
        .iter()
        .any(|l| recap_field(l, "unreachable").unwrap_or(0) > 0)
    {
        4
    } else {
        0
    }
}

struct Problems(Vec<String>);

impl Problems {
    fn check_run(&mut self, step: &str, run: &Run, want_exit: i32) {
        if run.panicked() {
            self.0.push(format!("{step}: jig panicked\n{}", run.tail()));
        } else if run.code != Some(want_exit) {
            self.0.push(format!(
                "{step}: exit code {:?}, want {want_exit}\n{}",
                run.code,
                run.tail()
            ));
        }
    }

    fn check_tree(&mut self, step: &str, expected: &str, actual: &str) {
        if expected != actual {
            self.0.push(format!(
                "{step}: the tree differs\n{}",
                manifest_diff(expected, actual)
            ));
        }
    }
}

fn parity(case: &str) {
    let dir = case_dir(case);
    let inventory = inventory_of(&dir);
    let expected_tree = fs::read_to_string(dir.join("expected.tree")).expect("expected.tree");
    let expected_recap: Vec<String> =
        recap_lines(&fs::read_to_string(dir.join("expected.recap")).expect("expected.recap"));
    let managed = fs::read_to_string(dir.join("managed")).expect("managed names a file");
    let managed = managed.trim_end_matches('\n');
    let want_exit = expected_exit(&expected_recap);
    let check_exit: i32 = fs::read_to_string(dir.join("expected.check_rc"))
        .expect("expected.check_rc")
        .trim()
        .parse()
        .expect("expected.check_rc holds an exit code");

    let out = tempfile::Builder::new()
        .prefix("jig-parity.")
        .tempdir()
        .expect("temp dir");
    let out_path = out.path().to_str().expect("UTF-8 temp dir").to_string();
    let out_arg = format!("out={out_path}");
    let base = ["run", "site.yml", "-i", inventory, "-e", out_arg.as_str()];
    let mut problems = Problems(Vec::new());

    // 1. First run: tree and recap as ansible-core's.
    let first = jig(&dir, &base);
    problems.check_run("first run", &first, want_exit);
    problems.check_tree("first run", &expected_tree, &manifest(out.path()));
    let recap = recap_lines(&first.stdout);
    if recap != expected_recap {
        problems.0.push(format!(
            "first run: PLAY RECAP differs from ansible-core's\n{}",
            similar::TextDiff::from_lines(
                &(expected_recap.join("\n") + "\n"),
                &(recap.join("\n") + "\n")
            )
            .unified_diff()
            .header("expected.recap", "jig")
        ));
    }

    // 2. Second run: nothing changes.
    let second = jig(&dir, &base);
    problems.check_run("second run", &second, want_exit);
    let recap = recap_lines(&second.stdout);
    if recap.is_empty() {
        problems
            .0
            .push(format!("second run: no PLAY RECAP\n{}", second.tail()));
    }
    for line in recap
        .iter()
        .filter(|l| recap_field(l, "changed") != Some(0))
    {
        problems
            .0
            .push(format!("second run is not idempotent: {line}"));
    }
    problems.check_tree("second run", &expected_tree, &manifest(out.path()));

    // 3. A hand edit shows under --check --diff as a removed line, and check mode keeps it.
    let managed_path = out.path().join(managed);
    match fs::read(&managed_path) {
        Ok(mut contents) => {
            contents.extend_from_slice(format!("{HAND_EDIT}\n").as_bytes());
            fs::write(&managed_path, contents).expect("hand edit");
            let edited = manifest(out.path());
            let mut args = base.to_vec();
            args.extend(["--check", "--diff"]);
            let check = jig(&dir, &args);
            problems.check_run("--check --diff run", &check, check_exit);
            let removed = check
                .stdout
                .lines()
                .any(|line| line.starts_with('-') && line.contains(HAND_EDIT));
            if !removed {
                problems.0.push(format!(
                    "--check --diff does not show the hand edit of {managed:?} as a removed line\n{}",
                    check.tail()
                ));
            }
            problems.check_tree(
                "--check --diff run (must change nothing)",
                &edited,
                &manifest(out.path()),
            );

            // 4. A normal run puts the file back.
            let restore = jig(&dir, &base);
            problems.check_run("restoring run", &restore, want_exit);
            problems.check_tree("restoring run", &expected_tree, &manifest(out.path()));
        }
        Err(err) => problems.0.push(format!(
            "cannot edit the managed file {managed:?} (the first run did not create it?): {err}"
        )),
    }

    assert!(
        problems.0.is_empty(),
        "parity case {case} ({} problem(s)):\n\n{}",
        problems.0.len(),
        problems.0.join("\n\n")
    );
}

/// One test per case, so that a failure names its case; `every_case_has_a_test` keeps this
/// list complete.
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        const CASES: &[&str] = &[$(stringify!($case)),*];
        $(
            #[test]
            fn $case() {
                parity(stringify!($case));
            }
        )*
    };
}

cases!(
    inventory_ini,
    inventory_yaml,
    vars_precedence,
    play_structure,
    roles_case,
    includes,
    loops,
    control_flow,
    tags_check_nolog,
    commands,
    copy_module,
    template_module,
    file_module,
    text_edit,
    info_modules,
    yaml_forms,
    hostile_names,
    roles_lang,
    example_roles,
    exec_keywords,
    public_roles,
);

#[test]
fn every_case_has_a_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/cases");
    let mut on_disk: Vec<String> = fs::read_dir(&root)
        .expect("cases directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "tests/parity/cases and the cases! list differ"
    );
    for case in CASES {
        for file in [
            "site.yml",
            "expected.tree",
            "expected.recap",
            "expected.check_rc",
            "managed",
        ] {
            assert!(root.join(case).join(file).is_file(), "{case} lacks {file}");
        }
    }
}

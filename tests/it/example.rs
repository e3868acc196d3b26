//! The example in the README (`playbooks/site.yml` with `inventories/local`) must leave the
//! tree ansible-core leaves (`tests/parity/example/`, made by `tests/parity/regen.sh`) and
//! change nothing on a second run. `demo_root` is pointed into a temporary directory.

use std::fs;
use std::path::Path;

use crate::support::{jig, recap_field, recap_lines};
use crate::tree::manifest;

#[test]
fn example_playbook_matches_ansible_and_converges() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected_dir = repo.join("tests/parity/example");
    let expected_tree = fs::read_to_string(expected_dir.join("expected.tree")).expect("tree");
    let expected_recap =
        recap_lines(&fs::read_to_string(expected_dir.join("expected.recap")).expect("recap"));

    let out = tempfile::Builder::new()
        .prefix("jig-parity.")
        .tempdir()
        .expect("temp dir");
    let demo_root = format!("demo_root={}/demo", out.path().display());
    let args = [
        "run",
        "playbooks/site.yml",
        "-i",
        "inventories/local",
        "-e",
        demo_root.as_str(),
    ];

    let first = jig(repo, &args);
    assert!(!first.panicked(), "{}", first.tail());
    assert_eq!(first.code, Some(0), "{}", first.tail());
    pretty_assertions::assert_eq!(
        expected_tree,
        manifest(out.path()),
        "tree after the first run"
    );
    assert_eq!(
        recap_lines(&first.stdout),
        expected_recap,
        "{}",
        first.tail()
    );

    let second = jig(repo, &args);
    assert_eq!(second.code, Some(0), "{}", second.tail());
    let recap = recap_lines(&second.stdout);
    assert!(!recap.is_empty(), "no PLAY RECAP\n{}", second.tail());
    for line in &recap {
        assert_eq!(
            recap_field(line, "changed"),
            Some(0),
            "not idempotent: {line}"
        );
    }
    pretty_assertions::assert_eq!(
        expected_tree,
        manifest(out.path()),
        "tree after the second run"
    );
}

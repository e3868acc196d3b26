//! Manifests of file trees, in the format of `tests/parity/cases/*/expected.tree`.
//!
//! One line per entry below the root (the root itself excluded), sorted by path bytes:
//! `<kind> <mode> <json path> <sha256 | json link target | ->`. Every occurrence of the
//! root's absolute path in file contents and link targets is replaced by `@OUT@` before
//! hashing. `tests/parity/tree.py` writes the same format for ansible-core's trees; the
//! self-test below holds the two to one committed manifest.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The manifest of everything below `root`.
pub fn manifest(root: &Path) -> String {
    let root_bytes = root.as_os_str().as_bytes().to_vec();
    let mut entries: Vec<(Vec<u8>, String)> = Vec::new();
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let listing = match fs::read_dir(&dir) {
            Ok(listing) => listing,
            Err(err) => panic!("cannot list {}: {err}", dir.display()),
        };
        for entry in listing {
            let path = entry.expect("directory entry").path();
            let rel = path.strip_prefix(root).expect("below root").to_path_buf();
            let rel_str = rel
                .to_str()
                .expect("parity trees have UTF-8 names")
                .to_string();
            let meta = fs::symlink_metadata(&path).expect("lstat");
            let mode = format!("{:04o}", meta.permissions().mode() & 0o7777);
            let kind = meta.file_type();
            let line = if kind.is_symlink() {
                let target = fs::read_link(&path).expect("readlink");
                let target = replace_bytes(target.as_os_str().as_bytes(), &root_bytes, b"@OUT@");
                let target = String::from_utf8(target).expect("UTF-8 link target");
                format!("link {mode} {} {}", quote(&rel_str), quote(&target))
            } else if kind.is_dir() {
                pending.push(path.clone());
                format!("dir {mode} {} -", quote(&rel_str))
            } else if kind.is_file() {
                let data = fs::read(&path).expect("read file");
                let data = replace_bytes(&data, &root_bytes, b"@OUT@");
                format!(
                    "file {mode} {} {}",
                    quote(&rel_str),
                    hex::encode(Sha256::digest(&data))
                )
            } else {
                format!("other {mode} {} -", quote(&rel_str))
            };
            entries.push((rel.as_os_str().as_bytes().to_vec(), line));
        }
    }
    entries.sort();
    entries.into_iter().map(|(_, line)| line + "\n").collect()
}

/// JSON string quoting, as Python's `json.dumps(s, ensure_ascii=False)` does it.
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// `haystack` with every occurrence of `needle` replaced by `with`.
fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::process::Command;

    /// Builds the tree that `tests/parity/selftest.tree` describes: awkward names, modes,
    /// links, and contents that mention the root.
    fn build(root: &Path) {
        let set_mode =
            |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
        fs::create_dir(root.join("dir with space")).unwrap();
        set_mode(&root.join("dir with space"), 0o750);
        fs::write(root.join("dir with space/it's \"quoted\""), "plain\n").unwrap();
        set_mode(&root.join("dir with space/it's \"quoted\""), 0o600);
        fs::write(root.join("newline\nname"), "").unwrap();
        set_mode(&root.join("newline\nname"), 0o644);
        fs::write(root.join("ünïcødé ✓.txt"), "héllo\n").unwrap();
        set_mode(&root.join("ünïcødé ✓.txt"), 0o4755);
        fs::write(root.join("$(touch pwned) `x`"), "tab\there\n").unwrap();
        set_mode(&root.join("$(touch pwned) `x`"), 0o640);
        let mentions = format!("path={}/a and {}\n", root.display(), root.display());
        fs::write(root.join("mentions-root"), mentions).unwrap();
        set_mode(&root.join("mentions-root"), 0o644);
        symlink(root.join("ünïcødé ✓.txt"), root.join("abs-link")).unwrap();
        symlink("dir with space", root.join("rel-link")).unwrap();
        fs::create_dir(root.join("a")).unwrap();
        set_mode(&root.join("a"), 0o755);
        fs::write(root.join("a/b"), "b\n").unwrap();
        set_mode(&root.join("a/b"), 0o644);
        fs::write(root.join("a.b"), "a.b\n").unwrap();
        set_mode(&root.join("a.b"), 0o644);
    }

    #[test]
    fn manifest_matches_the_committed_selftest() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path());
        let expected = fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/selftest.tree"),
        )
        .unwrap();
        pretty_assertions::assert_eq!(manifest(dir.path()), expected);
    }

    /// The Python writer of ansible-core's trees must agree with this one, byte for byte.
    #[test]
    fn manifest_matches_tree_py() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/tree.py");
        let output = match Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .output()
        {
            Ok(output) => output,
            // tree.py is only needed to regenerate trees; the committed self-test still holds.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return,
            Err(err) => panic!("python3: {err}"),
        };
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        pretty_assertions::assert_eq!(
            manifest(dir.path()),
            String::from_utf8(output.stdout).unwrap()
        );
    }

    #[test]
    fn replace_bytes_replaces_every_occurrence() {
        assert_eq!(
            replace_bytes(b"/t/x /t", b"/t", b"@OUT@"),
            b"@OUT@/x @OUT@".to_vec()
        );
        assert_eq!(replace_bytes(b"abc", b"", b"z"), b"abc".to_vec());
    }
}

//! Where a bake ends: `--to dir:PATH`, `tar:FILE`, `oci:FILE[:TAG]`, `qcow2:FILE`,
//! `raw:FILE` (repeatable: one bake, several formats).
//!
//! Every output is written under a temporary name beside its destination (same file system)
//! and renamed into place when complete, so an interrupted or failed bake never leaves a
//! partial file at the destination; the temporary is registered with
//! [`crate::connection::chroot::on_interrupt_remove`] so SIGINT/SIGTERM delete it.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::BakeError;
use crate::connection::chroot::on_interrupt_remove;

/// A parsed `--to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// The tree itself, as a directory.
    Dir(PathBuf),
    /// A tar of the tree.
    Tar(PathBuf),
    /// An OCI image layout archive with this tag (`latest` by default).
    Oci(PathBuf, String),
    /// An ext4 image converted to qcow2.
    Qcow2(PathBuf),
    /// An ext4 image, raw.
    Raw(PathBuf),
}

impl Output {
    /// Parses a `--to` value.
    pub fn parse(s: &str) -> Result<Output, String> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            format!("--to {s}: expected dir:PATH, tar:FILE, oci:FILE[:TAG], qcow2:FILE or raw:FILE")
        })?;
        if rest.is_empty() {
            return Err(format!("--to {s}: the path is missing"));
        }
        Ok(match kind {
            "dir" => Output::Dir(rest.into()),
            "tar" => Output::Tar(rest.into()),
            "oci" => {
                // A tag is what follows the last ':' when it looks like one (no '/').
                match rest.rsplit_once(':') {
                    Some((file, tag))
                        if !tag.is_empty()
                            && !file.is_empty()
                            && tag
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) =>
                    {
                        Output::Oci(file.into(), tag.into())
                    }
                    _ => Output::Oci(rest.into(), "latest".into()),
                }
            }
            "qcow2" => Output::Qcow2(rest.into()),
            "raw" => Output::Raw(rest.into()),
            other => {
                return Err(format!(
                    "--to {s}: unknown output '{other}' (dir, tar, oci, qcow2, raw)"
                ));
            }
        })
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        match self {
            Output::Dir(p) | Output::Tar(p) | Output::Qcow2(p) | Output::Raw(p) => p,
            Output::Oci(p, _) => p,
        }
    }
}

/// A temporary path beside `dest`: `.NAME.jig-partial-PID`.
pub fn partial_path(dest: &Path, what: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(format!(".{name}.jig-{what}-{}", std::process::id()))
}

/// Writes every file output of the finished tree at `tree` (`dir:` outputs are handled by the
/// caller, which moves the tree itself).
pub fn write_file_output(
    out: &Output,
    tree: &Path,
    epoch: i64,
    created_by: &str,
    seed: &str,
    size: Option<u64>,
) -> Result<(), BakeError> {
    let dest = out.path();
    let io_err = |e: std::io::Error| BakeError::Output(format!("{}: {e}", dest.display()));
    let tmp = partial_path(dest, "partial");
    let _guard = on_interrupt_remove(&tmp);
    let res = (|| -> Result<(), BakeError> {
        match out {
            Output::Tar(_) => {
                let f = std::fs::File::create(&tmp).map_err(io_err)?;
                let mut w = BufWriter::new(f);
                super::tar::write_tree(tree, epoch, &mut w).map_err(io_err)?;
                w.flush().map_err(io_err)?;
                w.into_inner()
                    .map_err(|e| io_err(e.into_error()))?
                    .sync_all()
                    .map_err(io_err)?;
            }
            Output::Oci(_, tag) => {
                let scratch = partial_path(dest, "scratch");
                std::fs::create_dir_all(&scratch).map_err(io_err)?;
                let _g = on_interrupt_remove(&scratch);
                let r = super::oci::write_archive(tree, tag, epoch, created_by, &scratch, &tmp);
                let _ = std::fs::remove_dir_all(&scratch);
                r.map_err(io_err)?;
            }
            Output::Raw(_) | Output::Qcow2(_) => {
                let size = size.unwrap_or_else(|| super::disk::default_size(tree));
                let ext4 = |raw: &Path| {
                    super::disk::make_ext4(tree, raw, size, epoch, seed)
                        .and_then(|_| super::disk::fix_inode_times(tree, raw, epoch))
                };
                if matches!(out, Output::Raw(_)) {
                    ext4(&tmp).map_err(BakeError::Output)?;
                } else {
                    let raw = partial_path(dest, "raw");
                    let _g = on_interrupt_remove(&raw);
                    let r = ext4(&raw).and_then(|_| super::disk::to_qcow2(&raw, &tmp));
                    let _ = std::fs::remove_file(&raw);
                    r.map_err(BakeError::Output)?;
                }
            }
            Output::Dir(_) => {}
        }
        std::fs::rename(&tmp, dest).map_err(io_err)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse() {
        assert_eq!(
            Output::parse("oci:web.tar:v1.2").unwrap(),
            Output::Oci("web.tar".into(), "v1.2".into())
        );
        assert_eq!(
            Output::parse("oci:/srv/out/web.tar").unwrap(),
            Output::Oci("/srv/out/web.tar".into(), "latest".into())
        );
        assert_eq!(
            Output::parse("dir:/srv/a b").unwrap(),
            Output::Dir("/srv/a b".into())
        );
        assert_eq!(
            Output::parse("qcow2:x.qcow2").unwrap(),
            Output::Qcow2("x.qcow2".into())
        );
        assert!(
            Output::parse("zip:x")
                .unwrap_err()
                .contains("unknown output")
        );
        assert!(Output::parse("tar:").is_err());
        assert!(Output::parse("x.tar").is_err());
        assert_eq!(
            partial_path(Path::new("/o/web.tar"), "partial"),
            PathBuf::from(format!("/o/.web.tar.jig-partial-{}", std::process::id()))
        );
    }
}

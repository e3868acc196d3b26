//! Where a bake starts: `--from debootstrap:SUITE[:VARIANT]`, `dir:PATH`, a rootfs tarball
//! (`.tar`, `.tar.gz`/`.tgz`, `.tar.zst`) or `oci:FILE` (an OCI image layout archive).
//!
//! [`Source::materialize`] copies the base into a fresh work tree (the source is never
//! modified) and returns the base's digest for `/etc/jig/image.json`: the sha256 of the file
//! for tarballs and OCI archives, and of a sorted listing (path, type, mode, owner, size,
//! mtime, link target) for directories and debootstrap trees. debootstrap trees are cached
//! under `/var/cache/jig-bake`, keyed by suite, variant and mirror.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::BakeError;

/// Where the debootstrap cache lives.
pub const DEBOOTSTRAP_CACHE: &str = "/var/cache/jig-bake";

/// A parsed `--from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `debootstrap:SUITE[:VARIANT]`.
    Debootstrap {
        /// The Debian suite (`bookworm`).
        suite: String,
        /// debootstrap's `--variant` (`minbase`...), if any.
        variant: Option<String>,
    },
    /// `dir:PATH`: an unpacked root file system.
    Dir(PathBuf),
    /// A rootfs tarball, compressed or not.
    Tarball(PathBuf),
    /// `oci:FILE`: an OCI image layout archive; its layers are applied in order.
    Oci(PathBuf),
}

impl Source {
    /// Parses a `--from` value.
    pub fn parse(s: &str) -> Result<Source, String> {
        if let Some(rest) = s.strip_prefix("debootstrap:") {
            let mut it = rest.splitn(2, ':');
            let suite = it.next().unwrap_or("").to_string();
            if suite.is_empty()
                || !suite
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(format!(
                    "--from {s}: the suite must be a name like bookworm"
                ));
            }
            let variant = it.next().filter(|v| !v.is_empty()).map(str::to_string);
            return Ok(Source::Debootstrap { suite, variant });
        }
        if let Some(p) = s.strip_prefix("dir:") {
            return Ok(Source::Dir(PathBuf::from(p)));
        }
        if let Some(p) = s.strip_prefix("oci:") {
            return Ok(Source::Oci(PathBuf::from(p)));
        }
        let p = s.strip_prefix("tar:").unwrap_or(s);
        if [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz"]
            .iter()
            .any(|ext| p.ends_with(ext))
        {
            return Ok(Source::Tarball(PathBuf::from(p)));
        }
        Err(format!(
            "--from {s}: expected debootstrap:SUITE[:VARIANT], dir:PATH, a .tar/.tar.gz/.tar.zst \
             file or oci:FILE"
        ))
    }

    /// Fills the empty directory `work` with the base and returns the base's digest
    /// (`sha256:...`). `mirror` is the debootstrap mirror (`None`: the machine's apt source).
    pub fn materialize(&self, work: &Path, mirror: Option<&str>) -> Result<String, BakeError> {
        match self {
            Source::Dir(dir) => {
                if !dir.join("bin/sh").exists() && !dir.join("usr/bin/sh").exists() {
                    return Err(BakeError::Source(format!(
                        "{} is not a root file system (no bin/sh)",
                        dir.display()
                    )));
                }
                copy_tree(dir, work)?;
                Ok(listing_digest(dir)?)
            }
            Source::Tarball(file) => {
                let digest = file_digest(file)?;
                run(Command::new("tar")
                    .arg("--numeric-owner")
                    .arg("--xattrs")
                    .arg("--xattrs-include=*")
                    .arg("-xpf")
                    .arg(file)
                    .arg("-C")
                    .arg(work))?;
                Ok(digest)
            }
            Source::Oci(file) => {
                let digest = file_digest(file)?;
                unpack_oci(file, work)?;
                Ok(digest)
            }
            Source::Debootstrap { suite, variant } => {
                let cached = debootstrap_cached(suite, variant.as_deref(), mirror)?;
                copy_tree(&cached, work)?;
                Ok(listing_digest(&cached)?)
            }
        }
    }
}

fn run(cmd: &mut Command) -> Result<(), BakeError> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| BakeError::Source(format!("cannot run {shown}: {e}")))?;
    if !out.status.success() {
        return Err(BakeError::Source(format!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Copies a tree with everything (owners, modes, links, devices, xattrs, times).
fn copy_tree(from: &Path, to: &Path) -> Result<(), BakeError> {
    let mut src = from.as_os_str().to_owned();
    src.push("/.");
    run(Command::new("cp")
        .arg("-a")
        .arg("--reflink=auto")
        .arg(&src)
        .arg(to))
}

fn file_digest(file: &Path) -> Result<String, BakeError> {
    file_sha256(file)
        .map(|h| format!("sha256:{h}"))
        .map_err(|e| BakeError::Source(format!("cannot read {}: {e}", file.display())))
}

/// The sha256 of a file, in hex.
pub fn file_sha256(file: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(file)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The digest of a tree's sorted listing: cheap, and changes whenever a file is replaced,
/// resized, re-owned or touched.
pub fn listing_digest(dir: &Path) -> Result<String, BakeError> {
    let mut h = Sha256::new();
    let mut stack = vec![PathBuf::new()];
    let err = |p: &Path, e: std::io::Error| {
        BakeError::Source(format!("cannot read {}: {e}", dir.join(p).display()))
    };
    while let Some(rel) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(&rel))
            .map_err(|e| err(&rel, e))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|e| err(&rel, e))?;
        names.sort();
        for n in names.into_iter().rev() {
            let p = rel.join(&n);
            let md = std::fs::symlink_metadata(dir.join(&p)).map_err(|e| err(&p, e))?;
            let link = if md.file_type().is_symlink() {
                std::fs::read_link(dir.join(&p))
                    .map(|t| t.display().to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            h.update(
                format!(
                    "{}\0{:o}\0{}\0{}\0{}\0{}\0{}\n",
                    p.display(),
                    md.mode(),
                    md.uid(),
                    md.gid(),
                    md.size(),
                    md.mtime(),
                    link
                )
                .as_bytes(),
            );
            if md.is_dir() {
                stack.push(p);
            }
        }
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

/// The machine's first Debian mirror from its apt sources (`deb URL SUITE ...` lines or
/// deb822 `URIs:`), else deb.debian.org.
fn machine_mirror() -> String {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            let url = if let Some(rest) = line.strip_prefix("deb ") {
                rest.split_whitespace().find(|w| !w.starts_with('['))
            } else {
                line.strip_prefix("URIs:")
                    .and_then(|r| r.split_whitespace().next())
            };
            if let Some(u) = url.filter(|u| {
                u.starts_with("http") && u.contains("debian") && !u.contains("security")
            }) {
                return u.to_string();
            }
        }
    }
    "http://deb.debian.org/debian".to_string()
}

/// The cached debootstrap tree for suite/variant/mirror, built on first use.
fn debootstrap_cached(
    suite: &str,
    variant: Option<&str>,
    mirror: Option<&str>,
) -> Result<PathBuf, BakeError> {
    let mirror = mirror.map(str::to_string).unwrap_or_else(machine_mirror);
    let key = hex::encode(Sha256::digest(
        format!("{suite}\0{}\0{mirror}", variant.unwrap_or("")).as_bytes(),
    ));
    let name = format!(
        "debootstrap-{suite}-{}-{}",
        variant.unwrap_or("default"),
        &key[..12]
    );
    let cache = Path::new(DEBOOTSTRAP_CACHE);
    let tree = cache.join(&name);
    if tree.join(".jig-bake-complete").exists() {
        return Ok(tree);
    }
    std::fs::create_dir_all(cache)
        .map_err(|e| BakeError::Source(format!("cannot create {}: {e}", cache.display())))?;
    let tmp = cache.join(format!("{name}.partial-{}", std::process::id()));
    let _guard = crate::connection::chroot::on_interrupt_remove(&tmp);
    let mut cmd = Command::new("debootstrap");
    if let Some(v) = variant {
        cmd.arg(format!("--variant={v}"));
    }
    cmd.arg(suite).arg(&tmp).arg(&mirror);
    let res = run(&mut cmd);
    if let Err(e) = res {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    std::fs::write(tmp.join(".jig-bake-complete"), b"")
        .and_then(|_| {
            let _ = std::fs::remove_dir_all(&tree);
            std::fs::rename(&tmp, &tree)
        })
        .map_err(|e| BakeError::Source(format!("cannot cache {}: {e}", tree.display())))?;
    Ok(tree)
}

/// Applies an OCI archive's layers in order into `work`, honouring whiteouts.
fn unpack_oci(file: &Path, work: &Path) -> Result<(), BakeError> {
    let layout = super::output::partial_path(work, "oci-layout");
    std::fs::create_dir_all(&layout)
        .map_err(|e| BakeError::Source(format!("cannot create {}: {e}", layout.display())))?;
    let _guard = crate::connection::chroot::on_interrupt_remove(&layout);
    let res = unpack_oci_in(file, &layout, work);
    let _ = std::fs::remove_dir_all(&layout);
    res
}

fn unpack_oci_in(file: &Path, layout: &Path, work: &Path) -> Result<(), BakeError> {
    run(Command::new("tar")
        .arg("-xf")
        .arg(file)
        .arg("-C")
        .arg(layout))?;
    let read_json = |p: &Path| -> Result<Json, BakeError> {
        let text = std::fs::read(p).map_err(|e| {
            BakeError::Source(format!("{}: not an OCI archive ({e})", file.display()))
        })?;
        serde_json::from_slice(&text)
            .map_err(|e| BakeError::Source(format!("{}: {}: {e}", file.display(), p.display())))
    };
    let blob = |digest: &str| -> Result<PathBuf, BakeError> {
        let (alg, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        if !hex.bytes().all(|b| b.is_ascii_hexdigit())
            || !alg.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(BakeError::Source(format!(
                "{}: bad digest {digest}",
                file.display()
            )));
        }
        Ok(layout.join("blobs").join(alg).join(hex))
    };
    let index = read_json(&layout.join("index.json"))?;
    let first = index["manifests"]
        .get(0)
        .and_then(|m| m["digest"].as_str())
        .ok_or_else(|| {
            BakeError::Source(format!("{}: index.json lists no image", file.display()))
        })?;
    let mut manifest = read_json(&blob(first)?)?;
    // An index of indexes (multi-arch): take the entry for this machine's architecture.
    if manifest.get("manifests").is_some() {
        let arch = super::oci::go_arch();
        let pick = manifest["manifests"]
            .as_array()
            .and_then(|ms| {
                ms.iter()
                    .find(|m| m["platform"]["architecture"].as_str() == Some(arch))
                    .or(ms.first())
            })
            .and_then(|m| m["digest"].as_str())
            .map(str::to_string)
            .ok_or_else(|| BakeError::Source(format!("{}: empty image index", file.display())))?;
        manifest = read_json(&blob(&pick)?)?;
    }
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    for layer in layers {
        let digest = layer["digest"].as_str().ok_or_else(|| {
            BakeError::Source(format!("{}: layer without digest", file.display()))
        })?;
        apply_layer(&blob(digest)?, work)?;
    }
    Ok(())
}

/// Extracts one layer: its whiteouts first remove what lower layers put there, then the
/// layer's files (without the whiteout markers) are unpacked.
fn apply_layer(layer: &Path, work: &Path) -> Result<(), BakeError> {
    let out = Command::new("tar")
        .arg("-tf")
        .arg(layer)
        .output()
        .map_err(|e| BakeError::Source(format!("cannot list {}: {e}", layer.display())))?;
    if !out.status.success() {
        return Err(BakeError::Source(format!(
            "cannot list layer {}: {}",
            layer.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let listing = String::from_utf8_lossy(&out.stdout);
    for entry in listing.lines() {
        let entry = entry.trim_start_matches("./");
        let (dir, name) = entry.rsplit_once('/').unwrap_or(("", entry));
        if dir.split('/').any(|c| c == "..") {
            continue;
        }
        let base = work.join(dir);
        if name == ".wh..wh..opq" {
            if let Ok(rd) = std::fs::read_dir(&base) {
                for e in rd.flatten() {
                    remove_any(&e.path());
                }
            }
        } else if let Some(gone) = name.strip_prefix(".wh.")
            && !gone.is_empty()
            && gone != ".."
            && gone != "."
        {
            remove_any(&base.join(gone));
        }
    }
    run(Command::new("tar")
        .arg("--numeric-owner")
        .arg("--xattrs")
        .arg("--xattrs-include=*")
        .arg("--exclude=.wh.*")
        .arg("-xpf")
        .arg(layer)
        .arg("-C")
        .arg(work))
}

fn remove_any(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(md) if md.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(
            Source::parse("debootstrap:bookworm:minbase").unwrap(),
            Source::Debootstrap {
                suite: "bookworm".into(),
                variant: Some("minbase".into())
            }
        );
        assert_eq!(
            Source::parse("debootstrap:bookworm").unwrap(),
            Source::Debootstrap {
                suite: "bookworm".into(),
                variant: None
            }
        );
        assert!(Source::parse("debootstrap:book worm").is_err());
        assert_eq!(
            Source::parse("dir:/srv/a b").unwrap(),
            Source::Dir("/srv/a b".into())
        );
        assert_eq!(
            Source::parse("base.tar.zst").unwrap(),
            Source::Tarball("base.tar.zst".into())
        );
        assert_eq!(
            Source::parse("oci:x.tar").unwrap(),
            Source::Oci("x.tar".into())
        );
        let e = Source::parse("base.img").unwrap_err();
        assert!(e.contains("dir:PATH"), "{e}");
    }

    #[test]
    fn oci_layers_apply_with_whiteouts() {
        let d = tempfile::tempdir().unwrap();
        let mk = |name: &str, files: &[(&str, &str)]| {
            let t = d.path().join(name);
            for (p, c) in files {
                let f = t.join(p);
                std::fs::create_dir_all(f.parent().unwrap()).unwrap();
                std::fs::write(f, c).unwrap();
            }
            let tarf = d.path().join(format!("{name}.tar"));
            let st = Command::new("tar")
                .arg("-cf")
                .arg(&tarf)
                .arg("-C")
                .arg(&t)
                .arg(".")
                .status()
                .unwrap();
            assert!(st.success());
            tarf
        };
        let l1 = mk("l1", &[("etc/a", "1"), ("etc/b", "1"), ("opt/x/y", "1")]);
        let l2 = mk(
            "l2",
            &[
                ("etc/.wh.a", ""),
                ("opt/x/.wh..wh..opq", ""),
                ("opt/x/z", "2"),
            ],
        );
        let work = d.path().join("work");
        std::fs::create_dir(&work).unwrap();
        apply_layer(&l1, &work).unwrap();
        apply_layer(&l2, &work).unwrap();
        assert!(!work.join("etc/a").exists());
        assert!(work.join("etc/b").exists());
        assert!(!work.join("opt/x/y").exists());
        assert_eq!(std::fs::read_to_string(work.join("opt/x/z")).unwrap(), "2");
        assert!(!work.join("etc/.wh.a").exists());
    }
}

//! The OCI image layout archive: `oci-layout`, `index.json` and `blobs/sha256/` (config,
//! manifest, one gzip layer) in one tar, as `skopeo`, `podman load` and `docker load` read it.
//!
//! Reproducible: the layer is [`super::tar::write_tree`]'s stream, gzip'd with a fixed header
//! (mtime 0, OS byte 3 = Unix, no file name); the config's `created` is `SOURCE_DATE_EPOCH`;
//! JSON keys are written in a fixed order; the outer tar is written the same way as the layer.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::tar::{Content, write_entries, write_tree};

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// The OCI (Go) name of this machine's architecture; a chroot can only run binaries of it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// A writer that hashes and counts what passes through.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the OCI archive of the tree `root` to `out` (a file being written beside the
/// destination), tagged `tag`, with `scratch` a directory for the layer blob.
pub fn write_archive(
    root: &Path,
    tag: &str,
    epoch: i64,
    created_by: &str,
    scratch: &Path,
    out: &Path,
) -> io::Result<()> {
    // The layer: tar -> sha256 (diff_id) -> gzip -> sha256 (blob digest) -> file.
    let layer_path = scratch.join("layer.tar.gz");
    let file = BufWriter::new(File::create(&layer_path)?);
    let compressed = Hashing {
        inner: file,
        hash: Sha256::new(),
        len: 0,
    };
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(3)
        .write(compressed, flate2::Compression::default());
    let mut plain = Hashing {
        inner: gz,
        hash: Sha256::new(),
        len: 0,
    };
    write_tree(root, epoch, &mut plain)?;
    let diff_id = format!("sha256:{}", hex::encode(plain.hash.finalize()));
    let mut compressed = plain.inner.finish()?;
    compressed.flush()?;
    let layer_digest = format!("sha256:{}", hex::encode(compressed.hash.finalize()));
    let layer_size = compressed.len;
    drop(compressed.inner);

    let created = super::reproducible::rfc3339(epoch);
    let config = json!({
        "created": created,
        "architecture": go_arch(),
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": {"org.opencontainers.image.created": created},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": created_by}],
    });
    let config = serde_json::to_vec(&config).map_err(io::Error::other)?;
    let config_digest = format!("sha256:{}", hex::encode(Sha256::digest(&config)));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": layer_size}],
    });
    let manifest = serde_json::to_vec(&manifest).map_err(io::Error::other)?;
    let manifest_digest = format!("sha256:{}", hex::encode(Sha256::digest(&manifest)));
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [{
            "mediaType": MANIFEST_TYPE,
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    let index = serde_json::to_vec(&index).map_err(io::Error::other)?;

    let blob = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let mut blobs = vec![
        (blob(&config_digest), Content::Bytes(config)),
        (blob(&manifest_digest), Content::Bytes(manifest)),
        (blob(&layer_digest), Content::File(layer_path.clone())),
    ];
    blobs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut entries = vec![
        ("blobs/".to_string(), Content::Dir),
        ("blobs/sha256/".to_string(), Content::Dir),
    ];
    entries.extend(blobs);
    entries.push(("index.json".into(), Content::Bytes(index)));
    entries.push((
        "oci-layout".into(),
        Content::Bytes(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
    ));
    let mut w = BufWriter::new(File::create(out)?);
    write_entries(&entries, epoch, &mut w)?;
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::remove_file(&layer_path)
}

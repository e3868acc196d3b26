//! Disk images: an ext4 file system made from the tree with `mkfs.ext4 -d`, written raw or
//! converted to qcow2 with `qemu-img convert`. The image is a bare file system (no partition
//! table, no boot loader): attach it as a root disk of a VM whose kernel is given outside, or
//! read it with `debugfs`/loop mounts.
//!
//! Reproducible as far as mke2fs allows: a UUID and directory hash seed derived from the bake's
//! inputs (`-U`, `-E hash_seed=`), the superblock's times from `E2FSPROGS_FAKE_TIME` and
//! `SOURCE_DATE_EPOCH`, the tree's mtimes clamped first. mke2fs 1.47.0 copies each inode's
//! change time (ctime) from the tree, which no one can set, so two bakes differ there unless
//! mke2fs honours SOURCE_DATE_EPOCH for inode times (1.47.1 and later do).

use std::path::Path;
use std::process::Command;

/// Parses a size: bytes, or with K/M/G/T (powers of 1024), e.g. `2G`, `512M`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("--size {s}: use a number with K, M, G or T")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("--size {s}: use a number with K, M, G or T (like 2G)"))?;
    if !(n > 0.0) {
        return Err(format!("--size {s}: must be positive"));
    }
    Ok((n * mult as f64) as u64)
}

/// The size to use when none is given: the tree's apparent size plus half, at least 256 MiB,
/// rounded up to a MiB.
pub fn default_size(root: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let Ok(md) = std::fs::symlink_metadata(p) else {
            return 0;
        };
        let mut n = md.blocks() * 512 + 4096;
        if md.is_dir()
            && let Ok(rd) = std::fs::read_dir(p)
        {
            for e in rd.flatten() {
                n += walk(&e.path());
            }
        }
        n
    }
    let want = (walk(root) * 3 / 2).max(256 << 20);
    want.div_ceil(1 << 20) * (1 << 20)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {shown}: {e} (install e2fsprogs / qemu-utils)"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Makes the ext4 image of `root` in the new file `raw` of `size` bytes. `seed` names the
/// bake (the UUID and hash seed derive from it).
pub fn make_ext4(root: &Path, raw: &Path, size: u64, epoch: i64, seed: &str) -> Result<(), String> {
    let f =
        std::fs::File::create(raw).map_err(|e| format!("cannot create {}: {e}", raw.display()))?;
    f.set_len(size)
        .map_err(|e| format!("cannot size {}: {e}", raw.display()))?;
    drop(f);
    let uuid = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("jig-bake:{seed}").as_bytes(),
    );
    let hash_seed = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("jig-bake-hash:{seed}").as_bytes(),
    );
    run(Command::new("mkfs.ext4")
        .env("E2FSPROGS_FAKE_TIME", epoch.to_string())
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .env("MKE2FS_CONFIG", "/etc/mke2fs.conf")
        .arg("-q")
        .arg("-F")
        .arg("-t")
        .arg("ext4")
        .arg("-b")
        .arg("4096")
        .arg("-L")
        .arg("jig-root")
        .arg("-U")
        .arg(uuid.to_string())
        .arg("-E")
        .arg(format!(
            "hash_seed={hash_seed},lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0"
        ))
        .arg("-d")
        .arg(root)
        .arg(raw))
}

/// Converts the raw image to qcow2 (uncompressed: compressed clusters are deterministic too,
/// but slower to write and to boot).
pub fn to_qcow2(raw: &Path, qcow2: &Path) -> Result<(), String> {
    run(Command::new("qemu-img")
        .arg("convert")
        .arg("-q")
        .arg("-f")
        .arg("raw")
        .arg("-O")
        .arg("qcow2")
        .arg(raw)
        .arg(qcow2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("2X").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("G").is_err());
    }
}

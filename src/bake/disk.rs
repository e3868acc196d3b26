//! Disk images: an ext4 file system made from the tree with `mkfs.ext4 -d`, written raw or
//! converted to qcow2 with `qemu-img convert`. The image is a bare file system (no partition
//! table, no boot loader): attach it as a root disk of a VM whose kernel is given outside, or
//! read it with `debugfs`/loop mounts.
//!
//! Reproducible: a UUID and directory hash seed derived from the bake's inputs (`-U`,
//! `-E hash_seed=`), the superblock's and new inodes' times from `E2FSPROGS_FAKE_TIME`, the
//! tree's mtimes clamped first. mke2fs 1.47.0 copies each inode's ctime (which nobody can set
//! on the tree) and atime (which its own reading of directories moves) from the tree, so a
//! second pass with `debugfs -w` sets both to the epoch on every inode, by path. Names
//! debugfs cannot quote (containing `"`, `\` or a newline) keep their times; none exist in a
//! Debian root file system.

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
    if n.is_nan() || n <= 0.0 {
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

/// Sets ctime and atime of every inode of the image made from `root` to `epoch` (see the
/// module docs), with one `debugfs -w -f` run.
pub fn fix_inode_times(root: &Path, raw: &Path, epoch: i64) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let stamp: String = super::reproducible::rfc3339(epoch)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let mut cmds: Vec<u8> = Vec::new();
    let mut add = |path: &[u8]| {
        if path.iter().any(|b| matches!(b, b'"' | b'\\' | b'\n')) {
            return;
        }
        for field in ["ctime", "atime"] {
            cmds.extend_from_slice(b"set_inode_field \"");
            cmds.extend_from_slice(path);
            cmds.extend_from_slice(format!("\" {field} {stamp}\n").as_bytes());
        }
    };
    add(b"/");
    add(b"/lost+found");
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let mut abs = b"/".to_vec();
            abs.extend_from_slice(rel.as_os_str().as_bytes());
            add(&abs);
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    let mut file = raw.as_os_str().to_owned();
    file.push(".debugfs");
    let file = std::path::PathBuf::from(file);
    let _guard = crate::connection::chroot::on_interrupt_remove(&file);
    std::fs::write(&file, &cmds).map_err(|e| format!("{}: {e}", file.display()))?;
    let res = run(Command::new("debugfs")
        .env("E2FSPROGS_FAKE_TIME", epoch.to_string())
        .env("TZ", "UTC")
        .arg("-w")
        .arg("-f")
        .arg(&file)
        .arg(raw));
    let _ = std::fs::remove_file(&file);
    res
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

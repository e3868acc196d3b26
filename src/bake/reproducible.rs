//! What makes two bakes of the same inputs byte-identical: `SOURCE_DATE_EPOCH`, the files
//! that record the moment or the machine of a build (stripped from the tree before any output
//! is written), mtimes clamped to the epoch, and `/etc/jig/image.json`, the record of what
//! made the image.
//!
//! Stripped: apt lists and caches (`/var/lib/apt/lists`, `/var/cache/apt`), everything under
//! `/var/log` (dpkg and apt logs included; directories stay), `/var/cache/ldconfig/aux-cache`,
//! `/var/cache/man`, python `__pycache__` directories, the contents of `/tmp`, `/var/tmp` and
//! `/run`; `/etc/machine-id` is emptied (systemd makes one at first boot) and the SSH host keys
//! `/etc/ssh/ssh_host_*` are removed (Debian's `ssh.service` / `sshd-keygen` regenerate them at
//! boot; a sysvinit image needs `ssh-keygen -A` at boot).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde_json::json;

/// The epoch for a bake: `SOURCE_DATE_EPOCH` when set, else the last commit time of the git
/// repository holding the playbook, else 0.
pub fn source_date_epoch(playbook: &Path) -> Result<i64, String> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|e| *e >= 0)
            .ok_or_else(|| format!("SOURCE_DATE_EPOCH={v} is not a number of seconds since 1970"));
    }
    Ok(git(playbook, &["log", "-1", "--format=%ct"])
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// `git ARGS` run in the playbook's directory, its trimmed output when it succeeds.
pub fn git(playbook: &Path, args: &[&str]) -> Option<String> {
    let dir = playbook
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// `epoch` as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
pub fn rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Removes a path's contents but keeps the directory itself.
fn empty_dir(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        match std::fs::symlink_metadata(&p) {
            Ok(md) if md.is_dir() => {
                let _ = std::fs::remove_dir_all(&p);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&p);
            }
            Err(_) => {}
        }
    }
}

/// Removes the files under `dir` recursively, keeping every directory (services expect
/// `/var/log/nginx` and friends to exist).
fn remove_files_keep_dirs(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        match std::fs::symlink_metadata(&p) {
            Ok(md) if md.is_dir() => remove_files_keep_dirs(&p),
            Ok(_) => {
                let _ = std::fs::remove_file(&p);
            }
            Err(_) => {}
        }
    }
}

fn remove_pycache(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if md.is_dir() {
            if e.file_name() == "__pycache__" {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                remove_pycache(&p);
            }
        }
    }
}

/// Strips what records the build's time or machine from the tree at `root` (see the module
/// docs). Runs after the playbook, with no chroot mounts left.
pub fn strip(root: &Path) {
    let lists = root.join("var/lib/apt/lists");
    empty_dir(&lists);
    if lists.exists() {
        // apt expects these two to exist.
        let _ = std::fs::create_dir_all(lists.join("partial"));
        let _ = std::fs::write(lists.join("lock"), b"");
    }
    let apt_cache = root.join("var/cache/apt");
    empty_dir(&apt_cache);
    if apt_cache.exists() {
        let _ = std::fs::create_dir_all(apt_cache.join("archives/partial"));
    }
    remove_files_keep_dirs(&root.join("var/log"));
    let _ = std::fs::remove_file(root.join("var/cache/ldconfig/aux-cache"));
    for d in ["var/cache/man", "tmp", "var/tmp", "run"] {
        empty_dir(&root.join(d));
    }
    let mid = root.join("etc/machine-id");
    if std::fs::symlink_metadata(&mid).is_ok_and(|m| m.is_file()) {
        let _ = std::fs::write(&mid, b"");
    }
    if let Ok(rd) = std::fs::read_dir(root.join("etc/ssh")) {
        for e in rd.flatten() {
            if e.file_name().as_bytes().starts_with(b"ssh_host_") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    for d in ["usr", "etc", "opt", "var", "srv", "root", "home"] {
        remove_pycache(&root.join(d));
    }
}

/// Sets every mtime newer than `epoch` to `epoch`, in place, without following links (for
/// disk images, which copy the tree's times; the tar writers clamp as they write).
pub fn clamp_mtimes(root: &Path, epoch: i64) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::symlink_metadata(root)?;
    if md.is_dir() {
        for e in std::fs::read_dir(root)? {
            clamp_mtimes(&e?.path(), epoch)?;
        }
    }
    if md.mtime() > epoch || md.atime() > epoch {
        let c = CString::new(root.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::other("NUL in path"))?;
        let t = libc::timespec {
            tv_sec: epoch as libc::time_t,
            tv_nsec: 0,
        };
        let times = [t, t];
        let rc = unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                c.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What `/etc/jig/image.json` records.
pub struct ImageRecord<'a> {
    /// The playbook, as given.
    pub playbook: &'a Path,
    /// The `--from` value.
    pub base: &'a str,
    /// The base's digest.
    pub base_digest: &'a str,
    /// `SOURCE_DATE_EPOCH`.
    pub epoch: i64,
}

/// Writes `/etc/jig/image.json` into the tree (mode 0644, root-owned).
pub fn write_record(root: &Path, rec: &ImageRecord<'_>) -> std::io::Result<()> {
    let commit = git(rec.playbook, &["rev-parse", "HEAD"]);
    let dirty = git(
        rec.playbook,
        &["status", "--porcelain", "--untracked-files=no"],
    )
    .is_some();
    let body = json!({
        "playbook": rec.playbook.display().to_string(),
        "git_commit": commit,
        "git_dirty": commit.is_some() && dirty,
        "base": rec.base,
        "base_digest": rec.base_digest,
        "jig_version": env!("CARGO_PKG_VERSION"),
        "source_date_epoch": rec.epoch,
    });
    let dir = root.join("etc/jig");
    std::fs::create_dir_all(&dir)?;
    let mut text = serde_json::to_string_pretty(&body).map_err(std::io::Error::other)?;
    text.push('\n');
    let f = dir.join("image.json");
    std::fs::write(&f, text)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn strip_removes_build_traces_and_keeps_dirs() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for (p, c) in [
            ("var/log/dpkg.log", "x"),
            ("var/log/nginx/access.log", "x"),
            ("var/lib/apt/lists/deb_Packages", "x"),
            ("var/cache/apt/pkgcache.bin", "x"),
            ("etc/machine-id", "abc\n"),
            ("etc/ssh/ssh_host_ed25519_key", "k"),
            ("etc/ssh/sshd_config", "keep"),
            ("usr/lib/python3/x/__pycache__/a.pyc", "x"),
            ("var/cache/ldconfig/aux-cache", "x"),
            ("tmp/junk", "x"),
        ] {
            let f = r.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, c).unwrap();
        }
        strip(r);
        assert!(!r.join("var/log/dpkg.log").exists());
        assert!(r.join("var/log/nginx").is_dir());
        assert!(!r.join("var/log/nginx/access.log").exists());
        assert!(!r.join("var/lib/apt/lists/deb_Packages").exists());
        assert!(r.join("var/lib/apt/lists/partial").is_dir());
        assert!(!r.join("var/cache/apt/pkgcache.bin").exists());
        assert_eq!(std::fs::read(r.join("etc/machine-id")).unwrap(), b"");
        assert!(!r.join("etc/ssh/ssh_host_ed25519_key").exists());
        assert!(r.join("etc/ssh/sshd_config").exists());
        assert!(!r.join("usr/lib/python3/x/__pycache__").exists());
        assert!(!r.join("var/cache/ldconfig/aux-cache").exists());
        assert!(!r.join("tmp/junk").exists() && r.join("tmp").is_dir());
        clamp_mtimes(r, 1000).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            std::fs::metadata(r.join("etc/ssh/sshd_config"))
                .unwrap()
                .mtime(),
            1000
        );
    }
}

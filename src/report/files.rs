//! Writing the report files: `report.json`, `junit.xml`, `report.html` and `metrics.prom` in
//! one directory, each atomically (a temporary file in the same directory, flushed to disk,
//! then renamed over the old one), so a reader such as node_exporter's textfile collector or
//! a CI job never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::model::Report;

/// The report files, by name, as [`write_reports`] writes them.
pub const FILES: [&str; 4] = ["report.json", "junit.xml", "report.html", "metrics.prom"];

/// Renders `report` into every report file in `dir` (created if missing). Returns the paths
/// written; the error names the file that could not be written and why.
pub fn write_reports(dir: &Path, report: &Report) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the report directory {}: {e}", dir.display()))?;
    let rendered = [
        super::json::render(report),
        super::junit::render(report),
        super::html::render(report),
        super::metrics::render(report),
    ];
    let mut written = Vec::new();
    for (name, text) in FILES.iter().zip(rendered) {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename. The file is
/// readable by all (0644), as node_exporter, often another user, must read it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A name starting with a dot and not ending in .prom: the textfile collector skips it.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        set_mode(&tmp)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn set_mode(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_the_file_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.prom");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("metrics.prom")]);
        let missing = dir.path().join("no/such/dir/x");
        assert!(write_atomic(&missing, b"x").is_err());
    }
}

//! `jig bake`: run a playbook into a root file system and ship it as an image.
//!
//! The base ([`source::Source`]) is copied into a fresh work tree beside the first output (the
//! source is never modified); the playbook runs against it over the `chroot` connection (one
//! inventory host, `image`, in group `all`), with a `policy-rc.d` that forbids package scripts
//! to start daemons; services are only enabled (see [`crate::connection::Connection::is_image`]).
//! Then the tree is made reproducible ([`reproducible`]), records `/etc/jig/image.json`, and is
//! written to every `--to` ([`output::Output`]). `--check` runs the playbook in check mode over
//! the copy and writes nothing.
//!
//! Nothing partial survives: the work tree and each output's temporary file are removed on
//! failure, on drop, and on SIGINT/SIGTERM (see [`crate::connection::chroot`]).

pub mod disk;
pub mod oci;
pub mod output;
pub mod reproducible;
pub mod source;
pub mod tar;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::json;

use crate::connection::chroot::{
    Bind, RemoveOnInterrupt, mounts_active_under, on_interrupt_remove,
};
use crate::exec::RunOptions;
use crate::report::{HostStats, Renderer};
use output::Output;
use source::Source;

/// The inventory name of the image during a bake.
pub const IMAGE_HOST: &str = "image";

/// Everything `jig bake` needs.
#[derive(Clone, Debug)]
pub struct BakeOptions {
    /// The playbook to run into the image.
    pub playbook: PathBuf,
    /// The base.
    pub from: Source,
    /// The `--from` text, as recorded in `/etc/jig/image.json`.
    pub from_text: String,
    /// The outputs (none only with `check`).
    pub to: Vec<Output>,
    /// `-e` values.
    pub extra_vars: Vec<String>,
    /// Check mode: show what the playbook would change in the base; write nothing.
    pub check: bool,
    /// Show diffs.
    pub diff: bool,
    /// Disk image size in bytes (default: the tree's size plus half).
    pub size: Option<u64>,
    /// debootstrap mirror (default: the machine's apt source).
    pub mirror: Option<String>,
    /// Read-only bind mounts into the tree while the playbook runs.
    pub binds: Vec<Bind>,
    /// `-v` count.
    pub verbosity: u8,
    /// `--roles-path` entries.
    pub roles_path: Vec<PathBuf>,
    /// `SOURCE_DATE_EPOCH` for the bake (see [`reproducible::source_date_epoch`]).
    pub epoch: i64,
}

/// What a bake produced.
#[derive(Clone, Debug, Default)]
pub struct BakeOutcome {
    /// The play recap's totals for the image host.
    pub stats: IndexMap<String, HostStats>,
    /// Each output written, with the sha256 of file outputs.
    pub written: Vec<(Output, Option<String>)>,
}

/// Why a bake stopped.
#[derive(Debug, thiserror::Error)]
pub enum BakeError {
    /// The options are inconsistent.
    #[error("{0}")]
    Usage(String),
    /// The base could not be prepared.
    #[error("cannot prepare the base: {0}")]
    Source(String),
    /// The playbook could not be loaded or run.
    #[error("{0}")]
    Run(String),
    /// A task failed or the tree could not be entered: nothing was written.
    #[error("the playbook failed in the image; no output was written")]
    Failed(IndexMap<String, HostStats>),
    /// An output could not be written.
    #[error("cannot write the output: {0}")]
    Output(String),
}

/// The work tree: removed when dropped unless kept (moved to a `dir:` output), never while
/// something is still mounted below it.
struct WorkTree {
    path: PathBuf,
    keep: bool,
    _interrupt: RemoveOnInterrupt,
}

impl Drop for WorkTree {
    fn drop(&mut self) {
        if !self.keep && self.path.exists() && !mounts_active_under(&self.path) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The policy-rc.d that tells Debian's invoke-rc.d not to start anything (exit 101).
const POLICY_RC_D: &[u8] =
    b"#!/bin/sh\n# jig bake: no daemon starts while the image is built.\nexit 101\n";

/// Installs `usr/sbin/policy-rc.d` in the tree; returns the one it replaced, if any.
fn install_policy(tree: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::os::unix::fs::PermissionsExt;
    let p = tree.join("usr/sbin/policy-rc.d");
    let old = std::fs::read(&p).ok();
    std::fs::create_dir_all(tree.join("usr/sbin"))?;
    std::fs::write(&p, POLICY_RC_D)?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    Ok(old)
}

fn remove_policy(tree: &Path, old: Option<Vec<u8>>) -> std::io::Result<()> {
    let p = tree.join("usr/sbin/policy-rc.d");
    match old {
        Some(content) => std::fs::write(&p, content),
        None => std::fs::remove_file(&p),
    }
}

/// Runs the bake; events go to `renderer` (the caller finishes it).
pub async fn bake(
    opts: &BakeOptions,
    renderer: &mut dyn Renderer,
) -> Result<BakeOutcome, BakeError> {
    if opts.to.is_empty() && !opts.check {
        return Err(BakeError::Usage(
            "give at least one --to (dir:, tar:, oci:, qcow2:, raw:), or --check".into(),
        ));
    }
    if opts
        .to
        .iter()
        .filter(|o| matches!(o, Output::Dir(_)))
        .count()
        > 1
    {
        return Err(BakeError::Usage("only one dir: output per bake".into()));
    }
    for o in &opts.to {
        let parent = o.path().parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = parent
            && !p.is_dir()
        {
            return Err(BakeError::Usage(format!(
                "--to {}: the directory {} does not exist",
                o.path().display(),
                p.display()
            )));
        }
    }
    if !opts.playbook.is_file() {
        return Err(BakeError::Usage(format!(
            "the playbook {} does not exist",
            opts.playbook.display()
        )));
    }
    let work_path = match opts.to.first() {
        Some(o) => std::path::absolute(output::partial_path(o.path(), "tree"))
            .map_err(|e| BakeError::Usage(format!("{}: {e}", o.path().display())))?,
        None => output::partial_path(Path::new("/var/tmp/jig-bake"), "tree"),
    };
    let interrupt = on_interrupt_remove(&work_path);
    std::fs::create_dir(&work_path)
        .map_err(|e| BakeError::Source(format!("cannot create {}: {e}", work_path.display())))?;
    let mut work = WorkTree {
        path: work_path,
        keep: false,
        _interrupt: interrupt,
    };
    let base_digest = opts.from.materialize(&work.path, opts.mirror.as_deref())?;
    let old_policy = install_policy(&work.path)
        .map_err(|e| BakeError::Source(format!("cannot install policy-rc.d: {e}")))?;

    // JSON is YAML; the inventory loader picks its parser by the .yml extension.
    let mut inventory = work.path.clone().into_os_string();
    inventory.push("-inventory.yml");
    let inventory = PathBuf::from(inventory);
    let _inv_guard = on_interrupt_remove(&inventory);
    let binds: Vec<String> = opts
        .binds
        .iter()
        .map(|b| format!("{}:{}", b.source.display(), b.target.display()))
        .collect();
    let inv = json!({"all": {"hosts": {IMAGE_HOST: {
        "ansible_connection": "chroot",
        "ansible_host": work.path.display().to_string(),
        "jig_chroot_binds": binds,
    }}}});
    std::fs::write(&inventory, inv.to_string())
        .map_err(|e| BakeError::Source(format!("cannot write {}: {e}", inventory.display())))?;
    let run_opts = RunOptions {
        playbook: opts.playbook.clone(),
        inventory: vec![inventory.display().to_string()],
        extra_vars: opts.extra_vars.clone(),
        check: opts.check,
        diff: opts.diff || opts.check,
        forks: 1,
        verbosity: opts.verbosity,
        roles_path: opts.roles_path.clone(),
        ..RunOptions::default()
    };
    let ran = crate::exec::run(&run_opts, renderer).await;
    let _ = std::fs::remove_file(&inventory);
    let outcome = ran.map_err(|e| BakeError::Run(e.to_string()))?;
    if mounts_active_under(&work.path) {
        return Err(BakeError::Run(format!(
            "mounts are still active under {} after the run; nothing was written",
            work.path.display()
        )));
    }
    remove_policy(&work.path, old_policy)
        .map_err(|e| BakeError::Output(format!("cannot remove policy-rc.d: {e}")))?;
    let stats = outcome.stats;
    if stats.values().any(|s| s.failed > 0 || s.unreachable > 0) {
        return Err(BakeError::Failed(stats));
    }
    let mut result = BakeOutcome {
        stats,
        written: Vec::new(),
    };
    if opts.check {
        return Ok(result);
    }

    reproducible::strip(&work.path);
    reproducible::write_record(
        &work.path,
        &reproducible::ImageRecord {
            playbook: &opts.playbook,
            base: &opts.from_text,
            base_digest: &base_digest,
            epoch: opts.epoch,
        },
    )
    .map_err(|e| BakeError::Output(format!("cannot write /etc/jig/image.json: {e}")))?;
    reproducible::clamp_mtimes(&work.path, opts.epoch)
        .map_err(|e| BakeError::Output(format!("cannot clamp times: {e}")))?;

    let created_by = format!(
        "jig bake {} --from {}",
        opts.playbook.display(),
        opts.from_text
    );
    let seed = format!("{base_digest}:{}:{}", opts.playbook.display(), opts.epoch);
    for o in opts.to.iter().filter(|o| !matches!(o, Output::Dir(_))) {
        output::write_file_output(o, &work.path, opts.epoch, &created_by, &seed, opts.size)?;
        let sum = source::file_sha256(o.path()).ok();
        result.written.push((o.clone(), sum));
    }
    if let Some(o) = opts.to.iter().find(|o| matches!(o, Output::Dir(_))) {
        let dest = o.path();
        let old = output::partial_path(dest, "old");
        let had = dest.exists();
        let io = |e: std::io::Error| BakeError::Output(format!("{}: {e}", dest.display()));
        if had {
            if mounts_active_under(dest) {
                return Err(BakeError::Output(format!(
                    "{} has mounts below it; unmount them first",
                    dest.display()
                )));
            }
            std::fs::rename(dest, &old).map_err(io)?;
        }
        std::fs::rename(&work.path, dest).map_err(io)?;
        work.keep = true;
        if had {
            let _ = std::fs::remove_dir_all(&old);
        }
        result.written.push((o.clone(), None));
    }
    Ok(result)
}

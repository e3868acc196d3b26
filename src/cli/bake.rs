//! `jig bake`: the command line of [`crate::bake`].
//!
//! Parses `--from`/`--to`/`--size`/`--bind`, fixes `SOURCE_DATE_EPOCH` for the whole process
//! (so tools run inside the image see it too), runs the bake with a console renderer, and
//! prints each output written with its sha256.

use std::path::PathBuf;

use clap::Args;

use super::exit::ExitCode;
use super::print_error;
use crate::bake::output::Output;
use crate::bake::source::Source;
use crate::bake::{BakeError, BakeOptions, reproducible};
use crate::connection::chroot::Bind;
use crate::report::Renderer;
use crate::report::console::{ColorChoice, ConsoleOptions, ConsoleRenderer};

/// `jig bake` flags.
#[derive(Debug, Args)]
pub struct BakeArgs {
    /// The playbook to run into the image.
    ///
    /// Its plays run against one host, `image` (in group `all`), over the chroot connection:
    /// write `hosts: all`.
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,

    /// The base: debootstrap:SUITE[:VARIANT], dir:PATH, FILE.tar[.gz|.zst] or oci:FILE.
    ///
    /// The base is copied into a fresh tree and never modified. debootstrap trees are cached
    /// in /var/cache/jig-bake by suite, variant and mirror.
    #[arg(long = "from", value_name = "SRC")]
    pub from: String,

    /// Where the image goes: dir:PATH, tar:FILE, oci:FILE[:TAG], qcow2:FILE, raw:FILE.
    ///
    /// Repeatable: one bake, several formats. Files are written beside their destination
    /// under a temporary name and renamed when complete.
    #[arg(long = "to", value_name = "DST")]
    pub to: Vec<String>,

    /// Set extra variables: `k=v`, YAML/JSON text, or `@file` (repeatable).
    ///
    /// As for `jig run`.
    #[arg(short = 'e', long = "extra-vars", value_name = "EXTRA_VARS")]
    pub extra_vars: Vec<String>,

    /// Show what the playbook would change in the base, with diffs; write nothing.
    ///
    /// The playbook runs in check mode over a copy of the base.
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Show a unified diff of every file a task changes.
    ///
    /// Implied by --check.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,

    /// Size of qcow2/raw disk images, like 2G or 512M.
    ///
    /// Default: the tree's size plus half, at least 256M.
    #[arg(long = "size", value_name = "SIZE")]
    pub size: Option<String>,

    /// debootstrap mirror for --from debootstrap:...
    ///
    /// Default: the machine's first Debian apt source, else http://deb.debian.org/debian.
    #[arg(long = "mirror", value_name = "URL")]
    pub mirror: Option<String>,

    /// Bind-mount SOURCE read-only at TARGET inside the image while the playbook runs.
    ///
    /// Repeatable, SOURCE:TARGET; e.g. a local apt repository the image's sources name.
    /// Nothing of it stays in the image.
    #[arg(long = "bind", value_name = "SOURCE:TARGET")]
    pub bind: Vec<String>,

    /// Extra directories to look for roles in (colon-separated, repeatable).
    ///
    /// As for `jig run`.
    #[arg(long = "roles-path", value_name = "ROLES_PATH")]
    pub roles_path: Vec<String>,

    /// More output: -v results, -vv task paths, -vvv everything.
    ///
    /// As for `jig run`.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colours: auto, always, never.
    ///
    /// As for `jig run`.
    #[arg(long = "color", value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

impl BakeArgs {
    /// The bake's options, or a usage error.
    pub fn options(&self) -> Result<BakeOptions, String> {
        let from = Source::parse(&self.from)?;
        let to = self
            .to
            .iter()
            .map(|t| Output::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let size = self
            .size
            .as_deref()
            .map(crate::bake::disk::parse_size)
            .transpose()?;
        let binds = self
            .bind
            .iter()
            .map(|b| Bind::parse(b))
            .collect::<Result<Vec<_>, _>>()?;
        let epoch = reproducible::source_date_epoch(&self.playbook)?;
        let mut roles_path: Vec<PathBuf> = self
            .roles_path
            .iter()
            .flat_map(|v| v.split(':'))
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        if let Ok(env) = std::env::var("ANSIBLE_ROLES_PATH") {
            roles_path.extend(env.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
        }
        Ok(BakeOptions {
            playbook: self.playbook.clone(),
            from,
            from_text: self.from.clone(),
            to,
            extra_vars: self.extra_vars.clone(),
            check: self.check,
            diff: self.diff,
            size,
            mirror: self.mirror.clone(),
            binds,
            verbosity: self.verbose,
            roles_path,
            epoch,
        })
    }
}

/// Runs `jig bake`.
pub fn execute(args: BakeArgs) -> ExitCode {
    let opts = match args.options() {
        Ok(o) => o,
        Err(e) => {
            print_error(&e);
            return ExitCode::Usage;
        }
    };
    if let Err(e) = crate::vars::extra::parse_extra_vars(&opts.extra_vars) {
        print_error(&e.to_string());
        return ExitCode::Error;
    }
    if unsafe { libc::geteuid() } != 0 {
        print_error(
            "jig bake needs root (it mounts /proc, /sys and /dev in the image and chroots)",
        );
        return ExitCode::Error;
    }
    // Set before any thread exists (the runtime is built below): everything started in the
    // image sees the same epoch.
    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", opts.epoch.to_string()) };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            print_error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::Internal;
        }
    };
    let mut console = ConsoleRenderer::stdio(ConsoleOptions::for_stdout(args.color, args.verbose));
    let result = runtime.block_on(crate::bake::bake(&opts, &mut console));
    console.finish();
    match result {
        Ok(outcome) => {
            for (o, sum) in &outcome.written {
                match sum {
                    Some(s) => println!("baked {}: sha256:{s}", o.path().display()),
                    None => println!("baked {}", o.path().display()),
                }
            }
            ExitCode::from_stats(&outcome.stats)
        }
        Err(BakeError::Failed(stats)) => {
            print_error("the playbook failed in the image; no output was written");
            ExitCode::from_stats(&stats)
        }
        Err(e @ BakeError::Usage(_)) => {
            print_error(&e.to_string());
            ExitCode::Usage
        }
        Err(e) => {
            print_error(&e.to_string());
            ExitCode::Error
        }
    }
}

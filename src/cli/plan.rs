//! `jig plan` and `jig apply`: a reviewed check run written to a file, and a real run that
//! applies exactly what the file says, refusing hosts whose state moved since.
//!
//! The plan format and the fingerprint are [`crate::plan`]'s; this module runs the executor
//! (check mode with diffs for `plan`; a check re-plan, then a real run, for `apply`), prints
//! what it refused and whether the real run matched the plan, and picks the exit status.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Arg, Args};
use indexmap::IndexMap;

use super::exit::ExitCode;
use super::run::{CommonFlags, Selection};
use super::{print_error, split_commas};
use crate::connection::ssh::SshCliOptions;
use crate::exec::RunOptions;
use crate::plan::{self, HostPlan, HostState, Plan, Recorder, SCHEMA, Silent, Source};
use crate::report::Renderer;
use crate::report::console::{ConsoleOptions, ConsoleRenderer};

/// `jig plan` flags.
#[derive(Debug, Args)]
#[command(mut_args(plan_help))]
pub struct PlanArgs {
    /// The playbook to plan.
    ///
    /// The whole directory it is in (and any --roles-path, inventory and -e @file) is hashed
    /// into the plan: `jig apply` refuses the plan if any of those files changed since.
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,

    /// Where to write the plan (JSON, schema `jig.plan/1`, see docs/plan.md).
    ///
    /// The file is replaced atomically. It holds the diffs shown on the console, so treat it
    /// like the console output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Which hosts, tasks and variables (recorded in the plan).
    #[command(flatten)]
    pub select: Selection,

    /// Common flags of plan and apply.
    #[command(flatten)]
    pub common: CommonFlags,
}

/// `jig apply` flags.
#[derive(Debug, Args)]
#[command(mut_args(plan_help))]
pub struct ApplyArgs {
    /// The plan file `jig plan -o` wrote.
    ///
    /// Its playbook, inventory, limit, tags and extra variables are used; they cannot be
    /// changed here.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// Show the diff of every change made (the plan file holds them too).
    ///
    /// Removals are red and additions green on a terminal.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,

    /// Common flags of plan and apply.
    #[command(flatten)]
    pub common: CommonFlags,
}

/// Plan and apply record the selection and the secret variables in the plan: where that
/// changes what a flag of [`Selection`] or [`CommonFlags`] means, their help says so instead
/// of `jig run`'s.
fn plan_help(arg: Arg) -> Arg {
    let (summary, detail) = match arg.get_id().as_str() {
        "limit" => (
            "Limit the plan to hosts matching this pattern (repeatable; all must match)",
            "Recorded in the plan: `jig apply` uses the same limit.",
        ),
        "tags" => (
            "Plan only tasks and plays with these tags (comma-separated, repeatable)",
            "Recorded in the plan: `jig apply` runs the same tags.",
        ),
        "skip_tags" => (
            "Skip tasks and plays with these tags (comma-separated, repeatable)",
            "Recorded in the plan: `jig apply` skips the same tags.",
        ),
        "extra_vars" => (
            "Set extra variables: `k=v`, YAML/JSON text, or `@file` (repeatable)",
            "Recorded in the plan as given (an `@file` by its absolute path, and hashed), so \
             that `jig apply` plans and applies with the same values.",
        ),
        "roles_path" => (
            "Extra directories to look for roles in (colon-separated, repeatable)",
            "Recorded (absolute) and hashed into the plan, with ANSIBLE_ROLES_PATH.",
        ),
        "secret_vars" => (
            "Variables whose values are secret though not vaulted (comma-separated, repeatable)",
            "Redacted from all output and from the plan's diffs, like vault values. `jig plan` \
             records the names; `jig apply` uses them and any given here.",
        ),
        _ => return arg,
    };
    arg.help(summary)
        .long_help(format!("{summary}.\n\n{detail}"))
}

/// The exit statuses of `jig apply` (shown by `jig apply --help`).
pub const APPLY_HELP: &str = "\
Exit status:
  0    every host of the plan was applied, as planned
  1    the plan was refused as a whole (its playbook, roles, inventory or variable files
       changed since it was made, or it cannot be read), or an error outside the tasks
  2    a host was refused (its state changed since the plan, or it could not be planned),
       failed a task, or changed differently than planned
  4    a host was unreachable (and none of the above)
  5    bad command-line usage
  250  unexpected internal error (a bug in jig: please report it)";

/// The status to report of two: errors, then failed or refused hosts, then unreachable ones.
fn worse(a: ExitCode, b: ExitCode) -> ExitCode {
    let rank = |c: ExitCode| match c {
        ExitCode::Ok => 0,
        ExitCode::HostUnreachable => 1,
        ExitCode::HostFailed | ExitCode::Drift => 2,
        ExitCode::Usage => 3,
        ExitCode::Error => 4,
        ExitCode::Internal => 5,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

impl PlanArgs {
    /// What the plan is made from, paths made absolute so that `jig apply` may run from
    /// another directory.
    fn source(&self) -> Source {
        let inventory = self
            .select
            .inventory_sources()
            .into_iter()
            .map(|i| {
                if !i.contains(',') && Path::new(&i).exists() {
                    absolute(Path::new(&i)).display().to_string()
                } else {
                    i
                }
            })
            .collect();
        let roles_path = self
            .select
            .roles_path()
            .into_iter()
            .map(|p| absolute(&p))
            .collect();
        let extra_vars = self
            .select
            .extra_vars
            .iter()
            .map(|e| match e.strip_prefix('@') {
                Some(f) => format!("@{}", absolute(Path::new(f)).display()),
                None => e.clone(),
            })
            .collect();
        Source {
            playbook: absolute(&self.playbook),
            inventory,
            limit: self.select.limit.clone(),
            tags: split_commas(&self.select.tags),
            skip_tags: split_commas(&self.select.skip_tags),
            extra_vars,
            roles_path,
            secret_vars: split_commas(&self.common.secret_vars),
            ..Source::default()
        }
    }
}

/// The executor options for a run of `source`'s playbook.
fn run_options(source: &Source, common: &CommonFlags, ssh: SshCliOptions) -> RunOptions {
    let vault = crate::vault::current();
    RunOptions {
        vault: vault.keyring,
        secrets: vault.secrets,
        secret_vars: source.secret_vars.clone(),
        playbook: source.playbook.clone(),
        inventory: source.inventory.clone(),
        limit: source.limit.clone(),
        tags: source.tags.clone(),
        skip_tags: source.skip_tags.clone(),
        extra_vars: source.extra_vars.clone(),
        check: true,
        diff: true,
        forks: common.forks as usize,
        verbosity: common.verbose,
        start_at_task: None,
        roles_path: source.roles_path.clone(),
        ssh,
        interactive: false,
        connection: None,
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            print_error(&format!("cannot start the async runtime: {e}"));
            ExitCode::Internal
        })
}

/// Runs the executor with `renderer`, returning the recorded host plans and the run's status.
fn record<R: Renderer>(
    rt: &tokio::runtime::Runtime,
    opts: &RunOptions,
    recorder: &mut Recorder<R>,
) -> Result<(IndexMap<String, HostPlan>, ExitCode), ExitCode> {
    match rt.block_on(crate::exec::run(opts, recorder)) {
        Ok(outcome) => {
            recorder.finish();
            Ok((recorder.host_plans(), ExitCode::from_stats(&outcome.stats)))
        }
        Err(e) => {
            recorder.finish();
            print_error(&opts.secrets.redact(&e.to_string()));
            Err(ExitCode::Error)
        }
    }
}

/// `jig plan`.
pub fn execute_plan(args: PlanArgs) -> ExitCode {
    match plan_inner(&args) {
        Ok(code) | Err(code) => code,
    }
}

fn plan_inner(args: &PlanArgs) -> Result<ExitCode, ExitCode> {
    let mut source = args.source();
    if !source.playbook.is_file() {
        print_error(&format!(
            "the playbook {} does not exist or is not a file",
            source.playbook.display()
        ));
        return Err(ExitCode::Error);
    }
    let base = source
        .playbook
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    source.files = plan::files::hash_files(&plan::files::roots(&source), Some(&args.output))
        .map_err(|e| {
            print_error(&format!("cannot hash the playbook's files: {e}"));
            ExitCode::Error
        })?;
    (source.git_commit, source.git_dirty) = plan::files::git_state(&base);
    args.common
        .install_secrets(&source.extra_vars, &source.secret_vars)?;
    let rt = runtime()?;
    let ssh = args.common.ssh.options()?;
    let opts = run_options(&source, &args.common, ssh);
    let console = ConsoleRenderer::stdio(ConsoleOptions::for_stdout(
        args.common.color,
        args.common.verbose,
    ));
    let mut recorder = Recorder::new(console, &base, true);
    let (hosts, code) = record(&rt, &opts, &mut recorder)?;
    let plan = Plan {
        schema: SCHEMA.to_string(),
        jig_version: env!("CARGO_PKG_VERSION").to_string(),
        created: crate::schedule::rfc3339(std::time::SystemTime::now()),
        source,
        hosts,
    };
    write_plan(&args.output, &plan)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\nPLAN written to {}", args.output.display());
    for (host, hp) in &plan.hosts {
        let what = match hp.state {
            HostState::Planned => format!("{} to change", hp.changes),
            HostState::Failed => "FAILED in check mode: cannot be applied".to_string(),
            HostState::Unreachable => "UNREACHABLE: cannot be applied".to_string(),
        };
        let _ = writeln!(out, "  {host}: {what}");
    }
    let _ = out.flush();
    Ok(code)
}

/// Writes the plan atomically: a temporary file beside it, then a rename.
fn write_plan(path: &Path, plan: &Plan) -> Result<(), ExitCode> {
    let fail = |e: std::io::Error| {
        print_error(&format!("cannot write the plan {}: {e}", path.display()));
        ExitCode::Error
    };
    let text = serde_json::to_string_pretty(plan).map_err(|e| fail(std::io::Error::other(e)))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text + "\n").map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// Reads and checks a plan file.
fn read_plan(path: &Path) -> Result<Plan, ExitCode> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        print_error(&format!("cannot read the plan {}: {e}", path.display()));
        ExitCode::Error
    })?;
    let head: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        print_error(&format!("{}: not a jig plan: {e}", path.display()));
        ExitCode::Error
    })?;
    let schema = head.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != SCHEMA {
        print_error(&format!(
            "{}: schema '{schema}' is not {SCHEMA}; make the plan again with this jig \
             (`jig plan PLAYBOOK -i INVENTORY -o {}`)",
            path.display(),
            path.display()
        ));
        return Err(ExitCode::Error);
    }
    serde_json::from_value(head).map_err(|e| {
        print_error(&format!("{}: a damaged plan: {e}", path.display()));
        ExitCode::Error
    })
}

/// A `--limit @FILE` listing exactly `hosts`, removed on drop. A file, because host names may
/// hold characters that mean something in a pattern.
struct LimitFile(PathBuf);

impl LimitFile {
    fn new(hosts: &[String]) -> Result<LimitFile, ExitCode> {
        let path = std::env::temp_dir().join(format!(
            "jig-apply-{}-{}.hosts",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::write(&path, hosts.join("\n") + "\n").map_err(|e| {
            print_error(&format!("cannot write {}: {e}", path.display()));
            ExitCode::Error
        })?;
        Ok(LimitFile(path))
    }

    fn pattern(&self) -> String {
        format!("@{}", self.0.display())
    }
}

impl Drop for LimitFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `jig apply`.
pub fn execute_apply(args: ApplyArgs) -> ExitCode {
    match apply_inner(&args) {
        Ok(code) | Err(code) => code,
    }
}

fn apply_inner(args: &ApplyArgs) -> Result<ExitCode, ExitCode> {
    let mut plan = read_plan(&args.plan)?;
    for name in split_commas(&args.common.secret_vars) {
        if !plan.source.secret_vars.contains(&name) {
            plan.source.secret_vars.push(name);
        }
    }
    let source = &plan.source;
    let now =
        plan::files::hash_files(&plan::files::roots(source), Some(&args.plan)).map_err(|e| {
            print_error(&format!("cannot hash the playbook's files: {e}"));
            ExitCode::Error
        })?;
    let changed = plan::files::differences(&source.files, &now);
    if !changed.is_empty() {
        let shown = changed.len().min(20);
        let mut msg = format!(
            "the plan {} is refused: {} file(s) it was made from changed since {}:\n  {}",
            args.plan.display(),
            changed.len(),
            plan.created,
            changed[..shown].join("\n  ")
        );
        if changed.len() > shown {
            msg.push_str(&format!("\n  ... and {} more", changed.len() - shown));
        }
        msg.push_str("\nMake a new plan and review it: jig plan ...");
        print_error(&msg);
        return Err(ExitCode::Error);
    }
    let base = source
        .playbook
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut out = std::io::stdout();
    let mut refused: IndexMap<String, Vec<String>> = IndexMap::new();
    let mut candidates: Vec<String> = Vec::new();
    for (host, hp) in &plan.hosts {
        match hp.state {
            HostState::Planned => candidates.push(host.clone()),
            HostState::Failed => {
                refused.insert(
                    host.clone(),
                    vec!["a task failed when it was planned".into()],
                );
            }
            HostState::Unreachable => {
                refused.insert(host.clone(), vec!["it was unreachable when planned".into()]);
            }
        }
    }
    args.common
        .install_secrets(&source.extra_vars, &source.secret_vars)?;
    let rt = runtime()?;
    let ssh = args.common.ssh.options()?;
    let mut accepted: Vec<String> = Vec::new();
    if !candidates.is_empty() {
        // Re-plan the hosts, quietly, and accept those whose predicted outcome is unchanged.
        let limit = LimitFile::new(&candidates)?;
        let mut opts = run_options(source, &args.common, ssh.clone());
        opts.limit.push(limit.pattern());
        let mut recorder = Recorder::new(Silent, &base, false);
        let (now, _) = record(&rt, &opts, &mut recorder)?;
        for host in &candidates {
            let planned = &plan.hosts[host];
            match now.get(host) {
                None => {
                    refused.insert(
                        host.clone(),
                        vec!["it is no longer selected by the inventory and limit".into()],
                    );
                }
                Some(n) if n.state == HostState::Unreachable => {
                    refused.insert(host.clone(), vec!["it is unreachable".into()]);
                }
                Some(n) => {
                    let d = plan::drift(planned, n);
                    if d.is_empty() {
                        accepted.push(host.clone());
                    } else {
                        refused.insert(host.clone(), d);
                    }
                }
            }
        }
    }
    for (host, why) in &refused {
        for w in why {
            let _ = writeln!(out, "REFUSED {host}: {w}");
        }
    }
    if !refused.is_empty() {
        let _ = writeln!(
            out,
            "{} host(s) refused; make a new plan to review their changes",
            refused.len()
        );
    }
    let mut code = if refused.is_empty() {
        ExitCode::Ok
    } else {
        ExitCode::HostFailed
    };
    if accepted.is_empty() {
        let _ = writeln!(out, "No host to apply.");
        return Ok(code);
    }
    let limit = LimitFile::new(&accepted)?;
    let mut opts = run_options(source, &args.common, ssh);
    opts.check = false;
    opts.limit.push(limit.pattern());
    let console = ConsoleRenderer::stdio(ConsoleOptions::for_stdout(
        args.common.color,
        args.common.verbose,
    ));
    let mut recorder = Recorder::new(console, &base, args.diff);
    let (applied, run_code) = record(&rt, &opts, &mut recorder)?;
    code = worse(code, run_code);
    let _ = writeln!(out, "\nAPPLY {}", args.plan.display());
    for host in &accepted {
        let planned = &plan.hosts[host];
        let Some(a) = applied.get(host) else {
            let _ = writeln!(out, "  {host}: did not run");
            code = worse(code, ExitCode::HostFailed);
            continue;
        };
        let v = plan::verify(planned, a);
        if v.mismatches.is_empty() {
            let _ = writeln!(
                out,
                "  {host}: {} change(s) applied, as planned",
                v.as_planned
            );
        } else {
            code = worse(code, ExitCode::HostFailed);
            let _ = writeln!(
                out,
                "  {host}: {} change(s) as planned, {} NOT as planned:",
                v.as_planned,
                v.mismatches.len()
            );
            for m in &v.mismatches {
                let _ = writeln!(out, "    {m}");
            }
        }
        for u in &v.unpredicted {
            let _ = writeln!(
                out,
                "    {u} changed (check mode could not predict it: it was skipped in the plan)"
            );
        }
    }
    let _ = out.flush();
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_failures_outrank_unreachable_hosts_and_errors_outrank_all() {
        use ExitCode::*;
        assert_eq!(worse(Ok, HostUnreachable), HostUnreachable);
        assert_eq!(worse(HostUnreachable, HostFailed), HostFailed);
        assert_eq!(worse(HostFailed, HostUnreachable), HostFailed);
        assert_eq!(worse(HostFailed, Error), Error);
        assert_eq!(worse(Ok, Ok), Ok);
    }

    #[test]
    fn plan_sources_are_absolute_and_keep_host_lists() {
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
            "jig",
            "plan",
            "site.yml",
            "-o",
            "p.json",
            "-i",
            "web1,web2",
            "-e",
            "@vars/x.yml",
            "-e",
            "a=b",
            "-t",
            "x,y",
        ])
        .unwrap();
        let crate::cli::Command::Plan(args) = cli.command else {
            panic!("not plan");
        };
        let s = args.source();
        assert!(s.playbook.is_absolute() && s.playbook.ends_with("site.yml"));
        assert_eq!(s.inventory, vec!["web1,web2"]);
        assert!(s.extra_vars[0].starts_with("@/") && s.extra_vars[0].ends_with("vars/x.yml"));
        assert_eq!(s.extra_vars[1], "a=b");
        assert_eq!(s.tags, vec!["x", "y"]);
    }
}

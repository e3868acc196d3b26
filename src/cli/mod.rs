//! The command line as thin commands over the library: `jig run` (ansible-playbook's flags),
//! `jig check` (a compliance check with reports), `jig inventory` (ansible-inventory's),
//! `jig facts`, `jig vault` (ansible-vault's), `jig plan`/`jig apply`, `jig schedule` and
//! `jig bake`.
//!
//! This module owns parsing arguments (clap), turning them into [`crate::exec::RunOptions`] and
//! friends, printing errors for people (`ERROR! <message>` on stderr, with the source lines of
//! a file:line:column), and the process exit status ([`exit::ExitCode`]). Everything a play
//! prints goes through [`crate::report::console::ConsoleRenderer`].

pub mod bake;
pub mod check;
pub mod exit;
pub mod facts;
pub mod inventory;
pub mod list;
pub mod plan;
pub mod run;
pub mod schedule;
pub mod vault;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use clap::{Parser, Subcommand};

use exit::ExitCode;

/// jig: agentless configuration management that runs Ansible playbooks unchanged.
///
/// One binary on your laptop or CI runner brings Linux hosts to the state their playbooks
/// declare: parallel, with check mode and diffs that tell the truth.
#[derive(Debug, Parser)]
#[command(
    name = "jig",
    version,
    propagate_version = true,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// jig's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run playbooks against an inventory, like ansible-playbook
    ///
    /// Takes the same flags and prints the same output as ansible-playbook. Examples:
    ///
    ///   jig run site.yml -i inventories/prod -l web
    ///
    ///   jig run site.yml -i inventories/prod --check --diff
    ///
    ///   jig run site.yml -i hosts.ini -t nginx -e 'version=1.2 user="a b"'
    ///
    ///   jig run site.yml -i hosts.ini --list-tasks
    #[command(after_long_help = ExitCode::HELP, after_help = ExitCode::HELP, verbatim_doc_comment)]
    Run(run::RunArgs),
    /// Check the fleet against its playbooks: a --check --diff run, drift summary and reports
    ///
    /// Runs like `jig run --check --diff` (nothing on any host changes) and ends with a drift
    /// summary; the exit status separates compliance, drift, unreachable hosts and errors.
    /// Examples:
    ///
    ///   jig check site.yml -i inventories/prod
    ///
    ///   jig check site.yml -i inventories/prod --report /var/lib/jig/report
    ///
    ///   jig check site.yml -i hosts.ini -l web --output json
    #[command(after_long_help = check::HELP, after_help = check::HELP, verbatim_doc_comment)]
    Check(check::CheckArgs),
    /// Show an inventory as ansible-inventory does (--list, --graph, --host)
    ///
    /// Examples:
    ///
    ///   jig inventory -i inventories/prod --graph
    ///
    ///   jig inventory -i hosts.ini --host web1
    #[command(after_long_help = ExitCode::HELP, verbatim_doc_comment)]
    Inventory(inventory::InventoryArgs),
    /// Print the facts `ansible -m setup` would gather for some hosts, as JSON
    ///
    /// Examples:
    ///
    ///   jig facts all -i inventories/vagrant
    ///
    ///   jig facts web1 -i hosts.ini --gather-subset '!all,network'
    #[command(after_long_help = ExitCode::HELP, verbatim_doc_comment)]
    Facts(facts::FactsArgs),
    /// Encrypt and decrypt Ansible Vault files and strings, like ansible-vault
    ///
    /// Examples:
    ///   jig vault encrypt group_vars/prod/vault.yml --vault-password-file ~/.vault_pass
    ///   jig vault encrypt_string --vault-id prod@prompt -n db_password 's3cr3t'
    ///   jig vault edit host_vars/web1.yml --vault-id prod@~/.prod_pass
    #[command(verbatim_doc_comment)]
    Vault(vault::VaultArgs),
    /// Plan a playbook's changes into a file to review and apply later
    /// A check run with diffs that records, per host, every planned change and a fingerprint
    /// of the state it was planned against, plus hashes of the playbook's files. Examples:
    ///   jig plan site.yml -i inventories/prod -o plan.json
    ///   jig plan site.yml -i hosts.ini -l web -t nginx -e version=1.2 -o web.plan.json
    #[command(after_long_help = ExitCode::HELP, verbatim_doc_comment)]
    Plan(plan::PlanArgs),
    /// Apply a plan: exactly its changes, refusing hosts whose state changed since
    /// Refuses the whole plan if its playbook, roles, inventory or variable files changed;
    /// re-plans each host and refuses those whose fingerprint no longer matches, saying which
    /// task and file differ; applies the others and checks their changes equal the plan's.
    /// Example:
    ///   jig apply plan.json
    #[command(after_long_help = plan::APPLY_HELP, after_help = plan::APPLY_HELP, verbatim_doc_comment)]
    Apply(plan::ApplyArgs),
    /// Run jig on a schedule (systemd timer or cron): compliance checks with kept reports
    ///   jig schedule install drift --every 1h --keep 48 -- check site.yml -i prod --report /var/lib/jig/drift
    ///   jig schedule list
    ///   jig schedule remove drift
    Schedule(schedule::ScheduleArgs),
    /// Run a playbook into a root file system and write it as a tar, OCI or disk image
    ///
    /// No SSH, no VM, no container engine: the playbook runs in a copy of the base over the
    /// chroot connection; services are only enabled. Same playbook, base and
    /// SOURCE_DATE_EPOCH give the same bytes. Needs root. Examples:
    ///
    ///   jig bake playbooks/image.yml --from debootstrap:bookworm --to oci:web.tar:v1
    ///
    ///   jig bake site.yml --from base.tar.zst --to tar:web.tar --to qcow2:web.qcow2 --size 2G
    ///
    ///   jig bake site.yml --from dir:/srv/rootfs --check
    #[command(after_long_help = ExitCode::HELP, verbatim_doc_comment)]
    Bake(bake::BakeArgs),
}

/// Runs jig with the process arguments and returns the exit code.
pub fn main() -> i32 {
    main_with(std::env::args_os()).code()
}

/// Runs jig with `args` (the first is the program name) and returns its exit status.
pub fn main_with<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            // --help and --version are successes; clap's own status 2 would mean "a host
            // failed" here, so usage errors exit 5.
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        ExitCode::Usage
                    } else {
                        ExitCode::Ok
                    }
                }
                _ => ExitCode::Usage,
            };
        }
    };
    // A panic is a bug: report it as one, with its own status, instead of a Rust backtrace.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Check(args) => check::execute(args),
        Command::Inventory(args) => inventory::execute(args),
        Command::Facts(args) => facts::execute(args),
        Command::Vault(args) => vault::execute(args),
        Command::Plan(args) => plan::execute_plan(args),
        Command::Apply(args) => plan::execute_apply(args),
        Command::Schedule(args) => schedule::execute(args),
        Command::Bake(args) => bake::execute(args),
    }));
    match outcome {
        Ok(code) => code,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            print_error(&format!(
                "unexpected internal error: {what}\nThis is a bug in jig; please report it with \
                 the command line and playbook that caused it."
            ));
            ExitCode::Internal
        }
    }
}

/// Prints `ERROR! <message>` on stderr, in red on a terminal (unless `NO_COLOR`).
pub fn print_error(message: &str) {
    let text = format!("ERROR! {message}");
    let stderr = std::io::stderr();
    let color = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut err = stderr.lock();
    let _ = if color {
        writeln!(err, "\x1b[0;31m{text}\x1b[0m")
    } else {
        writeln!(err, "{text}")
    };
}

/// Prints `[WARNING]: <message>` on stderr, in bright purple on a terminal, as Ansible does.
pub fn print_warning(message: &str) {
    let text = format!("[WARNING]: {message}");
    let stderr = std::io::stderr();
    let color = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut err = stderr.lock();
    let _ = if color {
        writeln!(err, "\x1b[1;35m{text}\x1b[0m")
    } else {
        writeln!(err, "{text}")
    };
}

/// Splits comma-separated values of a repeatable flag (`-t a,b -t c`), dropping empty ones.
fn split_commas(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_5_and_help_exits_0() {
        assert_eq!(
            main_with(["jig", "run", "--no-such-flag", "x.yml"]),
            ExitCode::Usage
        );
        assert_eq!(main_with(["jig", "run"]), ExitCode::Usage);
        assert_eq!(main_with(["jig", "run", "--help"]), ExitCode::Ok);
        assert_eq!(main_with(["jig", "--version"]), ExitCode::Ok);
        assert_eq!(
            main_with(["jig", "run", "-f", "many", "x.yml"]),
            ExitCode::Usage
        );
    }

    #[test]
    fn comma_lists_are_split_and_trimmed() {
        assert_eq!(
            split_commas(&["a,b".into(), " c ,".into(), "".into()]),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn every_flag_is_documented() {
        use clap::CommandFactory;
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            for arg in sub.get_arguments() {
                assert!(
                    arg.get_help().is_some() || arg.get_id() == "help",
                    "{} --{} has no help",
                    sub.get_name(),
                    arg.get_id()
                );
                if arg.get_id() != "help" && arg.get_id() != "version" {
                    assert!(
                        arg.get_long_help().is_some(),
                        "{} --{} has no long help",
                        sub.get_name(),
                        arg.get_id()
                    );
                }
            }
        }
        cmd.debug_assert();
    }
}

//! `jig run`: ansible-playbook's command line.
//!
//! Parses the flags into [`RunOptions`], answers `--syntax-check` and the `--list-*` modes
//! itself (they only load files), and otherwise hands each playbook to [`crate::exec::run`]
//! with a console renderer (or JSON lines, `--output json`). Several playbooks run in order
//! and share one `PLAY RECAP`, as ansible-playbook shows them. The flags and the driver
//! ([`TargetArgs`], [`run_all`], [`StdoutRenderer`]) are shared with `jig check`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use indexmap::IndexMap;

use super::exit::ExitCode;
use super::list::{ListWhat, list_playbook};
use super::{print_error, print_warning, split_commas};
use crate::connection::Secret;
use crate::connection::ssh::SshCliOptions;
use crate::connection::ssh::auth::prompt_secret;
use crate::exec::RunOptions;
use crate::inventory::Inventory;
use crate::playbook::{LoadError, LoadOptions, Play, load_playbook};
use crate::report::console::{ColorChoice, ConsoleOptions, ConsoleRenderer};
use crate::report::jsonl::{JsonLines, OutputFormat};
use crate::report::progress::Progress;
use crate::report::{Event, HostStats, Renderer};

/// `jig run` flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The flags `jig run` shares with `jig check`.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Check mode: probe and plan every change, apply none.
    ///
    /// Nothing on any host changes. Tasks report what they would change; a later task that
    /// depends on an earlier planned change is planned against it. Combine with --diff to see
    /// each change.
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Show a unified diff of every file and attribute a task changes (or would change).
    ///
    /// Removals are red and additions green on a terminal. Values from no_log tasks and vault
    /// are never shown.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,

    /// List the hosts each play would run on, then exit.
    ///
    /// Prints ansible-playbook's format: per play, its pattern and the matching hosts after
    /// --limit.
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,

    /// List the tasks each play would run (after --tags/--skip-tags), then exit.
    ///
    /// Each task is shown with all the tags it has or inherits from its play, role and blocks.
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,

    /// List the tags of each play and of the tasks it would run, then exit.
    ///
    /// Shows the union of play and task tags per play, after --tags/--skip-tags.
    #[arg(long = "list-tags")]
    pub list_tags: bool,

    /// Load the playbooks (and inventory) and report problems, without running anything.
    ///
    /// Prints `playbook: FILE` and exits 0 when every playbook loads; otherwise prints the
    /// error with its file:line:column and exits 1.
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,

    /// Start at the first task with this name, skipping the tasks before it.
    ///
    /// The name is compared with the task's name as shown in its banner (`role : name` for
    /// role tasks, or just `name`).
    #[arg(long = "start-at-task", value_name = "TASK_NAME")]
    pub start_at_task: Option<String>,
}

/// The flags `jig run` and `jig check` share: what to run, where, and how to show it.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Playbook files to run, in order.
    ///
    /// Each is a YAML file of plays. Several playbooks run one after the other, against the
    /// same inventory, and share one PLAY RECAP; the first that cannot be loaded stops the
    /// run.
    #[arg(required = true, value_name = "PLAYBOOK")]
    pub playbooks: Vec<PathBuf>,

    /// Which hosts, tasks and variables.
    #[command(flatten)]
    pub select: Selection,

    /// The connection for hosts whose inventory sets no `ansible_connection`: ssh, local or
    /// chroot (the host is then the path of a root file system).
    ///
    /// As ansible-playbook's `-c`: a host's own `ansible_connection` still wins.
    #[arg(short = 'c', long = "connection", value_name = "CONNECTION")]
    pub connection: Option<String>,

    /// What to print on stdout: console (ansible-playbook's output) or json (JSON lines).
    ///
    /// `json` prints one JSON object per line and event (play start, task start, each host's
    /// result, the recap) instead of the console output, for CI; docs/report-schema.md
    /// documents the objects. Warnings are events too; errors stay on stderr.
    #[arg(long = "output", value_name = "FORMAT", value_enum, default_value_t = OutputFormat::Console)]
    pub output: OutputFormat,

    /// How to connect and how to show the run.
    #[command(flatten)]
    pub common: CommonFlags,
}

/// Which hosts, tasks and variables a run uses: the flags `jig run`, `jig check` and `jig plan`
/// share (`jig plan` records them in the plan).
#[derive(Debug, Args)]
pub struct Selection {
    /// Inventory source: a file, a directory, or a host list `h1,h2,` (repeatable).
    ///
    /// INI and YAML/JSON inventory files are read, directories are read file by file with their
    /// group_vars/ and host_vars/, and a value containing a comma is a literal list of hosts.
    /// Without -i, the comma-separated ANSIBLE_INVENTORY environment variable is used; without
    /// either, only the implicit `localhost` exists.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,

    /// Limit the run to hosts matching this pattern (repeatable; all must match).
    ///
    /// Any Ansible host pattern: `web`, `web:db`, `web:&prod`, `all:!db1`, `web[0:2]`, `~re`,
    /// or `@retry-file`. Each play's hosts are intersected with every --limit.
    #[arg(short = 'l', long = "limit", value_name = "SUBSET")]
    pub limit: Vec<String>,

    /// Run only tasks and plays with these tags (comma-separated, repeatable).
    ///
    /// Special tags: `all` (the default), `tagged`, `untagged`, `always` (runs unless skipped
    /// by name), `never` (runs only when asked for by name or by one of its other tags).
    #[arg(short = 't', long = "tags", value_name = "TAGS")]
    pub tags: Vec<String>,

    /// Skip tasks and plays with these tags (comma-separated, repeatable).
    ///
    /// Applied after --tags. `--skip-tags always` also skips tasks tagged `always`.
    #[arg(long = "skip-tags", value_name = "TAGS")]
    pub skip_tags: Vec<String>,

    /// Set extra variables: `k=v k2='v 2'`, YAML/JSON text, or `@file` (repeatable).
    ///
    /// Extra variables outrank every other variable. `k=v` values are strings; use JSON or YAML
    /// (`-e '{"port": 8080}'`) or a file (`-e @vars.yml`) for numbers, booleans, lists and
    /// mappings. Later -e values replace earlier ones key by key.
    #[arg(short = 'e', long = "extra-vars", value_name = "EXTRA_VARS")]
    pub extra_vars: Vec<String>,

    /// Extra directories to look for roles in (colon-separated, repeatable).
    ///
    /// Searched after `roles/` beside the playbook and before the playbook's own directory.
    /// ANSIBLE_ROLES_PATH (colon-separated) is searched after these.
    #[arg(long = "roles-path", value_name = "ROLES_PATH")]
    pub roles_path: Vec<String>,
}

/// How to connect and how to show the run: the flags `jig run`, `jig check`, `jig plan` and
/// `jig apply` share.
#[derive(Debug, Args)]
pub struct CommonFlags {
    /// How many hosts to work on at the same time.
    ///
    /// Each task runs on at most this many hosts at once.
    #[arg(
        short = 'f',
        long = "forks",
        value_name = "FORKS",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub forks: u32,

    /// More output: -v results, -vv task paths, -vvv indented results, -vvvv everything.
    ///
    /// -v prints each task's result as JSON after the host line; -vv adds the file and line of
    /// every task; -vvv pretty-prints results and includes diffs and module arguments.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colours: auto (on a terminal, unless NO_COLOR is set), always, never.
    ///
    /// `auto` also honours ANSIBLE_NOCOLOR and ANSIBLE_FORCE_COLOR.
    #[arg(long = "color", value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Variables whose values are secret though not vaulted (comma-separated, repeatable).
    ///
    /// Their values (and every string inside them) are redacted from all output, like vault
    /// values, from the first task on. Values shorter than 4 characters are not redacted.
    #[arg(long = "secret-vars", value_name = "NAMES")]
    pub secret_vars: Vec<String>,

    /// Vault password flags.
    #[command(flatten)]
    pub vault: super::vault::VaultFlags,

    /// SSH connection flags.
    #[command(flatten)]
    pub ssh: Box<SshFlags>,
}

/// The SSH connection flags of every command that runs playbooks (boxed in [`CommonFlags`] to
/// keep it small).
#[derive(Debug, Args)]
pub struct SshFlags {
    /// SSH private key file for hosts without ansible_ssh_private_key_file.
    ///
    /// Tried after ssh-agent keys and before the default keys (~/.ssh/id_ed25519, id_ecdsa,
    /// id_rsa). An encrypted key's passphrase is asked on the terminal.
    #[arg(long = "private-key", alias = "key-file", value_name = "FILE")]
    pub private_key: Option<PathBuf>,

    /// SSH login user for hosts without ansible_user (default: ssh_config's User, else you).
    ///
    /// A host's ansible_user (inventory) wins over this flag; this flag wins over ssh_config.
    #[arg(short = 'u', long = "user", value_name = "REMOTE_USER")]
    pub user: Option<String>,

    /// Ask for the SSH password once, for hosts without ansible_password.
    ///
    /// It is typed on the terminal without echo and tried after keys; it never appears in
    /// output, logs or process arguments.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,

    /// Ask for the become (sudo) password once, for hosts without ansible_become_password.
    ///
    /// jig answers sudo's prompt with it before the command's own input; a wrong password
    /// fails the task with `incorrect become password`.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,

    /// Read this ssh_config file instead of ~/.ssh/config and /etc/ssh/ssh_config.
    ///
    /// Host patterns, HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump,
    /// ConnectTimeout, ServerAliveInterval, StrictHostKeyChecking and UserKnownHostsFile are
    /// used; `Match` blocks are not evaluated.
    #[arg(long = "ssh-config", value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,

    /// What to do with an unknown host key: yes (refuse), accept-new (record it), no.
    ///
    /// A changed host key is always refused. Without this flag, ANSIBLE_HOST_KEY_CHECKING and
    /// ssh_config's StrictHostKeyChecking decide; the default is yes.
    #[arg(long = "host-key-checking", value_name = "MODE", value_parser = parse_host_key_checking)]
    pub host_key_checking: Option<crate::connection::ssh::HostKeyChecking>,

    /// SSH connect timeout in seconds (default 10).
    ///
    /// Connecting, checking the host key and logging in must finish within it, or the host is
    /// unreachable. ansible_timeout on a host wins over this flag.
    #[arg(short = 'T', long = "timeout", value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

fn parse_host_key_checking(s: &str) -> Result<crate::connection::ssh::HostKeyChecking, String> {
    crate::connection::ssh::HostKeyChecking::parse(s)
        .ok_or_else(|| format!("'{s}' is not one of yes, accept-new, no"))
}

impl Selection {
    /// The inventory sources: -i, else `ANSIBLE_INVENTORY`.
    pub fn inventory_sources(&self) -> Vec<String> {
        if !self.inventory.is_empty() {
            return self.inventory.clone();
        }
        std::env::var("ANSIBLE_INVENTORY")
            .map(|v| split_commas(&[v]))
            .unwrap_or_default()
    }

    /// --roles-path entries, then `ANSIBLE_ROLES_PATH`, split on colons.
    pub fn roles_path(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .roles_path
            .iter()
            .flat_map(|v| v.split(':'))
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        if let Ok(env) = std::env::var("ANSIBLE_ROLES_PATH") {
            out.extend(env.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
        }
        out
    }
}

impl CommonFlags {
    /// Reads the vault passwords and installs the run's keyring and secrets (before anything
    /// is loaded: inventories, playbooks and `-e @file` may be vaulted), and marks the values
    /// of the variables `secret_vars` names given in `extra_vars` as secrets. Errors are
    /// printed, redacted.
    pub fn install_secrets(
        &self,
        extra_vars: &[String],
        secret_vars: &[String],
    ) -> Result<(), ExitCode> {
        let keyring = self.vault.keyring().map_err(|e| {
            print_error(&e);
            ExitCode::Error
        })?;
        let secrets = crate::report::redact::Secrets::new();
        crate::vault::install(keyring, secrets.clone());
        let extra = crate::vars::extra::parse_extra_vars(extra_vars).map_err(|e| {
            print_error(&secrets.redact(&e.to_string()));
            ExitCode::Error
        })?;
        for name in secret_vars {
            if let Some(v) = extra.get(name) {
                secrets.add_value(v);
            }
        }
        Ok(())
    }
}

impl TargetArgs {
    /// Installs the vault keyring and the secrets before anything is loaded
    /// ([`CommonFlags::install_secrets`] with this run's `-e` and `--secret-vars`).
    pub fn install_secrets(&self) -> Result<(), ExitCode> {
        self.common.install_secrets(
            &self.select.extra_vars,
            &split_commas(&self.common.secret_vars),
        )
    }

    /// The executor's options for one playbook: a normal run (no check, no diff).
    pub fn run_options(&self, playbook: PathBuf) -> RunOptions {
        RunOptions {
            playbook,
            inventory: self.select.inventory_sources(),
            limit: self.select.limit.clone(),
            tags: split_commas(&self.select.tags),
            skip_tags: split_commas(&self.select.skip_tags),
            extra_vars: self.select.extra_vars.clone(),
            check: false,
            diff: false,
            forks: self.common.forks as usize,
            verbosity: self.common.verbose,
            start_at_task: None,
            roles_path: self.select.roles_path(),
            connection: self.connection.clone(),
            ssh: self.common.ssh.build(None, None),
            interactive: std::io::IsTerminal::is_terminal(&std::io::stdin()),
            vault: crate::vault::current().keyring,
            secrets: crate::vault::current().secrets,
            secret_vars: split_commas(&self.common.secret_vars),
        }
    }
}

impl RunArgs {
    /// The executor's options for one playbook.
    pub fn run_options(&self, playbook: PathBuf) -> RunOptions {
        RunOptions {
            check: self.check,
            diff: self.diff,
            start_at_task: self.start_at_task.clone(),
            ..self.target.run_options(playbook)
        }
    }
}

impl SshFlags {
    /// The SSH options these flags give, asking on the terminal for the passwords `-k`/`-K`
    /// request (once per run). Errors are printed; the exit code is returned.
    pub fn options(&self) -> Result<SshCliOptions, ExitCode> {
        let password = ask(self.ask_pass, "SSH password: ", "-k/--ask-pass")?;
        let become_password = ask(
            self.ask_become_pass,
            "BECOME password: ",
            "-K/--ask-become-pass",
        )?;
        Ok(self.build(password, become_password))
    }

    /// The SSH options with the given passwords.
    fn build(&self, password: Option<Secret>, become_password: Option<Secret>) -> SshCliOptions {
        SshCliOptions {
            private_key: self.private_key.clone(),
            user: self.user.clone(),
            password,
            become_password,
            ssh_config: self.ssh_config.clone(),
            host_key_checking: self.host_key_checking,
            timeout: self.timeout.map(Duration::from_secs),
        }
    }
}

/// Asks for a password on the terminal if `wanted`.
fn ask(wanted: bool, prompt: &str, flag: &str) -> Result<Option<Secret>, ExitCode> {
    if !wanted {
        return Ok(None);
    }
    prompt_secret(prompt).map(Some).map_err(|e| {
        print_error(&format!(
            "{flag}: cannot ask for the password without a terminal ({e}); set it in the \
             inventory (vault) instead"
        ));
        ExitCode::Error
    })
}

/// Runs `jig run`.
pub fn execute(args: RunArgs) -> ExitCode {
    if let Err(code) = args.target.install_secrets() {
        return code;
    }
    let what = ListWhat {
        hosts: args.list_hosts,
        tasks: args.list_tasks,
        tags: args.list_tags,
    };
    if args.syntax_check || what.any() {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        return check_or_list(&args, what, &mut out);
    }
    let mut stdout = StdoutRenderer::new(&args.target);
    run_all(&args.target, &|p| args.run_options(p), &mut stdout).code
}

/// `--syntax-check` and the `--list-*` modes: load, print, never run.
pub fn check_or_list(args: &RunArgs, what: ListWhat, out: &mut dyn Write) -> ExitCode {
    let target = &args.target;
    let inventory = match load_inventory(&target.select) {
        Ok(inv) => inv,
        Err(e) => {
            print_error(&e);
            return ExitCode::Error;
        }
    };
    if let Err(e) = check_limit(&target.select, &inventory) {
        print_error(&e);
        return ExitCode::Error;
    }
    let load_opts = LoadOptions {
        roles_path: target.select.roles_path(),
    };
    let only = split_commas(&target.select.tags);
    let skip = split_commas(&target.select.skip_tags);
    for path in &target.playbooks {
        let pb = match load_playbook(path, &load_opts) {
            Ok(pb) => pb,
            Err(e) => {
                print_load_error(&e);
                return ExitCode::Error;
            }
        };
        let shown = path.display().to_string();
        if !what.any() {
            let _ = writeln!(out, "\nplaybook: {shown}");
            continue;
        }
        let resolve = |play: &Play| -> Result<Vec<String>, String> {
            let mut hosts = inventory
                .select(&play.hosts)
                .map_err(|e| format!("{}: {e}", play.pos))?;
            for l in &target.select.limit {
                hosts = inventory
                    .restrict(&hosts, l)
                    .map_err(|e| format!("--limit {l}: {e}"))?;
            }
            Ok(hosts)
        };
        match list_playbook(&shown, &pb, what, &only, &skip, &resolve) {
            Ok(text) => {
                let _ = out.write_all(text.as_bytes());
            }
            Err(e) => {
                print_error(&e);
                return ExitCode::Error;
            }
        }
    }
    let _ = out.flush();
    ExitCode::Ok
}

/// Loads the inventory (printing its warnings); the error is the message to show.
fn load_inventory(target: &Selection) -> Result<Inventory, String> {
    let sources = target.inventory_sources();
    if sources.is_empty() {
        warn_no_inventory();
        return Ok(Inventory::empty());
    }
    let inv = Inventory::load(&sources).map_err(|e| e.to_string())?;
    for w in inv.warnings() {
        print_warning(w);
    }
    Ok(inv)
}

/// Prints a playbook load error with the source lines it points at.
fn print_load_error(e: &LoadError) {
    let mut text = e.to_string();
    if let Some(snippet) = e.pos().and_then(crate::report::console::source_snippet) {
        text.push_str("\n\n");
        text.push_str(snippet.trim_end());
    }
    print_error(&text);
}

/// ansible-playbook refuses to start when `--limit` leaves no host of a non-empty inventory.
fn check_limit(target: &Selection, inventory: &Inventory) -> Result<(), String> {
    if target.limit.is_empty() || inventory.host_names().is_empty() {
        return Ok(());
    }
    let mut hosts = inventory.select("all").map_err(|e| e.to_string())?;
    for l in &target.limit {
        let matched = inventory
            .select(l)
            .map_err(|e| format!("--limit {l}: {e}"))?;
        if matched.is_empty() {
            print_warning(&format!(
                "Could not match supplied host pattern, ignoring: {l}"
            ));
        }
        hosts.retain(|h| matched.contains(h));
    }
    if hosts.is_empty() {
        return Err(
            "Specified inventory, host pattern and/or --limit leaves us with no hosts to target."
                .into(),
        );
    }
    Ok(())
}

/// What ansible-playbook says when it runs without an inventory.
fn warn_no_inventory() {
    print_warning("No inventory was parsed, only implicit localhost is available");
    print_warning(
        "provided hosts list is empty, only localhost is available. Note that the implicit \
         localhost does not match 'all'",
    );
}

/// A message that starts with `file:line:column:` followed by the source lines it points at.
fn with_snippet(message: &str) -> String {
    let mut parts = message.splitn(4, ':');
    let (Some(file), Some(line), Some(col)) = (parts.next(), parts.next(), parts.next()) else {
        return message.to_string();
    };
    let (Ok(line), Ok(column)) = (line.parse::<u32>(), col.trim().parse::<u32>()) else {
        return message.to_string();
    };
    let pos = crate::yaml::Pos {
        file: Some(std::sync::Arc::new(PathBuf::from(file))),
        line,
        column,
    };
    match crate::report::console::source_snippet(&pos) {
        Some(snippet) if !message.contains(snippet.lines().last().unwrap_or("")) => {
            format!("{message}\n\n{}", snippet.trim_end())
        }
        _ => message.to_string(),
    }
}

/// How a run of several playbooks ended: the exit status, and the error that stopped it (already
/// printed), if one did.
pub struct RunAll {
    /// The exit status the run alone gives (`jig check` derives its own from the events).
    pub code: ExitCode,
    /// The error that stopped the run before or between tasks, as printed.
    pub error: Option<String>,
}

impl RunAll {
    fn failed(code: ExitCode, message: String) -> RunAll {
        print_error(&message);
        RunAll {
            code,
            error: Some(message),
        }
    }
}

/// Runs every playbook of `target` in order, with the options `options` gives each, sending
/// the events to `renderer` (a `PlaybookStart` before each playbook, one merged recap at the
/// end), and finishes the renderer.
pub fn run_all(
    target: &TargetArgs,
    options: &dyn Fn(PathBuf) -> RunOptions,
    renderer: &mut dyn Renderer,
) -> RunAll {
    if target.select.inventory_sources().is_empty() {
        warn_no_inventory();
    } else if !target.select.limit.is_empty() {
        // The executor loads the inventory again; this early look only refuses a --limit
        // that leaves nothing to do, before any play starts.
        let checked =
            load_inventory(&target.select).and_then(|inv| check_limit(&target.select, &inv));
        if let Err(e) = checked {
            return RunAll::failed(ExitCode::Error, e);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return RunAll::failed(
                ExitCode::Internal,
                format!("cannot start the async runtime: {e}"),
            );
        }
    };
    let ssh = match target.common.ssh.options() {
        Ok(o) => o,
        Err(code) => {
            return RunAll {
                code,
                error: Some("the SSH password could not be read".into()),
            };
        }
    };
    let mut renderer = RecapMerger::new(renderer);
    let mut code = ExitCode::Ok;
    for path in &target.playbooks {
        let mut opts = options(path.clone());
        opts.ssh = ssh.clone();
        // Only for the header; a playbook that does not load is reported by the run.
        let load_opts = LoadOptions {
            roles_path: opts.roles_path.clone(),
        };
        if let Ok(pb) = load_playbook(path, &load_opts) {
            renderer.event(&Event::PlaybookStart {
                path: path.clone(),
                plays: pb.plays.len(),
            });
        }
        match runtime.block_on(crate::exec::run(&opts, &mut renderer)) {
            Ok(outcome) => code = code.max(ExitCode::from_stats(&outcome.stats)),
            Err(e) => {
                renderer.finish();
                return RunAll::failed(
                    ExitCode::Error,
                    opts.secrets
                        .redact(&with_snippet(&e.to_string()))
                        .into_owned(),
                );
            }
        }
    }
    renderer.finish();
    RunAll { code, error: None }
}

/// What shows a run on stdout: the console, or JSON lines (`--output json`).
pub enum StdoutRenderer {
    /// ansible-playbook's output, with a live progress line when stdout is a terminal.
    Console(Box<ConsoleRenderer>, Option<Box<Progress>>),
    /// One JSON object per event.
    Json(JsonLines),
}

impl StdoutRenderer {
    /// The renderer `target`'s `--output`, `--color` and `-v` ask for, on stdout.
    pub fn new(target: &TargetArgs) -> Self {
        match target.output {
            OutputFormat::Console => StdoutRenderer::Console(
                Box::new(ConsoleRenderer::stdio(ConsoleOptions::for_stdout(
                    target.common.color,
                    target.common.verbose,
                ))),
                std::io::IsTerminal::is_terminal(&std::io::stdout())
                    .then(|| Box::new(Progress::stdout())),
            ),
            OutputFormat::Json => StdoutRenderer::Json(JsonLines::stdout()),
        }
    }
}

impl Renderer for StdoutRenderer {
    fn event(&mut self, event: &Event) {
        match self {
            StdoutRenderer::Console(c, None) => c.event(event),
            StdoutRenderer::Console(c, Some(p)) => {
                // The recap takes the line away before it is printed.
                if matches!(event, Event::Recap { .. }) {
                    p.observe(event);
                    c.event(event);
                } else {
                    p.show(|| c.event(event));
                    p.observe(event);
                }
            }
            StdoutRenderer::Json(j) => j.event(event),
        }
    }

    fn finish(&mut self) {
        match self {
            StdoutRenderer::Console(c, p) => {
                if let Some(p) = p {
                    p.finish();
                }
                c.finish();
            }
            StdoutRenderer::Json(j) => j.finish(),
        }
    }
}

pub struct RecapMerger<R: Renderer> {
    inner: R,
    stats: IndexMap<String, HostStats>,
    elapsed: Duration,
    seen: bool,
}

impl<R: Renderer> RecapMerger<R> {
    /// The wrapped renderer.
    pub fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        RecapMerger {
            inner,
            stats: IndexMap::new(),
            elapsed: Duration::ZERO,
            seen: false,
        }
    }
}

impl<R: Renderer> Renderer for RecapMerger<R> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::Recap { stats, elapsed } => {
                self.seen = true;
                self.elapsed += *elapsed;
                for (host, s) in stats {
                    let t = self.stats.entry(host.clone()).or_default();
                    *t += s;
                }
            }
            other => self.inner.event(other),
        }
    }

    fn finish(&mut self) {
        if self.seen {
            self.inner.event(&Event::Recap {
                stats: std::mem::take(&mut self.stats),
                elapsed: self.elapsed,
            });
            self.seen = false;
        }
        self.inner.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> RunArgs {
        let mut full = vec!["jig", "run"];
        full.extend_from_slice(args);
        match super::super::Cli::try_parse_from(full).unwrap().command {
            super::super::Command::Run(a) => a,
            other => panic!("not run: {other:?}"),
        }
    }

    #[test]
    fn error_messages_with_a_location_get_the_source_lines() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("play book.yml");
        std::fs::write(&f, "- hosts: all\n  tasks:\n    - bogus: {}\n").unwrap();
        let msg = format!("{}:3:7: no action detected in task", f.display());
        let shown = with_snippet(&msg);
        assert!(shown.starts_with(&msg), "{shown}");
        assert!(
            shown.ends_with("3     - bogus: {}\n        ^ column 7"),
            "{shown}"
        );
        assert_eq!(with_snippet("plain message"), "plain message");
        assert_eq!(with_snippet("a:b:c: d"), "a:b:c: d");
    }

    #[test]
    fn flags_become_run_options() {
        let a = parse(&[
            "site.yml",
            "-i",
            "inv",
            "-i",
            "h1,h2,",
            "-l",
            "web",
            "-t",
            "a,b",
            "--tags",
            "c",
            "--skip-tags",
            "d",
            "-e",
            "x=1",
            "-e",
            "@f.yml",
            "-C",
            "-D",
            "-f",
            "7",
            "-vvv",
            "--start-at-task",
            "nginx : install",
            "--roles-path",
            "/r1:/r2",
        ]);
        let o = a.run_options(PathBuf::from("site.yml"));
        assert_eq!(a.target.output, OutputFormat::Console);
        assert_eq!(o.inventory, vec!["inv", "h1,h2,"]);
        assert_eq!(o.limit, vec!["web"]);
        assert_eq!(o.tags, vec!["a", "b", "c"]);
        assert_eq!(o.skip_tags, vec!["d"]);
        assert_eq!(o.extra_vars, vec!["x=1", "@f.yml"]);
        assert!(o.check && o.diff);
        assert_eq!(o.forks, 7);
        assert_eq!(o.verbosity, 3);
        assert_eq!(o.start_at_task.as_deref(), Some("nginx : install"));
        assert!(
            o.roles_path
                .starts_with(&[PathBuf::from("/r1"), PathBuf::from("/r2")])
        );
        let d = parse(&["a.yml", "b.yml"]);
        assert_eq!(d.target.common.forks, 100);
        assert_eq!(d.target.playbooks.len(), 2);
        assert_eq!(d.target.common.color, ColorChoice::Auto);
        assert!(!d.run_options(PathBuf::from("a.yml")).check);
        assert_eq!(
            parse(&["--output", "json", "a.yml"]).target.output,
            OutputFormat::Json
        );
    }

    #[derive(Default)]
    struct Rec(Vec<Event>);
    impl Renderer for Rec {
        fn event(&mut self, e: &Event) {
            self.0.push(e.clone());
        }
    }

    #[test]
    fn recaps_of_several_playbooks_are_summed() {
        let mut m = RecapMerger::new(Rec::default());
        let recap = |ok, failed| {
            let mut s = IndexMap::new();
            s.insert(
                "web1".to_string(),
                HostStats {
                    ok,
                    failed,
                    ..HostStats::default()
                },
            );
            Event::Recap {
                stats: s,
                elapsed: Duration::from_secs(1),
            }
        };
        m.event(&Event::Warning {
            message: "w".into(),
        });
        m.event(&recap(2, 0));
        m.event(&recap(3, 1));
        m.finish();
        let events = &m.inner.0;
        assert_eq!(events.len(), 2);
        match &events[1] {
            Event::Recap { stats, elapsed } => {
                assert_eq!(stats["web1"].ok, 5);
                assert_eq!(stats["web1"].failed, 1);
                assert_eq!(*elapsed, Duration::from_secs(2));
            }
            other => panic!("{other:?}"),
        }
    }
}

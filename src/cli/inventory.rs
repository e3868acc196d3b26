//! `jig inventory`: ansible-inventory's `--list`, `--graph` and `--host`.
//!
//! Loads the inventory sources and prints what [`crate::inventory::render`] makes of them,
//! byte-compatible with ansible-inventory so existing scripts keep working.

use std::io::Write;

use clap::{ArgGroup, Args};

use super::exit::ExitCode;
use super::{print_error, print_warning, split_commas};
use crate::inventory::{Inventory, render};

/// `jig inventory` flags.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("action").required(true).args(["list", "graph", "host"])))]
pub struct InventoryArgs {
    /// Inventory source: a file, a directory, or a host list `h1,h2,` (repeatable).
    ///
    /// Without -i, the comma-separated ANSIBLE_INVENTORY environment variable is used; without
    /// either, the inventory is empty.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,

    /// Print every group and host with their variables as JSON.
    ///
    /// The same document ansible-inventory --list prints: `_meta.hostvars`, then each group's
    /// `hosts`, `children` and `vars`.
    #[arg(long = "list")]
    pub list: bool,

    /// Print the group tree, from GROUP (default `all`) down to its hosts.
    ///
    /// Each level is indented with `|--`, groups are shown as `@name:`, as ansible-inventory
    /// --graph does.
    #[arg(
        long = "graph",
        value_name = "GROUP",
        num_args = 0..=1,
        default_missing_value = "all"
    )]
    pub graph: Option<String>,

    /// Print one host's variables as JSON (merged, as a play would see them).
    ///
    /// Group variables are merged in Ansible's precedence order, host variables last.
    #[arg(long = "host", value_name = "HOST")]
    pub host: Option<String>,

    /// With --graph, show each group's and host's variables under it.
    ///
    /// Variables are printed as `{name = value}` lines, as ansible-inventory --graph --vars
    /// shows them.
    #[arg(long = "vars", requires = "graph")]
    pub vars: bool,
}

/// Runs `jig inventory`.
pub fn execute(args: InventoryArgs) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    show(&args, &mut out)
}

/// Loads the inventory and writes the requested view to `out`.
pub fn show(args: &InventoryArgs, out: &mut dyn Write) -> ExitCode {
    let sources = if args.inventory.is_empty() {
        std::env::var("ANSIBLE_INVENTORY")
            .map(|v| split_commas(&[v]))
            .unwrap_or_default()
    } else {
        args.inventory.clone()
    };
    let inv = if sources.is_empty() {
        Inventory::empty()
    } else {
        match Inventory::load(&sources) {
            Ok(inv) => {
                for w in inv.warnings() {
                    print_warning(w);
                }
                inv
            }
            Err(e) => {
                print_error(&e.to_string());
                return ExitCode::Error;
            }
        }
    };
    let text = if args.list {
        render::list_json(&inv)
    } else if let Some(group) = &args.graph {
        if group != "all" && inv.group(group).is_none() {
            print_error(&format!(
                "no group named '{group}' in the inventory (try `jig inventory --graph` to see \
                 them all)"
            ));
            return ExitCode::Error;
        }
        render::graph(&inv, Some(group), args.vars)
    } else if let Some(host) = &args.host {
        match render::host_json(&inv, host) {
            Ok(t) => t,
            Err(e) => {
                print_error(&e.to_string());
                return ExitCode::Error;
            }
        }
    } else {
        return ExitCode::Usage;
    };
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
    ExitCode::Ok
}

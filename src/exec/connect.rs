//! Choosing the transport for a host.
//!
//! Hosts whose `ansible_connection` is `local`, and the controller's own names when no
//! transport is set, use the `local` transport; `ssh` (and Ansible's `smart`/`paramiko`, which
//! mean ssh here) get the run's one [`SshHub`] connection for the host, which connects on its
//! first command.

use std::sync::Arc;

use crate::connection::Connection;
use crate::connection::local::LocalConnection;
use crate::connection::ssh::SshHub;
use crate::connection::ssh::params::CONNECTION_VARS;
use crate::template::Templar;
use crate::vars::{VarMap, VarScope};

/// Names that mean the controller itself.
pub fn is_local_name(name: &str) -> bool {
    matches!(name, "localhost" | "127.0.0.1" | "::1")
}

/// Opens the connection for `host` given its `ansible_connection` (templated); `vars` gives
/// the host's templated connection variables when SSH needs them. Errors say why not.
pub fn open(
    host: &str,
    transport: Option<&str>,
    hub: &SshHub,
    vars: impl FnOnce() -> Result<VarMap, String>,
) -> Result<Arc<Connection>, String> {
    match transport {
        Some("local") => Ok(Arc::new(Connection::Local(LocalConnection::new(host)))),
        None if is_local_name(host) => Ok(Arc::new(Connection::Local(LocalConnection::new(host)))),
        None | Some("ssh") | Some("smart") | Some("paramiko") => hub.connection(host, &vars()?),
        Some(other) => Err(format!(
            "{host}: the '{other}' connection is not supported by jig (use local or ssh)"
        )),
    }
}

/// The host's connection variables ([`CONNECTION_VARS`]), templated in its scope.
pub fn connection_vars(templar: &Templar, scope: &VarScope, host: &str) -> Result<VarMap, String> {
    let mut vars = VarMap::new();
    for name in CONNECTION_VARS {
        if let Some(raw) = scope.get(name) {
            let v = templar
                .template_value(raw, scope)
                .map_err(|e| format!("{host}: cannot template {name}: {e}"))?;
            vars.insert((*name).to_string(), v);
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_is_local_others_ssh_and_unknown_refused_clearly() {
        let hub = SshHub::default();
        let none = || Ok(VarMap::new());
        assert_eq!(open("localhost", None, &hub, none).unwrap().kind(), "local");
        assert_eq!(
            open("web1", Some("local"), &hub, none).unwrap().kind(),
            "local"
        );
        assert_eq!(open("web1", None, &hub, none).unwrap().kind(), "ssh");
        let e = open("web1", Some("ssh"), &hub, || Err("web1: bad port".into())).unwrap_err();
        assert!(e.contains("bad port"), "{e}");
        let e = open("localhost", Some("docker"), &hub, none).unwrap_err();
        assert!(e.contains("docker"), "{e}");
    }
}

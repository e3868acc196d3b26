//! Choosing the transport for a host.
//!
//! Hosts whose `ansible_connection` is `local`, and the controller's own names when no
//! transport is set, use the `local` transport; `ssh` (and Ansible's `smart`/`paramiko`, which
//! mean ssh here) get the run's one [`SshHub`] connection for the host, which connects on its
//! first command. `chroot` enters the root file system tree named by `ansible_host` (else the
//! inventory name), with the read-only bind mounts listed in `jig_chroot_binds`
//! (`SOURCE:TARGET` strings).

use std::sync::Arc;

use crate::connection::Connection;
use crate::connection::chroot::{Bind, ChrootConnection};
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
        Some("chroot") => open_chroot(host, &vars()?),
        Some(other) => Err(format!(
            "{host}: the '{other}' connection is not supported by jig (use local, ssh or chroot)"
        )),
    }
}

/// The variables the `chroot` connection reads besides `ansible_host`.
const CHROOT_VARS: &[&str] = &["jig_chroot_binds"];

fn open_chroot(host: &str, vars: &VarMap) -> Result<Arc<Connection>, String> {
    let root = vars
        .get("ansible_host")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or(host);
    let binds = match vars.get("jig_chroot_binds") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| match v.as_str() {
                Some(s) => Bind::parse(s),
                None => Err(format!("jig_chroot_binds entries must be strings, not {v}")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{host}: {e}"))?,
        Some(serde_json::Value::String(s)) => s
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| Bind::parse(s.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{host}: {e}"))?,
        Some(other) => {
            return Err(format!(
                "{host}: jig_chroot_binds must be a list of SOURCE:TARGET strings, not {other}"
            ));
        }
    };
    ChrootConnection::open(host, std::path::Path::new(root), &binds)
        .map(|c| Arc::new(Connection::Chroot(c)))
        .map_err(|e| e.to_string())
}

/// The host's connection variables ([`CONNECTION_VARS`] and the chroot connection's),
/// templated in its scope.
pub fn connection_vars(templar: &Templar, scope: &VarScope, host: &str) -> Result<VarMap, String> {
    let mut vars = VarMap::new();
    for name in CONNECTION_VARS.iter().chain(CHROOT_VARS) {
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
        let e = open("/nonexistent tree", Some("chroot"), &hub, none).unwrap_err();
        assert!(e.contains("/nonexistent tree"), "{e}");
        let bad = || {
            let mut v = VarMap::new();
            v.insert("ansible_host".into(), serde_json::json!("/srv/img"));
            v.insert("jig_chroot_binds".into(), serde_json::json!(["nocolon"]));
            Ok(v)
        };
        let e = open("img", Some("chroot"), &hub, bad).unwrap_err();
        assert!(e.contains("SOURCE:TARGET"), "{e}");
    }
}

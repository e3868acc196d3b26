//! Choosing the transport for a host.
//!
//! Hosts whose `ansible_connection` is `local`, and the controller's own names when no
//! transport is set, use the `local` transport; `ssh` (and Ansible's `smart`/`paramiko`, which
//! mean ssh here) use [`SshConnection`], which connects on first use.

use crate::connection::Connection;
use crate::connection::local::LocalConnection;
use crate::connection::ssh::{SshConnection, SshParams};

/// Names that mean the controller itself.
pub fn is_local_name(name: &str) -> bool {
    matches!(name, "localhost" | "127.0.0.1" | "::1")
}

/// Whether `host` with this `ansible_connection` is reached over SSH.
pub fn is_ssh(host: &str, transport: Option<&str>) -> bool {
    match transport {
        None => !is_local_name(host),
        Some(t) => matches!(t, "ssh" | "smart" | "paramiko"),
    }
}

/// Opens the connection for `host` given its `ansible_connection` (templated) and, for SSH
/// hosts, its resolved parameters; or says why not.
pub fn open(
    host: &str,
    transport: Option<&str>,
    ssh: Option<Result<SshParams, String>>,
) -> Result<Connection, String> {
    if is_ssh(host, transport) {
        let params = ssh.unwrap_or_else(|| Err(format!("{host}: no SSH parameters")))?;
        return Ok(Connection::Ssh(Box::new(SshConnection::lazy(params))));
    }
    match transport {
        Some("local") | None => Ok(Connection::Local(LocalConnection::new(host))),
        Some(other) => Err(format!(
            "{host}: the '{other}' connection is not supported by jig (use local or ssh)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::ssh::SshCliOptions;
    use crate::connection::ssh::config::SshConfig;

    #[test]
    fn localhost_is_local_others_ssh_and_unknown_refused_clearly() {
        assert!(matches!(
            open("localhost", None, None),
            Ok(Connection::Local(_))
        ));
        assert!(matches!(
            open("web1", Some("local"), None),
            Ok(Connection::Local(_))
        ));
        let p = SshParams::resolve(
            "web1",
            &Default::default(),
            &SshCliOptions::default(),
            &SshConfig::default(),
        );
        assert!(matches!(
            open("web1", None, Some(p)),
            Ok(Connection::Ssh(_))
        ));
        let e = open("web1", Some("ssh"), Some(Err("web1: bad port".into()))).unwrap_err();
        assert!(e.contains("bad port"), "{e}");
        let e = open("localhost", Some("docker"), None).unwrap_err();
        assert!(e.contains("docker"), "{e}");
    }
}

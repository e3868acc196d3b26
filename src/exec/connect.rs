//! Choosing the transport for a host.
//!
//! jig has the `local` transport today: it is used for hosts whose `ansible_connection` is
//! `local`, and for the controller's own names when no transport is set. Every other host is
//! reported unreachable with a message saying why, until the SSH transport lands.

use crate::connection::Connection;
use crate::connection::local::LocalConnection;

/// Names that mean the controller itself.
pub fn is_local_name(name: &str) -> bool {
    matches!(name, "localhost" | "127.0.0.1" | "::1")
}

/// Opens the connection for `host` given its `ansible_connection` (templated), or says why not.
pub fn open(host: &str, transport: Option<&str>) -> Result<Connection, String> {
    match transport {
        Some("local") => Ok(Connection::Local(LocalConnection::new(host))),
        None if is_local_name(host) => Ok(Connection::Local(LocalConnection::new(host))),
        None | Some("ssh") | Some("smart") | Some("paramiko") => Err(format!(
            "{host}: ssh connection not implemented yet (jig can reach only hosts with \
             ansible_connection=local for now)"
        )),
        Some(other) => Err(format!(
            "{host}: the '{other}' connection is not supported by jig (use local)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_is_local_and_others_are_refused_clearly() {
        assert!(open("localhost", None).is_ok());
        assert!(open("web1", Some("local")).is_ok());
        let e = open("web1", None).unwrap_err();
        assert!(e.contains("ssh connection not implemented yet"), "{e}");
        let e = open("localhost", Some("docker")).unwrap_err();
        assert!(e.contains("docker"), "{e}");
    }
}

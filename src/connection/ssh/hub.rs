//! Run-wide SSH state: the command-line options, the ssh_config (read once, on first use) and
//! one connection per host, shared by the host's own tasks and by tasks delegated to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::config::SshConfig;
use super::{SshCliOptions, SshConnection, SshParams};
use crate::connection::Connection;
use crate::vars::VarMap;

/// One per run; cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct SshHub {
    cli: SshCliOptions,
    config: OnceLock<Result<Arc<SshConfig>, String>>,
    conns: Mutex<HashMap<String, Arc<Connection>>>,
}

impl SshHub {
    /// A hub for a run with these command-line options.
    pub fn new(cli: SshCliOptions) -> SshHub {
        SshHub {
            cli,
            ..SshHub::default()
        }
    }

    /// The connection to inventory host `host`, whose templated connection variables are
    /// `vars` (see [`super::params::CONNECTION_VARS`]). Made once per host; it connects on its
    /// first command.
    pub fn connection(&self, host: &str, vars: &VarMap) -> Result<Arc<Connection>, String> {
        if let Some(c) = self.conns.lock().ok().and_then(|m| m.get(host).cloned()) {
            return Ok(c);
        }
        let cfg = self
            .config
            .get_or_init(|| self.cli.load_ssh_config().map(Arc::new))
            .clone()?;
        let params = SshParams::resolve(host, vars, &self.cli, &cfg)?;
        let conn = Arc::new(Connection::Ssh(Box::new(SshConnection::lazy(params))));
        let mut map = self
            .conns
            .lock()
            .map_err(|_| format!("{host}: connection table poisoned"))?;
        Ok(map.entry(host.to_string()).or_insert(conn).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_connection_per_host_and_errors_name_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("cfg");
        std::fs::write(&cfg, "Host web*\n  Port 2200\n").unwrap();
        let hub = SshHub::new(SshCliOptions {
            ssh_config: Some(cfg),
            ..Default::default()
        });
        let vars: VarMap = VarMap::new();
        let a = hub.connection("web1", &vars).unwrap();
        let b = hub.connection("web1", &vars).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let Connection::Ssh(c) = &*a else {
            panic!("not ssh")
        };
        assert_eq!(c.params().port, 2200);
        let bad: VarMap = serde_json::from_value(json!({"ansible_port": "x"})).unwrap();
        let e = hub.connection("db1", &bad).unwrap_err();
        assert!(e.starts_with("db1: ansible_port 'x'"), "{e}");
    }
}

//! Per-host SSH connection parameters: inventory variables, command-line flags,
//! `ansible_ssh_common_args`/`ansible_ssh_extra_args` and ssh_config, merged the way Ansible and
//! OpenSSH merge them.
//!
//! Precedence, highest first: inventory variables (`ansible_user`, `ansible_port`,
//! `ansible_ssh_private_key_file`...), command-line flags (`-u`, `--private-key`, `-T`,
//! `--host-key-checking`), `-o` options in the ssh args variables, then ssh_config (first
//! obtained value wins), then defaults. The ssh_config `Host` lines are matched against
//! `ansible_host` (or the inventory name), because that is what Ansible hands to `ssh`.

use std::path::PathBuf;
use std::time::Duration;

use super::config::{HostConfig, SshConfig};
use crate::connection::Secret;
use crate::vars::VarMap;

/// How unknown host keys are treated (`StrictHostKeyChecking`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostKeyChecking {
    /// Unknown keys are refused (`yes`, `ask`: jig never asks mid-run).
    #[default]
    Strict,
    /// Unknown keys are added to the user known_hosts file; changed keys are refused.
    AcceptNew,
    /// Unknown keys are accepted without being recorded; changed keys are still refused.
    Off,
}

impl HostKeyChecking {
    /// Parses `yes|ask|accept-new|no|off` and Ansible's booleans (`False` means `no`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "ask" | "true" | "1" | "strict" => Some(HostKeyChecking::Strict),
            "accept-new" => Some(HostKeyChecking::AcceptNew),
            "no" | "off" | "false" | "0" => Some(HostKeyChecking::Off),
            _ => None,
        }
    }
}

/// The connection settings given on the command line (`jig run` flags).
#[derive(Clone, Debug, Default)]
pub struct SshCliOptions {
    /// `--private-key FILE`.
    pub private_key: Option<PathBuf>,
    /// `-u/--user`.
    pub user: Option<String>,
    /// The password typed after `-k/--ask-pass`.
    pub password: Option<Secret>,
    /// The password typed after `-K/--ask-become-pass`.
    pub become_password: Option<Secret>,
    /// `--ssh-config FILE` (instead of ~/.ssh/config and /etc/ssh/ssh_config).
    pub ssh_config: Option<PathBuf>,
    /// `--host-key-checking`.
    pub host_key_checking: Option<HostKeyChecking>,
    /// `-T/--timeout`: connect timeout.
    pub timeout: Option<Duration>,
}

impl SshCliOptions {
    /// The ssh_config to use: `--ssh-config`, or ~/.ssh/config followed by /etc/ssh/ssh_config.
    pub fn load_ssh_config(&self) -> Result<SshConfig, String> {
        if let Some(p) = &self.ssh_config {
            if !p.is_file() {
                return Err(format!("--ssh-config {}: no such file", p.display()));
            }
            return SshConfig::load(p);
        }
        let mut files = Vec::new();
        if let Some(h) = super::home_dir() {
            files.push(h.join(".ssh/config"));
        }
        files.push(PathBuf::from("/etc/ssh/ssh_config"));
        let mut out = SshConfig::default();
        for f in files {
            out.extend(SshConfig::load(&f)?);
        }
        Ok(out)
    }
}

/// One hop of a `ProxyJump` chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JumpHost {
    /// Address to connect to (after ssh_config `HostName`).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Key files from ssh_config for this hop.
    pub identity_files: Vec<PathBuf>,
}

/// Everything needed to open and authenticate one SSH connection.
#[derive(Clone, Debug)]
pub struct SshParams {
    /// The inventory name (for messages).
    pub inventory_name: String,
    /// Address to connect to.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Key files to try, in order, before the default keys.
    pub identity_files: Vec<PathBuf>,
    /// Offer only `identity_files` (no agent keys, no default keys).
    pub identities_only: bool,
    /// Password for password authentication.
    pub password: Option<Secret>,
    /// Password for `sudo`/`su`.
    pub become_password: Option<Secret>,
    /// Hosts to jump through, first hop first.
    pub proxy_jump: Vec<JumpHost>,
    /// A local command whose stdin/stdout carry the connection (`ProxyCommand`, tokens
    /// expanded); not used when `proxy_jump` is set.
    pub proxy_command: Option<String>,
    /// TCP connect + handshake + auth must finish within this.
    pub connect_timeout: Duration,
    /// Keepalive interval (ServerAliveInterval); `None` uses jig's default of 15 s.
    pub keepalive_interval: Option<Duration>,
    /// Keepalives without answer before the host counts as lost (ServerAliveCountMax).
    pub keepalive_max: usize,
    /// Unknown-key policy.
    pub host_key_checking: HostKeyChecking,
    /// known_hosts files to check; new keys go to the first.
    pub known_hosts_files: Vec<PathBuf>,
}

/// The connection variables the executor must template and pass to [`SshParams::resolve`].
pub const CONNECTION_VARS: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
    "ansible_timeout",
    "ansible_ssh_timeout",
    "ansible_host_key_checking",
    "ansible_ssh_host_key_checking",
];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl SshParams {
    /// Merges `vars` (the host's connection variables, already templated), `cli` and
    /// `ssh_config` into the parameters for `inventory_name`.
    pub fn resolve(
        inventory_name: &str,
        vars: &VarMap,
        cli: &SshCliOptions,
        ssh_config: &SshConfig,
    ) -> Result<SshParams, String> {
        let var = |names: &[&str]| -> Option<String> {
            names.iter().find_map(|n| {
                vars.get(*n)
                    .filter(|v| !v.is_null())
                    .map(|v| match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .filter(|s| !s.is_empty())
            })
        };
        let target = var(&["ansible_host", "ansible_ssh_host"])
            .unwrap_or_else(|| inventory_name.to_string());
        let mut arg_words = Vec::new();
        for n in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
            if let Some(a) = var(&[n]) {
                arg_words.extend(shlex::split(&a).ok_or_else(|| {
                    format!(
                        "{inventory_name}: cannot split {n} '{a}' into words (unbalanced quotes?)"
                    )
                })?);
            }
        }
        let args = SshArgs::parse(&arg_words).map_err(|e| format!("{inventory_name}: {e}"))?;
        let file_cfg = match &args.config_file {
            Some(f) => SshConfig::load(&PathBuf::from(super::expand_tilde(f)))?,
            None => ssh_config.clone(),
        };
        let hc = args.options.lookup(&target).or(file_cfg.lookup(&target));

        let port = match var(&["ansible_port", "ansible_ssh_port"]) {
            Some(p) => p.parse::<u16>().map_err(|_| {
                format!("{inventory_name}: ansible_port '{p}' is not a port number")
            })?,
            None => hc.port.unwrap_or(22),
        };
        let user = var(&["ansible_user", "ansible_ssh_user"])
            .or_else(|| cli.user.clone())
            .or_else(|| hc.user.clone())
            .unwrap_or_else(current_user);
        let host = hc.hostname.clone().unwrap_or_else(|| target.clone());
        let tokens = |s: &str| {
            super::expand_tilde(
                &s.replace("%h", &host)
                    .replace("%p", &port.to_string())
                    .replace("%r", &user)
                    .replace("%u", &current_user())
                    .replace("%%", "%"),
            )
        };
        let mut identity_files: Vec<PathBuf> = Vec::new();
        let explicit = var(&["ansible_ssh_private_key_file", "ansible_private_key_file"])
            .map(PathBuf::from)
            .or_else(|| cli.private_key.clone());
        identity_files.extend(explicit.map(|p| PathBuf::from(tokens(&p.to_string_lossy()))));
        identity_files.extend(hc.identity_files.iter().map(|f| PathBuf::from(tokens(f))));
        identity_files.dedup();

        let password = var(&[
            "ansible_password",
            "ansible_ssh_pass",
            "ansible_ssh_password",
        ])
        .map(Secret::new)
        .or_else(|| cli.password.clone());
        let become_password = var(&[
            "ansible_become_password",
            "ansible_become_pass",
            "ansible_sudo_pass",
        ])
        .map(Secret::new)
        .or_else(|| cli.become_password.clone());

        let timeout_var = var(&["ansible_ssh_timeout", "ansible_timeout"]);
        let connect_timeout = match timeout_var {
            Some(t) => Duration::from_secs(t.parse::<u64>().map_err(|_| {
                format!("{inventory_name}: ansible_timeout '{t}' is not a number of seconds")
            })?),
            None => cli
                .timeout
                .or(hc.connect_timeout.map(Duration::from_secs))
                .unwrap_or(DEFAULT_TIMEOUT),
        };

        let hkc_var = var(&["ansible_ssh_host_key_checking", "ansible_host_key_checking"]);
        let hkc_env = std::env::var("ANSIBLE_HOST_KEY_CHECKING").ok();
        let host_key_checking = match hkc_var {
            Some(v) => HostKeyChecking::parse(&v).ok_or_else(|| {
                format!(
                    "{inventory_name}: ansible_host_key_checking '{v}' is not yes/no/accept-new"
                )
            })?,
            None => cli
                .host_key_checking
                .or_else(|| hkc_env.as_deref().and_then(HostKeyChecking::parse))
                .or_else(|| {
                    hc.strict_host_key_checking
                        .as_deref()
                        .and_then(HostKeyChecking::parse)
                })
                .unwrap_or_default(),
        };

        let known_hosts_files = if hc.user_known_hosts_files.is_empty() {
            let mut v: Vec<PathBuf> = super::home_dir()
                .map(|h| vec![h.join(".ssh/known_hosts"), h.join(".ssh/known_hosts2")])
                .unwrap_or_default();
            v.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
            v
        } else {
            let mut v: Vec<PathBuf> = hc
                .user_known_hosts_files
                .iter()
                .filter(|f| f.as_str() != "/dev/null" || hc.user_known_hosts_files.len() == 1)
                .map(|f| PathBuf::from(tokens(f)))
                .collect();
            v.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
            v
        };

        let proxy_jump = match hc.proxy_jump.as_deref() {
            None => Vec::new(),
            Some(s) if s.eq_ignore_ascii_case("none") => Vec::new(),
            Some(s) => s
                .split(',')
                .map(|hop| resolve_jump(hop.trim(), &user, &args.options, &file_cfg))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{inventory_name}: ProxyJump '{s}': {e}"))?,
        };

        let proxy_command = hc
            .proxy_command
            .as_deref()
            .filter(|c| !c.eq_ignore_ascii_case("none") && proxy_jump.is_empty())
            .map(|c| {
                c.replace("%h", &host)
                    .replace("%p", &port.to_string())
                    .replace("%r", &user)
                    .replace("%%", "%")
            });

        Ok(SshParams {
            inventory_name: inventory_name.to_string(),
            host,
            port,
            user,
            identity_files,
            identities_only: hc.identities_only.unwrap_or(false),
            password,
            become_password,
            proxy_jump,
            proxy_command,
            connect_timeout,
            keepalive_interval: hc.server_alive_interval.map(Duration::from_secs),
            keepalive_max: hc.server_alive_count_max.unwrap_or(3),
            host_key_checking,
            known_hosts_files,
        })
    }
}

/// `[user@]host[:port]` or `ssh://[user@]host[:port]`, resolved through ssh_config.
fn resolve_jump(
    hop: &str,
    default_user: &str,
    options: &SshConfig,
    cfg: &SshConfig,
) -> Result<JumpHost, String> {
    let hop = hop.strip_prefix("ssh://").unwrap_or(hop);
    let (user, rest) = match hop.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, hop),
    };
    let (name, port) = if let Some(r) = rest.strip_prefix('[') {
        let (h, tail) = r
            .split_once(']')
            .ok_or_else(|| format!("unbalanced [ in '{hop}'"))?;
        (h, tail.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (rest, None),
        }
    };
    if name.is_empty() {
        return Err(format!("no host in '{hop}'"));
    }
    let port = port
        .map(|p| p.parse::<u16>().map_err(|_| format!("bad port in '{hop}'")))
        .transpose()?;
    let hc = options.lookup(name).or(cfg.lookup(name));
    let user = user
        .or(hc.user.clone())
        .unwrap_or_else(|| default_user.to_string());
    Ok(JumpHost {
        host: hc.hostname.clone().unwrap_or_else(|| name.to_string()),
        port: port.or(hc.port).unwrap_or(22),
        identity_files: hc
            .identity_files
            .iter()
            .map(|f| PathBuf::from(super::expand_tilde(f)))
            .collect(),
        user,
    })
}

/// What jig takes from `ansible_ssh_common_args`/`ansible_ssh_extra_args`: `-o` options, `-J`,
/// `-i`, `-p`, `-l`, `-F`. Other flags are ignored (they concern OpenSSH's own client).
struct SshArgs {
    options: SshConfig,
    config_file: Option<String>,
}

impl SshArgs {
    fn parse(words: &[String]) -> Result<SshArgs, String> {
        let mut lines = Vec::new();
        let mut config_file = None;
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            let flag_with_value = |flag: char| -> Option<Result<String, String>> {
                let rest = w.strip_prefix('-')?.strip_prefix(flag)?;
                if !rest.is_empty() {
                    return Some(Ok(rest.to_string()));
                }
                Some(
                    words
                        .get(i + 1)
                        .cloned()
                        .ok_or_else(|| format!("ssh args: -{flag} needs a value")),
                )
            };
            let mut consumed = 1;
            let mut take = |flag: char| -> Result<Option<String>, String> {
                match flag_with_value(flag) {
                    Some(v) => {
                        if w.len() == 2 {
                            consumed = 2;
                        }
                        v.map(Some)
                    }
                    None => Ok(None),
                }
            };
            if let Some(o) = take('o')? {
                lines.push(o.replacen('=', " ", 1));
            } else if let Some(j) = take('J')? {
                lines.push(format!("ProxyJump {j}"));
            } else if let Some(k) = take('i')? {
                lines.push(format!("IdentityFile \"{k}\""));
            } else if let Some(p) = take('p')? {
                lines.push(format!("Port {p}"));
            } else if let Some(l) = take('l')? {
                lines.push(format!("User {l}"));
            } else if let Some(f) = take('F')? {
                config_file = Some(f);
            }
            i += consumed;
        }
        let options = SshConfig::parse(&lines.join("\n"), std::path::Path::new("/"))?;
        Ok(SshArgs {
            options,
            config_file,
        })
    }
}

impl HostConfig {
    /// Fills what `self` leaves unset from `other` (`self` was obtained first).
    pub fn or(mut self, other: HostConfig) -> HostConfig {
        self.hostname = self.hostname.or(other.hostname);
        self.user = self.user.or(other.user);
        self.port = self.port.or(other.port);
        for f in other.identity_files {
            if !self.identity_files.contains(&f) {
                self.identity_files.push(f);
            }
        }
        self.identities_only = self.identities_only.or(other.identities_only);
        self.proxy_jump = self.proxy_jump.or(other.proxy_jump);
        self.proxy_command = self.proxy_command.or(other.proxy_command);
        self.connect_timeout = self.connect_timeout.or(other.connect_timeout);
        self.server_alive_interval = self.server_alive_interval.or(other.server_alive_interval);
        self.server_alive_count_max = self.server_alive_count_max.or(other.server_alive_count_max);
        self.strict_host_key_checking = self
            .strict_host_key_checking
            .or(other.strict_host_key_checking);
        if self.user_known_hosts_files.is_empty() {
            self.user_known_hosts_files = other.user_known_hosts_files;
        }
        self.password_authentication = self
            .password_authentication
            .or(other.password_authentication);
        self
    }
}

fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: serde_json::Value) -> VarMap {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn inventory_beats_cli_beats_args_beats_config() {
        let cfg = SshConfig::parse(
            "Host 10.0.0.*\n  User cfguser\n  Port 2000\n  IdentityFile /k/%h-%r\n  ConnectTimeout 3\n  StrictHostKeyChecking no\n",
            std::path::Path::new("/"),
        )
        .unwrap();
        let cli = SshCliOptions {
            user: Some("cliuser".into()),
            private_key: Some("/k/cli".into()),
            ..Default::default()
        };
        let v = vars(json!({
            "ansible_host": "10.0.0.5",
            "ansible_ssh_common_args": "-o Port=2100 -o 'ProxyJump=jumper@bastion:2201,[::1]:22' -o StrictHostKeyChecking=accept-new",
            "ansible_become_password": "s3cr3t $(x)",
        }));
        let p = SshParams::resolve("web1", &v, &cli, &cfg).unwrap();
        assert_eq!(p.host, "10.0.0.5");
        assert_eq!(p.port, 2100);
        assert_eq!(p.user, "cliuser");
        assert_eq!(
            p.identity_files,
            vec![
                PathBuf::from("/k/cli"),
                PathBuf::from("/k/10.0.0.5-cliuser")
            ]
        );
        assert_eq!(p.connect_timeout, Duration::from_secs(3));
        assert_eq!(p.host_key_checking, HostKeyChecking::AcceptNew);
        assert_eq!(p.proxy_jump.len(), 2);
        assert_eq!(p.proxy_jump[0].user, "jumper");
        assert_eq!(p.proxy_jump[0].port, 2201);
        assert_eq!(p.proxy_jump[1].host, "::1");
        assert_eq!(p.proxy_jump[1].user, "cliuser");
        assert_eq!(p.become_password.as_ref().unwrap().expose(), "s3cr3t $(x)");
        assert!(!format!("{p:?}").contains("s3cr3t"));

        let v =
            vars(json!({"ansible_host": "10.0.0.5", "ansible_user": "inv", "ansible_port": 22}));
        let p = SshParams::resolve("web1", &v, &cli, &cfg).unwrap();
        assert_eq!((p.user.as_str(), p.port), ("inv", 22));
        assert_eq!(p.host_key_checking, HostKeyChecking::Off);

        let v = vars(json!({
            "ansible_host": "10.0.0.5",
            "ansible_ssh_common_args": "-o ProxyCommand=\"ssh -W %h:%p -q 'bastion host'\"",
        }));
        let p = SshParams::resolve("web1", &v, &cli, &cfg).unwrap();
        assert_eq!(
            p.proxy_command.as_deref(),
            Some("ssh -W 10.0.0.5:2000 -q 'bastion host'")
        );
    }

    #[test]
    fn hostname_from_config_and_bad_values_are_errors() {
        let cfg = SshConfig::parse(
            "Host web1\n  HostName web1.lan\n",
            std::path::Path::new("/"),
        )
        .unwrap();
        let p =
            SshParams::resolve("web1", &VarMap::new(), &SshCliOptions::default(), &cfg).unwrap();
        assert_eq!(p.host, "web1.lan");
        assert_eq!(p.port, 22);
        let e = SshParams::resolve(
            "web1",
            &vars(json!({"ansible_port": "http"})),
            &SshCliOptions::default(),
            &cfg,
        )
        .unwrap_err();
        assert!(e.contains("ansible_port 'http'"), "{e}");
        let e = SshParams::resolve(
            "web1",
            &vars(json!({"ansible_ssh_common_args": "-o 'Port=1"})),
            &SshCliOptions::default(),
            &cfg,
        )
        .unwrap_err();
        assert!(e.contains("ansible_ssh_common_args"), "{e}");
    }

    #[test]
    fn host_key_checking_words() {
        assert_eq!(HostKeyChecking::parse("False"), Some(HostKeyChecking::Off));
        assert_eq!(
            HostKeyChecking::parse("accept-new"),
            Some(HostKeyChecking::AcceptNew)
        );
        assert_eq!(HostKeyChecking::parse("yes"), Some(HostKeyChecking::Strict));
        assert_eq!(HostKeyChecking::parse("maybe"), None);
    }
}

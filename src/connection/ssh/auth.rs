//! User authentication: ssh-agent, key files, default keys, then password, in that order.
//!
//! Encrypted keys are unlocked with a passphrase typed on the controlling terminal (never
//! echoed, asked once per key file per run); without a terminal the error says to load the
//! key into ssh-agent instead. Secrets never reach argv or logs.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::client::Handle;
use russh::keys::{PrivateKeyWithHashAlg, load_secret_key};
use russh::{MethodKind, MethodSet};

use super::Client;
use crate::connection::Secret;

/// What one host's authentication needs.
pub(super) struct AuthPlan<'a> {
    pub user: &'a str,
    pub identity_files: &'a [PathBuf],
    pub identities_only: bool,
    pub password: Option<&'a Secret>,
}

/// Passphrases typed during this run, per key file, so a key shared by many hosts is asked once.
static PASSPHRASES: Mutex<Option<HashMap<PathBuf, Secret>>> = Mutex::new(None);
/// Serialises terminal prompts from concurrent connections.
static PROMPT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The default keys OpenSSH tries, in its order.
fn default_keys() -> Vec<PathBuf> {
    super::home_dir()
        .map(|h| {
            ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|n| h.join(".ssh").join(n))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default()
}

/// Authenticates `handle`, or says what was tried and how to fix it.
pub(super) async fn authenticate(
    handle: &mut Handle<Client>,
    plan: &AuthPlan<'_>,
    target: &str,
) -> Result<(), String> {
    let mut tried: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut methods: Option<MethodSet> = None;
    let allows = |m: &Option<MethodSet>, k: MethodKind| m.as_ref().is_none_or(|s| s.contains(&k));
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();

    // 1. ssh-agent.
    if !plan.identities_only
        && std::env::var_os("SSH_AUTH_SOCK").is_some()
        && let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await
    {
        let ids = agent.request_identities().await.unwrap_or_default();
        for id in ids {
            if !allows(&methods, MethodKind::PublicKey) {
                break;
            }
            let key = id.public_key().into_owned();
            let hash = if key.algorithm().is_rsa() {
                rsa_hash
            } else {
                None
            };
            tried.push(format!("agent key {}", key.fingerprint(Default::default())));
            match handle
                .authenticate_publickey_with(plan.user, key, hash, &mut agent)
                .await
            {
                Ok(r) if r.success() => return Ok(()),
                Ok(russh::client::AuthResult::Failure {
                    remaining_methods, ..
                }) => methods = Some(remaining_methods),
                Ok(_) => {}
                Err(e) => notes.push(format!("ssh-agent: {e}")),
            }
        }
    }

    // 2. key files, 3. default keys.
    let mut files: Vec<(PathBuf, bool)> = plan
        .identity_files
        .iter()
        .map(|p| (p.clone(), true))
        .collect();
    if !plan.identities_only {
        for p in default_keys() {
            if !files.iter().any(|(f, _)| f == &p) {
                files.push((p, false));
            }
        }
    }
    for (path, explicit) in files {
        if !allows(&methods, MethodKind::PublicKey) {
            break;
        }
        let key = match load_key(&path).await {
            Ok(k) => k,
            Err(e) => {
                if explicit || !matches!(e, KeyLoad::Missing) {
                    notes.push(e.message(&path));
                }
                continue;
            }
        };
        let hash = if key.algorithm().is_rsa() {
            rsa_hash
        } else {
            None
        };
        tried.push(format!("key {}", path.display()));
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
        match handle.authenticate_publickey(plan.user, key).await {
            Ok(r) if r.success() => return Ok(()),
            Ok(russh::client::AuthResult::Failure {
                remaining_methods, ..
            }) => methods = Some(remaining_methods),
            Ok(_) => {}
            Err(e) => return Err(format!("{target}: authentication broke off: {e}")),
        }
    }

    // 4. password.
    if let Some(pw) = plan.password {
        if allows(&methods, MethodKind::Password) {
            tried.push("password".into());
            match handle
                .authenticate_password(plan.user, pw.expose().to_string())
                .await
            {
                Ok(r) if r.success() => return Ok(()),
                Ok(russh::client::AuthResult::Failure {
                    remaining_methods, ..
                }) => methods = Some(remaining_methods),
                Ok(_) => {}
                Err(e) => return Err(format!("{target}: authentication broke off: {e}")),
            }
        } else {
            notes.push("the server does not accept passwords".into());
        }
    }

    let accepts = methods
        .map(|m| {
            let names: Vec<&str> = m.iter().map(|k| k.into()).collect();
            format!("; the server accepts: {}", names.join(","))
        })
        .unwrap_or_default();
    let tried = if tried.is_empty() {
        "nothing (no agent, no key file, no password)".to_string()
    } else {
        tried.join(", ")
    };
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    Err(format!(
        "permission denied for {}@{target}: tried {tried}{accepts}{notes}. Check ansible_user/-u, \
         the key (--private-key or ansible_ssh_private_key_file) or the password (-k or \
         ansible_password)",
        plan.user
    ))
}

enum KeyLoad {
    Missing,
    Unreadable(String),
    Encrypted(String),
}

impl KeyLoad {
    fn message(&self, path: &Path) -> String {
        match self {
            KeyLoad::Missing => format!("key file {} does not exist", path.display()),
            KeyLoad::Unreadable(e) => format!("cannot use key file {}: {e}", path.display()),
            KeyLoad::Encrypted(why) => format!(
                "key file {} is encrypted and {why}: load it into ssh-agent (ssh-add {}) or run \
                 jig from a terminal to be asked for its passphrase",
                path.display(),
                path.display()
            ),
        }
    }
}

async fn load_key(path: &Path) -> Result<russh::keys::PrivateKey, KeyLoad> {
    if !path.is_file() {
        return Err(KeyLoad::Missing);
    }
    let cached = PASSPHRASES
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(path).cloned()));
    match load_secret_key(path, cached.as_ref().map(|s| s.expose())) {
        Ok(k) => return Ok(k),
        Err(russh::keys::Error::KeyIsEncrypted) => {}
        Err(e) if cached.is_some() => {
            return Err(KeyLoad::Encrypted(format!(
                "the passphrase did not open it ({e})"
            )));
        }
        Err(e) => return Err(KeyLoad::Unreadable(e.to_string())),
    }
    let _guard = PROMPT.lock().await;
    let prompt = format!("Enter passphrase for key '{}': ", path.display());
    let owned = path.to_path_buf();
    let pass = tokio::task::spawn_blocking(move || prompt_secret(&prompt))
        .await
        .map_err(|e| KeyLoad::Encrypted(e.to_string()))?
        .map_err(|e| KeyLoad::Encrypted(format!("no terminal to ask on ({e})")))?;
    let key = load_secret_key(&owned, Some(pass.expose()))
        .map_err(|e| KeyLoad::Encrypted(format!("the passphrase did not open it ({e})")))?;
    if let Ok(mut m) = PASSPHRASES.lock() {
        m.get_or_insert_with(HashMap::new).insert(owned, pass);
    }
    Ok(key)
}

/// Asks for a secret on the controlling terminal with echo off, as `ssh` and `sudo` do.
///
/// Fails when there is no terminal (CI, cron), so callers can say how else to give it.
pub fn prompt_secret(prompt: &str) -> std::io::Result<Secret> {
    use std::os::fd::AsRawFd;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain old data; tcgetattr fills it for a valid fd we own.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is an open terminal for the lifetime of `tty`.
    if unsafe { libc::tcgetattr(fd, &mut old) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut quiet = old;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    // SAFETY: as above; `quiet` is a valid termios derived from the current one.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    let mut w = &tty;
    let _ = w.write_all(prompt.as_bytes());
    let _ = w.flush();
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    // SAFETY: restores the settings read above on the same fd.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
    read?;
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(Secret::new(trimmed))
}

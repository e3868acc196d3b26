//! Ansible Vault: the encrypted envelope, the passwords that open it, and the run's keyring.
//!
//! This module owns reading and writing `$ANSIBLE_VAULT;1.1;AES256` and
//! `$ANSIBLE_VAULT;1.2;AES256;<vault-id>` texts (`format`), turning `--vault-password-file`,
//! `--vault-id label@source`, `--ask-vault-pass` and `ANSIBLE_VAULT_PASSWORD_FILE` into a
//! [`Keyring`] (`password`), and the keyring the loaders use while a run goes on.
//!
//! Files and values are decrypted where they are loaded: [`crate::yaml`] opens vaulted files and
//! inline `!vault` scalars with the keyring [`install`]ed for the run, and adds each plaintext
//! to the run's [`Secrets`] so that no output shows it. A vaulted file that cannot be opened is
//! an error when it is loaded (as in Ansible); an inline value that cannot be opened fails only
//! the task that uses it.

mod format;
pub mod password;

use std::sync::{Arc, RwLock};

pub use format::{Envelope, FormatError, MAGIC, Version, is_vaulted};
pub use password::{PasswordSource, VaultId};

use crate::report::redact::Secrets;

/// The vault id ansible-vault uses when none is named.
pub const DEFAULT_ID: &str = "default";

/// A vault password. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(Arc<Vec<u8>>);

impl Password {
    /// A password from its bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Password(Arc::new(bytes.into()))
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

/// Why a vaulted text could not be decrypted or encrypted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The text itself is damaged or not a vault text.
    #[error("{0}")]
    Format(FormatError),
    /// No password was given to the run.
    #[error(
        "it is encrypted with ansible-vault and no vault password was given; pass \
         --vault-password-file FILE, --vault-id LABEL@FILE or --ask-vault-pass"
    )]
    NoPassword,
    /// No password given decrypts it.
    #[error("decryption failed: none of the vault passwords given ({tried}) decrypts it{hint}")]
    WrongPassword {
        /// The vault ids tried, comma-separated.
        tried: String,
        /// A note when the text names a vault id no password was given for.
        hint: String,
    },
    /// Encrypting needs one password and several were given without `--encrypt-vault-id`.
    #[error("{0}")]
    Choose(String),
}

/// The passwords of a run, each with its vault id, in the order they were given.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    entries: Vec<(String, Password)>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Keyring::default()
    }

    /// Adds a password under vault id `label`.
    pub fn add(&mut self, label: impl Into<String>, password: Password) {
        self.entries.push((label.into(), password));
    }

    /// True if no password was given.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The vault ids, in order.
    pub fn labels(&self) -> Vec<&str> {
        self.entries.iter().map(|(l, _)| l.as_str()).collect()
    }

    /// Decrypts a vaulted text. A `1.2` text is tried first with the password of its own vault
    /// id, then with every other one (as ansible-core does).
    pub fn decrypt(&self, text: &str) -> Result<Vec<u8>, VaultError> {
        let env = Envelope::parse(text).map_err(VaultError::Format)?;
        if self.entries.is_empty() {
            return Err(VaultError::NoPassword);
        }
        let wanted = env.label.as_deref();
        let ordered = self
            .entries
            .iter()
            .filter(|(l, _)| Some(l.as_str()) == wanted)
            .chain(
                self.entries
                    .iter()
                    .filter(|(l, _)| Some(l.as_str()) != wanted),
            );
        for (_, pw) in ordered {
            match env.open(pw.bytes()) {
                Ok(plain) => return Ok(plain),
                Err(FormatError::WrongPassword) => continue,
                Err(e) => return Err(VaultError::Format(e)),
            }
        }
        let hint = match wanted {
            Some(l) if !self.entries.iter().any(|(k, _)| k == l) => {
                format!("; it was encrypted with vault id '{l}': give it with --vault-id {l}@FILE")
            }
            _ => String::new(),
        };
        Err(VaultError::WrongPassword {
            tried: self.labels().join(", "),
            hint,
        })
    }

    /// Encrypts with the password of vault id `id`, or with the only password given. The
    /// header names the vault id unless it is `default` (ansible-vault writes `1.1` then).
    pub fn encrypt(&self, plaintext: &[u8], id: Option<&str>) -> Result<String, VaultError> {
        let (label, pw) = self.choose(id)?;
        let label = (label != DEFAULT_ID).then_some(label.as_str());
        format::seal(plaintext, pw.bytes(), label).map_err(VaultError::Format)
    }

    fn choose(&self, id: Option<&str>) -> Result<&(String, Password), VaultError> {
        match id {
            Some(id) => self.entries.iter().find(|(l, _)| l == id).ok_or_else(|| {
                VaultError::Choose(format!(
                    "--encrypt-vault-id {id}: no password was given for vault id '{id}' \
                     (given: {})",
                    self.labels().join(", ")
                ))
            }),
            None => match self.entries.as_slice() {
                [] => Err(VaultError::NoPassword),
                [one] => Ok(one),
                _ => Err(VaultError::Choose(format!(
                    "several vault ids were given ({}); choose the one to encrypt with using \
                     --encrypt-vault-id",
                    self.labels().join(", ")
                ))),
            },
        }
    }
}

/// The keyring and secrets the loaders of the current run use.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The passwords.
    pub keyring: Keyring,
    /// Where decrypted plaintexts are added.
    pub secrets: Secrets,
}

impl Context {
    /// Decrypts a vaulted text and adds the plaintext to the secrets. The plaintext must be
    /// UTF-8 (vaulted YAML and `!vault` values are text).
    pub fn open_text(&self, text: &str) -> Result<String, VaultError> {
        let plain = self.decrypt_text(text)?;
        self.secrets.add(&plain);
        Ok(plain)
    }

    /// Decrypts a vaulted text that must be UTF-8, without adding it to the secrets (the
    /// caller adds what in it is secret).
    pub fn decrypt_text(&self, text: &str) -> Result<String, VaultError> {
        let plain = self.keyring.decrypt(text)?;
        String::from_utf8(plain).map_err(|_| {
            VaultError::Format(FormatError::Malformed(
                "the decrypted content is not UTF-8 text".into(),
            ))
        })
    }

    /// Decrypts vaulted bytes (a file `copy` sends) and adds the plaintext, if it is text, to
    /// the secrets.
    pub fn open_bytes(&self, text: &[u8]) -> Result<Vec<u8>, VaultError> {
        let text = String::from_utf8_lossy(text);
        let plain = self.keyring.decrypt(&text)?;
        if let Ok(s) = std::str::from_utf8(&plain) {
            self.secrets.add(s);
        }
        Ok(plain)
    }
}

static CURRENT: RwLock<Option<Context>> = RwLock::new(None);

/// Makes `keyring` and `secrets` the ones every loader uses from now on (the CLI and
/// [`crate::exec::run`] call it before loading anything). Loading happens in many places
/// (inventory, playbooks, roles, `vars_files`, `include_vars`, `-e @file`, `copy`), all of
/// which read files through [`crate::yaml`]; one process-wide context spares threading a
/// keyring through each of them.
pub fn install(keyring: Keyring, secrets: Secrets) {
    let mut cur = CURRENT.write().unwrap_or_else(|p| p.into_inner());
    *cur = Some(Context { keyring, secrets });
}

/// The context [`install`]ed for this run (an empty one if none was).
pub fn current() -> Context {
    CURRENT
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vault")
            .join(name);
        std::fs::read_to_string(p).unwrap()
    }

    fn ring(entries: &[(&str, &str)]) -> Keyring {
        let mut k = Keyring::new();
        for (l, p) in entries {
            k.add(*l, Password::new(p.as_bytes()));
        }
        k
    }

    #[test]
    fn ansible_vault_fixtures_decrypt() {
        let plain = fixture("plain.yml");
        let k = ring(&[("default", "correct horse é")]);
        assert_eq!(k.decrypt(&fixture("v11.yml")).unwrap(), plain.as_bytes());
        assert_eq!(k.decrypt(&fixture("v11-empty")).unwrap(), b"");
        // 1.2: the matching id first, then the others; the hint names a missing id.
        let both = ring(&[("default", "correct horse é"), ("prod", "prod-pass")]);
        assert_eq!(
            both.decrypt(&fixture("v12-prod.yml")).unwrap(),
            plain.as_bytes()
        );
        let other_label = ring(&[("dev", "prod-pass")]);
        assert_eq!(
            other_label.decrypt(&fixture("v12-prod.yml")).unwrap(),
            plain.as_bytes()
        );
        let err = k.decrypt(&fixture("v12-prod.yml")).unwrap_err().to_string();
        assert!(
            err.contains("(default)") && err.contains("--vault-id prod@FILE"),
            "{err}"
        );
    }

    #[test]
    fn wrong_or_missing_passwords_are_clear_errors() {
        let err = ring(&[("default", "nope")])
            .decrypt(&fixture("v11.yml"))
            .unwrap_err();
        assert!(matches!(err, VaultError::WrongPassword { .. }), "{err}");
        let err = Keyring::new().decrypt(&fixture("v11.yml")).unwrap_err();
        assert_eq!(err, VaultError::NoPassword);
        assert!(err.to_string().contains("--vault-password-file"));
    }

    #[test]
    fn encrypting_picks_the_one_password_or_the_named_id() {
        let k = ring(&[("default", "a-pass")]);
        let text = k.encrypt(b"hello", None).unwrap();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
        assert_eq!(k.decrypt(&text).unwrap(), b"hello");
        let two = ring(&[("dev", "d-pass"), ("prod", "p-pass")]);
        assert!(matches!(
            two.encrypt(b"x", None),
            Err(VaultError::Choose(_))
        ));
        let text = two.encrypt(b"x", Some("prod")).unwrap();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
        assert_eq!(ring(&[("any", "p-pass")]).decrypt(&text).unwrap(), b"x");
        assert!(two.encrypt(b"x", Some("qa")).is_err());
    }

    #[test]
    fn opened_text_becomes_a_secret() {
        let ctx = Context {
            keyring: ring(&[("default", "correct horse é")]),
            secrets: Secrets::new(),
        };
        let inline = fixture("inline.yml");
        let body: String = inline
            .lines()
            .skip(1)
            .map(|l| format!("{}\n", l.trim()))
            .collect();
        assert_eq!(ctx.open_text(&body).unwrap(), "s3cr3t 'quoted' $(x) é");
        assert!(ctx.secrets.contains_secret("x s3cr3t 'quoted' $(x) é y"));
    }
}

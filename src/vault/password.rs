//! Where vault passwords come from: files, executables, the terminal.
//!
//! As ansible-core reads them: a password file's whole content with surrounding whitespace
//! stripped; an executable password file's standard output with surrounding newlines stripped
//! (a name ending in `-client`, e.g. `vault-keyring-client.py`, is also given
//! `--vault-id <label>`); `prompt` asks on the terminal without echo. `--vault-id label@source`
//! names the vault id; a bare source (and `--vault-password-file`, `--ask-vault-pass`,
//! `ANSIBLE_VAULT_PASSWORD_FILE`) is the `default` id.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::{DEFAULT_ID, Keyring, Password};

/// Where one password comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// A file to read, or an executable to run.
    File(PathBuf),
    /// Ask on the terminal.
    Prompt,
}

/// One `--vault-id`: a vault id and its password's source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultId {
    /// The vault id (`default` when not given).
    pub label: String,
    /// Where the password comes from.
    pub source: PasswordSource,
}

impl VaultId {
    /// Parses `label@source`, `source`, `label@prompt` or `prompt`.
    pub fn parse(spec: &str) -> VaultId {
        let (label, source) = match spec.split_once('@') {
            Some((l, s)) if !l.is_empty() => (l.to_string(), s),
            Some((_, s)) => (DEFAULT_ID.to_string(), s),
            None => (DEFAULT_ID.to_string(), spec),
        };
        let source = if source == "prompt" {
            PasswordSource::Prompt
        } else {
            PasswordSource::File(PathBuf::from(source))
        };
        VaultId { label, source }
    }

    /// A password file for the default id.
    pub fn file(path: impl Into<PathBuf>) -> VaultId {
        VaultId {
            label: DEFAULT_ID.to_string(),
            source: PasswordSource::File(path.into()),
        }
    }
}

/// The vault ids the command-line flags ask for, in the order ansible-core tries them:
/// `--vault-id`s, then `--vault-password-file`s, then `--ask-vault-pass`, then
/// `ANSIBLE_VAULT_PASSWORD_FILE` (when no password file was given on the command line).
pub fn from_flags(vault_ids: &[String], password_files: &[PathBuf], ask: bool) -> Vec<VaultId> {
    let mut out: Vec<VaultId> = vault_ids.iter().map(|s| VaultId::parse(s)).collect();
    out.extend(password_files.iter().map(VaultId::file));
    if ask {
        out.push(VaultId {
            label: DEFAULT_ID.to_string(),
            source: PasswordSource::Prompt,
        });
    }
    if password_files.is_empty()
        && let Some(env) = std::env::var_os("ANSIBLE_VAULT_PASSWORD_FILE").filter(|v| !v.is_empty())
    {
        out.push(VaultId::file(env));
    }
    out
}

/// Reads every password into a keyring. `prompt` asks on the terminal (it is given the
/// prompt text); errors name the flag's source and say what went wrong.
pub fn load(
    ids: &[VaultId],
    prompt: &mut dyn FnMut(&str) -> std::io::Result<String>,
) -> Result<Keyring, String> {
    let mut ring = Keyring::new();
    for id in ids {
        let pw = match &id.source {
            PasswordSource::File(path) => read_password_file(path, &id.label)?,
            PasswordSource::Prompt => {
                let text = if id.label == DEFAULT_ID {
                    "Vault password: ".to_string()
                } else {
                    format!("Vault password ({}): ", id.label)
                };
                let answer = prompt(&text).map_err(|e| {
                    format!(
                        "cannot ask for the vault password without a terminal ({e}); use \
                         --vault-password-file instead"
                    )
                })?;
                Password::new(answer.into_bytes())
            }
        };
        if pw.bytes().is_empty() {
            return Err(format!(
                "the vault password for vault id '{}' is empty",
                id.label
            ));
        }
        ring.add(id.label.clone(), pw);
    }
    Ok(ring)
}

/// A password from a file, or from an executable's output.
pub fn read_password_file(path: &Path, label: &str) -> Result<Password, String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("vault password file {}: {e}", path.display()))?;
    if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
        return run_password_script(path, label);
    }
    let data =
        std::fs::read(path).map_err(|e| format!("vault password file {}: {e}", path.display()))?;
    Ok(Password::new(data.trim_ascii().to_vec()))
}

fn run_password_script(path: &Path, label: &str) -> Result<Password, String> {
    let mut cmd = std::process::Command::new(path);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem.ends_with("-client") {
        cmd.args(["--vault-id", label]);
    }
    let out = cmd
        .stdin(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("vault password script {}: {e}", path.display()))?;
    if !out.status.success() {
        return Err(format!(
            "vault password script {} failed ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut data = out.stdout;
    while data.last().is_some_and(|b| matches!(b, b'\r' | b'\n')) {
        data.pop();
    }
    let start = data
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(data.len());
    Ok(Password::new(data[start..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_ids_parse_like_ansible() {
        assert_eq!(
            VaultId::parse("prod@/etc/pw"),
            VaultId {
                label: "prod".into(),
                source: PasswordSource::File("/etc/pw".into())
            }
        );
        assert_eq!(VaultId::parse("dev@prompt").source, PasswordSource::Prompt);
        assert_eq!(VaultId::parse("pw.txt").label, "default");
        assert_eq!(VaultId::parse("@pw.txt").label, "default");
    }

    #[test]
    fn files_are_stripped_and_scripts_are_run() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("pw");
        std::fs::write(&f, " pass word é \n\n").unwrap();
        assert_eq!(
            read_password_file(&f, "default").unwrap().bytes(),
            "pass word é".as_bytes()
        );
        // An executable prints the password; only newlines around it are stripped, and a
        // `-client` script is told which vault id is wanted.
        let s = tmp.path().join("my-client.sh");
        std::fs::write(&s, "#!/bin/sh\nprintf ' from %s \\n' \"$2\"\n").unwrap();
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            read_password_file(&s, "prod").unwrap().bytes(),
            b" from prod "
        );
        let bad = tmp.path().join("bad.sh");
        std::fs::write(&bad, "#!/bin/sh\necho nope >&2\nexit 3\n").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = read_password_file(&bad, "default").unwrap_err();
        assert!(err.contains("nope") && err.contains("bad.sh"), "{err}");
        assert!(read_password_file(&tmp.path().join("missing"), "x").is_err());
    }

    #[test]
    fn load_asks_with_the_label_and_refuses_empty_passwords() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("pw");
        std::fs::write(&f, "one\n").unwrap();
        let mut asked = Vec::new();
        let ring = load(
            &[VaultId::parse("prod@prompt"), VaultId::file(&f)],
            &mut |p: &str| {
                asked.push(p.to_string());
                Ok("two".into())
            },
        )
        .unwrap();
        assert_eq!(ring.labels(), ["prod", "default"]);
        assert_eq!(asked, ["Vault password (prod): "]);
        std::fs::write(&f, "\n").unwrap();
        let err = load(&[VaultId::file(&f)], &mut |_: &str| Ok(String::new())).unwrap_err();
        assert!(err.contains("empty"), "{err}");
    }
}

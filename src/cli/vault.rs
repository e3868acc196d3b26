//! `jig vault`: ansible-vault's command line, and the vault flags `jig run` shares.
//!
//! `encrypt`, `decrypt`, `view`, `create`, `edit`, `rekey` and `encrypt_string` read and write
//! the same files ansible-vault does (src/vault), with its flags: `--vault-id`,
//! `--vault-password-file`, `--ask-vault-pass`, `--encrypt-vault-id`, `--output`,
//! `--new-vault-password-file`/`--new-vault-id`, `-n/--name`, `--stdin-name`. Without any
//! password flag the password is asked on the terminal, as ansible-vault does. Messages
//! ("Encryption successful") go to stderr; data goes to stdout or the files.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::exit::ExitCode;
use super::print_error;
use crate::vault::{self, Keyring, VaultId, password};

/// The vault password flags of `jig run` and `jig vault`.
#[derive(Clone, Debug, Default, Args)]
pub struct VaultFlags {
    /// A vault id and its password source: `label@FILE`, `label@prompt`, or `FILE` (repeatable).
    ///
    /// FILE is read (surrounding whitespace stripped) or, if executable, run for its output.
    /// A 1.2 vault text is tried with the password of its own label first, then the others.
    #[arg(long = "vault-id", value_name = "VAULT_ID")]
    pub vault_id: Vec<String>,

    /// A file holding the vault password, or an executable printing it (repeatable).
    ///
    /// Same as `--vault-id FILE`. ANSIBLE_VAULT_PASSWORD_FILE is used when this flag is not
    /// given.
    #[arg(
        long = "vault-password-file",
        alias = "vault-pass-file",
        value_name = "FILE"
    )]
    pub vault_password_file: Vec<PathBuf>,

    /// Ask for the vault password on the terminal (no echo).
    ///
    /// Same as `--vault-id prompt`.
    #[arg(short = 'J', long = "ask-vault-pass", alias = "ask-vault-password")]
    pub ask_vault_pass: bool,
}

impl VaultFlags {
    /// The vault ids these flags (and ANSIBLE_VAULT_PASSWORD_FILE) name.
    pub fn ids(&self) -> Vec<VaultId> {
        password::from_flags(
            &self.vault_id,
            &self.vault_password_file,
            self.ask_vault_pass,
        )
    }

    /// Reads every password (asking on the terminal where a flag says so).
    pub fn keyring(&self) -> Result<Keyring, String> {
        password::load(&self.ids(), &mut ask_once)
    }
}

fn ask_once(prompt: &str) -> std::io::Result<String> {
    crate::connection::ssh::auth::prompt_secret(prompt).map(|s| s.expose().to_string())
}

/// Asks twice, as ansible-vault does for a password that will encrypt.
fn ask_confirmed(prompt: &str) -> std::io::Result<String> {
    let first = ask_once(&format!("New {prompt}"))?;
    let again = ask_once(&format!("Confirm New {prompt}"))?;
    if first != again {
        return Err(std::io::Error::other("the passwords do not match"));
    }
    Ok(first)
}

/// `jig vault` arguments.
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: VaultAction,
}

/// `jig vault` actions.
#[derive(Debug, Subcommand)]
pub enum VaultAction {
    /// Encrypt files in place (or to --output)
    Encrypt(FilesArgs),
    /// Decrypt files in place (or to --output)
    Decrypt(FilesArgs),
    /// Print the plaintext of vaulted files
    View(FilesArgs),
    /// Create a new vaulted file with $EDITOR
    Create(FilesArgs),
    /// Edit a vaulted file with $EDITOR (decrypted only in a 0600 temporary file)
    Edit(FilesArgs),
    /// Re-encrypt vaulted files with a new password
    Rekey(RekeyArgs),
    /// Encrypt a string for use as an inline `!vault` value in YAML
    #[command(name = "encrypt_string", alias = "encrypt-string")]
    EncryptString(StringArgs),
}

/// Arguments of the file actions.
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// Files to work on; `-` (or none, for encrypt/decrypt/view) is standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// Write the result here instead of in place (`-` is standard output).
    ///
    /// Only with one input file.
    #[arg(long = "output", value_name = "OUTPUT_FILE")]
    pub output: Option<String>,

    /// The vault id whose password encrypts (when several are given).
    ///
    /// Its label is written in the header (format 1.2), unless it is `default`.
    #[arg(long = "encrypt-vault-id", value_name = "ENCRYPT_VAULT_ID")]
    pub encrypt_vault_id: Option<String>,

    /// Vault password flags.
    #[command(flatten)]
    pub vault: VaultFlags,
}

/// Arguments of `rekey`.
#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// Vaulted files to re-encrypt in place.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,

    /// The new password's file (or executable).
    ///
    /// The new password is asked on the terminal when neither this nor --new-vault-id is
    /// given.
    #[arg(
        long = "new-vault-password-file",
        value_name = "NEW_VAULT_PASSWORD_FILE"
    )]
    pub new_vault_password_file: Option<PathBuf>,

    /// The new vault id and its password source (`label@FILE`, `label@prompt`).
    ///
    /// Its label is written in the header (format 1.2), unless it is `default`.
    #[arg(long = "new-vault-id", value_name = "NEW_VAULT_ID")]
    pub new_vault_id: Option<String>,

    /// Vault password flags (the current passwords).
    #[command(flatten)]
    pub vault: VaultFlags,
}

/// Arguments of `encrypt_string`.
#[derive(Debug, Args)]
pub struct StringArgs {
    /// Strings to encrypt; `-` (or none) reads one from standard input.
    #[arg(value_name = "STRING")]
    pub strings: Vec<String>,

    /// Variable names for the strings, in order (repeatable): prints `name: !vault |`.
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub names: Vec<String>,

    /// Read the string from standard input and name it NAME.
    ///
    /// The input is taken as is, trailing newline included, as ansible-vault does.
    #[arg(long = "stdin-name", value_name = "STDIN_NAME")]
    pub stdin_name: Option<String>,

    /// Ask for the string on the terminal (no echo).
    ///
    /// Same as ansible-vault's `-p`.
    #[arg(short = 'p', long = "prompt")]
    pub prompt: bool,

    /// The vault id whose password encrypts (when several are given).
    ///
    /// Its label is written in the header (format 1.2), unless it is `default`.
    #[arg(long = "encrypt-vault-id", value_name = "ENCRYPT_VAULT_ID")]
    pub encrypt_vault_id: Option<String>,

    /// Vault password flags.
    #[command(flatten)]
    pub vault: VaultFlags,
}

/// Runs `jig vault`.
pub fn execute(args: VaultArgs) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    match run(args.action, &mut input, &mut out) {
        Ok(note) => {
            if !note.is_empty() {
                eprintln!("{note}");
            }
            ExitCode::Ok
        }
        Err(e) => {
            print_error(&e);
            ExitCode::Error
        }
    }
}

/// Runs one action with the given standard input and output; returns the message for stderr.
/// `create` and `edit` use $EDITOR (default `vi`).
pub fn run(
    action: VaultAction,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
) -> Result<String, String> {
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    run_with_editor(action, stdin, out, &editor)
}

fn run_with_editor(
    action: VaultAction,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    editor: &str,
) -> Result<String, String> {
    match action {
        VaultAction::Encrypt(a) => {
            let ring = keyring_for(&a.vault, true)?;
            each_file(&a, stdin, out, |data, name| {
                if vault::is_vaulted(data) {
                    return Err(format!("{name}: input is already encrypted"));
                }
                ring.encrypt(data, a.encrypt_vault_id.as_deref())
                    .map(String::into_bytes)
                    .map_err(|e| format!("{name}: {e}"))
            })?;
            Ok("Encryption successful".into())
        }
        VaultAction::Decrypt(a) => {
            let ring = keyring_for(&a.vault, false)?;
            each_file(&a, stdin, out, |data, name| decrypt(&ring, data, name))?;
            Ok("Decryption successful".into())
        }
        VaultAction::View(a) => {
            let ring = keyring_for(&a.vault, false)?;
            let files = inputs(&a.files);
            for f in files {
                let (data, name) = read_input(&f, stdin)?;
                let plain = decrypt(&ring, &data, &name)?;
                out.write_all(&plain).map_err(|e| e.to_string())?;
            }
            Ok(String::new())
        }
        VaultAction::Create(a) => {
            let [file] = a.files.as_slice() else {
                return Err("create takes exactly one file name".into());
            };
            if Path::new(file).exists() {
                return Err(format!("{file} exists; use `jig vault edit` to change it"));
            }
            let ring = keyring_for(&a.vault, true)?;
            let label = a.encrypt_vault_id.as_deref();
            let plain = edit_in_editor(b"", editor)?;
            let text = ring.encrypt(&plain, label).map_err(|e| e.to_string())?;
            write_private(Path::new(file), text.as_bytes())?;
            Ok(String::new())
        }
        VaultAction::Edit(a) => {
            let [file] = a.files.as_slice() else {
                return Err("edit takes exactly one file".into());
            };
            let ring = keyring_for(&a.vault, false)?;
            let (data, name) = read_input(file, stdin)?;
            let old = decrypt(&ring, &data, &name)?;
            // Keep the file's own vault id unless told otherwise.
            let label = a.encrypt_vault_id.clone().or_else(|| label_of(&data));
            let new = edit_in_editor(&old, editor)?;
            if new == old {
                return Ok(String::new());
            }
            let text = encrypt_with_label(&ring, &new, label.as_deref())?;
            write_private(Path::new(file), text.as_bytes())?;
            Ok(String::new())
        }
        VaultAction::Rekey(a) => {
            let ring = keyring_for(&a.vault, false)?;
            let new_id = match (&a.new_vault_id, &a.new_vault_password_file) {
                (Some(id), _) => VaultId::parse(id),
                (None, Some(f)) => VaultId::file(f),
                (None, None) => VaultId::parse("prompt"),
            };
            let new_ring = password::load(std::slice::from_ref(&new_id), &mut ask_confirmed)?;
            for f in &a.files {
                let (data, name) = read_input(f, stdin)?;
                let plain = decrypt(&ring, &data, &name)?;
                let text = new_ring
                    .encrypt(&plain, Some(&new_id.label))
                    .map_err(|e| format!("{name}: {e}"))?;
                write_private(Path::new(f), text.as_bytes())?;
            }
            Ok("Rekey successful".into())
        }
        VaultAction::EncryptString(a) => {
            let ring = keyring_for(&a.vault, true)?;
            let mut items: Vec<(Option<String>, Vec<u8>)> = Vec::new();
            if a.prompt {
                let s = ask_once("String to encrypt: ")
                    .map_err(|e| format!("cannot ask for the string without a terminal ({e})"))?;
                items.push((a.names.first().cloned(), s.into_bytes()));
            } else if a.stdin_name.is_some() || a.strings.is_empty() || a.strings == ["-"] {
                let mut data = Vec::new();
                stdin
                    .read_to_end(&mut data)
                    .map_err(|e| format!("standard input: {e}"))?;
                let name = a.stdin_name.clone().or_else(|| a.names.first().cloned());
                items.push((name, data));
            } else {
                for (i, s) in a.strings.iter().enumerate() {
                    items.push((a.names.get(i).cloned(), s.as_bytes().to_vec()));
                }
            }
            for (name, data) in items {
                let text = ring
                    .encrypt(&data, a.encrypt_vault_id.as_deref())
                    .map_err(|e| e.to_string())?;
                let block = inline_block(name.as_deref(), &text);
                out.write_all(block.as_bytes()).map_err(|e| e.to_string())?;
            }
            Ok("Encryption successful".into())
        }
    }
}

/// `name: !vault |` (or a bare `!vault |`) with the vault text indented under it, as
/// ansible-vault prints it.
pub fn inline_block(name: Option<&str>, vault_text: &str) -> String {
    let mut s = match name {
        Some(n) => format!("{n}: !vault |\n"),
        None => "!vault |\n".to_string(),
    };
    for line in vault_text.lines() {
        s.push_str("          ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

fn keyring_for(flags: &VaultFlags, encrypting: bool) -> Result<Keyring, String> {
    let mut ids = flags.ids();
    if ids.is_empty() {
        // ansible-vault asks when it is given no password.
        ids.push(VaultId::parse("prompt"));
    }
    if encrypting {
        password::load(&ids, &mut ask_confirmed)
    } else {
        password::load(&ids, &mut ask_once)
    }
}

fn decrypt(ring: &Keyring, data: &[u8], name: &str) -> Result<Vec<u8>, String> {
    if !vault::is_vaulted(data) {
        return Err(format!("{name}: input is not vault encrypted data"));
    }
    ring.decrypt(&String::from_utf8_lossy(data))
        .map_err(|e| format!("{name}: {e}"))
}

fn label_of(data: &[u8]) -> Option<String> {
    vault::Envelope::parse(&String::from_utf8_lossy(data))
        .ok()
        .and_then(|e| e.label)
}

/// Encrypts with `label`'s password if the keyring has it, else with the only password.
fn encrypt_with_label(ring: &Keyring, plain: &[u8], label: Option<&str>) -> Result<String, String> {
    let label = label.filter(|l| ring.labels().contains(l));
    ring.encrypt(plain, label).map_err(|e| e.to_string())
}

fn inputs(files: &[String]) -> Vec<String> {
    if files.is_empty() {
        vec!["-".to_string()]
    } else {
        files.to_vec()
    }
}

fn read_input(file: &str, stdin: &mut dyn Read) -> Result<(Vec<u8>, String), String> {
    if file == "-" {
        let mut data = Vec::new();
        stdin
            .read_to_end(&mut data)
            .map_err(|e| format!("standard input: {e}"))?;
        Ok((data, "standard input".into()))
    } else {
        let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        Ok((data, file.to_string()))
    }
}

/// Transforms each input (in place, to --output, or stdin to stdout).
fn each_file(
    a: &FilesArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    mut transform: impl FnMut(&[u8], &str) -> Result<Vec<u8>, String>,
) -> Result<(), String> {
    let files = inputs(&a.files);
    if a.output.is_some() && files.len() > 1 {
        return Err("--output takes one input file".into());
    }
    for f in &files {
        let (data, name) = read_input(f, stdin)?;
        let result = transform(&data, &name)?;
        let dest = a.output.as_deref().unwrap_or(f);
        if dest == "-" {
            out.write_all(&result).map_err(|e| e.to_string())?;
        } else {
            write_private(Path::new(dest), &result)?;
        }
    }
    Ok(())
}

/// Writes a file through a temporary beside it, keeping an existing file's mode (a new one is
/// 0600, as ansible-vault creates them).
fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.jig-tmp", uuid::Uuid::new_v4().simple()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

/// A 0600 file in the temporary directory, removed when dropped (even on error).
struct PrivateTemp(PathBuf);

impl Drop for PrivateTemp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Lets the user edit `content` with `editor` in a 0600 temporary file that is removed
/// afterwards, and returns what they saved.
fn edit_in_editor(content: &[u8], editor: &str) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let path =
        std::env::temp_dir().join(format!("jig-vault-{}.yml", uuid::Uuid::new_v4().simple()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let temp = PrivateTemp(path);
    f.write_all(content)
        .map_err(|e| format!("{}: {e}", temp.0.display()))?;
    drop(f);
    // $EDITOR may carry flags (`code --wait`), as ansible-vault splits it.
    let words = shlex::split(editor).unwrap_or_else(|| vec![editor.to_string()]);
    let (program, flags) = words
        .split_first()
        .ok_or_else(|| "EDITOR is empty".to_string())?;
    let status = std::process::Command::new(program)
        .args(flags)
        .arg(&temp.0)
        .status()
        .map_err(|e| format!("cannot run the editor {editor}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "the editor {editor} failed ({status}); nothing was changed"
        ));
    }
    std::fs::read(&temp.0).map_err(|e| format!("{}: {e}", temp.0.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(pw_file: &Path) -> VaultFlags {
        VaultFlags {
            vault_password_file: vec![pw_file.to_path_buf()],
            ..VaultFlags::default()
        }
    }

    fn files(list: &[&Path], pw: &Path) -> FilesArgs {
        FilesArgs {
            files: list.iter().map(|p| p.display().to_string()).collect(),
            output: None,
            encrypt_vault_id: None,
            vault: flags(pw),
        }
    }

    fn go(action: VaultAction, input: &str) -> Result<(String, String), String> {
        let mut out = Vec::new();
        let note = run(action, &mut input.as_bytes(), &mut out)?;
        Ok((String::from_utf8(out).unwrap(), note))
    }

    #[test]
    fn encrypt_view_decrypt_rekey_round_trip_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let pw = tmp.path().join("pw");
        std::fs::write(&pw, "first pass\n").unwrap();
        let pw2 = tmp.path().join("pw2");
        std::fs::write(&pw2, "second pass\n").unwrap();
        let f = tmp.path().join("secret file.yml");
        let plain = "token: \"s3cr3t 'quoted' $(x) é\"\n";
        std::fs::write(&f, plain).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let before = mode(&f);

        let (_, note) = go(VaultAction::Encrypt(files(&[&f], &pw)), "").unwrap();
        assert_eq!(note, "Encryption successful");
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"), "{text}");
        assert!(!text.contains("s3cr3t"));
        assert_eq!(mode(&f), before, "an existing file keeps its mode");
        // Encrypting twice is refused.
        let err = go(VaultAction::Encrypt(files(&[&f], &pw)), "").unwrap_err();
        assert!(err.contains("already encrypted"), "{err}");

        let (shown, _) = go(VaultAction::View(files(&[&f], &pw)), "").unwrap();
        assert_eq!(shown, plain);
        let err = go(VaultAction::View(files(&[&f], &pw2)), "").unwrap_err();
        assert!(err.contains("secret file.yml: decryption failed"), "{err}");

        let (_, note) = go(
            VaultAction::Rekey(RekeyArgs {
                files: vec![f.display().to_string()],
                new_vault_password_file: None,
                new_vault_id: Some(format!("prod@{}", pw2.display())),
                vault: flags(&pw),
            }),
            "",
        )
        .unwrap();
        assert_eq!(note, "Rekey successful");
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"),
            "{text}"
        );
        assert!(go(VaultAction::View(files(&[&f], &pw)), "").is_err());

        // --output - prints the plaintext; in place decrypts the file.
        let mut a = files(&[&f], &pw2);
        a.output = Some("-".into());
        let (shown, _) = go(VaultAction::Decrypt(a), "").unwrap();
        assert_eq!(shown, plain);
        go(VaultAction::Decrypt(files(&[&f], &pw2)), "").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), plain);
        let err = go(VaultAction::Decrypt(files(&[&f], &pw2)), "").unwrap_err();
        assert!(err.contains("not vault encrypted"), "{err}");
    }

    #[test]
    fn stdin_and_encrypt_string_print_what_yaml_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let pw = tmp.path().join("pw");
        std::fs::write(&pw, "first pass\n").unwrap();
        let (text, _) = go(VaultAction::Encrypt(files(&[], &pw)), "from stdin").unwrap();
        let mut ring = Keyring::new();
        ring.add("default", vault::Password::new(b"first pass".to_vec()));
        assert_eq!(ring.decrypt(&text).unwrap(), b"from stdin");

        let secret = "s3cr3t 'quoted' $(x) é";
        let (yaml, _) = go(
            VaultAction::EncryptString(StringArgs {
                strings: vec![secret.into(), "two".into()],
                names: vec!["api_key".into(), "other".into()],
                stdin_name: None,
                prompt: false,
                encrypt_vault_id: None,
                vault: flags(&pw),
            }),
            "",
        )
        .unwrap();
        assert!(
            yaml.starts_with("api_key: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n"),
            "{yaml}"
        );
        let ctx = vault::Context {
            keyring: ring.clone(),
            secrets: crate::report::redact::Secrets::new(),
        };
        let j = crate::yaml::parse_str_with(&yaml, None, &ctx)
            .unwrap()
            .to_json();
        assert_eq!(j["api_key"], secret);
        assert_eq!(j["other"], "two");

        let (yaml, _) = go(
            VaultAction::EncryptString(StringArgs {
                strings: vec![],
                names: vec![],
                stdin_name: Some("db".into()),
                prompt: false,
                encrypt_vault_id: None,
                vault: flags(&pw),
            }),
            "line\n",
        )
        .unwrap();
        let j = crate::yaml::parse_str_with(&yaml, None, &ctx)
            .unwrap()
            .to_json();
        assert_eq!(j["db"], "line\n");
    }

    #[test]
    fn edit_uses_a_private_temp_file_that_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let pw = tmp.path().join("pw");
        std::fs::write(&pw, "first pass\n").unwrap();
        let f = tmp.path().join("v.yml");
        std::fs::write(&f, "a: 1\n").unwrap();
        go(VaultAction::Encrypt(files(&[&f], &pw)), "").unwrap();
        // The "editor" records the temp file's mode and path, then appends a line.
        let log = tmp.path().join("log");
        let editor = tmp.path().join("ed.sh");
        std::fs::write(
            &editor,
            format!(
                "#!/bin/sh\nstat -c '%a %n' \"$1\" > '{}'\necho 'b: 2' >> \"$1\"\n",
                log.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut out = Vec::new();
        let ed = editor.display().to_string();
        run_with_editor(
            VaultAction::Edit(files(&[&f], &pw)),
            &mut &b""[..],
            &mut out,
            &ed,
        )
        .unwrap();
        let logged = std::fs::read_to_string(&log).unwrap();
        let (mode, temp) = logged.trim().split_once(' ').unwrap();
        assert_eq!(mode, "600");
        assert!(!Path::new(temp).exists(), "{temp} was left behind");
        let (shown, _) = go(VaultAction::View(files(&[&f], &pw)), "").unwrap();
        assert_eq!(shown, "a: 1\nb: 2\n");
    }
}

//! Host-key verification against OpenSSH `known_hosts` files.
//!
//! Entries are parsed with `ssh_key::known_hosts`; the matching is ours because russh's own
//! check knows neither wildcards, negation nor `@revoked` (shared/CRATES.md 1.3). A host is
//! looked up as `name` on port 22 and `[name]:port` otherwise, as OpenSSH writes it. Plain
//! patterns (`*`, `?`, `!`) and hashed `|1|salt|hash` names are both matched. `@revoked`
//! wins over everything. `@cert-authority` lines make a host certificate signed by that CA
//! acceptable for the hosts their patterns match ([`check_certificate`]), as OpenSSH does.

use std::io::Write;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::certificate::CertType;
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, Marker};
use russh::keys::ssh_key::{Algorithm, Certificate, PublicKey};
use sha1::{Digest, Sha1};

/// What the known_hosts files say about a host's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// The key is listed for this host.
    Known,
    /// The host is not listed with this key type. `other_types` says whether it is listed
    /// with keys of other types.
    Unknown {
        /// Keys of other algorithms are known for the host.
        other_types: bool,
    },
    /// The host is listed with a different key of the same type.
    Changed {
        /// The file.
        file: PathBuf,
        /// 1-based line of the differing entry.
        line: usize,
    },
    /// The key is marked `@revoked`.
    Revoked {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
    },
}

/// The name known_hosts uses for `host` on `port`.
pub fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Checks `key` for `host`:`port` against every file in `files` (missing files are empty).
pub fn check(files: &[PathBuf], host: &str, port: u16, key: &PublicKey) -> HostKeyStatus {
    let name = lookup_name(host, port);
    let mut known = false;
    let mut changed: Option<(PathBuf, usize)> = None;
    let mut other_types = false;
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (idx, entry) in entries(&text) {
            let same_key = entry.public_key().key_data() == key.key_data();
            match entry.marker() {
                Some(Marker::Revoked) => {
                    if same_key {
                        return HostKeyStatus::Revoked {
                            file: file.clone(),
                            line: idx + 1,
                        };
                    }
                    continue;
                }
                Some(Marker::CertAuthority) => continue,
                None => {}
            }
            if !entry_matches(entry.host_patterns(), &name) {
                continue;
            }
            if same_key {
                known = true;
            } else if entry.public_key().algorithm() == key.algorithm() {
                changed.get_or_insert((file.clone(), idx + 1));
            } else {
                other_types = true;
            }
        }
    }
    if known {
        HostKeyStatus::Known
    } else if let Some((file, line)) = changed {
        HostKeyStatus::Changed { file, line }
    } else {
        HostKeyStatus::Unknown { other_types }
    }
}

/// What the known_hosts files say about a host certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertStatus {
    /// Signed by a `@cert-authority` listed for the host, valid now, for this host.
    Trusted,
    /// No `@cert-authority` listed for the host signed it: the key inside is to be checked
    /// as a plain key instead (OpenSSH falls back the same way).
    NoAuthority,
    /// A listed authority signed it but it is not valid for this host now; why.
    Invalid(String),
    /// The certificate's key or its authority's key is `@revoked`.
    Revoked {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
    },
}

/// Whether some `@cert-authority` line matches `host`:`port`, so the client should ask the
/// server for its certificate.
pub fn has_cert_authority(files: &[PathBuf], host: &str, port: u16) -> bool {
    let name = lookup_name(host, port);
    files.iter().any(|file| {
        std::fs::read_to_string(file).is_ok_and(|text| {
            entries(&text).any(|(_, e)| {
                e.marker() == Some(&Marker::CertAuthority)
                    && entry_matches(e.host_patterns(), &name)
            })
        })
    })
}

/// Checks a host certificate for `host`:`port` at unix time `now`: its signature, that its
/// signer is a `@cert-authority` listed for the host, that it is a host certificate, valid
/// now, naming `host` among its principals (or naming none, which OpenSSH accepts), and
/// that neither its key nor its authority is `@revoked`.
pub fn check_certificate(
    files: &[PathBuf],
    host: &str,
    port: u16,
    cert: &Certificate,
    now: u64,
) -> CertStatus {
    let name = lookup_name(host, port);
    let mut trusted_ca = false;
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (idx, entry) in entries(&text) {
            let data = entry.public_key().key_data();
            match entry.marker() {
                Some(Marker::Revoked)
                    if data == cert.public_key() || data == cert.signature_key() =>
                {
                    return CertStatus::Revoked {
                        file: file.clone(),
                        line: idx + 1,
                    };
                }
                Some(Marker::CertAuthority)
                    if data == cert.signature_key()
                        && entry_matches(entry.host_patterns(), &name) =>
                {
                    trusted_ca = true;
                }
                _ => {}
            }
        }
    }
    if !trusted_ca {
        return CertStatus::NoAuthority;
    }
    if cert.verify_signature().is_err() {
        return CertStatus::Invalid("its signature does not verify".into());
    }
    if cert.cert_type() != CertType::Host {
        return CertStatus::Invalid("it is a user certificate, not a host certificate".into());
    }
    if now < cert.valid_after() {
        return CertStatus::Invalid(format!(
            "it is not valid yet (valid after {} in unix time, now {now})",
            cert.valid_after()
        ));
    }
    if now >= cert.valid_before() {
        return CertStatus::Invalid(format!(
            "it expired (valid before {} in unix time, now {now})",
            cert.valid_before()
        ));
    }
    let principals = cert.valid_principals();
    if !principals.is_empty() && !principals.iter().any(|p| p == host) {
        return CertStatus::Invalid(format!("it names {} but not {host}", principals.join(", ")));
    }
    CertStatus::Trusted
}

/// The key algorithms known for `host`:`port`, so the client can ask the server for one of
/// them first (as OpenSSH does); otherwise a host listed only with its RSA key would offer
/// ed25519 and look unknown.
pub fn known_algorithms(files: &[PathBuf], host: &str, port: u16) -> Vec<Algorithm> {
    let name = lookup_name(host, port);
    let mut out: Vec<Algorithm> = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (_, entry) in entries(&text) {
            if entry.marker().is_none()
                && entry_matches(entry.host_patterns(), &name)
                && !out.contains(&entry.public_key().algorithm())
            {
                out.push(entry.public_key().algorithm());
            }
        }
    }
    out
}

/// Appends `host`:`port` with `key` to `file` (created with its directory if missing), as
/// `accept-new` does.
pub fn append(file: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    if let Some(dir) = file.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let encoded = key
        .to_openssh()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let needs_newline = std::fs::read(file)
        .map(|b| !b.is_empty() && !b.ends_with(b"\n"))
        .unwrap_or(false);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    if needs_newline {
        f.write_all(b"\n")?;
    }
    writeln!(f, "{} {encoded}", lookup_name(host, port))
}

/// Parsed entries with their 0-based line index; unparsable lines are skipped, as OpenSSH
/// skips them.
fn entries(text: &str) -> impl Iterator<Item = (usize, Entry)> + '_ {
    text.lines().enumerate().filter_map(|(i, raw)| {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        // ssh_key splits fields on a single space; OpenSSH accepts any run of blanks.
        let norm = line.split_whitespace().collect::<Vec<_>>().join(" ");
        norm.parse::<Entry>().ok().map(|e| (i, e))
    })
}

fn entry_matches(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::Patterns(list) => super::config::host_patterns_match(list, name),
        HostPatterns::HashedName { salt, hash } => hmac_sha1(salt, name.as_bytes()) == *hash,
    }
}

/// HMAC-SHA1 (RFC 2104), what OpenSSH's `HashKnownHosts` uses.
fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha1::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha1::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    let mut out = [0u8; 20];
    out.copy_from_slice(&outer.finalize());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const K1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHtpRNvYyryDYl3zv6EPPcPeADGExAk0d8pNEyuv5ohg";
    const K2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIACO2H2JY+H175SMkviF6ueEfNkdpzzwJwDRxvKONjtC";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("known_hosts");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn plain_port_and_wildcard_entries() {
        let (_d, p) = file_with(&format!(
            "# comment\nweb1,web2 {K1}\n[db]:2222\t{K1}\n*.example.com,!bad.example.com {K1}\n"
        ));
        let files = [p.clone()];
        assert_eq!(check(&files, "web2", 22, &key(K1)), HostKeyStatus::Known);
        assert_eq!(check(&files, "db", 2222, &key(K1)), HostKeyStatus::Known);
        assert_eq!(
            check(&files, "db", 22, &key(K1)),
            HostKeyStatus::Unknown { other_types: false }
        );
        assert_eq!(
            check(&files, "a.example.com", 22, &key(K1)),
            HostKeyStatus::Known
        );
        assert!(matches!(
            check(&files, "bad.example.com", 22, &key(K1)),
            HostKeyStatus::Unknown { .. }
        ));
        assert_eq!(
            check(&files, "web1", 22, &key(K2)),
            HostKeyStatus::Changed { file: p, line: 2 }
        );
    }

    #[test]
    fn hashed_entries_match_openssh_hmac() {
        let salt = b"0123456789abcdefghij";
        let hash = hmac_sha1(salt, b"[10.0.0.5]:2200");
        let b64 = base64::engine::general_purpose::STANDARD;
        let (_d, p) = file_with(&format!(
            "|1|{}|{} {K1}\n",
            b64.encode(salt),
            b64.encode(hash)
        ));
        assert_eq!(
            check(std::slice::from_ref(&p), "10.0.0.5", 2200, &key(K1)),
            HostKeyStatus::Known
        );
        assert!(matches!(
            check(&[p], "10.0.0.5", 22, &key(K1)),
            HostKeyStatus::Unknown { .. }
        ));
    }

    #[test]
    fn hmac_matches_rfc2202_vector() {
        // RFC 2202 test case 2.
        let h = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(h), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn known_algorithms_lists_the_hosts_key_types() {
        let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDDTdMwVVgEsfXWr6WsZuOk1ja9e6UZLDSLSxcpAmvHaTVrj4Kp4Vdn3RPXDlBOSKhbsdtDCK1TInvUj4N02zC3Th0c3TZZ5AsVCM/hHBUkOcDmp3tIvlPx2A+ueX6VLr3W6tLzsp3uSVwGgkUGcfkSmUKt8+AV/ZHdZiS6DIwY5w==";
        let (_d, p) = file_with(&format!(
            "web1 {K1}\nweb1 {rsa}\ndb {K2}\n@revoked web1 {K2}\n"
        ));
        let algs = known_algorithms(&[p], "web1", 22);
        assert_eq!(algs.len(), 2, "{algs:?}");
        assert_eq!(algs[0], Algorithm::Ed25519);
        assert!(matches!(algs[1], Algorithm::Rsa { .. }));
    }

    #[test]
    fn revoked_wins_over_a_match() {
        let (_d, p) = file_with(&format!("web1 {K1}\n@revoked * {K1}\n"));
        assert!(matches!(
            check(&[p], "web1", 22, &key(K1)),
            HostKeyStatus::Revoked { line: 2, .. }
        ));
    }

    #[test]
    fn append_writes_a_line_check_then_finds() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/known_hosts");
        append(&p, "h", 2200, &key(K2)).unwrap();
        append(&p, "h", 22, &key(K2)).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("[h]:2200 ssh-ed25519 "), "{text}");
        assert_eq!(check(&[p], "h", 2200, &key(K2)), HostKeyStatus::Known);
    }

    /// Signs a fresh host key with a fresh CA through ssh-keygen; returns the CA's public
    /// line and the certificate. `extra` are more ssh-keygen flags (-h, -n, -V...).
    fn signed(dir: &Path, name: &str, extra: &[&str]) -> (String, Certificate) {
        let make_key = |p: &Path| {
            let st = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
                .arg(p)
                .status()
                .unwrap();
            assert!(st.success());
        };
        let ca = dir.join(format!("{name}-ca"));
        let host = dir.join(format!("{name}-host"));
        make_key(&ca);
        make_key(&host);
        let st = std::process::Command::new("ssh-keygen")
            .args(["-q", "-s"])
            .arg(&ca)
            .args(["-I", name])
            .args(extra)
            .arg(host.with_extension("pub"))
            .status()
            .unwrap();
        assert!(st.success());
        let ca_pub = std::fs::read_to_string(ca.with_extension("pub")).unwrap();
        let cert = Certificate::read_file(&dir.join(format!("{name}-host-cert.pub"))).unwrap();
        (ca_pub.trim().to_string(), cert)
    }

    #[test]
    fn certificates_need_a_listed_ca_host_type_validity_and_principal() {
        if std::process::Command::new("ssh-keygen")
            .arg("-?")
            .output()
            .is_err()
        {
            eprintln!("SKIPPED: no ssh-keygen");
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let (ca, cert) = signed(d.path(), "good", &["-h", "-n", "web1,10.0.0.1"]);
        let kh = d.path().join("kh");
        std::fs::write(&kh, format!("@cert-authority *.example.com,web? {ca}\n")).unwrap();
        let files = [kh.clone()];
        let check = |host: &str, c: &Certificate| check_certificate(&files, host, 22, c, now);
        assert_eq!(check("web1", &cert), CertStatus::Trusted);
        assert!(has_cert_authority(&files, "web1", 22));
        assert!(!has_cert_authority(&files, "db1", 22));
        // The CA is not listed for this name: the plain key decides.
        assert_eq!(check("10.0.0.1", &cert), CertStatus::NoAuthority);
        // Listed for the name, but the certificate does not name it.
        assert_eq!(
            check("web2", &cert),
            CertStatus::Invalid("it names web1, 10.0.0.1 but not web2".into())
        );
        assert!(matches!(
            check_certificate(&files, "web1", 22, &cert, cert.valid_before()),
            CertStatus::Invalid(m) if m.starts_with("it expired")
        ));

        let (ca2, user_cert) = signed(d.path(), "user", &["-n", "web1"]);
        std::fs::write(&kh, format!("@cert-authority * {ca2}\n")).unwrap();
        assert!(matches!(
            check("web1", &user_cert),
            CertStatus::Invalid(m) if m.contains("user certificate")
        ));
        let (ca3, old) = signed(d.path(), "old", &["-h", "-V", "20000101:20000102"]);
        std::fs::write(
            &kh,
            format!("@cert-authority * {ca3}\n@revoked web9 {ca}\n"),
        )
        .unwrap();
        assert!(
            matches!(check("web1", &old), CertStatus::Invalid(m) if m.starts_with("it expired"))
        );
        // @revoked matches whatever the name: the key itself is distrusted.
        std::fs::write(&kh, format!("@cert-authority * {ca}\n@revoked web9 {ca}\n")).unwrap();
        assert_eq!(
            check("web1", &cert),
            CertStatus::Revoked {
                file: kh.clone(),
                line: 2
            }
        );
    }
}

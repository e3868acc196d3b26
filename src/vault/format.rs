//! The ansible-vault envelope, as docs.ansible.com ("Vault format") describes it.
//!
//! A vaulted text is a header line `$ANSIBLE_VAULT;1.1;AES256` (or `1.2;AES256;<vault-id>`)
//! followed by a body: the hex encoding of `hex(salt) \n hex(hmac) \n hex(ciphertext)`, wrapped
//! at 80 columns. The keys come from PBKDF2-HMAC-SHA256 over the password and the 32-byte salt
//! (10000 iterations, 80 bytes: the AES-256 key, the HMAC-SHA256 key, the CTR initial counter);
//! the plaintext is PKCS#7-padded to the AES block and encrypted with AES-256 in CTR mode (a
//! 128-bit big-endian counter); the HMAC covers the ciphertext.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha256 = hmac::Hmac<Sha256>;

/// What every vaulted text starts with.
pub const MAGIC: &str = "$ANSIBLE_VAULT";
const ITERATIONS: u32 = 10_000;
const SALT_LEN: usize = 32;
const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;
const BLOCK: usize = 16;
const WIDTH: usize = 80;

/// The envelope's format version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `1.1`: no vault id in the header.
    V1_1,
    /// `1.2`: the header names the vault id the text was encrypted with.
    V1_2,
}

/// A parsed vaulted text, not yet decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The header's version.
    pub version: Version,
    /// The vault id of a `1.2` header.
    pub label: Option<String>,
    salt: Vec<u8>,
    mac: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// Why a vaulted text could not be read or opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The text is not a vault envelope, or its body is damaged.
    #[error("not a valid ansible-vault text: {0}")]
    Malformed(String),
    /// The header names a cipher jig (like ansible-core) does not read.
    #[error("unsupported vault cipher '{0}' (only AES256 is supported)")]
    Cipher(String),
    /// The HMAC did not match: the password is not the one it was encrypted with.
    #[error("the password does not decrypt it")]
    WrongPassword,
}

/// True if `data` (after leading whitespace) starts with the vault header.
pub fn is_vaulted(data: &[u8]) -> bool {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    data[start..].starts_with(MAGIC.as_bytes())
        && data.get(start + MAGIC.len()).is_some_and(|b| *b == b';')
}

impl Envelope {
    /// Parses a vaulted text: the header line, then the hex body (whitespace ignored).
    pub fn parse(text: &str) -> Result<Envelope, FormatError> {
        let text = text.trim_start();
        let (header, body) = text.split_once('\n').unwrap_or((text, ""));
        let parts: Vec<&str> = header.trim_end().split(';').collect();
        if parts.first() != Some(&MAGIC) || parts.len() < 3 {
            return Err(FormatError::Malformed(
                "the header line is not $ANSIBLE_VAULT;1.x;AES256".into(),
            ));
        }
        let version = match parts[1] {
            "1.1" => Version::V1_1,
            "1.2" => Version::V1_2,
            other => {
                return Err(FormatError::Malformed(format!(
                    "unknown format version {other}"
                )));
            }
        };
        if parts[2] != "AES256" {
            return Err(FormatError::Cipher(parts[2].to_string()));
        }
        let label = match (version, parts.get(3)) {
            (Version::V1_2, Some(l)) if !l.is_empty() => Some((*l).to_string()),
            (Version::V1_2, _) => {
                return Err(FormatError::Malformed(
                    "a 1.2 header must name its vault id".into(),
                ));
            }
            (Version::V1_1, _) => None,
        };
        let hex_body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let inner = hex::decode(&hex_body)
            .map_err(|e| FormatError::Malformed(format!("the body is not hexadecimal ({e})")))?;
        let mut fields = inner.split(|b| *b == b'\n');
        let mut field = |name: &str| -> Result<Vec<u8>, FormatError> {
            let f = fields
                .next()
                .ok_or_else(|| FormatError::Malformed(format!("the {name} is missing")))?;
            hex::decode(f)
                .map_err(|e| FormatError::Malformed(format!("the {name} is not hexadecimal ({e})")))
        };
        let salt = field("salt")?;
        let mac = field("HMAC")?;
        let ciphertext = field("ciphertext")?;
        if salt.is_empty() || mac.len() != 32 {
            return Err(FormatError::Malformed(
                "the salt or HMAC has the wrong length".into(),
            ));
        }
        Ok(Envelope {
            version,
            label,
            salt,
            mac,
            ciphertext,
        })
    }

    /// Decrypts with `password`. The HMAC is checked first, in constant time; a mismatch is
    /// [`FormatError::WrongPassword`].
    pub fn open(&self, password: &[u8]) -> Result<Vec<u8>, FormatError> {
        let keys = derive(password, &self.salt);
        let mut mac = HmacSha256::new_from_slice(&keys[KEY_LEN..2 * KEY_LEN])
            .map_err(|_| FormatError::WrongPassword)?;
        mac.update(&self.ciphertext);
        mac.verify_slice(&self.mac)
            .map_err(|_| FormatError::WrongPassword)?;
        let mut data = self.ciphertext.clone();
        apply_ctr(&keys, &mut data);
        unpad(data)
    }
}

/// Encrypts `plaintext` with `password` and a fresh random salt. With `label`, the header is
/// `1.2` and names it; without, `1.1` (what ansible-vault writes for the default id).
pub fn seal(plaintext: &[u8], password: &[u8], label: Option<&str>) -> Result<String, FormatError> {
    let mut salt = [0u8; SALT_LEN];
    fill_random(&mut salt)?;
    seal_with_salt(plaintext, password, label, &salt)
}

fn seal_with_salt(
    plaintext: &[u8],
    password: &[u8],
    label: Option<&str>,
    salt: &[u8],
) -> Result<String, FormatError> {
    let keys = derive(password, salt);
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = plaintext.to_vec();
    data.extend(std::iter::repeat_n(u8::try_from(pad).unwrap_or(16), pad));
    apply_ctr(&keys, &mut data);
    // HMAC takes keys of any length; the error cannot happen.
    let mut mac = HmacSha256::new_from_slice(&keys[KEY_LEN..2 * KEY_LEN])
        .map_err(|e| FormatError::Malformed(e.to_string()))?;
    mac.update(&data);
    let tag = mac.finalize().into_bytes();
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(tag),
        hex::encode(&data)
    );
    let body = hex::encode(inner.as_bytes());
    let mut out = match label {
        Some(l) => format!("{MAGIC};1.2;AES256;{l}\n"),
        None => format!("{MAGIC};1.1;AES256\n"),
    };
    for chunk in body.as_bytes().chunks(WIDTH) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    Ok(out)
}

fn derive(password: &[u8], salt: &[u8]) -> [u8; 2 * KEY_LEN + IV_LEN] {
    let mut out = [0u8; 2 * KEY_LEN + IV_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ITERATIONS, &mut out);
    out
}

fn apply_ctr(keys: &[u8; 2 * KEY_LEN + IV_LEN], data: &mut [u8]) {
    // Both slices have the lengths AES-256-CTR wants, so this cannot fail.
    if let Ok(mut c) = Aes256Ctr::new_from_slices(&keys[..KEY_LEN], &keys[2 * KEY_LEN..]) {
        c.apply_keystream(data);
    }
}

fn unpad(mut data: Vec<u8>) -> Result<Vec<u8>, FormatError> {
    let bad = || FormatError::Malformed("bad padding after decryption".into());
    let n = usize::from(*data.last().ok_or_else(bad)?);
    if n == 0
        || n > BLOCK
        || n > data.len()
        || !data[data.len() - n..].iter().all(|b| usize::from(*b) == n)
    {
        return Err(bad());
    }
    data.truncate(data.len() - n);
    Ok(data)
}

fn fill_random(buf: &mut [u8]) -> Result<(), FormatError> {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`, which we own.
        let n =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(FormatError::Malformed(format!("no random salt: {e}")));
        }
        filled += usize::try_from(n).unwrap_or(0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_for_every_padding_length() {
        for len in [0usize, 1, 15, 16, 17, 100] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let text = seal(&plain, b"pw", None).unwrap();
            assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
            assert!(text.lines().skip(1).all(|l| l.len() <= 80));
            let env = Envelope::parse(&text).unwrap();
            assert_eq!(env.open(b"pw").unwrap(), plain);
            assert_eq!(env.open(b"other"), Err(FormatError::WrongPassword));
        }
    }

    #[test]
    fn labels_make_a_1_2_header() {
        let text = seal(b"x", b"pw", Some("prod")).unwrap();
        assert!(
            text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"),
            "{text}"
        );
        let env = Envelope::parse(&text).unwrap();
        assert_eq!(env.version, Version::V1_2);
        assert_eq!(env.label.as_deref(), Some("prod"));
    }

    #[test]
    fn two_seals_differ_by_their_salt() {
        assert_ne!(
            seal(b"x", b"pw", None).unwrap(),
            seal(b"x", b"pw", None).unwrap()
        );
        let a = seal_with_salt(b"x", b"pw", None, &[1; 32]).unwrap();
        assert_eq!(a, seal_with_salt(b"x", b"pw", None, &[1; 32]).unwrap());
    }

    #[test]
    fn damaged_texts_are_malformed_not_panics() {
        for bad in [
            "",
            "$ANSIBLE_VAULT;1.1",
            "$ANSIBLE_VAULT;1.0;AES\n00",
            "$ANSIBLE_VAULT;1.2;AES256\n00",
            "$ANSIBLE_VAULT;1.1;AES256\nzz",
            "$ANSIBLE_VAULT;1.1;AES256\n6162",
            "$ANSIBLE_VAULT;9;AES256\n",
        ] {
            assert!(Envelope::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Envelope::parse("$ANSIBLE_VAULT;1.1;DES\n00"),
            Err(FormatError::Cipher(_))
        ));
        assert!(is_vaulted(b"  $ANSIBLE_VAULT;1.1;AES256\n"));
        assert!(!is_vaulted(b"$ANSIBLE_VAULTx"));
    }
}

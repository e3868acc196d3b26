//! Hash filters: `hash(type)`, `checksum`, `md5`, `sha1`, and `password_hash` (the crypt
//! formats themselves are in `crypt.rs`).

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};
use sha1::Digest;

use super::fail;
use crate::template::convert::to_text;

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict(env, "hash", |v: Value, kind: Option<String>| {
        hash(&to_text(&v), kind.as_deref().unwrap_or("sha1"))
    });
    super::strict(env, "checksum", |v: Value| hash(&to_text(&v), "sha1"));
    super::strict(env, "sha1", |v: Value| hash(&to_text(&v), "sha1"));
    super::strict(env, "md5", |v: Value| hash(&to_text(&v), "md5"));
    super::strict(env, "password_hash", password_hash);
}

/// `password_hash(hashtype='sha512', salt=None, salt_size=None, rounds=None, ident=None)`,
/// as Ansible computes it with passlib.
fn password_hash(
    v: Value,
    hashtype: Option<Value>,
    salt: Option<Value>,
    kw: Kwargs,
) -> Result<String, Error> {
    let arg = |name: &str, positional: Option<Value>| -> Result<Option<Value>, Error> {
        Ok(match kw.get::<Option<Value>>(name)? {
            Some(v) => Some(v),
            None => positional,
        }
        .filter(|v| !v.is_none()))
    };
    let hashtype = arg("hashtype", hashtype)?;
    let salt = arg("salt", salt)?;
    let salt_size = arg("salt_size", None)?;
    let rounds = arg("rounds", None)?;
    let ident = arg("ident", None)?;
    kw.assert_all_used()?;
    if v.kind() != ValueKind::String {
        return Err(fail(format!(
            "secret must be unicode or bytes, not {}",
            super::py_type_name(&v)
        )));
    }
    let scheme = super::crypt::Scheme::from_name(
        &hashtype
            .map(|h| to_text(&h))
            .unwrap_or_else(|| "sha512".into()),
    )
    .map_err(fail)?;
    if ident.is_some() {
        return Err(fail(
            "Could not hash the secret: ident is only used by bcrypt",
        ));
    }
    let number = |what: &str, v: &Value| -> Result<u64, Error> {
        to_text(v).trim().parse::<u64>().map_err(|_| {
            fail(format!(
                "password_hash: {what} must be a positive integer, got '{}'",
                to_text(v)
            ))
        })
    };
    let rounds = rounds.map(|r| number("rounds", &r)).transpose()?;
    let salt_size = salt_size
        .map(|s| number("salt_size", &s).map(|n| n as usize))
        .transpose()?;
    let salt = salt.map(|s| to_text(&s));
    super::crypt::hash_password(&to_text(&v), scheme, salt.as_deref(), salt_size, rounds)
        .map_err(fail)
}

/// The hex digest of `text` with algorithm `kind` (sha1, sha224, sha256, sha384, sha512, md5).
pub(crate) fn hash(text: &str, kind: &str) -> Result<String, Error> {
    let b = text.as_bytes();
    Ok(match kind {
        "sha1" => hex::encode(sha1::Sha1::digest(b)),
        "sha224" => hex::encode(sha2::Sha224::digest(b)),
        "sha256" => hex::encode(sha2::Sha256::digest(b)),
        "sha384" => hex::encode(sha2::Sha384::digest(b)),
        "sha512" => hex::encode(sha2::Sha512::digest(b)),
        "md5" => md5_hex(b),
        other => return Err(fail(format!("hash: unsupported hash type '{other}'"))),
    })
}

/// MD5 (RFC 1321), kept here because no MD5 crate is a dependency; used for `md5` and
/// `hash('md5')` only, never for security.
fn md5_hex(input: &[u8]) -> String {
    hex::encode(md5_digest(input))
}

/// The MD5 digest of `input`.
pub(super) fn md5_digest(input: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32)
        .collect();
    let mut msg = input.to_vec();
    let bit_len = (input.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) =
        (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, w) in [a0, b0, c0, d0].into_iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

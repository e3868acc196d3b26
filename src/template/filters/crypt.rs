//! crypt(3) password hashes as Ansible's `password_hash` filter and `password` lookup make
//! them through passlib: SHA-512-crypt (`$6$`), SHA-256-crypt (`$5$`) and MD5-crypt (`$1$`),
//! with passlib's defaults (656000/535000 rounds, 16/8-character random salts, `rounds=`
//! left out at 5000) and its salt and rounds checks. Written here rather than taken from a
//! crate: the algorithms are short, fully specified (Drepper's SHA-crypt paper, the FreeBSD
//! MD5-crypt), and `sha2` is already a dependency; passlib's defaults and error texts have
//! to be reproduced around them anyway.

use sha2::Digest;

use crate::template::pyrandom::PyRandom;

/// The characters of crypt's base-64 alphabet, also the ones a salt may use.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A crypt scheme `password_hash` and the `password` lookup can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    Sha512,
    Sha256,
    Md5,
}

impl Scheme {
    /// The scheme for an Ansible hash type name (`sha512`, `sha512_crypt`, ...); `Err` holds
    /// the message for names jig does not implement.
    pub(crate) fn from_name(name: &str) -> Result<Scheme, String> {
        match name {
            "sha512" | "sha512_crypt" => Ok(Scheme::Sha512),
            "sha256" | "sha256_crypt" => Ok(Scheme::Sha256),
            "md5" | "md5_crypt" => Ok(Scheme::Md5),
            "blowfish" | "bcrypt" => Err(format!(
                "{name} is not supported by jig yet (sha512_crypt, sha256_crypt and md5_crypt \
                 are); use password_hash('sha512') or precompute the hash"
            )),
            other => Err(format!(
                "{other} is not in the list of supported passlib algorithms: md5, blowfish, \
                 sha256, sha512"
            )),
        }
    }

    /// passlib's handler name, used in its messages.
    fn passlib_name(self) -> &'static str {
        match self {
            Scheme::Sha512 => "sha512_crypt",
            Scheme::Sha256 => "sha256_crypt",
            Scheme::Md5 => "md5_crypt",
        }
    }

    /// The salt length passlib generates, which is also the longest it accepts.
    pub(crate) fn salt_size(self) -> usize {
        match self {
            Scheme::Md5 => 8,
            _ => 16,
        }
    }
}

/// A random salt of `len` crypt characters, as Ansible's `random_salt` makes.
pub(crate) fn random_salt(len: usize) -> String {
    let mut rng = PyRandom::from_entropy();
    (0..len)
        .map(|_| char::from(ITOA64[rng.below(64) as usize]))
        .collect()
}

/// The crypt string of `secret` under `scheme`, with passlib's checks: salt characters and
/// length, and SHA rounds within 1000..=999999999. `salt: None` draws a random one.
pub(crate) fn hash_password(
    secret: &str,
    scheme: Scheme,
    salt: Option<&str>,
    salt_size: Option<usize>,
    rounds: Option<u64>,
) -> Result<String, String> {
    let name = scheme.passlib_name();
    let salt = match salt.filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None => random_salt(salt_size.unwrap_or(scheme.salt_size())),
    };
    if !salt.bytes().all(|b| ITOA64.contains(&b)) {
        return Err(format!(
            "Could not hash the secret: invalid characters in {name} salt"
        ));
    }
    if salt.len() > scheme.salt_size() {
        return Err(format!(
            "Could not hash the secret: salt too large ({name} requires <= {} chars)",
            scheme.salt_size()
        ));
    }
    match scheme {
        Scheme::Md5 => {
            if rounds.is_some() {
                return Err(
                    "MinimalHandler.using() got an unexpected keyword argument 'rounds'".into(),
                );
            }
            Ok(md5_crypt(secret.as_bytes(), salt.as_bytes()))
        }
        Scheme::Sha512 | Scheme::Sha256 => {
            let default = if scheme == Scheme::Sha512 {
                656_000
            } else {
                535_000
            };
            let rounds = rounds.unwrap_or(default);
            if rounds < 1000 {
                return Err(format!(
                    "Could not hash the secret: {name}: min_desired_rounds ({rounds}) is too low, must be at least 1000"
                ));
            }
            if rounds > 999_999_999 {
                return Err(format!(
                    "Could not hash the secret: {name}: max_desired_rounds ({rounds}) is too high, must be at most 999999999"
                ));
            }
            let rounds = rounds as u32;
            Ok(if scheme == Scheme::Sha512 {
                sha_crypt::<sha2::Sha512>(
                    secret.as_bytes(),
                    salt.as_bytes(),
                    rounds,
                    "6",
                    &SHA512_ORDER,
                )
            } else {
                sha_crypt::<sha2::Sha256>(
                    secret.as_bytes(),
                    salt.as_bytes(),
                    rounds,
                    "5",
                    &SHA256_ORDER,
                )
            })
        }
    }
}

/// The byte order SHA-512-crypt encodes its digest in, three bytes at a time.
const SHA512_ORDER: [usize; 64] = [
    0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8,
    29, 9, 30, 51, 31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58,
    16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41, 63,
];

/// The byte order SHA-256-crypt encodes its digest in.
const SHA256_ORDER: [usize; 32] = [
    0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28,
    8, 9, 19, 29, 31, 30,
];

/// crypt's base 64 of `bytes` taken in `order`: each group of three is one 24-bit number
/// (first byte most significant) written least significant six bits first; a short tail
/// gives the characters its bits need.
fn encode64(bytes: &[u8], order: &[usize]) -> String {
    let mut out = String::new();
    for group in order.chunks(3) {
        let mut w: u32 = 0;
        for &i in group {
            w = (w << 8) | u32::from(bytes[i]);
        }
        let chars = (group.len() * 8).div_ceil(6);
        for _ in 0..chars {
            out.push(char::from(ITOA64[(w & 0x3f) as usize]));
            w >>= 6;
        }
    }
    out
}

/// Ulrich Drepper's SHA-crypt with digest `D`; `rounds=` is written unless it is 5000.
fn sha_crypt<D: Digest + Clone>(
    pw: &[u8],
    salt: &[u8],
    rounds: u32,
    id: &str,
    order: &[usize],
) -> String {
    let salt = &salt[..salt.len().min(16)];
    let b = D::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut a = D::new().chain_update(pw).chain_update(salt);
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(b.len());
        a.update(&b[..n]);
        left -= n;
    }
    let mut n = pw.len();
    while n > 0 {
        if n & 1 == 1 {
            a.update(&b);
        } else {
            a.update(pw);
        }
        n >>= 1;
    }
    let a = a.finalize();
    let mut dp = D::new();
    for _ in 0..pw.len() {
        dp.update(pw);
    }
    let dp = dp.finalize();
    let p: Vec<u8> = dp.iter().cycle().take(pw.len()).copied().collect();
    let mut ds = D::new();
    for _ in 0..16 + usize::from(a[0]) {
        ds.update(salt);
    }
    let ds = ds.finalize();
    let s: Vec<u8> = ds.iter().cycle().take(salt.len()).copied().collect();
    let mut c = a.to_vec();
    for i in 0..rounds {
        let mut ctx = D::new();
        if i & 1 == 1 {
            ctx.update(&p);
        } else {
            ctx.update(&c);
        }
        if i % 3 != 0 {
            ctx.update(&s);
        }
        if i % 7 != 0 {
            ctx.update(&p);
        }
        if i & 1 == 1 {
            ctx.update(&c);
        } else {
            ctx.update(&p);
        }
        c = ctx.finalize().to_vec();
    }
    let salt = String::from_utf8_lossy(salt);
    let rounds_part = if rounds == 5000 {
        String::new()
    } else {
        format!("rounds={rounds}$")
    };
    format!("${id}${rounds_part}{salt}${}", encode64(&c, order))
}

/// Poul-Henning Kamp's MD5-crypt (`$1$`), 1000 fixed rounds.
fn md5_crypt(pw: &[u8], salt: &[u8]) -> String {
    let salt = &salt[..salt.len().min(8)];
    let alt = super::hash::md5_digest(&[pw, salt, pw].concat());
    let mut ctx = [pw, b"$1$", salt].concat();
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(16);
        ctx.extend_from_slice(&alt[..n]);
        left -= n;
    }
    let mut n = pw.len();
    while n > 0 {
        ctx.push(if n & 1 == 1 {
            0
        } else {
            pw.first().copied().unwrap_or(0)
        });
        n >>= 1;
    }
    let mut fin = super::hash::md5_digest(&ctx);
    for i in 0..1000 {
        let mut c: Vec<u8> = Vec::with_capacity(64);
        if i & 1 == 1 {
            c.extend_from_slice(pw);
        } else {
            c.extend_from_slice(&fin);
        }
        if i % 3 != 0 {
            c.extend_from_slice(salt);
        }
        if i % 7 != 0 {
            c.extend_from_slice(pw);
        }
        if i & 1 == 1 {
            c.extend_from_slice(&fin);
        } else {
            c.extend_from_slice(pw);
        }
        fin = super::hash::md5_digest(&c);
    }
    const ORDER: [usize; 16] = [0, 6, 12, 1, 7, 13, 2, 8, 14, 3, 9, 15, 4, 10, 5, 11];
    format!(
        "$1${}${}",
        String::from_utf8_lossy(salt),
        encode64(&fin, &ORDER)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings recorded from ansible-core 2.19 `password_hash` with passlib 1.7.4.
    #[test]
    fn matches_passlib() {
        let h = |s, scheme, salt, rounds| hash_password(s, scheme, Some(salt), None, rounds);
        assert_eq!(
            h("secret", Scheme::Sha512, "mysalt", Some(5000)).unwrap(),
            "$6$mysalt$UX6P1VKOf6dr0s2pg4pLNvIUB6hLXvP6M5f/Yj9hJgMPdAJ4oArvk5YUD9/XWtk1JOpVwt/JTsczMJr8sFVML1"
        );
        assert_eq!(
            h("secret", Scheme::Sha512, "abcdefghijklmnop", Some(1000)).unwrap(),
            "$6$rounds=1000$abcdefghijklmnop$/ySzNKkDy6wawo9hTH6WxjPbiNMjvDjUNjja1ca1Iw8M6hvIP5521AJRYCq2LKFri/5fZ6KSUYfs/3ZzFVhh./"
        );
        assert_eq!(
            h(
                "sécret wïth spaces $(x)",
                Scheme::Sha256,
                "Xy./09",
                Some(5000)
            )
            .unwrap(),
            "$5$Xy./09$7SRmlEMiDWqnMDV2opVgvsa6bbwkCVaw9uk8jBLGvE/"
        );
        assert_eq!(
            h("secret", Scheme::Sha256, "s", Some(1000)).unwrap(),
            "$5$rounds=1000$s$1G5532wclKO2DGU0xcX3Rd6BmCQw9FWjZAp9VdiPyK3"
        );
        assert_eq!(
            h("", Scheme::Sha512, "abc", Some(5000)).unwrap(),
            "$6$abc$mJP3a6FyA8uCnzRtlnNypPwjnvpi5TP9qOrInzrfDmwxUQG38PkpCPdqfTb8JQfAngapMxeim4AZ..hSdRRzD."
        );
        assert_eq!(
            h("secret", Scheme::Md5, "abcdefgh", None).unwrap(),
            "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1"
        );
        assert_eq!(
            h("secret", Scheme::Md5, "abc", None).unwrap(),
            "$1$abc$iCQ2D3nhptRYi27fDYv2s1"
        );
        assert_eq!(
            h("secret", Scheme::Sha512, "abcdefghijklmnopq", None).unwrap_err(),
            "Could not hash the secret: salt too large (sha512_crypt requires <= 16 chars)"
        );
        assert_eq!(
            h("secret", Scheme::Sha512, "bad salt!", None).unwrap_err(),
            "Could not hash the secret: invalid characters in sha512_crypt salt"
        );
        assert!(h("secret", Scheme::Sha256, "x", Some(999)).is_err());
        assert!(h("secret", Scheme::Md5, "abcdefghi", None).is_err());
        let random = hash_password("secret", Scheme::Md5, None, None, None).unwrap();
        assert_eq!(random.len(), "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1".len());
    }
}

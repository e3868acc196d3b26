//! The `apt_key` module without `apt-key` (deprecated, and gone from current Debian): a key
//! from `data`, a `file` on the host or a `url` (fetched by the host's curl or wget) is stored
//! de-armoured as its own keyring, `keyring:` or `/etc/apt/trusted.gpg.d/<KEYID>.gpg`.
//!
//! The OpenPGP packets are read on the controller to find the key's fingerprint, so `id` is
//! checked without gpg on the host: a keyring that already holds the key is left alone.

use async_trait::async_trait;
use base64::Engine;
use sha1::{Digest, Sha1};

use super::remote::{self, Frames};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The `apt_key` module.
pub struct AptKey;

/// The binary OpenPGP data of an armoured or binary key.
pub(crate) fn dearmor(data: &[u8]) -> Result<Vec<u8>, String> {
    let text = String::from_utf8_lossy(data);
    let Some(start) = text.find("-----BEGIN PGP PUBLIC KEY BLOCK-----") else {
        return Ok(data.to_vec());
    };
    let body = &text[start..];
    let mut b64 = String::new();
    let mut in_headers = true;
    for line in body.lines().skip(1) {
        let line = line.trim();
        if line.starts_with("-----END") {
            break;
        }
        if in_headers {
            if line.is_empty() {
                in_headers = false;
            } else if !line.contains(": ") {
                // No armour headers: this line is data already.
                in_headers = false;
                b64.push_str(line);
            }
            continue;
        }
        if line.starts_with('=') && line.len() == 5 {
            break; // the CRC-24 checksum line
        }
        b64.push_str(line);
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| format!("the key's armour is not valid base64: {e}"))
}

/// The V4 fingerprints (upper-case hex) of every primary key and subkey in binary OpenPGP
/// data.
pub(crate) fn fingerprints(bin: &[u8]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    let bad = || "not an OpenPGP public key".to_string();
    while i < bin.len() {
        let tag_byte = bin[i];
        if tag_byte & 0x80 == 0 {
            return Err(bad());
        }
        let (tag, len, hdr) = if tag_byte & 0x40 != 0 {
            let tag = tag_byte & 0x3f;
            let b0 = *bin.get(i + 1).ok_or_else(bad)? as usize;
            if b0 < 192 {
                (tag, b0, 2)
            } else if b0 < 224 {
                let b1 = *bin.get(i + 2).ok_or_else(bad)? as usize;
                (tag, ((b0 - 192) << 8) + b1 + 192, 3)
            } else if b0 == 255 {
                let b = bin.get(i + 2..i + 6).ok_or_else(bad)?;
                (
                    tag,
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
                    6,
                )
            } else {
                return Err("partial-length packets are not expected in a key".into());
            }
        } else {
            let tag = (tag_byte >> 2) & 0x0f;
            match tag_byte & 3 {
                0 => (tag, *bin.get(i + 1).ok_or_else(bad)? as usize, 2),
                1 => {
                    let b = bin.get(i + 1..i + 3).ok_or_else(bad)?;
                    (tag, u16::from_be_bytes([b[0], b[1]]) as usize, 3)
                }
                2 => {
                    let b = bin.get(i + 1..i + 5).ok_or_else(bad)?;
                    (
                        tag,
                        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
                        5,
                    )
                }
                _ => return Err("indeterminate-length packets are not expected in a key".into()),
            }
        };
        let body = bin.get(i + hdr..i + hdr + len).ok_or_else(bad)?;
        if (tag == 6 || tag == 14) && body.first() == Some(&4) {
            let mut h = Sha1::new();
            h.update([0x99]);
            h.update((len as u16).to_be_bytes());
            h.update(body);
            out.push(hex::encode_upper(h.finalize()));
        }
        i += hdr + len;
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// Whether `id` (short, long or full, `0x` allowed, any case) names one of `fprs`.
pub(crate) fn has_id(fprs: &[String], id: &str) -> bool {
    let id = id
        .trim()
        .trim_start_matches("0x")
        .trim_start_matches("0X")
        .to_uppercase();
    let id: String = id.chars().filter(|c| !c.is_whitespace()).collect();
    !id.is_empty() && fprs.iter().any(|f| f.ends_with(&id))
}

/// Probe: `$1` keyring path (may be empty), `$2` file on the host, `$3` URL. Prints the
/// keyring's content base64-encoded (or `A`), the key source's (or `-`), then every
/// `/etc/apt/trusted.gpg.d/*.gpg` as path and base64 content.
const PROBE: &str = r#"if [ -n "$1" ] && [ -f "$1" ]; then printf 'E'; base64 -w0 -- "$1" || exit 1; else printf 'A'; fi; printf '\0'
if [ -n "$2" ]; then base64 -w0 -- "$2" || exit 3
elif [ -n "$3" ]; then
  if command -v curl >/dev/null 2>&1; then curl -fsSL -- "$3" | base64 -w0 || exit 4
  elif command -v wget >/dev/null 2>&1; then wget -qO- -- "$3" | base64 -w0 || exit 4
  else exit 5; fi
else printf -- '-'; fi; printf '\0'
for f in /etc/apt/trusted.gpg.d/*.gpg; do
  [ -f "$f" ] || continue
  printf '%s\0' "$f"; base64 -w0 -- "$f" || exit 1; printf '\0'
done"#;

#[async_trait]
impl Module for AptKey {
    fn name(&self) -> &'static str {
        "apt_key"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&[
            "id",
            "data",
            "file",
            "keyring",
            "url",
            "keyserver",
            "state",
            "validate_certs",
        ])?;
        let state = args.str("state")?.unwrap_or_else(|| "present".into());
        if state != "present" && state != "absent" {
            return Err(args
                .invalid(
                    "state",
                    format!("must be one of: absent, present, got: {state}"),
                )
                .into());
        }
        if args.get("keyserver").is_some() {
            return Ok(ModuleResult::failed(
                "keyserver: jig does not query key servers (no gpg on the host); pass the key \
                 with data, file or url",
            ));
        }
        let id = args.str("id")?;
        let data = args.str("data")?;
        let file = args.str("file")?;
        let url = args.str("url")?;
        if [data.is_some(), file.is_some(), url.is_some()]
            .iter()
            .filter(|b| **b)
            .count()
            > 1
        {
            return Err(args
                .error("parameters are mutually exclusive: data|file|url")
                .into());
        }
        if state == "absent" && id.is_none() {
            return Err(args
                .error("state is absent but all of the following are missing: id")
                .into());
        }
        let keyring = args.str("keyring")?.filter(|k| !k.is_empty());
        let present = state == "present";
        let mut c = Cmd::empty();
        c.raw("set --")
            .arg(keyring.as_deref().unwrap_or(""))
            .arg(if present {
                file.as_deref().unwrap_or("")
            } else {
                ""
            })
            .arg(if present && data.is_none() {
                url.as_deref().unwrap_or("")
            } else {
                ""
            })
            .raw(";\n")
            .raw(PROBE);
        let out = remote::run(ctx, c.into_string(), None).await?;
        let problem = match out.rc {
            0 => None,
            3 => Some(format!(
                "cannot read the key file {}",
                file.as_deref().unwrap_or("")
            )),
            4 => Some(format!(
                "cannot download the key from {}",
                url.as_deref().unwrap_or("")
            )),
            5 => Some("neither curl nor wget is on the host to download the key".into()),
            _ => Some("cannot read the keyrings".into()),
        };
        if let Some(p) = problem {
            return Ok(ModuleResult::failed(format!(
                "{p}: {}",
                out.stderr_str().trim()
            )));
        }
        let mut f = Frames::new(&out.stdout);
        let b64 = base64::engine::general_purpose::STANDARD;
        let rec = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
        let fprs_of = |enc: &str| {
            b64.decode(enc.as_bytes())
                .ok()
                .and_then(|bin| fingerprints(&bin).ok())
                .unwrap_or_default()
        };
        let existing = rec(f.next_record());
        let fetched = rec(f.next_record());
        // The keyrings to look in: the named one, else every trusted.gpg.d keyring.
        let mut rings: Vec<(String, Vec<String>)> = Vec::new();
        if let Some(k) = &keyring
            && let Some(e) = existing.strip_prefix('E')
        {
            rings.push((k.clone(), fprs_of(e)));
        }
        while let Some(p) = f.next_record() {
            let path = rec(Some(p));
            let content = rec(f.next_record());
            if keyring.is_none() {
                rings.push((path, fprs_of(&content)));
            }
        }
        let mut r = ModuleResult::ok();
        if !present {
            let id = id.unwrap_or_default();
            let doomed: Vec<String> = rings
                .iter()
                .filter(|(_, fp)| has_id(fp, &id))
                .map(|(p, _)| p.clone())
                .collect();
            if doomed.is_empty() {
                return Ok(r);
            }
            r.changed = true;
            if ctx.diff_mode {
                r.diffs.push(Diff::Summary(format!(
                    "removed key {id} ({})",
                    doomed.join(", ")
                )));
            }
            if !ctx.check_mode {
                let mut c = Cmd::new("rm");
                c.arg("-f").arg("--").args(&doomed);
                let out = remote::run(ctx, c.into_string(), None).await?;
                if out.rc != 0 {
                    return Ok(ModuleResult::failed(out.stderr_str().trim().to_string()));
                }
            }
            return Ok(r);
        }
        let raw: Vec<u8> = match (&data, fetched.as_str()) {
            (Some(d), _) => d.clone().into_bytes(),
            (None, "-") => {
                return Err(args
                    .error("one of the following is required: data, file, url, keyserver")
                    .into());
            }
            (None, enc) => match b64.decode(enc.as_bytes()) {
                Ok(b) => b,
                Err(e) => return Ok(ModuleResult::failed(format!("unexpected key data: {e}"))),
            },
        };
        let bin = match dearmor(&raw) {
            Ok(b) => b,
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        let fprs = match fingerprints(&bin) {
            Ok(f) => f,
            Err(e) => return Ok(ModuleResult::failed(format!("the key data is {e}"))),
        };
        if let Some(i) = &id
            && !has_id(&fprs, i)
        {
            return Ok(ModuleResult::failed(format!(
                "key id {i} is not in the key data (it holds {})",
                fprs.join(", ")
            )));
        }
        let primary = fprs[0].clone();
        r.set("fp", primary.clone())
            .set("id", short_id(&primary))
            .set("key_id", short_id(&primary));
        // Ansible's rule: a key already known to apt is left alone.
        if rings.iter().any(|(_, fp)| has_id(fp, &primary)) {
            return Ok(r);
        }
        let path =
            keyring.unwrap_or_else(|| format!("/etc/apt/trusted.gpg.d/{}.gpg", short_id(&primary)));
        r.changed = true;
        if ctx.diff_mode {
            r.diffs.push(Diff::Summary(format!(
                "added key {} to {path}",
                short_id(&primary)
            )));
        }
        if ctx.check_mode {
            return Ok(r);
        }
        let attrs = remote::FileAttrs {
            mode: Some(super::mode::Mode::Octal(0o644)),
            owner: None,
            group: None,
        };
        match remote::write_file(ctx, &path, &bin, &attrs, &Default::default()).await {
            Ok(_) => Ok(r),
            Err(remote::RemoteError::Connection(e)) => Err(e.into()),
            Err(e) => Ok(ModuleResult::failed(e.to_string())),
        }
    }
}

/// The long (16 hex digit) key id of a fingerprint or id.
fn short_id(fpr: &str) -> String {
    let s = fpr.trim().trim_start_matches("0x").to_uppercase();
    s[s.len().saturating_sub(16)..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A V4 public key packet (ed25519) built by hand, old-format header.
    fn key_packet() -> Vec<u8> {
        let mut body = vec![4, 0x60, 0, 0, 0, 22, 9];
        body.extend_from_slice(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01]);
        body.extend_from_slice(&[0x01, 0x07, 0x40]);
        body.extend_from_slice(&[7u8; 32]);
        let mut p = vec![0x98, body.len() as u8];
        p.extend_from_slice(&body);
        p
    }

    #[test]
    fn a_gpg_made_key_dearmours_to_gpgs_own_export() {
        let asc = include_bytes!("../../tests/fixtures/apt/key.asc");
        let gpg = include_bytes!("../../tests/fixtures/apt/key.gpg");
        assert_eq!(dearmor(asc).unwrap(), gpg.to_vec());
        let fprs = fingerprints(gpg).unwrap();
        assert_eq!(fprs[0], "3348BAE7AACE051B18B43DB7B9D5BB8AC014CB0D");
        assert!(has_id(&fprs, "C014CB0D"));
    }

    #[test]
    fn fingerprints_of_binary_and_armoured_keys() {
        let bin = key_packet();
        let fprs = fingerprints(&bin).unwrap();
        let mut h = Sha1::new();
        h.update([0x99, 0, (bin.len() - 2) as u8]);
        h.update(&bin[2..]);
        assert_eq!(fprs, vec![hex::encode_upper(h.finalize())]);
        let armoured = format!(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: x\n\n{}\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n",
            base64::engine::general_purpose::STANDARD.encode(&bin)
        );
        assert_eq!(dearmor(armoured.as_bytes()).unwrap(), bin);
        let long = short_id(&fprs[0]);
        assert!(has_id(&fprs, &format!("0x{}", long.to_lowercase())));
        assert!(has_id(&fprs, &fprs[0]));
        assert!(!has_id(&fprs, "DEADBEEF"));
        assert!(fingerprints(b"not a key").is_err());
    }
}

//! The `authorized_key` module (`ansible.posix.authorized_key`): add or remove SSH public
//! keys in a user's `authorized_keys`, with options, comments and `exclusive`.
//!
//! One round trip reads the user's `passwd` record, the key file (and where it really is under
//! `follow`), and a `file://` key source. The new content is computed on the controller the
//! way Ansible's module computes it: lines parsed into (options, type, key, comment) keyed by
//! the key blob, rewritten in rank order, so the bytes match (including the space Ansible
//! leaves after a key without a comment). One more round trip writes it atomically with
//! mode 0600 and the user's ownership, after creating `~/.ssh` with 0700 (`manage_dir`).

use async_trait::async_trait;
use indexmap::IndexMap;
use regex::Regex;
use serde_json::json;

use super::accounts;
use super::mode::Mode;
use super::predict::{Predicted, PredictedPath};
use super::remote::{self, Frames};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::quote;

/// The `authorized_key` module.
pub struct AuthorizedKey;

const KNOWN: &[&str] = &[
    "user",
    "key",
    "path",
    "manage_dir",
    "state",
    "key_options",
    "exclusive",
    "comment",
    "validate_certs",
    "follow",
];

const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

/// Key options in the order written; a name may repeat (`permitopen` twice).
#[derive(Clone, Debug, Default)]
struct Options(Vec<(String, Option<String>)>);

impl PartialEq for Options {
    /// Ansible compares its option dicts: order does not matter, repeated values do.
    fn eq(&self, other: &Self) -> bool {
        fn group(o: &Options) -> IndexMap<&str, Vec<Option<&str>>> {
            let mut m: IndexMap<&str, Vec<Option<&str>>> = IndexMap::new();
            for (k, v) in &o.0 {
                m.entry(k.as_str()).or_default().push(v.as_deref());
            }
            m
        }
        let (a, b) = (group(self), group(other));
        a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
    }
}

/// Ansible's `parseoptions`: comma-separated, quotes protect commas.
fn parse_options(text: Option<&str>) -> Options {
    let mut out = Options::default();
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return out;
    };
    let re = Regex::new(r#"(?:[^,"']|"[^"]*"|'[^']*')+"#).expect("constant regex");
    let matches: Vec<_> = re.find_iter(text).collect();
    let mut parts: Vec<&str> = Vec::new();
    for (i, m) in matches.iter().enumerate() {
        if i > 0 {
            // What lies between two matches is a part of its own unless it is one comma.
            parts.push(&text[matches[i - 1].end()..m.start()]);
        }
        parts.push(m.as_str());
    }
    for part in parts {
        if let Some((k, v)) = part.split_once('=') {
            out.0.push((k.to_string(), Some(v.to_string())));
        } else if part != "," {
            out.0.push((part.to_string(), None));
        }
    }
    out
}

/// One line of an authorized_keys file as Ansible models it.
#[derive(Clone, Debug, PartialEq)]
enum Line {
    /// A key: blob, type, options, comment, rank.
    Key {
        blob: String,
        kind: String,
        options: Options,
        comment: String,
        rank: usize,
    },
    /// A comment, a blank or an unparsable line, kept as written (with its newline).
    Other { text: String, rank: usize },
}

impl Line {
    fn id(&self) -> &str {
        match self {
            Line::Key { blob, .. } => blob,
            Line::Other { text, .. } => text,
        }
    }

    fn rank(&self) -> usize {
        match self {
            Line::Key { rank, .. } | Line::Other { rank, .. } => *rank,
        }
    }

    fn render(&self) -> String {
        match self {
            Line::Other { text, .. } => text.clone(),
            Line::Key {
                blob,
                kind,
                options,
                comment,
                ..
            } => {
                let opts = if options.0.is_empty() {
                    String::new()
                } else {
                    let parts: Vec<String> = options
                        .0
                        .iter()
                        .map(|(k, v)| match v {
                            None => k.clone(),
                            Some(v) => format!("{k}={v}"),
                        })
                        .collect();
                    format!("{} ", parts.join(","))
                };
                format!("{opts}{kind} {blob} {comment}\n")
            }
        }
    }
}

/// Ansible's `parsekey`: `None` when the line has no known key type (or no blob after it).
fn parse_key(raw: &str, rank: usize) -> Option<Line> {
    let raw = raw.replace("\\#", "#");
    let parts: Vec<&str> = raw
        .split([' ', '\t', '\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.first() == Some(&"#") {
        return Some(Line::Other { text: raw, rank });
    }
    let at = parts.iter().position(|p| KEY_TYPES.contains(p))?;
    let blob = parts.get(at + 1)?;
    let options = (at > 0).then(|| parts[..at].join(" "));
    Some(Line::Key {
        blob: blob.to_string(),
        kind: parts[at].to_string(),
        options: parse_options(options.as_deref()),
        comment: parts.get(at + 2..).map(|c| c.join(" ")).unwrap_or_default(),
        rank,
    })
}

/// Ansible's `parsekeys`: lines keyed by blob (or by text); a repeated id keeps its first
/// position in the map but takes the later line.
fn parse_file(content: &str) -> IndexMap<String, Line> {
    let mut keys = IndexMap::new();
    for (rank, line) in split_lines_keep(content).into_iter().enumerate() {
        let parsed = parse_key(line, rank).unwrap_or_else(|| Line::Other {
            text: line.to_string(),
            rank,
        });
        keys.insert(parsed.id().to_string(), parsed);
    }
    keys
}

/// Python's `splitlines(True)` for the separators a key file has.
fn split_lines_keep(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' || b[i] == b'\r' {
            let end = if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                i + 2
            } else {
                i + 1
            };
            out.push(&s[start..end]);
            start = end;
            i = end;
        } else {
            i += 1;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn serialize(keys: &IndexMap<String, Line>) -> String {
    let mut lines: Vec<&Line> = keys.values().collect();
    lines.sort_by_key(|l| l.rank());
    lines.iter().map(|l| l.render()).collect()
}

/// The task's request.
#[derive(Clone, Debug, PartialEq)]
struct Spec {
    user: String,
    key: String,
    path: Option<String>,
    manage_dir: bool,
    present: bool,
    key_options: Option<String>,
    exclusive: bool,
    comment: Option<String>,
    follow: bool,
    validate_certs: bool,
}

impl Spec {
    fn from_args(args: &ModuleArgs) -> Result<Spec, ModuleError> {
        args.check_known(KNOWN)?;
        let present = match args.str("state")?.as_deref() {
            None | Some("present") => true,
            Some("absent") => false,
            Some(other) => {
                return Err(args
                    .invalid(
                        "state",
                        format!("must be one of: absent, present, got '{other}'"),
                    )
                    .into());
            }
        };
        Ok(Spec {
            user: args.req_str("user")?,
            key: args.req_str("key")?,
            path: args.str("path")?,
            manage_dir: args.bool_or("manage_dir", true)?,
            present,
            key_options: args.str("key_options")?,
            exclusive: args.bool_or("exclusive", false)?,
            comment: args.str("comment")?,
            follow: args.bool_or("follow", false)?,
            validate_certs: args.bool_or("validate_certs", true)?,
        })
    }

    /// The host path of a `file:` key source.
    fn key_source(&self) -> Option<String> {
        let rest = self.key.strip_prefix("file")?;
        // urlparse("file:///a/b").path == "/a/b"; "file:/a" -> "/a".
        let rest = rest.strip_prefix(':').unwrap_or(rest);
        let path = match rest.strip_prefix("//") {
            Some(r) => r.find('/').map(|i| &r[i..]).unwrap_or(""),
            None => rest,
        };
        Some(path.to_string())
    }
}

/// The new file content, or an error for an invalid key. `None` when nothing changes.
fn plan(spec: &Spec, key_text: &str, existing: &str) -> Result<Option<String>, String> {
    let new_keys: Vec<&str> = key_text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut keys = parse_file(existing);
    let max_rank = keys.len();
    let mut write = false;
    let mut wanted: Vec<String> = Vec::new();
    for (rank, raw) in new_keys.iter().enumerate() {
        let Some(Line::Key {
            blob,
            kind,
            options,
            comment,
            ..
        }) = parse_key(raw, rank)
        else {
            return Err(format!("invalid key specified: {raw}"));
        };
        let options = match &spec.key_options {
            Some(o) => parse_options(Some(o)),
            None => options,
        };
        let comment = spec.comment.clone().unwrap_or(comment);
        let mut matched = false;
        let mut replace = false;
        if let Some(Line::Key {
            kind: k,
            options: o,
            comment: c,
            ..
        }) = keys.get(&blob)
        {
            if (k, o, c) != (&kind, &options, &comment) && spec.present {
                replace = true;
            } else {
                matched = true;
            }
        } else if keys.contains_key(&blob) {
            // A non-key line whose text equals the blob: Ansible compares tuples and differs.
            if spec.present {
                replace = true;
            }
        }
        if spec.present {
            wanted.push(blob.clone());
            if replace {
                keys.shift_remove(&blob);
                write = true;
            }
            if !matched {
                keys.insert(
                    blob.clone(),
                    Line::Key {
                        blob,
                        kind,
                        options,
                        comment,
                        rank: max_rank + rank,
                    },
                );
                write = true;
            }
        } else if matched {
            keys.shift_remove(&blob);
            write = true;
        }
    }
    if spec.present && spec.exclusive {
        let before = keys.len();
        keys.retain(|id, _| wanted.contains(id));
        write |= keys.len() != before;
    }
    Ok(write.then(|| serialize(&keys)))
}

/// What the probe found.
#[derive(Debug, Default, PartialEq)]
struct Probe {
    /// `uid:gid:home` of the user, if the user exists.
    owner: Option<(String, String)>,
    keyfile: String,
    realpath: String,
    content: String,
    source: Option<Result<String, String>>,
}

fn probe_script(spec: &Spec) -> String {
    let mut s = accounts::export_name(&spec.user);
    s.push_str(&format!("jig_pw=$({})\n", accounts::record_of("passwd")));
    s.push_str("printf '%s\\0' \"$jig_pw\"\n");
    match &spec.path {
        Some(p) => s.push_str(&format!("jig_p={}\n", quote(p))),
        None => s.push_str(
            "jig_p=$(printf '%s' \"$jig_pw\" | cut -d: -f6); jig_p=${jig_p%/}/.ssh/authorized_keys\n",
        ),
    }
    s.push_str("printf '%s\\0' \"$jig_p\"\n");
    s.push_str("jig_r=$(readlink -f -- \"$jig_p\" 2>/dev/null) || jig_r=$jig_p; printf '%s\\0' \"$jig_r\"\n");
    s.push_str(
        r#"if [ -f "$jig_p" ]; then jig_n=$(wc -c < "$jig_p") || exit 1; printf '%s\0' "$jig_n"; cat -- "$jig_p" || exit 1; else printf '0\0'; fi
"#,
    );
    if let Some(src) = spec.key_source() {
        s.push_str(&format!("jig_s={}\n", quote(&src)));
        s.push_str(
            r#"if [ ! -e "$jig_s" ]; then printf 'N\0'; elif [ ! -f "$jig_s" ]; then printf 'D\0'
else printf 'F\0'; jig_n=$(wc -c < "$jig_s") || exit 1; printf '%s\0' "$jig_n"; cat -- "$jig_s" || exit 1; fi
"#,
        );
    }
    s
}

fn parse_probe(data: &[u8], spec: &Spec) -> Option<Probe> {
    let mut f = Frames::new(data);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let pw = text(f.next_record()?);
    let owner = accounts::parse_passwd(&pw).map(|p| (format!("{}:{}", p.uid, p.gid), p.home));
    let keyfile = text(f.next_record()?);
    let realpath = text(f.next_record()?);
    let content = text(f.sized()?);
    let source = match spec.key_source() {
        None => None,
        Some(path) => Some(match f.next_record()? {
            b"N" => Err(format!("Path to a key file not found: {path}")),
            b"D" => Err(format!(
                "Path to a key is a directory and must be a file: {path}"
            )),
            _ => Ok(text(f.sized()?)),
        }),
    };
    Some(Probe {
        owner,
        keyfile,
        realpath,
        content,
        source,
    })
}

/// The write: make the directory as Ansible's `keyfile(write=True)` does, then replace the
/// file atomically; the new content arrives on stdin.
fn write_script(spec: &Spec, keyfile: &str, target: &str, ugid: &str) -> String {
    let dir = match &spec.path {
        Some(p) => parent(p),
        None => parent(keyfile),
    };
    let mut s = format!(
        "jig_d={}; jig_f={}; jig_t={}; jig_o={}\n",
        quote(&dir),
        quote(keyfile),
        quote(target),
        quote(ugid)
    );
    if spec.manage_dir {
        s.push_str(
            r#"if [ ! -e "$jig_d" ]; then mkdir -m 700 -- "$jig_d" || exit 1; fi
chown -- "$jig_o" "$jig_d" && chmod 700 -- "$jig_d" || exit 1
"#,
        );
    }
    s.push_str(
        r#"jig_b=$(dirname -- "$jig_t")
[ -e "$jig_b" ] || mkdir -p -- "$jig_b" || exit 1
jig_tmp=$(mktemp "$jig_b/.jig.XXXXXXXX") || exit 1
if ! cat > "$jig_tmp"; then rm -f -- "$jig_tmp"; exit 1; fi
chown -- "$jig_o" "$jig_tmp" 2>/dev/null; chmod 600 -- "$jig_tmp"
mv -f -- "$jig_tmp" "$jig_t" || { rm -f -- "$jig_tmp"; exit 1; }
"#,
    );
    s
}

/// The uid of a probed `uid:gid` owner.
fn uid_of(ugid: &str) -> &str {
    ugid.split(':').next().unwrap_or(ugid)
}

fn parent(p: &str) -> String {
    match p.trim_end_matches('/').rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => p[..i].to_string(),
        None => ".".to_string(),
    }
}

#[async_trait]
impl Module for AuthorizedKey {
    fn name(&self) -> &'static str {
        "authorized_key"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let spec = Spec::from_args(args)?;
        if spec.key.starts_with("http") {
            return Ok(ModuleResult::failed(format!(
                "key URLs are not fetched by jig's authorized_key ({}); fetch the keys with \
                 lookup('url', ...) and pass them as 'key'",
                spec.key
            )));
        }
        let out = accounts::exec(ctx, probe_script(&spec)).await?;
        let probe = match parse_probe(&out.stdout, &spec) {
            Some(p) if out.rc == 0 => p,
            _ => {
                return Ok(ModuleResult::failed(format!(
                    "cannot read the authorized keys of {}: {}",
                    spec.user,
                    accounts::error_text(&out)
                )));
            }
        };
        if probe.owner.is_none() && !(ctx.check_mode && spec.path.is_some()) {
            return Ok(ModuleResult::failed(if ctx.check_mode {
                "Either user must exist or you must provide full path to key file in check mode"
                    .to_string()
            } else {
                format!(
                    "Failed to lookup user {}: \"getpwnam(): name not found: '{}'\"",
                    spec.user, spec.user
                )
            }));
        }
        let key_text = match &probe.source {
            None => spec.key.clone(),
            Some(Ok(t)) => t.clone(),
            Some(Err(e)) => return Ok(ModuleResult::failed(e.clone())),
        };
        // In check mode the file an earlier task would have written is the one edited, so the
        // diff and the changed flag are the real run's.
        let mut current = probe.content.clone();
        if ctx.check_mode {
            match ctx.predicted.follow(&probe.keyfile) {
                Some(Predicted::Absent) => current.clear(),
                Some(Predicted::Present(PredictedPath {
                    content: Some(bytes),
                    ..
                })) => current = String::from_utf8_lossy(&bytes).into_owned(),
                Some(Predicted::Present(_)) | None => {}
            }
        }
        let new = match plan(&spec, &key_text, &current) {
            Ok(n) => n,
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        let target = if spec.follow {
            probe.realpath.clone()
        } else {
            probe.keyfile.clone()
        };
        let mut r = ModuleResult::ok();
        for (k, v) in [
            ("user", json!(spec.user)),
            ("key", json!(spec.key)),
            ("path", json!(spec.path)),
            ("manage_dir", json!(spec.manage_dir)),
            (
                "state",
                json!(if spec.present { "present" } else { "absent" }),
            ),
            ("key_options", json!(spec.key_options)),
            ("exclusive", json!(spec.exclusive)),
            ("comment", json!(spec.comment)),
            ("validate_certs", json!(spec.validate_certs)),
            ("follow", json!(spec.follow)),
            ("keyfile", json!(probe.keyfile)),
        ] {
            r.set(k, v);
        }
        let Some(new) = new else {
            return Ok(r);
        };
        r.changed = true;
        if ctx.diff_mode {
            r.diffs.push(Diff::Text {
                before_header: probe.keyfile.clone(),
                after_header: target.clone(),
                before: current,
                after: new.clone(),
            });
        }
        if ctx.check_mode {
            let attrs = remote::FileAttrs {
                mode: Some(Mode::Octal(0o600)),
                owner: probe.owner.as_ref().map(|o| uid_of(&o.0).to_string()),
                group: None,
            };
            ctx.predicted.put_file(
                &target,
                Some(new.as_bytes()),
                new.len() as u64,
                &attrs,
                None,
            );
            return Ok(r);
        }
        ctx.predicted.forget(&target);
        let ugid = probe.owner.map(|o| o.0).unwrap_or_default();
        let out = remote::run(
            ctx,
            write_script(&spec, &probe.keyfile, &target, &ugid),
            Some(new.into_bytes()),
        )
        .await?;
        if out.rc != 0 {
            return Ok(ModuleResult::failed(format!(
                "Failed to write {target}: {}",
                accounts::error_text(&out)
            )));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    const K1: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@example";
    const K2: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwo";

    fn spec(v: Json) -> Spec {
        Spec::from_args(&ModuleArgs::new(
            "authorized_key",
            v.as_object().unwrap().clone().into_iter().collect(),
        ))
        .unwrap()
    }

    #[test]
    fn adds_keys_like_ansible_with_trailing_space_and_options() {
        let s = spec(json!({"user": "u", "key": format!("{K1}\n# c\n{K2}\n")}));
        let out = plan(&s, &s.key, "").unwrap().unwrap();
        // Ansible writes "type blob comment" with a space even for an empty comment.
        assert_eq!(out, format!("{K1}\n{K2} \n"));
        // Idempotent.
        assert_eq!(plan(&s, &s.key, &out).unwrap(), None);
        let s = spec(
            json!({"user": "u", "key": K2, "key_options": "no-pty,from=\"10.0.0.1,10.0.0.2\"",
            "comment": "it's $(x) ü"}),
        );
        let out = plan(&s, &s.key, &format!("# keep\n{K1}\n"))
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            format!(
                "# keep\n{K1}\nno-pty,from=\"10.0.0.1,10.0.0.2\" ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwo it's $(x) ü\n"
            )
        );
        assert_eq!(plan(&s, &s.key, &out).unwrap(), None);
        // Options are compared as a set.
        let s2 = spec(
            json!({"user": "u", "key": K2, "key_options": "from=\"10.0.0.1,10.0.0.2\",no-pty",
            "comment": "it's $(x) ü"}),
        );
        assert_eq!(plan(&s2, &s2.key, &out).unwrap(), None);
    }

    #[test]
    fn replaces_changed_keys_removes_and_exclusive() {
        let existing = format!("{K1}\n{K2} old\n");
        let s = spec(json!({"user": "u", "key": format!("{K2} new")}));
        assert_eq!(
            plan(&s, &s.key, &existing).unwrap().unwrap(),
            format!("{K1}\n{K2} new\n")
        );
        let s = spec(json!({"user": "u", "key": K1, "state": "absent"}));
        assert_eq!(
            plan(&s, &s.key, &existing).unwrap().unwrap(),
            format!("{K2} old\n")
        );
        // Absent matches by blob alone, whatever the comment.
        let s = spec(json!({"user": "u", "key": format!("{K2} x"), "state": "absent"}));
        assert_eq!(
            plan(&s, &s.key, &existing).unwrap().unwrap(),
            format!("{K1}\n")
        );
        let s = spec(json!({"user": "u", "key": "ssh-rsa AAAAnone", "state": "absent"}));
        assert_eq!(plan(&s, &s.key, &existing).unwrap(), None);
        let s = spec(json!({"user": "u", "key": K1, "exclusive": true}));
        assert_eq!(
            plan(&s, &s.key, &format!("# c\n{existing}"))
                .unwrap()
                .unwrap(),
            format!("{K1}\n")
        );
        let s = spec(json!({"user": "u", "key": "not a key"}));
        assert!(plan(&s, &s.key, "").unwrap_err().contains("invalid key"));
    }

    #[test]
    fn options_split_like_python() {
        let o = parse_options(Some("a,b=\"x,y\",c='1,2',,d"));
        let names: Vec<_> =
            o.0.iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
        assert_eq!(
            names,
            vec![
                ("a", None),
                ("b", Some("\"x,y\"")),
                ("c", Some("'1,2'")),
                (",,", None),
                ("d", None)
            ]
        );
    }

    #[test]
    fn probe_and_write_scripts_quote_values() {
        let s = spec(
            json!({"user": "u $(touch PWNED)", "key": "file:///tmp/k 'q'",
            "path": "/tmp/a b/'k'\nx"}),
        );
        assert_eq!(s.key_source().as_deref(), Some("/tmp/k 'q'"));
        let p = probe_script(&s);
        assert!(p.contains("jig_p='/tmp/a b/'\\''k'\\''\nx'"), "{p}");
        assert!(p.contains("jig_s='/tmp/k '\\''q'\\'''"), "{p}");
        let w = write_script(&s, "/tmp/a b/'k'\nx", "/tmp/a b/'k'\nx", "1:1");
        assert!(w.starts_with("jig_d='/tmp/a b'; jig_f="), "{w}");
        for script in [p, w] {
            let st = std::process::Command::new("sh")
                .args(["-n", "-c", &script])
                .status()
                .unwrap();
            assert!(st.success());
        }
    }

    /// Check mode edits the file an earlier check-mode task would have written: the second
    /// key's diff shows the first one, as the real run's does.
    #[tokio::test]
    async fn check_mode_sees_the_keys_an_earlier_task_would_add() {
        use crate::modules::remote::testutil::Env;
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let me = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let path = tmp.path().join("it's ü").join("keys");
        let args = |key: &str, state: &str| {
            let v = json!({"user": me.trim(), "key": key, "state": state,
                "path": path.to_str().unwrap()});
            ModuleArgs::new(
                "authorized_key",
                v.as_object().unwrap().clone().into_iter().collect(),
            )
        };
        let run = |key: &'static str, state: &'static str| {
            let ctx = env.ctx(true, true);
            let a = args(key, state);
            async move { AuthorizedKey.run(&a, &ctx).await.unwrap() }
        };
        let before = |r: &ModuleResult| match &r.diffs[..] {
            [Diff::Text { before, .. }] => before.clone(),
            other => panic!("{other:?}"),
        };
        let first = run(K1, "present").await;
        assert!(first.changed);
        assert_eq!(before(&first), "");
        let second = run(K2, "present").await;
        assert!(second.changed);
        assert_eq!(before(&second), format!("{K1}\n"));
        // The first key again: already in the predicted file.
        assert!(!run(K1, "present").await.changed);
        let gone = run(K1, "absent").await;
        assert!(gone.changed);
        assert_eq!(before(&gone), format!("{K1}\n{K2} \n"));
        assert!(!path.exists(), "check mode wrote nothing");
    }

    #[tokio::test]
    async fn writes_the_file_with_modes_on_the_local_host() {
        use crate::modules::remote::testutil::{Env, take_execs};
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let me = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let dir = tmp.path().join("d ü $(x)");
        let path = dir.join("keys");
        let args = |extra: Json| {
            let mut v = json!({"user": me.trim(), "key": format!("{K1}\n{K2}"),
                "path": path.to_str().unwrap()});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            ModuleArgs::new(
                "authorized_key",
                v.as_object().unwrap().clone().into_iter().collect(),
            )
        };
        take_execs();
        let r = AuthorizedKey
            .run(&args(json!({})), &env.ctx(true, true))
            .await
            .unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!dir.exists());
        assert_eq!(take_execs(), 1, "check mode: one probe");
        let r = AuthorizedKey
            .run(&args(json!({})), &env.ctx(false, false))
            .await
            .unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(take_execs(), 2, "a probe and one write");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{K1}\n{K2} \n")
        );
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(r.values["keyfile"], path.to_str().unwrap());
        let r = AuthorizedKey
            .run(&args(json!({})), &env.ctx(false, false))
            .await
            .unwrap();
        assert!(!r.changed && !r.failed, "{r:?}");
        assert_eq!(take_execs(), 1, "nothing to write: the probe only");
        let r = AuthorizedKey
            .run(
                &args(json!({"state": "absent", "key": K2})),
                &env.ctx(false, true),
            )
            .await
            .unwrap();
        assert!(r.changed);
        assert!(matches!(&r.diffs[0], Diff::Text { after, .. } if *after == format!("{K1}\n")));
        crate::modules::remote::testutil::assert_not_pwned();
    }
}

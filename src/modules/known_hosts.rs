//! The `known_hosts` module (ansible.builtin.known_hosts): a host's key in an SSH
//! `known_hosts` file (`~/.ssh/known_hosts` by default), added, replaced or removed.
//!
//! Written from the module's documentation and from what ansible-core 2.19 does on a test-bed
//! host: the host's lines are found with the host's own `ssh-keygen -F` (which understands
//! hashed names and `[host]:port`); a key already there leaves the file alone; a different key
//! of the same type is replaced and the new line goes at the end of the file; `hash_host`
//! hashes the new line with `ssh-keygen -H`; `state: absent` runs `ssh-keygen -R` (which
//! leaves `FILE.old`, as with Ansible). [`plan`] is the pure part; the host sees one probe and
//! one write.
//!
//! In check mode the file planned against is the one earlier check-mode tasks would have
//! written ([`super::predict`]); its host lines are then found by [`find_lines`], which
//! matches as `ssh-keygen -F` does. The file this task would write is recorded there (with
//! `hash_host` the new line unhashed: its salt is only drawn on the host).

use crate::connection::ssh::config::wildcard_match;
use async_trait::async_trait;

use super::predict::{Predicted, PredictedPath};
use super::remote::{self, FileAttrs, FileKind, RemoteError, WriteOptions};
use super::textfile::{Stop, expand_path, finish, state_present};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// A key line's fields: hosts, key type, key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLine {
    /// The host field (`a.org,10.0.0.1`, `[h]:2222`, `|1|salt|hash`).
    pub hosts: String,
    /// `ssh-ed25519`...
    pub kind: String,
    /// The base64 key.
    pub key: String,
}

/// Parses `hosts type key [comment]` (a `@marker` in front is skipped).
pub fn parse_line(line: &str) -> Option<KeyLine> {
    let mut f = line.split_whitespace();
    let mut hosts = f.next()?;
    if hosts.starts_with('@') {
        hosts = f.next()?;
    }
    Some(KeyLine {
        hosts: hosts.to_string(),
        kind: f.next()?.to_string(),
        key: f.next()?.to_string(),
    })
}

/// Checks a `key` argument against `name`, with Ansible's messages.
pub fn check_key(name: &str, key: &str) -> Result<KeyLine, String> {
    let line = parse_line(key).ok_or_else(|| {
        "Invalid key specified: the key must be 'host keytype base64key [comment]'".to_string()
    })?;
    if !line.hosts.starts_with("|1|")
        && !line.hosts.split(',').any(|h| h.eq_ignore_ascii_case(name))
    {
        return Err("Host parameter does not match hashed host field in supplied key".to_string());
    }
    if key.contains('\n') {
        return Err("Invalid key specified: one line expected".to_string());
    }
    Ok(line)
}

/// What to do to the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The lines kept (1-based numbers of the lines dropped are gone).
    pub kept: String,
    /// The line to add at the end (unhashed), if any.
    pub add: Option<String>,
    /// Whether anything changes.
    pub changed: bool,
}

/// Plans `state: present` (`key` is `Some`) or `absent` from the file and the 1-based numbers
/// of the lines `ssh-keygen -F` found for the host.
pub fn plan(text: &str, found: &[usize], key: Option<&str>) -> Plan {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let unchanged = Plan {
        kept: text.to_string(),
        add: None,
        changed: false,
    };
    let Some(key) = key else {
        if found.is_empty() {
            return unchanged;
        }
        let kept = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !found.contains(&(i + 1)))
            .map(|(_, l)| *l)
            .collect();
        return Plan {
            kept,
            add: None,
            changed: true,
        };
    };
    let Some(new) = parse_line(key) else {
        return unchanged;
    };
    let same_type: Vec<usize> = found
        .iter()
        .copied()
        .filter(|&n| {
            lines
                .get(n - 1)
                .and_then(|l| parse_line(l))
                .is_some_and(|l| l.kind == new.kind)
        })
        .collect();
    let already = same_type.iter().any(|&n| {
        lines
            .get(n - 1)
            .and_then(|l| parse_line(l))
            .is_some_and(|l| l.key == new.key)
    });
    if already {
        return unchanged;
    }
    let mut kept: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !same_type.contains(&(i + 1)))
        .map(|(_, l)| *l)
        .collect();
    if !kept.is_empty() && !kept.ends_with('\n') {
        kept.push('\n');
    }
    Plan {
        kept,
        add: Some(format!("{}\n", key.trim())),
        changed: true,
    }
}

/// Whether a host field (`a.org,10.0.0.1`, `*.org,!x.org`, `[h]:2222`, `|1|salt|hash`)
/// names `host` as `ssh-keygen -F host` finds it: a hashed field by its HMAC-SHA1, a list of
/// patterns (`*` and `?` wildcards, case-insensitive) by any pattern unless a `!` pattern
/// matches.
pub fn hosts_match(field: &str, host: &str) -> bool {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    if let Some(rest) = field.strip_prefix("|1|") {
        let b64 = &base64::engine::general_purpose::STANDARD;
        let Some((Ok(salt), Ok(hash))) = rest
            .split_once('|')
            .map(|(s, h)| (b64.decode(s), b64.decode(h)))
        else {
            return false;
        };
        let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
            return false;
        };
        mac.update(host.as_bytes());
        return mac.verify_slice(&hash).is_ok();
    }
    let host = host.to_lowercase();
    let mut matched = false;
    for pat in field.split(',') {
        let (negated, pat) = match pat.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pat),
        };
        if wildcard_match(pat, &host, true) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// The 1-based numbers of the lines of `text` naming `host`, as `ssh-keygen -F` reports them
/// (lines with a `@cert-authority` or `@revoked` marker included; comments skipped).
pub fn find_lines(text: &str, host: &str) -> Vec<usize> {
    text.split_inclusive('\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let mut words = line.split_whitespace();
            let mut field = words.next()?;
            if field.starts_with('#') {
                return None;
            }
            if field.starts_with('@') {
                field = words.next()?;
            }
            hosts_match(field, host).then_some(i + 1)
        })
        .collect()
}

/// The probe: `jig_stat`, then the numbers of the host's lines (`N N\0`), then the file.
/// `$1` is the file, `$2` the host.
pub fn probe_script(path: &str, host: &str) -> String {
    remote::script(
        &[path, host],
        r#"jig_stat "$1" -L || exit 1
if [ -f "$1" ]; then
  if ! command -v ssh-keygen >/dev/null 2>&1; then echo 'Failed to find required executable "ssh-keygen"' >&2; exit 127; fi
  _n=$(ssh-keygen -F "$2" -f "$1" 2>/dev/null | sed -n 's/^# Host .* found: line \([0-9]*\).*$/\1/p' | tr '\n' ' ')
  printf '%s\0' "$_n"
  cat -- "$1" || exit 1
fi"#,
    )
}

/// Writes the kept lines (on stdin) and the new key line (`$2`, hashed with `ssh-keygen -H`
/// when `$3` is `1`) to `$1` with [`remote`]'s atomic write (an existing file keeps its mode
/// and owner, a new one gets `0666 & ~umask`), making its directory (`0700`) if missing.
pub fn write_script(path: &str, line: &str, hash: bool) -> Result<String, RemoteError> {
    let opts = WriteOptions::default();
    let job = remote::WriteJob {
        path,
        content: &[],
        attrs: &FileAttrs::default(),
        follow: false,
        remote_src: None,
    };
    let write = remote::write_call_words("\"$1\"", "\"$jig_scratch/new\"", &job, &opts)?;
    let body = format!(
        r#"{function}
_d=$(dirname -- "$1")
[ -d "$_d" ] || mkdir -p -m 700 -- "$_d" || exit 1
jig_scratch=$(mktemp -d) || exit 1
cat > "$jig_scratch/new" || exit 1
if [ "$3" = 1 ]; then
  printf '%s' "$2" > "$jig_scratch/line" || exit 1
  ssh-keygen -q -H -f "$jig_scratch/line" >/dev/null 2>&1 || exit 1
  cat -- "$jig_scratch/line" >> "$jig_scratch/new" || exit 1
else
  printf '%s' "$2" >> "$jig_scratch/new" || exit 1
fi
{write} >/dev/null"#,
        function = remote::write_function(&opts)?,
        write = write.as_str()
    );
    Ok(remote::script(
        &[path, line, if hash { "1" } else { "0" }],
        &body,
    ))
}

/// `ssh-keygen -R host -f path`.
pub fn remove_script(path: &str, host: &str) -> String {
    remote::script(&[path, host], r#"ssh-keygen -R "$2" -f "$1""#)
}

/// The `known_hosts` module.
pub struct KnownHosts;

const KNOWN: &[&str] = &["name", "host", "key", "path", "hash_host", "state"];

#[async_trait]
impl Module for KnownHosts {
    fn name(&self) -> &'static str {
        "known_hosts"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(KNOWN)?;
    let name = match args.get_any(&["name", "host"]) {
        Some((k, _)) => args.req_str(k)?,
        None => return Err(args.error("missing required argument 'name'").into()),
    }
    .to_lowercase();
    let key = args.str("key")?.filter(|k| !k.is_empty());
    let hash_host = args.bool_or("hash_host", false)?;
    let present = state_present(args)?;
    if present {
        match &key {
            None => {
                return Err(Stop::Fail(
                    "state is present but all of the following are missing: key".into(),
                ));
            }
            Some(k) => {
                check_key(&name, k).map_err(Stop::Fail)?;
            }
        }
    }
    let path = args
        .str("path")?
        .unwrap_or_else(|| "~/.ssh/known_hosts".into());
    let path = expand_path(ctx, &path).await?;
    let out = remote::run_probe(
        ctx,
        probe_script(&path, &name),
        &format!("cannot read {path}"),
    )
    .await?;
    let mut frames = remote::Frames::new(&out.stdout);
    let mut stat = None;
    let (mut exists, mut found, mut text) = match frames.stat(&path)? {
        None => (false, Vec::new(), String::new()),
        Some(rec) if rec.stat.kind == FileKind::File => {
            stat = Some(rec.stat);
            let nums = String::from_utf8_lossy(frames.next_record().unwrap_or_default())
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect::<Vec<usize>>();
            (
                true,
                nums,
                String::from_utf8_lossy(frames.remainder()).into_owned(),
            )
        }
        Some(_) => return Err(Stop::Fail(format!("{path} is not a regular file"))),
    };
    // In check mode the file an earlier task would have written is the one planned against,
    // so the diff and the changed flag are the real run's.
    if ctx.check_mode {
        match ctx.predicted.follow(&path) {
            Some(Predicted::Absent) => {
                (exists, found, text, stat) = (false, Vec::new(), String::new(), None);
            }
            Some(Predicted::Present(PredictedPath {
                content: Some(bytes),
                stat: s,
            })) => {
                text = String::from_utf8_lossy(&bytes).into_owned();
                found = find_lines(&text, &name);
                exists = true;
                stat = Some(s);
            }
            Some(Predicted::Present(_)) | None => {}
        }
    }
    let p = plan(&text, &found, key.as_deref().filter(|_| present));
    let mut result = ModuleResult {
        changed: p.changed,
        ..ModuleResult::default()
    };
    result.set("name", name.clone());
    result.set(
        "key",
        key.clone().map_or(serde_json::Value::Null, Into::into),
    );
    result.set("path", path.clone());
    result.set("hash_host", hash_host);
    if ctx.diff_mode && p.changed {
        result.diffs.push(Diff::Text {
            before_header: if exists {
                path.clone()
            } else {
                "/dev/null".into()
            },
            after_header: path.clone(),
            before: text.clone(),
            after: format!("{}{}", p.kept, p.add.clone().unwrap_or_default()),
        });
    }
    let old = format!("{path}.old");
    if ctx.check_mode {
        if p.changed {
            let after = format!("{}{}", p.kept, p.add.clone().unwrap_or_default());
            let none = FileAttrs::default();
            if p.add.is_none() {
                // `ssh-keygen -R` keeps the file as it was in FILE.old.
                ctx.predicted.put_file(
                    &old,
                    Some(text.as_bytes()),
                    text.len() as u64,
                    &none,
                    stat.as_ref(),
                );
            }
            let bytes = after.as_bytes();
            ctx.predicted
                .put_file(&path, Some(bytes), bytes.len() as u64, &none, stat.as_ref());
        }
        return Ok(result);
    }
    if !p.changed {
        return Ok(result);
    }
    ctx.predicted.forget(&path);
    ctx.predicted.forget(&old);
    let out = match &p.add {
        Some(line) => {
            remote::run(
                ctx,
                write_script(&path, line, hash_host)?,
                Some(p.kept.clone().into_bytes()),
            )
            .await
        }
        None => remote::run(ctx, remove_script(&path, &name), None).await,
    }?;
    if out.rc != 0 {
        return Err(remote::host_error(&format!("cannot update {path}"), &out).into());
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, assert_not_pwned};

    const ED1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPajY53cj4mC1ll6YWKxKFAc1AeTYU66q4sEUg6PjFSk";
    const ED2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOUqPfdiwQ6mZqF4gohIEN3Tl/9Qb/ICEDN1mK8rATJR";
    const EC: &str =
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLsU=";

    #[test]
    fn keys_are_added_kept_replaced_and_removed() {
        let file = format!("example.com {EC}\nother.org,10.1.1.1 {ED1} comment here\n");
        // A key of another type for the same host: added at the end.
        let k = format!("example.com {ED1}");
        let p = plan(&file, &[1], Some(&k));
        assert_eq!(p.kept, file);
        assert_eq!(p.add.as_deref(), Some(format!("{k}\n").as_str()));
        let file2 = format!("{file}{k}\n");
        assert!(!plan(&file2, &[1, 3], Some(&k)).changed);
        // Another key of the same type: the old line goes, the new one is appended.
        let k2 = format!("example.com {ED2}");
        let p = plan(&file2, &[1, 3], Some(&k2));
        assert_eq!(p.kept, file);
        assert_eq!(p.add, Some(format!("{k2}\n")));
        // Absent: every line of the host.
        let p = plan(&file2, &[2], None);
        assert_eq!(p.kept, format!("example.com {EC}\n{k}\n"));
        assert!(!plan(&file2, &[], None).changed);
    }

    #[test]
    fn keys_must_name_the_host() {
        assert!(check_key("example.com", &format!("Example.com,1.2.3.4 {ED1}")).is_ok());
        assert!(check_key("[git.example]:2222", &format!("[git.example]:2222 {EC}")).is_ok());
        assert!(check_key("wrong.org", &format!("other.org {ED1}")).is_err());
        assert!(check_key("a", "a ssh-ed25519").is_err());
    }

    #[test]
    fn scripts_take_values_as_parameters() {
        let s = write_script("/root/a b/kh", "x $(touch PWNED) 'q'\n", true).unwrap();
        let set = format!(
            "set -- '/root/a b/kh' {} 1 ;",
            crate::connection::quote("x $(touch PWNED) 'q'\n")
        );
        assert!(s.contains(&set), "{s}");
        let s = remove_script("/k h", "[h]:22");
        assert!(s.contains("set -- '/k h' '[h]:22' ;"), "{s}");
    }

    #[tokio::test]
    async fn written_and_probed_on_a_real_shell() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let f = tmp
            .path()
            .join("new dir $(touch jig-files-pwned)/known 'hosts' ü");
        let path = f.to_str().unwrap();
        let line = format!("example.com {ED1}\n");
        let out = remote::run(
            &ctx,
            write_script(path, &line, false).unwrap(),
            Some(b"# kept\n".to_vec()),
        )
        .await
        .unwrap();
        assert_eq!(out.rc, 0, "{}", out.stderr_str());
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            format!("# kept\n{line}")
        );
        let out = remote::run(&ctx, probe_script(path, "example.com"), None)
            .await
            .unwrap();
        if out.rc == 127 {
            // No ssh-keygen on this controller; the test bed covers the rest.
            return;
        }
        assert_eq!(out.rc, 0, "{}", out.stderr_str());
        let mut fr = remote::Frames::new(&out.stdout);
        assert!(fr.stat("x").unwrap().is_some());
        assert_eq!(fr.next_record().unwrap(), b"2 ");
        assert_not_pwned();
    }

    #[test]
    fn lines_are_found_as_ssh_keygen_finds_them() {
        // The hashed line was made for hashed.org with salt 1..=20; each answer below is
        // what `ssh-keygen -F HOST` (OpenSSH 9) reports for this file.
        let text = format!(
            "|1|AQIDBAUGBwgJCgsMDQ4PEBESExQ=|xvNml0UhBtZS5JNMJZbTVRmUqfQ= {ED1}\n\
             *.Example.com,!bad.example.com {ED1}\n@cert-authority ca.org {ED1}\n\
             [git.example]:2222 {ED1}\n# h22 {ED1}\nh22 {ED1}\nh?x,h*y.org {ED1}\n"
        );
        for (host, want) in [
            ("hashed.org", vec![1]),
            ("Hashed.org", vec![]),
            ("a.example.com", vec![2]),
            ("A.EXAMPLE.COM", vec![2]),
            ("bad.example.com", vec![]),
            ("ca.org", vec![3]),
            ("[git.example]:2222", vec![4]),
            ("git.example", vec![]),
            ("[h22]:22", vec![]),
            ("H22", vec![6]),
            ("h1x", vec![7]),
            ("hay.org", vec![7]),
            ("h.y.org", vec![7]),
            ("hx", vec![]),
        ] {
            assert_eq!(find_lines(&text, host), want, "{host}");
        }
    }

    #[tokio::test]
    async fn check_mode_sees_the_lines_an_earlier_task_would_add() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let f = tmp.path().join("known 'hosts' $(x) ü");
        let path = f.to_str().unwrap().to_string();
        let run = |name: &'static str, key: Option<String>| {
            let ctx = env.ctx(true, true);
            let v = match key {
                Some(k) => serde_json::json!({"name": name, "key": k, "path": path}),
                None => serde_json::json!({"name": name, "state": "absent", "path": path}),
            };
            let a = ModuleArgs::new(
                "known_hosts",
                v.as_object().unwrap().clone().into_iter().collect(),
            );
            async move { KnownHosts.run(&a, &ctx).await.unwrap() }
        };
        let before = |r: &ModuleResult| match &r.diffs[..] {
            [Diff::Text { before, .. }] => before.clone(),
            other => panic!("{other:?}"),
        };
        let first = run("example.com", Some(format!("example.com {ED1}"))).await;
        assert!(first.changed && !first.failed, "{first:?}");
        assert_eq!(before(&first), "");
        let second = run("other.org", Some(format!("other.org,10.1.1.1 {EC} c"))).await;
        assert!(second.changed, "{second:?}");
        assert_eq!(before(&second), format!("example.com {ED1}\n"));
        // The first key again: already in the predicted file.
        assert!(
            !run("example.com", Some(format!("example.com {ED1}")))
                .await
                .changed
        );
        // A key of the same type replaces the predicted line.
        let replaced = run("example.com", Some(format!("example.com {ED2}"))).await;
        assert!(replaced.changed, "{replaced:?}");
        assert_eq!(
            before(&replaced),
            format!("example.com {ED1}\nother.org,10.1.1.1 {EC} c\n")
        );
        let gone = run("10.1.1.1", None).await;
        assert!(gone.changed, "{gone:?}");
        assert_eq!(
            before(&gone),
            format!("other.org,10.1.1.1 {EC} c\nexample.com {ED2}\n")
        );
        assert!(!run("other.org", None).await.changed);
        assert!(!f.exists(), "check mode wrote nothing");
    }
}

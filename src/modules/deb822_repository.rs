//! The `deb822_repository` module: one `.sources` file in `/etc/apt/sources.list.d` in apt's
//! deb822 format, rendered on the controller exactly as Ansible renders it (fields in the
//! order of the argument names, booleans as yes/no, lists space-separated, an inline key
//! indented), compared with the host's file in one round trip and written in one more.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::mode::Mode;
use super::remote::{self, Frames};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The `deb822_repository` module.
pub struct Deb822Repository;

/// Argument name and kind, sorted by name (Ansible writes the fields in this order).
const FIELDS: &[(&str, Kind)] = &[
    ("allow_downgrade_to_insecure", Kind::Bool),
    ("allow_insecure", Kind::Bool),
    ("allow_weak", Kind::Bool),
    ("architectures", Kind::List),
    ("by_hash", Kind::Bool),
    ("check_date", Kind::Bool),
    ("check_valid_until", Kind::Bool),
    ("components", Kind::List),
    ("date_max_future", Kind::Int),
    ("enabled", Kind::Bool),
    ("inrelease_path", Kind::Str),
    ("languages", Kind::List),
    ("name", Kind::Str),
    ("pdiffs", Kind::Bool),
    ("signed_by", Kind::Str),
    ("suites", Kind::List),
    ("targets", Kind::List),
    ("trusted", Kind::Bool),
    ("types", Kind::List),
    ("uris", Kind::List),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    List,
    Int,
    Str,
}

const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

/// Ansible's slug of the repository name: lower case, `_` and spaces to `-`, then only
/// `[a-z0-9-]` kept.
pub(crate) fn slug(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut dashed = String::new();
    let mut in_run = false;
    for c in lower.chars() {
        if c == '_' || c.is_whitespace() {
            if !in_run {
                dashed.push('-');
            }
            in_run = true;
        } else {
            dashed.push(c);
            in_run = false;
        }
    }
    dashed
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect()
}

/// `name` -> `X-Repolib-Name`, `uris` -> `URIs`, else title case with dashes.
fn field_name(arg: &str) -> String {
    match arg {
        "name" => "X-Repolib-Name".into(),
        "uris" => "URIs".into(),
        _ => arg
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

/// Python's `textwrap.indent` of the stripped lines (blank lines as `.`), after a newline.
fn multiline(v: &str) -> String {
    let lines: Vec<String> = v
        .trim()
        .lines()
        .map(|l| {
            let t = l.trim();
            format!("    {}", if t.is_empty() { "." } else { t })
        })
        .collect();
    format!("\n{}", lines.join("\n"))
}

/// Renders the `.sources` file; `signed_by` is the value to write (a path or key text).
pub(crate) fn render(
    args: &ModuleArgs,
    signed_by: Option<&str>,
) -> Result<String, super::ArgError> {
    let mut out = String::new();
    for (arg, kind) in FIELDS {
        let value = match kind {
            Kind::Bool => args
                .bool(arg)?
                .map(|b| if b { "yes" } else { "no" }.to_string()),
            Kind::List => match args.list(arg)? {
                Some(l) => Some(l.join(" ")),
                None if *arg == "types" => Some("deb".into()),
                None => None,
            },
            Kind::Int => args.int(arg)?.map(|i| i.to_string()),
            Kind::Str if *arg == "signed_by" => signed_by.map(str::to_string),
            Kind::Str => args.str(arg)?,
        };
        let Some(mut value) = value else { continue };
        if value.contains('\n') {
            value = multiline(&value);
        }
        let key = field_name(arg);
        if value.is_empty() || value.starts_with('\n') {
            out.push_str(&format!("{key}:{value}\n"));
        } else {
            out.push_str(&format!("{key}: {value}\n"));
        }
    }
    Ok(out)
}

/// Probe: `$1` the .sources path, `$2` the signed_by value: prints whether `$2` is a file,
/// then the .sources file's mode and content (or `A` when absent), then which key files exist.
const PROBE: &str = r#"if [ -n "$2" ] && [ -f "$2" ]; then printf 'F\0'; else printf 'N\0'; fi
if [ -f "$1" ]; then printf 'E%s\0' "$(stat -c %a -- "$1")"; cat -- "$1"; printf '\0'; else printf 'A\0\0'; fi
for f in "$3" "$4"; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done"#;

#[async_trait]
impl Module for Deb822Repository {
    fn name(&self) -> &'static str {
        "deb822_repository"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let mut known: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
        known.extend(["mode", "state", "install_python_debian"]);
        args.check_known(&known)?;
        let name = args.req_str("name")?;
        let state = args.str("state")?.unwrap_or_else(|| "present".into());
        if state != "present" && state != "absent" {
            return Err(args
                .invalid(
                    "state",
                    format!("must be one of: present, absent, got: {state}"),
                )
                .into());
        }
        if let Some(types) = args.list("types")?
            && let Some(bad) = types.iter().find(|t| *t != "deb" && *t != "deb-src")
        {
            return Err(args
                .invalid("types", format!("must be one of: deb, deb-src, got: {bad}"))
                .into());
        }
        let mode = Mode::from_json(args.get("mode").unwrap_or(&Json::String("0644".into())))
            .map_err(|e| args.invalid("mode", e.to_string()))?;
        let slug = slug(&name);
        let dest = format!("/etc/apt/sources.list.d/{slug}.sources");
        let signed = args.str("signed_by")?;
        if let Some(s) = &signed
            && regex::Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*://")
                .map(|re| re.is_match(s))
                .unwrap_or(false)
        {
            return Ok(ModuleResult::failed(format!(
                "signed_by is a URL ({s}): jig does not download keys; fetch it with get_url \
                 into {KEYRINGS_DIR}/ and pass the path, or pass the key text"
            )));
        }
        let key_files = [
            format!("{KEYRINGS_DIR}/{slug}.asc"),
            format!("{KEYRINGS_DIR}/{slug}.gpg"),
        ];
        let mut c = Cmd::empty();
        c.raw("set --")
            .arg(&dest)
            .arg(signed.as_deref().unwrap_or(""))
            .args(&key_files)
            .raw(";\n")
            .raw(PROBE);
        let out = remote::run(ctx, c.into_string(), None).await?;
        if out.rc != 0 {
            return Ok(ModuleResult::failed(format!(
                "cannot read {dest}: {}",
                out.stderr_str().trim()
            )));
        }
        let mut f = Frames::new(&out.stdout);
        let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
        let _is_file = text(f.next_record()) == "F";
        let head = text(f.next_record());
        let current = text(f.next_record());
        let existing_keys: Vec<String> =
            std::iter::from_fn(|| f.next_record().map(|b| text(Some(b)))).collect();
        let exists = head.starts_with('E');
        let cur_mode = u32::from_str_radix(head.get(1..).unwrap_or(""), 8).ok();
        let mut r = ModuleResult::ok();
        r.set("dest", dest.clone());
        if state == "absent" {
            r.changed = exists || !existing_keys.is_empty();
            r.set("repo", Json::Null)
                .set("key_filename", key_files[1].clone());
            if r.changed && ctx.diff_mode && exists {
                r.diffs.push(Diff::Text {
                    before_header: dest.clone(),
                    after_header: dest.clone(),
                    before: current.clone(),
                    after: String::new(),
                });
            }
            if r.changed && !ctx.check_mode {
                let mut c = Cmd::new("rm");
                c.arg("-f").arg("--").arg(&dest).args(&existing_keys);
                let out = remote::run(ctx, c.into_string(), None).await?;
                if out.rc != 0 {
                    return Ok(ModuleResult::failed(out.stderr_str().trim().to_string()));
                }
            }
            return Ok(r);
        }
        // A path that is a file on the host is referenced; anything else is key text, written
        // inline (Ansible's `write_signed_by_key` for a non-URL value).
        let repo = render(args, signed.as_deref())?;
        let wanted_mode = mode.resolve(cur_mode.unwrap_or(0o644), false, 0o022);
        let content_changed = !exists || current != repo;
        let mode_changed = wanted_mode.is_some() && cur_mode != wanted_mode;
        r.changed = content_changed || mode_changed;
        r.set("repo", repo.clone()).set(
            "key_filename",
            signed
                .as_ref()
                .filter(|_| _is_file)
                .map(|s| Json::String(s.clone()))
                .unwrap_or(Json::Null),
        );
        if content_changed && ctx.diff_mode {
            r.diffs.push(Diff::Text {
                before_header: dest.clone(),
                after_header: dest.clone(),
                before: if exists { current } else { String::new() },
                after: repo.clone(),
            });
        }
        if !r.changed || ctx.check_mode {
            return Ok(r);
        }
        let attrs = remote::FileAttrs {
            mode: Some(mode),
            owner: None,
            group: None,
        };
        match remote::write_file(ctx, &dest, repo.as_bytes(), &attrs, &Default::default()).await {
            Ok(_) => Ok(r),
            Err(remote::RemoteError::Connection(e)) => Err(e.into()),
            Err(e) => Ok(ModuleResult::failed(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_like_ansible() {
        let args = ModuleArgs::new(
            "deb822_repository",
            [
                ("name", json!("Jig Extra_repo!")),
                ("uris", json!("file:/srv/extra")),
                ("suites", json!(["./"])),
                ("trusted", json!(true)),
                ("signed_by", json!("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc $(x) 'q'\n-----END PGP PUBLIC KEY BLOCK-----\n")),
                ("date_max_future", json!(10)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        assert_eq!(slug("Jig Extra_repo!"), "jig-extra-repo");
        let signed = args.str("signed_by").unwrap();
        assert_eq!(
            render(&args, signed.as_deref()).unwrap(),
            "Date-Max-Future: 10\nX-Repolib-Name: Jig Extra_repo!\nSigned-By:\n    \
             -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    abc $(x) 'q'\n    \
             -----END PGP PUBLIC KEY BLOCK-----\nSuites: ./\nTrusted: yes\nTypes: deb\nURIs: file:/srv/extra\n"
        );
    }
}

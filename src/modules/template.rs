//! The `template` module: render a Jinja2 template on the controller, then place it like
//! `copy` does (one probe, at most one atomic write).
//!
//! The template is found with [`SearchKind::Templates`] (role `templates/` first) and rendered
//! by the task's [`crate::modules::TemplateRenderer`]; everything after rendering is
//! [`copy::put`](super::copy).

use async_trait::async_trait;
use serde_json::Value as Json;

use super::copy::{self, Content, PutSpec};
use super::remote::{self, WriteOptions};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult, SearchKind};

/// The `template` module.
pub struct Template;

const KNOWN: &[&str] = &[
    "src",
    "dest",
    "mode",
    "owner",
    "group",
    "backup",
    "validate",
    "force",
    "follow",
    "newline_sequence",
    "output_encoding",
    "unsafe_writes",
    "trim_blocks",
    "lstrip_blocks",
    "variable_start_string",
    "variable_end_string",
    "block_start_string",
    "block_end_string",
    "comment_start_string",
    "comment_end_string",
    "attributes",
    "seuser",
    "serole",
    "setype",
    "selevel",
];

/// Jinja options the renderer applies with Ansible's defaults; a task may repeat a default but
/// not change it (use a `#jinja2:` header in the template instead).
const FIXED_OPTIONS: &[(&str, &str)] = &[
    ("trim_blocks", "true"),
    ("lstrip_blocks", "false"),
    ("variable_start_string", "{{"),
    ("variable_end_string", "}}"),
    ("block_start_string", "{%"),
    ("block_end_string", "%}"),
    ("comment_start_string", "{#"),
    ("comment_end_string", "#}"),
];

fn check_fixed(args: &ModuleArgs) -> Result<(), ModuleError> {
    for (name, default) in FIXED_OPTIONS {
        let Some(v) = args.get(name) else { continue };
        let same = match v {
            Json::Bool(b) => b.to_string() == *default,
            Json::String(s) => {
                s == default
                    || super::args::parse_bool(v).is_some_and(|b| b.to_string() == *default)
            }
            _ => false,
        };
        if !same {
            return Err(args
                .invalid(
                    name,
                    format!(
                        "is fixed to {default} in jig; put a '#jinja2: {name}: ...' header on \
                         the template's first line instead"
                    ),
                )
                .into());
        }
    }
    Ok(())
}

#[async_trait]
impl Module for Template {
    fn name(&self) -> &'static str {
        "template"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        check_fixed(args)?;
        let src = args.req_str("src")?;
        let dest = args.req_str("dest")?;
        let attrs = remote::attrs_from_args(args)?;
        let newline = match args.str("newline_sequence")?.as_deref() {
            None | Some("\n") | Some("\\n") => "\n",
            Some("\r\n") | Some("\\r\\n") => "\r\n",
            Some("\r") | Some("\\r") => "\r",
            Some(other) => {
                return Err(args
                    .invalid(
                        "newline_sequence",
                        format!("must be one of '\\n', '\\r', '\\r\\n', got {other:?}"),
                    )
                    .into());
            }
        };
        if let Some(enc) = args.str("output_encoding")? {
            let e = enc.to_ascii_lowercase().replace('_', "-");
            if e != "utf-8" && e != "utf8" {
                return Err(args
                    .invalid(
                        "output_encoding",
                        format!("only utf-8 is supported, got '{enc}'"),
                    )
                    .into());
            }
        }
        let path = match ctx.files.find(SearchKind::Templates, &src) {
            Ok(p) => p,
            Err(tried) => {
                return Ok(ModuleResult::failed(format!(
                    "Could not find or access '{src}' (searched: {})",
                    tried
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        };
        let mut text = match ctx.templates.render_file(&path) {
            Ok(t) => t,
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        if newline != "\n" {
            text = text.replace('\n', newline);
        }
        let basename = src.rsplit('/').next().unwrap_or(&src).to_string();
        let spec = PutSpec {
            dest: &dest,
            basename: Some(&basename),
            content: Content::Bytes(text.as_bytes()),
            attrs,
            source_mode: local_mode(&path),
            directory_mode: None,
            write: WriteOptions {
                backup: args.bool_or("backup", false)?,
                validate: args.str("validate")?,
                unsafe_writes: args.bool_or("unsafe_writes", false)?,
            },
            force: args.bool_or("force", true)?,
            follow: args.bool_or("follow", false)?,
            src_label: Some(path.display().to_string()),
        };
        copy::put(ctx, &spec).await
    }
}

fn local_mode(p: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .ok()
        .map(|m| m.permissions().mode() & super::mode::PERM_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::Diff;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned, leftovers};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new(
            "template",
            v.as_object().unwrap().clone().into_iter().collect(),
        )
    }

    #[tokio::test]
    async fn renders_then_places_idempotently() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        std::fs::create_dir(tmp.path().join("templates")).unwrap();
        std::fs::write(
            tmp.path().join("templates/motd.j2"),
            "hello {{ name }}\nline two\n",
        )
        .unwrap();
        let dest = tmp.path().join(HOSTILE);
        let a = margs(
            json!({"src": "motd.j2", "dest": dest.to_str().unwrap(), "mode": "0600", "owner": "root"}),
        );
        let r = Template.run(&a, &env.ctx(true, true)).await.unwrap();
        assert!(r.changed && !dest.exists(), "{r:?}");
        match &r.diffs[0] {
            Diff::Text { after, .. } => assert_eq!(after, "hello wörld $(x) 'q'\nline two\n"),
            d => panic!("{d:?}"),
        }
        let r = Template.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            "hello wörld $(x) 'q'\nline two\n"
        );
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(
            r.values["src"]
                .as_str()
                .unwrap()
                .ends_with("templates/motd.j2")
        );
        let r = Template.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(!r.changed, "{r:?}");

        // CRLF output, into a directory dest (dest/<template basename>).
        let crlf = margs(
            json!({"src": "motd.j2", "dest": tmp.path().to_str().unwrap(), "newline_sequence": "\r\n"}),
        );
        let r = Template.run(&crlf, &env.ctx(false, false)).await.unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("motd.j2")).unwrap(),
            "hello wörld $(x) 'q'\r\nline two\r\n"
        );
        assert!(leftovers(tmp.path()).is_empty());
        assert_not_pwned();
    }

    #[tokio::test]
    async fn render_errors_and_fixed_options_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        std::fs::create_dir(tmp.path().join("templates")).unwrap();
        std::fs::write(
            tmp.path().join("templates/bad.j2"),
            "{{ undefined_thing }}\n",
        )
        .unwrap();
        let dest = tmp.path().join("out");
        let a = margs(json!({"src": "bad.j2", "dest": dest.to_str().unwrap()}));
        let r = Template.run(&a, &env.ctx(false, false)).await.unwrap();
        assert!(r.failed && r.msg.unwrap().contains("bad.j2:1:1"));
        assert!(!dest.exists());
        let b = margs(json!({"src": "missing.j2", "dest": dest.to_str().unwrap()}));
        let r = Template.run(&b, &env.ctx(false, false)).await.unwrap();
        assert!(r.failed && r.msg.unwrap().contains("missing.j2"));
        let c = margs(json!({"src": "bad.j2", "dest": "/x", "trim_blocks": false}));
        assert!(Template.run(&c, &env.ctx(false, false)).await.is_err());
        let d = margs(json!({"src": "bad.j2", "dest": "/x", "trim_blocks": "yes"}));
        assert!(check_fixed(&d).is_ok());
    }
}

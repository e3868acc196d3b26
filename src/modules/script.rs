//! The `script` module: a controller script pushed to the host and run there.
//!
//! One round trip: `creates`/`removes` are tested, the script's bytes arrive on stdin into a
//! private temporary file, and it runs (through `executable` when given) with the rest of the
//! task's line as its arguments, in `chdir`, with the task's `environment`; the temporary file
//! is removed when the script ends. The arguments are shell text, as in ansible-core, which
//! pastes them into the command line after the script's path (only the path is jig's to
//! quote). In check mode the script never runs: with `creates`/`removes` the task reports the
//! change it would make, without them it is skipped, as ansible-core does.

use async_trait::async_trait;

use super::command::{export_environment, python_splitlines, shlex_split};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult, SearchKind};
use crate::connection::quote;
use serde_json::Value as Json;

/// The `script` module.
pub struct Script;

/// The script path and the untouched shell text after it.
fn split_first(raw: &str) -> Result<(String, String), String> {
    let raw = raw.trim();
    let mut in_single = false;
    let mut in_double = false;
    let mut escaped = false;
    let mut end = raw.len();
    for (i, c) in raw.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if !in_single => escaped = true,
            '\'' if !in_double => in_single = !in_single,
            '"' if !in_single => in_double = !in_double,
            c if c.is_whitespace() && !in_single && !in_double => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let words = shlex_split(&raw[..end])?;
    let first = words
        .into_iter()
        .next()
        .ok_or_else(|| "no script given".to_string())?;
    Ok((first, raw[end..].trim().to_string()))
}

/// `~/x` as the host's shell sees it, for `creates`/`removes`.
fn tilde(var: &str, path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("{var}=\"$HOME\"/{}\n", quote(rest)),
        None if path == "~" => format!("{var}=\"$HOME\"\n"),
        None => format!("{var}={}\n", quote(path)),
    }
}

#[async_trait]
impl Module for Script {
    fn name(&self) -> &'static str {
        "script"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&[
            "_raw_params",
            "cmd",
            "creates",
            "removes",
            "chdir",
            "executable",
            "decrypt",
        ])?;
        let raw = match (args.str("_raw_params")?, args.str("cmd")?) {
            (Some(r), None) | (None, Some(r)) if !r.trim().is_empty() => r,
            (Some(_), Some(_)) => {
                return Err(args
                    .error("parameters are mutually exclusive: _raw_params|cmd")
                    .into());
            }
            _ => {
                return Err(args
                    .error("one of the following is required: _raw_params, cmd")
                    .into());
            }
        };
        let creates = args.str("creates")?.filter(|s| !s.is_empty());
        let removes = args.str("removes")?.filter(|s| !s.is_empty());
        let chdir = args.str("chdir")?.filter(|s| !s.is_empty());
        if let Some(c) = &chdir
            && !c.starts_with('/')
        {
            return Ok(ModuleResult::failed(format!(
                "chdir {c} must be an absolute path for a Unix-aware remote node"
            )));
        }
        let executable = args.str("executable")?.filter(|s| !s.is_empty());
        let (source, rest) = split_first(&raw).map_err(|e| args.invalid("_raw_params", e))?;
        let path = match ctx.files.find(SearchKind::Files, &source) {
            Ok(p) => p,
            Err(tried) => {
                let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
                return Ok(ModuleResult::failed(format!(
                    "Could not find or access '{source}' (searched {})",
                    tried.join(", ")
                )));
            }
        };
        let body = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                return Ok(ModuleResult::failed(format!(
                    "Could not read '{}': {e}",
                    path.display()
                )));
            }
        };

        // The checks, then (unless in check mode) the script.
        let mut s = String::new();
        if let Some(c) = &creates {
            s.push_str(&tilde("c", c));
            s.push_str("if [ -e \"$c\" ]; then printf 'S\\0%s exists, matching creates option' \"$c\"; exit 0; fi\n");
        }
        if let Some(r) = &removes {
            s.push_str(&tilde("r", r));
            s.push_str("if [ ! -e \"$r\" ]; then printf 'S\\0%s does not exist, matching removes option' \"$r\"; exit 0; fi\n");
        }
        s.push_str("printf 'R\\0'\n");
        let mut stdin = Vec::new();
        if !ctx.check_mode {
            export_environment(ctx.environment, &mut s).map_err(|e| args.error(e))?;
            s.push_str(&format!(
                "t=$(umask 077 && mktemp \"${{TMPDIR:-/tmp}}/jig-script.XXXXXXXX\") || exit 125\n\
                 trap 'rm -f -- \"$t\"' EXIT\n\
                 head -c {} > \"$t\" && chmod 700 \"$t\" || exit 125\n",
                body.len()
            ));
            if let Some(d) = &chdir {
                s.push_str(&format!("cd -- {} || exit 125\n", quote(d)));
            }
            let runner = executable
                .as_deref()
                .map(|e| format!("{e} "))
                .unwrap_or_default();
            // The arguments are the user's shell text, as ansible-core runs them.
            s.push_str(&format!("{runner}\"$t\" {rest} < /dev/null\n"));
            stdin = body;
        }
        let out = super::remote::run(ctx, s, Some(stdin)).await?;
        let stdout = out.stdout.clone();
        let (tag, after) = match stdout.iter().position(|&b| b == 0) {
            Some(i) => (&stdout[..i], &stdout[i + 1..]),
            None => {
                return Ok(ModuleResult::failed(format!(
                    "cannot run the script on the host: {}",
                    out.stderr_str().trim()
                )));
            }
        };
        if tag == b"S" {
            let mut r = ModuleResult::ok();
            r.skipped = true;
            r.msg = Some(String::from_utf8_lossy(after).into_owned());
            return Ok(r);
        }
        if ctx.check_mode {
            if creates.is_some() || removes.is_some() {
                return Ok(ModuleResult::changed());
            }
            let mut r = ModuleResult::ok();
            r.skipped = true;
            r.msg = Some("Check mode is not supported for this task.".into());
            return Ok(r);
        }
        if out.rc == 125 {
            return Ok(ModuleResult::failed(format!(
                "cannot prepare the script on the host: {}",
                out.stderr_str().trim()
            )));
        }
        let stdout = String::from_utf8_lossy(after).into_owned();
        let stderr = out.stderr_str();
        let lines =
            |s: &str| Json::Array(python_splitlines(s).into_iter().map(Json::String).collect());
        let mut r = ModuleResult::changed();
        r.set("rc", out.rc)
            .set("stdout_lines", lines(&stdout))
            .set("stderr_lines", lines(&stderr))
            .set("stdout", stdout)
            .set("stderr", stderr);
        if out.rc != 0 {
            r.failed = true;
            r.msg = Some("non-zero return code".into());
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
    use serde_json::json;

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new(
            "script",
            v.as_object().unwrap().clone().into_iter().collect(),
        )
    }

    #[tokio::test]
    async fn pushes_runs_and_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        let mut env = Env::new(tmp.path());
        env.env.insert(
            "GREETING".into(),
            "hi 'there' $(touch jig-files-pwned)".into(),
        );
        std::fs::create_dir(tmp.path().join("files")).unwrap();
        std::fs::write(
            tmp.path().join("files/my script.sh"),
            "#!/bin/sh\necho \"args:$#:$1:$2\"\necho \"env:$GREETING\"\npwd\necho oops >&2\nexit \"${3:-0}\"\n",
        )
        .unwrap();
        let work = tmp.path().join(HOSTILE);
        std::fs::create_dir(&work).unwrap();
        let ctx = env.ctx(false, false);
        let r = Script
            .run(
                &margs(json!({"_raw_params": "'my script.sh' \"two words\" second",
                              "chdir": work.to_str().unwrap()})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.values["rc"], 0);
        let out = r.values["stdout_lines"].as_array().unwrap();
        assert_eq!(out[0], "args:2:two words:second");
        assert_eq!(out[1], "env:hi 'there' $(touch jig-files-pwned)");
        let stdout = r.values["stdout"].as_str().unwrap();
        assert!(
            stdout.contains(&format!("\n{}\n", work.to_str().unwrap())),
            "{stdout}"
        );
        assert_eq!(r.values["stderr"], "oops\n");
        // A failing script fails the task; an interpreter runs it.
        let r = Script
            .run(
                &margs(json!({"cmd": "'my script.sh' a b 3", "executable": "sh"})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(r.failed && r.values["rc"] == 3, "{r:?}");
        // creates/removes skip; in check mode they decide, otherwise the task is skipped.
        let marker = tmp.path().join("marker");
        let m = marker.to_str().unwrap();
        let r = Script
            .run(
                &margs(json!({"_raw_params": "'my script.sh'", "removes": m})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(r.skipped && r.msg.unwrap().contains("does not exist"));
        let check = env.ctx(true, false);
        let r = Script
            .run(
                &margs(json!({"_raw_params": "'my script.sh'", "creates": m})),
                &check,
            )
            .await
            .unwrap();
        assert!(r.changed && !r.skipped && r.values.get("rc").is_none());
        let r = Script
            .run(&margs(json!({"_raw_params": "'my script.sh'"})), &check)
            .await
            .unwrap();
        assert!(r.skipped && !r.changed);
        std::fs::write(&marker, "").unwrap();
        let r = Script
            .run(
                &margs(json!({"_raw_params": "'my script.sh'", "creates": m})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(r.skipped && r.msg.unwrap().contains("matching creates option"));
        let r = Script
            .run(&margs(json!({"_raw_params": "nope.sh"})), &ctx)
            .await
            .unwrap();
        assert!(r.failed && r.msg.unwrap().contains("Could not find"));
        let r = Script
            .run(
                &margs(json!({"_raw_params": "'my script.sh'", "chdir": "rel"})),
                &ctx,
            )
            .await
            .unwrap();
        assert!(r.failed);
        let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("jig-script."))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert_not_pwned();
    }

    #[test]
    fn the_path_is_the_first_word() {
        assert_eq!(
            split_first("'a b.sh' \"$HOME\" x").unwrap(),
            ("a b.sh".into(), "\"$HOME\" x".into())
        );
        assert_eq!(
            split_first("run.sh").unwrap(),
            ("run.sh".into(), String::new())
        );
    }
}

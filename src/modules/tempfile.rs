//! The `tempfile` module: a new temporary file or directory on the host (`mktemp`).
//!
//! Each run makes a new one, so the task always changes, as in Ansible. Check mode reports
//! the change without making anything (ansible-core skips the task instead, which would make
//! the check run's changed count differ from the real run's; docs/differences.md), and so no
//! `path` is known then.

use async_trait::async_trait;

use super::remote::{self, Frames};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `tempfile` module.
pub struct TempFile;

/// Parameters: 1 `-d` or empty, 2 the directory or empty (`$TMPDIR`, else `/tmp`), 3 the
/// template's name part. Prints the path, then its `jig_stat` records.
const MAKE: &str = r#"dir=$2
if [ -z "$dir" ]; then dir=${TMPDIR:-/tmp}; fi
p=$(mktemp $1 -- "$dir/$3") || exit 1
printf '%s\0' "$p"
jig_stat "$p""#;

#[async_trait]
impl Module for TempFile {
    fn name(&self) -> &'static str {
        "tempfile"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&["state", "path", "prefix", "suffix"])?;
        let state = args.str("state")?.unwrap_or_else(|| "file".into());
        let dir_flag = match state.as_str() {
            "file" => "",
            "directory" => "-d",
            other => {
                return Err(args
                    .invalid(
                        "state",
                        format!("must be one of file, directory; got '{other}'"),
                    )
                    .into());
            }
        };
        let prefix = args.str("prefix")?.unwrap_or_else(|| "ansible.".into());
        let suffix = args.str("suffix")?.unwrap_or_default();
        for (name, v) in [("prefix", &prefix), ("suffix", &suffix)] {
            if v.contains('/') {
                return Ok(ModuleResult::failed(format!(
                    "{name} must be a valid file name component, got '{v}'"
                )));
            }
        }
        let path = args.str("path")?.unwrap_or_default();
        let mut result = ModuleResult::changed();
        if ctx.check_mode {
            return Ok(result);
        }
        // mktemp's X's are the random part, like Python's eight random characters.
        let template = format!("{prefix}XXXXXXXX{suffix}");
        let out = remote::run(
            ctx,
            remote::script(&[dir_flag, &path, &template], MAKE),
            None,
        )
        .await?;
        if out.rc != 0 {
            return Ok(ModuleResult::failed(
                remote::host_error("cannot make a temporary file", &out).to_string(),
            ));
        }
        let mut fr = Frames::new(&out.stdout);
        let made = fr
            .next_record()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        if let Ok(Some(rec)) = fr.stat(&made) {
            remote::add_path_info(&mut result, &rec.stat);
        }
        result.set("path", made);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, assert_not_pwned};
    use serde_json::{Value as Json, json};

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new(
            "tempfile",
            v.as_object().unwrap().clone().into_iter().collect(),
        )
    }

    #[tokio::test]
    async fn makes_files_and_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let dir = tmp.path().join("in here $(touch jig-files-pwned)");
        std::fs::create_dir(&dir).unwrap();
        let d = dir.to_str().unwrap();
        let r = TempFile
            .run(
                &margs(json!({"path": d, "prefix": "it's ", "suffix": ".ü"})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert!(r.changed && !r.failed, "{r:?}");
        let p = r.values["path"].as_str().unwrap();
        assert!(
            p.starts_with(&format!("{d}/it's ")) && p.ends_with(".ü"),
            "{p}"
        );
        assert!(std::path::Path::new(p).is_file());
        assert_eq!(r.values["state"], "file");
        assert_eq!(r.values["mode"], "0600");
        let r = TempFile
            .run(
                &margs(json!({"state": "directory", "path": d})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        let p = r.values["path"].as_str().unwrap();
        assert!(
            std::path::Path::new(p).is_dir() && p.contains("/ansible."),
            "{p}"
        );
        // Check mode: a change, nothing made.
        let before = std::fs::read_dir(&dir).unwrap().count();
        let r = TempFile
            .run(&margs(json!({"path": d})), &env.ctx(true, false))
            .await
            .unwrap();
        assert!(r.changed && r.values.get("path").is_none());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), before);
        let r = TempFile
            .run(&margs(json!({"prefix": "a/b"})), &env.ctx(false, false))
            .await
            .unwrap();
        assert!(r.failed);
        let r = TempFile
            .run(
                &margs(json!({"path": "/nonexistent/dir"})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert!(r.failed);
        assert_not_pwned();
    }
}

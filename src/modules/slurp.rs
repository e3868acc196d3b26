//! The `slurp` module: a remote file's content, base64-encoded, in one round trip.

use async_trait::async_trait;
use base64::Engine;

use super::predict::{Predicted, PredictedPath};
use super::remote::{self, RemoteError};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `slurp` module.
pub struct Slurp;

#[async_trait]
impl Module for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&["src", "path"])?;
        let src = match args.get_any(&["src", "path"]) {
            Some((n, _)) => args.req_str(n)?,
            None => args.req_str("src")?,
        };
        if ctx.check_mode {
            match ctx.predicted.follow(&src) {
                Some(Predicted::Absent) => {
                    return Ok(ModuleResult::failed(format!("file not found: {src}")));
                }
                Some(Predicted::Present(PredictedPath {
                    content: Some(content),
                    ..
                })) => {
                    let mut r = ModuleResult::ok();
                    r.set(
                        "content",
                        base64::engine::general_purpose::STANDARD.encode(&content),
                    )
                    .set("source", src)
                    .set("encoding", "base64");
                    return Ok(r);
                }
                // Content jig cannot know: the host answers.
                Some(Predicted::Present(_)) | None => {}
            }
        }
        match remote::read_file(ctx, &src).await {
            Ok(Some((_, content))) => {
                let mut r = ModuleResult::ok();
                r.set(
                    "content",
                    base64::engine::general_purpose::STANDARD.encode(&content),
                )
                .set("source", src)
                .set("encoding", "base64");
                Ok(r)
            }
            Ok(None) => Ok(ModuleResult::failed(format!("file not found: {src}"))),
            Err(RemoteError::Connection(e)) => Err(e.into()),
            Err(RemoteError::Failed { message }) if message.ends_with("is a directory") => Ok(
                ModuleResult::failed(format!("source is a directory and must be a file: {src}")),
            ),
            Err(e) => Ok(ModuleResult::failed(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, HOSTILE_TEXT};
    use serde_json::{Value as Json, json};

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new(
            "slurp",
            v.as_object().unwrap().clone().into_iter().collect(),
        )
    }

    #[tokio::test]
    async fn reads_base64() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let f = tmp.path().join(HOSTILE);
        let mut data = HOSTILE_TEXT.as_bytes().to_vec();
        data.extend_from_slice(&[0, 255, 10]);
        std::fs::write(&f, &data).unwrap();
        let r = Slurp
            .run(
                &margs(json!({"src": f.to_str().unwrap()})),
                &env.ctx(true, false),
            )
            .await
            .unwrap();
        assert!(!r.changed && !r.failed);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(r.values["content"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded, data);
        assert_eq!(r.values["encoding"], "base64");
        assert_eq!(r.values["source"], f.to_str().unwrap());
        let r = Slurp
            .run(
                &margs(json!({"path": "/nonexistent/x"})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert!(r.failed && r.msg.unwrap().contains("file not found"));
        let r = Slurp
            .run(
                &margs(json!({"src": tmp.path().to_str().unwrap()})),
                &env.ctx(false, false),
            )
            .await
            .unwrap();
        assert!(r.failed && r.msg.unwrap().contains("is a directory"));
    }
}

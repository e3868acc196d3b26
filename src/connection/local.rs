//! The `local` connection: commands run on the controller with `sh -c`.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{ConnectionError, ExecOutput, ExecRequest};

/// Runs commands on the controller itself, as `ansible_connection=local` does.
#[derive(Debug, Clone)]
pub struct LocalConnection {
    host: String,
}

impl LocalConnection {
    /// A local connection for inventory host `host` (the name is used in messages only).
    pub fn new(host: impl Into<String>) -> Self {
        LocalConnection { host: host.into() }
    }

    /// Runs `req` with `/bin/sh -c`, feeding stdin concurrently with reading output so a command
    /// that echoes a large input cannot deadlock.
    pub async fn exec(&self, req: &ExecRequest) -> Result<ExecOutput, ConnectionError> {
        let line = req.shell_line();
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&line)
            .stdin(if req.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ConnectionError::Spawn {
                host: self.host.clone(),
                source,
            })?;
        let writer = match (child.stdin.take(), req.stdin.clone()) {
            (Some(mut stdin), Some(data)) => Some(tokio::spawn(async move {
                // A command may exit without reading all of stdin; that is its business.
                let _ = stdin.write_all(&data).await;
                let _ = stdin.shutdown().await;
            })),
            _ => None,
        };
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| ConnectionError::Lost {
                host: self.host.clone(),
                message: e.to_string(),
            })?;
        if let Some(w) = writer {
            let _ = w.await;
        }
        Ok(ExecOutput {
            rc: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Cmd;

    #[tokio::test]
    async fn runs_commands_with_stdin_and_status() {
        let conn = LocalConnection::new("localhost");
        let mut cmd = Cmd::new("sh");
        cmd.arg("-c").arg("cat; echo err >&2; exit 3");
        let out = conn
            .exec(&ExecRequest::new(cmd.into_string()).with_stdin(b"a 'b' $(c)\n".to_vec()))
            .await
            .expect("runs");
        assert_eq!(out.rc, 3);
        assert_eq!(out.stdout, b"a 'b' $(c)\n");
        assert_eq!(out.stderr, b"err\n");
    }
}

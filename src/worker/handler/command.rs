//! The `command` handler: runs a program (no shell) with the body on stdin.
//!
//! The program sees `HOOKBOX_EVENT_ID`, `HOOKBOX_SOURCE`, `HOOKBOX_ATTEMPT`,
//! `HOOKBOX_IDEMPOTENCY_KEY` and, when known, `HOOKBOX_EVENT_TYPE`; hookbox's own secret
//! variables are removed from its environment. Its stdout is discarded; the tail of its stderr
//! is kept as the attempt's error. Exit 0 succeeds, `permanent_exit_code` is permanent, any
//! other ending is retried. On timeout the program (not its own children) is killed.

use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, Command};

use super::{idempotency_key, tail, Job, Report, MAX_ERROR_BYTES};
use crate::config::CommandConfig;

/// Environment variables hookbox reads secrets from; a handler program never inherits them.
const SECRET_SUFFIXES: &[&str] = &["_WEBHOOK_SECRET", "_FORWARD_SECRET", "_ADMIN_TOKEN"];

/// Runs the program once for `job`.
pub async fn run(cfg: &CommandConfig, job: Job<'_>) -> Report {
    let r = job.record;
    let mut command = Command::new(&cfg.program);
    command
        .args(&cfg.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if SECRET_SUFFIXES.iter().any(|s| text.ends_with(s)) {
            command.env_remove(&name);
        }
    }
    command
        .env("HOOKBOX_EVENT_ID", &r.id)
        .env("HOOKBOX_SOURCE", &r.source)
        .env("HOOKBOX_ATTEMPT", job.attempt().to_string())
        .env("HOOKBOX_IDEMPOTENCY_KEY", idempotency_key(&r.source, &r.id));
    match &r.event_type {
        Some(t) => command.env("HOOKBOX_EVENT_TYPE", t),
        None => command.env_remove("HOOKBOX_EVENT_TYPE"),
    };
    let mut child = match command.spawn() {
        Ok(child) => child,
        // Retried: a missing program or permission is usually fixed by deploying it.
        Err(e) => return Report::transient(format!("could not start the program: {e}")),
    };
    let stdin = child.stdin.take();
    let stderr = child.stderr.take();
    let mut errors = Tail::default();
    let finished = tokio::time::timeout(cfg.timeout, async {
        let (_, _, status) = tokio::join!(feed(stdin, job.body), errors.read(stderr), child.wait());
        status
    })
    .await;
    match finished {
        Ok(Ok(status)) => report_exit(status, cfg.permanent_exit_code).with_detail(errors.text()),
        Ok(Err(e)) => Report::transient(format!("could not wait for the program: {e}")),
        Err(_) => {
            // kill_on_drop would do it too, but reaping here leaves no zombie behind.
            if let Err(e) = child.kill().await {
                tracing::warn!(error = %e, "could not kill the timed-out program");
            }
            Report::transient(format!("timed out after {:?}; killed", cfg.timeout))
                .with_detail(errors.text())
        }
    }
}

/// Success, permanent or transient, from how the program ended.
fn report_exit(status: ExitStatus, permanent_exit_code: Option<i32>) -> Report {
    let Some(code) = status.code() else {
        return Report::transient(describe_signal(status));
    };
    let report = match code {
        0 => Report::success(),
        c if Some(c) == permanent_exit_code => {
            Report::permanent(format!("exit code {c} (permanent)"))
        }
        c => Report::transient(format!("exit code {c}")),
    };
    Report {
        exit_code: Some(code),
        ..report
    }
}

#[cfg(unix)]
fn describe_signal(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(signal) => format!("terminated by signal {signal}"),
        None => "ended without an exit code".to_owned(),
    }
}

#[cfg(not(unix))]
fn describe_signal(_status: ExitStatus) -> String {
    "ended without an exit code".to_owned()
}

/// Writes the body to the program's stdin and closes it. A program that exits without
/// reading everything is not an error here (its exit status says how it went).
async fn feed(stdin: Option<ChildStdin>, body: &[u8]) {
    if let Some(mut stdin) = stdin {
        let _ = stdin.write_all(body).await;
        let _ = stdin.shutdown().await;
    }
}

/// The last bytes a program wrote to stderr, read to its end with bounded memory.
#[derive(Default)]
struct Tail {
    kept: Vec<u8>,
}

impl Tail {
    async fn read(&mut self, stream: Option<impl AsyncRead + Unpin>) {
        let Some(mut stream) = stream else { return };
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut chunk).await {
            self.kept.extend_from_slice(&chunk[..n]);
            if self.kept.len() > 2 * MAX_ERROR_BYTES {
                self.kept.drain(..self.kept.len() - MAX_ERROR_BYTES);
            }
        }
    }

    fn text(&self) -> String {
        // Leave room for the cause in front of it within the stored bound.
        tail(&self.kept, MAX_ERROR_BYTES / 4 * 3)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;
    use crate::store::Outcome;

    #[test]
    fn exit_statuses_map_to_outcomes() {
        let exit = |code: i32| ExitStatus::from_raw(code << 8);
        let ok = report_exit(exit(0), Some(3));
        assert_eq!((ok.outcome, ok.exit_code), (Outcome::Success, Some(0)));
        let perm = report_exit(exit(3), Some(3));
        assert_eq!(
            (perm.outcome, perm.exit_code),
            (Outcome::Permanent, Some(3))
        );
        let again = report_exit(exit(1), Some(3));
        assert_eq!(
            (again.outcome, again.exit_code),
            (Outcome::Transient, Some(1))
        );
        let killed = report_exit(ExitStatus::from_raw(9), None);
        assert_eq!(
            (killed.outcome, killed.exit_code),
            (Outcome::Transient, None)
        );
        assert_eq!(killed.cause.as_deref(), Some("terminated by signal 9"));
    }
}

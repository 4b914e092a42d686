//! The `command` handler: runs a program (no shell) with the body on stdin.
//!
//! The program sees only an allow-listed environment (see [`process::child_env`]) plus
//! `HOOKBOX_EVENT_ID`, `HOOKBOX_SOURCE`, `HOOKBOX_ATTEMPT` (growing across requeues),
//! `HOOKBOX_REQUEUE` (requeues so far), `HOOKBOX_IDEMPOTENCY_KEY` and, when known,
//! `HOOKBOX_EVENT_TYPE`. Its stdout is discarded; the tail of its stderr is kept as the
//! attempt's error. Exit 0 succeeds, `permanent_exit_code` is permanent, any other ending is
//! retried. The attempt ends when the program exits or times out; then its whole process group
//! is killed, so nothing it started outlives the attempt.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, Command};

use super::process::{child_env, ProcessGroup};
use super::{idempotency_key, tail, Job, Report, MAX_ERROR_BYTES};
use crate::config::CommandConfig;

/// After the program ended: how long to keep reading stderr that is already written. Its
/// group is dead by then, so only a process that left the group can hold the pipe this long.
const STDERR_GRACE: Duration = Duration::from_millis(200);

/// Runs the program once for `job`.
pub async fn run(cfg: &CommandConfig, job: Job<'_>) -> Report {
    let r = job.record;
    let mut event = vec![
        ("HOOKBOX_EVENT_ID", r.id.clone()),
        ("HOOKBOX_SOURCE", r.source.clone()),
        ("HOOKBOX_ATTEMPT", job.attempt().to_string()),
        ("HOOKBOX_REQUEUE", job.requeues().to_string()),
        ("HOOKBOX_IDEMPOTENCY_KEY", idempotency_key(&r.source, &r.id)),
    ];
    if let Some(t) = &r.event_type {
        event.push(("HOOKBOX_EVENT_TYPE", t.clone()));
    }
    let mut command = Command::new(&cfg.program);
    command
        .args(&cfg.args)
        .env_clear()
        .envs(child_env(
            std::env::vars_os(),
            &cfg.pass_env,
            &cfg.env,
            &event,
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        // Retried: a missing program or permission is usually fixed by deploying it.
        Err(e) => return Report::transient(format!("could not start the program: {e}")),
    };
    // Declared after `child`, so it is dropped first: a cancelled attempt (shutdown past its
    // deadline) kills the group, then kill_on_drop reaps the program.
    let mut group = ProcessGroup::led_by(child.id());
    let mut stderr = child.stderr.take();
    let mut errors = Tail::default();
    let finished = tokio::time::timeout(cfg.timeout, async {
        let feeding = feed(child.stdin.take(), job.body);
        let reading = errors.read(stderr.as_mut());
        tokio::pin!(feeding, reading);
        let (mut fed, mut read) = (false, false);
        // The program's exit ends the wait; a child it left behind may hold stdin or stderr
        // open indefinitely, so neither is waited for.
        loop {
            tokio::select! {
                status = child.wait() => return status,
                () = &mut feeding, if !fed => fed = true,
                () = &mut reading, if !read => read = true,
            }
        }
    })
    .await;
    if finished.is_err() {
        // kill_on_drop would do it too, but reaping here leaves no zombie behind.
        if let Err(e) = child.kill().await {
            tracing::warn!(error = %e, "could not kill the timed-out program");
        }
    }
    group.end();
    let _ = tokio::time::timeout(STDERR_GRACE, errors.read(stderr.as_mut())).await;
    match finished {
        Ok(Ok(status)) => report_exit(status, cfg.permanent_exit_code).with_detail(errors.text()),
        Ok(Err(e)) => Report::transient(format!("could not wait for the program: {e}")),
        Err(_) => Report::transient(format!("timed out after {:?}; killed", cfg.timeout))
            .with_detail(errors.text()),
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

/// The last bytes a program wrote to stderr, read with bounded memory.
#[derive(Default)]
struct Tail {
    kept: Vec<u8>,
}

impl Tail {
    /// Reads until end of stream. Cancelling it loses nothing: what was read is kept, and a
    /// later call goes on from there.
    async fn read(&mut self, stream: Option<&mut (impl AsyncRead + Unpin)>) {
        let Some(stream) = stream else { return };
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

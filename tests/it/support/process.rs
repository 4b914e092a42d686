//! The real `hookbox serve` binary as a child process, for tests that kill it or run several.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookbox::config::Config;
use http::Method;
use serde_json::Value;

use super::{send, unix_now, Reply};

/// The config of a kill test's child, up to its sources: any free port, public status
/// resources, `storage` (the lines of the `[storage]` table), a short lease (so PostgreSQL
/// rescues a killed instance's claims quickly) and fast retries.
pub fn kill_test_config(storage: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[admin]\npublic_status = true\n\n\
         [storage]\n{storage}\n\n[worker]\nlease_margin = \"1s\"\nretry_schedule = [\"1ms\"]\n\
         max_attempts = 5\njitter = 0.0\n\n"
    )
}

/// Writes `text` to `config.toml` in `dir` for the child to read; returns the path and the
/// config the test reads alongside (to sign with its secrets).
pub fn write_config(dir: &Path, text: &str) -> (std::path::PathBuf, Config) {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    let config = hookbox::config::load_str(text, "config.toml", &|_| None).expect("config");
    (path, config)
}

/// How long the binary may take to report that it started.
const START_LIMIT: Duration = Duration::from_secs(20);
/// Log lines kept to explain a start that failed.
const KEPT_LINES: usize = 20;

/// What the binary reported as it started.
struct Started {
    addr: SocketAddr,
    recovered: u64,
}

/// A running `hookbox serve`, with JSON logs on stderr.
pub struct Hookbox {
    child: Child,
    /// Its newest log lines (JSON).
    log: Arc<Mutex<VecDeque<String>>>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Claims it found still `processing` at start-up and put back in the queue.
    pub recovered: u64,
}

impl Hookbox {
    /// Starts the binary with `config` and waits (bounded) for it to report its address.
    /// Panics with its exit status and last log lines if it stops instead.
    pub async fn start(config: &Path) -> Hookbox {
        Hookbox::start_with_env(config, &[]).await
    }

    /// [`Hookbox::start`] with `env` added to the child's environment only (the test process's
    /// own environment is shared by every test, so tests never change it).
    pub async fn start_with_env(config: &Path, env: &[(&str, &str)]) -> Hookbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookbox"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--log-format", "json"])
            .env("RUST_LOG", "info")
            // The database comes from `config`, not from whatever the developer's shell holds.
            .env_remove("HOOKBOX_DATABASE_URL")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hookbox");
        let stderr = child.stderr.take().expect("stderr");
        let last_lines = Arc::new(Mutex::new(VecDeque::new()));
        let kept = last_lines.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // Keeps draining stderr for the process's lifetime so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(started) = started(&line) {
                    let _ = tx.send(started);
                }
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() == KEPT_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
        match tokio::time::timeout(START_LIMIT, rx.recv()).await {
            Ok(Some(s)) => Hookbox {
                child,
                log: last_lines,
                addr: s.addr,
                recovered: s.recovered,
            },
            _ => {
                let _ = child.kill();
                let status = child.wait();
                let lines = last_lines.lock().unwrap_or_else(|e| e.into_inner()).clone();
                panic!("hookbox did not start ({status:?}); last log lines: {lines:#?}");
            }
        }
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs a JSON event `id` to `/webhooks/<source>`, signed with the source's first secret
    /// in `config`.
    pub async fn deliver(&self, config: &Config, source: &str, id: &str) -> Reply {
        let body = format!(r#"{{"type":"order.created","id":"{id}"}}"#);
        let verifier = &config.source(source).expect("configured source").verifier;
        let mut headers = verifier.sign(&verifier.secrets[0], body.as_bytes(), unix_now(), id);
        headers.push(("content-type".into(), "application/json".into()));
        let url = self.url(&format!("/webhooks/{source}"));
        send(Method::POST, &url, &headers, body.as_bytes()).await
    }

    /// Whether one of its newest log lines contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        let lines = self.log.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().any(|line| line.contains(text))
    }

    /// SIGHUP: the running hookbox reloads its config file.
    pub fn hang_up(&self) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: a plain kill(2) of our own child, which has not been reaped (we hold it).
        let sent = unsafe { libc::kill(pid, libc::SIGHUP) };
        assert_eq!(sent, 0, "SIGHUP");
    }

    /// SIGKILL: no graceful shutdown, no final flush, claims left as they were.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for Hookbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address and recovery count from a "hookbox started" log line.
fn started(line: &str) -> Option<Started> {
    let log: Value = serde_json::from_str(line).ok()?;
    let fields = &log["fields"];
    if fields["message"] != "hookbox started" {
        return None;
    }
    Some(Started {
        addr: fields["listen"].as_str()?.parse().ok()?,
        recovered: fields["recovered"].as_u64().unwrap_or(0),
    })
}

//! Crash recovery with the real binary: hookbox is killed with SIGKILL while a delivery is in
//! flight, restarted on the same data dir, and every event still ends `succeeded` — the one in
//! flight is delivered again, the one already recorded as done is not.
#![cfg(unix)]

mod support;
#[path = "support/target.rs"]
mod target;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hookbox::config::Config;
use http::Method;
use serde_json::Value;
use support::{get, send, unix_now};
use target::{eventually, Answer, Target};

const LIMIT: Duration = Duration::from_secs(20);

/// The `hookbox serve` binary, running with JSON logs on stderr.
struct Hookbox {
    child: Child,
    addr: SocketAddr,
}

impl Hookbox {
    /// Starts the binary with `config` and waits for it to report its address.
    async fn start(config: &Path) -> Hookbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookbox"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--log-format", "json"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hookbox");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // Keeps draining stderr for the process's lifetime so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let Ok(log) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if log["fields"]["message"] == "hookbox started" {
                    let addr = log["fields"]["listen"]
                        .as_str()
                        .and_then(|a| a.parse().ok());
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = tokio::time::timeout(LIMIT, rx.recv()).await;
        let addr = addr
            .ok()
            .flatten()
            .flatten()
            .expect("hookbox reported its address");
        Hookbox { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL: no graceful shutdown, no final flush.
    fn kill(mut self) {
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

async fn deliver(hookbox: &Hookbox, config: &Config, id: &str) {
    let body = format!(r#"{{"type":"order.created","id":"{id}"}}"#);
    let source = config.source("crash").expect("source");
    let secret = &source.verifier.secrets[0];
    let mut headers = source
        .verifier
        .sign(secret, body.as_bytes(), unix_now(), id);
    headers.push(("content-type".into(), "application/json".into()));
    let reply = send(
        Method::POST,
        &hookbox.url("/webhooks/crash"),
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 202, "body: {:?}", reply.body);
}

async fn status_when(hookbox: &Hookbox, id: &str, state: &str) -> Value {
    let url = hookbox.url(&format!("/events/crash/{id}"));
    eventually(&format!("{id} to be {state}"), LIMIT, || async {
        let s = get(&url).await.json();
        (s["state"] == state).then_some(s)
    })
    .await
}

fn config_text(target: &Target, data_dir: &Path) -> String {
    let data_dir = toml::Value::String(data_dir.display().to_string());
    format!(
        r#"
[server]
listen = "127.0.0.1:0"

[admin]
public_status = true

[storage]
data_dir = {data_dir}

[worker]
retry_schedule = ["1ms"]
max_attempts = 5
jitter = 0.0

[sources.crash]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
concurrency = 1

[sources.crash.handler]
type = "forward"
url = "{}"
secret = "whsec_dGVzdC1mb3J3YXJkLXNlY3JldC0xMjM0NTY="
timeout = "30s"
"#,
        target.url()
    )
}

#[tokio::test]
async fn a_kill_loses_nothing_and_reruns_only_what_was_not_recorded() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let text = config_text(&target, &dir.path().join("data"));
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).expect("write config");
    let config = hookbox::config::load_str(&text, "config.toml", &|_| None).expect("config");

    let first = Hookbox::start(&path).await;
    deliver(&first, &config, "done").await;
    status_when(&first, "done", "succeeded").await;

    // The target now holds every request open: `in_flight` is being delivered at the kill.
    target.answer_by_default(Answer::hang());
    deliver(&first, &config, "in_flight").await;
    eventually(
        "the in-flight delivery to reach the target",
        LIMIT,
        || async { (!target.requests_for("crash:in_flight").is_empty()).then_some(()) },
    )
    .await;
    // Accepted after the claim, so their flush makes the claim durable too. Source
    // concurrency 1 keeps them queued behind it.
    deliver(&first, &config, "queued_1").await;
    deliver(&first, &config, "queued_2").await;
    status_when(&first, "in_flight", "processing").await;
    status_when(&first, "queued_2", "queued").await;
    first.kill();

    target.answer_by_default(Answer::status(200));
    target.release();
    let second = Hookbox::start(&path).await;
    for id in ["in_flight", "queued_1", "queued_2"] {
        status_when(&second, id, "succeeded").await;
    }
    let in_flight = status_when(&second, "in_flight", "succeeded").await;
    let outcomes: Vec<&str> = in_flight["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["outcome"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(outcomes, ["abandoned", "success"], "{in_flight}");

    let done = status_when(&second, "done", "succeeded").await;
    assert_eq!(done["attemptCount"], 1, "{done}");
    assert_eq!(
        target.requests_for("crash:done").len(),
        1,
        "a recorded success is not run again"
    );
    let delivered = target.successes_by_key();
    for id in ["done", "in_flight", "queued_1", "queued_2"] {
        assert_eq!(
            delivered.get(&format!("crash:{id}")),
            Some(&1),
            "{id} delivered once"
        );
    }
    second.kill();
}

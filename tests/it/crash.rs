//! Crash recovery with the real binary: hookbox is killed with SIGKILL while a delivery is in
//! flight, restarted on the same data dir, and every event still ends `succeeded` — the one in
//! flight is delivered again, the one already recorded as done is not.
#![cfg(unix)]

use crate::support;
use crate::support::process;
use crate::support::target;

use std::path::Path;
use std::time::Duration;

use hookbox::config::Config;
use process::Hookbox;
use serde_json::Value;
use support::get;
use target::{eventually, Answer, Target};

const LIMIT: Duration = Duration::from_secs(20);

async fn deliver(hookbox: &Hookbox, config: &Config, id: &str) {
    let reply = hookbox.deliver(config, "crash", id).await;
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

/// The test's config on `data_dir` (and, under PostgreSQL, that dir's schema). The lease
/// (handler timeout + margin) is short: PostgreSQL rescues a killed instance's claims only once
/// their lease expires, and the restart must see that within [`LIMIT`].
fn config_text(target: &Target, data_dir: &Path) -> String {
    let text = process::kill_test_config("")
        + &format!(
            r#"
[sources.crash]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
concurrency = 1

[sources.crash.handler]
type = "forward"
url = "{}"
secret = "whsec_dGVzdC1mb3J3YXJkLXNlY3JldC0xMjM0NTY="
timeout = "5s"
"#,
            target.url()
        );
    support::backend::with_storage(&text, data_dir)
}

#[tokio::test]
async fn a_kill_loses_nothing_and_reruns_only_what_was_not_recorded() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let text = config_text(&target, &dir.path().join("data"));
    let (path, config) = process::write_config(dir.path(), &text);

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

//! Requeueing one event (dead, or succeeded as a replay) and bulk-requeueing dead events.

use std::path::Path;

use super::{admin_post, config_with_failing, deliver, list_all, settled, status};
use crate::support::{TestServer, BASE_CONFIG};

/// A source whose command waits until `gate` exists, so its events stay pending meanwhile.
fn config_with_gate(gate: &Path) -> String {
    format!(
        r#"{BASE_CONFIG}
[sources.gated]
scheme = "github"
secrets = ["test-gated"]

[sources.gated.handler]
type = "command"
program = "/bin/sh"
args = ["-c", "while [ ! -e '{}' ]; do sleep 0.01; done"]
timeout = "60s"
"#,
        gate.display()
    )
}

#[tokio::test]
async fn dead_and_succeeded_events_are_requeued_and_the_history_shows_it() {
    let server = TestServer::start(&config_with_failing()).await;
    deliver(&server, "failing", "f1", "{}").await;
    let dead = settled(&server, "failing", "f1", 0).await;
    assert_eq!(
        (dead["state"].as_str(), dead["attemptCount"].as_u64()),
        (Some("dead"), Some(1))
    );

    let reply = admin_post(&server, "/admin/events/failing/f1/requeue").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let requeued = reply.json();
    assert_eq!(requeued["state"], "queued");
    assert_eq!(requeued["attemptCount"], 0, "a fresh round of attempts");
    assert_eq!(requeued["requeues"][0]["previousState"], "dead");
    assert_eq!(requeued["requeues"][0]["previousAttempts"], 1);
    assert!(requeued["requeues"][0]["previousError"].is_string());
    assert!(reply.header("retry-after").is_some(), "pending again");

    // The worker was woken: the event runs again (and, the command being what it is, dies).
    let again = settled(&server, "failing", "f1", 1).await;
    assert_eq!(again["state"], "dead");
    assert_eq!(again["attemptCount"], 1);
    assert_eq!(again["attempts"].as_array().map(Vec::len), Some(2));
    assert_eq!(again["requeueCount"], 1);

    // A succeeded event: a deliberate replay.
    let body = r#"{"id":"evt_r","object":"event","type":"invoice.paid"}"#;
    deliver(&server, "stripe", "", body).await;
    settled(&server, "stripe", "evt_r", 0).await;
    let reply = admin_post(&server, "/admin/events/stripe/evt_r/requeue").await;
    assert_eq!(reply.status, 200);
    let replayed = settled(&server, "stripe", "evt_r", 1).await;
    assert_eq!(replayed["state"], "succeeded");
    assert_eq!(replayed["requeues"][0]["previousState"], "succeeded");
    assert_eq!(replayed["attempts"].as_array().map(Vec::len), Some(2));

    let unknown = admin_post(&server, "/admin/events/stripe/evt_none/requeue").await;
    unknown.assert_problem(404);
    server.stop().await;
}

#[tokio::test]
async fn a_pending_event_cannot_be_requeued() {
    let dir = tempfile::tempdir().expect("dir");
    let gate = dir.path().join("gate");
    let server = TestServer::start(&config_with_gate(&gate)).await;
    deliver(&server, "gated", "g1", "{}").await;

    let reply = admin_post(&server, "/admin/events/gated/g1/requeue").await;
    assert_eq!(
        reply.assert_problem(409),
        "urn:hookbox:problem:state-conflict"
    );
    let state = status(&server, "gated", "g1").await["state"].clone();
    assert!(state == "queued" || state == "processing", "{state}");

    std::fs::write(&gate, b"").expect("open the gate");
    settled(&server, "gated", "g1", 0).await;
    let reply = admin_post(&server, "/admin/events/gated/g1/requeue").await;
    assert_eq!(reply.status, 200, "final now");
    settled(&server, "gated", "g1", 1).await;
    server.stop().await;
}

#[tokio::test]
async fn bulk_requeue_takes_the_dead_events_of_a_source_and_range() {
    let server = TestServer::start(&config_with_failing()).await;
    for i in 0..4 {
        deliver(&server, "failing", &format!("f{i}"), "{}").await;
    }
    deliver(&server, "stripe", "", r#"{"id":"evt_ok","type":"x"}"#).await;
    for i in 0..4 {
        settled(&server, "failing", &format!("f{i}"), 0).await;
    }
    settled(&server, "stripe", "evt_ok", 0).await;

    let reply = admin_post(&server, "/admin/requeue?source=failing").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let done = reply.json();
    assert_eq!(
        (done["requeued"].as_u64(), done["more"].as_bool()),
        (Some(4), Some(false))
    );
    assert!(done.get("nextCursor").is_none());
    for i in 0..4 {
        settled(&server, "failing", &format!("f{i}"), 1).await;
    }

    // until is exclusive: pick the newest event's arrival and requeue everything before it.
    let (dead, _) = list_all(&server, "source=failing&state=dead").await;
    let newest = dead[0]["receivedAt"].as_u64().expect("receivedAt");
    let older = dead
        .iter()
        .filter(|e| e["receivedAt"].as_u64() < Some(newest))
        .count();
    let reply = admin_post(
        &server,
        &format!("/admin/requeue?source=failing&until={newest}"),
    )
    .await;
    assert_eq!(reply.json()["requeued"].as_u64(), Some(older as u64));

    let none = admin_post(&server, "/admin/requeue?source=stripe").await;
    assert_eq!(
        none.json()["requeued"],
        0,
        "succeeded events are not bulk-requeued"
    );
    let bad = admin_post(&server, "/admin/requeue?state=dead").await;
    assert_eq!(bad.assert_problem(400), "urn:hookbox:problem:invalid-query");
    server.stop().await;
}

#[tokio::test]
async fn attempt_numbers_keep_growing_across_requeues_and_handlers_see_the_requeue() {
    let toml = format!(
        r#"{BASE_CONFIG}
[sources.counting]
scheme = "github"
secrets = ["test-counting"]

[sources.counting.handler]
type = "command"
program = "/bin/sh"
args = ["-c", "echo \"attempt=$HOOKBOX_ATTEMPT requeue=$HOOKBOX_REQUEUE\" >&2; exit 3"]
permanent_exit_code = 3
"#
    );
    let server = TestServer::start(&toml).await;
    deliver(&server, "counting", "c1", "{}").await;
    let first = settled(&server, "counting", "c1", 0).await;
    assert_eq!(
        first["attempts"][0]["error"],
        "exit code 3 (permanent): attempt=1 requeue=0"
    );
    let reply = admin_post(&server, "/admin/events/counting/c1/requeue").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    let again = settled(&server, "counting", "c1", 1).await;
    let attempts = again["attempts"].as_array().expect("attempts");
    let numbers: Vec<u64> = attempts
        .iter()
        .filter_map(|a| a["number"].as_u64())
        .collect();
    assert_eq!(numbers, [1, 2], "{again}");
    assert_eq!(
        attempts[1]["error"],
        "exit code 3 (permanent): attempt=2 requeue=1"
    );
    // One naming convention throughout the resource.
    assert!(
        attempts[1]["startedAt"].is_u64() && attempts[1]["durationMs"].is_u64(),
        "{again}"
    );
    assert_eq!(attempts[1]["exitCode"], 3);
    server.stop().await;
}

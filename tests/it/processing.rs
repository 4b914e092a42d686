//! Forwarding over real HTTP: events go in through `/webhooks/app`, the worker forwards them to
//! a real loopback application whose answers each test scripts, and the status resource shows
//! how each attempt went. Retry schedules are milliseconds; every wait is a bounded poll.

use crate::support;
use crate::support::flow;
use crate::support::target;

use std::collections::HashSet;

use flow::{
    attempts, config, deliver, forward, forward_verifier, outcomes, settled, FAST, FORWARD_SECRET,
};
use http::Method;
use serde_json::Value;
use support::{send, unix_now, TestServer};
use target::{eventually, Answer, Target};

#[tokio::test]
async fn forward_retries_server_errors_then_succeeds_with_one_stable_key() {
    let target = Target::start().await;
    target.script([
        Answer::status(500),
        Answer::status(500).body("still broken"),
    ]);
    let server = TestServer::start(&config(FAST, &forward(&target, ""))).await;
    let body = r#"{"type":"invoice.paid","amount":42}"#;
    deliver(&server, "evt_1", body, &[("x-trace", "trace-7")]).await;

    let s = settled(&server, "evt_1").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    assert_eq!(s["attemptCount"], 3);
    assert_eq!(outcomes(&s), ["transient", "transient", "success"]);
    let statuses: Vec<&Value> = attempts(&s).iter().map(|a| &a["status"]).collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert!(attempts(&s)[1]["error"]
        .as_str()
        .is_some_and(|e| e.contains("still broken")));

    let seen = target.requests_for("app:evt_1");
    assert_eq!(
        seen.len(),
        3,
        "the target saw the same idempotency key three times"
    );
    for (i, request) in seen.iter().enumerate() {
        assert_eq!(
            forward_verifier().verify(&request.headers, &request.body, unix_now()),
            Ok(())
        );
        assert_eq!(request.body.as_ref(), body.as_bytes());
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("x-trace"), Some("trace-7"));
        assert_eq!(request.header("hookbox-event-id"), Some("evt_1"));
        assert_eq!(request.header("hookbox-event-type"), Some("invoice.paid"));
        assert_eq!(
            request.header("hookbox-attempt"),
            Some((i + 1).to_string().as_str())
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_error_is_dead_after_one_attempt_with_the_reason() {
    let target = Target::start().await;
    target.answer_by_default(Answer::status(400).body("missing field customer"));
    let server = TestServer::start(&config(FAST, &forward(&target, ""))).await;
    deliver(&server, "evt_bad", "{}", &[]).await;

    let s = settled(&server, "evt_bad").await;
    assert_eq!(s["state"], "dead", "{s}");
    assert_eq!(s["attemptCount"], 1);
    assert_eq!(outcomes(&s), ["permanent"]);
    assert_eq!(attempts(&s)[0]["status"], 400);
    let reason = s["lastError"].as_str().expect("a reason");
    assert_eq!(
        reason,
        "permanent failure: HTTP 400: missing field customer"
    );
    assert_eq!(target.requests_for("app:evt_bad").len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn statuses_listed_in_retry_statuses_are_retried() {
    let target = Target::start().await;
    target.script([Answer::status(409)]);
    let server =
        TestServer::start(&config(FAST, &forward(&target, "retry_statuses = [409]"))).await;
    deliver(&server, "evt_conflict", "{}", &[]).await;

    let s = settled(&server, "evt_conflict").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    assert_eq!(outcomes(&s), ["transient", "success"]);
    server.stop().await;
}

#[tokio::test]
async fn retry_after_delays_the_next_attempt() {
    let target = Target::start().await;
    target.script([Answer::status(429).header("retry-after", "1")]);
    let server = TestServer::start(&config(FAST, &forward(&target, ""))).await;
    deliver(&server, "evt_busy", "{}", &[]).await;

    let s = settled(&server, "evt_busy").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    assert_eq!(outcomes(&s), ["transient", "success"]);
    let (first, second) = (&attempts(&s)[0], &attempts(&s)[1]);
    assert_eq!(first["status"], 429);
    let ms = |v: &Value| v.as_u64().expect("a number");
    let first_end = ms(&first["startedAt"]) + ms(&first["durationMs"]);
    let gap = ms(&second["startedAt"]).saturating_sub(first_end);
    assert!(
        gap >= 1000,
        "the retry came {gap} ms after the 429, before its Retry-After: 1"
    );
    server.stop().await;
}

#[tokio::test]
async fn exhausting_max_attempts_leaves_the_event_dead() {
    let target = Target::start().await;
    target.answer_by_default(Answer::status(503));
    let worker = format!("{FAST}\nmax_attempts = 3");
    let server = TestServer::start(&config(&worker, &forward(&target, ""))).await;
    deliver(&server, "evt_down", "{}", &[]).await;

    let s = settled(&server, "evt_down").await;
    assert_eq!(s["state"], "dead", "{s}");
    assert_eq!(s["attemptCount"], 3);
    assert_eq!(outcomes(&s), ["transient"; 3]);
    assert_eq!(s["lastError"], "gave up after 3 attempts: HTTP 503");
    assert_eq!(target.requests_for("app:evt_down").len(), 3);
    server.stop().await;
}

#[tokio::test]
async fn connection_failures_and_timeouts_are_transient() {
    // A port nobody listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let handler = format!(
        "type = \"forward\"\nurl = \"http://{closed}/hook\"\nsecret = \"{FORWARD_SECRET}\"\ntimeout = \"5s\""
    );
    let worker = format!("{FAST}\nmax_attempts = 2");
    let server = TestServer::start(&config(&worker, &handler)).await;
    deliver(&server, "evt_refused", "{}", &[]).await;
    let s = settled(&server, "evt_refused").await;
    assert_eq!(s["state"], "dead", "{s}");
    assert_eq!(outcomes(&s), ["transient", "transient"]);
    assert!(attempts(&s)[0]["status"].is_null());
    let error = attempts(&s)[0]["error"].as_str().unwrap_or("");
    assert!(error.starts_with("request failed"), "{error}");
    server.stop().await;

    let target = Target::start().await;
    target.answer_by_default(Answer::hang());
    let worker = format!("{FAST}\nmax_attempts = 1");
    let server =
        TestServer::start(&config(&worker, &forward(&target, "timeout = \"200ms\""))).await;
    deliver(&server, "evt_slow", "{}", &[]).await;
    let s = settled(&server, "evt_slow").await;
    assert_eq!(s["state"], "dead", "{s}");
    assert_eq!(outcomes(&s), ["transient"]);
    assert!(
        s["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("no answer within 200ms")),
        "{s}"
    );
    target.release();
    server.stop().await;
}

#[tokio::test]
async fn the_log_handler_succeeds_at_once() {
    let server = TestServer::start(&config(FAST, "type = \"log\"")).await;
    deliver(&server, "evt_log", r#"{"type":"ping"}"#, &[]).await;
    let s = settled(&server, "evt_log").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    assert_eq!(s["attemptCount"], 1);
    server.stop().await;
}

#[tokio::test]
async fn a_thousand_events_queued_while_the_target_is_down_are_each_delivered_once() {
    // A thousand PostgreSQL round trips per pass on a loaded 2-core machine took 19 s of the
    // usual 20 s bound: a bound, not a speed check, so it is wider here.
    const THOUSAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);
    const EVENTS: usize = 1000;
    let target = Target::start().await;
    target.answer_by_default(Answer::status(503));
    // Every event must be tried while the target is down, so its circuit must not open (that
    // is tests/it/destinations.rs); all 32 slots may go to the one destination.
    let worker = "concurrency = 32\nretry_schedule = [\"100ms\"]\nmax_attempts = 1000\n\
                  jitter = 0.0\ncircuit_failures = 1000000\ndestination_concurrency = 32";
    let server = TestServer::start(&config(worker, &forward(&target, ""))).await;

    let ids: Vec<String> = (0..EVENTS).map(|i| format!("evt_{i:04}")).collect();
    for chunk in ids.chunks(50) {
        let mut sends = tokio::task::JoinSet::new();
        for id in chunk {
            let body = format!(r#"{{"type":"bulk","id":"{id}"}}"#);
            let headers = server.sign("app", body.as_bytes(), id);
            let url = server.url("/webhooks/app");
            sends.spawn(async move { send(Method::POST, &url, &headers, body.as_bytes()).await });
        }
        while let Some(reply) = sends.join_next().await {
            assert_eq!(reply.expect("send task").status.as_u16(), 202);
        }
    }
    // Every event has failed at least once before the target comes back.
    eventually(
        "every event to be tried while the target is down",
        THOUSAND_LIMIT,
        || async {
            let tried: HashSet<String> =
                target.inspect(|seen| seen.iter().map(|s| s.key().to_owned()).collect());
            (tried.len() == EVENTS).then_some(())
        },
    )
    .await;
    assert!(target.successes_by_key().is_empty());

    target.answer_by_default(Answer::status(200));
    eventually("every event to be delivered", THOUSAND_LIMIT, || async {
        (target.successes_by_key().len() == EVENTS).then_some(())
    })
    .await;
    for id in &ids {
        let s = settled(&server, id).await;
        assert_eq!(s["state"], "succeeded", "{s}");
    }
    let delivered = target.successes_by_key();
    for id in &ids {
        assert_eq!(
            delivered.get(&format!("app:{id}")),
            Some(&1),
            "{id} delivered exactly once"
        );
    }
    server.stop().await;
}

//! Per-key ordering over real HTTP, on PostgreSQL when the suite runs on it and on redb
//! otherwise (sled refuses `ordering_key` at config load): events of one key reach the
//! application one at a time in arrival order while other keys go ahead; a dead head blocks its
//! key until requeued or discarded, or is skipped; and a SIGKILL of the real binary
//! mid-sequence keeps the order.

use crate::support;
use crate::support::flow;
use crate::support::target;

use std::path::Path;

use flow::{config, deliver, forward, settled, status, status_when, FAST, LIMIT};
use hookbox::config::{Config, StorageBackend};
use hookbox::verify::Secret;
use serde_json::Value;
use support::{config_in, get_as, post_as, TestServer};
use target::{eventually, Answer, Target};

pub(crate) const TOKEN: &str = "test-ordering-admin-token";

/// The `app` source forwarding to `target`, ordered by the body's `/customer`, in `dir`: on
/// PostgreSQL when the suite runs on it, else on redb (also when the suite runs on sled).
pub(crate) fn ordered_config(target: &Target, on_dead: &str, dir: &Path) -> Config {
    let text = config(FAST, &forward(target, "")).replace(
        "keep_headers = [\"x-trace\"]",
        &format!(
            "keep_headers = [\"x-trace\"]\nordering_key = \"/customer\"\non_dead = \"{on_dead}\""
        ),
    );
    let mut config = config_in(&text, dir);
    if support::backend::postgres_under_test().is_none() {
        config.storage.backend = StorageBackend::Redb;
    }
    config.admin.token = Some(Secret::new(TOKEN));
    config
}

pub(crate) fn body(customer: &str, n: u32) -> String {
    format!(r#"{{"customer":"{customer}","n":{n}}}"#)
}

/// Ids of the requests `target` received, in arrival order (the idempotency key is `app:<id>`).
fn arrivals(target: &Target) -> Vec<(String, Option<u16>)> {
    target.inspect(|seen| {
        seen.iter()
            .map(|s| (s.key().trim_start_matches("app:").to_owned(), s.status))
            .collect()
    })
}

/// Asserts that the requests for `ids` reached the target strictly one after the other: every
/// request for an id came after the last request for the id before it.
fn assert_in_order(target: &Target, ids: &[&str]) {
    let seen = arrivals(target);
    let positions = |id: &str| -> Vec<usize> {
        let at: Vec<usize> = (0..seen.len()).filter(|&i| seen[i].0 == id).collect();
        assert!(!at.is_empty(), "{id} never reached the target: {seen:?}");
        at
    };
    for pair in ids.windows(2) {
        let last_of_earlier = *positions(pair[0]).last().expect("seen");
        let first_of_later = positions(pair[1])[0];
        assert!(
            last_of_earlier < first_of_later,
            "{} overtook {}: {seen:?}",
            pair[1],
            pair[0]
        );
    }
}

async fn admin_ordering(server: &TestServer) -> Value {
    let reply = get_as(&server.url("/admin/ordering?source=app"), Some(TOKEN)).await;
    assert_eq!(reply.status.as_u16(), 200, "body: {:?}", reply.body);
    reply.json()
}

#[tokio::test]
async fn one_key_waits_for_its_head_while_other_keys_proceed() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(ordered_config(&target, "block", dir.path())).await;
    // a1's first request hangs; everything else answers 200.
    target.script([Answer::hang()]);
    deliver(&server, "a1", &body("A", 1), &[]).await;
    eventually("a1 to reach the target", LIMIT, || async {
        (!target.requests_for("app:a1").is_empty()).then_some(())
    })
    .await;
    for (id, customer, n) in [
        ("a2", "A", 2),
        ("b1", "B", 1),
        ("a3", "A", 3),
        ("b2", "B", 2),
    ] {
        deliver(&server, id, &body(customer, n), &[]).await;
    }
    deliver(&server, "x1", r#"{"n":1}"#, &[]).await; // no key: unordered

    for id in ["b1", "b2", "x1"] {
        assert_eq!(settled(&server, id).await["state"], "succeeded");
    }
    let a2 = status(&server, "a2").await;
    assert_eq!(a2["state"], "queued", "{a2}");
    assert_eq!(a2["orderingKey"], "A");
    assert_eq!(a2["waitingFor"]["eventId"], "a1", "{a2}");
    assert_eq!(a2["waitingFor"]["state"], "processing", "{a2}");
    assert!(target.requests_for("app:a2").is_empty() && target.requests_for("app:a3").is_empty());
    let listing = admin_ordering(&server).await;
    let keys = listing["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "only A holds events back: {listing}");
    assert_eq!(keys[0]["key"], "A");
    assert_eq!(keys[0]["head"]["eventId"], "a1");
    assert_eq!(
        (keys[0]["waiting"].as_u64(), keys[0]["blocked"].as_bool()),
        (Some(2), Some(false))
    );

    target.release(); // a1 gets a 503, is retried and succeeds; then a2, then a3
    for id in ["a1", "a2", "a3"] {
        assert_eq!(settled(&server, id).await["state"], "succeeded");
    }
    assert_in_order(&target, &["a1", "a2", "a3"]);
    assert_in_order(&target, &["b1", "b2"]);
    let b2 = status(&server, "b2").await;
    assert!(b2.get("waitingFor").is_none(), "{b2}");
    server.stop().await;
}

#[tokio::test]
async fn a_dead_head_blocks_its_key_until_requeued() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(ordered_config(&target, "block", dir.path())).await;
    target.script([Answer::status(400)]);
    deliver(&server, "e1", &body("K", 1), &[]).await;
    deliver(&server, "e2", &body("K", 2), &[]).await;
    assert_eq!(settled(&server, "e1").await["state"], "dead");
    let e2 = status(&server, "e2").await;
    assert_eq!(e2["waitingFor"]["eventId"], "e1", "{e2}");
    assert_eq!(e2["waitingFor"]["state"], "dead", "{e2}");
    assert!(target.requests_for("app:e2").is_empty());

    let listing = admin_ordering(&server).await;
    assert_eq!(listing["keys"][0]["blocked"], true, "{listing}");
    assert_eq!(listing["keys"][0]["waiting"], 1, "{listing}");
    let metrics = get_as(&server.url("/metrics"), None).await.body;
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics
            .lines()
            .any(|l| l == "hookbox_ordering_blocked_keys{source=\"app\"} 1"),
        "{metrics}"
    );

    let requeued = post_as(&server.url("/admin/events/app/e1/requeue"), Some(TOKEN)).await;
    assert_eq!(requeued.status.as_u16(), 200, "body: {:?}", requeued.body);
    for id in ["e1", "e2"] {
        assert_eq!(settled(&server, id).await["state"], "succeeded");
    }
    assert_in_order(&target, &["e1", "e2"]);
    let listing = admin_ordering(&server).await;
    assert_eq!(listing["keys"], serde_json::json!([]), "{listing}");
    server.stop().await;
}

#[tokio::test]
async fn discarding_a_dead_head_lets_its_key_move_on() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(ordered_config(&target, "block", dir.path())).await;
    target.script([Answer::status(400)]);
    deliver(&server, "d1", &body("K", 1), &[]).await;
    deliver(&server, "d2", &body("K", 2), &[]).await;
    assert_eq!(settled(&server, "d1").await["state"], "dead");
    assert_eq!(status(&server, "d2").await["waitingFor"]["eventId"], "d1");

    let auth = support::bearer(Some(TOKEN));
    let url = server.url("/admin/events/app/d1");
    let discarded = support::send(http::Method::DELETE, &url, &auth, b"").await;
    assert_eq!(discarded.status.as_u16(), 200, "body: {:?}", discarded.body);
    assert_eq!(settled(&server, "d2").await["state"], "succeeded");
    assert_eq!(
        target.requests_for("app:d1").len(),
        1,
        "d1 never runs again"
    );
    let listing = admin_ordering(&server).await;
    assert_eq!(listing["keys"], serde_json::json!([]), "{listing}");
    server.stop().await;
}

#[tokio::test]
async fn skip_lets_the_next_event_of_a_dead_head_through() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(ordered_config(&target, "skip", dir.path())).await;
    target.script([Answer::status(400)]);
    deliver(&server, "e1", &body("K", 1), &[]).await;
    deliver(&server, "e2", &body("K", 2), &[]).await;
    assert_eq!(settled(&server, "e2").await["state"], "succeeded");
    assert_eq!(status(&server, "e1").await["state"], "dead");
    assert_in_order(&target, &["e1", "e2"]);
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_kill_mid_sequence_keeps_the_order() {
    use support::process::Hookbox;

    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    // Every event the binary's helper sends has "type":"order.created": one key.
    let data = dir.path().join("data");
    let postgres = support::backend::postgres_under_test().is_some();
    // On PostgreSQL the schema of the data dir; else redb in it, also when the suite runs on sled.
    let storage = match postgres {
        true => String::new(),
        false => format!(
            "data_dir = {}",
            toml::Value::String(data.display().to_string())
        ),
    };
    let text = support::process::kill_test_config(&storage)
        + &format!(
            r#"
[sources.crash]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
ordering_key = "/type"

[sources.crash.handler]
type = "forward"
url = "{url}"
secret = "whsec_dGVzdC1mb3J3YXJkLXNlY3JldC0xMjM0NTY="
timeout = "5s"
"#,
            url = target.url()
        );
    let text = match postgres {
        true => support::backend::with_storage(&text, &data),
        false => text,
    };
    let (path, config) = support::process::write_config(dir.path(), &text);
    let first = Hookbox::start(&path).await;
    crash_deliver(&first, &config, "e1").await;
    eventually("e1 to succeed", LIMIT, || async {
        (state_of(&first, "e1").await == "succeeded").then_some(())
    })
    .await;
    target.answer_by_default(Answer::hang());
    crash_deliver(&first, &config, "e2").await;
    eventually("e2 to reach the target", LIMIT, || async {
        (!target.requests_for("crash:e2").is_empty()).then_some(())
    })
    .await;
    for id in ["e3", "e4", "e5"] {
        crash_deliver(&first, &config, id).await;
    }
    assert_eq!(state_of(&first, "e5").await, "queued");
    first.kill();

    target.answer_by_default(Answer::status(200));
    target.release();
    let second = Hookbox::start(&path).await;
    if !postgres {
        assert_eq!(second.recovered, 1, "e2 was processing");
    } // PostgreSQL rescues e2 when its lease (5 s timeout + 1 s margin) expires, still the head.
    for id in ["e2", "e3", "e4", "e5"] {
        eventually(&format!("{id} to succeed"), LIMIT, || async {
            (state_of(&second, id).await == "succeeded").then_some(())
        })
        .await;
    }
    // Each event's requests are contiguous (none overlapped another's), in arrival order.
    let seen: Vec<String> =
        target.inspect(|seen| seen.iter().map(|s| s.key().to_owned()).collect());
    let mut runs: Vec<&str> = seen.iter().map(String::as_str).collect();
    runs.dedup();
    let expected: Vec<String> = (1..=5).map(|n| format!("crash:e{n}")).collect();
    assert_eq!(runs, expected, "{seen:?}");
    second.kill();
}

async fn crash_deliver(hookbox: &support::process::Hookbox, config: &Config, id: &str) {
    let reply = hookbox.deliver(config, "crash", id).await;
    assert_eq!(reply.status.as_u16(), 202, "body: {:?}", reply.body);
}

async fn state_of(hookbox: &support::process::Hookbox, id: &str) -> Value {
    let url = hookbox.url(&format!("/events/crash/{id}"));
    get_as(&url, None).await.json()["state"].clone()
}

#[tokio::test]
async fn a_waiting_event_is_not_due_and_a_duplicate_of_it_stays_queued() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(ordered_config(&target, "block", dir.path())).await;
    target.script([Answer::hang()]);
    deliver(&server, "h1", &body("H", 1), &[]).await;
    eventually("h1 to reach the target", LIMIT, || async {
        (!target.requests_for("app:h1").is_empty()).then_some(())
    })
    .await;
    deliver(&server, "h2", &body("H", 2), &[]).await;
    let again = deliver(&server, "h2", &body("H", 2), &[]).await;
    assert_eq!(again.json()["state"], "queued");
    let waiting = status_when(&server, "h2", "waiting", |s| s.get("waitingFor").is_some()).await;
    assert_eq!(waiting["nextAttemptAt"], Value::Null, "{waiting}");
    let other = get_as(&server.url("/admin/ordering?source=nope"), Some(TOKEN)).await;
    assert_eq!(other.json()["keys"], serde_json::json!([]));
    target.release();
    assert_eq!(settled(&server, "h2").await["state"], "succeeded");
    server.stop().await;
}

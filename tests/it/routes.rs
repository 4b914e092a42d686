//! `[[sources.<name>.routes]]`: one source, several destinations with filters. Each route's
//! delivery has its own state, attempts and dead letter; the event's status resource shows them
//! together; a route whose filter does not match is recorded `skipped`; requeue works per route.

use http::Method;
use serde_json::Value;

use crate::support::flow::{self, FORWARD_SECRET, LIMIT};
use crate::support::target::{eventually, Answer, Target};
use crate::support::{config_in, get, post_as, send, Reply, TestServer, TEST_ADMIN_TOKEN};
use hookbox::config::StorageBackend;

/// Source `app` with routes `billing` (invoice events in live mode, to `billing`), `audit`
/// (everything, to `audit`) and `refunds` (`charge.refunded`, logged).
fn routed_config(billing: &Target, audit: &Target) -> String {
    let audit = format!(
        "handler = {{ type = \"forward\", url = \"{}\", secret = \"{FORWARD_SECRET}\" }}",
        audit.url()
    );
    flow::routed_config_with(billing, "match = { \"/livemode\" = true }", &audit)
}

pub(crate) async fn post(server: &TestServer, id: &str, body: &str) -> Reply {
    let headers = server.sign("app", body.as_bytes(), id);
    send(
        Method::POST,
        &server.url("/webhooks/app"),
        &headers,
        body.as_bytes(),
    )
    .await
}

pub(crate) async fn status(server: &TestServer, path: &str) -> Value {
    let reply = get(&server.url(path)).await;
    assert_eq!(reply.status.as_u16(), 200, "{path}: {:?}", reply.body);
    reply.json()
}

/// Polls `path` until its `state` is final.
pub(crate) async fn settled(server: &TestServer, path: &str) -> Value {
    eventually(&format!("{path} to settle"), LIMIT, || async {
        let s = status(server, path).await;
        matches!(s["state"].as_str(), Some("succeeded" | "dead" | "skipped")).then_some(s)
    })
    .await
}

/// Each route's `(name, state)` in a routed status.
fn route_states(status: &Value) -> Vec<(String, String)> {
    let routes = status["routes"].as_array().expect("routes");
    routes
        .iter()
        .map(|r| {
            let name = r["route"].as_str().unwrap_or("?").to_owned();
            (name, r["state"].as_str().unwrap_or("?").to_owned())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

async fn listed(server: &TestServer, query: &str) -> usize {
    let page = status(server, &format!("/admin/events?{query}")).await;
    page["items"].as_array().expect("items").len()
}

#[tokio::test]
async fn each_route_takes_the_events_its_filter_matches_and_skips_the_rest() {
    let (billing, audit) = (Target::start().await, Target::start().await);
    let server = TestServer::start(&routed_config(&billing, &audit)).await;

    let live = r#"{"type":"invoice.paid","livemode":true}"#;
    let reply = post(&server, "evt_live", live).await;
    assert_eq!(reply.status.as_u16(), 202, "{:?}", reply.body);
    assert_eq!(reply.header("location"), Some("/events/app/evt_live"));
    let test_mode = r#"{"type":"invoice.paid","livemode":false}"#;
    assert_eq!(
        post(&server, "evt_test", test_mode).await.status.as_u16(),
        202
    );

    let s = settled(&server, "/events/app/evt_live").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    let expected = [
        ("billing", "succeeded"),
        ("audit", "succeeded"),
        ("refunds", "skipped"),
    ];
    assert_eq!(route_states(&s), pairs(&expected), "{s}");
    assert_eq!(s["routes"][0]["location"], "/events/app:billing/evt_live");
    let s = settled(&server, "/events/app/evt_test").await;
    let expected = [
        ("billing", "skipped"),
        ("audit", "succeeded"),
        ("refunds", "skipped"),
    ];
    assert_eq!(route_states(&s), pairs(&expected), "{s}");

    // Each application got what its route took, once, under a key of its own route.
    let billing_keys =
        billing.inspect(|seen| seen.iter().map(|s| s.key().to_owned()).collect::<Vec<_>>());
    assert_eq!(billing_keys, ["app:billing:evt_live"]);
    assert_eq!(audit.inspect(|seen| seen.len()), 2);

    // A route's delivery has its own status resource.
    let one = status(&server, "/events/app:billing/evt_live").await;
    assert_eq!(
        (one["source"].as_str(), one["route"].as_str()),
        (Some("app"), Some("billing"))
    );
    assert_eq!(one["attempts"].as_array().map(Vec::len), Some(1));

    // A provider retry is a duplicate for every route, and nothing runs again.
    let again = post(&server, "evt_live", live).await;
    assert_eq!(again.status.as_u16(), 200, "{:?}", again.body);
    assert_eq!(again.json()["status"], "duplicate");

    // The admin listing has one row per route delivery, filtered by source and route.
    assert_eq!(listed(&server, "source=app").await, 6);
    assert_eq!(listed(&server, "source=app&route=audit").await, 2);
    assert_eq!(listed(&server, "state=skipped").await, 3);
    assert_eq!(listed(&server, "id=evt_live").await, 3);
    let counts = status(&server, "/admin/counts?source=app&route=refunds").await;
    assert_eq!(counts["counts"]["skipped"], 2, "{counts}");
    server.stop().await;
    assert_eq!(billing.inspect(|seen| seen.len()), 1);
    assert_eq!(audit.inspect(|seen| seen.len()), 2);
}

#[tokio::test]
async fn a_failing_route_goes_dead_alone_and_is_requeued_alone() {
    let (billing, audit) = (Target::start().await, Target::start().await);
    billing.answer_by_default(Answer::status(500));
    let server = TestServer::start(&routed_config(&billing, &audit)).await;
    let body = r#"{"type":"invoice.paid","livemode":true}"#;
    assert_eq!(post(&server, "evt_1", body).await.status.as_u16(), 202);

    let s = settled(&server, "/events/app/evt_1").await;
    assert_eq!(s["state"], "dead", "{s}");
    let expected = [
        ("billing", "dead"),
        ("audit", "succeeded"),
        ("refunds", "skipped"),
    ];
    assert_eq!(route_states(&s), pairs(&expected), "{s}");
    assert_eq!(listed(&server, "state=dead").await, 1);

    // Fix the application, requeue that route only: audit is not delivered again.
    billing.answer_by_default(Answer::status(200));
    let url = server.url("/admin/events/app:billing/evt_1/requeue");
    let requeued = post_as(&url, Some(TEST_ADMIN_TOKEN)).await;
    assert_eq!(requeued.status.as_u16(), 200, "{:?}", requeued.body);
    let one = settled(&server, "/events/app:billing/evt_1").await;
    assert_eq!(one["state"], "succeeded", "{one}");
    let s = status(&server, "/events/app/evt_1").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    assert_eq!(audit.inspect(|seen| seen.len()), 1);

    // A skipped route has nothing to requeue.
    let url = server.url("/admin/events/app:refunds/evt_1/requeue");
    post_as(&url, Some(TEST_ADMIN_TOKEN))
        .await
        .assert_problem(409);
    server.stop().await;
}

/// Ordering is per route: a dead head blocks its key on its own route only, and the route's
/// line resumes in order once the head is requeued. On PostgreSQL when the suite runs on it,
/// else on redb (sled refuses ordering).
#[tokio::test]
async fn ordering_and_its_blocked_keys_are_per_route() {
    let (billing, audit) = (Target::start().await, Target::start().await);
    billing.answer_by_default(Answer::status(500));
    let text = routed_config(&billing, &audit).replace(
        "name = \"billing\"\n",
        "name = \"billing\"\nordering_key = \"/customer\"\n",
    );
    let dir = tempfile::tempdir().expect("dir");
    let mut config = config_in(&text, dir.path());
    if crate::support::backend::postgres_under_test().is_none() {
        config.storage.backend = StorageBackend::Redb;
    }
    let server = TestServer::start_with(config).await;
    let event =
        |n: u32| format!(r#"{{"type":"invoice.paid","livemode":true,"customer":"c1","n":{n}}}"#);
    assert_eq!(post(&server, "e1", &event(1)).await.status.as_u16(), 202);
    let first = settled(&server, "/events/app:billing/e1").await;
    assert_eq!(first["state"], "dead", "{first}");
    assert_eq!(post(&server, "e2", &event(2)).await.status.as_u16(), 202);

    // audit is not ordered: e2 reaches it while billing's e2 waits behind the dead e1.
    settled(&server, "/events/app:audit/e2").await;
    let waiting = status(&server, "/events/app:billing/e2").await;
    assert_eq!(waiting["state"], "queued", "{waiting}");
    assert_eq!(waiting["waitingFor"]["eventId"], "e1", "{waiting}");
    let keys = status(&server, "/admin/ordering?source=app").await;
    let key = &keys["keys"][0];
    assert_eq!(
        (key["route"].as_str(), key["blocked"].as_bool()),
        (Some("billing"), Some(true))
    );
    assert_eq!(key["waiting"], 1, "{keys}");

    billing.answer_by_default(Answer::status(200));
    let url = server.url("/admin/events/app:billing/e1/requeue");
    assert_eq!(
        post_as(&url, Some(TEST_ADMIN_TOKEN)).await.status.as_u16(),
        200
    );
    let done = settled(&server, "/events/app/e2").await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let delivered: Vec<String> = billing.inspect(|seen| {
        seen.iter()
            .filter(|s| s.status == Some(200))
            .map(|s| s.key().to_owned())
            .collect()
    });
    assert_eq!(delivered, ["app:billing:e1", "app:billing:e2"]);
    server.stop().await;
}

/// An event still queued under a source when routes are added to it has no handler any more:
/// it goes dead saying why, instead of being lost or run by a guess.
#[tokio::test]
async fn an_event_queued_before_its_source_had_routes_goes_dead_saying_why() {
    let (billing, audit) = (Target::start().await, Target::start().await);
    billing.answer_by_default(Answer::status(503));
    let dir = tempfile::tempdir().expect("dir");
    let worker = "retry_schedule = [\"20ms\"]\nmax_attempts = 1000\njitter = 0.0\n\
                  circuit_failures = 1000000";
    let plain = flow::config(worker, &flow::forward(&billing, ""));
    let first = TestServer::start_in(&plain, dir.path()).await;
    flow::deliver(&first, "old", r#"{"type":"invoice.paid"}"#, &[]).await;
    eventually("the old event to be tried", LIMIT, || async {
        (billing.inspect(|seen| seen.len()) > 0).then_some(())
    })
    .await;
    first.stop().await;

    let second = TestServer::start_in(&routed_config(&billing, &audit), dir.path()).await;
    let s = settled(&second, "/events/app/old").await;
    assert_eq!(s["state"], "dead", "{s}");
    let error = s["routes"][0]["lastError"].as_str().unwrap_or("");
    assert!(error.contains("has routes now"), "{s}");
    assert_eq!(audit.inspect(|seen| seen.len()), 0);
    // Still a duplicate: its id stays known under the source's own stream.
    let again = post(&second, "old", r#"{"type":"invoice.paid"}"#).await;
    assert_eq!(again.status.as_u16(), 200, "{:?}", again.body);
    second.stop().await;
}

/// A provider retry of an event whose routes are not all final is answered for the whole event
/// (202, `processing`), whichever route the store found first.
#[tokio::test]
async fn a_duplicate_is_answered_with_the_overall_state() {
    let (billing, audit) = (Target::start().await, Target::start().await);
    billing.answer_by_default(Answer::hang());
    let server = TestServer::start(&routed_config(&billing, &audit)).await;
    let body = r#"{"type":"invoice.paid","livemode":true}"#;
    assert_eq!(post(&server, "evt_busy", body).await.status.as_u16(), 202);
    settled(&server, "/events/app:audit/evt_busy").await;
    eventually("billing to hold the delivery", LIMIT, || async {
        (billing.inspect(|seen| seen.len()) == 1).then_some(())
    })
    .await;

    let again = post(&server, "evt_busy", body).await;
    assert_eq!(again.status.as_u16(), 202, "{:?}", again.body);
    assert_eq!(again.json()["state"], "processing", "{:?}", again.body);
    billing.release();
    server.stop().await;
}

//! Operator actions that must do what the operator means: a requeue of an event with routes
//! takes only its dead routes (a succeeded route's application receives nothing again unless
//! asked), dry runs change nothing, batches answer per event, and a route removed from the
//! config stays part of its events.

use http::Method;
use serde_json::{json, Value};

use crate::routes::{self, settled, status};
use crate::support::flow::{self, FORWARD_SECRET, LIMIT};
use crate::support::target::{eventually, Answer, Target};
use crate::support::{get, post_as, send, Reply, TestServer, TEST_ADMIN_TOKEN};

const INVOICE: &str = r#"{"type":"invoice.paid"}"#;

/// `app` with routes `billing` (forward to `billing`), `audit` (forward to `audit`) and
/// `refunds` (skips invoices); no circuit breaker, so each event's failures are its own.
fn config(billing: &Target, audit: &Target) -> String {
    let audit = format!(
        "handler = {{ type = \"forward\", url = \"{}\", secret = \"{FORWARD_SECRET}\" }}",
        audit.url()
    );
    flow::routed_config_with(billing, "", &audit).replacen(
        "jitter = 0.0\n",
        "jitter = 0.0\ncircuit_failures = 1000000\n",
        1,
    )
}

async fn post(server: &TestServer, id: &str) -> Reply {
    routes::post(server, id, INVOICE).await
}

/// `route (state)` of each target in an answer.
fn targets(answer: &Value) -> Vec<String> {
    let list = answer["targets"].as_array().expect("targets");
    list.iter()
        .map(|t| format!("{} ({})", t["route"].as_str().unwrap_or("-"), t["state"]))
        .collect()
}

fn requeues(status: &Value) -> Vec<u64> {
    let routes = status["routes"].as_array().expect("routes");
    routes
        .iter()
        .map(|r| r["requeueCount"].as_u64().unwrap_or(99))
        .collect()
}

#[tokio::test]
async fn requeueing_an_event_replays_only_its_dead_routes_unless_asked() {
    let (billing, audit) = (Target::start().await, Target::start().await);
    billing.answer_by_default(Answer::status(500));
    let server = TestServer::start(&config(&billing, &audit)).await;
    assert_eq!(post(&server, "evt_paid").await.status.as_u16(), 202);
    settled(&server, "/events/app:billing/evt_paid").await;
    let before = settled(&server, "/events/app/evt_paid").await;
    assert_eq!(before["state"], "dead", "{before}");
    assert_eq!(audit.inspect(|seen| seen.len()), 1);

    // The dry run names the dead route and changes nothing.
    let url = |query: &str| server.url(&format!("/admin/events/app/evt_paid/requeue{query}"));
    let look = post_as(&url("?dry_run=true"), Some(TEST_ADMIN_TOKEN)).await;
    assert_eq!(look.status.as_u16(), 200, "{:?}", look.body);
    assert_eq!(look.json()["dryRun"], true);
    assert_eq!(targets(&look.json()), ["billing (\"dead\")"]);
    assert_eq!(
        requeues(&status(&server, "/events/app/evt_paid").await),
        [0, 0, 0]
    );

    // The requeue takes billing alone: audit, which succeeded, receives nothing again.
    billing.answer_by_default(Answer::status(200));
    let done = post_as(&url(""), Some(TEST_ADMIN_TOKEN)).await;
    assert_eq!(done.status.as_u16(), 200, "{:?}", done.body);
    assert_eq!(targets(&done.json()), ["billing (\"dead\")"]);
    let after = eventually("billing to deliver", LIMIT, || async {
        let s = status(&server, "/events/app/evt_paid").await;
        (s["state"] == "succeeded").then_some(s)
    })
    .await;
    assert_eq!(requeues(&after), [1, 0, 0], "{after}");
    assert_eq!(
        audit.inspect(|seen| seen.len()),
        1,
        "audit was not replayed"
    );

    // Nothing is dead now: a replay of succeeded routes is its own, explicit act.
    let refused = post_as(&url(""), Some(TEST_ADMIN_TOKEN)).await;
    assert_eq!(
        refused.assert_problem(409),
        "urn:hookbox:problem:state-conflict"
    );
    assert!(
        refused.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("include=succeeded")),
        "{:?}",
        refused.body
    );
    let both = post_as(
        &url("?include=succeeded&dry_run=true"),
        Some(TEST_ADMIN_TOKEN),
    )
    .await;
    assert_eq!(
        targets(&both.json()),
        ["billing (\"succeeded\")", "audit (\"succeeded\")"]
    );
    let bad = post_as(&url("?include=everything"), Some(TEST_ADMIN_TOKEN)).await;
    bad.assert_problem(400);
    assert_eq!(audit.inspect(|seen| seen.len()), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_batch_acts_on_the_selected_deliveries_and_answers_for_each() {
    let (billing, audit) = (Target::start().await, Target::start().await);
    billing.answer_by_default(Answer::status(500));
    let server = TestServer::start(&config(&billing, &audit)).await;
    for id in ["evt_a", "evt_b"] {
        assert_eq!(post(&server, id).await.status.as_u16(), 202);
        settled(&server, &format!("/events/app:billing/{id}")).await;
        settled(&server, &format!("/events/app:audit/{id}")).await;
    }
    let batch = |body: Value| {
        let headers = vec![
            (
                "authorization".to_owned(),
                format!("Bearer {TEST_ADMIN_TOKEN}"),
            ),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        let url = server.url("/admin/batch");
        async move { send(Method::POST, &url, &headers, body.to_string().as_bytes()).await }
    };
    let selected = json!([
        "/events/app:billing/evt_a",
        "/events/app:audit/evt_a",
        "/events/app:billing/nope",
        "not a location",
    ]);
    let outcomes = |reply: &Reply| -> Vec<String> {
        assert_eq!(reply.status.as_u16(), 200, "{:?}", reply.body);
        let results = reply.json()["results"]
            .as_array()
            .cloned()
            .expect("results");
        results
            .iter()
            .map(|r| r["outcome"].as_str().unwrap_or("?").to_owned())
            .collect()
    };
    let look = batch(json!({"action": "requeue", "events": selected, "dryRun": true})).await;
    assert_eq!(
        outcomes(&look),
        ["requeued", "refused", "refused", "refused"]
    );
    let a = status(&server, "/events/app:billing/evt_a").await;
    assert_eq!(
        (a["state"].as_str(), a["requeueCount"].as_u64()),
        (Some("dead"), Some(0)),
        "a dry run changes nothing"
    );
    let done = batch(json!({"action": "requeue", "events": selected})).await;
    assert_eq!(
        outcomes(&done),
        ["requeued", "refused", "refused", "refused"]
    );
    let succeeded_refusal = &done.json()["results"][1]["detail"];
    assert!(
        succeeded_refusal
            .as_str()
            .is_some_and(|d| d.contains("include")),
        "{succeeded_refusal}"
    );
    let discard = json!({"action": "discard", "events": ["/events/app:billing/evt_b"]});
    assert_eq!(outcomes(&batch(discard).await), ["discarded"]);
    let b = status(&server, "/events/app:billing/evt_b").await;
    assert_eq!(b["discarded"], true, "{b}");
    let empty = batch(json!({"action": "requeue", "events": []})).await;
    empty.assert_problem(400);
    assert_eq!(audit.inspect(|seen| seen.len()), 2, "audit never replayed");
    server.stop().await;
}

/// A route removed from the config while its deliveries are queued: they go dead saying why,
/// and the event's status, its route list and a provider retry's answer include them.
#[tokio::test]
async fn a_removed_routes_deliveries_stay_part_of_their_event() {
    let (billing, audit) = (Target::start().await, Target::start().await);
    billing.answer_by_default(Answer::status(503));
    let dir = tempfile::tempdir().expect("dir");
    let slow = config(&billing, &audit).replace(
        "retry_schedule = [\"1ms\", \"1ms\", \"1ms\"]",
        "retry_schedule = [\"20ms\"]\nmax_attempts = 1000",
    );
    let first = TestServer::start_in(&slow, dir.path()).await;
    assert_eq!(post(&first, "evt_old").await.status.as_u16(), 202);
    settled(&first, "/events/app:audit/evt_old").await;
    eventually("billing to be tried", LIMIT, || async {
        (billing.inspect(|seen| seen.len()) > 0).then_some(())
    })
    .await;
    first.stop().await;

    let without_billing = {
        let start = slow
            .find("[[sources.app.routes]]\nname = \"billing\"")
            .expect("billing");
        let end = slow[start + 1..]
            .find("[[sources.app.routes]]")
            .expect("next")
            + start
            + 1;
        format!("{}{}", &slow[..start], &slow[end..])
    };
    let second = TestServer::start_in(&without_billing, dir.path()).await;
    let s = settled(&second, "/events/app:billing/evt_old").await;
    assert!(
        s["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("no longer configured")),
        "{s}"
    );
    let event = status(&second, "/events/app/evt_old").await;
    assert_eq!(event["state"], "dead", "{event}");
    let routes: Vec<&str> = (event["routes"].as_array().into_iter().flatten())
        .filter_map(|r| r["route"].as_str())
        .collect();
    assert!(routes.contains(&"billing"), "{event}");
    let retry = post(&second, "evt_old").await;
    assert_eq!(retry.status.as_u16(), 200, "{:?}", retry.body);
    assert_eq!(retry.json()["state"], "dead", "{:?}", retry.body);
    let found = get(&second.url("/admin/events?id=evt_old")).await.json();
    let listed = found["items"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, 3, "every delivery is found by id: {found}");
    second.stop().await;
}

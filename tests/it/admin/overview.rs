//! The admin API's event-type filter, id search, one event with its headers, discard, counts
//! and the per-source summary.

use http::Method;
use serde_json::Value;

use super::{admin_get, admin_post, config_with_failing, deliver, list_all, settled};
use crate::support::{bearer, send, TestServer, TEST_ADMIN_TOKEN};

fn ids(items: &[Value]) -> Vec<&str> {
    let mut ids: Vec<&str> = items.iter().filter_map(|i| i["eventId"].as_str()).collect();
    ids.sort();
    ids
}

/// Three Stripe events of types `invoice.paid`, `invoice.created`, `charge.refunded` (all
/// succeed) and one dead `failing` event, all settled.
async fn server_with_events() -> TestServer {
    let server = TestServer::start(&config_with_failing()).await;
    for (id, kind) in [
        ("evt_a", "invoice.paid"),
        ("evt_b", "invoice.created"),
        ("evt_c", "charge.refunded"),
    ] {
        let body = format!(r#"{{"id":"{id}","object":"event","type":"{kind}"}}"#);
        deliver(&server, "stripe", id, &body).await;
        settled(&server, "stripe", id, 0).await;
    }
    deliver(&server, "failing", "f1", "{}").await;
    settled(&server, "failing", "f1", 0).await;
    server
}

async fn delete(server: &TestServer, path: &str) -> crate::support::Reply {
    let auth = bearer(Some(TEST_ADMIN_TOKEN));
    send(Method::DELETE, &server.url(path), &auth, b"").await
}

#[tokio::test]
async fn listings_filter_by_type_and_find_ids() {
    let server = server_with_events().await;
    let (items, _) = list_all(&server, "type=invoice.*").await;
    assert_eq!(ids(&items), ["evt_a", "evt_b"]);
    let (items, _) = list_all(&server, "type=charge.refunded&source=stripe").await;
    assert_eq!(ids(&items), ["evt_c"]);
    let (items, _) = list_all(&server, "type=invoice").await;
    assert!(items.is_empty(), "exact unless it ends in .*");

    let (items, _) = list_all(&server, "id=evt_b").await;
    assert_eq!(ids(&items), ["evt_b"]);
    assert_eq!(items[0]["location"], "/events/stripe/evt_b");
    let (items, _) = list_all(&server, "id=f1&source=stripe").await;
    assert!(items.is_empty());
    let (items, _) = list_all(&server, "id=evt_b&state=dead").await;
    assert!(items.is_empty(), "the other filters still apply");
    let reply = admin_get(&server, "/admin/events?id=evt_b&cursor=x").await;
    assert_eq!(
        reply.assert_problem(400),
        "urn:hookbox:problem:invalid-query"
    );

    let reply = admin_get(&server, "/admin/events/stripe/evt_a").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let event = reply.json();
    assert_eq!(event["eventType"], "invoice.paid");
    let headers = event["headers"].as_array().expect("headers");
    assert!(
        headers.iter().any(|h| h["name"] == "content-type"),
        "{headers:?}"
    );
    assert_eq!(event["attempts"].as_array().map(Vec::len), Some(1));
    server.stop().await;
}

#[tokio::test]
async fn a_dead_event_is_discarded_and_stays_a_duplicate() {
    let server = server_with_events().await;
    let reply = delete(&server, "/admin/events/stripe/evt_a").await;
    assert_eq!(
        reply.assert_problem(409),
        "urn:hookbox:problem:state-conflict"
    );
    let reply = delete(&server, "/admin/events/stripe/nope").await;
    assert_eq!(reply.assert_problem(404), "urn:hookbox:problem:not-found");

    let reply = delete(&server, "/admin/events/failing/f1").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let tombstone = reply.json();
    assert_eq!(
        (&tombstone["state"], &tombstone["discarded"]),
        (&Value::from("dead"), &Value::from(true))
    );
    let reply = delete(&server, "/admin/events/failing/f1").await;
    assert_eq!(
        reply.assert_problem(409),
        "urn:hookbox:problem:state-conflict"
    );
    let reply = admin_get(&server, "/admin/events/failing/f1/payload").await;
    assert_eq!(reply.assert_problem(404), "urn:hookbox:problem:not-found");
    let reply = admin_post(&server, "/admin/events/failing/f1/requeue").await;
    assert_eq!(
        reply.assert_problem(409),
        "urn:hookbox:problem:state-conflict"
    );

    // The provider retries: a duplicate of a final event, never processed again.
    let retry = server.deliver("failing", "{}", "f1").await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(retry.json()["state"], "dead");
    let reply = admin_post(&server, "/admin/requeue?source=failing").await;
    assert_eq!(
        reply.json()["requeued"],
        0,
        "bulk requeue skips discarded events"
    );

    let counts = admin_get(&server, "/admin/counts").await.json();
    assert_eq!(counts["complete"], true);
    let c = &counts["counts"];
    let got = [
        &c["queued"],
        &c["processing"],
        &c["succeeded"],
        &c["dead"],
        &c["discarded"],
    ];
    assert_eq!(
        got.map(|v| v.as_u64()),
        [0, 0, 3, 0, 1].map(Some),
        "a discarded event is not counted dead: nothing is left to requeue"
    );
    let stripe = admin_get(&server, "/admin/counts?source=stripe&type=invoice.*").await;
    assert_eq!(stripe.json()["counts"]["succeeded"], 2);
    let reply = admin_get(&server, "/admin/counts?state=dead").await;
    assert_eq!(
        reply.assert_problem(400),
        "urn:hookbox:problem:invalid-query"
    );
    let reply = send(
        Method::PUT,
        &server.url("/admin/events/failing/f1"),
        &[],
        b"",
    )
    .await;
    assert_eq!(reply.status, 401, "admin routes need the token first");
    server.stop().await;
}

#[tokio::test]
async fn the_summary_buckets_the_last_hour_per_source() {
    let server = server_with_events().await;
    let reply = admin_get(&server, "/admin/summary").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let summary = reply.json();
    assert_eq!(summary["bucketMs"], 300_000);
    let sources = summary["sources"].as_array().expect("sources");
    let row = |name: &str| -> &Value { sources.iter().find(|s| s["source"] == name).expect(name) };
    let total = |row: &Value, field: &str| -> u64 {
        let buckets = row["buckets"].as_array().expect("buckets");
        assert_eq!(buckets.len(), 12);
        buckets.iter().filter_map(|b| b[field].as_u64()).sum()
    };
    let stripe = row("stripe");
    assert_eq!(
        (total(stripe, "accepted"), total(stripe, "succeeded")),
        (3, 3)
    );
    assert_eq!(
        (stripe["queueDepth"].as_u64(), total(stripe, "dead")),
        (Some(0), 0)
    );
    assert!(stripe["lastEventAt"].as_u64() > summary["from"].as_u64());
    assert_eq!(stripe["oldestQueuedAt"], Value::Null);
    let failing = row("failing");
    assert_eq!((total(failing, "accepted"), total(failing, "dead")), (1, 1));
    let quiet = row("github");
    assert_eq!(
        (total(quiet, "accepted"), &quiet["lastEventAt"]),
        (0, &Value::Null)
    );
    server.stop().await;
}

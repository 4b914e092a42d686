//! `GET /admin/events?where=…&contains=…`: finding one customer's events by what their bodies
//! say, among 10 000, on the backend under test; an embedded backend's bounded scan pages on.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use http::Method;
use serde_json::Value;

use super::cli::{events, ok, text};
use super::{admin_get, config_with_failing, deliver, list_all};
use hookbox::store::{EventRecord, NewEvent, Store};

use crate::support::{backend, config_in, send, TestServer, BASE_CONFIG, TEST_ADMIN_TOKEN};

/// Events stored; every 997th belongs to the customer searched for.
const EVENTS: usize = 10_000;
const EVERY: usize = 997;

/// A Stripe event of about 1 KiB whose customer is `cus_Z` for every [`EVERY`]th `i`.
fn event(i: usize) -> (String, String) {
    let id = format!("evt_{i:05}");
    let customer = if i.is_multiple_of(EVERY) {
        "cus_Z".to_owned()
    } else {
        format!("cus_{i}")
    };
    let padding = "x".repeat(900);
    let body = format!(
        r#"{{"id":"{id}","type":"invoice.paid","data":{{"object":{{"customer":"{customer}","amount":{i},"note":"{padding}"}}}}}}"#
    );
    (id, body)
}

/// A server over a store holding the `EVENTS` events: imported straight into the store where
/// the backend takes imports (redb, PostgreSQL: the setup takes a second), else (sled) sent
/// over HTTP.
async fn filled_server(dir: &Path) -> TestServer {
    let config = config_in(BASE_CONFIG, dir);
    if backend::sled_under_test() {
        let server = TestServer::start_with(config).await;
        fill(&server).await;
        return server;
    }
    let store = Store::open_migration_target(&config.storage, "the search test")
        .await
        .expect("open the store");
    let now = hookbox::clock::now_ms();
    let events = (0..EVENTS).map(|i| {
        let (id, body) = event(i);
        let new = NewEvent {
            source: "stripe".into(),
            id,
            received_at: now - (EVENTS - i) as u64,
            event_type: Some("invoice.paid".into()),
            headers: Vec::new(),
            body: body.into(),
            ordering: None,
        };
        (EventRecord::queued(&new), Some(new.body))
    });
    store.import(events.collect()).await.expect("import");
    store.finish_migration().await.expect("finish");
    store.close().await.expect("close");
    TestServer::start_with(config).await
}

/// Stores `EVENTS` events over HTTP, 32 requests at a time.
async fn fill(server: &TestServer) {
    let url = Arc::new(server.url("/webhooks/stripe"));
    let requests: Vec<_> = (0..EVENTS)
        .map(|i| {
            let (id, body) = event(i);
            (server.sign("stripe", body.as_bytes(), &id), body)
        })
        .collect();
    let mut pending = requests.into_iter();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while tasks.len() < 32 {
            let Some((headers, body)) = pending.next() else {
                break;
            };
            let url = url.clone();
            tasks.spawn(async move { send(Method::POST, &url, &headers, body.as_bytes()).await });
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        let reply = done.expect("request task");
        assert_eq!(reply.status, 202, "{:?}", reply.body);
    }
}

fn ids(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|i| i["eventId"].as_str().expect("eventId").to_owned())
        .collect()
}

#[tokio::test]
async fn search_finds_one_customers_events_among_ten_thousand() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = filled_server(dir.path()).await;
    let expected: BTreeSet<String> = (0..EVENTS).step_by(EVERY).map(|i| event(i).0).collect();

    let query = "where=/data/object/customer=cus_Z&limit=1000";
    let (found, pages) = list_all(&server, query).await;
    assert_eq!(ids(&found), expected, "pages {pages:?}");
    let first = admin_get(&server, &format!("/admin/events?{query}"))
        .await
        .json();
    if backend::postgres_under_test().is_some() {
        // The GIN index answers at once: one page, complete.
        assert_eq!(pages, [expected.len()]);
        assert_eq!(first["complete"], true);
    } else {
        // A bounded scan: the first call stops at its bound with a cursor, short of the limit.
        assert!(pages.len() >= 2, "{pages:?}");
        assert_eq!(first["complete"], false);
        assert!(first["nextCursor"].is_string());
        assert!(first["search"]["searchedBack"].is_u64(), "{first}");
    }
    assert!(first["search"]["bodiesKeptSince"].is_u64(), "{first}");

    // Numbers match as written; where conditions all must match; contains is a substring.
    let (one, _) = list_all(
        &server,
        "where=/data/object/customer=cus_Z&where=/data/object/amount=1994",
    )
    .await;
    assert_eq!(ids(&one), BTreeSet::from(["evt_01994".to_owned()]));
    let (none, _) = list_all(
        &server,
        "where=/data/object/customer=cus_Z&where=/data/object/amount=1995",
    )
    .await;
    assert!(none.is_empty());
    let (contained, _) = list_all(&server, "contains=%22cus_Z%22&limit=1000").await;
    assert_eq!(ids(&contained), expected);
    let (typed, _) = list_all(&server, "contains=cus_Z&type=invoice.*&source=stripe").await;
    assert_eq!(ids(&typed), expected, "combined with the other filters");
    let (other_type, _) = list_all(&server, "contains=cus_Z&type=charge.*").await;
    assert!(other_type.is_empty());

    for bad in ["where=data=x", "where=/data", "where=/a=b&id=evt_1"] {
        let reply = admin_get(&server, &format!("/admin/events?{bad}")).await;
        assert!(
            reply.assert_problem(400).ends_with("invalid-query"),
            "{bad}"
        );
        let detail = reply.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(detail.contains("where"), "{bad}: {detail}");
    }
    server.stop().await;
}

/// `--where` (repeatable, all must match) and `--contains` search bodies.
#[tokio::test]
async fn events_list_searches_bodies() {
    let server = TestServer::start(&config_with_failing()).await;
    let bodies = [
        ("p1", r#"{"customer":"cus_Z","n":1}"#),
        ("p2", r#"{"customer":"cus_Y","n":2}"#),
        ("p3", r#"{"customer":"cus_Z","n":3}"#),
    ];
    for (id, body) in bodies {
        deliver(&server, "plain", id, body).await;
    }
    let found = ok(&server, &["list", "--json", "--where", "/customer=cus_Z"]).await;
    assert!(found.contains("p1") && found.contains("p3"), "{found}");
    assert!(!found.contains("p2"), "{found}");
    let args = [
        "list",
        "--json",
        "--where",
        "/customer=cus_Z",
        "--where",
        "/n=3",
    ];
    let one = ok(&server, &args).await;
    assert!(one.contains("p3") && !one.contains("p1"), "{one}");
    let contained = ok(&server, &["list", "--json", "--contains", "cus_Y"]).await;
    assert!(
        contained.contains("p2") && !contained.contains("p1"),
        "{contained}"
    );
    let out = events(
        &server,
        Some(TEST_ADMIN_TOKEN),
        &["list", "--where", "customer"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "a 400 from hookbox");
    assert!(
        text(&out.stderr).contains("POINTER=VALUE"),
        "{}",
        text(&out.stderr)
    );
    server.stop().await;
}

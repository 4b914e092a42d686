//! `GET /admin/events` (filters, pages, cursors) and `GET /admin/events/<source>/<id>/payload`.

use std::time::{Duration, UNIX_EPOCH};

use http::Method;
use serde_json::Value;

use super::{admin_get, config_with_failing, deliver, list_all, settled};
use crate::support::{send, TestServer, BASE_CONFIG};

fn stripe_event(id: &str) -> String {
    format!(r#"{{"id":"{id}","object":"event","type":"charge.refunded"}}"#)
}

fn ids(items: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = items
        .iter()
        .map(|i| i["eventId"].as_str().expect("eventId").to_owned())
        .collect();
    ids.sort();
    ids
}

fn received(item: &Value) -> u64 {
    item["receivedAt"].as_u64().expect("receivedAt")
}

#[tokio::test]
async fn listing_pages_newest_first_through_filters() {
    let server = TestServer::start(&config_with_failing()).await;
    let stripe: Vec<String> = (0..7).map(|i| format!("evt_{i}")).collect();
    for id in &stripe {
        deliver(&server, "stripe", id, &stripe_event(id)).await;
    }
    for i in 0..3 {
        deliver(&server, "failing", &format!("f{i}"), "{}").await;
    }

    let (items, pages) = list_all(&server, "source=stripe&limit=3").await;
    assert_eq!(pages, [3, 3, 1], "the last page carries no nextCursor");
    assert_eq!(ids(&items), stripe);
    assert!(items.windows(2).all(|w| received(&w[0]) >= received(&w[1])));
    let first = &items[0];
    assert_eq!(first["source"], "stripe");
    assert_eq!(
        first["location"],
        format!("/events/stripe/{}", first["eventId"].as_str().unwrap())
    );
    assert!(
        first.get("attempts").is_none(),
        "summaries carry no history"
    );

    let (all, _) = list_all(&server, "limit=1000").await;
    assert_eq!(all.len(), 10);

    // since is inclusive, until exclusive; unix ms and RFC 3339 are equivalent.
    let pivot = received(&all[4]);
    let rfc3339 = humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(pivot));
    let (newer, _) = list_all(&server, &format!("since={rfc3339}&limit=2")).await;
    let expected: Vec<&Value> = all.iter().filter(|i| received(i) >= pivot).collect();
    assert_eq!(newer.len(), expected.len());
    assert!(newer.iter().all(|i| received(i) >= pivot));
    let (older, _) = list_all(&server, &format!("until={pivot}&limit=2")).await;
    assert_eq!(older.len() + newer.len(), 10);
    assert!(older.iter().all(|i| received(i) < pivot));

    // State filters, once the worker has settled every event.
    for id in &stripe {
        settled(&server, "stripe", id, 0).await;
    }
    for i in 0..3 {
        settled(&server, "failing", &format!("f{i}"), 0).await;
    }
    let (dead, pages) = list_all(&server, "state=dead&limit=2").await;
    assert_eq!(
        (ids(&dead), pages),
        (vec!["f0".into(), "f1".into(), "f2".into()], vec![2, 1])
    );
    assert!(dead.iter().all(|i| i["lastError"].is_string()));
    let (succeeded, _) = list_all(&server, "state=succeeded&source=stripe").await;
    assert_eq!(succeeded.len(), 7);
    let (none, pages) = list_all(&server, "state=succeeded&source=failing").await;
    assert_eq!((none.len(), pages), (0, vec![0]));
    server.stop().await;
}

#[tokio::test]
async fn bad_listing_queries_are_400_problems() {
    let server = TestServer::start(BASE_CONFIG).await;
    for query in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "state=failed",
        "since=yesterday",
        "until=2024-05-01T00:00:00%2B02:00",
        "since=10&until=10",
        "cursor=not-a-cursor",
        // Decodes (all zero bytes: time 0, empty source) but no listing ever hands it out.
        "cursor=AAAAAAAAAAAAAAAA",
        "sorce=stripe",
        "source=a&source=b",
    ] {
        let reply = admin_get(&server, &format!("/admin/events?{query}")).await;
        assert_eq!(
            reply.assert_problem(400),
            "urn:hookbox:problem:invalid-query",
            "{query}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn the_payload_comes_back_byte_for_byte_with_its_content_type() {
    let server = TestServer::start(&config_with_failing()).await;
    let body = "name=hookbox&kind=plain+text\n";
    let mut headers = server.sign("plain", body.as_bytes(), "p-1");
    headers.retain(|(name, _)| name != "content-type");
    headers.push(("content-type".into(), "text/plain; charset=utf-8".into()));
    let url = server.url("/webhooks/plain");
    let reply = send(Method::POST, &url, &headers, body.as_bytes()).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);

    let payload = admin_get(&server, "/admin/events/plain/p-1/payload").await;
    assert_eq!(payload.status, 200);
    assert_eq!(payload.body, body.as_bytes());
    assert_eq!(
        payload.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(payload.header("cache-control"), Some("no-store"));

    let json = stripe_event("evt_p");
    deliver(&server, "stripe", "", &json).await;
    let payload = admin_get(&server, "/admin/events/stripe/evt_p/payload").await;
    assert_eq!(
        (payload.status.as_u16(), payload.body.as_ref()),
        (200, json.as_bytes())
    );
    assert_eq!(payload.header("content-type"), Some("application/json"));

    let unknown = admin_get(&server, "/admin/events/stripe/evt_none/payload").await;
    assert_eq!(unknown.assert_problem(404), "urn:hookbox:problem:not-found");
    server.stop().await;
}

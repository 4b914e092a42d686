//! Routed accepts ([`Store::accept_routed`]) on every backend: all routes or none, a duplicate
//! under any of them, skipped routes final at once without a body, and the listing's source and
//! route filters.

use bytes::Bytes;

use super::{event, Under};
use crate::store::*;

conformance!(routed_accepts);

fn route(stream: &str, skipped: bool) -> RouteDelivery {
    RouteDelivery {
        stream: stream.into(),
        ordering: None,
        skipped,
    }
}

async fn listed(store: &Under, filter: EventFilter) -> Vec<String> {
    let page = store.list(&filter, 100, None).await.expect("list");
    page.items
        .into_iter()
        .map(|r| format!("{}/{}", r.source, r.id))
        .collect()
}

/// On a store whose retention is 100 ms and dedupe window 1 s.
async fn routed_accepts(t: Under) {
    let store = &t;
    let routes = || vec![route("s:a", false), route("s:b", true)];
    let accepted = store.accept_routed(event("e", 100), routes()).await;
    assert_eq!(accepted.expect("accept"), Accepted::New);
    assert_eq!(store.pending(), 1, "the skipped route is not pending");

    let taken = store.get("s:a", "e").await.expect("get").expect("route a");
    assert_eq!(taken.state, State::Queued);
    assert_eq!(
        store.body("s:a", "e").await.expect("body"),
        Some(Bytes::from_static(b"{}"))
    );
    let skipped = store.get("s:b", "e").await.expect("get").expect("route b");
    assert_eq!(skipped.state, State::Skipped);
    assert!(skipped.body_purged && skipped.finished_at == Some(100));
    assert_eq!(store.body("s:b", "e").await.expect("body"), None);
    assert_eq!(store.get("s", "e").await.expect("get"), None);

    // A duplicate under any route; and under the source's own stream (accepted before the
    // source had routes).
    let again = store.accept_routed(event("e", 150), routes()).await;
    assert_eq!(again.expect("again"), Accepted::Duplicate(State::Queued));
    store.accept(event("old", 120)).await.expect("plain accept");
    let old = store.accept_routed(event("old", 160), routes()).await;
    assert_eq!(old.expect("old"), Accepted::Duplicate(State::Queued));
    assert_eq!(
        store.get("s:a", "old").await.expect("get"),
        None,
        "nothing written"
    );

    let of_source = EventFilter {
        source: Some("s".into()),
        ..EventFilter::default()
    };
    let mut all = listed(store, of_source.clone()).await;
    all.sort();
    assert_eq!(all, ["s/old", "s:a/e", "s:b/e"]);
    let route_b = EventFilter {
        route: Some("b".into()),
        ..of_source
    };
    assert_eq!(listed(store, route_b).await, ["s:b/e"]);
    let skipped_only = EventFilter {
        state: Some(State::Skipped),
        ..EventFilter::default()
    };
    assert_eq!(listed(store, skipped_only).await, ["s:b/e"]);
    let other = EventFilter {
        source: Some("s:".into()),
        ..EventFilter::default()
    };
    assert!(listed(store, other).await.is_empty());

    // Only the route that took the event is claimed; a skipped route cannot be requeued.
    let claimed = store
        .claim_due(200, 10, 3, &mut |_| Some(1_000))
        .await
        .expect("claim");
    let mut streams: Vec<_> = claimed.iter().map(|c| c.record.source.as_str()).collect();
    streams.sort();
    assert_eq!(streams, ["s", "s:a"]);
    let refused = store.requeue("s:b", "e", 300).await;
    assert_eq!(refused, RequeueOutcome::NotFinal(State::Skipped));

    // A skipped route is forgotten after the dedupe window, like a succeeded event.
    store.expire(100 + 1_000, 100).await;
    assert_eq!(store.get("s:b", "e").await.expect("get"), None);
    assert!(store.get("s:a", "e").await.expect("get").is_some());
}

//! Routes: which of a source's routes an event goes to. A route's filter names event types
//! (`types`, exact or `prefix.*`) and/or JSON-pointer equalities on the body (`match`); an
//! event matches when every part given matches (any listed type; every pointer). A route with
//! no filter takes every event. Pure code, no I/O: the HTTP side decides at ingest, and the
//! store keeps one record per route (`store::stream`).

use http::HeaderMap;
use serde_json::Value;

use crate::config::{Route, Source};
use crate::ordering::EventOrdering;
use crate::store::RouteDelivery;

/// The deliveries of one verified event of the routed `source`: one per route, skipped where
/// the route's filter does not match, each with its ordering key when the route orders.
pub fn deliveries(
    source: &Source,
    event_type: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Vec<RouteDelivery> {
    let parsed: Option<Value> = match source.routes.iter().any(|r| r.filter.reads_body()) {
        true => serde_json::from_slice(body).ok(),
        false => None,
    };
    source
        .routes
        .iter()
        .map(|route| {
            let skipped = !route.filter.matches(event_type, parsed.as_ref());
            RouteDelivery {
                stream: route.stream.clone(),
                ordering: (!skipped)
                    .then(|| ordering_of(route, headers, body))
                    .flatten(),
                skipped,
            }
        })
        .collect()
}

/// The event's ordering key for `route`, if the route orders and the request has one.
pub fn ordering_of(route: &Route, headers: &HeaderMap, body: &[u8]) -> Option<EventOrdering> {
    let o = route.ordering.as_ref()?;
    o.key.key_of(headers, body).map(|key| EventOrdering {
        key,
        on_dead: o.on_dead,
    })
}

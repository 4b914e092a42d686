//! How a verified event enters the store, whoever brought it: its routes (each with its
//! ordering key) or its one route's ordering key, then the one atomic dedupe-and-enqueue.
//! Webhooks (`http::ingest`) and reconciliation (`reconcile`) both come through here, so an
//! event fetched from a provider's API and the same event delivered later are one event.

use http::HeaderMap;

use crate::config::Source;
use crate::routing;
use crate::store::{Accepted, NewEvent, Store, StoreError};

/// Stores `event` of `source` (its `ordering` is decided here), reading ordering keys and
/// route filters from `headers` and the body. Durable when it returns.
pub async fn accept_event(
    store: &Store,
    source: &Source,
    mut event: NewEvent,
    headers: &HeaderMap,
) -> Result<Accepted, StoreError> {
    // A routed source stores one record per route, each with its own ordering; otherwise the
    // source's one route orders the event.
    if source.routed {
        let routes = routing::deliveries(source, event.event_type.as_deref(), headers, &event.body);
        event.ordering = None;
        return store.accept_routed(event, routes).await;
    }
    event.ordering =
        (source.routes.first()).and_then(|r| routing::ordering_of(r, headers, &event.body));
    store.accept(event).await
}

//! How a verified event enters the store, whoever brought it: its routes (each with its
//! ordering key) or its one route's ordering key, then the one atomic dedupe-and-enqueue.
//! Webhooks (`http::ingest`) and reconciliation (`reconcile`) both come through here, so an
//! event fetched from a provider's API and the same event delivered later are one event.

use http::HeaderMap;

use crate::config::Source;
use crate::routing;
use crate::store::{Accepted, NewEvent, RouteDelivery, Store, StoreError};

/// An event ready for the store: its routes decided, or its ordering key.
pub struct Prepared {
    event: NewEvent,
    routes: Option<Vec<RouteDelivery>>,
}

/// Decides `event`'s routes (a routed source: one record per route, each with its own
/// ordering) or its one route's ordering key, reading `headers` and the body.
pub fn prepare(source: &Source, mut event: NewEvent, headers: &HeaderMap) -> Prepared {
    if source.routed {
        let routes = routing::deliveries(source, event.event_type.as_deref(), headers, &event.body);
        event.ordering = None;
        return Prepared {
            event,
            routes: Some(routes),
        };
    }
    event.ordering =
        (source.routes.first()).and_then(|r| routing::ordering_of(r, headers, &event.body));
    Prepared {
        event,
        routes: None,
    }
}

impl Prepared {
    /// The event's source.
    pub fn source(&self) -> &str {
        &self.event.source
    }

    /// The one atomic dedupe-and-enqueue; durable when it returns.
    pub async fn store(self, store: &Store) -> Result<Accepted, StoreError> {
        match self.routes {
            Some(routes) => store.accept_routed(self.event, routes).await,
            None => store.accept(self.event).await,
        }
    }
}

/// Stores `event` of `source` ([`prepare`], then [`Prepared::store`]).
pub async fn accept_event(
    store: &Store,
    source: &Source,
    event: NewEvent,
    headers: &HeaderMap,
) -> Result<Accepted, StoreError> {
    prepare(source, event, headers).store(store).await
}

//! A routed event in the store: one record per route, each under the route's stream (see
//! `event::stream`), written together by one accept.

use super::{EventOrdering, NewEvent};

/// One route's share of an event accepted with [`Store::accept_routed`](super::Store::accept_routed).
#[derive(Debug, Clone)]
pub struct RouteDelivery {
    /// The route's stream (`<source>:<route>`).
    pub stream: String,
    /// Its ordering key, when the route orders its events and the request carried one.
    pub ordering: Option<EventOrdering>,
    /// True when the route's filter did not match: recorded `skipped`, nothing to deliver.
    pub skipped: bool,
}

/// The records an event routed to `routes` is stored as: one per route, each with its stream
/// and ordering; with `true` for a skipped one.
pub fn route_records(ev: &NewEvent, routes: &[RouteDelivery]) -> Vec<(NewEvent, bool)> {
    routes
        .iter()
        .map(|r| {
            let mut one = ev.clone();
            one.source = r.stream.clone();
            one.ordering = r.ordering.clone();
            (one, r.skipped)
        })
        .collect()
}

/// The streams whose records make `ev` (routed to `routes`) a duplicate: each route's, and the
/// source's own (an event accepted before the source had routes).
pub fn dedupe_streams<'a>(ev: &'a NewEvent, routes: &'a [RouteDelivery]) -> Vec<&'a str> {
    let mut streams = vec![ev.source.as_str()];
    streams.extend(routes.iter().map(|r| r.stream.as_str()));
    streams
}

//! The HTTP side: accept loop, routing, ingest, the status resource, the admin API, health
//! probes and `GET /metrics`.
//!
//! It talks to the rest of hookbox only through [`Store`].

mod acted;
mod admin;
mod audit;
mod auth;
mod batch;
mod bodies;
mod body;
mod budget;
mod console;
mod edge;
mod etag;
mod gate;
mod health;
mod hold;
mod ingest;
mod live;
mod metrics;
mod openapi;
mod operate;
mod overview;
mod problem;
mod query;
mod reconcile;
mod routed;
mod router;
mod server;
mod status;
mod tls_status;

use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

pub use acted::Acted;
pub use budget::BodyBudget;
pub use edge::{edge_listeners, Edge, EdgeListeners};
pub use gate::Face;
pub use live::{Live, Snapshot};
pub use problem::Reason;
pub use server::{serve, Listener};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;

/// What every request handler needs.
#[derive(Clone)]
pub struct Ctx {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The event store.
    pub store: Store,
    /// Counters and histograms, shared with the worker.
    pub metrics: Arc<Metrics>,
    /// Body bytes all requests may hold at once (`server.max_inflight_body_bytes`).
    pub body_budget: BodyBudget,
    /// Streams (`source:route`) holding deliveries of routes that are no longer configured,
    /// read from the store at start: they remain part of their events.
    pub retired_streams: Arc<Vec<String>>,
    /// The reconciling sources (`/admin/reconcile`).
    pub reconciler: crate::reconcile::Reconciler,
    /// Where a reload puts the new configuration; `config` and `retired_streams` are this
    /// request's snapshot of it (see [`Ctx::current`]).
    pub live: Live,
    /// The public edge's state: rate-limit buckets, the served certificate.
    pub edge: Arc<Edge>,
}

impl Ctx {
    /// This context with the configuration in force now: taken once per request.
    pub fn current(&self) -> Ctx {
        let Snapshot {
            config,
            retired_streams,
        } = self.live.get();
        Ctx {
            config,
            retired_streams,
            ..self.clone()
        }
    }
}

impl Ctx {
    /// The retired streams of `source` (see [`Ctx::retired_streams`]).
    pub fn retired_of<'a>(&'a self, source: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        (self.retired_streams.iter())
            .filter(move |s| crate::store::split_stream(s).0 == source)
            .map(String::as_str)
    }
}

impl Ctx {
    /// An honest guess, in whole seconds (≥ 1), of how long until a newly queued event of
    /// `source` is processed: the backlog times the source's mean handler time so far, divided
    /// by how many of its events may run at once (its `concurrency`, within the worker's).
    /// The backlog is the whole queue (the store does not count it per source), so a busy
    /// neighbour makes the guess longer, never shorter.
    fn estimate_wait_secs(&self, source: &str) -> u64 {
        let worker = self.config.worker.concurrency;
        let parallel = self
            .config
            .route(source)
            .map_or(worker, |r| r.concurrency.min(worker))
            .max(1) as f64;
        let per_event = self
            .metrics
            .mean_handler_time(source)
            .unwrap_or(ASSUMED_HANDLER_TIME)
            .as_secs_f64();
        let backlog = self.store.pending() as f64;
        let secs = (backlog * per_event / parallel).ceil();
        (secs as u64).clamp(1, 3600)
    }
}

/// Handler time assumed for a source that has not run yet.
const ASSUMED_HANDLER_TIME: std::time::Duration = std::time::Duration::from_millis(50);

/// Characters left as they are in a path segment; everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A route's stream (`source:route`) keeps its `:`, a valid path character.
const STREAM_SEGMENT: &AsciiSet = &SEGMENT.remove(b':');

/// `/events/<source>/<id>`, percent-encoded; `/events/<source>?id=<id>` for the ids `.` and
/// `..`, which clients remove from paths as dot segments (browsers even after decoding `%2E`),
/// so no path spelling of them reaches hookbox intact.
pub fn event_location(source: &str, id: &str) -> String {
    let source = utf8_percent_encode(source, STREAM_SEGMENT);
    let id_text = utf8_percent_encode(id, SEGMENT);
    if id == "." || id == ".." {
        format!("/events/{source}?id={id_text}")
    } else {
        format!("/events/{source}/{id_text}")
    }
}

/// A JSON response that no cache may keep.
fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let body = Bytes::from(body.to_string());
    response(status, "application/json", "no-store", body)
}

/// A response with `body` of `content_type`, cached as `cache_control` says.
fn response(
    status: StatusCode,
    content_type: &'static str,
    cache_control: &'static str,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    res
}

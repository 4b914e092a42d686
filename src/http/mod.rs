//! The HTTP side: accept loop, routing, ingest, the status resource, the admin API, health
//! probes and `GET /metrics`.
//!
//! It talks to the rest of hookbox only through [`Store`].

mod admin;
mod auth;
mod body;
mod budget;
mod health;
mod ingest;
mod metrics;
mod problem;
mod query;
mod router;
mod server;
mod status;

use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

pub use budget::BodyBudget;
pub use problem::Reason;
pub use server::serve;

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
}

impl Ctx {
    /// An honest guess, in whole seconds (≥ 1), of how long until a newly queued event is
    /// processed: the backlog divided by what the worker can do at once per second.
    fn estimate_wait_secs(&self) -> u64 {
        let per_second = (self.config.worker.concurrency as u64)
            .saturating_mul(20)
            .max(1);
        (1 + self.store.pending() / per_second).min(3600)
    }
}

/// Characters left as they are in a path segment; everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `/events/<source>/<id>`, percent-encoded; `/events/<source>?id=<id>` for the ids `.` and
/// `..`, which clients remove from paths as dot segments (browsers even after decoding `%2E`),
/// so no path spelling of them reaches hookbox intact.
pub fn event_location(source: &str, id: &str) -> String {
    let source = utf8_percent_encode(source, SEGMENT);
    let id_text = utf8_percent_encode(id, SEGMENT);
    if id == "." || id == ".." {
        format!("/events/{source}?id={id_text}")
    } else {
        format!("/events/{source}/{id_text}")
    }
}

/// A JSON response that no cache may keep.
fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body.to_string())));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

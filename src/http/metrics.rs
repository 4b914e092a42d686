//! `GET /metrics` (Prometheus text format, no token: it carries counts and latencies only —
//! no event ids, bodies, headers or secrets), and counting each webhook answer by outcome.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;

use super::problem::Reason;
use super::Ctx;
use crate::clock::now_ms;
use crate::metrics::{oldest_due_age, Delivery, Gauges, ProcessStats, CONTENT_TYPE};
use crate::store::{EventFilter, StateCounts};

/// `GET /metrics`: every counter and histogram, plus the queue read from the store now.
pub async fn scrape(ctx: &Ctx) -> Response<Full<Bytes>> {
    let oldest_due_age = match ctx.store.next_due().await {
        Ok(next) => Some(oldest_due_age(next, now_ms())),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read the queue's next due time");
            None
        }
    };
    let queue = Gauges {
        depth: ctx.store.pending(),
        oldest_due_age,
        body_bytes_in_flight: ctx.body_budget.in_use(),
        blocked_keys: blocked_keys(ctx).await,
        stored: stored(ctx).await,
        process: ProcessStats::read(),
    };
    let mut text = ctx.metrics.render(&queue);
    text.push_str(&ctx.reconciler.metrics());
    text.push_str(&super::tls_status::metrics_text(ctx));
    let mut res = Response::new(Full::new(Bytes::from(text)));
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Events in the store by state, from the store's counts (see `Store::counts`).
async fn stored(ctx: &Ctx) -> Option<StateCounts> {
    match ctx.store.counts(&EventFilter::default()).await {
        Ok((counts, _)) => Some(counts),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read the store's counts");
            None
        }
    }
}

/// Blocked ordering keys of every source with `ordering_key` (none when no source orders).
async fn blocked_keys(ctx: &Ctx) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = ctx
        .config
        .routes()
        .filter(|r| r.ordering.is_some())
        .map(|r| (r.stream.clone(), 0))
        .collect();
    if counts.is_empty() {
        return counts;
    }
    match ctx.store.ordering_lines(None, false).await {
        Ok(found) => {
            for line in found.lines.iter().filter(|l| l.blocked()) {
                if let Some((_, n)) = counts.iter_mut().find(|(s, _)| *s == line.source) {
                    *n += 1;
                }
            }
            counts
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read the ordering keys");
            Vec::new()
        }
    }
}

/// Counts `res` if it answers `POST /webhooks/<source>` (any method, any source name: an
/// unconfigured one is counted under `source=""` by [`crate::metrics::Metrics`]).
pub fn count_delivery(ctx: &Ctx, path: &str, res: &Response<Full<Bytes>>, elapsed: Duration) {
    let Some(source) = webhook_source(path) else {
        return;
    };
    let ext = res.extensions();
    let delivery = match (ext.get::<Delivery>(), ext.get::<Reason>()) {
        (Some(delivery), _) => *delivery,
        (None, Some(reason)) => Delivery::Rejected(reason.slug()),
        // Every answer on this route is marked by `ingest` or `problem`.
        (None, None) => return,
    };
    ctx.metrics.delivery(source, delivery, elapsed);
}

/// The `<source>` segment when `path` is routed to ingest (the router's segment rule).
fn webhook_source(path: &str) -> Option<&str> {
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some("webhooks"), Some(source), None) => Some(source),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ingest_paths_name_a_source() {
        assert_eq!(webhook_source("/webhooks/stripe"), Some("stripe"));
        assert_eq!(webhook_source("//webhooks/stripe"), Some("stripe"));
        assert_eq!(webhook_source("/webhooks/"), Some(""));
        assert_eq!(webhook_source("/webhooks"), None);
        assert_eq!(webhook_source("/webhooks/stripe/x"), None);
        assert_eq!(webhook_source("/events/stripe/x"), None);
        assert_eq!(webhook_source("/metrics"), None);
    }
}

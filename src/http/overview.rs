//! The admin API's read-only overviews: events per state (`GET /admin/counts`) and each
//! source's last hour in buckets for charts (`GET /admin/summary`), both from the store's counters
//! where it keeps them, else from its records (see `store::stats`), so every instance sharing a
//! database answers alike.

use http::StatusCode;
use serde_json::json;

use super::problem::Reply;
use super::query::Params;
use super::{json_response, Ctx};
use crate::clock::now_ms;
use crate::store::{Summary, SUMMARY_BUCKET_MS as BUCKET_MS};

/// Buckets in a summary: one hour.
pub const BUCKETS: u64 = 12;

/// `GET /admin/counts?source=&route=&type=&since=&until=`: events per state matching the filter;
/// `complete: false` when the count walked the records (a type or time filter, or a backend
/// without counters) and the store held more than one walk reads (the newest ones counted).
pub async fn counts(ctx: &Ctx, query: Option<&str>) -> Reply {
    const ALLOWED: &[&str] = &["source", "route", "type", "since", "until"];
    let filter = Params::parse(query, ALLOWED)?.filter()?;
    let (counts, complete) = ctx.store.counts(&filter).await?;
    let body = json!({ "counts": counts, "complete": complete });
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /admin/summary`: per configured source — per route for a source with routes — (and any
/// other source with stored events), the
/// last hour in 5-minute buckets — events accepted, succeeded and gone dead in each — plus queue
/// depth, the newest event's arrival and the oldest queued event's arrival.
pub async fn summary(ctx: &Ctx) -> Reply {
    let now = now_ms();
    let names = ctx.config.routes().map(|r| r.stream.as_str());
    let mut summary = Summary::new(now, BUCKET_MS, BUCKETS, names);
    let complete = ctx.store.summarize(&mut summary).await?;
    let sources: Vec<_> = summary.sources.into_values().collect();
    let body = json!({
        "now": now,
        "from": summary.from,
        "bucketMs": summary.bucket_ms,
        "complete": complete,
        "sources": sources,
    });
    Ok(json_response(StatusCode::OK, &body))
}

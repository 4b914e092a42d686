//! Stripe: `GET /v1/events` (newest first, 100 a page, `has_more` / `starting_after`), every
//! event hookbox lacks accepted as it was returned. See the README's "Reconciliation" section
//! for why a quick pass lists `delivery_success=false` and a slower full pass lists everything.

use bytes::Bytes;
use http::{HeaderMap, Method};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::api::Call;
use super::pass::{Pass, PassError};
use crate::accept::accept_event;
use crate::clock::now_ms;
use crate::event::origin::reconciled_headers;
use crate::store::{Accepted, NewEvent};

/// One page of `GET /v1/events`.
#[derive(Deserialize)]
struct Page {
    data: Vec<Box<RawValue>>,
    has_more: bool,
}

/// What hookbox reads of an event (the body stored is the raw object).
#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    event_type: Option<String>,
}

/// Walks the events created since `since_secs` (only those whose delivery failed unless
/// `full`), of `types` when given, accepting each one hookbox lacks.
pub(super) async fn pass(
    p: &Pass<'_>,
    api_key: &str,
    types: &[String],
    since_secs: u64,
    full: bool,
) -> Result<(), PassError> {
    let mut query = format!("limit=100&created%5Bgte%5D={since_secs}");
    if !full {
        query.push_str("&delivery_success=false");
    }
    for t in types {
        query.push_str("&types%5B%5D=");
        query.extend(utf8_percent_encode(t, NON_ALPHANUMERIC));
    }
    let headers = [("authorization", format!("Bearer {api_key}"))];
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/events?{query}", p.api_base);
        if let Some(id) = &after {
            url.push_str("&starting_after=");
            url.extend(utf8_percent_encode(id, NON_ALPHANUMERIC));
        }
        let call = Call {
            method: Method::GET,
            url,
            headers: &headers,
            secret: api_key,
        };
        let reply = p.api.send(&call, p.stop).await?;
        let page: Page = serde_json::from_slice(&reply.body)
            .map_err(|e| PassError::Answer(format!("GET /v1/events: not a list of events: {e}")))?;
        for raw in &page.data {
            let event: Event = serde_json::from_str(raw.get()).map_err(|e| {
                PassError::Answer(format!("GET /v1/events: an event without id: {e}"))
            })?;
            p.count(|t| t.listed += 1);
            let id = event.id.clone();
            let new = NewEvent {
                source: p.source.name.clone(),
                id: event.id,
                received_at: now_ms(),
                event_type: event.event_type,
                headers: reconciled_headers("GET /v1/events"),
                body: Bytes::copy_from_slice(raw.get().as_bytes()),
                ordering: None,
            };
            match accept_event(p.store, p.source, new, &HeaderMap::new()).await? {
                Accepted::New => {
                    tracing::info!(source = %p.source.name, event_id = %id, "reconcile: stored an event only the API had");
                    p.count(|t| t.reconciled += 1);
                }
                Accepted::Duplicate(_) => p.count(|t| t.known += 1),
            }
            after = Some(id);
        }
        if let Some(cursor) = &after {
            p.progress(cursor);
        }
        if !page.has_more || page.data.is_empty() {
            return Ok(());
        }
    }
}

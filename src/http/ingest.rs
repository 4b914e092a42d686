//! `POST /webhooks/<source>`: verify, extract the id, store durably, answer.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::json;
use std::sync::Arc;
use tracing::Instrument as _;

use super::body::read_limited;
use super::problem::{Problem, Reason, Reply};
use super::{json_response, Ctx};
use crate::accept::{self, Prepared};
use crate::config::Source;
use crate::metrics::Delivery;
use crate::store::{Accepted, NewEvent, State, StoreError};
use crate::verify::{Answer, IdError};

/// Handles one delivery for `source`. Records `event_id` on the current span once known.
pub async fn ingest(ctx: &Ctx, source: &Source, req: http::Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let timeout = ctx.config.server.body_read_timeout;
    let max = source.max_body_bytes;
    // `_held` keeps the body's bytes counted against the budget until the answer is ready.
    let (body, _held) = read_limited(&parts.headers, body, max, timeout, &ctx.body_budget).await?;
    let now_ms = crate::clock::now_ms();
    source
        .verifier
        .verify(&parts.headers, &body, now_ms / 1000)
        .map_err(|e| Problem::new(Reason::BadSignature, e.to_string()))?;
    if let Some(answer) = source.verifier.answer(&parts.headers, &body) {
        return Ok(handshake(answer));
    }
    if source.verifier.needs_json_body() && !is_json(&parts.headers) {
        return Err(Problem::new(
            Reason::NotJson,
            "this source needs a JSON body (Content-Type application/json)",
        ));
    }
    let id = source
        .verifier
        .event_id(&parts.headers, &body)
        .map_err(|e| no_id(&e, &body))?;
    let id = match source.dedupe_on_body {
        Some(window) => (ctx.edge.bodies).claim(&source.name, &body, id, window, now_ms),
        None => id,
    };
    tracing::Span::current().record("event_id", id.as_str());
    let event = NewEvent {
        source: source.name.clone(),
        id: id.clone(),
        received_at: now_ms,
        event_type: source.verifier.event_type(&parts.headers, &body),
        headers: kept_headers(&parts.headers, &source.keep_headers),
        body,
        ordering: None,
    };
    let prepared = accept::prepare(source, event, &parts.headers);
    let outcome = store_detached(ctx, prepared).await.map_err(|e| {
        tracing::error!(error = %e, "could not store event");
        Problem::new(
            Reason::StorageUnavailable,
            "the event could not be stored durably; retry later",
        )
    })?;
    let outcome = with_retired_routes(ctx, source, &id, outcome).await;
    Ok(accepted(ctx, source, &id, outcome))
}

/// Stores `prepared` in a task of its own, so a client that hangs up while the write is under
/// way cannot cancel it half-counted: the store's own bookkeeping (its pending count) runs to
/// the end, and the outcome is counted there and then, answered or not (a count at answer
/// time misses the events whose client left after the write ended but before the answer).
async fn store_detached(ctx: &Ctx, prepared: Prepared) -> Result<Accepted, StoreError> {
    let (store, metrics) = (ctx.store.clone(), ctx.metrics.clone());
    let (answer, stored) = tokio::sync::oneshot::channel();
    let source = prepared.source().to_owned();
    tokio::spawn(
        async move {
            let outcome = prepared.store(&store).await;
            if let Ok(stored) = &outcome {
                metrics.stored(&source, *stored);
            }
            if let Err(Ok(outcome)) = answer.send(outcome) {
                tracing::info!(?outcome, "event stored; the client left before the answer");
            }
        }
        .in_current_span(),
    );
    stored
        .await
        .map_err(|e| StoreError::Unavailable(Arc::new(e)))?
}

/// A duplicate's state over every delivery the event has, those of routes no longer configured
/// included (the store's dedupe only reads the configured routes). Rare, so read only then.
async fn with_retired_routes(ctx: &Ctx, source: &Source, id: &str, outcome: Accepted) -> Accepted {
    let Accepted::Duplicate(state) = outcome else {
        return outcome;
    };
    if ctx.retired_of(&source.name).next().is_none() {
        return outcome;
    }
    match super::routed::records_of(ctx, &source.name, id).await {
        Ok(Some(records)) => {
            let states = records.iter().map(|r| r.state).chain([state]);
            Accepted::Duplicate(State::overall(states).unwrap_or(state))
        }
        Ok(None) => outcome,
        Err(e) => {
            // The duplicate is already settled in the store; its answer falls back to what the
            // configured routes say.
            tracing::warn!(error = %e, "could not read a retired route's delivery");
            outcome
        }
    }
}

/// Why no event id could be read from `body`.
fn no_id(e: &IdError, body: &[u8]) -> Problem {
    match e {
        IdError::NotJson if nesting_depth(body) > JSON_DEPTH_LIMIT => Problem::new(
            Reason::JsonTooDeep,
            format!(
                "the JSON body nests deeper than {JSON_DEPTH_LIMIT} levels, too deep to read \
                 its event id"
            ),
        ),
        IdError::NotJson => Problem::new(Reason::NotJson, "the body is not valid JSON"),
        e => Problem::new(Reason::NoEventId, e.to_string()),
    }
}

/// How deep the JSON parser that reads event ids goes (serde_json's recursion limit); valid
/// JSON nested deeper is answered with its own precise 400 rather than "not valid JSON".
const JSON_DEPTH_LIMIT: usize = 128;

/// The deepest nesting of arrays and objects in `body`, read as JSON text (strings and their
/// escapes skipped). No recursion, so any input is safe.
fn nesting_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The 200 a provider's handshake expects (Slack's challenge, Discord's PING, …).
fn handshake(answer: Answer) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(answer.body)));
    *res.status_mut() = answer.status;
    let h = res.headers_mut();
    if answer.status != StatusCode::NO_CONTENT {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(answer.content_type),
        );
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.extensions_mut().insert(Delivery::Challenge);
    res
}

fn text_response(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A `Content-Type` that is absent or names JSON (`application/json`, `…+json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn kept_headers(headers: &HeaderMap, keep: &[String]) -> Vec<(String, String)> {
    keep.iter()
        .flat_map(|name| {
            headers.get_all(name.as_str()).iter().map(move |v| {
                (
                    name.clone(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
        })
        .collect()
}

/// The 202/200 answer for a stored or duplicate event: JSON, unless the provider requires its own
/// text (Adyen's `[accepted]`).
fn accepted(ctx: &Ctx, source: &Source, id: &str, outcome: Accepted) -> Response<Full<Bytes>> {
    let location = super::event_location(&source.name, id);
    let (status, body) = match outcome {
        Accepted::New => (
            StatusCode::ACCEPTED,
            json!({"status": "accepted", "source": source.name, "eventId": id, "location": location}),
        ),
        Accepted::Duplicate(state) => (
            if state.is_final() {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            },
            json!({"status": "duplicate", "state": state, "source": source.name, "eventId": id, "location": location}),
        ),
    };
    let mut res = match source.verifier.acknowledgement() {
        Some(text) => text_response(status, text),
        None => json_response(status, &body),
    };
    res.extensions_mut().insert(match outcome {
        Accepted::New => Delivery::Accepted,
        Accepted::Duplicate(_) => Delivery::Duplicate,
    });
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    let pending = !matches!(outcome, Accepted::Duplicate(s) if s.is_final());
    if pending {
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from(ctx.estimate_wait_secs(&source.name)),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_depth_counts_brackets_outside_strings() {
        assert_eq!(nesting_depth(b"{}"), 1);
        assert_eq!(nesting_depth(br#"{"a":[1,{"b":"[[[{"}]}"#), 3);
        assert_eq!(nesting_depth(br#"{"a":"\"[[["}"#), 1);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(nesting_depth(deep.as_bytes()), 200);
    }
}

//! One delivery's status: the fields of the status resource, what holds it, its histories and
//! `Retry-After` (see `routed` for the resource itself and an event's routes together).

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Map, Value};

use super::problem::Reply;
use super::{hold, json_response, Ctx};
use crate::clock::now_ms;
use crate::event::origin::origin_of;
use crate::history;
use crate::store::{split_stream, EventRecord, StoreError};

/// The full status of `record`, with `Retry-After` while it is not final.
pub async fn status_response(ctx: &Ctx, record: &EventRecord) -> Reply {
    let body = status_body(ctx, record).await?;
    let res = json_response(StatusCode::OK, &Value::Object(body));
    Ok(with_retry_after(ctx, record, res))
}

/// The status resource's fields: the summary, what it waits for (`waitingFor`) and why
/// (`hold`), and both histories.
pub async fn status_body(
    ctx: &Ctx,
    record: &EventRecord,
) -> Result<Map<String, Value>, StoreError> {
    let mut body = summary(record);
    let head = hold::waiting_for(ctx, record).await?;
    if let Some(head) = &head {
        let mut waiting = hold::head_json(head);
        if let Some(fields) = waiting.as_object_mut() {
            fields.remove("route"); // `waitingFor` kept its first shape
        }
        body.insert("waitingFor".into(), waiting);
    }
    if let Some(hold) = hold::hold(ctx, record, head.as_ref(), now_ms()) {
        body.insert("hold".into(), hold);
    }
    let attempts: Vec<Value> = record
        .attempts
        .iter()
        .map(|a| {
            json!({
                "number": history::overall_number(&record.requeues, a),
                "startedAt": a.started_at,
                "durationMs": a.duration_ms,
                "outcome": a.outcome,
                "status": a.status,
                "exitCode": a.exit_code,
                "error": a.error,
            })
        })
        .collect();
    body.insert("attempts".into(), Value::Array(attempts));
    let requeues: Vec<Value> = record
        .requeues
        .iter()
        .map(|r| {
            json!({
                "at": r.at,
                "previousState": r.previous_state,
                "previousAttempts": r.previous_attempts,
                "previousError": r.previous_error,
            })
        })
        .collect();
    body.insert("requeues".into(), Value::Array(requeues));
    Ok(body)
}

/// `res` with `Retry-After` (the estimated wait) while `record` is not final.
pub fn with_retry_after(
    ctx: &Ctx,
    record: &EventRecord,
    mut res: Response<Full<Bytes>>,
) -> Response<Full<Bytes>> {
    if !record.state.is_final() {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(ctx.estimate_wait_secs(&record.source)),
        );
    }
    res
}

/// The fields of `record` shared by the status resource and admin listings (no histories).
pub fn summary(record: &EventRecord) -> Map<String, Value> {
    let (source, route) = split_stream(&record.source);
    let (origin, reconciled_from) = origin_of(&record.headers);
    let body = json!({
        "origin": origin,
        "reconciledFrom": reconciled_from,
        "source": source,
        "route": route,
        "eventId": record.id,
        "eventType": record.event_type,
        "state": record.state,
        "receivedAt": record.received_at,
        "attemptCount": record.attempt_count,
        "nextAttemptAt": record.next_attempt_at,
        "leaseUntil": record.lease_until,
        "lastError": record.last_error,
        "finishedAt": record.finished_at,
        "bodyPurged": record.body_purged,
        "discarded": record.is_discarded(),
        "requeueCount": record.requeues.len(),
        "orderingKey": record.ordering.as_ref().map(|o| o.key.as_str()),
    });
    match body {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

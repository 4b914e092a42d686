//! `GET /events/<source>/<id>`: where an event stands.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

use super::problem::{problem, Reason};
use super::{json_response, Ctx};

/// The status resource of one event (the `Location` of its 202).
pub fn event_status(ctx: &Ctx, source: &str, id: &str) -> Response<Full<Bytes>> {
    let record = match ctx.store.get(source, id) {
        Ok(Some(record)) => record,
        Ok(None) => return problem(Reason::NotFound, "no such event"),
        Err(e) => {
            tracing::error!(error = %e, "could not read event");
            return problem(
                Reason::StorageUnavailable,
                "the event could not be read; retry later",
            );
        }
    };
    let body = json!({
        "source": record.source,
        "eventId": record.id,
        "eventType": record.event_type,
        "state": record.state,
        "receivedAt": record.received_at,
        "attemptCount": record.attempt_count,
        "attempts": record.attempts,
        "nextAttemptAt": record.next_attempt_at,
        "leaseUntil": record.lease_until,
        "lastError": record.last_error,
        "finishedAt": record.finished_at,
        "bodyPurged": record.body_purged,
    });
    let mut res = json_response(StatusCode::OK, &body);
    if !record.state.is_final() {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(ctx.estimate_wait_secs()),
        );
    }
    res
}

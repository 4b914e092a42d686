//! `GET /events/<source>/<id>`, the status resource (behind the admin token unless
//! `admin.public_status` is set). An event of a source with routes is stored once per route
//! (see `store::stream`); its status resource shows the routes together: the overall state and each
//! route's own status, whose `location` (`/events/<source>:<route>/<id>`) is where that route's
//! delivery alone is read, requeued or discarded (see `operate` for the event's own actions).
//! Deliveries of a route removed from the config stay part of the event.

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Map, Value};

use super::auth::{authorize, Access};
use super::problem::{no_event, Reply};
use super::status::{status_body, status_response, with_retry_after};
use super::{event_location, json_response, Ctx};
use crate::store::{EventRecord, State, StoreError};

/// The status resource of one event (the `Location` of its 202).
pub async fn event_status(ctx: &Ctx, headers: &HeaderMap, source: &str, id: &str) -> Reply {
    authorize(&ctx.config.admin, headers, Access::Status)?;
    if let Some(records) = records_of(ctx, source, id).await? {
        if records.is_empty() {
            return Err(no_event());
        }
        let body = routed_body(ctx, source, &records).await?;
        return Ok(routed_response(ctx, &records, body));
    }
    let record = ctx.store.get(source, id).await?.ok_or_else(no_event)?;
    status_response(ctx, &record).await
}

/// A routed event's status `body`, with `Retry-After` while a route is not final.
pub fn routed_response(
    ctx: &Ctx,
    records: &[EventRecord],
    body: Map<String, Value>,
) -> Response<Full<Bytes>> {
    let res = json_response(StatusCode::OK, &Value::Object(body));
    match unfinished(records) {
        Some(record) => with_retry_after(ctx, record, res),
        None => res,
    }
}

/// The records of event `id` of `source`, one per route, when `source` has routes or had
/// routes that are no longer configured (`None` otherwise: the event is its one record). An
/// event accepted before its source had routes is its one record.
pub async fn records_of(
    ctx: &Ctx,
    source: &str,
    id: &str,
) -> Result<Option<Vec<EventRecord>>, StoreError> {
    let routed = ctx.config.source(source).filter(|s| s.routed);
    let retired: Vec<&str> = ctx.retired_of(source).collect();
    if routed.is_none() && retired.is_empty() {
        return Ok(None);
    }
    let mut streams: Vec<&str> = (routed.into_iter())
        .flat_map(|s| s.routes.iter().map(|r| r.stream.as_str()))
        .collect();
    streams.extend(retired);
    let mut found = Vec::new();
    for stream in streams {
        found.extend(ctx.store.get(stream, id).await?);
    }
    if routed.is_none() && found.is_empty() {
        return Ok(None);
    }
    if found.is_empty() {
        found.extend(ctx.store.get(source, id).await?);
    }
    Ok(Some(found))
}

/// Where the event stands over all its routes ([`State::overall`]).
fn overall_state(records: &[EventRecord]) -> State {
    State::overall(records.iter().map(|r| r.state)).unwrap_or(State::Skipped)
}

/// The status of a routed event from its `records` (at least one): the event's own fields,
/// the overall state, and each route's status with its location.
pub async fn routed_body(
    ctx: &Ctx,
    source: &str,
    records: &[EventRecord],
) -> Result<Map<String, Value>, StoreError> {
    let mut routes = Vec::with_capacity(records.len());
    for record in records {
        let mut one = status_body(ctx, record).await?;
        one.insert(
            "location".into(),
            Value::String(event_location(&record.source, &record.id)),
        );
        routes.push(Value::Object(one));
    }
    let state = overall_state(records);
    let first = &records[0];
    let finished = records
        .iter()
        .map(|r| r.finished_at)
        .collect::<Option<Vec<_>>>();
    let body = json!({
        "source": source,
        "route": null,
        "eventId": first.id,
        "eventType": first.event_type,
        "state": state,
        "receivedAt": first.received_at,
        "attemptCount": records.iter().map(|r| r.attempt_count).sum::<u32>(),
        "finishedAt": finished.filter(|_| state.is_final()).and_then(|f| f.into_iter().max()),
        "routes": routes,
    });
    Ok(match body {
        Value::Object(map) => map,
        _ => Map::new(),
    })
}

/// The record whose wait the overall `Retry-After` estimates: the first unfinished route's.
pub fn unfinished(records: &[EventRecord]) -> Option<&EventRecord> {
    records.iter().find(|r| !r.state.is_final())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewEvent;

    #[test]
    fn the_overall_state_waits_for_every_route() {
        let ev = NewEvent {
            source: "s:a".into(),
            id: "e".into(),
            received_at: 1,
            event_type: None,
            headers: Vec::new(),
            body: bytes::Bytes::new(),
            ordering: None,
        };
        let with = |state| EventRecord {
            state,
            ..EventRecord::queued(&ev)
        };
        let states =
            |list: &[State]| overall_state(&list.iter().map(|s| with(*s)).collect::<Vec<_>>());
        assert_eq!(states(&[State::Succeeded, State::Queued]), State::Queued);
        assert_eq!(states(&[State::Dead, State::Processing]), State::Processing);
        assert_eq!(states(&[State::Succeeded, State::Dead]), State::Dead);
        assert_eq!(
            states(&[State::Skipped, State::Succeeded]),
            State::Succeeded
        );
        assert_eq!(states(&[State::Skipped]), State::Skipped);
    }
}

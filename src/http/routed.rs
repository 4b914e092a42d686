//! An event of a source with routes is stored once per route (see `store::stream`). Its status
//! resource, `/events/<source>/<id>`, shows the routes together: the overall state and each
//! route's own status, whose `location` (`/events/<source>:<route>/<id>`) is where that route's
//! delivery alone is read, requeued or discarded. Requeueing or discarding the event itself acts
//! on every route that can take it.

use serde_json::{json, Map, Value};

use super::problem::{no_event, Problem, Reason, Reply};
use super::status::{routed_response, status_body};
use super::{event_location, Ctx};
use crate::clock::now_ms;
use crate::store::{DiscardOutcome, EventRecord, RequeueOutcome, State, StoreError};

/// The records of event `id` of `source`, one per route, when `source` has routes (`None`
/// otherwise). An event accepted before its source had routes is its one record.
pub async fn records_of(
    ctx: &Ctx,
    source: &str,
    id: &str,
) -> Result<Option<Vec<EventRecord>>, StoreError> {
    let Some(src) = ctx.config.source(source).filter(|s| s.routed) else {
        return Ok(None);
    };
    let mut found = Vec::with_capacity(src.routes.len());
    for route in &src.routes {
        found.extend(ctx.store.get(&route.stream, id).await?);
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

/// The discard of a routed event: every dead route of it.
pub async fn discard_routes(ctx: &Ctx, source: &str, records: &[EventRecord]) -> Reply {
    let mut discarded = 0;
    for dead in records
        .iter()
        .filter(|r| r.state == State::Dead && !r.body_purged)
    {
        let outcome = ctx.store.discard(&dead.source, &dead.id).await?;
        discarded += usize::from(matches!(outcome, DiscardOutcome::Discarded(_)));
    }
    if discarded == 0 {
        return Err(match records.is_empty() {
            true => no_event(),
            false => Problem::new(Reason::Conflict, "no route of the event is dead"),
        });
    }
    tracing::info!(routes = discarded, "dead routes of an event discarded");
    routed_status(ctx, source, &records[0].id).await
}

/// The current status of the routed event `id` of `source`.
async fn routed_status(ctx: &Ctx, source: &str, id: &str) -> Reply {
    let records = records_of(ctx, source, id).await?.unwrap_or_default();
    if records.is_empty() {
        return Err(no_event());
    }
    let body = routed_body(ctx, source, &records).await?;
    Ok(routed_response(ctx, &records, body))
}

/// The requeue of a routed event: every route of it that delivered or gave up (a skipped
/// route has nothing to deliver; requeue one route at its own location).
pub async fn requeue_routes(ctx: &Ctx, source: &str, records: &[EventRecord]) -> Reply {
    let mut requeued = 0;
    for record in records
        .iter()
        .filter(|r| r.state.is_final() && !r.body_purged)
    {
        let outcome = ctx
            .store
            .requeue(&record.source, &record.id, now_ms())
            .await?;
        requeued += usize::from(matches!(outcome, RequeueOutcome::Requeued(_)));
    }
    if requeued == 0 {
        return Err(match records.is_empty() {
            true => no_event(),
            false => Problem::new(
                Reason::Conflict,
                "no route of the event can be requeued: each is queued, processing, skipped \
                 or purged by retention",
            ),
        });
    }
    tracing::info!(routes = requeued, "routes of an event requeued");
    routed_status(ctx, source, &records[0].id).await
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

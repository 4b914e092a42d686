//! Operator actions on one event: requeue and discard. What they take is decided here, before
//! anything changes, so a dry run (`dry_run=true`) answers with exactly the deliveries the real
//! action would take:
//! - one delivery (an event of a source without routes, or one route's `source:route`) is
//!   requeued when dead or succeeded — naming it is the deliberate replay — and discarded when
//!   dead;
//! - an event of a source with routes takes only its dead routes: a route that succeeded is
//!   delivered again only with `include=succeeded`, so a requeue never replays a paid invoice
//!   by accident.
//!
//! Every answer names the deliveries taken (`targets`), and the response carries [`Acted`] for
//! the audit log.

use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

use super::problem::{no_event, Problem, Reason, Reply};
use super::query::Params;
use super::routed::routed_response;
use super::status::status_body;
use super::{event_location, json_response, routed, Acted, Ctx};
use crate::clock::now_ms;
use crate::store::{split_stream, DiscardOutcome, EventRecord, RequeueOutcome, State, StoreError};

/// What a requeue or discard of one event was asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ask {
    /// `include=succeeded`: a routed event's succeeded routes are delivered again too.
    include_succeeded: bool,
    /// `dry_run=true`: answer with the targets, change nothing.
    dry_run: bool,
}

impl Ask {
    /// Reads `include` (requeue only) and `dry_run` from `query`.
    pub fn parse(query: Option<&str>, requeue: bool) -> Result<Ask, Problem> {
        let allowed: &[&str] = if requeue {
            &["include", "dry_run"]
        } else {
            &["dry_run"]
        };
        let p = Params::parse(query, allowed)?;
        let include_succeeded = match p.text("include") {
            None => false,
            Some("succeeded") => true,
            Some(other) => {
                return Err(Problem::new(
                    Reason::InvalidQuery,
                    format!("include={other:?} is not known; the only value is succeeded"),
                ))
            }
        };
        Ok(Ask {
            include_succeeded,
            dry_run: p.flag("dry_run")?,
        })
    }
}

/// One delivery an action takes, as the operator sees it (its state before the action).
pub fn target(record: &EventRecord) -> Value {
    let (source, route) = split_stream(&record.source);
    json!({
        "source": source,
        "route": route,
        "eventId": record.id,
        "state": record.state,
        "location": event_location(&record.source, &record.id),
    })
}

/// `record` as an audit target: `source[:route]/id`.
pub fn audit_target(record: &EventRecord) -> String {
    format!("{}/{}", record.source, record.id)
}

/// The records an action on event `id` of `source` sees, and whether they are a routed
/// event's routes (`false`: one delivery).
pub(super) async fn deliveries(
    ctx: &Ctx,
    source: &str,
    id: &str,
) -> Result<(Vec<EventRecord>, bool), Problem> {
    if let Some(records) = routed::records_of(ctx, source, id).await? {
        return Ok((records, true));
    }
    Ok((
        ctx.store.get(source, id).await?.into_iter().collect(),
        false,
    ))
}

/// `POST /admin/events/<source>/<id>/requeue[?include=succeeded][&dry_run=true]`.
pub async fn requeue(ctx: &Ctx, source: &str, id: &str, query: Option<&str>) -> Reply {
    let ask = Ask::parse(query, true)?;
    let (records, routed) = deliveries(ctx, source, id).await?;
    if records.is_empty() {
        return Err(no_event());
    }
    let targets: Vec<&EventRecord> = (records.iter())
        .filter(|r| requeue_takes(r, ask.include_succeeded || !routed))
        .collect();
    if targets.is_empty() {
        return Err(nothing_to_requeue(&records, routed));
    }
    if ask.dry_run {
        return Ok(dry_run("requeue", &targets));
    }
    let (taken, now) = take_all(ctx, Action::Requeue, targets).await?;
    let Some(now) = now else {
        return Err(nothing_to_requeue(&records, routed));
    };
    tracing::info!(deliveries = taken.len(), "event requeued by an operator");
    let event = Event { source, id, routed };
    answer(ctx, event, now, "requeue", &taken).await
}

/// An operator action on one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Action {
    /// Queue it again, due now.
    Requeue,
    /// Delete its body, keep its tombstone.
    Discard,
}

/// Does `action` to `record`: its record after, or `None` when it moved on since it was read
/// (a worker, another operator) and the store refused.
pub(super) async fn act(
    ctx: &Ctx,
    action: Action,
    record: &EventRecord,
) -> Result<Option<EventRecord>, StoreError> {
    let (source, id) = (&record.source, &record.id);
    Ok(match action {
        Action::Requeue => match ctx.store.requeue(source, id, now_ms()).await? {
            RequeueOutcome::Requeued(now) => Some(now),
            _ => None,
        },
        Action::Discard => match ctx.store.discard(source, id).await? {
            DiscardOutcome::Discarded(now) => Some(now),
            _ => None,
        },
    })
}

/// Does `action` to each of `targets`: those taken, and the last one's record after.
async fn take_all<'a>(
    ctx: &Ctx,
    action: Action,
    targets: Vec<&'a EventRecord>,
) -> Result<(Vec<&'a EventRecord>, Option<EventRecord>), StoreError> {
    let (mut taken, mut now) = (Vec::with_capacity(targets.len()), None);
    for record in targets {
        if let Some(after) = act(ctx, action, record).await? {
            taken.push(record);
            now = Some(after);
        }
    }
    Ok((taken, now))
}

/// Whether a requeue takes `record`: dead, or succeeded when `succeeded` may be delivered
/// again, with its body kept.
pub(super) fn requeue_takes(record: &EventRecord, succeeded: bool) -> bool {
    !record.body_purged
        && match record.state {
            State::Dead => true,
            State::Succeeded => succeeded,
            _ => false,
        }
}

/// Why nothing of `records` can be requeued (a 409 saying what would).
fn nothing_to_requeue(records: &[EventRecord], routed: bool) -> Problem {
    if !routed {
        return match RequeueOutcome::refused(&records[0]) {
            RequeueOutcome::BodyPurged => Problem::new(
                Reason::Conflict,
                "the body was purged by retention, so there is nothing left to process",
            ),
            _ => Problem::new(
                Reason::Conflict,
                format!(
                    "the event is {}; only dead or succeeded events can be requeued",
                    records[0].state
                ),
            ),
        };
    }
    let succeeded = (records.iter())
        .filter(|r| r.state == State::Succeeded && !r.body_purged)
        .count();
    let detail = match succeeded {
        0 => "no route of the event can be requeued: each is queued, processing, skipped or \
              purged by retention"
            .to_owned(),
        n => format!(
            "no route of the event is dead; {n} succeeded route(s) would be delivered again \
             only with include=succeeded (or name the route: <source>:<route>)"
        ),
    };
    Problem::new(Reason::Conflict, detail)
}

/// `DELETE /admin/events/<source>/<id>[?dry_run=true]`: discard a dead delivery, or every dead
/// route of a routed event, keeping their tombstones so the provider's retries stay duplicates.
pub async fn discard(ctx: &Ctx, source: &str, id: &str, query: Option<&str>) -> Reply {
    let ask = Ask::parse(query, false)?;
    let (records, routed) = deliveries(ctx, source, id).await?;
    if records.is_empty() {
        return Err(no_event());
    }
    let targets: Vec<&EventRecord> = (records.iter())
        .filter(|r| r.state == State::Dead && !r.body_purged)
        .collect();
    if targets.is_empty() {
        return Err(nothing_to_discard(&records, routed));
    }
    if ask.dry_run {
        return Ok(dry_run("discard", &targets));
    }
    let (taken, now) = take_all(ctx, Action::Discard, targets).await?;
    let Some(now) = now else {
        return Err(nothing_to_discard(&records, routed));
    };
    tracing::info!(
        deliveries = taken.len(),
        "dead event discarded by an operator"
    );
    let event = Event { source, id, routed };
    answer(ctx, event, now, "discard", &taken).await
}

/// Why nothing of `records` can be discarded (a 409).
fn nothing_to_discard(records: &[EventRecord], routed: bool) -> Problem {
    let detail = match (routed, &records[0]) {
        (true, _) => "no route of the event is dead".to_owned(),
        (false, r) if r.is_discarded() => "the event was already discarded".to_owned(),
        (false, r) => format!(
            "the event is {}; only dead events can be discarded",
            r.state
        ),
    };
    Problem::new(Reason::Conflict, detail)
}

/// The answer to a dry run: what `action` would take.
fn dry_run(action: &'static str, targets: &[&EventRecord]) -> Response<Full<bytes::Bytes>> {
    let listed: Vec<Value> = targets.iter().map(|r| target(r)).collect();
    let body = json!({ "dryRun": true, "action": action, "targets": listed });
    let mut res = json_response(StatusCode::OK, &body);
    res.extensions_mut().insert(Acted {
        action,
        targets: targets.iter().map(|r| audit_target(r)).collect(),
        count: targets.len(),
        dry_run: true,
    });
    res
}

/// The event an action was asked for.
#[derive(Clone, Copy)]
struct Event<'a> {
    source: &'a str,
    id: &'a str,
    /// Whether it is a routed event's routes (else one delivery).
    routed: bool,
}

/// The event's status after `action` took `taken` — one delivery's as the store left it
/// (`now`), a routed event's read again — with `targets` naming what was taken.
async fn answer(
    ctx: &Ctx,
    event: Event<'_>,
    now: EventRecord,
    action: &'static str,
    taken: &[&EventRecord],
) -> Reply {
    let records = match event.routed {
        true => (routed::records_of(ctx, event.source, event.id).await?).unwrap_or_default(),
        false => vec![now],
    };
    let first = records.first().ok_or_else(no_event)?;
    let mut body = match event.routed {
        true => routed::routed_body(ctx, event.source, &records).await?,
        false => status_body(ctx, first).await?,
    };
    body.insert(
        "targets".into(),
        Value::Array(taken.iter().map(|r| target(r)).collect()),
    );
    let mut res = routed_response(ctx, &records, body);
    res.extensions_mut().insert(Acted {
        action,
        targets: taken.iter().map(|r| audit_target(r)).collect(),
        count: taken.len(),
        dry_run: false,
    });
    Ok(res)
}

//! The admin API's handlers (routed and authorised in `router`): list events, fetch a payload,
//! requeue one event, bulk-requeue dead events, show ordering keys held back and forward
//! destinations.

use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

use super::problem::{no_event, Problem, Reason, Reply};
use super::query::Params;
use super::status::{routed_response, status_body, status_response, summary, with_retry_after};
use super::{event_location, json_response, routed, Ctx};
use crate::clock::now_ms;
use crate::store::{
    split_stream, DiscardOutcome, EventFilter, EventRecord, Page, RequeueOutcome, StoreError,
};

/// `GET /admin/events?source=&state=&type=&since=&until=&id=&limit=&cursor=`: newest first.
/// With `id`, the event of that id in each configured source (or `source`), filtered alike.
pub async fn list_events(ctx: &Ctx, query: Option<&str>) -> Reply {
    const ALLOWED: &[&str] = &[
        "source", "route", "state", "type", "since", "until", "id", "limit", "cursor",
    ];
    let p = Params::parse(query, ALLOWED)?;
    let (filter, limit, cursor) = (p.filter()?, p.limit()?, p.cursor()?);
    let page = match p.text("id") {
        Some(_) if cursor.is_some() => {
            return Err(Problem::new(
                Reason::InvalidQuery,
                "an id search has one page: cursor cannot go with id",
            ))
        }
        Some(id) => find_id(ctx, &filter, id, limit).await?,
        None => ctx.store.list(&filter, limit, cursor.as_ref()).await?,
    };
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|record| {
            let mut item = summary(record);
            let location = event_location(&record.source, &record.id);
            item.insert("location".into(), Value::String(location));
            Value::Object(item)
        })
        .collect();
    let mut body = json!({ "items": items });
    if let Some(next) = page.next {
        body["nextCursor"] = Value::String(next.encode());
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// The events with id `id` in the configured sources `filter` allows, that match it: one
/// lookup per route, so an id is found at once however many events are stored.
async fn find_id(
    ctx: &Ctx,
    filter: &EventFilter,
    id: &str,
    limit: usize,
) -> Result<Page, StoreError> {
    let mut items = Vec::new();
    let sources = (ctx.config.sources.iter())
        .filter(|s| filter.source.as_deref().is_none_or(|f| f == s.name));
    for route in sources.flat_map(|s| &s.routes) {
        if let Some(record) = ctx.store.get(&route.stream, id).await? {
            items.extend(Some(record).filter(|r| filter.matches(r)));
        }
    }
    items.sort_by(|a, b| (b.received_at, &b.source).cmp(&(a.received_at, &a.source)));
    items.truncate(limit);
    Ok(Page { items, next: None })
}

/// `GET /admin/events/<source>/<id>`: the status resource plus the headers kept with the
/// event (admin only, whatever `public_status` says: they may name the sender's setup).
pub async fn event(ctx: &Ctx, source: &str, id: &str) -> Reply {
    if let Some(records) = routed::records_of(ctx, source, id).await? {
        let first = records.first().ok_or_else(no_event)?;
        let mut body = routed::routed_body(ctx, source, &records).await?;
        body.insert("headers".into(), kept_headers(first));
        return Ok(routed_response(ctx, &records, body));
    }
    let record = ctx.store.get(source, id).await?.ok_or_else(no_event)?;
    let mut body = status_body(ctx, &record).await?;
    body.insert("headers".into(), kept_headers(&record));
    let res = json_response(StatusCode::OK, &Value::Object(body));
    Ok(with_retry_after(ctx, &record, res))
}

fn kept_headers(record: &EventRecord) -> Value {
    let headers = record
        .headers
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }));
    Value::Array(headers.collect())
}

/// `DELETE /admin/events/<source>/<id>`: discard a dead event, keeping its tombstone so the
/// provider's retries stay duplicates; answers with its new status.
pub async fn discard(ctx: &Ctx, source: &str, id: &str) -> Reply {
    if let Some(records) = routed::records_of(ctx, source, id).await? {
        return routed::discard_routes(ctx, source, &records).await;
    }
    match ctx.store.discard(source, id).await? {
        DiscardOutcome::Discarded(record) => {
            tracing::info!("dead event discarded");
            status_response(ctx, &record).await
        }
        DiscardOutcome::Unknown => Err(no_event()),
        DiscardOutcome::NotDead(state) => Err(Problem::new(
            Reason::Conflict,
            format!("the event is {state}; only dead events can be discarded"),
        )),
        DiscardOutcome::AlreadyDiscarded => Err(Problem::new(
            Reason::Conflict,
            "the event was already discarded",
        )),
    }
}

/// `GET /admin/events/<source>/<id>/payload`: the stored body with its original `Content-Type`.
pub async fn payload(ctx: &Ctx, source: &str, id: &str) -> Reply {
    // A routed event's body is kept with each route that took it: any of them will do.
    let record = match routed::records_of(ctx, source, id).await? {
        Some(records) => {
            let kept = records.iter().position(|r| !r.body_purged).unwrap_or(0);
            records.into_iter().nth(kept)
        }
        None => ctx.store.get(source, id).await?,
    };
    let record = record.ok_or_else(no_event)?;
    let body = match ctx.store.body(&record.source, id).await? {
        Some(body) if !record.body_purged => body,
        _ => return Err(no_body(record.body_purged)),
    };
    let content_type = record
        .headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .and_then(|(_, value)| HeaderValue::from_str(value).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut res = Response::new(Full::new(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

/// Why there is no body to answer with: purged by retention as the record says (404), or
/// gone although the record says it is kept (500: the store lost it, and saying "purged"
/// would contradict the status resource's `bodyPurged: false`).
fn no_body(purged: bool) -> Problem {
    if purged {
        return Problem::new(Reason::NotFound, "the body was purged by retention");
    }
    tracing::error!("an event's body is missing although it was never purged");
    Problem::new(
        Reason::BodyMissing,
        "the stored body is missing although retention has not purged it",
    )
}

/// `POST /admin/events/<source>/<id>/requeue`: queue a dead or succeeded event again now;
/// answers with its new status.
pub async fn requeue_one(ctx: &Ctx, source: &str, id: &str) -> Reply {
    if let Some(records) = routed::records_of(ctx, source, id).await? {
        return routed::requeue_routes(ctx, source, &records).await;
    }
    match ctx.store.requeue(source, id, now_ms()).await? {
        RequeueOutcome::Requeued(record) => {
            tracing::info!(
                previous_state = record.requeues.last().map(|r| r.previous_state.as_str()),
                "event requeued"
            );
            status_response(ctx, &record).await
        }
        RequeueOutcome::Unknown => Err(no_event()),
        RequeueOutcome::NotFinal(state) => Err(Problem::new(
            Reason::Conflict,
            format!("the event is {state}; only dead or succeeded events can be requeued"),
        )),
        RequeueOutcome::BodyPurged => Err(Problem::new(
            Reason::Conflict,
            "the body was purged by retention, so there is nothing left to process",
        )),
    }
}

/// `POST /admin/requeue?source=&type=&since=&until=&cursor=`: requeue dead events in range, bounded
/// per call (see `Store::requeue_dead`); `more: true` with `nextCursor` when some may remain.
pub async fn requeue_dead(ctx: &Ctx, query: Option<&str>) -> Reply {
    const ALLOWED: &[&str] = &["source", "route", "type", "since", "until", "cursor"];
    let p = Params::parse(query, ALLOWED)?;
    let (filter, cursor) = (p.filter()?, p.cursor()?);
    let done = ctx
        .store
        .requeue_dead(&filter, cursor.as_ref(), now_ms())
        .await?;
    tracing::info!(requeued = done.requeued, "dead events requeued");
    let mut body = json!({ "requeued": done.requeued, "more": done.next.is_some() });
    if let Some(next) = done.next {
        body["nextCursor"] = Value::String(next.encode());
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /admin/ordering?source=`: the ordering keys that hold events back — a dead head
/// (`blocked`) or events waiting behind the head — with the head and how many wait.
pub async fn ordering(ctx: &Ctx, query: Option<&str>) -> Reply {
    let p = Params::parse(query, &["source"])?;
    // A routed source keeps a line per route: read each of its routes' streams.
    let streams: Vec<Option<&str>> = match p.text("source") {
        Some(name) => match ctx.config.source(name).filter(|s| s.routed) {
            Some(s) => s.routes.iter().map(|r| Some(r.stream.as_str())).collect(),
            None => vec![Some(name)],
        },
        None => vec![None],
    };
    let mut found = crate::store::Lines::default();
    for stream in streams {
        let more = ctx.store.ordering_lines(stream, true).await?;
        found.lines.extend(more.lines);
        found.truncated |= more.truncated;
    }
    let keys: Vec<Value> = found
        .lines
        .iter()
        .filter(|line| line.blocked() || line.behind > 0)
        .map(|line| {
            let head = line.head.as_ref().map(|h| {
                json!({
                    "eventId": h.id,
                    "state": h.state,
                    "attemptCount": h.attempt_count,
                    "lastError": h.last_error,
                    "location": event_location(&h.source, &h.id),
                })
            });
            let (source, route) = split_stream(&line.source);
            json!({
                "source": source,
                "route": route,
                "key": line.key,
                "blocked": line.blocked(),
                "head": head,
                "waiting": line.behind,
            })
        })
        .collect();
    let body = json!({ "keys": keys, "truncated": found.truncated });
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /admin/destinations`: every forward destination's limit, load and circuit state, as
/// the worker last published them.
pub fn destinations(ctx: &Ctx) -> Reply {
    let items: Vec<Value> = ctx
        .metrics
        .destinations()
        .into_iter()
        .map(|(name, d)| {
            let mut item = json!(d);
            item["destination"] = json!(name);
            item
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "destinations": items }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_body_is_not_called_purged() {
        assert_eq!(no_body(true).response().status(), StatusCode::NOT_FOUND);
        let missing = no_body(false).response();
        assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            missing.extensions().get::<Reason>(),
            Some(&Reason::BodyMissing)
        );
    }
}

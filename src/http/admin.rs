//! The admin API's handlers (routed and authorised in `router`): list events, fetch a payload,
//! requeue one event, bulk-requeue dead events, show ordering keys held back and forward
//! destinations.

use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

use super::problem::{no_event, Problem, Reason, Reply};
use super::query::{Params, MAX_LIMIT};
use super::routed::routed_response;
use super::status::{status_body, summary, with_retry_after};
use super::{event_location, json_response, routed, Acted, Ctx};
use crate::clock::now_ms;
use crate::store::{split_stream, Cursor, EventFilter, EventRecord, Page, State, StoreError};

/// `GET /admin/events?source=&state=&type=&since=&until=&where=&contains=&origin=&id=&limit=&cursor=`:
/// newest first. With `id`, the event of that id in each configured source (or `source`),
/// filtered alike. With `where`/`contains`, a body search (see [`search_extent`]).
pub async fn list_events(ctx: &Ctx, query: Option<&str>) -> Reply {
    const ALLOWED: &[&str] = &[
        "source", "route", "state", "type", "since", "until", "where", "contains", "origin", "id",
        "limit", "cursor",
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
        Some(_) if !filter.body.is_empty() => {
            return Err(Problem::new(
                Reason::InvalidQuery,
                "an id names one event: where and contains cannot go with id",
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
    let mut body = json!({ "items": items, "complete": page.next.is_none() });
    if !filter.body.is_empty() {
        body["search"] = search_extent(ctx, &filter, page.next.as_ref());
    }
    if let Some(next) = page.next {
        body["nextCursor"] = Value::String(next.encode());
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// How far back a body search looked: `searchedBack`, the arrival time (unix ms) it reached —
/// where `next` stopped it, else `since` (`null`: the first event) — and `bodiesKeptSince`:
/// events that succeeded before it have had their body purged by retention, so a search does
/// not find them (dead and unfinished events keep theirs).
fn search_extent(ctx: &Ctx, filter: &EventFilter, next: Option<&Cursor>) -> Value {
    let reached = match next.and_then(Cursor::position) {
        Some((at, _, _)) => Some(at),
        None => filter.since,
    };
    let retention = u64::try_from(ctx.config.storage.retention.as_millis()).unwrap_or(u64::MAX);
    json!({
        "searchedBack": reached,
        "bodiesKeptSince": now_ms().saturating_sub(retention),
    })
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
    let streams = (sources.flat_map(|s| s.routes.iter().map(|r| r.stream.as_str())))
        .chain(ctx.retired_streams.iter().map(String::as_str))
        .filter(|s| {
            filter
                .source
                .as_deref()
                .is_none_or(|f| split_stream(s).0 == f)
        })
        .collect::<Vec<&str>>();
    for stream in streams {
        if let Some(record) = ctx.store.get(stream, id).await? {
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

/// `POST /admin/requeue?source=&route=&type=&since=&until=&cursor=&dry_run=`: requeue the
/// dead events in range, bounded per call (see `Store::requeue_dead`), naming each one taken;
/// `more: true` with `nextCursor` when some may remain. A dry run lists (a page of) the dead
/// events the call would take and changes nothing.
pub async fn requeue_dead(ctx: &Ctx, query: Option<&str>) -> Reply {
    const ALLOWED: &[&str] = &[
        "source", "route", "type", "since", "until", "cursor", "dry_run",
    ];
    let p = Params::parse(query, ALLOWED)?;
    let (filter, cursor) = (p.filter()?, p.cursor()?);
    if p.flag("dry_run")? {
        return requeue_dead_dry_run(ctx, filter, cursor).await;
    }
    let done = ctx
        .store
        .requeue_dead(&filter, cursor.as_ref(), now_ms())
        .await?;
    tracing::info!(requeued = done.requeued, "dead events requeued");
    let targets: Vec<Value> = (done.taken.iter())
        .map(|(stream, id)| bulk_target(stream, id))
        .collect();
    let mut body = json!({
        "requeued": done.requeued, "more": done.next.is_some(), "targets": targets,
    });
    if let Some(next) = done.next {
        body["nextCursor"] = Value::String(next.encode());
    }
    let mut res = json_response(StatusCode::OK, &body);
    res.extensions_mut().insert(Acted {
        action: "bulk_requeue",
        targets: (done.taken.iter())
            .map(|(stream, id)| format!("{stream}/{id}"))
            .collect(),
        count: done.requeued,
        dry_run: false,
    });
    Ok(res)
}

/// The dead events (one listing page, discarded ones left out) a bulk requeue would take.
async fn requeue_dead_dry_run(ctx: &Ctx, filter: EventFilter, cursor: Option<Cursor>) -> Reply {
    let filter = EventFilter {
        state: Some(State::Dead),
        ..filter
    };
    let page = ctx.store.list(&filter, MAX_LIMIT, cursor.as_ref()).await?;
    let taken: Vec<&EventRecord> = (page.items.iter()).filter(|r| !r.body_purged).collect();
    let targets: Vec<Value> = taken
        .iter()
        .map(|r| bulk_target(&r.source, &r.id))
        .collect();
    let mut body = json!({
        "dryRun": true, "count": taken.len(), "more": page.next.is_some(), "targets": targets,
    });
    if let Some(next) = &page.next {
        body["nextCursor"] = Value::String(next.encode());
    }
    let mut res = json_response(StatusCode::OK, &body);
    res.extensions_mut().insert(Acted {
        action: "bulk_requeue",
        targets: taken
            .iter()
            .map(|r| format!("{}/{}", r.source, r.id))
            .collect(),
        count: taken.len(),
        dry_run: true,
    });
    Ok(res)
}

/// A dead event a bulk requeue takes, as the operator sees it.
fn bulk_target(stream: &str, id: &str) -> Value {
    let (source, route) = split_stream(stream);
    json!({
        "source": source, "route": route, "eventId": id, "state": "dead",
        "location": event_location(stream, id),
    })
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

//! The admin API's handlers (routed and authorised in `router`): list events, fetch a payload,
//! requeue one event, bulk-requeue dead events, show forward destinations.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

use super::problem::{problem, Reason};
use super::query::Params;
use super::status::{status_response, summary, unreadable};
use super::{event_location, json_response, Ctx};
use crate::clock::now_ms;
use crate::store::RequeueOutcome;

/// `GET /admin/events?source=&state=&since=&until=&limit=&cursor=`: newest first.
pub async fn list_events(ctx: &Ctx, query: Option<&str>) -> Response<Full<Bytes>> {
    const ALLOWED: &[&str] = &["source", "state", "since", "until", "limit", "cursor"];
    let parsed = Params::parse(query, ALLOWED).and_then(|p| {
        let filter = p.filter()?;
        Ok((filter, p.limit()?, p.cursor()?))
    });
    let (filter, limit, cursor) = match parsed {
        Ok(parsed) => parsed,
        Err(detail) => return problem(Reason::InvalidQuery, &detail),
    };
    let page = match ctx.store.list(&filter, limit, cursor.as_ref()).await {
        Ok(page) => page,
        Err(e) => return unreadable(&e),
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
    json_response(StatusCode::OK, &body)
}

/// `GET /admin/events/<source>/<id>/payload`: the stored body with its original `Content-Type`.
pub async fn payload(ctx: &Ctx, source: &str, id: &str) -> Response<Full<Bytes>> {
    let record = match ctx.store.get(source, id).await {
        Ok(Some(record)) => record,
        Ok(None) => return problem(Reason::NotFound, "no such event"),
        Err(e) => return unreadable(&e),
    };
    let body = match ctx.store.body(source, id).await {
        Ok(Some(body)) if !record.body_purged => body,
        Ok(_) => return no_body(record.body_purged),
        Err(e) => return unreadable(&e),
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
    res
}

/// Why there is no body to answer with: purged by retention as the record says (404), or
/// gone although the record says it is kept (500: the store lost it, and saying "purged"
/// would contradict the status resource's `bodyPurged: false`).
fn no_body(purged: bool) -> Response<Full<Bytes>> {
    if purged {
        return problem(Reason::NotFound, "the body was purged by retention");
    }
    tracing::error!("an event's body is missing although it was never purged");
    problem(
        Reason::BodyMissing,
        "the stored body is missing although retention has not purged it",
    )
}

/// `POST /admin/events/<source>/<id>/requeue`: queue a dead or succeeded event again now;
/// answers with its new status.
pub async fn requeue_one(ctx: &Ctx, source: &str, id: &str) -> Response<Full<Bytes>> {
    match ctx.store.requeue(source, id, now_ms()).await {
        Ok(RequeueOutcome::Requeued(record)) => {
            tracing::info!(
                previous_state = record.requeues.last().map(|r| r.previous_state.as_str()),
                "event requeued"
            );
            status_response(ctx, &record)
        }
        Ok(RequeueOutcome::Unknown) => problem(Reason::NotFound, "no such event"),
        Ok(RequeueOutcome::NotFinal(state)) => problem(
            Reason::Conflict,
            &format!(
                "the event is {}; only dead or succeeded events can be requeued",
                state.as_str()
            ),
        ),
        Ok(RequeueOutcome::BodyPurged) => problem(
            Reason::Conflict,
            "the body was purged by retention, so there is nothing left to process",
        ),
        Err(e) => not_written(&e),
    }
}

/// `POST /admin/requeue?source=&since=&until=&cursor=`: requeue dead events in range, bounded
/// per call (see `Store::requeue_dead`); `more: true` with `nextCursor` when some may remain.
pub async fn requeue_dead(ctx: &Ctx, query: Option<&str>) -> Response<Full<Bytes>> {
    const ALLOWED: &[&str] = &["source", "since", "until", "cursor"];
    let parsed = Params::parse(query, ALLOWED).and_then(|p| Ok((p.filter()?, p.cursor()?)));
    let (filter, cursor) = match parsed {
        Ok(parsed) => parsed,
        Err(detail) => return problem(Reason::InvalidQuery, &detail),
    };
    match ctx
        .store
        .requeue_dead(&filter, cursor.as_ref(), now_ms())
        .await
    {
        Ok(done) => {
            tracing::info!(requeued = done.requeued, "dead events requeued");
            let mut body = json!({ "requeued": done.requeued, "more": done.next.is_some() });
            if let Some(next) = done.next {
                body["nextCursor"] = Value::String(next.encode());
            }
            json_response(StatusCode::OK, &body)
        }
        Err(e) => not_written(&e),
    }
}

fn not_written(e: &crate::store::StoreError) -> Response<Full<Bytes>> {
    tracing::error!(error = %e, "could not requeue");
    problem(
        Reason::StorageUnavailable,
        "the requeue could not be stored durably; retry later",
    )
}

/// `GET /admin/destinations`: every forward destination's limit, load and circuit state, as
/// the worker last published them.
pub fn destinations(ctx: &Ctx) -> Response<Full<Bytes>> {
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
    json_response(StatusCode::OK, &json!({ "destinations": items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_body_is_not_called_purged() {
        assert_eq!(no_body(true).status(), StatusCode::NOT_FOUND);
        let missing = no_body(false);
        assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            missing.extensions().get::<Reason>(),
            Some(&Reason::BodyMissing)
        );
    }
}

//! `POST /admin/batch`: requeue or discard the events an operator selected, each named by its
//! status location, answering for each what was done (or, with `dryRun`, what would be).
//!
//! ```json
//! {"action": "requeue", "events": ["/events/stripe:billing/evt_1"], "dryRun": false}
//! ```
//! A batch requeue takes dead deliveries only, like a requeue of a routed event: a succeeded
//! one is delivered again only with `"include": "succeeded"`. A batch discard takes dead ones.

use bytes::Bytes;
use http::{Request, StatusCode};
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::read_limited;
use super::operate::{act, audit_target, deliveries, requeue_takes, Action};
use super::problem::{Problem, Reason, Reply};
use super::{json_response, Acted, Ctx};
use crate::store::{split_stream, EventRecord, State};

/// Most events one batch names.
pub const BATCH_MAX: usize = 500;
/// Largest batch body: 500 locations of a few hundred bytes each.
const BODY_MAX: u64 = 256 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Batch {
    action: Action,
    events: Vec<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    include: Option<Include>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Include {
    Succeeded,
}

/// Runs the batch `req` carries.
pub async fn batch(ctx: &Ctx, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let deadline = std::time::Duration::from_secs(10);
    let (bytes, _held) =
        read_limited(&parts.headers, body, BODY_MAX, deadline, &ctx.body_budget).await?;
    let batch = parse(&bytes)?;
    let include_succeeded = batch.include == Some(Include::Succeeded);
    let mut results = Vec::with_capacity(batch.events.len());
    let mut taken: Vec<String> = Vec::new();
    for location in &batch.events {
        let Some((stream, id)) = parse_location(location) else {
            results.push(refused(
                location,
                None,
                "not an event location (/events/<source>/<id>)",
            ));
            continue;
        };
        let (records, _) = deliveries(ctx, &stream, &id).await?;
        let chosen: Vec<&EventRecord> = (records.iter())
            .filter(|r| match batch.action {
                Action::Requeue => requeue_takes(r, include_succeeded),
                Action::Discard => r.state == State::Dead && !r.body_purged,
            })
            .collect();
        if chosen.is_empty() {
            let why = why_not(batch.action, &records, include_succeeded);
            results.push(refused(location, Some((&stream, &id)), &why));
            continue;
        }
        let mut done = Vec::new();
        for record in chosen {
            let acted = batch.dry_run || act(ctx, batch.action, record).await?.is_some();
            if acted {
                done.push(record);
            }
        }
        taken.extend(done.iter().map(|r| audit_target(r)));
        results.push(match done.is_empty() {
            true => refused(location, Some((&stream, &id)), "it moved on meanwhile"),
            false => outcome(location, (&stream, &id), batch.action, &done),
        });
    }
    let action = match batch.action {
        Action::Requeue => "batch_requeue",
        Action::Discard => "batch_discard",
    };
    tracing::info!(
        action,
        taken = taken.len(),
        dry_run = batch.dry_run,
        "batch"
    );
    let body = json!({ "dryRun": batch.dry_run, "results": results });
    let mut res = json_response(StatusCode::OK, &body);
    res.extensions_mut().insert(Acted {
        action,
        count: taken.len(),
        targets: taken,
        dry_run: batch.dry_run,
    });
    Ok(res)
}

fn parse(bytes: &Bytes) -> Result<Batch, Problem> {
    let batch: Batch = serde_json::from_slice(bytes).map_err(|e| {
        Problem::new(
            Reason::Malformed,
            format!("the batch is not {{\"action\", \"events\", \"dryRun\"?, \"include\"?}}: {e}"),
        )
    })?;
    if batch.events.is_empty() || batch.events.len() > BATCH_MAX {
        return Err(Problem::new(
            Reason::Malformed,
            format!("a batch names 1 to {BATCH_MAX} events"),
        ));
    }
    if batch.include.is_some() && batch.action != Action::Requeue {
        return Err(Problem::new(
            Reason::Malformed,
            "include goes with requeue only",
        ));
    }
    Ok(batch)
}

/// `(stream, id)` of a status location: `/events/<stream>/<id>` or `/events/<stream>?id=<id>`.
fn parse_location(location: &str) -> Option<(String, String)> {
    let rest = location.strip_prefix("/events/")?;
    let (stream, id) = match rest.split_once("?id=") {
        Some(pair) => pair,
        None => rest.split_once('/')?,
    };
    if id.contains('/') {
        return None; // a slash in an id is always percent-encoded in a location
    }
    let decode = |s: &str| {
        percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    let (stream, id) = (decode(stream)?, decode(id)?);
    (!stream.is_empty() && !id.is_empty()).then_some((stream, id))
}

/// Why `action` takes nothing of `records`.
fn why_not(action: Action, records: &[EventRecord], include_succeeded: bool) -> String {
    if records.is_empty() {
        return "no such event".into();
    }
    let states: Vec<&str> = records.iter().map(|r| r.state.as_str()).collect();
    let succeeded = records.iter().any(|r| r.state == State::Succeeded);
    match action {
        Action::Requeue if succeeded && !include_succeeded => format!(
            "not dead ({}); a succeeded delivery is delivered again only with \"include\": \"succeeded\"",
            states.join(", ")
        ),
        Action::Requeue => format!("nothing to requeue ({})", states.join(", ")),
        Action::Discard => format!("only dead events can be discarded ({})", states.join(", ")),
    }
}

/// The fields every result has.
fn result(location: &str, named: Option<(&str, &str)>, outcome: &str) -> Value {
    let (stream, id) = named.unwrap_or_default();
    let (source, route) = split_stream(stream);
    json!({
        "location": location,
        "source": named.map(|_| source),
        "route": route,
        "eventId": named.map(|_| id),
        "outcome": outcome,
    })
}

fn refused(location: &str, named: Option<(&str, &str)>, detail: &str) -> Value {
    let mut one = result(location, named, "refused");
    one["detail"] = Value::String(detail.to_owned());
    one
}

fn outcome(location: &str, named: (&str, &str), action: Action, done: &[&EventRecord]) -> Value {
    let word = match action {
        Action::Requeue => "requeued",
        Action::Discard => "discarded",
    };
    let mut one = result(location, Some(named), word);
    one["deliveries"] = (done.iter())
        .map(|r| json!({ "stream": r.source, "previousState": r.state }))
        .collect();
    one
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_back_to_stream_and_id() {
        let got = parse_location("/events/stripe%3Abilling/evt%2F1");
        assert_eq!(got, Some(("stripe:billing".into(), "evt/1".into())));
        assert_eq!(parse_location("/events/s/a/b"), None);
        let got = parse_location("/events/stripe:billing/evt_1");
        assert_eq!(got, Some(("stripe:billing".into(), "evt_1".into())));
        assert_eq!(
            parse_location("/events/s?id=.."),
            Some(("s".into(), "..".into()))
        );
        assert_eq!(parse_location("/admin/events/s/e"), None);
        assert_eq!(parse_location("/events/s/"), None);
    }

    #[test]
    fn a_batch_is_bounded_and_strict() {
        let ok = parse(&Bytes::from(
            r#"{"action":"requeue","events":["/events/s/e"]}"#,
        ));
        assert!(ok.is_ok());
        for bad in [
            r#"{"action":"requeue","events":[]}"#,
            r#"{"action":"explode","events":["/events/s/e"]}"#,
            r#"{"action":"discard","events":["/events/s/e"],"include":"succeeded"}"#,
            r#"{"action":"requeue","events":["/events/s/e"],"extra":1}"#,
            "not json",
        ] {
            assert!(parse(&Bytes::from(bad)).is_err(), "{bad}");
        }
    }
}

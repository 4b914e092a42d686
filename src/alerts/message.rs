//! The message an alert delivery sends, built when the worker delivers it: a `dead` alert
//! counts its window's deaths in the store then (so a burst makes one message with the total
//! and the first ids), the others say what their rule saw. `json` or `slack` per target.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Value};

use super::fire::Spec;
use crate::config::{Config, Format, When};
use crate::store::{EventFilter, EventRecord, State, Store, StoreError};

/// Dead events one message examines at most; past it the count says `complete: false`.
const SCAN_BUDGET: usize = 20_000;
/// Ids listed in a message.
const FIRST_IDS: usize = 10;

/// What an alert delivery sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// This body.
    Send(Bytes),
    /// Nothing: the window it was raised for turned out empty (a death seen across a window
    /// boundary raises both windows' alerts).
    Nothing,
}

/// The message of the alert delivery `record` (stored body `stored`) for its target's format.
pub async fn message(
    store: &Store,
    config: &Config,
    record: &EventRecord,
    stored: &Bytes,
) -> Result<Message, StoreError> {
    let spec: Spec = serde_json::from_slice(stored)
        .map_err(|e| StoreError::Corrupt(format!("alert {}: {e}", record.id)))?;
    let mut details = spec.details.clone();
    if spec.when == When::Dead {
        let deaths = deaths(store, &spec).await?;
        if deaths["count"] == 0 {
            return Ok(Message::Nothing);
        }
        details = deaths;
    }
    let text = describe(&spec, &details);
    let format = config.alerts.target(&record.source).map(|t| t.format);
    let body = match format.unwrap_or_default() {
        Format::Slack => json!({ "text": text }),
        Format::Json => json!({
            "type": "hookbox.alert",
            "id": record.id,
            "rule": spec.rule,
            "when": spec.when,
            "source": spec.source,
            "route": spec.route,
            "from": spec.from,
            "until": spec.until,
            "details": details,
            "text": text,
        }),
    };
    Ok(Message::Send(Bytes::from(body.to_string())))
}

/// The deaths of `spec`'s window: how many, per stream, the first few (earliest first).
async fn deaths(store: &Store, spec: &Spec) -> Result<Value, StoreError> {
    let filter = EventFilter {
        source: spec.source.clone(),
        route: spec.route.clone(),
        state: Some(State::Dead),
        // A death in the window belongs to an event received before the window ended.
        until: Some(spec.until),
        ..EventFilter::default()
    };
    let (mut examined, mut after, mut complete) = (0, None, true);
    let mut found: Vec<EventRecord> = Vec::new();
    let mut by_stream: BTreeMap<String, u64> = BTreeMap::new();
    loop {
        let page = store.list(&filter, 500, after.as_ref()).await?;
        examined += page.items.len().max(1);
        for r in page.items {
            let died = r.finished_at.unwrap_or(0);
            if died < spec.from || died >= spec.until || super::is_alert_stream(&r.source) {
                continue;
            }
            *by_stream.entry(r.source.clone()).or_default() += 1;
            found.push(r);
            found.sort_by_key(|r| r.finished_at);
            found.truncate(FIRST_IDS);
        }
        match page.next {
            Some(next) if examined < SCAN_BUDGET => after = Some(next),
            Some(_) => {
                complete = false;
                break;
            }
            None => break,
        }
    }
    let first: Vec<Value> = (found.iter())
        .map(|r| json!({ "stream": r.source, "id": r.id, "reason": r.last_error }))
        .collect();
    Ok(json!({
        "count": by_stream.values().sum::<u64>(),
        "by_stream": by_stream,
        "first": first,
        "complete": complete,
    }))
}

fn time(ms: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// One line a person reads (the whole message in `slack` format).
fn describe(spec: &Spec, d: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    let what = match spec.when {
        When::Dead => {
            let streams: Vec<String> = (d["by_stream"].as_object().into_iter().flatten())
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let ids: Vec<String> = (d["first"].as_array().into_iter().flatten())
                .map(|f| format!("{}/{}", s(&f["stream"]), s(&f["id"])))
                .collect();
            let more = if d["complete"] == false {
                " (at least)"
            } else {
                ""
            };
            format!(
                "{}{more} event(s) went dead between {} and {} ({}); first: {}",
                d["count"],
                time(spec.from),
                time(spec.until),
                streams.join(", "),
                ids.join(", ")
            )
        }
        When::CircuitOpen if d["state"] == "closed" => {
            format!("the circuit of {} closed again", s(&d["destination"]))
        }
        When::CircuitOpen => format!(
            "the circuit of {} opened after {} failures in a row: {}",
            s(&d["destination"]),
            d["consecutive_failures"],
            s(&d["last_error"])
        ),
        When::QueueAge => format!(
            "the oldest due event has waited {}s (due at {})",
            d["age_ms"].as_u64().unwrap_or(0) / 1000,
            time(d["oldest_due_at"].as_u64().unwrap_or(0))
        ),
        When::Silence => format!(
            "source {} has received nothing since {} (is the endpoint still registered with \
             the provider?)",
            s(&d["source"]),
            time(spec.from)
        ),
        When::Storage => format!(
            "the store could not write from {} to {}",
            time(spec.from),
            time(spec.until)
        ),
    };
    format!("hookbox alert {}: {what}", spec.rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(when: When) -> Spec {
        Spec {
            rule: "r".into(),
            when,
            source: None,
            route: None,
            from: 0,
            until: 300_000,
            details: Value::Null,
        }
    }

    #[test]
    fn the_text_says_what_happened_with_counts_ids_and_times() {
        let dead = json!({
            "count": 1000, "complete": false, "by_stream": { "stripe": 1000 },
            "first": [ { "stream": "stripe", "id": "evt_1" } ],
        });
        let text = describe(&spec(When::Dead), &dead);
        assert_eq!(
            text,
            "hookbox alert r: 1000 (at least) event(s) went dead between 1970-01-01T00:00:00Z \
             and 1970-01-01T00:05:00Z (stripe: 1000); first: stripe/evt_1"
        );
        let open = json!({ "destination": "http://app:80", "consecutive_failures": 5, "last_error": "HTTP 503" });
        let text = describe(&spec(When::CircuitOpen), &open);
        assert!(
            text.ends_with("http://app:80 opened after 5 failures in a row: HTTP 503"),
            "{text}"
        );
        let closed = json!({ "destination": "http://app:80", "state": "closed" });
        let text = describe(&spec(When::CircuitOpen), &closed);
        assert!(text.ends_with("closed again"), "{text}");
        let age = json!({ "age_ms": 901_000, "oldest_due_at": 0 });
        assert!(describe(&spec(When::QueueAge), &age).contains("waited 901s"));
    }
}

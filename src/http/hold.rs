//! Why a queued event is not being delivered, in words an operator can act on: it waits behind
//! the head of its ordering key, or the circuit of its destination is open. The status
//! resource, each route of a routed event and the admin event view carry it as `hold`
//! (absent when nothing holds the event).
//!
//! An event held by an open circuit keeps its `nextAttemptAt`: it is a stored fact (when its
//! own retry schedule let it go), and clients read it. The hold says what that time alone
//! cannot: the worker passes it over until the destination's probe succeeds.

use serde_json::{json, Value};

use super::{event_location, Ctx};
use crate::clock::utc_seconds;
use crate::metrics::DestinationSnapshot;
use crate::store::{split_stream, EventRecord, State, StoreError};

/// The event `record` waits for: the first unfinished event of its ordering key, while
/// `record` is queued behind it.
pub async fn waiting_for(
    ctx: &Ctx,
    record: &EventRecord,
) -> Result<Option<EventRecord>, StoreError> {
    match &record.ordering {
        Some(o) if record.waits_for_key() => {
            let head = ctx.store.ordering_head(&record.source, &o.key).await?;
            Ok(head.filter(|h| h.id != record.id))
        }
        _ => Ok(None),
    }
}

/// The `hold` of `record` at `now` (unix ms): behind `head` of its ordering key (from
/// [`waiting_for`]), or behind its destination's circuit as the worker last published it.
pub fn hold(
    ctx: &Ctx,
    record: &EventRecord,
    head: Option<&EventRecord>,
    now: u64,
) -> Option<Value> {
    if let (Some(head), Some(ordering)) = (head, &record.ordering) {
        return Some(ordering_hold(&ordering.key, head));
    }
    let (destination, snapshot) = ctx.metrics.destination_of(&record.source)?;
    circuit_hold(record, &destination, &snapshot, now)
}

/// `head` and where to read it: the shape of `waitingFor`.
pub fn head_json(head: &EventRecord) -> Value {
    let (source, route) = split_stream(&head.source);
    json!({
        "source": source,
        "route": route,
        "eventId": head.id,
        "state": head.state,
        "location": event_location(&head.source, &head.id),
    })
}

fn ordering_hold(key: &str, head: &EventRecord) -> Value {
    let text = format!(
        "waiting behind {} ({}), the head of ordering key {key}",
        head.id, head.state
    );
    json!({ "reason": "ordering", "key": key, "head": head_json(head), "text": text })
}

/// The circuit hold of a queued `record` whose destination is not closed, when the circuit
/// is what delays it: its own next attempt is due before the probe (or already).
fn circuit_hold(
    record: &EventRecord,
    destination: &str,
    d: &DestinationSnapshot,
    now: u64,
) -> Option<Value> {
    let probe = d.next_probe_at?;
    let due = record.next_attempt_at?;
    if record.state != State::Queued || due > probe.max(now) {
        return None;
    }
    let at = utc_seconds(probe);
    let text = match d.state {
        "half-open" => {
            format!(
                "waiting: circuit half-open for {destination}, a probe is running since {at} UTC"
            )
        }
        _ if probe <= now => format!("waiting: circuit open for {destination}, next probe due now"),
        _ => format!("waiting: circuit open for {destination}, next probe at {at} UTC"),
    };
    Some(json!({
        "reason": "circuit",
        "destination": destination,
        "nextProbeAt": probe,
        "text": text,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewEvent;

    fn queued(source: &str, id: &str, next: Option<u64>) -> EventRecord {
        let ev = NewEvent {
            source: source.into(),
            id: id.into(),
            received_at: 1,
            event_type: None,
            headers: Vec::new(),
            body: bytes::Bytes::new(),
            ordering: None,
        };
        EventRecord {
            next_attempt_at: next,
            ..EventRecord::queued(&ev)
        }
    }

    fn snapshot(state: &'static str, probe: Option<u64>) -> DestinationSnapshot {
        DestinationSnapshot {
            sources: vec!["app".into()],
            state,
            in_flight: 0,
            limit: 2,
            consecutive_failures: 3,
            opened_total: 1,
            open_until: probe,
            next_probe_at: probe,
            last_error: Some("HTTP 503".into()),
            last_failure_at: Some(1000),
        }
    }

    #[test]
    fn an_open_circuit_holds_what_is_due_before_its_probe() {
        let probe = 1_796_691_723_000;
        let open = snapshot("open", Some(probe));
        let held = circuit_hold(&queued("app", "e", Some(5)), "http://h:9", &open, 10);
        assert_eq!(
            held,
            Some(json!({
                "reason": "circuit",
                "destination": "http://h:9",
                "nextProbeAt": probe,
                "text": "waiting: circuit open for http://h:9, next probe at 2026-12-08 01:02:03 UTC",
            }))
        );
        let later = queued("app", "e", Some(probe + 1));
        assert_eq!(
            circuit_hold(&later, "d", &open, 10),
            None,
            "its own retry is later"
        );
        let closed = snapshot("closed", None);
        assert_eq!(
            circuit_hold(&queued("app", "e", Some(5)), "d", &closed, 10),
            None
        );
        let probing = snapshot("half-open", Some(probe));
        let held = circuit_hold(&queued("app", "e", Some(5)), "d", &probing, probe + 1);
        assert_eq!(
            held.unwrap()["text"],
            "waiting: circuit half-open for d, a probe is running since 2026-12-08 01:02:03 UTC"
        );
        let past = circuit_hold(&queued("app", "e", Some(5)), "d", &open, probe + 1);
        assert_eq!(
            past.unwrap()["text"],
            "waiting: circuit open for d, next probe due now"
        );
    }

    #[test]
    fn an_ordering_hold_names_the_head() {
        let mut head = queued("stripe:billing", "evt_1", None);
        head.state = State::Dead;
        let hold = ordering_hold("cus_1", &head);
        assert_eq!(
            hold["text"],
            "waiting behind evt_1 (dead), the head of ordering key cus_1"
        );
        assert_eq!(hold["head"]["location"], "/events/stripe:billing/evt_1");
        assert_eq!(
            (
                hold["head"]["source"].as_str(),
                hold["head"]["route"].as_str()
            ),
            (Some("stripe"), Some("billing"))
        );
    }
}

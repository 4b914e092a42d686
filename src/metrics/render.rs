//! Writes every metric family, in a fixed order, from the counters of the sources shown.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::histogram::Histogram;
use super::text::{Exposition, Kind};
use super::{DestinationSnapshot, Gauges, PerSource, Series, OUTCOMES};
use crate::store::StateCounts;

/// The series to write, in label order.
type Shown<'a> = [Series<'a>];

/// The whole exposition: ingest families over `ingest` (sources), delivery families over
/// `deliveries` (routes).
pub(super) fn all(
    ingest: &Shown<'_>,
    deliveries: &Shown<'_>,
    queue: &Gauges,
    destinations: &BTreeMap<String, DestinationSnapshot>,
) -> String {
    let mut e = Exposition::default();
    build_info(&mut e);
    requests(&mut e, ingest);
    histograms(
        &mut e,
        ingest,
        "hookbox_ack_duration_seconds",
        "Time from the start of a webhook request to its 202/200 answer (accepted or \
         duplicate), body read and durable write included.",
        |s| &s.ack,
    );
    queue_gauges(&mut e, queue);
    if let Some(stored) = &queue.stored {
        stored_gauges(&mut e, stored);
    }
    attempts(&mut e, deliveries);
    histograms(
        &mut e,
        deliveries,
        "hookbox_handler_duration_seconds",
        "How long each handler run took (forward, command or log).",
        |s| &s.handler,
    );
    let name = "hookbox_dead_total";
    e.family(
        name,
        Kind::Counter,
        "Events that went dead after a recorded attempt since this process started (not the \
         number of dead events in the store).",
    );
    for s in deliveries {
        e.sample(name, &s.labels(&[]), load(&s.counters.dead));
    }
    destination_gauges(&mut e, destinations);
    if let Some(process) = &queue.process {
        process.write(&mut e);
    }
    e.finish()
}

impl Series<'_> {
    /// `source`, then `route` for a delivery series, then `extra`.
    fn labels<'l>(&'l self, extra: &[(&'l str, &'l str)]) -> Vec<(&'l str, &'l str)> {
        let mut labels = vec![("source", self.source)];
        labels.extend(self.route.map(|r| ("route", r)));
        labels.extend_from_slice(extra);
        labels
    }
}

/// `hookbox_build_info{version,commit} 1`: the commit is what `build.rs` found (or
/// `HOOKBOX_COMMIT` at build time), else `unknown`.
fn build_info(e: &mut Exposition) {
    let name = "hookbox_build_info";
    e.family(
        name,
        Kind::Gauge,
        "Always 1; the labels name the version and commit this binary was built from.",
    );
    let commit = option_env!("HOOKBOX_COMMIT").unwrap_or("unknown");
    let labels = [("version", env!("CARGO_PKG_VERSION")), ("commit", commit)];
    e.sample(name, &labels, 1u64);
}

/// `hookbox_events{state}`: events in the store by state, as the store counts them.
fn stored_gauges(e: &mut Exposition, stored: &StateCounts) {
    let name = "hookbox_events";
    e.family(
        name,
        Kind::Gauge,
        "Events in the store by state, read at scrape time (discarded: dead events an operator \
         settled; skipped: route deliveries no filter took).",
    );
    let states = [
        ("queued", stored.queued),
        ("processing", stored.processing),
        ("succeeded", stored.succeeded),
        ("dead", stored.dead),
        ("discarded", stored.discarded),
        ("skipped", stored.skipped),
    ];
    for (state, n) in states {
        e.sample(name, &[("state", state)], n);
    }
}

/// `hookbox_audit_write_failures_total`, appended to `text`.
pub(super) fn audit_failures(text: &mut String, failures: u64) {
    let mut e = Exposition::default();
    let name = "hookbox_audit_write_failures_total";
    e.family(
        name,
        Kind::Counter,
        "Operator actions carried out whose audit record could not be written (see the error log).",
    );
    e.sample(name, &[], failures);
    text.push_str(&e.finish());
}

fn destination_gauges(e: &mut Exposition, destinations: &BTreeMap<String, DestinationSnapshot>) {
    if destinations.is_empty() {
        return;
    }
    let in_flight = "hookbox_destination_in_flight";
    e.family(
        in_flight,
        Kind::Gauge,
        "Forward attempts running against each destination (host:port).",
    );
    for (dest, d) in destinations {
        e.sample(in_flight, &[("destination", dest)], d.in_flight as u64);
    }
    let state = "hookbox_destination_circuit_state";
    e.family(
        state,
        Kind::Gauge,
        "1 for each destination's current circuit state (closed, open, half-open).",
    );
    for (dest, d) in destinations {
        for s in ["closed", "open", "half-open"] {
            let value = u64::from(d.state == s);
            e.sample(state, &[("destination", dest), ("state", s)], value);
        }
    }
    let opened = "hookbox_destination_circuit_opened_total";
    e.family(
        opened,
        Kind::Counter,
        "Times each destination's circuit opened since start.",
    );
    for (dest, d) in destinations {
        e.sample(opened, &[("destination", dest)], d.opened_total);
    }
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn requests(e: &mut Exposition, shown: &Shown<'_>) {
    let name = "hookbox_webhook_requests_total";
    e.family(
        name,
        Kind::Counter,
        "Answers to POST /webhooks/<source> by outcome (accepted, duplicate, challenge, \
         rejected) and, for rejections, the problem type slug. Unknown sources count under \
         source=\"\".",
    );
    for series in shown {
        let (source, s) = (series.source, series.counters);
        for (outcome, counter) in [
            ("accepted", &s.accepted),
            ("duplicate", &s.duplicate),
            ("challenge", &s.challenge),
        ] {
            let labels = [("source", source), ("outcome", outcome), ("reason", "")];
            e.sample(name, &labels, load(counter));
        }
        let rejected = s.rejected.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (reason, n) in rejected {
            let labels = [
                ("source", source),
                ("outcome", "rejected"),
                ("reason", reason),
            ];
            e.sample(name, &labels, n);
        }
    }
}

fn histograms(
    e: &mut Exposition,
    shown: &Shown<'_>,
    name: &str,
    help: &str,
    pick: fn(&PerSource) -> &Histogram,
) {
    e.family(name, Kind::Histogram, help);
    for s in shown {
        e.histogram(name, &s.labels(&[]), &pick(s.counters).snapshot());
    }
}

fn queue_gauges(e: &mut Exposition, queue: &Gauges) {
    let depth = "hookbox_queue_depth";
    e.family(
        depth,
        Kind::Gauge,
        "Events not yet final (queued or processing), read at scrape time.",
    );
    e.sample(depth, &[], queue.depth);
    if let Some(age) = queue.oldest_due_age {
        let name = "hookbox_oldest_due_age_seconds";
        e.family(
            name,
            Kind::Gauge,
            "How long the earliest due attempt (or expired lease) has been waiting; 0 when \
             nothing is due.",
        );
        e.sample(name, &[], age.as_secs_f64());
    }
    let budget = "hookbox_body_bytes_in_flight";
    e.family(
        budget,
        Kind::Gauge,
        "Request body bytes held in memory now, counted against server.max_inflight_body_bytes.",
    );
    e.sample(budget, &[], queue.body_bytes_in_flight);
    if !queue.blocked_keys.is_empty() {
        let name = "hookbox_ordering_blocked_keys";
        e.family(
            name,
            Kind::Gauge,
            "Ordering keys whose first event is dead and holds the later ones back \
             (on_dead = \"block\"), by source, read at scrape time.",
        );
        for (source, n) in &queue.blocked_keys {
            e.sample(name, &[("source", source.as_str())], *n);
        }
    }
}

fn attempts(e: &mut Exposition, shown: &Shown<'_>) {
    let name = "hookbox_attempts_total";
    e.family(
        name,
        Kind::Counter,
        "Processing attempts recorded since start, by outcome (success, transient, permanent, \
         abandoned).",
    );
    for s in shown {
        for ((_, outcome), counter) in OUTCOMES.iter().zip(&s.counters.attempts) {
            e.sample(name, &s.labels(&[("outcome", outcome)]), load(counter));
        }
    }
}

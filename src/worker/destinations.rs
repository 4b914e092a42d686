//! Limits per forward destination, so one slow or failing application cannot take the whole
//! worker: a cap on attempts running against it (below `worker.concurrency` by default) and a
//! [`Breaker`] that stops sending to it after repeated failures.
//!
//! A destination is a forward target's `scheme://host:port`; sources forwarding to the same place share
//! it. `log` and `command` handlers have none. Every change is published to [`Metrics`], which
//! `/metrics` and `GET /admin/destinations` read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::breaker::Breaker;
use super::handler::{truncate, Report};
use crate::config::{Config, HandlerConfig};
use crate::metrics::{DestinationSnapshot, Metrics};
use crate::store::Outcome;

/// The destination of a forward target URL: its `scheme://host:port` (the scheme's port when
/// not written). The scheme is part of it: `http://h:8443` and `https://h:8443` are different
/// services as far as the breaker can tell.
pub fn destination_of(handler: &HandlerConfig) -> Option<String> {
    let HandlerConfig::Forward(f) = handler else {
        return None;
    };
    let uri: http::Uri = f.url.parse().ok()?;
    let host = uri.host()?;
    let scheme = uri.scheme_str()?;
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    Some(format!("{scheme}://{host}:{port}"))
}

/// Longest `lastError` kept per destination: enough for a connection error's chain.
const LAST_ERROR_BYTES: usize = 300;

/// Whether `report` says the destination itself is unwell: no answer in time, no connection,
/// or a 5xx. Its 4xx answers show it is up (the event is what it refused).
pub fn is_destination_failure(report: &Report) -> bool {
    report.outcome == Outcome::Transient && report.status.is_none_or(|s| s >= 500)
}

/// What an ended attempt says about its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It answered (a success, or a 4xx about the event).
    Healthy,
    /// It failed ([`is_destination_failure`]), with the log-safe cause: no body, no secret.
    Failed(String),
    /// The attempt ended without a result (cancelled, panicked).
    Unknown,
}

impl Verdict {
    /// The verdict of `report`.
    pub fn of(report: &Report) -> Verdict {
        match is_destination_failure(report) {
            true => Verdict::Failed(report.cause.clone().unwrap_or_default()),
            false => Verdict::Healthy,
        }
    }
}

struct Destination {
    running: usize,
    breaker: Breaker,
    sources: Vec<String>,
    /// The last failure's cause and time (unix ms), kept after a success for the operator.
    last_failure: Option<(String, u64)>,
}

/// What a worker leaves to the next one after a reload: each destination's breaker and last
/// failure, so a reload neither closes an open circuit nor forgets why it opened.
#[derive(Default)]
pub struct Kept(BTreeMap<String, (Breaker, Option<(String, u64)>)>);

/// Every destination's running count and breaker; owned by the claim loop.
pub struct Destinations {
    by_source: HashMap<String, String>,
    map: BTreeMap<String, Destination>,
    limit: usize,
    metrics: Arc<Metrics>,
}

impl Destinations {
    /// The destinations of `config`'s forward sources, idle, with the breakers `kept` from the
    /// worker before (closed for a destination it did not have).
    pub fn new(config: &Config, metrics: Arc<Metrics>, mut kept: Kept) -> Destinations {
        let w = &config.worker;
        let cooldown = crate::clock::millis(w.circuit_cooldown);
        let mut by_source = HashMap::new();
        let mut map: BTreeMap<String, Destination> = BTreeMap::new();
        for route in config.routes() {
            let Some(dest) = destination_of(&route.handler) else {
                continue;
            };
            by_source.insert(route.stream.clone(), dest.clone());
            map.entry(dest.clone())
                .or_insert_with(|| {
                    let (breaker, last_failure) = match kept.0.remove(&dest) {
                        Some((b, last)) => (b.with_settings(w.circuit_failures, cooldown), last),
                        None => (Breaker::new(w.circuit_failures, cooldown), None),
                    };
                    Destination {
                        running: 0,
                        breaker,
                        sources: Vec::new(),
                        last_failure,
                    }
                })
                .sources
                .push(route.stream.clone());
        }
        let destinations = Destinations {
            by_source,
            map,
            limit: w.destination_limit(),
            metrics,
        };
        let names: Vec<&String> = destinations.map.keys().collect();
        destinations.metrics.keep_destinations(&names);
        for name in names {
            destinations.publish(name);
        }
        destinations
    }

    /// The breakers and last failures, for the worker that runs after a reload.
    pub fn keep(self) -> Kept {
        let kept = self.map.into_iter();
        Kept(
            kept.map(|(k, d)| (k, (d.breaker, d.last_failure)))
                .collect(),
        )
    }

    /// The destination events of `source` go to, if it forwards.
    pub fn of(&self, source: &str) -> Option<&str> {
        self.by_source.get(source).map(String::as_str)
    }

    /// Whether one more attempt may start against `dest` at `now`, with `reserved` already
    /// let through in this claim pass.
    pub fn admits(&self, dest: &str, reserved: usize, now: u64) -> bool {
        let Some(d) = self.map.get(dest) else {
            return true;
        };
        d.running + reserved < self.limit && d.breaker.admits(now, reserved)
    }

    /// An attempt against `dest` started at `now`.
    pub fn started(&mut self, dest: &str, now: u64) {
        if let Some(d) = self.map.get_mut(dest) {
            d.running += 1;
            d.breaker.started(now);
            self.publish(dest);
        }
    }

    /// An attempt against `dest` ended at `now` with `verdict`.
    pub fn finished(&mut self, dest: &str, verdict: Verdict, now: u64) {
        if let Some(d) = self.map.get_mut(dest) {
            d.running = d.running.saturating_sub(1);
            let failed = match verdict {
                Verdict::Healthy => Some(false),
                Verdict::Failed(cause) => {
                    d.last_failure = Some((truncate(&cause, LAST_ERROR_BYTES), now));
                    Some(true)
                }
                Verdict::Unknown => {
                    d.breaker.abandoned();
                    None
                }
            };
            if let Some(failed) = failed {
                let before = d.breaker.state();
                d.breaker.finished(failed, now);
                let after = d.breaker.state();
                if before != after {
                    tracing::warn!(
                        destination = dest,
                        from = before.name(),
                        to = after.name(),
                        "circuit changed"
                    );
                }
            }
            self.publish(dest);
        }
    }

    /// The earliest time an open breaker lets a probe through, if any is open.
    pub fn next_probe_at(&self) -> Option<u64> {
        self.map
            .values()
            .filter_map(|d| d.breaker.open_until())
            .min()
    }

    fn publish(&self, dest: &str) {
        let Some(d) = self.map.get(dest) else { return };
        self.metrics.destination(
            dest,
            DestinationSnapshot {
                sources: d.sources.clone(),
                state: d.breaker.state().name(),
                in_flight: d.running,
                limit: self.limit,
                consecutive_failures: d.breaker.failures(),
                opened_total: d.breaker.opened(),
                open_until: d.breaker.open_until(),
                next_probe_at: d.breaker.next_probe_at(),
                last_error: d.last_failure.as_ref().map(|(e, _)| e.clone()),
                last_failure_at: d.last_failure.as_ref().map(|(_, at)| *at),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_failures_are_timeouts_connection_errors_and_5xx() {
        let with_status = |status| Report {
            status: Some(status),
            ..Report::transient("HTTP")
        };
        assert!(is_destination_failure(&Report::transient("timed out")));
        assert!(is_destination_failure(&with_status(503)));
        assert!(!is_destination_failure(&with_status(429)));
        assert!(!is_destination_failure(&Report::permanent("HTTP 400")));
        assert!(!is_destination_failure(&Report::success()));
        assert_eq!(
            Verdict::of(&with_status(502).with_detail("the body")),
            Verdict::Failed("HTTP".into()),
            "the cause only, never the answer's body"
        );
        assert_eq!(Verdict::of(&with_status(404)), Verdict::Healthy);
    }
}

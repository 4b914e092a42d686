//! One attempt at one claimed event: run its source's handler, decide what follows with the
//! retry policy, and record both in the store.

use std::sync::Arc;
use std::time::Instant;

use rand::Rng;
use tracing::Instrument;

use super::destinations::Verdict;
use super::handler::{Handlers, Job, Report};
use super::retry::{Decision, FailureKind, RetryPolicy};
use crate::clock::{millis, now_ms};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::{Attempt, Claimed, Next, Outcome, Store};

/// What every attempt needs; shared by all of them.
pub struct Shared {
    /// The validated configuration (handlers per source).
    pub config: Arc<Config>,
    /// The event store.
    pub store: Store,
    /// When to retry.
    pub policy: RetryPolicy,
    /// The handlers and their connection pool.
    pub handlers: Handlers,
    /// Attempt counters and handler latency.
    pub metrics: Arc<Metrics>,
}

/// What the claim loop learns from a finished attempt.
#[derive(Debug, Clone)]
pub struct Ended {
    /// What it says about the handler's destination (for its breaker and the operator).
    pub verdict: Verdict,
}

/// Runs one attempt of `claimed` and records it. Never panics; a failure to record leaves the
/// event `processing` until its lease expires, when it is claimed again (at-least-once).
pub async fn run(shared: Arc<Shared>, claimed: Claimed) -> Ended {
    let r = &claimed.record;
    let span = tracing::info_span!("attempt", source = %r.source, event_id = %r.id, attempt = r.attempt_count);
    async {
        shared.metrics.claimed(r);
        let started_at = now_ms();
        let clock = Instant::now();
        let report = handle(&shared, &claimed).await;
        shared.metrics.handler_ran(&r.source, clock.elapsed());
        let duration_ms = millis(clock.elapsed());
        let finished_at = started_at.saturating_add(duration_ms);
        let spread = rand::thread_rng().gen_range(-1.0..=1.0);
        let next = next_step(&shared.policy, r.attempt_count, &report, finished_at, spread);
        log_result(&report, &next, duration_ms);
        let dead = matches!(next, Next::Dead(_));
        let attempt = Attempt {
            number: r.attempt_count,
            started_at,
            duration_ms,
            outcome: report.outcome,
            status: report.status,
            exit_code: report.exit_code,
            error: report.error(),
        };
        match shared.store.record_attempt(r, attempt, next).await {
            Ok(true) => {
                shared.metrics.attempt_recorded(&r.source, report.outcome, dead);
                if dead {
                    shared.metrics.died(&r.source, finished_at);
                }
            }
            Ok(false) => tracing::warn!("the claim expired before the attempt was recorded; it will run again"),
            Err(e) => tracing::error!(error = %e, "could not record the attempt; it will run again when its lease expires"),
        }
        Ended {
            verdict: Verdict::of(&report),
        }
    }
    .instrument(span)
    .await
}

/// Runs the handler of the event's route, or explains why there is nothing to run.
async fn handle(shared: &Shared, claimed: &Claimed) -> Report {
    let r = &claimed.record;
    let Some(route) = shared.config.route(&r.source) else {
        return Report::permanent(unrouted(shared, &r.source));
    };
    if r.body_purged {
        return Report::permanent("the body was purged by retention");
    }
    if let Some(damage) = damaged_body(claimed) {
        return Report::permanent(damage);
    }
    // An alert's message is made now, from the store (see `alerts`).
    let alert;
    let body = if crate::alerts::is_alert_stream(&r.source) {
        let made = crate::alerts::message(&shared.store, &shared.config, r, &claimed.body);
        alert = match made.await {
            Ok(crate::alerts::Message::Send(body)) => body,
            Ok(crate::alerts::Message::Nothing) => return Report::success(),
            Err(e) => return Report::transient(format!("could not make the alert: {e}")),
        };
        &alert
    } else {
        &claimed.body
    };
    let job = Job { record: r, body };
    shared.handlers.run(&route.handler, job).await
}

/// Why `claimed`'s body cannot be the one accepted: the store handed out fewer or more bytes
/// than it recorded (a damaged or deleted body file). The event goes dead, visible, rather than
/// reaching the application empty or cut.
fn damaged_body(claimed: &Claimed) -> Option<String> {
    let (stored, read) = (claimed.record.body_len, claimed.body.len() as u64);
    (stored != read).then(|| {
        format!("the stored body is damaged or missing ({stored} bytes accepted, {read} read)")
    })
}

/// Why an event of `stream` has no handler.
fn unrouted(shared: &Shared, stream: &str) -> String {
    match crate::store::split_stream(stream) {
        (source, Some(route)) => {
            format!("route {route:?} of source {source:?} is no longer configured")
        }
        (source, None) if shared.config.source(source).is_some() => format!(
            "source {source:?} has routes now and this event was accepted before them, so no \
             route runs it; deliver it again from the provider (or let a source's queue drain \
             before adding routes)"
        ),
        (source, None) => format!("source {source:?} is no longer configured"),
    }
}

/// Where the event goes after attempt `attempt` ended with `report` at `now` (unix ms).
fn next_step(policy: &RetryPolicy, attempt: u32, report: &Report, now: u64, spread: f64) -> Next {
    let failure = match report.outcome {
        Outcome::Success => return Next::Succeeded,
        Outcome::Permanent => FailureKind::Permanent,
        Outcome::Transient | Outcome::Abandoned => FailureKind::Transient {
            retry_after: report.retry_after,
        },
    };
    let what = report
        .error()
        .unwrap_or_else(|| "unknown failure".to_owned());
    match policy.after_failure(attempt, failure, spread) {
        Decision::RetryIn(delay) => Next::RetryAt(now.saturating_add(millis(delay))),
        Decision::GiveUpPermanent => Next::Dead(format!("permanent failure: {what}")),
        Decision::GiveUpExhausted => {
            let attempts = if attempt == 1 { "attempt" } else { "attempts" };
            Next::Dead(format!("gave up after {attempt} {attempts}: {what}"))
        }
    }
}

/// One line per attempt; only the log-safe cause, never bodies or stderr.
fn log_result(report: &Report, next: &Next, duration_ms: u64) {
    let cause = report.cause.as_deref().unwrap_or("");
    let (status, exit_code) = (report.status, report.exit_code);
    match next {
        Next::Succeeded => tracing::info!(duration_ms, status, exit_code, "attempt succeeded"),
        Next::RetryAt(at) => tracing::warn!(
            duration_ms,
            status,
            exit_code,
            cause,
            retry_at = at,
            "attempt failed; will retry"
        ),
        Next::Dead(_) => tracing::warn!(
            duration_ms,
            status,
            exit_code,
            cause,
            "attempt failed; event is dead"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WorkerConfig;
    use std::time::Duration;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(&WorkerConfig {
            retry_schedule: vec![Duration::from_millis(100)],
            max_attempts: Some(3),
            jitter: 0.0,
            ..WorkerConfig::default()
        })
    }

    #[test]
    fn reports_become_next_steps() {
        let p = policy();
        assert_eq!(
            next_step(&p, 1, &Report::success(), 1000, 0.0),
            Next::Succeeded
        );
        assert_eq!(
            next_step(&p, 1, &Report::transient("HTTP 503"), 1000, 0.0),
            Next::RetryAt(1100)
        );
        let slow = Report {
            retry_after: Some(Duration::from_secs(2)),
            ..Report::transient("HTTP 429")
        };
        assert_eq!(next_step(&p, 2, &slow, 1000, 0.0), Next::RetryAt(3000));
        assert_eq!(
            next_step(&p, 3, &Report::transient("HTTP 503"), 1000, 0.0),
            Next::Dead("gave up after 3 attempts: HTTP 503".into())
        );
        let once = RetryPolicy::new(&WorkerConfig {
            max_attempts: Some(1),
            ..WorkerConfig::default()
        });
        assert_eq!(
            next_step(&once, 1, &Report::transient("HTTP 503"), 1000, 0.0),
            Next::Dead("gave up after 1 attempt: HTTP 503".into())
        );
        assert_eq!(
            next_step(
                &p,
                1,
                &Report::permanent("HTTP 400").with_detail("bad"),
                1000,
                0.0
            ),
            Next::Dead("permanent failure: HTTP 400: bad".into())
        );
    }

    #[test]
    fn a_body_the_store_lost_or_cut_is_refused_not_delivered() {
        let event = crate::store::NewEvent {
            source: "s".into(),
            id: "e".into(),
            received_at: 1,
            event_type: None,
            headers: Vec::new(),
            body: bytes::Bytes::from_static(b"{\"id\":\"e\"}"),
            ordering: None,
        };
        let claimed = |body: &'static [u8]| Claimed {
            record: crate::store::EventRecord::queued(&event),
            body: bytes::Bytes::from_static(body),
        };
        assert_eq!(damaged_body(&claimed(b"{\"id\":\"e\"}")), None);
        let missing = damaged_body(&claimed(b"")).expect("refused");
        assert!(missing.contains("10 bytes accepted, 0 read"), "{missing}");
        assert!(damaged_body(&claimed(b"{\"id\"")).is_some(), "a cut body");
    }
}

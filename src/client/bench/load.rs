//! The load itself: N tasks, each with one request in flight on the shared client's keep-alive
//! pool (so N connections), sharing one ticket counter, closed- or open-loop.
//!
//! Closed loop: each connection sends its next request as soon as the previous one is
//! answered; latency is measured from the actual send. Open loop (`--rate`): ticket `i` is due
//! at `start + i / rate`, and its latency is measured from that intended time, so a stall that
//! holds every connection shows up in the percentiles instead of silently slowing the sender
//! (coordinated omission).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::events::EventFactory;
use super::report::Tally;
use crate::client::{Client, ClientError, Target};
use crate::clock::now_ms;

/// How much load, how fast.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Concurrent requests (each task keeps one in flight, so this many connections).
    pub connections: usize,
    /// Most requests sent.
    pub requests: u64,
    /// No request is started (or, open-loop, due) after this much time.
    pub duration: Duration,
    /// Open-loop rate, requests per second.
    pub rate: Option<f64>,
    /// Share of requests that reuse an earlier event id.
    pub duplicate_ratio: f64,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Path of the ingest route, e.g. `/webhooks/stripe`.
    pub path: String,
}

/// What a finished load saw.
pub struct Outcome {
    /// Merged over all connections.
    pub tally: Tally,
    /// When the load started (all connections open).
    pub started: Instant,
    /// When the last response arrived.
    pub finished: Instant,
}

struct Shared {
    plan: Plan,
    factory: EventFactory,
    started: Instant,
    /// Next ticket (request number).
    tickets: AtomicU64,
    /// Next unused event sequence number.
    unique: AtomicU64,
}

impl Shared {
    /// The next ticket and when it is due, or `None` once the plan is used up.
    fn take(&self) -> Option<(u64, Option<Instant>)> {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        if ticket >= self.plan.requests {
            return None;
        }
        match self.plan.rate {
            Some(rate) => {
                let offset = Duration::from_secs_f64(ticket as f64 / rate);
                (offset < self.plan.duration).then(|| (ticket, Some(self.started + offset)))
            }
            None => (self.started.elapsed() < self.plan.duration).then_some((ticket, None)),
        }
    }

    /// The event sequence number to send, and whether it repeats an earlier one.
    fn pick(&self, rng: &mut StdRng) -> (u64, bool) {
        let used = self.unique.load(Ordering::Relaxed);
        if used > 0 && rng.gen_bool(self.plan.duplicate_ratio) {
            (rng.gen_range(0..used), true)
        } else {
            (self.unique.fetch_add(1, Ordering::Relaxed), false)
        }
    }
}

/// Runs `plan` against `target` once one request has shown it answers.
pub async fn run(
    plan: Plan,
    factory: EventFactory,
    client: &Client,
    target: &Target,
) -> Result<Outcome, ClientError> {
    // An unreachable target fails the run before the clock starts, not as N × errors.
    let client = client.with_timeout(plan.timeout);
    (client.send(Method::GET, &target.url("/healthz"), &[], Bytes::new())).await?;
    let url: Arc<str> = target.url(&plan.path).into();
    let shared = Arc::new(Shared {
        plan,
        factory,
        started: Instant::now(),
        tickets: AtomicU64::new(0),
        unique: AtomicU64::new(0),
    });
    let tasks: Vec<_> = (0..shared.plan.connections)
        .map(|_| tokio::spawn(drive(client.clone(), url.clone(), shared.clone())))
        .collect();
    let mut tally = Tally::new();
    for task in tasks {
        match task.await {
            Ok(t) => tally.merge(t),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    Ok(Outcome {
        tally,
        started: shared.started,
        finished: Instant::now(),
    })
}

/// One connection's loop.
async fn drive(client: Client, url: Arc<str>, shared: Arc<Shared>) -> Tally {
    let mut tally = Tally::new();
    let mut rng = StdRng::from_entropy();
    while let Some((_, due)) = shared.take() {
        // Latency counts from the intended time when the connection was behind schedule (the
        // stall is the server's), from the actual send when it had to wait for the ticket (the
        // millisecond-grained timer's lateness is the load generator's, not the server's).
        let from = match due {
            Some(due) if due > Instant::now() => {
                tokio::time::sleep_until(due.into()).await;
                Instant::now()
            }
            Some(due) => due,
            None => Instant::now(),
        };
        let (n, duplicate) = shared.pick(&mut rng);
        let id = shared.factory.id(n);
        let body = shared.factory.body(&id);
        let headers = shared.factory.headers(&body, &id, now_ms() / 1000);
        let result = client.send(Method::POST, &url, &headers, body).await;
        tally.record_latency(from.elapsed());
        match result {
            Ok(reply) => {
                let status = reply.status;
                *tally.statuses.entry(status.as_u16()).or_default() += 1;
                if status.as_u16() == 202 && !duplicate {
                    tally.accepted.push(n);
                }
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| e.to_string());
                // Do not spin on a refused connection.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    tally
}

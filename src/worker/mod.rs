//! Background processing: claims due events from the store and runs their handlers.
//!
//! The loop sleeps until an event is accepted ([`Store::woken`]), the next attempt or lease
//! expiry falls due ([`Store::next_due`]), or a running handler finishes and frees a slot — never
//! on a polling timer while idle. Each claim carries a lease of the handler's timeout plus
//! `worker.lease_margin`; an event whose worker vanished is claimed again once its lease
//! expires (or at start-up, through [`Store::recover`]). So processing is at-least-once: a
//! crash between a handler finishing and its result being recorded runs it again, and
//! handlers get a stable idempotency key ([`idempotency_key`]) to notice.
//!
//! When shutdown starts the loop stops claiming at once, waits for the handlers already
//! running, and leaves everything else queued. If the shutdown deadline passes first, the
//! running attempts are cancelled (a command's whole process group is killed); their events
//! stay `processing` and run again at the next start. A retention sweep runs alongside.

mod attempt;
mod breaker;
mod destinations;
mod handler;
mod retry;
mod retry_after;
mod sweep;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

use self::attempt::{Ended, Shared};
pub use self::destinations::Kept;
use self::destinations::{Destinations, Verdict};
use self::handler::Handlers;
use crate::clock::{millis, now_ms};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::{event_key, Claimed, EventRecord, Store, StoreError};

pub use handler::{classify_status, idempotency_key};
pub use retry::{Decision, FailureKind, RetryPolicy, RETRY_AFTER_MAX, RETRY_AFTER_MIN};

/// Pause after the store failed before trying it again.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Re-check interval while due events wait for a per-source slot (other sources' events may
/// fall due meanwhile and the store only reports the earliest due time overall).
const BLOCKED_RECHECK: Duration = Duration::from_secs(1);

/// Runs the worker and the retention sweep until `shutdown` is cancelled, then waits for the
/// handlers already running — until `deadline` is cancelled, when it ends them. Starts with
/// the circuit breakers `kept` by the worker before it and returns its own.
pub async fn run(
    config: Arc<Config>,
    store: Store,
    metrics: Arc<Metrics>,
    stop: (CancellationToken, CancellationToken),
    kept: Kept,
) -> Kept {
    let (shutdown, deadline) = stop;
    let period = sweep::period(&config.storage);
    let audit_retention = config.admin.audit_retention;
    let sweep = sweep::run(store.clone(), period, audit_retention, shutdown.clone());
    let dispatch = Dispatcher::new(config, store, metrics, kept).run(shutdown, deadline);
    tokio::join!(dispatch, sweep).0
}

/// The claim loop and what it knows about the handlers it started.
struct Dispatcher {
    shared: Arc<Shared>,
    tasks: JoinSet<Ended>,
    /// Running attempts by task.
    running: HashMap<Id, Running>,
    /// Event keys being handled here; never claimed twice, even if a lease runs out.
    busy: HashSet<Vec<u8>>,
    /// Running attempts per source.
    per_source: HashMap<String, usize>,
    /// Running attempts and circuit breakers per forward destination.
    destinations: Destinations,
}

/// One attempt the loop started.
struct Running {
    source: String,
    key: Vec<u8>,
    destination: Option<String>,
}

/// What one claim pass has let through so far, per source and per destination.
#[derive(Default)]
struct Pass {
    per_source: HashMap<String, usize>,
    per_destination: HashMap<String, usize>,
}

impl Dispatcher {
    fn new(config: Arc<Config>, store: Store, metrics: Arc<Metrics>, kept: Kept) -> Dispatcher {
        let policy = RetryPolicy::new(&config.worker);
        let handlers = Handlers::new(&config);
        let destinations = Destinations::new(&config, metrics.clone(), kept);
        Dispatcher {
            shared: Arc::new(Shared {
                config,
                store,
                policy,
                handlers,
                metrics,
            }),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            busy: HashSet::new(),
            per_source: HashMap::new(),
            destinations,
        }
    }

    async fn run(mut self, stop: CancellationToken, deadline: CancellationToken) -> Kept {
        loop {
            while let Some(done) = self.tasks.try_join_next_with_id() {
                self.finished(done);
            }
            // Checked before every claim: once stopped, nothing new starts.
            if stop.is_cancelled() {
                break;
            }
            let wait = match self.claim().await {
                Ok(0) => self.idle_wait().await,
                Ok(_) => continue, // more may be due
                Err(e) => {
                    tracing::error!(error = %e, "could not claim events");
                    Some(STORE_RETRY)
                }
            };
            let busy = !self.tasks.is_empty();
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.shared.store.woken() => {}
                Some(done) = self.tasks.join_next_with_id(), if busy => self.finished(done),
                _ = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
            }
        }
        let running = self.tasks.len();
        if running > 0 {
            tracing::info!(running, "worker stopping; waiting for running handlers");
        }
        let drained = async {
            while let Some(done) = self.tasks.join_next_with_id().await {
                self.finished(done);
            }
        };
        let in_time = tokio::select! {
            () = drained => true,
            () = deadline.cancelled() => false,
        };
        if !in_time {
            tracing::warn!(
                running = self.tasks.len(),
                "shutdown deadline reached; ending running handlers (their events run again at the next start)"
            );
            // Dropping an attempt's future ends its handler (and a command's process group).
            self.tasks.shutdown().await;
        }
        tracing::info!("worker stopped");
        self.destinations.keep()
    }

    /// Claims what is due and free slots allow, and starts it. Returns how many started.
    async fn claim(&mut self) -> Result<usize, StoreError> {
        let free = self
            .shared
            .config
            .worker
            .concurrency
            .saturating_sub(self.tasks.len());
        if free == 0 {
            return Ok(0);
        }
        let mut pass = Pass::default();
        let now = now_ms();
        let claimed = {
            let shared = &self.shared;
            let mut lease = |r: &EventRecord| self.lease_ms(&mut pass, r, now);
            shared
                .store
                .claim_due(now, free, shared.policy.max_attempts(), &mut lease)
                .await?
        };
        let started = claimed.len();
        for c in claimed {
            self.start(c);
        }
        Ok(started)
    }

    fn start(&mut self, claimed: Claimed) {
        let source = claimed.record.source.clone();
        let key = event_key(&source, &claimed.record.id);
        let destination = self.destinations.of(&source).map(str::to_owned);
        if let Some(dest) = &destination {
            self.destinations.started(dest, now_ms());
        }
        let handle = self.tasks.spawn(attempt::run(self.shared.clone(), claimed));
        *self.per_source.entry(source.clone()).or_default() += 1;
        self.busy.insert(key.clone());
        let running = Running {
            source,
            key,
            destination,
        };
        self.running.insert(handle.id(), running);
    }

    fn finished(&mut self, done: Result<(Id, Ended), JoinError>) {
        let (id, ended) = match done {
            Ok((id, ended)) => (id, Some(ended)),
            Err(e) => {
                // The event stays `processing` until its lease expires, then runs again.
                tracing::error!(error = %e, "an attempt task failed");
                (e.id(), None)
            }
        };
        let Some(run) = self.running.remove(&id) else {
            return;
        };
        self.busy.remove(&run.key);
        if let Some(n) = self.per_source.get_mut(&run.source) {
            *n = n.saturating_sub(1);
        }
        if let Some(dest) = &run.destination {
            let verdict = ended.map_or(Verdict::Unknown, |e| e.verdict);
            self.destinations.finished(dest, verdict, now_ms());
        }
    }

    /// The lease for claiming `r` at `now`, or `None` to leave it queued: it is already
    /// running here, its source is at its concurrency cap, or its destination is at its cap
    /// or behind an open circuit.
    fn lease_ms(&self, pass: &mut Pass, r: &EventRecord, now: u64) -> Option<u64> {
        if self.busy.contains(&event_key(&r.source, &r.id)) {
            return None;
        }
        let shared = &self.shared;
        // An unconfigured source is claimed too: its attempt fails permanently with the reason.
        let (cap, timeout) = match shared.config.route(&r.source) {
            Some(route) => (route.concurrency, handler::timeout(&route.handler)),
            None => (usize::MAX, Duration::ZERO),
        };
        let used = self.per_source.get(&r.source).copied().unwrap_or(0);
        let taken = pass.per_source.get(&r.source).copied().unwrap_or(0);
        if used + taken >= cap {
            return None;
        }
        if let Some(dest) = self.destinations.of(&r.source) {
            let reserved = pass.per_destination.get(dest).copied().unwrap_or(0);
            if !self.destinations.admits(dest, reserved, now) {
                return None;
            }
            *pass.per_destination.entry(dest.to_owned()).or_default() += 1;
        }
        *pass.per_source.entry(r.source.clone()).or_default() += 1;
        let lease = timeout.saturating_add(shared.config.worker.lease_margin);
        Some(millis(lease))
    }

    /// How long to sleep when nothing could be claimed: until the next due time if it is in
    /// the future; not at all by timer when nothing is queued (an accept wakes the loop).
    async fn idle_wait(&self) -> Option<Duration> {
        let now = now_ms();
        match self.shared.store.next_due().await {
            Ok(Some(at)) if at > now => Some(Duration::from_millis(at - now)),
            // Due but not claimable: held back by a concurrency cap (a finishing handler wakes
            // us), an open circuit (its probe time), or this worker's own overrunning attempt.
            Ok(Some(_)) => {
                let probe = self.destinations.next_probe_at().filter(|at| *at > now);
                let until_probe = probe.map(|at| Duration::from_millis(at - now));
                Some(until_probe.map_or(BLOCKED_RECHECK, |d| d.min(BLOCKED_RECHECK)))
            }
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "could not read the queue");
                Some(STORE_RETRY)
            }
        }
    }
}

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
mod handler;
mod retry;
mod retry_after;
mod sweep;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

use self::attempt::Shared;
use self::handler::Handlers;
use crate::app::now_ms;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::{event_key, Claimed, EventRecord, Store, StoreError};

pub use handler::{classify_status, idempotency_key};
pub use retry::{Decision, Failure, RetryPolicy, RETRY_AFTER_MAX, RETRY_AFTER_MIN};

/// Pause after the store failed before trying it again.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Re-check interval while due events wait for a per-source slot (other sources' events may
/// fall due meanwhile and the store only reports the earliest due time overall).
const BLOCKED_RECHECK: Duration = Duration::from_secs(1);

/// Runs the worker and the retention sweep until `shutdown` is cancelled, then waits for the
/// handlers already running — until `deadline` is cancelled, when it ends them.
pub async fn run(
    config: Arc<Config>,
    store: Store,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    deadline: CancellationToken,
) {
    let period = sweep::period(&config.storage);
    let sweep = sweep::run(store.clone(), period, shutdown.clone());
    let dispatch = Dispatcher::new(config, store, metrics).run(shutdown, deadline);
    tokio::join!(dispatch, sweep);
}

/// The claim loop and what it knows about the handlers it started.
struct Dispatcher {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
    /// Running attempts by task: (source, event key).
    running: HashMap<Id, (String, Vec<u8>)>,
    /// Event keys being handled here; never claimed twice, even if a lease runs out.
    busy: HashSet<Vec<u8>>,
    /// Running attempts per source.
    per_source: HashMap<String, usize>,
}

impl Dispatcher {
    fn new(config: Arc<Config>, store: Store, metrics: Arc<Metrics>) -> Dispatcher {
        let policy = RetryPolicy::new(&config.worker);
        let handlers = Handlers::new();
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
        }
    }

    async fn run(mut self, stop: CancellationToken, deadline: CancellationToken) {
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
        let mut reserved: HashMap<String, usize> = HashMap::new();
        let claimed = {
            let shared = &self.shared;
            let (busy, per_source) = (&self.busy, &self.per_source);
            let mut lease = |r: &EventRecord| lease_ms(shared, busy, per_source, &mut reserved, r);
            shared
                .store
                .claim_due(now_ms(), free, shared.policy.max_attempts(), &mut lease)
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
        let handle = self.tasks.spawn(attempt::run(self.shared.clone(), claimed));
        *self.per_source.entry(source.clone()).or_default() += 1;
        self.busy.insert(key.clone());
        self.running.insert(handle.id(), (source, key));
    }

    fn finished(&mut self, done: Result<(Id, ()), JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(e) => {
                // The event stays `processing` until its lease expires, then runs again.
                tracing::error!(error = %e, "an attempt task failed");
                e.id()
            }
        };
        let Some((source, key)) = self.running.remove(&id) else {
            return;
        };
        self.busy.remove(&key);
        if let Some(n) = self.per_source.get_mut(&source) {
            *n = n.saturating_sub(1);
        }
    }

    /// How long to sleep when nothing could be claimed: until the next due time if it is in
    /// the future; not at all by timer when nothing is queued (an accept wakes the loop).
    async fn idle_wait(&self) -> Option<Duration> {
        let now = now_ms();
        match self.shared.store.next_due().await {
            Ok(Some(at)) if at > now => Some(Duration::from_millis(at - now)),
            // Due but not claimable: held back by a concurrency cap (a finishing handler wakes
            // us) or by this worker's own overrunning attempt.
            Ok(Some(_)) => Some(BLOCKED_RECHECK),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "could not read the queue");
                Some(STORE_RETRY)
            }
        }
    }
}

/// The lease for claiming `r` now, or `None` to leave it queued: it is already running here,
/// or its source is at its concurrency cap. `reserved` counts this pass's claims per source.
fn lease_ms(
    shared: &Shared,
    busy: &HashSet<Vec<u8>>,
    per_source: &HashMap<String, usize>,
    reserved: &mut HashMap<String, usize>,
    r: &EventRecord,
) -> Option<u64> {
    if busy.contains(&event_key(&r.source, &r.id)) {
        return None;
    }
    let margin = shared.config.worker.lease_margin;
    // An unconfigured source is claimed too: its attempt fails permanently with the reason.
    let (cap, timeout) = match shared.config.source(&r.source) {
        Some(s) => (s.concurrency, handler::timeout(&s.handler)),
        None => (usize::MAX, Duration::ZERO),
    };
    let used = per_source.get(&r.source).copied().unwrap_or(0);
    let taken = reserved.entry(r.source.clone()).or_default();
    if used + *taken >= cap {
        return None;
    }
    *taken += 1;
    Some(u64::try_from(timeout.saturating_add(margin).as_millis()).unwrap_or(u64::MAX))
}

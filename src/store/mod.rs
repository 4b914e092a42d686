//! Durable event storage: the only link between the HTTP side and the worker.
//!
//! [`Store::accept`] dedupes and enqueues in one sled transaction and returns only once a flush
//! covers the write (group commit, see [`commit`]). The worker claims due events with a lease,
//! records each attempt, and the store keeps the `due`, `expiry` and `received` indexes in step
//! with every record change, so a crash at any point leaves a consistent queue.

#[cfg(test)]
mod admin_tests;
mod backend;
mod commit;
mod health;
mod keys;
pub mod postgres;
mod query;
mod record;
mod requeue;
mod sled;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;

pub use health::WorkerRunning;
pub use keys::event_key;
pub use query::{Cursor, EventFilter, Page, SCAN_BUDGET};
pub use record::{
    Attempt, EventRecord, Outcome, Requeue, State, MAX_KEPT_ATTEMPTS, MAX_KEPT_REQUEUES,
};
pub use requeue::{BulkRequeued, RequeueOutcome, BULK_REQUEUE_MAX};

use self::backend::{Backend, Slot};
use self::sled::{drop_entry, Trees};
use crate::config::StorageConfig;

/// A verified request, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Source name.
    pub source: String,
    /// Provider's event id.
    pub id: String,
    /// Arrival, unix milliseconds.
    pub received_at: u64,
    /// Provider's event type where known.
    pub event_type: Option<String>,
    /// Headers kept for the handler.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Bytes,
}

/// Result of [`Store::accept`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// First time this id was seen; the event is queued.
    New,
    /// Seen before; the event is in this state and will not be processed again.
    Duplicate(State),
}

/// A storage failure. `Unavailable` means "try again later" (HTTP 503).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database could not read or write (disk full, I/O error, …).
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] Arc<::sled::Error>),
    /// A stored record could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

impl From<::sled::Error> for StoreError {
    fn from(e: ::sled::Error) -> Self {
        StoreError::Unavailable(Arc::new(e))
    }
}

/// An event claimed for processing.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Its record, state `processing`, `attempt_count` already counting this attempt.
    pub record: EventRecord,
    /// Its body (empty if purged).
    pub body: Bytes,
}

/// What to do with an event after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Done: `succeeded`.
    Succeeded,
    /// Try again at this time (unix ms).
    RetryAt(u64),
    /// Give up: `dead`, with the reason.
    Dead(String),
}

/// Handle to the event store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    slot: Arc<Slot>,
    wake: Arc<Notify>,
    pending: Arc<AtomicU64>,
    worker_running: Arc<AtomicBool>,
}

impl Store {
    /// Opens the database in `cfg.data_dir`. Must be called inside a tokio runtime.
    pub fn open(cfg: &StorageConfig) -> Result<Store, StoreError> {
        let pending = Arc::new(AtomicU64::new(0));
        let wake = Arc::new(Notify::new());
        Ok(Store {
            slot: Slot::open(cfg, pending.clone(), wake.clone())?,
            wake,
            pending,
            worker_running: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The open database; `Unavailable` while it is reopened after a failure (see `backend`).
    fn backend(&self) -> Result<Arc<Backend>, StoreError> {
        self.slot.get()
    }

    /// Stores `ev` unless its id is known, and returns once the outcome is durable.
    pub async fn accept(&self, ev: NewEvent) -> Result<Accepted, StoreError> {
        // One backend for the write and its flush: a flush of a reopened database would not
        // cover a write that died with the old one.
        let backend = self.backend()?;
        let outcome = backend.trees.accept(&ev)?;
        // A duplicate waits too: the first copy may still be waiting for its own flush.
        backend.durable().await?;
        if outcome == Accepted::New {
            self.pending.fetch_add(1, Ordering::Relaxed);
            self.wake.notify_one();
        }
        Ok(outcome)
    }

    /// Waits until everything written so far is on disk (no-op in `interval` mode). Within the
    /// store, pair a write with its flush through one `backend()` instead: after a reopen this
    /// flushes the new database, which cannot cover a write that died with the old one.
    pub async fn durable(&self) -> Result<(), StoreError> {
        self.backend()?.durable().await
    }

    /// Flushes everything to disk now, whatever the durability mode (used at shutdown).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let backend = self.backend()?;
        backend.check(backend.db.flush_async().await.map_err(StoreError::from))?;
        Ok(())
    }

    /// Flushes and stops the commit task, so the database closes once every handle is dropped
    /// (a new `Store` can then open the same directory). Call once, at shutdown.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.slot.close().await
    }

    /// The record of one event.
    pub fn get(&self, source: &str, id: &str) -> Result<Option<EventRecord>, StoreError> {
        self.backend()?.trees.get(&event_key(source, id))
    }

    /// The body of one event (absent once purged by retention).
    pub fn body(&self, source: &str, id: &str) -> Result<Option<Bytes>, StoreError> {
        self.backend()?.trees.body(&event_key(source, id))
    }

    /// Events not yet final (queued or processing).
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Resolves when an event was accepted or requeued since the last wake-up.
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    /// Time (unix ms) of the earliest queued attempt or lease expiry.
    pub fn next_due(&self) -> Result<Option<u64>, StoreError> {
        self.backend()?.trees.next_due()
    }

    /// Claims up to `limit` events due at `now`. `lease_ms` gives the lease for an event, or
    /// `None` to leave it queued (e.g. its source is at its concurrency cap). An event whose
    /// lease expired counts its lost attempt as `abandoned`; once that exhausts
    /// `max_attempts` it goes `dead` instead of being claimed.
    pub fn claim_due(
        &self,
        now: u64,
        limit: usize,
        max_attempts: u32,
        lease_ms: &mut dyn FnMut(&EventRecord) -> Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let backend = self.backend()?;
        let trees = &backend.trees;
        let mut claimed = Vec::new();
        // Scan a bit past `limit`: some entries may be skipped by `lease_ms`.
        for (at, key) in Trees::entries_until(&trees.due, now, limit.saturating_mul(4))? {
            if claimed.len() >= limit {
                break;
            }
            let Some(current) = trees.get(&key)? else {
                drop_entry(&trees.due, at, &key)?;
                continue;
            };
            if current.due_at() != Some(at) {
                drop_entry(&trees.due, at, &key)?;
                continue;
            }
            let Some(lease) = lease_ms(&current) else {
                continue;
            };
            let updated = trees.update(&key, |r| {
                if r.due_at() != Some(at) {
                    return None;
                }
                if r.state == State::Processing {
                    abandon(r, now);
                    if r.attempt_count >= max_attempts {
                        finish(r, now, Next::Dead(dead_reason(r)));
                        return Some(false);
                    }
                }
                r.attempt_count += 1;
                r.state = State::Processing;
                r.claimed_at = Some(now);
                r.lease_until = Some(now.saturating_add(lease));
                r.next_attempt_at = None;
                Some(true)
            })?;
            match updated {
                Some((record, true)) => {
                    let body = trees.body(&key)?.unwrap_or_default();
                    claimed.push(Claimed { record, body });
                }
                Some((_, false)) => {
                    self.pending.fetch_sub(1, Ordering::Relaxed);
                }
                None => {}
            }
        }
        Ok(claimed)
    }

    /// Records the attempt `claimed` made and moves the event on. Ignored (returns `false`)
    /// when the claim is no longer current — its lease expired and it was claimed again.
    /// Returns once the change is durable.
    pub async fn record_attempt(
        &self,
        claimed: &EventRecord,
        attempt: Attempt,
        next: Next,
    ) -> Result<bool, StoreError> {
        let key = event_key(&claimed.source, &claimed.id);
        let now = attempt.started_at.saturating_add(attempt.duration_ms);
        let backend = self.backend()?;
        let updated = backend.trees.update(&key, |r| {
            let current = r.state == State::Processing && r.claimed_at == claimed.claimed_at;
            current.then(|| {
                r.push_attempt(attempt.clone());
                r.last_error = attempt.error.clone().or(r.last_error.take());
                finish(r, now, next.clone());
            })
        })?;
        backend.durable().await?;
        match updated {
            Some((record, ())) => {
                if record.state.is_final() {
                    self.pending.fetch_sub(1, Ordering::Relaxed);
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Puts every `processing` event back to `queued` now (their worker is gone); called at
    /// start-up. Returns how many were recovered.
    pub fn recover(&self, now: u64) -> Result<usize, StoreError> {
        let backend = self.backend()?;
        let trees = &backend.trees;
        let mut recovered = 0;
        for (at, key) in trees.leases()? {
            let changed = trees.update(&key, |r| {
                (r.state == State::Processing && r.due_at() == Some(at)).then(|| abandon(r, now))
            })?;
            recovered += usize::from(changed.is_some());
        }
        Ok(recovered)
    }

    /// Applies retention to up to `limit` succeeded events whose time has come: purges bodies
    /// past `retention`, forgets ids past `dedupe_window`. Returns how many were touched.
    pub fn expire(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        let backend = self.backend()?;
        let trees = &backend.trees;
        let mut touched = 0;
        for (at, key) in Trees::entries_until(&trees.expiry, now, limit)? {
            touched += usize::from(trees.expire(at, &key)?);
        }
        Ok(touched)
    }
}

/// Ends a lost claim: records it as abandoned and queues the event at `now`.
fn abandon(r: &mut EventRecord, now: u64) {
    let started = r.claimed_at.unwrap_or(now);
    r.push_attempt(Attempt {
        number: r.attempt_count,
        started_at: started,
        duration_ms: now.saturating_sub(started),
        outcome: Outcome::Abandoned,
        status: None,
        exit_code: None,
        error: Some("worker stopped or lease expired before the attempt was recorded".into()),
    });
    r.state = State::Queued;
    r.next_attempt_at = Some(now);
    r.lease_until = None;
    r.claimed_at = None;
}

fn dead_reason(r: &EventRecord) -> String {
    format!(
        "gave up after {} attempts (last one abandoned)",
        r.attempt_count
    )
}

/// Moves a record to the state `next` names.
fn finish(r: &mut EventRecord, now: u64, next: Next) {
    r.lease_until = None;
    r.claimed_at = None;
    match next {
        Next::Succeeded => {
            r.state = State::Succeeded;
            r.next_attempt_at = None;
            r.finished_at = Some(now);
        }
        Next::RetryAt(at) => {
            r.state = State::Queued;
            r.next_attempt_at = Some(at);
        }
        Next::Dead(reason) => {
            r.state = State::Dead;
            r.next_attempt_at = None;
            r.finished_at = Some(now);
            r.last_error = Some(reason);
        }
    }
}

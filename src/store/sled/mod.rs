//! The sled backend: one embedded database in `storage.data_dir`, for a single instance.
//!
//! Accepting (see `interface`) dedupes and enqueues in a sled transaction shared with concurrent
//! accepts (group write, see `batch`) and returns only once a flush covers the write (group
//! commit, see `commit`). The worker claims due events with a lease, records each attempt, and
//! the store keeps the `due`, `expiry` and `received` indexes in step with every record change,
//! so a crash at any point leaves a consistent queue. A database that failed a write is reopened
//! in the background (see `backend`).

mod audit;
mod backend;
mod batch;
mod commit;
mod counted;
mod counters;
mod discard;
mod health;
mod interface;
mod jobs;
mod query;
mod requeue;
mod routed;
#[cfg(test)]
mod tests;
mod trees;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use self::backend::{Backend, Slot};
use self::jobs::FinishedAttempt;
use self::trees::{drop_entry, Trees};
use super::{event_key, Attempt, Claimed, EventRecord, Next, StoreError};
use crate::config::StorageConfig;

impl From<::sled::Error> for StoreError {
    fn from(e: ::sled::Error) -> Self {
        StoreError::Unavailable(Arc::new(e))
    }
}

/// Handle to the sled event store. Cheap to clone.
#[derive(Clone)]
pub struct SledStore {
    slot: Arc<Slot>,
    wake: Arc<Notify>,
    pending: Arc<AtomicU64>,
}

impl SledStore {
    /// Opens the database in `cfg.data_dir` through the embedded backends' guards (see
    /// `data_dir::open_guarded`). Must be called inside a tokio runtime.
    pub fn open(cfg: &StorageConfig) -> Result<SledStore, StoreError> {
        let pending = Arc::new(AtomicU64::new(0));
        let wake = Arc::new(Notify::new());
        let file = cfg.data_dir.join(backend::FILE);
        let slot = super::data_dir::open_guarded(&cfg.data_dir, "sled", &file, None, || {
            let slot = Slot::open(cfg, pending.clone(), wake.clone())?;
            let events = slot.events()?;
            Ok((slot, events))
        })?;
        Ok(SledStore {
            slot,
            wake,
            pending,
        })
    }

    /// The open database; `Unavailable` while it is reopened after a failure (see `backend`).
    fn backend(&self) -> Result<Arc<Backend>, StoreError> {
        self.slot.get()
    }

    /// The record of one event.
    pub fn get(&self, source: &str, id: &str) -> Result<Option<EventRecord>, StoreError> {
        self.backend()?.trees.get(&event_key(source, id))
    }

    /// Events not yet final (queued or processing).
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Claims up to `limit` events due at `now` (see [`Store::claim_due`](crate::store::Store::claim_due)).
    /// Returns once the claims are durable, so an attempt always counts towards
    /// `max_attempts` even if hookbox dies while its handler runs.
    pub async fn claim_due(
        &self,
        now: u64,
        limit: usize,
        max_attempts: u32,
        lease_ms: &mut (dyn FnMut(&EventRecord) -> Option<u64> + Send),
    ) -> Result<Vec<Claimed>, StoreError> {
        let backend = self.backend()?;
        let trees = backend.trees.clone();
        // Pick the claims by reading (cheap), then write them all in one transaction.
        let mut picked = Vec::new();
        // Scan a bit past `limit`: some entries may be skipped by `lease_ms`.
        for (at, key) in Trees::entries_until(&trees.due, now, limit.saturating_mul(4))? {
            if picked.len() >= limit {
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
            if let Some(lease) = lease_ms(&current) {
                picked.push((key, at, lease));
            }
        }
        if picked.is_empty() {
            return Ok(Vec::new());
        }
        let write = move || -> Result<(Vec<Claimed>, u64), StoreError> {
            let keys: Vec<&[u8]> = picked.iter().map(|(key, _, _)| key.as_slice()).collect();
            let results = trees.update_many(&keys, |i, r| {
                let (_, at, lease) = picked[i];
                (r.due_at() == Some(at)).then(|| r.claim(now, lease, max_attempts))
            })?;
            let (mut claimed, mut dead) = (Vec::new(), 0);
            for (key, result) in keys.iter().zip(results) {
                match result? {
                    Some((record, true)) => {
                        let body = trees.body(key, record.received_at)?.unwrap_or_default();
                        claimed.push(Claimed { record, body });
                    }
                    Some((_, false)) => dead += 1,
                    None => {}
                }
            }
            Ok((claimed, dead))
        };
        let written = tokio::task::spawn_blocking(write).await;
        let (claimed, dead) = written.map_err(|e| StoreError::Unavailable(Arc::new(e)))??;
        self.pending.fetch_sub(dead, Ordering::Relaxed);
        if !claimed.is_empty() {
            backend.durable().await?;
        }
        Ok(claimed)
    }

    /// Records the attempt `claimed` made and moves the event on; `false` when the claim is no
    /// longer current. Attempts finishing together share a transaction (see `batch`). Returns
    /// once the change is durable.
    pub async fn record_attempt(
        &self,
        claimed: &EventRecord,
        attempt: Attempt,
        next: Next,
    ) -> Result<bool, StoreError> {
        let backend = self.backend()?;
        let job = FinishedAttempt {
            claimed: claimed.clone(),
            attempt,
            next,
        };
        let updated = backend.records.write(job).await?;
        backend.durable().await?;
        match updated {
            Some(record) => {
                if record.state.is_final() {
                    self.pending.fetch_sub(1, Ordering::Relaxed);
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Puts every `processing` event back to `queued` now (this process is the only one using
    /// the database, so their worker is gone); called at start-up. Returns how many.
    pub fn recover(&self, now: u64) -> Result<usize, StoreError> {
        let backend = self.backend()?;
        let trees = &backend.trees;
        let mut recovered = 0;
        for (at, key) in trees.leases()? {
            let changed = trees.update(&key, |r| {
                (r.state == super::State::Processing && r.due_at() == Some(at))
                    .then(|| r.abandon(now))
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

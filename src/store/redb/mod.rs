//! The redb backend (the default): one embedded database file, `events.redb`, in
//! `storage.data_dir`, for a single instance.
//!
//! Every write goes to one writer thread that groups whatever is waiting — accepts, claims,
//! attempt results, requeues, housekeeping — into one transaction and one `fdatasync` (see
//! `writer`), and answers each caller only after that commit. Reads run in their own read
//! transactions beside it. The `due`, `expiry` and `received` indexes change in the same
//! transaction as the record they point to, so a crash at any point leaves a consistent queue.

mod audit;
mod compact;
mod discard;
mod interface;
mod open;
mod ordered;
mod read;
mod tables;
#[cfg(test)]
mod tests;
mod writer;

use crate::clock::millis;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;

use bytes::Bytes;

use self::open::Slot;
use self::tables::Tables;
use self::writer::{ClosureWrite, Msg, Writer};
use super::backend::off_runtime;
use super::{
    event_key, Attempt, BulkRequeued, Claimed, Cursor, EventFilter, EventRecord, Next,
    RequeueOutcome, Retention, State, StoreError, BULK_REQUEUE_MAX, SCAN_BUDGET,
};
use crate::config::{Durability, StorageConfig};

pub use self::compact::{compact, Compacted};
pub use self::open::FILE;

/// Handle to the redb event store. Cheap to clone.
#[derive(Clone)]
pub struct RedbStore {
    slot: Arc<Slot>,
    tx: mpsc::Sender<Msg>,
}

/// `Unavailable` with `why`.
fn unavailable(why: &str) -> StoreError {
    StoreError::Unavailable(Arc::new(std::io::Error::other(why.to_owned())))
}

/// A redb error met while serving: damage is `Corrupt`, anything else `Unavailable`.
fn storage_error(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(why) => StoreError::Corrupt(format!("damaged database: {why}")),
        other => StoreError::Unavailable(Arc::new(other)),
    }
}

/// Applies `change(i, record)` to the record at each `keys[i]` (see [`Tables::update`]); a
/// record that does not decode is left alone and reported.
fn update_all<T>(
    tables: &mut Tables<'_>,
    keys: &[Vec<u8>],
    mut change: impl FnMut(usize, &mut EventRecord) -> Option<T>,
) -> Result<Vec<Option<(EventRecord, T)>>, redb::Error> {
    let mut out = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        match tables.update(key, |r| change(i, r))? {
            Ok(updated) => out.push(updated),
            Err(e) => {
                tracing::error!(error = %e, "a stored record does not decode; left as it is");
                out.push(None);
            }
        }
    }
    Ok(out)
}

impl RedbStore {
    /// Opens (creating if needed) the database in `cfg.data_dir` and starts its writer thread;
    /// as the target of a migration from `migrating_from` when given (see [`Slot::open`]).
    pub fn open(
        cfg: &StorageConfig,
        migrating_from: Option<&str>,
    ) -> Result<RedbStore, StoreError> {
        let (slot, opened) = Slot::open(cfg, migrating_from)?;
        let retention = Retention {
            body_ms: millis(cfg.retention),
            dedupe_ms: millis(cfg.dedupe_window),
        };
        let interval = (cfg.durability == Durability::Interval).then_some(cfg.flush_interval);
        let writer = Writer::new(slot.clone(), opened, retention, interval);
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("hookbox-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Unavailable(Arc::new(e)))?;
        Ok(RedbStore { slot, tx })
    }

    /// Makes `work` part of the next group commit and returns its result once that commit is
    /// durable (in `fsync` mode).
    async fn write<T, F>(&self, bytes: usize, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tables<'_>) -> Result<Result<T, StoreError>, redb::Error> + Send + 'static,
    {
        let (job, rx) = ClosureWrite::boxed(bytes, work);
        self.tx
            .send(Msg::Write(job))
            .map_err(|_| unavailable("the store is closed"))?;
        rx.await.map_err(|_| unavailable("the store is closed"))?
    }

    fn db(&self) -> Result<Arc<redb::Database>, StoreError> {
        self.slot.get()
    }

    /// The record of one event.
    pub fn get(&self, source: &str, id: &str) -> Result<Option<EventRecord>, StoreError> {
        read::get(self.db()?.as_ref(), &event_key(source, id))
    }

    /// Events not yet final (queued or processing).
    pub fn pending(&self) -> u64 {
        self.slot.pending.load(Ordering::Relaxed)
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
        // Pick by reading (off the runtime's threads), then claim in the writer, re-checking
        // each record is still due. Scan a bit past `limit`: `lease_ms` may skip some.
        let scan = limit.saturating_mul(4);
        let due = off_runtime(self, move |s| {
            read::due_until(s.db()?.as_ref(), false, now, scan)
        })
        .await?;
        let mut picked = Vec::new();
        for (at, key, record) in due {
            if picked.len() >= limit {
                break;
            }
            let Some(record) = record.filter(|r| r.due_at() == Some(at)) else {
                continue;
            };
            if let Some(lease) = lease_ms(&record) {
                picked.push((key, at, lease));
            }
        }
        if picked.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Vec<u8>> = picked.iter().map(|(key, _, _)| key.clone()).collect();
        let updated = self
            .write(0, move |t| {
                Ok(Ok(update_all(t, &keys, |i, r| {
                    let (_, at, lease) = picked[i];
                    (r.due_at() == Some(at)).then(|| r.claim(now, lease, max_attempts))
                })?))
            })
            .await?;
        let (took, gone): (Vec<_>, Vec<_>) = updated.into_iter().flatten().partition(|u| u.1);
        self.slot
            .pending
            .fetch_sub(gone.len() as u64, Ordering::Relaxed);
        let wanted: Vec<_> = took
            .iter()
            .map(|(r, _)| (event_key(&r.source, &r.id), r.received_at))
            .collect();
        let bodies = off_runtime(self, move |s| read::bodies(s.db()?.as_ref(), &wanted)).await?;
        Ok(took
            .into_iter()
            .zip(bodies)
            .map(|((record, _), body)| Claimed {
                record,
                body: body.unwrap_or_default(),
            })
            .collect())
    }

    /// Records the attempt `claimed` made and moves the event on; `false` when the claim is no
    /// longer current. Returns once the change is durable.
    pub async fn record_attempt(
        &self,
        claimed: &EventRecord,
        attempt: Attempt,
        next: Next,
    ) -> Result<bool, StoreError> {
        let claimed = claimed.clone();
        let bytes = attempt.error.as_ref().map_or(0, String::len);
        let key = event_key(&claimed.source, &claimed.id);
        let updated = self
            .write(bytes, move |t| {
                t.update(&key, |r| {
                    r.holds_claim_of(&claimed).then(|| {
                        let now = attempt.ended_at();
                        r.record_attempt(attempt, next, now)
                    })
                })
            })
            .await?;
        match updated {
            Some((record, ())) => {
                if record.state.is_final() {
                    self.slot.pending.fetch_sub(1, Ordering::Relaxed);
                    if record.ordering.is_some() {
                        // The next event of its key may have become due.
                        self.slot.wake.notify_one();
                    }
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Puts every `processing` event back to `queued` now (this process is the only one using
    /// the database, so their worker is gone); called at start-up. Returns how many.
    pub async fn recover(&self, now: u64) -> Result<usize, StoreError> {
        let leases = read::leases(self.db()?.as_ref())?;
        if leases.is_empty() {
            return Ok(0);
        }
        let updated = self
            .write(0, move |t| {
                let keys: Vec<Vec<u8>> = leases.iter().map(|(_, key)| key.clone()).collect();
                Ok(Ok(update_all(t, &keys, |i, r| {
                    (r.state == State::Processing && r.due_at() == Some(leases[i].0))
                        .then(|| r.abandon(now))
                })?))
            })
            .await?;
        Ok(updated.iter().flatten().count())
    }

    /// Applies retention to up to `limit` succeeded events whose time has come: purges bodies
    /// past `retention`, forgets ids past `dedupe_window`. Returns how many were touched.
    pub async fn expire(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        let entries = read::due_until(self.db()?.as_ref(), true, now, limit)?;
        if entries.is_empty() {
            return Ok(0);
        }
        self.write(0, move |t| {
            let mut touched = 0;
            for (at, key, _) in &entries {
                touched += usize::from(t.expire(*at, key)?.unwrap_or(false));
            }
            Ok(Ok(touched))
        })
        .await
    }

    /// Queues one final event again, due `now`, and wakes the worker. Returns once durable.
    pub async fn requeue(
        &self,
        source: &str,
        id: &str,
        now: u64,
    ) -> Result<RequeueOutcome, StoreError> {
        let key = event_key(source, id);
        let outcome = self
            .write(0, move |t| {
                let updated = match t.update(&key, |r| r.requeue(now))? {
                    Ok(updated) => updated,
                    Err(e) => return Ok(Err(e)),
                };
                Ok(Ok(match updated {
                    Some((record, ())) => RequeueOutcome::Requeued(record),
                    None => match t.get(&key)? {
                        Ok(None) => RequeueOutcome::Unknown,
                        Ok(Some(r)) => RequeueOutcome::refused(&r),
                        Err(e) => return Ok(Err(e)),
                    },
                }))
            })
            .await?;
        if matches!(outcome, RequeueOutcome::Requeued(_)) {
            self.requeued(1);
        }
        Ok(outcome)
    }

    /// Requeues the `dead` events matching `filter` (its `state` is ignored), newest first,
    /// continuing after `after`. One call requeues at most [`BULK_REQUEUE_MAX`] and examines at
    /// most [`SCAN_BUDGET`] events; `next` says where to continue. Returns once durable.
    pub async fn requeue_dead(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        now: u64,
    ) -> Result<BulkRequeued, StoreError> {
        let filter = EventFilter {
            state: Some(State::Dead),
            ..filter.clone()
        };
        let (mut keys, mut names) = (Vec::new(), Vec::new());
        let next = read::walk(self.db()?.as_ref(), &filter, after, SCAN_BUDGET, |record| {
            if keys.len() == BULK_REQUEUE_MAX {
                return Ok(false);
            }
            keys.push(event_key(&record.source, &record.id));
            names.push((record.source, record.id));
            Ok(true)
        })?;
        if keys.is_empty() {
            return Ok(BulkRequeued {
                requeued: 0,
                taken: Vec::new(),
                next,
            });
        }
        let updated = self
            .write(0, move |t| {
                // Re-checked inside the transaction: the event may have moved on meanwhile.
                Ok(Ok(update_all(t, &keys, |_, r| {
                    (r.state == State::Dead).then(|| r.requeue(now))?
                })?))
            })
            .await?;
        let taken: Vec<(String, String)> = (names.into_iter().zip(&updated))
            .filter(|(_, done)| done.is_some())
            .map(|(name, _)| name)
            .collect();
        self.requeued(taken.len() as u64);
        Ok(BulkRequeued {
            requeued: taken.len(),
            taken,
            next,
        })
    }

    /// Counts `n` events as pending again and wakes the worker.
    fn requeued(&self, n: u64) {
        if n > 0 {
            self.slot.pending.fetch_add(n, Ordering::Relaxed);
            self.slot.wake.notify_one();
        }
    }

    /// Writes a probe through the writer, proving storage takes durable writes (the data file
    /// still in place, the disk accepting them).
    pub async fn check_writable(&self, now: u64) -> Result<(), StoreError> {
        self.write(0, move |t| Ok(Ok(t.probe(now)?))).await
    }
}

/// Migration (see `store::migrate`).
impl RedbStore {
    /// Inserts each event unless its id is known; returns how many were new.
    pub async fn import(&self, events: Vec<super::migrate::Exported>) -> Result<usize, StoreError> {
        let bytes = events
            .iter()
            .map(|(_, b)| b.as_ref().map_or(0, Bytes::len))
            .sum();
        let (inserted, pending) = self
            .write(bytes, move |t| {
                let (mut inserted, mut pending) = (0, 0);
                for (record, body) in &events {
                    match t.import(record, body.as_deref())? {
                        Ok(true) => {
                            inserted += 1;
                            pending += u64::from(!record.state.is_final());
                        }
                        Ok(false) => {}
                        Err(e) => return Ok(Err(e)),
                    }
                }
                Ok(Ok((inserted, pending)))
            })
            .await?;
        self.requeued(pending);
        Ok(inserted)
    }

    /// Events stored (records and tombstones).
    pub fn count(&self) -> Result<u64, StoreError> {
        read::count_events(self.db()?.as_ref())
    }

    /// Marks the migration into this store finished (see [`Slot::finish_migration`]).
    pub fn finish_migration(&self) -> Result<(), StoreError> {
        self.slot.finish_migration()
    }
}

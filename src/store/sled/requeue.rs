//! Operator requeues: one event now (a dead one, or a succeeded one as a deliberate replay), or
//! every dead event in a range. Each requeue is recorded in the event's `requeues` history and
//! starts a fresh round of attempts (`attempt_count` back to 0, the old count kept in history).

use std::sync::atomic::Ordering;

use super::SledStore;
use crate::store::{
    event_key, BulkRequeued, Cursor, EventFilter, RequeueOutcome, State, StoreError,
    BULK_REQUEUE_MAX, SCAN_BUDGET,
};

impl SledStore {
    /// Queues one final event again, due `now`, and wakes the worker. Returns once durable.
    pub async fn requeue(
        &self,
        source: &str,
        id: &str,
        now: u64,
    ) -> Result<RequeueOutcome, StoreError> {
        let key = event_key(source, id);
        // One backend for the write and its flush (see `accept` in `interface`).
        let backend = self.backend()?;
        let Some((record, ())) = backend.trees.update(&key, |r| r.requeue(now))? else {
            return Ok(match backend.trees.get(&key)? {
                None => RequeueOutcome::Unknown,
                Some(r) => RequeueOutcome::refused(&r),
            });
        };
        backend.durable().await?;
        self.requeued(1);
        Ok(RequeueOutcome::Requeued(record))
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
        let backend = self.backend()?;
        let mut taken = Vec::new();
        let next = backend.trees.walk(&filter, after, SCAN_BUDGET, |record| {
            if taken.len() == BULK_REQUEUE_MAX {
                return Ok(false);
            }
            let key = event_key(&record.source, &record.id);
            // Re-checked inside the transaction: the event may have moved on meanwhile.
            let changed = backend.trees.update(&key, |r| {
                (r.state == State::Dead).then(|| r.requeue(now))?
            })?;
            if changed.is_some() {
                taken.push((record.source, record.id));
            }
            Ok(true)
        })?;
        if !taken.is_empty() {
            backend.durable().await?;
            self.requeued(taken.len() as u64);
        }
        Ok(BulkRequeued {
            requeued: taken.len(),
            taken,
            next,
        })
    }

    /// Counts `n` events as pending again and wakes the worker.
    fn requeued(&self, n: u64) {
        self.pending.fetch_add(n, Ordering::Relaxed);
        self.wake.notify_one();
    }
}

//! sled as the store's [`Backend`]: writes are grouped (see `batch`) and flushed together (see
//! `commit`); the synchronous reads, and the writes outside a batch (routed accepts, start-up
//! recovery, retention), run on the blocking pool. sled has no ordering lines.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use bytes::Bytes;

use super::SledStore;
use crate::store::audit::RawAudit;
use crate::store::backend::{off_runtime, Backend};
use crate::store::counters::Tallies;
use crate::store::migrate::Exported;
use crate::store::{
    event_key, Accepted, Attempt, BulkRequeued, Claimed, Cursor, DiscardOutcome, EventFilter,
    EventRecord, Lines, NewEvent, Next, Page, RequeueOutcome, RouteDelivery, StoreError,
};

#[async_trait]
impl Backend for SledStore {
    fn name(&self) -> &'static str {
        "sled"
    }

    async fn accept(&self, ev: NewEvent) -> Result<Accepted, StoreError> {
        // One backend for the write and its flush: a flush of a reopened database would not
        // cover a write that died with the old one.
        let backend = self.backend()?;
        let outcome = backend.accepts.write(ev).await?;
        // A duplicate waits too: the first copy may still be waiting for its own flush.
        backend.durable().await?;
        if outcome == Accepted::New {
            self.pending.fetch_add(1, Ordering::Relaxed);
            self.wake.notify_one();
        }
        Ok(outcome)
    }

    async fn accept_routed(
        &self,
        ev: NewEvent,
        routes: Vec<RouteDelivery>,
    ) -> Result<Accepted, StoreError> {
        let backend = self.backend()?;
        let due = routes.iter().filter(|r| !r.skipped).count() as u64;
        let write =
            move |b: &std::sync::Arc<super::backend::Backend>| b.trees.accept_routed(&ev, &routes);
        let outcome = off_runtime(&backend, write).await?;
        backend.durable().await?;
        if outcome == Accepted::New && due > 0 {
            self.pending.fetch_add(due, Ordering::Relaxed);
            self.wake.notify_one();
        }
        Ok(outcome)
    }

    async fn claim_due(
        &self,
        now: u64,
        limit: usize,
        max_attempts: u32,
        lease_ms: &mut (dyn for<'r> FnMut(&'r EventRecord) -> Option<u64> + Send),
    ) -> Result<Vec<Claimed>, StoreError> {
        SledStore::claim_due(self, now, limit, max_attempts, lease_ms).await
    }

    async fn record_attempt(
        &self,
        claimed: &EventRecord,
        attempt: Attempt,
        next: Next,
    ) -> Result<bool, StoreError> {
        SledStore::record_attempt(self, claimed, attempt, next).await
    }

    async fn recover(&self, now: u64) -> Result<usize, StoreError> {
        off_runtime(self, move |s| SledStore::recover(s, now)).await
    }

    async fn expire(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        off_runtime(self, move |s| SledStore::expire(s, now, limit)).await
    }

    async fn get(&self, source: &str, id: &str) -> Result<Option<EventRecord>, StoreError> {
        let (source, id) = (source.to_owned(), id.to_owned());
        off_runtime(self, move |s| SledStore::get(s, &source, &id)).await
    }

    async fn body(&self, source: &str, id: &str) -> Result<Option<Bytes>, StoreError> {
        let (source, id) = (source.to_owned(), id.to_owned());
        off_runtime(self, move |s| {
            let trees = &s.backend()?.trees;
            let key = event_key(&source, &id);
            match trees.get(&key)? {
                Some(record) => trees.body(&key, record.received_at),
                None => Ok(None),
            }
        })
        .await
    }

    async fn list(
        &self,
        filter: &EventFilter,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, StoreError> {
        let (filter, after) = (filter.clone(), after.cloned());
        off_runtime(self, move |s| {
            SledStore::list(s, &filter, limit, after.as_ref())
        })
        .await
    }

    async fn requeue(
        &self,
        source: &str,
        id: &str,
        now: u64,
    ) -> Result<RequeueOutcome, StoreError> {
        SledStore::requeue(self, source, id, now).await
    }

    async fn requeue_dead(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        now: u64,
    ) -> Result<BulkRequeued, StoreError> {
        SledStore::requeue_dead(self, filter, after, now).await
    }

    async fn discard(&self, source: &str, id: &str) -> Result<DiscardOutcome, StoreError> {
        SledStore::discard(self, source, id).await
    }

    // sled keeps no ordering lines, and that is the whole truth rather than a gap: config load
    // refuses `ordering_key` on sled, so no sled record carries a key and no key has a line.
    async fn ordering_lines(
        &self,
        _source: Option<&str>,
        _count_behind: bool,
    ) -> Result<Lines, StoreError> {
        Ok(Lines::default())
    }

    async fn ordering_head(
        &self,
        _source: &str,
        _key: &str,
    ) -> Result<Option<EventRecord>, StoreError> {
        Ok(None)
    }

    async fn streams(&self) -> Result<Vec<String>, StoreError> {
        off_runtime(self, SledStore::streams).await
    }

    fn pending(&self) -> u64 {
        SledStore::pending(self)
    }

    async fn woken(&self) {
        self.wake.notified().await
    }

    async fn next_due(&self) -> Result<Option<u64>, StoreError> {
        off_runtime(self, |s| s.backend()?.trees.next_due()).await
    }

    async fn check_writable(&self, now: u64) -> Result<(), StoreError> {
        SledStore::check_writable(self, now).await
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.slot.close().await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        off_runtime(self, SledStore::count).await
    }

    async fn tallies(&self, window: Option<(u64, u64)>) -> Result<Option<Tallies>, StoreError> {
        off_runtime(self, move |s| s.backend()?.trees.tallies(window).map(Some)).await
    }

    async fn append_audit(&self, rows: RawAudit) -> Result<(), StoreError> {
        SledStore::append_audit(self, rows).await
    }

    async fn audit_before(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<RawAudit, StoreError> {
        let before = before.map(str::to_owned);
        off_runtime(self, move |s| {
            SledStore::audit_before(s, before.as_deref(), limit)
        })
        .await
    }

    async fn expire_audit(&self, bound: &str, limit: usize) -> Result<usize, StoreError> {
        SledStore::expire_audit(self, bound, limit).await
    }

    async fn export_page(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Exported>, StoreError> {
        let after = after.map(<[u8]>::to_vec);
        off_runtime(self, move |s| {
            SledStore::export_page(s, after.as_deref(), limit)
        })
        .await
    }

    // Migrating into sled (`import`, `finish_migration`) is refused by the default: sled is kept
    // for data already in it, not as a target.
}

//! redb as the store's [`Backend`]: writes go through the writer thread (see `writer`), and the
//! synchronous reads run on the blocking pool. The larger operations (claim, attempt results,
//! requeues, import) are `RedbStore` methods in `mod.rs`, `discard.rs` and `audit.rs`.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use bytes::Bytes;

use super::writer::Msg;
use super::{read, RedbStore};
use crate::store::audit::RawAudit;
use crate::store::backend::{off_runtime, Backend};
use crate::store::counters::Tallies;
use crate::store::migrate::Exported;
use crate::store::{
    event_key, Accepted, Attempt, BulkRequeued, Claimed, Cursor, DiscardOutcome, EventFilter,
    EventRecord, Lines, NewEvent, Next, Page, RequeueOutcome, RouteDelivery, StoreError,
    SCAN_BUDGET,
};

#[async_trait]
impl Backend for RedbStore {
    fn name(&self) -> &'static str {
        "redb"
    }

    async fn accept(&self, ev: NewEvent) -> Result<Accepted, StoreError> {
        let outcome = self.write(ev.body.len(), move |t| t.accept(&ev)).await?;
        if outcome == Accepted::New {
            self.slot.pending.fetch_add(1, Ordering::Relaxed);
            self.slot.wake.notify_one();
        }
        Ok(outcome)
    }

    async fn accept_routed(
        &self,
        ev: NewEvent,
        routes: Vec<RouteDelivery>,
    ) -> Result<Accepted, StoreError> {
        let due = routes.iter().filter(|r| !r.skipped).count();
        let bytes = ev.body.len() * due;
        let outcome = self
            .write(bytes, move |t| t.accept_routed(&ev, &routes))
            .await?;
        if outcome == Accepted::New && due > 0 {
            self.slot.pending.fetch_add(due as u64, Ordering::Relaxed);
            self.slot.wake.notify_one();
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
        RedbStore::claim_due(self, now, limit, max_attempts, lease_ms).await
    }

    async fn record_attempt(
        &self,
        claimed: &EventRecord,
        attempt: Attempt,
        next: Next,
    ) -> Result<bool, StoreError> {
        RedbStore::record_attempt(self, claimed, attempt, next).await
    }

    async fn recover(&self, now: u64) -> Result<usize, StoreError> {
        RedbStore::recover(self, now).await
    }

    async fn expire(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        RedbStore::expire(self, now, limit).await
    }

    async fn get(&self, source: &str, id: &str) -> Result<Option<EventRecord>, StoreError> {
        let (source, id) = (source.to_owned(), id.to_owned());
        off_runtime(self, move |s| RedbStore::get(s, &source, &id)).await
    }

    async fn body(&self, source: &str, id: &str) -> Result<Option<Bytes>, StoreError> {
        let (source, id) = (source.to_owned(), id.to_owned());
        off_runtime(self, move |s| {
            let (db, key) = (s.db()?, event_key(&source, &id));
            match read::get(&db, &key)? {
                Some(record) => read::body(&db, &key, record.received_at),
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
        let (filter, after, limit) = (filter.clone(), after.cloned(), limit.max(1));
        off_runtime(self, move |s| {
            let mut items = Vec::new();
            let next = read::walk(
                s.db()?.as_ref(),
                &filter,
                after.as_ref(),
                SCAN_BUDGET,
                |r| {
                    let take = items.len() < limit;
                    if take {
                        items.push(r);
                    }
                    Ok(take)
                },
            )?;
            Ok(Page { items, next })
        })
        .await
    }

    async fn requeue(
        &self,
        source: &str,
        id: &str,
        now: u64,
    ) -> Result<RequeueOutcome, StoreError> {
        RedbStore::requeue(self, source, id, now).await
    }

    async fn requeue_dead(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        now: u64,
    ) -> Result<BulkRequeued, StoreError> {
        RedbStore::requeue_dead(self, filter, after, now).await
    }

    async fn discard(&self, source: &str, id: &str) -> Result<DiscardOutcome, StoreError> {
        RedbStore::discard(self, source, id).await
    }

    async fn ordering_lines(
        &self,
        source: Option<&str>,
        count_behind: bool,
    ) -> Result<Lines, StoreError> {
        let source = source.map(str::to_owned);
        off_runtime(self, move |s| {
            let db = s.db()?;
            let (lines, truncated) =
                read::lines(&db, source.as_deref(), count_behind, SCAN_BUDGET)?;
            Ok(Lines { lines, truncated })
        })
        .await
    }

    async fn ordering_head(
        &self,
        source: &str,
        key: &str,
    ) -> Result<Option<EventRecord>, StoreError> {
        let (source, key) = (source.to_owned(), key.to_owned());
        off_runtime(self, move |s| read::head(s.db()?.as_ref(), &source, &key)).await
    }

    async fn streams(&self) -> Result<Vec<String>, StoreError> {
        off_runtime(self, |s| read::streams(s.db()?.as_ref())).await
    }

    fn pending(&self) -> u64 {
        RedbStore::pending(self)
    }

    async fn woken(&self) {
        self.slot.wake.notified().await
    }

    async fn next_due(&self) -> Result<Option<u64>, StoreError> {
        off_runtime(self, |s| read::next_due(s.db()?.as_ref())).await
    }

    async fn check_writable(&self, now: u64) -> Result<(), StoreError> {
        RedbStore::check_writable(self, now).await
    }

    async fn close(&self) -> Result<(), StoreError> {
        let (done, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Close(done)).is_err() {
            return Ok(());
        }
        rx.await.unwrap_or(Ok(()))
    }

    async fn count(&self) -> Result<u64, StoreError> {
        off_runtime(self, RedbStore::count).await
    }

    async fn tallies(&self, window: Option<(u64, u64)>) -> Result<Option<Tallies>, StoreError> {
        off_runtime(self, move |s| {
            read::tallies(s.db()?.as_ref(), window).map(Some)
        })
        .await
    }

    async fn append_audit(&self, rows: RawAudit) -> Result<(), StoreError> {
        RedbStore::append_audit(self, rows).await
    }

    async fn audit_before(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<RawAudit, StoreError> {
        let before = before.map(str::to_owned);
        off_runtime(self, move |s| {
            RedbStore::audit_before(s, before.as_deref(), limit)
        })
        .await
    }

    async fn expire_audit(&self, bound: &str, limit: usize) -> Result<usize, StoreError> {
        RedbStore::expire_audit(self, bound.to_owned(), limit).await
    }

    async fn export_page(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Exported>, StoreError> {
        let after = after.map(<[u8]>::to_vec);
        off_runtime(self, move |s| {
            read::export_page(s.db()?.as_ref(), after.as_deref(), limit)
        })
        .await
    }

    async fn import(&self, events: Vec<Exported>) -> Result<usize, StoreError> {
        RedbStore::import(self, events).await
    }

    async fn finish_migration(&self) -> Result<(), StoreError> {
        off_runtime(self, RedbStore::finish_migration).await
    }
}

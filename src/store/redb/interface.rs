//! redb as the store's [`Backend`]: writes go through the writer thread (see `writer`), and the
//! synchronous reads run on the blocking pool.

use async_trait::async_trait;
use bytes::Bytes;

use super::RedbStore;
use crate::store::audit::RawAudit;
use crate::store::backend::{off_runtime, Backend};
use crate::store::migrate::Exported;
use crate::store::{
    Accepted, Attempt, BulkRequeued, Claimed, Cursor, DiscardOutcome, EventFilter, EventRecord,
    Lines, NewEvent, Next, Page, RequeueOutcome, RouteDelivery, StoreError,
};

#[async_trait]
impl Backend for RedbStore {
    fn name(&self) -> &'static str {
        "redb"
    }

    async fn accept(&self, ev: NewEvent) -> Result<Accepted, StoreError> {
        RedbStore::accept(self, ev).await
    }

    async fn accept_routed(
        &self,
        ev: NewEvent,
        routes: Vec<RouteDelivery>,
    ) -> Result<Accepted, StoreError> {
        RedbStore::accept_routed(self, ev, routes).await
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
        off_runtime(self, move |s| RedbStore::body(s, &source, &id)).await
    }

    async fn list(
        &self,
        filter: &EventFilter,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, StoreError> {
        let (filter, after) = (filter.clone(), after.cloned());
        off_runtime(self, move |s| {
            RedbStore::list(s, &filter, limit, after.as_ref())
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
        off_runtime(self, move |s| s.lines(source.as_deref(), count_behind)).await
    }

    async fn ordering_head(
        &self,
        source: &str,
        key: &str,
    ) -> Result<Option<EventRecord>, StoreError> {
        let (source, key) = (source.to_owned(), key.to_owned());
        off_runtime(self, move |s| s.head(&source, &key)).await
    }

    async fn streams(&self) -> Result<Vec<String>, StoreError> {
        off_runtime(self, RedbStore::streams).await
    }

    fn pending(&self) -> u64 {
        RedbStore::pending(self)
    }

    async fn woken(&self) {
        RedbStore::woken(self).await
    }

    async fn next_due(&self) -> Result<Option<u64>, StoreError> {
        off_runtime(self, RedbStore::next_due).await
    }

    async fn check_writable(&self, now: u64) -> Result<(), StoreError> {
        RedbStore::check_writable(self, now).await
    }

    async fn close(&self) -> Result<(), StoreError> {
        RedbStore::close(self).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        off_runtime(self, RedbStore::count).await
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
            RedbStore::export_page(s, after.as_deref(), limit)
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

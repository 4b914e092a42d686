//! PostgreSQL as the store's [`Backend`]: every method is the `PgStore` one, its [`PgError`]
//! turned into a [`StoreError`] by `?` through the one `From` conversion (in `mod.rs`).
//! Migrating out is refused by the default: PostgreSQL has its own tools for that.

use async_trait::async_trait;
use bytes::Bytes;

use super::PgStore;
use crate::store::audit::RawAudit;
use crate::store::backend::Backend;
use crate::store::counters::Tallies;
use crate::store::lease::Lease;
use crate::store::migrate::Exported;
use crate::store::{
    Accepted, Attempt, BulkRequeued, Claimed, Cursor, DiscardOutcome, EventFilter, EventRecord,
    Lines, NewEvent, Next, Page, RequeueOutcome, RouteDelivery, StoreError,
};

#[async_trait]
impl Backend for PgStore {
    fn name(&self) -> &'static str {
        "PostgreSQL"
    }

    async fn try_lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        Ok(PgStore::try_lease(self, name).await?)
    }

    async fn accept(&self, ev: NewEvent) -> Result<Accepted, StoreError> {
        Ok(PgStore::accept(self, ev).await?)
    }

    async fn accept_routed(
        &self,
        ev: NewEvent,
        routes: Vec<RouteDelivery>,
    ) -> Result<Accepted, StoreError> {
        Ok(PgStore::accept_routed(self, ev, routes).await?)
    }

    async fn claim_due(
        &self,
        now: u64,
        limit: usize,
        max_attempts: u32,
        lease_ms: &mut (dyn for<'r> FnMut(&'r EventRecord) -> Option<u64> + Send),
    ) -> Result<Vec<Claimed>, StoreError> {
        Ok(PgStore::claim_due(self, now, limit, max_attempts, lease_ms).await?)
    }

    async fn record_attempt(
        &self,
        claimed: &EventRecord,
        attempt: Attempt,
        next: Next,
    ) -> Result<bool, StoreError> {
        Ok(PgStore::record_attempt(self, claimed, attempt, next).await?)
    }

    async fn recover(&self, now: u64) -> Result<usize, StoreError> {
        Ok(PgStore::recover(self, now).await?)
    }

    async fn expire(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        Ok(PgStore::expire(self, now, limit).await?)
    }

    async fn get(&self, source: &str, id: &str) -> Result<Option<EventRecord>, StoreError> {
        Ok(PgStore::get(self, source, id).await?)
    }

    async fn body(&self, source: &str, id: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(PgStore::body(self, source, id).await?)
    }

    async fn list(
        &self,
        filter: &EventFilter,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, StoreError> {
        Ok(PgStore::list(self, filter, limit, after).await?)
    }

    async fn requeue(
        &self,
        source: &str,
        id: &str,
        now: u64,
    ) -> Result<RequeueOutcome, StoreError> {
        Ok(PgStore::requeue(self, source, id, now).await?)
    }

    async fn requeue_dead(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        now: u64,
    ) -> Result<BulkRequeued, StoreError> {
        Ok(PgStore::requeue_dead(self, filter, after, now).await?)
    }

    async fn discard(&self, source: &str, id: &str) -> Result<DiscardOutcome, StoreError> {
        Ok(PgStore::discard(self, source, id).await?)
    }

    async fn ordering_lines(
        &self,
        source: Option<&str>,
        count_behind: bool,
    ) -> Result<Lines, StoreError> {
        Ok(self.lines(source, count_behind).await?)
    }

    async fn ordering_head(
        &self,
        source: &str,
        key: &str,
    ) -> Result<Option<EventRecord>, StoreError> {
        Ok(self.head(source, key).await?)
    }

    async fn streams(&self) -> Result<Vec<String>, StoreError> {
        Ok(PgStore::streams(self).await?)
    }

    fn pending(&self) -> u64 {
        PgStore::pending(self)
    }

    async fn woken(&self) {
        PgStore::woken(self).await
    }

    async fn next_due(&self) -> Result<Option<u64>, StoreError> {
        Ok(PgStore::next_due(self).await?)
    }

    async fn check_writable(&self, now: u64) -> Result<(), StoreError> {
        Ok(PgStore::check_writable(self, now).await?)
    }

    async fn close(&self) -> Result<(), StoreError> {
        Ok(PgStore::close(self).await?)
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Ok(PgStore::count(self).await?)
    }

    async fn tallies(&self, window: Option<(u64, u64)>) -> Result<Option<Tallies>, StoreError> {
        Ok(Some(PgStore::tallies(self, window).await?))
    }

    async fn append_audit(&self, rows: RawAudit) -> Result<(), StoreError> {
        Ok(PgStore::append_audit(self, &rows).await?)
    }

    async fn audit_before(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<RawAudit, StoreError> {
        Ok(PgStore::audit_before(self, before, limit).await?)
    }

    async fn expire_audit(&self, bound: &str, limit: usize) -> Result<usize, StoreError> {
        Ok(PgStore::expire_audit(self, bound, limit).await?)
    }

    async fn import(&self, events: Vec<Exported>) -> Result<usize, StoreError> {
        Ok(PgStore::import(self, &events).await?)
    }

    async fn finish_migration(&self) -> Result<(), StoreError> {
        Ok(self.mark_migration(None).await?)
    }
}

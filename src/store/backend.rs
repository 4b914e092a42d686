//! The one interface every backend implements (River's driver, Oban's engine): what a backend
//! stores and reads. [`Store`](super::Store) holds one as `Arc<dyn Backend>` and adds only what
//! is the same for all (the worker flag, audit paging, counts), so no method is forwarded by hand
//! per backend and a new backend is one `impl Backend`.
//!
//! A trait object rather than an enum: `Store` then names no backend outside `open`, and tests
//! can hand it any backend. Its methods are async, which a trait object only takes through boxed
//! futures; the `async-trait` crate writes those boxes (one allocation per call, nothing beside
//! an fsync or a network round trip) where hand-written `Pin<Box<dyn Future>>` signatures would
//! hide what each method means.
//!
//! Capabilities a backend may lack (migrating out, migrating in) have a default that refuses with
//! [`StoreError::Config`] naming the backend; nothing answers an empty result for a gap.

use async_trait::async_trait;
use bytes::Bytes;

use super::audit::RawAudit;
use super::counters::Tallies;
use super::lease::Lease;
use super::migrate::Exported;
use super::{
    Accepted, Attempt, BulkRequeued, Claimed, Cursor, DiscardOutcome, EventFilter, EventRecord,
    Lines, NewEvent, Next, Page, RequeueOutcome, RouteDelivery, StoreError,
};

/// A store's storage code. Each method means what the [`Store`](super::Store) method of the
/// same name documents; the embedded backends run their synchronous reads on the blocking pool
/// (see [`off_runtime`]) so the runtime's threads stay free for acks.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    /// The backend's name in messages (`redb`, `sled`, `PostgreSQL`).
    fn name(&self) -> &'static str;

    /// See [`Store::accept`](super::Store::accept).
    async fn accept(&self, ev: NewEvent) -> Result<Accepted, StoreError>;

    /// See [`Store::accept_routed`](super::Store::accept_routed).
    async fn accept_routed(
        &self,
        ev: NewEvent,
        routes: Vec<RouteDelivery>,
    ) -> Result<Accepted, StoreError>;

    /// See [`Store::claim_due`](super::Store::claim_due).
    async fn claim_due(
        &self,
        now: u64,
        limit: usize,
        max_attempts: u32,
        lease_ms: &mut (dyn for<'r> FnMut(&'r EventRecord) -> Option<u64> + Send),
    ) -> Result<Vec<Claimed>, StoreError>;

    /// See [`Store::record_attempt`](super::Store::record_attempt).
    async fn record_attempt(
        &self,
        claimed: &EventRecord,
        attempt: Attempt,
        next: Next,
    ) -> Result<bool, StoreError>;

    /// See [`Store::recover`](super::Store::recover).
    async fn recover(&self, now: u64) -> Result<usize, StoreError>;

    /// See [`Store::expire`](super::Store::expire).
    async fn expire(&self, now: u64, limit: usize) -> Result<usize, StoreError>;

    /// See [`Store::get`](super::Store::get).
    async fn get(&self, source: &str, id: &str) -> Result<Option<EventRecord>, StoreError>;

    /// See [`Store::body`](super::Store::body).
    async fn body(&self, source: &str, id: &str) -> Result<Option<Bytes>, StoreError>;

    /// See [`Store::list`](super::Store::list).
    async fn list(
        &self,
        filter: &EventFilter,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, StoreError>;

    /// See [`Store::requeue`](super::Store::requeue).
    async fn requeue(&self, source: &str, id: &str, now: u64)
        -> Result<RequeueOutcome, StoreError>;

    /// See [`Store::requeue_dead`](super::Store::requeue_dead).
    async fn requeue_dead(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        now: u64,
    ) -> Result<BulkRequeued, StoreError>;

    /// See [`Store::discard`](super::Store::discard).
    async fn discard(&self, source: &str, id: &str) -> Result<DiscardOutcome, StoreError>;

    /// See [`Store::ordering_lines`](super::Store::ordering_lines).
    async fn ordering_lines(
        &self,
        source: Option<&str>,
        count_behind: bool,
    ) -> Result<Lines, StoreError>;

    /// See [`Store::ordering_head`](super::Store::ordering_head).
    async fn ordering_head(
        &self,
        source: &str,
        key: &str,
    ) -> Result<Option<EventRecord>, StoreError>;

    /// See [`Store::streams`](super::Store::streams).
    async fn streams(&self) -> Result<Vec<String>, StoreError>;

    /// See [`Store::pending`](super::Store::pending).
    fn pending(&self) -> u64;

    /// See [`Store::woken`](super::Store::woken).
    async fn woken(&self);

    /// See [`Store::next_due`](super::Store::next_due).
    async fn next_due(&self) -> Result<Option<u64>, StoreError>;

    /// See [`Store::check_writable`](super::Store::check_writable).
    async fn check_writable(&self, now: u64) -> Result<(), StoreError>;

    /// See [`Store::close`](super::Store::close).
    async fn close(&self) -> Result<(), StoreError>;

    /// See [`Store::count`](super::Store::count).
    async fn count(&self) -> Result<u64, StoreError>;

    /// Exact tallies per stream (`source` or `source:route`): events per state, the newest
    /// arrival, the arrival of the oldest event still queued or processing, and — with
    /// `window` = `(from, to)` (unix ms, multiples of
    /// [`SUMMARY_BUCKET_MS`](super::SUMMARY_BUCKET_MS)) — the activity of each bucket of that
    /// width in `from..to`: events received, succeeded and gone dead (by the time they ended),
    /// skipped route deliveries received. They must say exactly what a scan of every stored
    /// record would ([`Store::check_counters`](super::Store::check_counters) compares the two),
    /// at a cost that does not grow with the number of events: counters kept in the same
    /// transaction as each change. Only the newest arrival may be later than the scan's, as it
    /// outlives the event retention forgets.
    ///
    /// `Ok(None)`, the default, says the backend keeps no counters: the store then counts by a
    /// bounded walk of the records, and says when that walk did not see them all.
    async fn tallies(&self, _window: Option<(u64, u64)>) -> Result<Option<Tallies>, StoreError> {
        Ok(None)
    }

    /// Stores audit `rows` (id, JSON); durable on return.
    async fn append_audit(&self, rows: RawAudit) -> Result<(), StoreError>;

    /// Up to `limit` audit rows with ids below `before` (all when `None`), newest first.
    async fn audit_before(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<RawAudit, StoreError>;

    /// Removes up to `limit` audit rows with ids below `bound`; returns how many.
    async fn expire_audit(&self, bound: &str, limit: usize) -> Result<usize, StoreError>;

    /// Up to `limit` events after the event key `after`, in the backend's own key order (see
    /// [`Store::export_page`](super::Store::export_page)). Optional: refused by default.
    async fn export_page(
        &self,
        _after: Option<&[u8]>,
        _limit: usize,
    ) -> Result<Vec<Exported>, StoreError> {
        Err(unsupported(
            "migrating out",
            self.name(),
            "copy it with the database's own tools (pg_dump for PostgreSQL)",
        ))
    }

    /// See [`Store::import`](super::Store::import). Optional: refused by default.
    async fn import(&self, _events: Vec<Exported>) -> Result<usize, StoreError> {
        Err(unsupported(
            "migrating in",
            self.name(),
            "migrate to redb (the default)",
        ))
    }

    /// See [`Store::try_lease`](super::Store::try_lease). A single-instance backend grants
    /// every lease (the default); a shared one must hold it against other instances.
    async fn try_lease(&self, _name: &str) -> Result<Option<Lease>, StoreError> {
        Ok(Some(Lease::local()))
    }

    /// See [`Store::finish_migration`](super::Store::finish_migration). Optional (a backend
    /// that takes no migration has none to finish): refused by default.
    async fn finish_migration(&self) -> Result<(), StoreError> {
        Err(unsupported(
            "migrating in",
            self.name(),
            "migrate to redb (the default)",
        ))
    }
}

/// The refusal of a capability `backend` lacks, with the way out.
fn unsupported(what: &str, backend: &str, way_out: &str) -> StoreError {
    StoreError::Config(format!("{what} is not supported by {backend}: {way_out}"))
}

/// Runs `read` of an embedded engine (a clone of `store`) on the blocking pool: redb and sled
/// read the disk synchronously, and the runtime's two threads must stay free for acks.
pub(crate) async fn off_runtime<S, T>(
    store: &S,
    read: impl FnOnce(&S) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError>
where
    S: Clone + Send + 'static,
    T: Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || read(&store))
        .await
        .map_err(|e| StoreError::Unavailable(std::sync::Arc::new(e)))?
}

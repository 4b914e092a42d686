//! Durable event storage: the only link between the HTTP side and the worker.
//!
//! [`Store`] is one API over three backends, chosen by `storage.backend`:
//! - [`redb`](self::redb) (default): an embedded database file in `storage.data_dir` for a single
//!   instance; one writer thread group-commits, so many accepts share one fsync.
//! - [`sled`](self::sled) (selectable, for data already in it): embedded, group commit too; no
//!   per-key ordering.
//! - [`postgres`]: one PostgreSQL database shared by several instances behind a load balancer;
//!   every accept is one committed `INSERT … ON CONFLICT DO NOTHING`.
//!
//! Every one dedupes and enqueues atomically, answers only once the outcome is durable, claims
//! due events with a lease, and moves records through the same transitions ([`EventRecord::claim`],
//! [`EventRecord::record_attempt`], [`EventRecord::abandon`], [`EventRecord::requeue`]), so the
//! rest of hookbox cannot tell them apart.
//!
//! Each backend implements the one `backend::Backend` interface in its folder's `interface.rs`;
//! [`Store`] holds it as a trait object and forwards to it, adding only what is the same for all
//! (the worker flag, audit paging, counts). What a backend lacks (migrating out of PostgreSQL,
//! into sled) is that interface's default: a refusal naming the backend.

pub mod audit;
mod backend;
mod counters;
mod counters_check;
pub mod data_dir;
mod discard;
mod filter;
mod health;
mod history;
mod keys;
pub mod lease;
mod lines;
pub mod migrate;
pub mod postgres;
mod query;
mod record;
pub mod redb;
mod search;
pub mod sled;
mod stats;
mod stream;
mod walk;

#[cfg(test)]
mod conformance;

use crate::clock::millis;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bytes::Bytes;

pub use crate::event::{
    split_stream, stream_name, State, TypeMatch, UnknownState, ROUTE_SEPARATOR,
};
pub use audit::{AuditFilter, AuditOutcome, AuditPage, AuditRecord};
pub use discard::DiscardOutcome;
pub use filter::EventFilter;
pub use health::WorkerRunning;
pub use history::{Attempt, Outcome, Requeue, MAX_KEPT_ATTEMPTS, MAX_KEPT_REQUEUES};
pub use keys::event_key;
pub use lines::{Line, Lines};
pub use query::{BulkRequeued, Cursor, Page, RequeueOutcome, BULK_REQUEUE_MAX, SCAN_BUDGET};
pub use record::{EventRecord, Retention};
pub use search::{BodySearch, Where, SEARCH_BUDGET};
pub use stats::BUCKET_MS as SUMMARY_BUCKET_MS;
pub use stats::{Bucket, SourceSummary, StateCounts, Summary, STATS_PAGES};
pub use stream::RouteDelivery;

use self::backend::Backend;
use self::postgres::PgStore;
use self::redb::RedbStore;
use self::sled::SledStore;
use crate::config::{StorageBackend, StorageConfig};
pub use crate::ordering::EventOrdering;

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
    /// Its ordering key and its source's `on_dead`, when the source orders its events and the
    /// request carried a key (redb and PostgreSQL; see [`crate::ordering`]).
    pub ordering: Option<EventOrdering>,
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
    /// The database could not read or write (disk full, I/O error, server unreachable, no
    /// pooled connection in time, …).
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// A stored record could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// Another writer changed the data under this operation (another instance, or a hookbox
    /// still running during a migration); doing it again may succeed.
    #[error("changed by another writer: {0}")]
    Raced(String),
    /// The store's files are damaged or shorter than what was stored: hookbox refuses to open
    /// them (the text names the file and the way out).
    #[error("the store is damaged: {0}")]
    Damaged(String),
    /// The storage settings are unusable (reported at start-up; never contains a password).
    #[error("invalid storage configuration: {0}")]
    Config(String),
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

/// Handle to the event store, whichever backend holds it. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// The backend's storage code (see [`Backend`] for why a trait object).
    backend: Arc<dyn Backend>,
    /// Whether the worker loop runs (see `health`): per process, whatever the backend.
    worker_running: Arc<AtomicBool>,
}

impl Store {
    /// Opens the backend `cfg.backend` names: the redb or sled database in `cfg.data_dir`, or
    /// the PostgreSQL database at `cfg.database_url` (migrating its schema). Must be called inside
    /// a tokio runtime. A store that an unfinished `hookbox migrate` copies into is refused.
    pub async fn open(cfg: &StorageConfig) -> Result<Store, StoreError> {
        Store::open_as(cfg, None).await
    }

    /// Opens the store `cfg` names as the target of a migration from `from` (a description for
    /// the operator): it stays marked unfinished, and refused by [`Store::open`], until
    /// [`Store::finish_migration`].
    pub async fn open_migration_target(
        cfg: &StorageConfig,
        from: &str,
    ) -> Result<Store, StoreError> {
        Store::open_as(cfg, Some(from)).await
    }

    async fn open_as(
        cfg: &StorageConfig,
        migrating_from: Option<&str>,
    ) -> Result<Store, StoreError> {
        let backend: Arc<dyn Backend> = match cfg.backend {
            StorageBackend::Redb => {
                let (cfg, from) = (cfg.clone(), migrating_from.map(str::to_owned));
                // Opening verifies the whole file: keep that off the runtime threads.
                let opened =
                    tokio::task::spawn_blocking(move || RedbStore::open(&cfg, from.as_deref()))
                        .await;
                Arc::new(opened.map_err(|e| StoreError::Unavailable(Arc::new(e)))??)
            }
            StorageBackend::Sled => Arc::new(SledStore::open(cfg)?),
            StorageBackend::Postgres => {
                let url = cfg
                    .database_url
                    .as_ref()
                    .ok_or_else(|| StoreError::Config("storage.database_url is not set".into()))?;
                let store = PgStore::connect(
                    url.expose(),
                    cfg.database_schema.as_deref(),
                    cfg.database_ca_file.as_deref(),
                    cfg.pool_size,
                    millis(cfg.retention),
                    millis(cfg.dedupe_window),
                )
                .await?;
                let unfinished = store.migrating_from().await?;
                match (unfinished, migrating_from) {
                    (Some(from), None) => {
                        let _ = store.close().await;
                        let place = "the PostgreSQL database";
                        return Err(data_dir::unfinished_migration(place, &from));
                    }
                    (_, Some(from)) => store.mark_migration(Some(from)).await?,
                    (None, None) => {}
                }
                Arc::new(store)
            }
        };
        Ok(Store {
            backend,
            worker_running: Arc::default(),
        })
    }

    /// A store over an already connected PostgreSQL store (tests).
    #[cfg(test)]
    pub(crate) fn from_postgres(store: PgStore) -> Store {
        Store {
            backend: Arc::new(store),
            worker_running: Arc::default(),
        }
    }

    /// Stores `ev` unless its id is known, and returns once the outcome is durable.
    pub async fn accept(&self, ev: NewEvent) -> Result<Accepted, StoreError> {
        self.backend.accept(ev).await
    }

    /// Stores `ev` as one record per route in `routes` (each under its stream, a skipped one
    /// final at once and without a body), all or none, unless its id is known under any of
    /// them or under `ev.source` itself (a duplicate reports [`State::overall`] of the records
    /// found); returns once the outcome is durable.
    pub async fn accept_routed(
        &self,
        ev: NewEvent,
        routes: Vec<RouteDelivery>,
    ) -> Result<Accepted, StoreError> {
        self.backend.accept_routed(ev, routes).await
    }

    /// Flushes and releases the backend (sled's directory lock, PostgreSQL's connections and
    /// background tasks). Call once, at shutdown.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.backend.close().await
    }

    /// The record of one event.
    pub async fn get(&self, source: &str, id: &str) -> Result<Option<EventRecord>, StoreError> {
        self.backend.get(source, id).await
    }

    /// The body of one event (absent once purged by retention).
    pub async fn body(&self, source: &str, id: &str) -> Result<Option<Bytes>, StoreError> {
        self.backend.body(source, id).await
    }

    /// The lease `name` (work one instance at a time does, such as a reconciliation pass), if
    /// no instance holds it; released when dropped. Always granted by the embedded backends,
    /// which serve one instance.
    pub async fn try_lease(&self, name: &str) -> Result<Option<lease::Lease>, StoreError> {
        self.backend.try_lease(name).await
    }

    /// Events not yet final (queued or processing). Never waits: on PostgreSQL it is a count
    /// cached for about a second (other instances change it too).
    pub fn pending(&self) -> u64 {
        self.backend.pending()
    }

    /// Resolves when an event was accepted or requeued since the last wake-up (on PostgreSQL,
    /// also by another instance).
    pub async fn woken(&self) {
        self.backend.woken().await
    }

    /// Time (unix ms) of the earliest queued attempt or lease expiry.
    pub async fn next_due(&self) -> Result<Option<u64>, StoreError> {
        self.backend.next_due().await
    }

    /// Claims up to `limit` events due at `now`. `lease_ms` gives the lease for an event, or
    /// `None` to leave it queued (e.g. its source is at its concurrency cap). An event whose
    /// lease expired counts its lost attempt as `abandoned`; once that exhausts
    /// `max_attempts` it goes `dead` instead of being claimed.
    pub async fn claim_due(
        &self,
        now: u64,
        limit: usize,
        max_attempts: u32,
        lease_ms: &mut (dyn FnMut(&EventRecord) -> Option<u64> + Send),
    ) -> Result<Vec<Claimed>, StoreError> {
        self.backend
            .claim_due(now, limit, max_attempts, lease_ms)
            .await
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
        self.backend.record_attempt(claimed, attempt, next).await
    }

    /// Start-up recovery of events left `processing`. With sled (one process per database)
    /// they go back to `queued` at once; with PostgreSQL another live instance may be
    /// handling them, so they are only counted and rescued once their lease expires. Returns
    /// how many were recovered (sled) or are waiting to be (PostgreSQL).
    pub async fn recover(&self, now: u64) -> Result<usize, StoreError> {
        self.backend.recover(now).await
    }

    /// Applies retention to up to `limit` succeeded events whose time has come: purges bodies
    /// past `retention`, forgets ids past `dedupe_window`. Returns how many were touched.
    pub async fn expire(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        self.backend.expire(now, limit).await
    }
}

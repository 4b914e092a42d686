//! The PostgreSQL backend: the [`Store`](super::Store) semantics over one shared database, so
//! several hookbox instances behind a load balancer share dedupe and the queue.
//!
//! Every event is one row of `events` (see `schema.rs`); the row holds the [`EventRecord`] fields
//! as columns plus the body. The differences from sled, and why:
//! - **Durability** is PostgreSQL's commit: [`PgStore::accept`] returns after the server
//!   confirmed the commit of the row, which with `synchronous_commit` on (forced on if the
//!   server has it off) means the WAL is flushed. Plain accepts waiting at one moment share one
//!   multi-row `INSERT … ON CONFLICT DO NOTHING` and its commit, and attempt results one
//!   transaction (see `batch.rs`), so a round trip and a WAL flush serve a whole group.
//! - **Claims** lock rows with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent claimers on any
//!   instance never take the same event.
//! - **Recovery** relies on lease expiry only: see [`PgStore::recover`].
//! - **Wake-ups** cross instances through `LISTEN`/`NOTIFY`: see `wake.rs`.
//! - **Counts** per (stream, state) are kept exact by triggers in every writing transaction:
//!   see `counts.rs`. **`pending`** caches their sum for readers on every request: see
//!   `pending.rs`.
//! - **Time** comes from the callers' `now`, as with sled, so a lease taken by one instance is
//!   judged expired by another's clock: instances' clocks must agree to well within a lease
//!   (NTP does).
//!
//! - **Ordering** keeps its lines in the rows: an ordered row's `seq` gives its place, rows
//!   behind a line's head are parked out of the queue, and the claim takes only a line's head:
//!   see `ordered.rs`.
//!
//! Record transitions (claim, record an attempt, abandon, requeue) are the [`EventRecord`]
//! methods the embedded backends use too, so every backend moves records the same way.

mod accept;
mod accept_batch;
mod admin;
mod audit;
mod batch;
mod counts;
mod finish_batch;
mod import;
mod interface;
mod lease;
mod ordered;
mod pending;
mod queue;
mod rows;
mod schema;
mod search;
#[cfg(test)]
pub(crate) mod tests;
mod wake;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use self::batch::Batcher;
use self::finish_batch::Finish;
use self::pending::PendingCount;
use self::rows::COLUMNS;
use self::wake::Wake;
use super::{Accepted, EventRecord, NewEvent};

/// A failure of the PostgreSQL backend.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PgError {
    /// The database could not be reached or failed a statement: try again later (HTTP 503).
    #[error("database unavailable: {}", describe(.0))]
    Unavailable(#[source] Arc<tokio_postgres::Error>),
    /// No pooled connection could be had in time (all busy, or the server unreachable): try
    /// again later (HTTP 503).
    #[error("database connection pool: {0}")]
    Pool(#[source] Arc<deadpool_postgres::PoolError>),
    /// A stored row could not be turned into a record.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// Another instance changed the row under this statement; doing it again may succeed.
    #[error("changed by another writer: {0}")]
    Raced(String),
    /// The store was closed, or its batching task ended, before the call was answered
    /// (HTTP 503: nothing was committed for it, or its commit is not known).
    #[error("the store is closed")]
    Closed,
    /// The URL, schema name or pool size is unusable (reported at start-up only; never contains
    /// the URL, which may hold a password).
    #[error("invalid database configuration: {0}")]
    Config(String),
}

#[cfg(test)]
impl PgError {
    /// True when retrying later may succeed (the HTTP side answers 503).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            PgError::Unavailable(_) | PgError::Pool(_) | PgError::Closed
        )
    }
}

impl From<PgError> for super::StoreError {
    fn from(e: PgError) -> Self {
        use super::StoreError;
        match e {
            e @ PgError::Unavailable(_) => StoreError::Unavailable(Arc::new(e)),
            PgError::Pool(e) => StoreError::Unavailable(e),
            e @ PgError::Closed => StoreError::Unavailable(Arc::new(e)),
            PgError::Corrupt(message) => StoreError::Corrupt(message),
            PgError::Raced(message) => StoreError::Raced(message),
            PgError::Config(message) => StoreError::Config(message),
        }
    }
}

/// tokio-postgres says only "db error" for a server error; add the server's message (which
/// names a missing database or role, never the password).
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(tls) = crate::tls::handshake_failure(e) {
        return tls;
    }
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => format!("{e}: {}", db.message()),
        (None, Some(source)) => format!("{e}: {source}"),
        (None, None) => e.to_string(),
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Unavailable(Arc::new(e))
    }
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PgError::Pool(Arc::new(e))
    }
}

/// How long a caller waits for a pooled connection, and for a new one to be made, before the
/// store reports itself unavailable instead of hanging the request.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// Handle to the PostgreSQL event store. Cheap to clone; background tasks stop when the last
/// clone is dropped.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Body retention for succeeded events, ms.
    retention_ms: u64,
    /// How long a succeeded event's id is remembered, ms.
    dedupe_ms: u64,
    wake: Wake,
    pending: Arc<PendingCount>,
    /// Plain accepts, grouped into one statement per round trip (see `accept_batch.rs`).
    accepts: Batcher<NewEvent, Accepted>,
    /// Attempt results, grouped into one transaction (see `finish_batch.rs`).
    finishes: Batcher<Finish, bool>,
}

impl PgStore {
    /// Connects to the database at `url`, applies pending schema migrations (safe when several
    /// instances start at once) and starts the wake-up listener. With `schema`, everything lives
    /// in that schema (created if missing; lower-case letters, digits and `_`, at most 48
    /// bytes), so several deployments or tests can share one database. Must be called inside a
    /// tokio runtime. TLS follows the URL's `sslmode` (see [`crate::tls::postgres`]), trusting
    /// the system's roots and `ca_file`.
    pub async fn connect(
        url: &str,
        schema: Option<&str>,
        ca_file: Option<&Path>,
        pool_size: usize,
        retention_ms: u64,
        dedupe_ms: u64,
    ) -> Result<PgStore, PgError> {
        if pool_size == 0 {
            return Err(PgError::Config(
                "the pool needs at least one connection".into(),
            ));
        }
        let (mut config, tls) = schema::connection_config(url, schema, ca_file)?;
        schema::prepare(&mut config, schema, tls.clone()).await?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| PgError::Config(e.to_string()))?;
        let wake = Wake::start(pool.clone(), config, tls, schema::channel(schema));
        let pending = Arc::new(PendingCount::new(pool.clone()));
        let accepts = accept_batch::start(&pool, &wake, &pending);
        let finishes = finish_batch::start(&pool, &wake, &pending);
        let store = PgStore {
            pending,
            accepts,
            finishes,
            pool,
            retention_ms,
            dedupe_ms,
            wake,
        };
        store.pending.refresh().await?;
        Ok(store)
    }

    /// Stops the background tasks and closes the pool's connections; later calls fail as
    /// unavailable. Call once, at shutdown. (Every write was committed when it returned, so
    /// there is nothing to flush.)
    pub async fn close(&self) -> Result<(), PgError> {
        self.wake.stop();
        self.pool.close();
        Ok(())
    }

    /// Proves the database takes transactions and still holds hookbox's tables:
    /// `txid_current()` needs a transaction id, which a read-only standby (after a fail-over
    /// gone wrong) or a server protecting itself against wraparound refuses, and a schema
    /// dropped under a running hookbox fails the table look-ups.
    pub async fn check_writable(&self, _now: u64) -> Result<(), PgError> {
        let client = self.pool.get().await?;
        // A transaction id needs a writable primary; naming the tables needs the schema still
        // there (a dropped schema or table is not ready, whatever the server says).
        let probe = "SELECT txid_current(), EXISTS (SELECT 1 FROM events LIMIT 1), \
                     EXISTS (SELECT 1 FROM schema_migrations LIMIT 1)";
        client.query_one(probe, &[]).await?;
        Ok(())
    }

    /// The record of one event.
    pub async fn get(&self, source: &str, id: &str) -> Result<Option<EventRecord>, PgError> {
        let client = self.pool.get().await?;
        let sql = format!("SELECT {COLUMNS} FROM events WHERE source = $1 AND id = $2");
        let statement = client.prepare_cached(&sql).await?;
        let row = client.query_opt(&statement, &[&source, &id]).await?;
        row.map(|r| rows::record(&r)).transpose()
    }

    /// The body of one event (absent once purged by retention).
    pub async fn body(&self, source: &str, id: &str) -> Result<Option<Bytes>, PgError> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached("SELECT body FROM events WHERE source = $1 AND id = $2")
            .await?;
        let row = client.query_opt(&statement, &[&source, &id]).await?;
        let body: Option<Vec<u8>> = match row {
            Some(row) => row.try_get(0)?,
            None => None,
        };
        Ok(body.map(Bytes::from))
    }

    /// Events not yet final (queued or processing) across all instances, as last counted: this
    /// instance's own changes show at once, other instances' within about a second of a call.
    pub fn pending(&self) -> u64 {
        self.pending.get()
    }

    /// Resolves when an event was accepted or requeued since the last wake-up, by this
    /// instance or (through `NOTIFY`) by another one sharing the database.
    pub async fn woken(&self) {
        self.wake.woken().await
    }

    /// Time (unix ms) of the earliest queued attempt or lease expiry, leaving out events held
    /// back by their ordering key (they are not due at any time: the worker would spin on them).
    pub async fn next_due(&self) -> Result<Option<u64>, PgError> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached(concat!(
                "SELECT due_at FROM events WHERE due_at IS NOT NULL AND ",
                ordered::claimable!(),
                " ORDER BY due_at LIMIT 1"
            ))
            .await?;
        let row = client.query_opt(&statement, &[]).await?;
        let at: Option<i64> = row.map(|r| r.try_get(0)).transpose()?;
        at.map(rows::from_ms).transpose()
    }
}

//! The count of events not yet final, cached so that reading it never waits on the database.
//!
//! With several instances the true count changes under every one of them, so a per-process
//! counter (as sled keeps) would drift. This one applies the instance's own changes at once, and
//! a read more than [`MAX_AGE`] after the last count starts a recount in the background: callers
//! that read it on every request (Retry-After hints, metrics) see a value at most about a second
//! old and cost one read of the exact counters (`counts.rs`) per second at most, however many
//! events are stored.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;

use super::PgError;

/// How old a count may get before a read triggers a recount.
const MAX_AGE: Duration = Duration::from_secs(1);

/// The cached count of queued and processing events.
pub struct PendingCount {
    pool: Pool,
    value: AtomicU64,
    /// This instance's own changes, ever: a recount adds those made while it ran, which its
    /// stored result would otherwise undo.
    changes: AtomicI64,
    counted_at: Mutex<Instant>,
    recounting: AtomicBool,
}

impl PendingCount {
    /// A count of zero; call [`PendingCount::refresh`] before relying on it.
    pub fn new(pool: Pool) -> Self {
        PendingCount {
            pool,
            value: AtomicU64::new(0),
            changes: AtomicI64::new(0),
            counted_at: Mutex::new(Instant::now()),
            recounting: AtomicBool::new(false),
        }
    }

    /// The last known count; starts a background recount if it is stale (when called inside
    /// a tokio runtime).
    pub fn get(self: &std::sync::Arc<Self>) -> u64 {
        let stale = self
            .counted_at
            .lock()
            .map_or(true, |at| at.elapsed() >= MAX_AGE);
        let runtime = tokio::runtime::Handle::try_current();
        if let (true, Ok(runtime)) = (stale, runtime) {
            if self.recounting.swap(true, Ordering::AcqRel) {
                return self.value.load(Ordering::Relaxed);
            }
            let this = self.clone();
            runtime.spawn(async move {
                if let Err(e) = this.refresh().await {
                    tracing::debug!(error = %e, "could not recount pending events");
                }
                this.recounting.store(false, Ordering::Release);
            });
        }
        self.value.load(Ordering::Relaxed)
    }

    /// Counts the pending events in the database now.
    pub async fn refresh(&self) -> Result<u64, PgError> {
        let before = self.changes.load(Ordering::Acquire);
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(super::counts::PENDING).await?;
        let count: i64 = client.query_one(&statement, &[]).await?.try_get(0)?;
        // A change made while the count ran may or may not be in it; counting it again errs by
        // one until the next recount, where dropping it would err for as long.
        let during = self.changes.load(Ordering::Acquire) - before;
        let count = u64::try_from(count.saturating_add(during)).unwrap_or(0);
        self.value.store(count, Ordering::Relaxed);
        if let Ok(mut at) = self.counted_at.lock() {
            *at = Instant::now();
        }
        Ok(count)
    }

    /// Counts `n` events this instance added.
    pub fn add(&self, n: u64) {
        self.changes
            .fetch_add(i64::try_from(n).unwrap_or(i64::MAX), Ordering::AcqRel);
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` events this instance finished (never below zero: another instance's work
    /// may not be counted yet).
    pub fn sub(&self, n: u64) {
        self.changes
            .fetch_sub(i64::try_from(n).unwrap_or(i64::MAX), Ordering::AcqRel);
        let _ = self
            .value
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
    }
}

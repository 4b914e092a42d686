//! Readiness signals kept by the store: whether storage takes writes, and whether the worker
//! runs. The worker's flag lives here because the store is the only link between `http` and
//! `worker`.

use std::sync::atomic::Ordering;

use super::{Store, StoreError};

/// Key of the probe written by [`Store::check_writable`] (in sled's default tree, away from events).
const PROBE_KEY: &[u8] = b"readiness-probe";

/// Marks the worker as running until dropped (also when its task panics or is cancelled).
#[must_use = "the worker counts as running only while this guard lives"]
pub struct WorkerRunning(Store);

impl Drop for WorkerRunning {
    fn drop(&mut self) {
        self.0.set_worker_running(false);
    }
}

impl Store {
    /// Records whether the worker loop is running (read by `GET /readyz`).
    pub fn set_worker_running(&self, running: bool) {
        self.worker_running.store(running, Ordering::Relaxed);
    }

    /// Marks the worker as running and returns the guard that clears the mark when dropped.
    pub fn worker_running_guard(&self) -> WorkerRunning {
        self.set_worker_running(true);
        WorkerRunning(self.clone())
    }

    /// Whether the worker loop is running.
    pub fn worker_running(&self) -> bool {
        self.worker_running.load(Ordering::Relaxed)
    }

    /// Writes `now` to a probe key and waits for durability as an event write would, proving
    /// storage takes writes (in `interval` mode, as for events, the flush is not awaited).
    pub async fn check_writable(&self, now: u64) -> Result<(), StoreError> {
        let backend = self.backend()?;
        let written = backend.db.insert(PROBE_KEY, &now.to_be_bytes()[..]);
        backend.check(written.map_err(StoreError::from))?;
        backend.durable().await
    }
}

//! Whether the worker runs, for `GET /readyz`. The flag lives in the store because the store is
//! the only link between `http` and `worker`; it is per process, whatever the backend.

use std::sync::atomic::Ordering;

use super::{Store, StoreError};

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

    /// Proves storage takes writes, as an event write would (for `GET /readyz`).
    pub async fn check_writable(&self, now: u64) -> Result<(), StoreError> {
        self.backend.check_writable(now).await
    }
}

#[cfg(test)]
mod tests {
    use crate::config::StorageConfig;
    use crate::store::Store;

    #[tokio::test]
    async fn the_worker_flag_is_shared_by_clones_and_cleared_by_its_guard() {
        let dir = tempfile::tempdir().expect("dir");
        let cfg = StorageConfig {
            data_dir: dir.path().to_path_buf(),
            cache_capacity_bytes: 1 << 20,
            ..StorageConfig::default()
        };
        let store = Store::open(&cfg).await.expect("open");
        store.check_writable(1).await.expect("writable");
        assert!(!store.worker_running());
        let guard = store.worker_running_guard();
        assert!(store.clone().worker_running(), "shared by clones");
        drop(guard);
        assert!(!store.worker_running());
        store.close().await.expect("close");
    }
}

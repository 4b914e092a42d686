//! The sled store's readiness probe: proving storage takes writes.

use super::SledStore;
use crate::store::StoreError;

/// Key of the probe written by [`SledStore::check_writable`] (in sled's default tree, away from
/// events).
const PROBE_KEY: &[u8] = b"readiness-probe";

impl SledStore {
    /// Writes `now` to a probe key and waits for durability as an event write would, proving
    /// storage takes writes (in `interval` mode, as for events, the flush is not awaited).
    pub async fn check_writable(&self, now: u64) -> Result<(), StoreError> {
        let backend = self.backend()?;
        let written = backend.db.insert(PROBE_KEY, &now.to_be_bytes()[..]);
        backend.check(written.map_err(StoreError::from))?;
        backend.durable().await
    }
}

//! Copying every event — record (state, attempt history, requeues), body and dedupe tombstone —
//! from one backend to another, for `hookbox migrate`. The source is read in pages in its own
//! key order; the target inserts each event unless its id is already there, so an interrupted
//! copy is finished by running it again.

use bytes::Bytes;

use super::{EventRecord, Store, StoreError};

/// One event as migrated: its record and its body (`None` once purged).
pub type Exported = (EventRecord, Option<Bytes>);

impl Store {
    /// Up to `limit` events after `after` (the last one of the previous page), in the backend's
    /// own key order. An empty page means the end.
    pub async fn export_page(
        &self,
        after: Option<&EventRecord>,
        limit: usize,
    ) -> Result<Vec<Exported>, StoreError> {
        let after = after.map(|r| super::event_key(&r.source, &r.id));
        self.backend.export_page(after.as_deref(), limit).await
    }

    /// Inserts each event unless its id is known; returns how many were new. Durable on return.
    pub async fn import(&self, events: Vec<Exported>) -> Result<usize, StoreError> {
        self.backend.import(events).await
    }

    /// Marks a migration into this store (opened with [`Store::open_migration_target`])
    /// finished: every event was copied and the counts matched, so it may be served.
    pub async fn finish_migration(&self) -> Result<(), StoreError> {
        self.backend.finish_migration().await
    }

    /// Events stored (records and tombstones).
    pub async fn count(&self) -> Result<u64, StoreError> {
        self.backend.count().await
    }
}

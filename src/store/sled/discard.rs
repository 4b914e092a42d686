//! Discarding a dead event on sled: the record becomes a tombstone, then its body goes.

use super::SledStore;
use crate::store::keys::timed_key;
use crate::store::{event_key, DiscardOutcome, EventRecord, StoreError};

impl SledStore {
    /// Discards one dead event (see [`EventRecord::discard`]). The record changes first: a
    /// crash between the two writes leaves an unreachable body, never a discarded event that
    /// could still be processed. Returns once durable.
    pub async fn discard(&self, source: &str, id: &str) -> Result<DiscardOutcome, StoreError> {
        let key = event_key(source, id);
        let backend = self.backend()?;
        let Some((record, ())) = backend.trees.update(&key, EventRecord::discard)? else {
            return Ok(match backend.trees.get(&key)? {
                None => DiscardOutcome::Unknown,
                Some(r) => DiscardOutcome::refused(&r),
            });
        };
        backend
            .trees
            .bodies
            .remove(timed_key(record.received_at, &key))?;
        backend.durable().await?;
        Ok(DiscardOutcome::Discarded(record))
    }
}

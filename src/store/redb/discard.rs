//! Discarding a dead event on redb: the record becomes a tombstone and its body goes, in one
//! write transaction.

use super::RedbStore;
use crate::store::{event_key, DiscardOutcome, StoreError};

impl RedbStore {
    /// Discards one dead event (see [`crate::store::EventRecord::discard`]). A dead head of an
    /// ordering key leaves its line, so the next event of the key becomes due and the worker is
    /// woken for it. Returns once durable.
    pub async fn discard(&self, source: &str, id: &str) -> Result<DiscardOutcome, StoreError> {
        let key = event_key(source, id);
        let outcome = self
            .write(0, move |t| {
                let discarded = match t.discard(&key)? {
                    Ok(discarded) => discarded,
                    Err(e) => return Ok(Err(e)),
                };
                Ok(Ok(match discarded {
                    Some(record) => DiscardOutcome::Discarded(record),
                    None => match t.get(&key)? {
                        Ok(None) => DiscardOutcome::Unknown,
                        Ok(Some(r)) => DiscardOutcome::refused(&r),
                        Err(e) => return Ok(Err(e)),
                    },
                }))
            })
            .await?;
        if matches!(outcome, DiscardOutcome::Discarded(_)) {
            self.slot.wake.notify_one();
        }
        Ok(outcome)
    }
}

//! Discarding a dead event: the operator's "never process this", for every backend.

use super::{EventRecord, State};
use super::{Store, StoreError};

/// What [`Store::discard`] did.
// Built once per request and consumed at once: boxing the record would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscardOutcome {
    /// The body is gone; the record stays as a tombstone.
    Discarded(EventRecord),
    /// No such event.
    Unknown,
    /// The event is not dead (only dead events can be discarded).
    NotDead(State),
    /// The event was discarded before.
    AlreadyDiscarded,
}

impl DiscardOutcome {
    /// Why `record`, which [`EventRecord::discard`] refused, was not discarded.
    pub fn refused(record: &EventRecord) -> DiscardOutcome {
        if record.is_discarded() {
            DiscardOutcome::AlreadyDiscarded
        } else {
            DiscardOutcome::NotDead(record.state)
        }
    }
}

impl Store {
    /// Discards one dead event (see [`EventRecord::discard`]): deletes its body and keeps its
    /// record, so the id stays a duplicate. Returns once durable.
    pub async fn discard(&self, source: &str, id: &str) -> Result<DiscardOutcome, StoreError> {
        self.backend.discard(source, id).await
    }
}

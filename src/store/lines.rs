//! The ordering lines as the admin API and metrics see them: for each ordering key with
//! unfinished events, its head and how many wait behind it.

use super::{EventRecord, State, Store, StoreError};

/// The line of one ordering key: its head and how many events wait behind it.
#[derive(Debug, Clone)]
pub struct Line {
    /// Source name.
    pub source: String,
    /// The ordering key value.
    pub key: String,
    /// The first unfinished event of the key (due, processing, or dead under `block`); `None`
    /// if its record does not decode.
    pub head: Option<EventRecord>,
    /// Events waiting behind the head (0 when not counted).
    pub behind: u64,
}

impl Line {
    /// True when the head is dead and holds the others back (`on_dead = "block"`).
    pub fn blocked(&self) -> bool {
        self.head.as_ref().is_some_and(|h| h.state == State::Dead)
    }
}

/// The ordering lines a walk found, and whether it stopped at its budget.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    /// First line first (by source, then key).
    pub lines: Vec<Line>,
    /// The walk read [`SCAN_BUDGET`](super::SCAN_BUDGET) entries and stopped.
    pub truncated: bool,
}

impl Store {
    /// The ordering lines of `source` (every source when `None`) with at least one unfinished
    /// event: each head and, with `count_behind`, how many wait behind it. Reads at most
    /// [`SCAN_BUDGET`](super::SCAN_BUDGET) entries. Empty on sled: config load refuses
    /// ordering there, so no sled event has a line.
    pub async fn ordering_lines(
        &self,
        source: Option<&str>,
        count_behind: bool,
    ) -> Result<Lines, StoreError> {
        self.backend.ordering_lines(source, count_behind).await
    }

    /// The head of the line of ordering key `key` of `source`: the event the others of the key
    /// wait for.
    pub async fn ordering_head(
        &self,
        source: &str,
        key: &str,
    ) -> Result<Option<EventRecord>, StoreError> {
        self.backend.ordering_head(source, key).await
    }
}

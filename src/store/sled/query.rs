//! Walking events by arrival time for the admin API, newest first, through the `received` index.
//!
//! The index holds `(received_at, event key)` for every known event and is written in the
//! accept transaction, so a listing never misses an acknowledged event and needs no sort. A walk
//! reads each record it passes (for the state filter) and examines at most [`SCAN_BUDGET`] index
//! entries per call, so one request's work stays bounded whatever the filter: a selective filter
//! may return a short (even empty) page whose cursor still leads on.

use super::trees::{decode, Trees};
use super::SledStore;
use crate::store::keys::{split_timed_key, timed_key};
use crate::store::{Cursor, EventFilter, EventRecord, Page, StoreError, SCAN_BUDGET};

impl SledStore {
    /// Up to `limit` (≥ 1) events matching `filter`, newest first, continuing after `after`.
    pub fn list(
        &self,
        filter: &EventFilter,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, StoreError> {
        let limit = limit.max(1);
        let mut items = Vec::new();
        let backend = self.backend()?;
        let next = backend.trees.walk(filter, after, SCAN_BUDGET, |record| {
            let take = items.len() < limit;
            if take {
                items.push(record);
            }
            Ok(take)
        })?;
        Ok(Page { items, next })
    }
}

impl Trees {
    /// Calls `visit` with each event matching `filter`, newest first, after `after`. `visit`
    /// returns `false` to stop *before* that event. Returns the cursor to resume from, or `None`
    /// when no entry is left. Entries past the first `budget` wait for the next call.
    pub(super) fn walk(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        budget: usize,
        mut visit: impl FnMut(EventRecord) -> Result<bool, StoreError>,
    ) -> Result<Option<Cursor>, StoreError> {
        let lower = filter.since.unwrap_or(0).to_be_bytes().to_vec();
        let upper = match (filter.until.map(|t| t.to_be_bytes().to_vec()), after) {
            (Some(until), Some(cursor)) => Some(until.min(cursor.index_key().to_vec())),
            (Some(until), None) => Some(until),
            (None, Some(cursor)) => Some(cursor.index_key().to_vec()),
            (None, None) => None,
        };
        if upper.as_ref().is_some_and(|u| *u <= lower) {
            return Ok(None);
        }
        let entries = match upper {
            Some(upper) => self.received.range(lower..upper),
            None => self.received.range(lower..),
        };
        let mut last: Option<Vec<u8>> = None;
        for (examined, entry) in entries.rev().enumerate() {
            let (index_key, _) = entry?;
            // Stopping before anything was handled resumes where this call began.
            let resume = || {
                last.clone()
                    .map(Cursor::from_index_key)
                    .or_else(|| after.cloned())
            };
            if examined == budget.max(1) {
                return Ok(resume());
            }
            if let Some(record) = self.matching(filter, &index_key)? {
                if !visit(record)? {
                    return Ok(resume());
                }
            }
            last = Some(index_key.to_vec());
        }
        Ok(None)
    }

    /// The record an index entry points to, if it passes `filter`.
    fn matching(
        &self,
        filter: &EventFilter,
        index_key: &[u8],
    ) -> Result<Option<EventRecord>, StoreError> {
        let Some((_, key)) = split_timed_key(index_key) else {
            return Ok(None);
        };
        if filter
            .source
            .as_deref()
            .is_some_and(|s| !is_of_source(key, s))
        {
            return Ok(None);
        }
        // `None` when the event was forgotten between the index read and this one.
        let record = self.get(key)?;
        Ok(record.filter(|r| filter.state.is_none_or(|s| s == r.state)))
    }
}

/// Whether `event_key` (`[len] source id`) belongs to `source`, without decoding the record.
fn is_of_source(event_key: &[u8], source: &str) -> bool {
    event_key
        .split_first()
        .and_then(|(&len, rest)| rest.get(..usize::from(len)))
        .is_some_and(|s| s == source.as_bytes())
}

impl Trees {
    /// Builds the `received` index of a database written before it existed, in one atomic
    /// batch so an interrupted start-up simply does it again. Returns the entries added.
    pub(super) fn backfill_received(&self) -> Result<usize, StoreError> {
        if !self.received.is_empty() || self.events.is_empty() {
            return Ok(0);
        }
        let mut batch = ::sled::Batch::default();
        let mut added = 0;
        for entry in self.events.iter() {
            let (key, raw) = entry?;
            let record = decode(&raw)?;
            batch.insert(timed_key(record.received_at, &key), &[][..]);
            added += 1;
        }
        self.received.apply_batch(batch)?;
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::event_key;

    #[test]
    fn source_match_uses_the_length_prefix() {
        assert!(is_of_source(&event_key("ab", "c"), "ab"));
        assert!(!is_of_source(&event_key("ab", "c"), "a"));
        assert!(!is_of_source(&event_key("a", "bc"), "ab"));
        assert!(!is_of_source(&[], "a"));
    }
}

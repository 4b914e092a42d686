//! Walking events by arrival time for the admin API, newest first, through the `received` index.
//!
//! The index holds `(received_at, event key)` for every known event and is written in the
//! accept transaction, so a listing never misses an acknowledged event and needs no sort. A walk
//! reads each record it passes (for the state filter) and examines at most [`SCAN_BUDGET`] index
//! entries per call, so one request's work stays bounded whatever the filter: a selective filter
//! may return a short (even empty) page whose cursor still leads on.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::keys::{event_key, split_timed_key, timed_key};
use super::record::{EventRecord, State};
use super::sled::{decode, Trees};
use super::{Store, StoreError};

/// Most index entries one listing or bulk-requeue call examines.
pub const SCAN_BUDGET: usize = 10_000;

/// Which events a listing or bulk requeue covers; `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this source.
    pub source: Option<String>,
    /// Only events in this state.
    pub state: Option<State>,
    /// Only events received at or after this time (unix ms).
    pub since: Option<u64>,
    /// Only events received before this time (unix ms).
    pub until: Option<u64>,
}

/// A position in a walk: the last index entry handled. Opaque to clients (URL-safe base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(Vec<u8>);

impl Cursor {
    /// Decodes a cursor previously produced by [`Cursor::encode`]; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Cursor> {
        let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
        let (_, event_key) = split_timed_key(&raw)?;
        let (&source_len, rest) = event_key.split_first()?;
        (rest.len() >= usize::from(source_len)).then_some(Cursor(raw))
    }

    /// The cursor as URL-safe text.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    /// The cursor just past the event `(received_at, source, id)` in newest-first order
    /// (for backends that do not walk the sled index, so one cursor format serves all).
    pub fn after_event(received_at: u64, source: &str, id: &str) -> Cursor {
        Cursor(timed_key(received_at, &event_key(source, id)))
    }

    /// The `(received_at, source, id)` this cursor points at.
    pub fn position(&self) -> Option<(u64, String, String)> {
        let (at, key) = split_timed_key(&self.0)?;
        let (&len, rest) = key.split_first()?;
        let (source, id) = rest.split_at_checked(usize::from(len))?;
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
        Some((at, text(source)?, text(id)?))
    }
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page {
    /// Matching events, newest first.
    pub items: Vec<EventRecord>,
    /// Where the next page starts; `None` once the walk reached its end.
    pub next: Option<Cursor>,
}

impl Store {
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
            (Some(until), Some(cursor)) => Some(until.min(cursor.0.clone())),
            (Some(until), None) => Some(until),
            (None, Some(cursor)) => Some(cursor.0.clone()),
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
            let resume = || last.clone().map(Cursor).or_else(|| after.cloned());
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
        Ok(record.filter(|r| filter.state.map_or(true, |s| s == r.state)))
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

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor(timed_key(42, &event_key("stripe", "evt_1")));
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor.clone()));
        assert_eq!(cursor, Cursor::after_event(42, "stripe", "evt_1"));
        assert_eq!(
            cursor.position(),
            Some((42, "stripe".into(), "evt_1".into()))
        );
        assert_eq!(Cursor::parse("not base64!"), None);
        assert_eq!(Cursor::parse(&URL_SAFE_NO_PAD.encode([0u8; 4])), None);
        let mut short = timed_key(1, &[]);
        short.push(9); // claims a 9-byte source name that is not there
        assert_eq!(Cursor::parse(&URL_SAFE_NO_PAD.encode(short)), None);
    }

    #[test]
    fn source_match_uses_the_length_prefix() {
        assert!(is_of_source(&event_key("ab", "c"), "ab"));
        assert!(!is_of_source(&event_key("ab", "c"), "a"));
        assert!(!is_of_source(&event_key("a", "bc"), "ab"));
        assert!(!is_of_source(&[], "a"));
    }
}

//! Walking events by arrival time for the admin API, newest first, over an embedded backend's
//! `received` index: `(received_at, event key)` for every known event, written in the accept
//! transaction, so a listing never misses an acknowledged event and needs no sort. A walk reads
//! each record it passes (for the state filter) and examines at most a budget of index entries
//! per call, so one request's work stays bounded whatever the filter: a selective filter may
//! return a short (even empty) page whose cursor still leads on.

use super::keys::split_timed_key;
use super::search::SEARCH_BUDGET;
use super::{Cursor, EventFilter, EventRecord, StoreError};

/// The `received` index range a walk covers: `lower..upper` (no upper: to the end), or `None`
/// when it is empty.
pub fn bounds(filter: &EventFilter, after: Option<&Cursor>) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let lower = filter.since.unwrap_or(0).to_be_bytes().to_vec();
    let upper = match (filter.until.map(|t| t.to_be_bytes().to_vec()), after) {
        (Some(until), Some(cursor)) => Some(until.min(cursor.index_key().to_vec())),
        (Some(until), None) => Some(until),
        (None, Some(cursor)) => Some(cursor.index_key().to_vec()),
        (None, None) => None,
    };
    if upper.as_ref().is_some_and(|u| *u <= lower) {
        return None;
    }
    Some((lower, upper))
}

/// Calls `visit` with each event matching `filter` among `entries` (index keys of the range
/// [`bounds`] gave, newest first), reading records with `get` and, when `filter` searches
/// bodies, bodies with `body` (by index key: the bodies table's key). `visit` returns `false`
/// to stop *before* that event. Returns the cursor to resume from, or `None` when no entry is
/// left. Entries past the first `budget` ([`SEARCH_BUDGET`] at most for a body search) wait
/// for the next call.
pub fn walk<B: AsRef<[u8]>>(
    entries: impl Iterator<Item = Result<Vec<u8>, StoreError>>,
    get: impl Fn(&[u8]) -> Result<Option<EventRecord>, StoreError>,
    body: impl Fn(&[u8]) -> Result<Option<B>, StoreError>,
    filter: &EventFilter,
    after: Option<&Cursor>,
    budget: usize,
    mut visit: impl FnMut(EventRecord) -> Result<bool, StoreError>,
) -> Result<Option<Cursor>, StoreError> {
    let mut last: Option<Vec<u8>> = None;
    let budget = match filter.body.is_empty() {
        true => budget,
        false => budget.min(SEARCH_BUDGET),
    };
    for (examined, entry) in entries.enumerate() {
        let index_key = entry?;
        // Stopping before anything was handled resumes where this call began.
        let resume = || {
            last.clone()
                .map(Cursor::from_index_key)
                .or_else(|| after.cloned())
        };
        if examined == budget.max(1) {
            return Ok(resume());
        }
        let found = matching(&get, filter, &index_key)?;
        let found = match found {
            Some(record) if !filter.body.is_empty() => {
                // A purged body is not there to search.
                let kept = (!record.body_purged)
                    .then(|| body(&index_key))
                    .transpose()?;
                let said = kept
                    .flatten()
                    .is_some_and(|b| filter.body.matches(b.as_ref()));
                said.then_some(record)
            }
            found => found,
        };
        if let Some(record) = found {
            if !visit(record)? {
                return Ok(resume());
            }
        }
        last = Some(index_key);
    }
    Ok(None)
}

/// The record an index entry points to, if it passes `filter`.
fn matching(
    get: &impl Fn(&[u8]) -> Result<Option<EventRecord>, StoreError>,
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
    let record = get(key)?;
    Ok(record.filter(|r| filter.matches(r)))
}

/// Whether `event_key` (`[len] stream id`) belongs to `source` or one of its routes, without
/// decoding the record.
fn is_of_source(event_key: &[u8], source: &str) -> bool {
    event_key
        .split_first()
        .and_then(|(&len, rest)| rest.get(..usize::from(len)))
        .is_some_and(|s| crate::event::is_of_source(s, source))
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
        assert!(is_of_source(&event_key("ab:r", "c"), "ab"));
        assert!(!is_of_source(&event_key("abc:r", "c"), "ab"));
    }
}

//! Exact counters for the embedded backends, kept in the same write transaction as every record
//! change, so counts and the console's summary read a few keys instead of walking the records.
//!
//! Each record *contributes* +1 to a handful of counters, all derived from the record alone
//! (see [`contributions`]): its stream's state slot, its arrival's 5-minute bucket, its end's
//! bucket (succeeded or dead), and, while unfinished, its arrival millisecond. A change adds the
//! new record's contributions and takes away the old one's ([`Deltas::change`]); a counter that
//! reaches zero is deleted, so bucket keys die with the records they count. The newest arrival
//! per stream is a maximum, not a count: it is kept after retention forgets that event.
//!
//! Keys: `[kind] [len(stream)] stream [payload]`, so one kind's keys of one stream are a range:
//! - `c` + state slot (one byte, [`StateCounts`] order): events per state
//! - `a`/`s`/`d`/`k` + bucket start (u64 BE): accepted (by arrival), succeeded and dead (by
//!   their end), skipped (by arrival)
//! - `u` + received_at (u64 BE): unfinished events received that millisecond (the first is
//!   the oldest queued)
//! - `l`: the newest arrival
//!
//! Values are u64 big-endian. [`BUILT`] marks a database whose counters exist (an older one
//! gets them once, from a full scan, when it is opened).

use std::collections::BTreeMap;

use super::keys::event_key;
pub use super::stats::{StreamTally, Tallies, BUCKET_MS};
use super::{EventRecord, State, StoreError};

/// Key marking a database whose counters were built (no kind starts with `#`).
pub const BUILT: &[u8] = b"#built";

const STATE: u8 = b'c';
const ACCEPTED: u8 = b'a';
const SUCCEEDED: u8 = b's';
const DEAD: u8 = b'd';
const SKIPPED: u8 = b'k';
const UNFINISHED: u8 = b'u';
const LAST: u8 = b'l';

fn key(kind: u8, stream: &str, payload: &[u8]) -> Vec<u8> {
    let mut key = vec![kind];
    key.extend_from_slice(&event_key(stream, ""));
    key.extend_from_slice(payload);
    key
}

fn bucket(at: u64) -> [u8; 8] {
    (at - at % BUCKET_MS).to_be_bytes()
}

/// The state slot of `r`, in [`StateCounts`] order.
fn slot(r: &EventRecord) -> u8 {
    match r.state {
        State::Queued => 0,
        State::Processing => 1,
        State::Succeeded => 2,
        State::Dead if r.is_discarded() => 4,
        State::Dead => 3,
        State::Skipped => 5,
    }
}

/// The counters `r` adds one to while it is stored.
fn contributions(r: &EventRecord) -> Vec<Vec<u8>> {
    let stream = r.source.as_str();
    let mut out = vec![
        key(STATE, stream, &[slot(r)]),
        key(ACCEPTED, stream, &bucket(r.received_at)),
    ];
    match (r.state, r.finished_at) {
        (State::Succeeded, Some(at)) => out.push(key(SUCCEEDED, stream, &bucket(at))),
        (State::Dead, Some(at)) => out.push(key(DEAD, stream, &bucket(at))),
        (State::Skipped, _) => out.push(key(SKIPPED, stream, &bucket(r.received_at))),
        _ => {}
    }
    if !r.state.is_final() {
        out.push(key(UNFINISHED, stream, &r.received_at.to_be_bytes()));
    }
    out
}

/// Counter changes gathered over one transaction, written once at its end.
#[derive(Debug, Default)]
pub struct Deltas {
    adds: BTreeMap<Vec<u8>, i64>,
    newest: BTreeMap<Vec<u8>, u64>,
}

/// One counter's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add this (possibly negative) amount.
    Add(i64),
    /// Raise to at least this value.
    Max(u64),
}

impl Deltas {
    /// Counts a record newly stored.
    pub fn insert(&mut self, r: &EventRecord) {
        self.bump(r, 1);
        let newest = self.newest.entry(key(LAST, &r.source, &[])).or_default();
        *newest = (*newest).max(r.received_at);
    }

    /// Uncounts a record removed.
    pub fn remove(&mut self, r: &EventRecord) {
        self.bump(r, -1);
    }

    /// Moves the counts of a record changed from `before` to `after`.
    pub fn change(&mut self, before: &EventRecord, after: &EventRecord) {
        self.bump(before, -1);
        self.bump(after, 1);
    }

    fn bump(&mut self, r: &EventRecord, by: i64) {
        for key in contributions(r) {
            *self.adds.entry(key).or_default() += by;
        }
    }

    /// The changes to write (those that cancelled out are left out), emptying `self`.
    pub fn take(&mut self) -> Vec<(Vec<u8>, Change)> {
        let adds = std::mem::take(&mut self.adds);
        let newest = std::mem::take(&mut self.newest);
        adds.into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|(k, n)| (k, Change::Add(n)))
            .chain(newest.into_iter().map(|(k, t)| (k, Change::Max(t))))
            .collect()
    }
}

/// A stored counter value.
pub fn decode(raw: &[u8]) -> u64 {
    raw.try_into().map_or(0, u64::from_be_bytes)
}

/// The value to store after `change` to a counter holding `old`; `None` deletes it (a count
/// down to zero).
pub fn apply(old: Option<&[u8]>, change: Change) -> Option<[u8; 8]> {
    let old = old.map_or(0, decode);
    let new = match change {
        Change::Max(t) => return Some(old.max(t).to_be_bytes()),
        Change::Add(n) => {
            let new = i128::from(old) + i128::from(n);
            if new < 0 {
                tracing::error!("an event counter went below zero; kept at zero");
            }
            u64::try_from(new.max(0)).unwrap_or(u64::MAX)
        }
    };
    (new != 0).then(|| new.to_be_bytes())
}

/// A backend's counter reads: `(key, value)` in `lower..upper` in key order, at most `limit`.
pub type RangeRead<'a> =
    dyn FnMut(&[u8], &[u8], usize) -> Result<Vec<(Vec<u8>, u64)>, StoreError> + 'a;

/// The stream a counter key names, and the rest of the key.
fn split(raw: &[u8]) -> Option<(&str, &[u8])> {
    let (&len, rest) = raw.get(1..)?.split_first()?;
    let (stream, payload) = rest.split_at_checked(usize::from(len))?;
    Some((std::str::from_utf8(stream).ok()?, payload))
}

fn u64_of(payload: &[u8]) -> Option<u64> {
    payload.try_into().ok().map(u64::from_be_bytes)
}

/// Reads every stream's tally through `range` (all within one read transaction), with the
/// buckets of `window` (`from..to`, unix ms) when given.
pub fn read(range: &mut RangeRead<'_>, window: Option<(u64, u64)>) -> Result<Tallies, StoreError> {
    let mut tallies = Tallies::new();
    for (raw, n) in range(&[STATE], &[STATE + 1], usize::MAX)? {
        let Some((stream, &[slot])) = split(&raw) else {
            continue;
        };
        let c = &mut tallies.entry(stream.to_owned()).or_default().counts;
        match slot {
            0 => c.queued = n,
            1 => c.processing = n,
            2 => c.succeeded = n,
            3 => c.dead = n,
            4 => c.discarded = n,
            _ => c.skipped = n,
        }
    }
    for (raw, at) in range(&[LAST], &[LAST + 1], usize::MAX)? {
        if let Some((stream, _)) = split(&raw) {
            tallies.entry(stream.to_owned()).or_default().last_event_at = Some(at);
        }
    }
    for (stream, tally) in &mut tallies {
        let from = key(UNFINISHED, stream, &[]);
        let to = key(UNFINISHED, stream, &[0xff; 9]);
        let first = range(&from, &to, 1)?.into_iter().next();
        tally.oldest_unfinished_at = first.and_then(|(raw, _)| u64_of(split(&raw)?.1));
        let Some((start, end)) = window else {
            continue;
        };
        for kind in [ACCEPTED, SUCCEEDED, DEAD, SKIPPED] {
            let (from, to) = (
                key(kind, stream, &bucket(start)),
                key(kind, stream, &bucket(end)),
            );
            for (raw, n) in range(&from, &to, usize::MAX)? {
                let Some(at) = split(&raw).and_then(|(_, p)| u64_of(p)) else {
                    continue;
                };
                let b = tally.buckets.entry(at).or_default();
                b.start = at;
                match kind {
                    ACCEPTED => b.accepted = n,
                    SUCCEEDED => b.succeeded = n,
                    DEAD => b.dead = n,
                    _ => b.skipped = n,
                }
            }
        }
    }
    Ok(tallies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewEvent, Next};

    fn record(stream: &str, at: u64) -> EventRecord {
        EventRecord::queued(&NewEvent {
            source: stream.into(),
            id: format!("{at}"),
            received_at: at,
            event_type: None,
            headers: vec![],
            body: bytes::Bytes::new(),
            ordering: None,
        })
    }

    /// An in-memory counter table, written and read the way the backends do.
    fn write(table: &mut BTreeMap<Vec<u8>, Vec<u8>>, deltas: &mut Deltas) {
        for (k, change) in deltas.take() {
            match apply(table.get(&k).map(Vec::as_slice), change) {
                Some(v) => table.insert(k, v.to_vec()),
                None => table.remove(&k),
            };
        }
    }

    fn tallies(table: &BTreeMap<Vec<u8>, Vec<u8>>, window: Option<(u64, u64)>) -> Tallies {
        let mut range = |lo: &[u8], hi: &[u8], limit: usize| {
            Ok(table
                .range(lo.to_vec()..hi.to_vec())
                .take(limit)
                .map(|(k, v)| (k.clone(), decode(v)))
                .collect())
        };
        read(&mut range, window).expect("read")
    }

    #[test]
    fn a_life_moves_its_counts_and_leaves_no_keys_once_forgotten() {
        let mut table = BTreeMap::new();
        let mut d = Deltas::default();
        let queued = record("a:r", BUCKET_MS + 7);
        d.insert(&queued);
        write(&mut table, &mut d);
        let t = tallies(&table, Some((0, 3 * BUCKET_MS)));
        assert_eq!(t["a:r"].counts.queued, 1);
        assert_eq!(t["a:r"].oldest_unfinished_at, Some(BUCKET_MS + 7));
        assert_eq!(t["a:r"].last_event_at, Some(BUCKET_MS + 7));
        assert_eq!(t["a:r"].buckets[&BUCKET_MS].accepted, 1);

        let mut done = queued.clone();
        done.finish(2 * BUCKET_MS + 1, Next::Dead("x".into()));
        d.change(&queued, &done);
        write(&mut table, &mut d);
        let t = tallies(&table, Some((0, 3 * BUCKET_MS)));
        assert_eq!((t["a:r"].counts.queued, t["a:r"].counts.dead), (0, 1));
        assert_eq!(t["a:r"].oldest_unfinished_at, None);
        assert_eq!(t["a:r"].buckets[&(2 * BUCKET_MS)].dead, 1);

        d.remove(&done);
        write(&mut table, &mut d);
        assert_eq!(table.len(), 1, "only the newest arrival stays: {table:?}");
    }

    #[test]
    fn a_window_reads_only_its_buckets() {
        let mut table = BTreeMap::new();
        let mut d = Deltas::default();
        d.insert(&record("s", 10));
        d.insert(&record("s", 5 * BUCKET_MS));
        write(&mut table, &mut d);
        let t = tallies(&table, Some((BUCKET_MS, 6 * BUCKET_MS)));
        let starts: Vec<u64> = t["s"].buckets.keys().copied().collect();
        assert_eq!(starts, [5 * BUCKET_MS]);
        assert_eq!(t["s"].counts.queued, 2);
        assert_eq!(t["s"].oldest_unfinished_at, Some(10));
    }
}

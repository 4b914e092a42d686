//! Reads, each in its own read transaction: they never wait for the writer (redb's readers see
//! the last committed state while a write is under way).

use bytes::Bytes;
use redb::{Database, ReadOnlyTable, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::tables::{BODIES, COUNTERS, DUE, EVENTS, EXPIRY, ORDERED, PROCESSING, RECEIVED};
use crate::store::counters::{self, Tallies};
use crate::store::keys::{
    distinct_streams, event_key, ordered_prefix, split_ordered_key, split_timed_key, timed_key,
};
use crate::store::{walk, Cursor, EventFilter, EventRecord, Line, StoreError};

type Raw = ReadOnlyTable<&'static [u8], &'static [u8]>;

fn table(
    db: &Database,
    def: redb::TableDefinition<'static, &'static [u8], &'static [u8]>,
) -> Result<Raw, StoreError> {
    let txn = db.begin_read().map_err(super::storage_error)?;
    txn.open_table(def).map_err(super::storage_error)
}

/// The record at `key`.
pub fn record(events: &Raw, key: &[u8]) -> Result<Option<EventRecord>, StoreError> {
    match events.get(key).map_err(super::storage_error)? {
        Some(raw) => EventRecord::decode(raw.value()).map(Some),
        None => Ok(None),
    }
}

/// The record at `key`.
pub fn get(db: &Database, key: &[u8]) -> Result<Option<EventRecord>, StoreError> {
    record(&table(db, EVENTS)?, key)
}

/// The body of the event at `key`, received at `received_at` (absent once purged).
pub fn body(db: &Database, key: &[u8], received_at: u64) -> Result<Option<Bytes>, StoreError> {
    let bodies = table(db, BODIES)?;
    let found = bodies
        .get(timed_key(received_at, key).as_slice())
        .map_err(super::storage_error)?;
    Ok(found.map(|raw| Bytes::copy_from_slice(raw.value())))
}

/// The bodies of several events, `(event key, received_at)` each, in one read transaction.
pub fn bodies(db: &Database, events: &[(Vec<u8>, u64)]) -> Result<Vec<Option<Bytes>>, StoreError> {
    let bodies = table(db, BODIES)?;
    events
        .iter()
        .map(|(key, received_at)| {
            let found = bodies
                .get(timed_key(*received_at, key).as_slice())
                .map_err(super::storage_error)?;
            Ok(found.map(|raw| Bytes::copy_from_slice(raw.value())))
        })
        .collect()
}

/// Number of events stored (records, tombstones included).
pub fn count_events(db: &Database) -> Result<u64, StoreError> {
    table(db, EVENTS)?.len().map_err(super::storage_error)
}

/// Every stream's tally from the counters, in one read transaction (see [`counters::read`]).
pub fn tallies(db: &Database, window: Option<(u64, u64)>) -> Result<Tallies, StoreError> {
    let table = table(db, COUNTERS)?;
    let mut range = |lower: &[u8], upper: &[u8], limit: usize| {
        let mut out = Vec::new();
        let entries = table.range::<&[u8]>(lower..upper);
        for entry in entries.map_err(super::storage_error)?.take(limit) {
            let (k, v) = entry.map_err(super::storage_error)?;
            out.push((k.value().to_vec(), counters::decode(v.value())));
        }
        Ok(out)
    };
    counters::read(&mut range, window)
}

/// The stream names that hold events (see [`distinct_streams`]).
pub fn streams(db: &Database) -> Result<Vec<String>, StoreError> {
    let events = table(db, EVENTS)?;
    distinct_streams(|from| {
        let mut range = events
            .range::<&[u8]>(from..)
            .map_err(super::storage_error)?;
        match range.next() {
            Some(entry) => Ok(Some(
                entry.map_err(super::storage_error)?.0.value().to_vec(),
            )),
            None => Ok(None),
        }
    })
}

/// Time of the earliest `due` entry.
pub fn next_due(db: &Database) -> Result<Option<u64>, StoreError> {
    let due = table(db, DUE)?;
    let first = due.first().map_err(super::storage_error)?;
    Ok(first.and_then(|(k, _)| split_timed_key(k.value()).map(|(at, _)| at)))
}

/// An index entry: (time, event key, the record when it was read).
pub type DueEntry = (u64, Vec<u8>, Option<EventRecord>);

/// Up to `limit` entries of `due` (or `expiry`) at or before `now`, oldest first, with their
/// records (`None` when the entry's record is gone).
pub fn due_until(
    db: &Database,
    expiry: bool,
    now: u64,
    limit: usize,
) -> Result<Vec<DueEntry>, StoreError> {
    let txn = db.begin_read().map_err(super::storage_error)?;
    let index = txn
        .open_table(if expiry { EXPIRY } else { DUE })
        .map_err(super::storage_error)?;
    let events = txn.open_table(EVENTS).map_err(super::storage_error)?;
    let end = now.saturating_add(1).to_be_bytes();
    let mut out = Vec::new();
    for entry in index
        .range::<&[u8]>(..&end[..])
        .map_err(super::storage_error)?
        .take(limit)
    {
        let (k, _) = entry.map_err(super::storage_error)?;
        if let Some((at, key)) = split_timed_key(k.value()) {
            let found = if expiry { None } else { record(&events, key)? };
            out.push((at, key.to_vec(), found));
        }
    }
    Ok(out)
}

/// Every `due` entry of a `processing` record: (lease expiry, event key).
pub fn leases(db: &Database) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    for entry in table(db, DUE)?.iter().map_err(super::storage_error)? {
        let (k, v) = entry.map_err(super::storage_error)?;
        if v.value() == PROCESSING {
            out.extend(split_timed_key(k.value()).map(|(at, key)| (at, key.to_vec())));
        }
    }
    Ok(out)
}

/// Walks the `received` index newest first (see [`walk::walk`]).
pub fn walk(
    db: &Database,
    filter: &EventFilter,
    after: Option<&Cursor>,
    budget: usize,
    visit: impl FnMut(EventRecord) -> Result<bool, StoreError>,
) -> Result<Option<Cursor>, StoreError> {
    let Some((lower, upper)) = walk::bounds(filter, after) else {
        return Ok(None);
    };
    let txn = db.begin_read().map_err(super::storage_error)?;
    let received = txn.open_table(RECEIVED).map_err(super::storage_error)?;
    let events = txn.open_table(EVENTS).map_err(super::storage_error)?;
    let bodies = txn.open_table(BODIES).map_err(super::storage_error)?;
    let range = match &upper {
        Some(upper) => received.range::<&[u8]>(lower.as_slice()..upper.as_slice()),
        None => received.range::<&[u8]>(lower.as_slice()..),
    }
    .map_err(super::storage_error)?;
    let keys = range.rev().map(|entry| {
        entry
            .map(|(k, _)| k.value().to_vec())
            .map_err(super::storage_error)
    });
    walk::walk(
        keys,
        |key| record(&events, key),
        // A body is keyed like its `received` entry.
        |index_key| {
            let found = bodies.get(index_key).map_err(super::storage_error)?;
            Ok(found.map(|raw| raw.value().to_vec()))
        },
        filter,
        after,
        budget,
        visit,
    )
}

/// Up to `limit` records after the event key `after`, in key order, with their bodies.
pub fn export_page(
    db: &Database,
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<(EventRecord, Option<Bytes>)>, StoreError> {
    use std::ops::Bound;
    let txn = db.begin_read().map_err(super::storage_error)?;
    let events = txn.open_table(EVENTS).map_err(super::storage_error)?;
    let bodies = txn.open_table(BODIES).map_err(super::storage_error)?;
    let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
    let range = events
        .range::<&[u8]>((lower, Bound::Unbounded))
        .map_err(super::storage_error)?;
    let mut out = Vec::new();
    for entry in range.take(limit) {
        let (key, raw) = entry.map_err(super::storage_error)?;
        let record = EventRecord::decode(raw.value())?;
        let body = bodies
            .get(timed_key(record.received_at, key.value()).as_slice())
            .map_err(super::storage_error)?
            .map(|b| Bytes::copy_from_slice(b.value()));
        out.push((record, body));
    }
    Ok(out)
}

/// Walks the `ordered` lines of `source` (every source when `None`), first line first: each
/// line's head and, with `count_behind`, how many wait behind it. Reads at most `budget`
/// entries; the flag says the walk stopped there.
pub fn lines(
    db: &Database,
    source: Option<&str>,
    count_behind: bool,
    budget: usize,
) -> Result<(Vec<Line>, bool), StoreError> {
    use std::ops::Bound;
    let txn = db.begin_read().map_err(super::storage_error)?;
    let ordered = txn.open_table(ORDERED).map_err(super::storage_error)?;
    let events = txn.open_table(EVENTS).map_err(super::storage_error)?;
    let scope = source.map(|s| event_key(s, "")).unwrap_or_default();
    let mut lower = Bound::Included(scope.clone());
    let (mut out, mut read) = (Vec::new(), 0);
    loop {
        let mut range = ordered
            .range::<&[u8]>((lower.as_ref().map(Vec::as_slice), Bound::Unbounded))
            .map_err(super::storage_error)?;
        let Some(first) = range.next() else {
            return Ok((out, false));
        };
        if read >= budget {
            return Ok((out, true));
        }
        let (k, v) = first.map_err(super::storage_error)?;
        read += 1;
        let raw = k.value();
        let Some((src, key, _)) = split_ordered_key(raw).filter(|_| raw.starts_with(&scope)) else {
            return Ok((out, false));
        };
        let prefix = ordered_prefix(src, key);
        let mut behind = 0;
        if count_behind {
            for entry in range {
                let (k, _) = entry.map_err(super::storage_error)?;
                if !k.value().starts_with(&prefix) {
                    break;
                }
                if read >= budget {
                    return Ok((out, true));
                }
                behind += 1;
                read += 1;
            }
        }
        out.push(Line {
            source: src.to_owned(),
            key: key.to_owned(),
            head: record(&events, v.value())?,
            behind,
        });
        let mut past = prefix;
        past.extend_from_slice(&[0xff; 8]);
        lower = Bound::Excluded(past);
    }
}

/// The head of the line of ordering key `key` of `source`.
pub fn head(db: &Database, source: &str, key: &str) -> Result<Option<EventRecord>, StoreError> {
    let txn = db.begin_read().map_err(super::storage_error)?;
    let ordered = txn.open_table(ORDERED).map_err(super::storage_error)?;
    let events = txn.open_table(EVENTS).map_err(super::storage_error)?;
    let prefix = ordered_prefix(source, key);
    let mut range = ordered
        .range::<&[u8]>(prefix.as_slice()..)
        .map_err(super::storage_error)?;
    match range.next() {
        Some(entry) => {
            let (k, v) = entry.map_err(super::storage_error)?;
            if k.value().starts_with(&prefix) {
                record(&events, v.value())
            } else {
                Ok(None)
            }
        }
        None => Ok(None),
    }
}

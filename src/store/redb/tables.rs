//! The redb tables and the record transitions written inside one write transaction.
//!
//! - `events`: event key → JSON [`EventRecord`] (no body)
//! - `bodies`: (received_at, event key) → raw body, in a table of its own so state changes
//!   never rewrite it; time-ordered, so a new body is appended at the end of the tree
//! - `due`: (time, event key) → `b"p"` when `processing`, empty when `queued`
//! - `expiry`: (time, event key) → () for succeeded events: when their body is purged, then
//!   when they are forgotten
//! - `received`: (received_at, event key) → () for every known event: the admin listing's order
//! - `ordered`: (source, ordering key, sequence) → event key for every unfinished event of an
//!   ordering key (and a dead one under `on_dead = "block"`), in acceptance order; only the
//!   first of each key is ever in `due` (see `ordered`)
//! - `meta`: the readiness probe and the `ordered` sequence
//! - `audit`: audit record id → JSON [`crate::store::AuditRecord`] (see `audit`)
//! - `counters`: the exact counters (see [`crate::store::counters`]); every record change below
//!   adds to the transaction's [`Deltas`], written once before it commits

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};

use crate::store::counters::{self, Deltas};
use crate::store::keys::{event_key, timed_key};
use crate::store::stream::{dedupe_streams, route_records};
use crate::store::{Accepted, EventRecord, NewEvent, Retention, RouteDelivery, State, StoreError};

type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;
pub const EVENTS: Def = TableDefinition::new("events");
pub const BODIES: Def = TableDefinition::new("bodies");
pub const DUE: Def = TableDefinition::new("due");
pub const EXPIRY: Def = TableDefinition::new("expiry");
pub const RECEIVED: Def = TableDefinition::new("received");
pub const META: Def = TableDefinition::new("meta");
pub const ORDERED: Def = TableDefinition::new("ordered");
pub const AUDIT: Def = TableDefinition::new("audit");
pub const COUNTERS: Def = TableDefinition::new("counters");

/// Value of a `due` entry whose record is `processing`, so start-up recovery finds leases
/// without decoding every queued record.
pub const PROCESSING: &[u8] = b"p";
const NONE: &[u8] = &[];

/// The tables of one write transaction.
pub struct Tables<'txn> {
    pub(super) events: Table<'txn, &'static [u8], &'static [u8]>,
    bodies: Table<'txn, &'static [u8], &'static [u8]>,
    pub(super) due: Table<'txn, &'static [u8], &'static [u8]>,
    expiry: Table<'txn, &'static [u8], &'static [u8]>,
    received: Table<'txn, &'static [u8], &'static [u8]>,
    pub(super) meta: Table<'txn, &'static [u8], &'static [u8]>,
    pub(super) ordered: Table<'txn, &'static [u8], &'static [u8]>,
    pub(super) audit: Table<'txn, &'static [u8], &'static [u8]>,
    counters: Table<'txn, &'static [u8], &'static [u8]>,
    deltas: Deltas,
    retention: Retention,
}

impl<'txn> Tables<'txn> {
    /// Opens (creating where needed) every table in `txn`.
    pub fn open(txn: &'txn WriteTransaction, retention: Retention) -> Result<Self, redb::Error> {
        Ok(Tables {
            events: txn.open_table(EVENTS)?,
            bodies: txn.open_table(BODIES)?,
            due: txn.open_table(DUE)?,
            expiry: txn.open_table(EXPIRY)?,
            received: txn.open_table(RECEIVED)?,
            meta: txn.open_table(META)?,
            ordered: txn.open_table(ORDERED)?,
            audit: txn.open_table(AUDIT)?,
            counters: txn.open_table(COUNTERS)?,
            deltas: Deltas::default(),
            retention,
        })
    }

    /// Writes the counter changes of this transaction's record changes; called once, before it
    /// commits.
    pub fn write_counters(&mut self) -> Result<(), redb::Error> {
        for (key, change) in self.deltas.take() {
            let old = self
                .counters
                .get(key.as_slice())?
                .map(|v| v.value().to_vec());
            match counters::apply(old.as_deref(), change) {
                Some(new) => self.counters.insert(key.as_slice(), &new[..])?,
                None => self.counters.remove(key.as_slice())?,
            };
        }
        Ok(())
    }

    /// Builds the counters from every record, once, in a database from before them; returns
    /// how many records it read (`None` when they exist).
    pub fn build_counters(&mut self) -> Result<Option<u64>, redb::Error> {
        if self.counters.get(counters::BUILT)?.is_some() {
            return Ok(None);
        }
        let mut read = 0;
        for entry in self.events.iter()? {
            let (_, raw) = entry?;
            match EventRecord::decode(raw.value()) {
                Ok(record) => self.deltas.insert(&record),
                Err(e) => {
                    tracing::error!(error = %e, "a stored record does not decode; not counted")
                }
            }
            read += 1;
        }
        self.counters.insert(counters::BUILT, &[1u8][..])?;
        self.write_counters()?;
        Ok(Some(read))
    }

    /// The record at `key`, as this transaction sees it.
    pub fn get(&self, key: &[u8]) -> Result<Result<Option<EventRecord>, StoreError>, redb::Error> {
        Ok(match self.events.get(key)? {
            Some(raw) => EventRecord::decode(raw.value()).map(Some),
            None => Ok(None),
        })
    }

    /// Stores `ev` unless its id is known (also within this transaction).
    pub fn accept(&mut self, ev: &NewEvent) -> Result<Result<Accepted, StoreError>, redb::Error> {
        let key = event_key(&ev.source, &ev.id);
        if let Some(existing) = self.events.get(key.as_slice())? {
            return Ok(EventRecord::decode(existing.value()).map(|r| Accepted::Duplicate(r.state)));
        }
        Ok(self.insert_new(&key, ev, false)?.map(|()| Accepted::New))
    }

    /// Stores `ev` once per route in `routes` unless its id is known under any of their streams
    /// or its source's own (see [`crate::store::Store::accept_routed`]).
    pub fn accept_routed(
        &mut self,
        ev: &NewEvent,
        routes: &[RouteDelivery],
    ) -> Result<Result<Accepted, StoreError>, redb::Error> {
        let mut known = Vec::new();
        for stream in dedupe_streams(ev, routes) {
            if let Some(existing) = self.events.get(event_key(stream, &ev.id).as_slice())? {
                match EventRecord::decode(existing.value()) {
                    Ok(record) => known.push(record.state),
                    Err(e) => return Ok(Err(e)),
                }
            }
        }
        if let Some(state) = State::overall(known) {
            return Ok(Ok(Accepted::Duplicate(state)));
        }
        for (one, skipped) in route_records(ev, routes) {
            let key = event_key(&one.source, &one.id);
            if let Err(e) = self.insert_new(&key, &one, skipped)? {
                return Ok(Err(e));
            }
        }
        Ok(Ok(Accepted::New))
    }

    /// Writes the record of a new event at `key` with its index entries, and its body unless
    /// it is a `skipped` route's.
    fn insert_new(
        &mut self,
        key: &[u8],
        ev: &NewEvent,
        skipped: bool,
    ) -> Result<Result<(), StoreError>, redb::Error> {
        let mut record = match skipped {
            true => EventRecord::skipped(ev),
            false => EventRecord::queued(ev),
        };
        self.join_line(key, &mut record)?;
        self.put(key, &record, (!skipped).then_some(ev.body.as_ref()))
    }

    /// Writes `record` at `key`, `body` and the index entries the record calls for.
    fn put(
        &mut self,
        key: &[u8],
        record: &EventRecord,
        body: Option<&[u8]>,
    ) -> Result<Result<(), StoreError>, redb::Error> {
        let encoded = match record.encode() {
            Ok(encoded) => encoded,
            Err(e) => return Ok(Err(e)),
        };
        let timed = timed_key(record.received_at, key);
        self.events.insert(key, encoded.as_slice())?;
        if let Some(body) = body {
            self.bodies.insert(timed.as_slice(), body)?;
        }
        if let Some((at, value)) = due_entry(record) {
            self.due.insert(timed_key(at, key).as_slice(), value)?;
        }
        if let Some(at) = self.retention.expiry_at(record) {
            self.expiry.insert(timed_key(at, key).as_slice(), NONE)?;
        }
        self.received.insert(timed.as_slice(), NONE)?;
        self.deltas.insert(record);
        Ok(Ok(()))
    }

    /// Applies `change` to the record at `key`, moving its `due`, `expiry` and `ordered`
    /// entries to match (a record that leaves its key's line lets the next one be due). `change`
    /// returns `None` to leave the record alone; so does a missing record.
    pub fn update<T>(
        &mut self,
        key: &[u8],
        change: impl FnOnce(&mut EventRecord) -> Option<T>,
    ) -> Result<Result<Option<(EventRecord, T)>, StoreError>, redb::Error> {
        let before = match self.get(key)? {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(Ok(None)),
            Err(e) => return Ok(Err(e)),
        };
        let mut after = before.clone();
        let Some(changed) = change(&mut after) else {
            return Ok(Ok(None));
        };
        let left_line = self.follow_line(key, &before, &mut after)?;
        let encoded = match after.encode() {
            Ok(encoded) => encoded,
            Err(e) => return Ok(Err(e)),
        };
        move_entry(&mut self.due, key, due_entry(&before), due_entry(&after))?;
        let (old, new) = (
            self.retention.expiry_at(&before).map(|t| (t, NONE)),
            self.retention.expiry_at(&after).map(|t| (t, NONE)),
        );
        move_entry(&mut self.expiry, key, old, new)?;
        self.events.insert(key, encoded.as_slice())?;
        self.deltas.change(&before, &after);
        if left_line {
            if let Err(e) = self.promote_next(&after)? {
                return Ok(Err(e));
            }
        }
        Ok(Ok(Some((after, changed))))
    }

    /// Discards the dead event at `key` ([`EventRecord::discard`]) and deletes its body.
    /// `Ok(None)` when the record is missing or refused the change.
    pub fn discard(
        &mut self,
        key: &[u8],
    ) -> Result<Result<Option<EventRecord>, StoreError>, redb::Error> {
        let record = match self.update(key, EventRecord::discard)? {
            Ok(Some((record, ()))) => record,
            other => return Ok(other.map(|_| None)),
        };
        self.bodies
            .remove(timed_key(record.received_at, key).as_slice())?;
        Ok(Ok(Some(record)))
    }

    /// Purges the body of a succeeded event whose expiry entry is `at`, or forgets the event
    /// once its body is gone. Returns whether something was removed.
    pub fn expire(&mut self, at: u64, key: &[u8]) -> Result<Result<bool, StoreError>, redb::Error> {
        self.expiry.remove(timed_key(at, key).as_slice())?;
        let mut record = match self.get(key)? {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(Ok(false)),
            Err(e) => return Ok(Err(e)),
        };
        if self.retention.expiry_at(&record) != Some(at) {
            return Ok(Ok(false)); // requeued or changed since: its own entry governs it
        }
        let timed = timed_key(record.received_at, key);
        self.bodies.remove(timed.as_slice())?;
        if record.body_purged {
            self.events.remove(key)?;
            self.received.remove(timed.as_slice())?;
            self.deltas.remove(&record);
        } else {
            record.body_purged = true;
            let encoded = match record.encode() {
                Ok(encoded) => encoded,
                Err(e) => return Ok(Err(e)),
            };
            if let Some(next) = self.retention.expiry_at(&record) {
                self.expiry.insert(timed_key(next, key).as_slice(), NONE)?;
            }
            self.events.insert(key, encoded.as_slice())?;
        }
        Ok(Ok(true))
    }

    /// Writes the readiness probe.
    pub fn probe(&mut self, now: u64) -> Result<(), redb::Error> {
        self.meta
            .insert(&b"readiness-probe"[..], &now.to_be_bytes()[..])?;
        Ok(())
    }

    /// Puts a record as it is (migration): its body and every index entry it needs. Returns
    /// `false`, writing nothing, when the id is already known.
    pub fn import(
        &mut self,
        record: &EventRecord,
        body: Option<&[u8]>,
    ) -> Result<Result<bool, StoreError>, redb::Error> {
        let key = event_key(&record.source, &record.id);
        if self.events.get(key.as_slice())?.is_some() {
            return Ok(Ok(false));
        }
        if record.in_line() {
            // Its place in the line is not in the record, so it cannot be put back in order.
            return Ok(Err(StoreError::Config(format!(
                "event {}/{} is still in its ordering line; migrating ordered events that have \
                 not finished is not supported: let them finish (or requeue their dead heads) \
                 and run the migration again",
                record.source, record.id
            ))));
        }
        let body = body.filter(|_| !record.body_purged);
        Ok(self.put(&key, record, body)?.map(|()| true))
    }
}

/// The `due` entry (time, value) a record should have.
pub(super) fn due_entry(r: &EventRecord) -> Option<(u64, &'static [u8])> {
    let value = if r.state == State::Processing {
        PROCESSING
    } else {
        NONE
    };
    r.due_at().map(|at| (at, value))
}

fn move_entry(
    table: &mut Table<'_, &'static [u8], &'static [u8]>,
    key: &[u8],
    before: Option<(u64, &[u8])>,
    after: Option<(u64, &[u8])>,
) -> Result<(), redb::Error> {
    if before == after {
        return Ok(());
    }
    if let Some((at, _)) = before {
        table.remove(timed_key(at, key).as_slice())?;
    }
    if let Some((at, value)) = after {
        table.insert(timed_key(at, key).as_slice(), value)?;
    }
    Ok(())
}

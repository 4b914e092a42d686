//! A routed event's records, written in one sled transaction: all of its routes or none.

use sled::Transactional;

use super::counted;
use super::trees::{decode, Trees, NONE};
use crate::store::counters::Deltas;
use crate::store::keys::{event_key, timed_key};
use crate::store::stream::{dedupe_streams, route_records};
use crate::store::{Accepted, EventRecord, NewEvent, RouteDelivery, State, StoreError};

impl Trees {
    /// Stores `ev` once per route in `routes` unless its id is known under any of their
    /// streams or its source's own (see [`crate::store::Store::accept_routed`]).
    pub fn accept_routed(
        &self,
        ev: &NewEvent,
        routes: &[RouteDelivery],
    ) -> Result<Accepted, StoreError> {
        let dedupe: Vec<Vec<u8>> = dedupe_streams(ev, routes)
            .into_iter()
            .map(|stream| event_key(stream, &ev.id))
            .collect();
        let mut records = Vec::with_capacity(routes.len());
        for (one, skipped) in route_records(ev, routes) {
            let record = match skipped {
                true => EventRecord::skipped(&one),
                false => EventRecord::queued(&one),
            };
            let key = event_key(&one.source, &one.id);
            records.push((key, record.encode()?, record));
        }
        let trees = (
            &self.events,
            &self.bodies,
            &self.due,
            &self.expiry,
            &self.received,
            &self.counters,
        );
        let result = trees.transaction(|(events, bodies, due, expiry, received, counts)| {
            let mut known = Vec::new();
            for key in &dedupe {
                if let Some(existing) = events.get(key)? {
                    match decode(&existing) {
                        Ok(record) => known.push(record.state),
                        Err(e) => return Ok(Err(e)),
                    }
                }
            }
            if let Some(state) = State::overall(known) {
                return Ok(Ok(Accepted::Duplicate(state)));
            }
            let mut deltas = Deltas::default();
            for (key, encoded, record) in &records {
                let timed = timed_key(record.received_at, key);
                events.insert(key.as_slice(), encoded.as_slice())?;
                if let Some(at) = record.due_at() {
                    due.insert(timed_key(at, key), NONE)?;
                    bodies.insert(timed.as_slice(), ev.body.as_ref())?;
                }
                if let Some(at) = self.retention.expiry_at(record) {
                    expiry.insert(timed_key(at, key), NONE)?;
                }
                received.insert(timed.as_slice(), NONE)?;
                deltas.insert(record);
            }
            counted::write(counts, &mut deltas)?;
            Ok(Ok(Accepted::New))
        });
        self.settle(result)?
    }
}

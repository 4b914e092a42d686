//! Walking events by arrival time for the admin API, newest first, through the `received` index
//! (see [`walk`](crate::store::walk)).

use super::trees::{decode, Trees};
use super::SledStore;
use crate::store::walk;
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
    /// Calls `visit` with each event matching `filter`, newest first, after `after` (see
    /// [`walk`](crate::store::walk::walk)).
    pub(super) fn walk(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        budget: usize,
        visit: impl FnMut(EventRecord) -> Result<bool, StoreError>,
    ) -> Result<Option<Cursor>, StoreError> {
        let Some((lower, upper)) = walk::bounds(filter, after) else {
            return Ok(None);
        };
        let entries = match upper {
            Some(upper) => self.received.range(lower..upper),
            None => self.received.range(lower..),
        };
        let keys = entries
            .rev()
            .map(|entry| Ok(entry.map(|(k, _)| k.to_vec())?));
        // A body is keyed like its `received` entry.
        let body = |index_key: &[u8]| Ok(self.bodies.get(index_key)?);
        walk::walk(
            keys,
            |key| self.get(key),
            body,
            filter,
            after,
            budget,
            visit,
        )
    }
}

/// Migration out of sled (see `store::migrate`).
impl SledStore {
    /// Up to `limit` events after the event key `after`, in key order, with their bodies.
    pub fn export_page(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<crate::store::migrate::Exported>, StoreError> {
        use std::ops::Bound;
        let trees = &self.backend()?.trees;
        let lower = after.map_or(Bound::Unbounded, |k| Bound::Excluded(k.to_vec()));
        let mut out = Vec::new();
        for entry in trees.events.range((lower, Bound::Unbounded)).take(limit) {
            let (key, raw) = entry?;
            let record = decode(&raw)?;
            let body = trees.body(&key, record.received_at)?;
            out.push((record, body));
        }
        Ok(out)
    }

    /// Events stored (records and tombstones).
    pub fn count(&self) -> Result<u64, StoreError> {
        Ok(self.backend()?.trees.events.len() as u64)
    }

    /// The stream names that hold events.
    pub fn streams(&self) -> Result<Vec<String>, StoreError> {
        let backend = self.backend()?;
        crate::store::keys::distinct_streams(|from| {
            Ok(match backend.trees.events.range(from..).next() {
                Some(entry) => Some(entry?.0.to_vec()),
                None => None,
            })
        })
    }
}

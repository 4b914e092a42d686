//! The exact counters on sled (see [`crate::store::counters`]): building them in a database
//! from before them, and reading them. The transactions that change records write them too
//! (see `counted`).

use super::counted::write_changes;
use super::trees::{decode, Trees};
use crate::store::counters::{self, Deltas, Tallies};
use crate::store::StoreError;

impl Trees {
    /// Builds the counters from every record, once, in a database from before them (at open,
    /// before anything else writes); returns how many records it read (`None` when they exist).
    pub(super) fn build_counters(&self) -> Result<Option<u64>, StoreError> {
        if self.counters.contains_key(counters::BUILT)? {
            return Ok(None);
        }
        let mut deltas = Deltas::default();
        let mut read = 0;
        for entry in self.events.iter() {
            let (_, raw) = entry?;
            match decode(&raw) {
                Ok(record) => deltas.insert(&record),
                Err(e) => {
                    tracing::error!(error = %e, "a stored record does not decode; not counted")
                }
            }
            read += 1;
        }
        let changes = deltas.take();
        // One transaction: the counters and the mark that they exist land together.
        let result = self.counters.transaction(|tree| {
            tree.insert(counters::BUILT, &[1u8][..])?;
            write_changes(tree, &changes)
        });
        self.settle(result)?;
        Ok(Some(read))
    }

    /// Every stream's tally from the counters (see [`counters::read`]).
    pub fn tallies(&self, window: Option<(u64, u64)>) -> Result<Tallies, StoreError> {
        let mut range = |lower: &[u8], upper: &[u8], limit: usize| {
            let mut out = Vec::new();
            for entry in self.counters.range(lower..upper).take(limit) {
                let (k, v) = entry?;
                out.push((k.to_vec(), counters::decode(&v)));
            }
            Ok(out)
        };
        counters::read(&mut range, window)
    }
}

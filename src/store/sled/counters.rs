//! The exact counters on sled (see [`crate::store::counters`]): the `counters` tree, changed
//! inside the same transaction as the records whose changes it counts.

use sled::transaction::{ConflictableTransactionResult, TransactionalTree};

use super::trees::{decode, Trees};
use crate::store::counters::{self, Change, Deltas, Tallies};
use crate::store::StoreError;

/// Writes the counter changes of `deltas` to the transaction's `counters` tree.
pub(super) fn write(
    tree: &TransactionalTree,
    deltas: &mut Deltas,
) -> ConflictableTransactionResult<(), StoreError> {
    write_changes(tree, &deltas.take())
}

fn write_changes(
    tree: &TransactionalTree,
    changes: &[(Vec<u8>, Change)],
) -> ConflictableTransactionResult<(), StoreError> {
    for (key, change) in changes {
        let old = tree.get(key)?;
        match counters::apply(old.as_deref(), *change) {
            Some(new) => tree.insert(key.as_slice(), &new[..])?,
            None => tree.remove(key.as_slice())?,
        };
    }
    Ok(())
}

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

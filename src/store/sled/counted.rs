//! Writing counter changes to the `counters` tree inside a sled transaction, beside the record
//! changes they count (see [`crate::store::counters`]).

use sled::transaction::{ConflictableTransactionResult, TransactionalTree};

use crate::store::counters::{self, Change, Deltas};
use crate::store::StoreError;

/// Writes the counter changes of `deltas` to the transaction's `counters` tree.
pub(super) fn write(
    tree: &TransactionalTree,
    deltas: &mut Deltas,
) -> ConflictableTransactionResult<(), StoreError> {
    write_changes(tree, &deltas.take())
}

/// Writes `changes` to the transaction's `counters` tree.
pub(super) fn write_changes(
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

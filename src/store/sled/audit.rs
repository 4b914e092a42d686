//! The audit log on sled: the `audit` tree, id → JSON record (see [`crate::store::audit`]).

use super::SledStore;
use crate::store::audit::RawAudit;
use crate::store::StoreError;

const TREE: &str = "audit";

impl SledStore {
    /// Stores `rows` (id, JSON); durable on return.
    pub async fn append_audit(&self, rows: RawAudit) -> Result<(), StoreError> {
        let backend = self.backend()?;
        let tree = backend.db.open_tree(TREE)?;
        let mut batch = ::sled::Batch::default();
        for (id, raw) in rows {
            batch.insert(id.as_bytes(), raw);
        }
        backend.check(tree.apply_batch(batch).map_err(StoreError::from))?;
        backend.durable().await
    }

    /// Up to `limit` records with ids below `before`, newest first.
    pub fn audit_before(&self, before: Option<&str>, limit: usize) -> Result<RawAudit, StoreError> {
        let tree = self.backend()?.db.open_tree(TREE)?;
        let range = match before {
            Some(before) => tree.range(..before.as_bytes()),
            None => tree.range::<&[u8], _>(..),
        };
        let mut out = Vec::new();
        for entry in range.rev().take(limit) {
            let (k, v) = entry?;
            out.push((String::from_utf8_lossy(&k).into_owned(), v.to_vec()));
        }
        Ok(out)
    }

    /// Removes up to `limit` records with ids below `bound`; returns how many.
    pub async fn expire_audit(&self, bound: &str, limit: usize) -> Result<usize, StoreError> {
        let backend = self.backend()?;
        let tree = backend.db.open_tree(TREE)?;
        let mut batch = ::sled::Batch::default();
        let mut n = 0;
        for entry in tree.range(..bound.as_bytes()).take(limit) {
            batch.remove(entry?.0);
            n += 1;
        }
        backend.check(tree.apply_batch(batch).map_err(StoreError::from))?;
        backend.durable().await?;
        Ok(n)
    }
}

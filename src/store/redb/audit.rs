//! The audit log on redb: the `audit` table, id → JSON record, written through the writer
//! thread like every other change (see [`crate::store::audit`]).

use redb::{Database, ReadableDatabase, ReadableTable};

use super::tables::AUDIT;
use super::{storage_error, RedbStore};
use crate::store::audit::RawAudit;
use crate::store::{AuditRecord, StoreError};

impl RedbStore {
    /// Stores `rows` (id, JSON); durable on return.
    pub async fn append_audit(&self, rows: RawAudit) -> Result<(), StoreError> {
        let bytes = rows.iter().map(|(_, raw)| raw.len()).sum();
        self.write(bytes, move |t| {
            for (id, raw) in &rows {
                t.audit.insert(id.as_bytes(), raw.as_slice())?;
            }
            Ok(Ok(()))
        })
        .await
    }

    /// Up to `limit` records with ids below `before`, newest first.
    pub fn audit_before(&self, before: Option<&str>, limit: usize) -> Result<RawAudit, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read().map_err(storage_error)?;
        let table = txn.open_table(AUDIT).map_err(storage_error)?;
        let range = match before {
            Some(before) => table.range::<&[u8]>(..before.as_bytes()),
            None => table.range::<&[u8]>(..),
        };
        let mut out = Vec::new();
        for entry in range.map_err(storage_error)?.rev().take(limit) {
            let (k, v) = entry.map_err(storage_error)?;
            out.push((
                String::from_utf8_lossy(k.value()).into_owned(),
                v.value().to_vec(),
            ));
        }
        Ok(out)
    }

    /// Removes up to `limit` records with ids below `bound`; returns how many.
    pub async fn expire_audit(&self, bound: String, limit: usize) -> Result<usize, StoreError> {
        self.write(0, move |t| {
            let mut old = Vec::new();
            for entry in t.audit.range::<&[u8]>(..bound.as_bytes())?.take(limit) {
                old.push(entry?.0.value().to_vec());
            }
            for key in &old {
                t.audit.remove(key.as_slice())?;
            }
            Ok(Ok(old.len()))
        })
        .await
    }
}

/// Appends `record` to the audit log of a database opened outside a running store (for
/// `hookbox compact`, which holds the file alone).
pub fn append_offline(db: &Database, record: &AuditRecord) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    txn.open_table(AUDIT)?
        .insert(record.id.as_bytes(), record.encode().as_slice())?;
    txn.commit()?;
    Ok(())
}

//! The audit log on PostgreSQL: the `audit` table, id → JSON record (see
//! [`crate::store::audit`]); several instances append to the same log.

use super::{PgError, PgStore};
use crate::store::audit::RawAudit;

impl PgStore {
    /// Stores `rows` (id, JSON) in one transaction; an id already there is kept (a migration
    /// copying the log again). Committed on return.
    pub async fn append_audit(&self, rows: &RawAudit) -> Result<(), PgError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO audit (id, record) VALUES ($1, $2::text::jsonb) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .await?;
        for (id, raw) in rows {
            let json = std::str::from_utf8(raw).map_err(|e| PgError::Corrupt(e.to_string()))?;
            tx.execute(&insert, &[id, &json]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` records with ids below `before`, newest first.
    pub async fn audit_before(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<RawAudit, PgError> {
        let client = self.pool.get().await?;
        let limit = limit as i64;
        let rows = match before {
            Some(before) => {
                let sql = "SELECT id, record::text FROM audit WHERE id < $1 \
                           ORDER BY id DESC LIMIT $2";
                client.query(sql, &[&before, &limit]).await?
            }
            None => {
                let sql = "SELECT id, record::text FROM audit ORDER BY id DESC LIMIT $1";
                client.query(sql, &[&limit]).await?
            }
        };
        rows.iter()
            .map(|row| {
                let (id, json): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                Ok((id, json.into_bytes()))
            })
            .collect()
    }

    /// Removes up to `limit` records with ids below `bound`; returns how many.
    pub async fn expire_audit(&self, bound: &str, limit: usize) -> Result<usize, PgError> {
        let client = self.pool.get().await?;
        let sql = "DELETE FROM audit WHERE id IN \
                   (SELECT id FROM audit WHERE id < $1 ORDER BY id LIMIT $2)";
        let n = client.execute(sql, &[&bound, &(limit as i64)]).await?;
        Ok(n as usize)
    }
}

//! Migration into PostgreSQL (see `store::migrate`): inserting exported events as they are.

use super::rows;
use super::{PgError, PgStore};

impl PgStore {
    /// Inserts each event, as it is, unless its id is known; returns how many were new. One
    /// transaction, so a page is copied whole or not at all. An ordered event still in its line
    /// is refused, as redb refuses it: pages come in key order, not arrival order, so its place
    /// in the line cannot be given back.
    pub async fn import(
        &self,
        events: &[crate::store::migrate::Exported],
    ) -> Result<usize, PgError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO events (source, id, received_at, event_type, headers, body, \
                 body_len, state, attempt_count, attempts, next_attempt_at, lease_until, \
                 claimed_at, last_error, finished_at, body_purged, requeues, ordering_key, \
                 on_dead, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                 $14, $15, $16, $17, $18, $19, \
                 CASE WHEN $18::text IS NOT NULL THEN nextval('events_seq') END) \
                 ON CONFLICT (source, id) DO NOTHING",
            )
            .await?;
        let mut inserted = 0;
        for (r, body) in events {
            if r.in_line() {
                return Err(PgError::Config(format!(
                    "event {}/{} is still in its ordering line; migrating ordered events that \
                     have not finished is not supported: let them finish (or requeue their dead \
                     heads) and run the migration again",
                    r.source, r.id
                )));
            }
            let (ordering_key, on_dead) = rows::ordering_columns(r.ordering.as_ref());
            let body = body.as_deref().filter(|_| !r.body_purged);
            let count = i32::try_from(r.attempt_count).unwrap_or(i32::MAX);
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 19] = [
                &r.source,
                &r.id,
                &rows::ms(r.received_at),
                &r.event_type,
                &tokio_postgres::types::Json(&r.headers),
                &body,
                &rows::ms(r.body_len),
                &r.state.as_str(),
                &count,
                &tokio_postgres::types::Json(&r.attempts),
                &r.next_attempt_at.map(rows::ms),
                &r.lease_until.map(rows::ms),
                &r.claimed_at.map(rows::ms),
                &r.last_error,
                &r.finished_at.map(rows::ms),
                &r.body_purged,
                &tokio_postgres::types::Json(&r.requeues),
                &ordering_key,
                &on_dead,
            ];
            inserted += tx.execute(&insert, &params).await? as usize;
        }
        tx.commit().await?;
        self.wake.announce();
        Ok(inserted)
    }

    /// Events stored (records and tombstones).
    pub async fn count(&self) -> Result<u64, PgError> {
        let client = self.pool.get().await?;
        let row = client.query_one("SELECT count(*) FROM events", &[]).await?;
        let n: i64 = row.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

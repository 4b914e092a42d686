//! The worker's side of the PostgreSQL store: claiming due events, recording attempts, start-up
//! recovery and retention.
//!
//! Each operation is one short transaction. Rows are locked with `FOR UPDATE` before they are
//! changed, and the change itself is computed by the same [`EventRecord`] transitions the
//! embedded backends use, so every backend moves records the same way.

use std::collections::HashMap;

use bytes::Bytes;

use super::ordered::{self, claimable};
use super::rows::{self, ms, COLUMNS};
use super::{PgError, PgStore};
use crate::store::{Attempt, Claimed, EventRecord, Next, State};

impl PgStore {
    /// Claims up to `limit` events due at `now`. `lease_ms` gives the lease for an event, or
    /// `None` to leave it queued (e.g. its source is at its concurrency cap). An event whose
    /// lease expired counts its lost attempt as `abandoned`; once that exhausts `max_attempts`
    /// it goes `dead` instead of being claimed.
    ///
    /// Rows are locked with `SKIP LOCKED`: claimers on any instance, at the same moment, each
    /// get different events, and none waits for another. Of an ordering key only the first
    /// event of its line is taken (see `ordered.rs`).
    pub async fn claim_due(
        &self,
        now: u64,
        limit: usize,
        max_attempts: u32,
        lease_ms: &mut (dyn FnMut(&EventRecord) -> Option<u64> + Send),
    ) -> Result<Vec<Claimed>, PgError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Scan a bit past `limit`: some rows may be skipped by `lease_ms`.
        let scan = i64::try_from(limit.saturating_mul(4)).unwrap_or(i64::MAX);
        let select = tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE due_at <= $1 AND {} \
                 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                claimable!()
            ))
            .await?;
        let mut changed = Vec::new();
        let mut was_in_line = Vec::new();
        let (mut claims, mut died) = (0, 0);
        for row in tx.query(&select, &[&ms(now), &scan]).await? {
            if claims >= limit {
                break;
            }
            let mut record = rows::record(&row)?;
            let Some(lease) = lease_ms(&record) else {
                continue;
            };
            was_in_line.push(record.in_line());
            if !record.claim(now, lease, max_attempts) {
                died += 1;
                changed.push(record);
                continue;
            }
            claims += 1;
            changed.push(record);
        }
        let mut bodies = HashMap::new();
        let saved = rows::save(&tx, &changed, true).await?;
        let promoted = ordered::leave_lines(&tx, &changed, &was_in_line).await?;
        for row in saved {
            let key: (String, String) = (row.try_get(0)?, row.try_get(1)?);
            let body: Option<Vec<u8>> = row.try_get(2)?;
            bodies.insert(key, body.map(Bytes::from).unwrap_or_default());
        }
        tx.commit().await?;
        self.pending.sub(died);
        if promoted {
            // One that died under `skip` let the next event of its key go.
            self.wake.announce();
        }
        let claimed = changed
            .into_iter()
            .filter(|r| r.state == State::Processing)
            .map(|record| {
                let key = (record.source.clone(), record.id.clone());
                let body = bodies.remove(&key).unwrap_or_default();
                Claimed { record, body }
            })
            .collect();
        Ok(claimed)
    }

    /// Records the attempt `claimed` made and moves the event on. Ignored (returns `false`)
    /// when the claim is no longer current — its lease expired and it was claimed again.
    /// Returns once the change is committed.
    pub async fn record_attempt(
        &self,
        claimed: &EventRecord,
        attempt: Attempt,
        next: Next,
    ) -> Result<bool, PgError> {
        // Grouped with the results other attempts report meanwhile: see `finish_batch.rs`.
        self.finishes.call((claimed.clone(), attempt, next)).await
    }

    /// Unlike sled's, changes nothing: returns how many `processing` events have a lease that
    /// expired by `now`.
    ///
    /// With one database shared by several instances, "processing" at start-up does not mean
    /// "this process was handling it when it died": another live instance may be. So recovery
    /// relies on lease expiry only — any instance's [`claim_due`](Self::claim_due) rescues an
    /// expired lease (recording the lost attempt as `abandoned`), and events a crashed instance
    /// held wait at most one lease before another instance takes them over.
    pub async fn recover(&self, now: u64) -> Result<usize, PgError> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached(
                "SELECT count(*) FROM events WHERE state = 'processing' AND due_at <= $1",
            )
            .await?;
        let count: i64 = client
            .query_one(&statement, &[&ms(now)])
            .await?
            .try_get(0)?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Applies retention to up to `limit` succeeded events whose time has come: purges bodies
    /// past `retention`, forgets ids past `dedupe_window`. Returns how many were touched. Dead
    /// events are kept. Rows another instance is sweeping or changing are skipped.
    pub async fn expire(&self, now: u64, limit: usize) -> Result<usize, PgError> {
        let mut touched = 0;
        let client = self.pool.get().await?;
        if let Some(until) = now.checked_sub(self.retention_ms) {
            let purge = client
                .prepare_cached(
                    "UPDATE events SET body = NULL, body_purged = true \
                     WHERE (source, id) IN (SELECT source, id FROM events \
                         WHERE state = 'succeeded' AND NOT body_purged AND finished_at <= $1 \
                         ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                )
                .await?;
            let budget = i64::try_from(limit).unwrap_or(i64::MAX);
            touched += client.execute(&purge, &[&ms(until), &budget]).await?;
        }
        let left = (limit as u64).saturating_sub(touched);
        if let (Some(until), true) = (now.checked_sub(self.dedupe_ms), left > 0) {
            let forget = client
                .prepare_cached(
                    "DELETE FROM events WHERE (source, id) IN (SELECT source, id FROM events \
                         WHERE state IN ('succeeded', 'skipped') AND body_purged \
                         AND finished_at <= $1 \
                         ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                )
                .await?;
            let budget = i64::try_from(left).unwrap_or(i64::MAX);
            touched += client.execute(&forget, &[&ms(until), &budget]).await?;
        }
        drop(client);
        self.fold_counters().await?;
        Ok(usize::try_from(touched).unwrap_or(usize::MAX))
    }
}

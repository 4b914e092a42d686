//! A routed event's rows, inserted in one transaction: all of its routes or none.

use tokio_postgres::types::Json;

use super::rows::{self, ms};
use super::{PgError, PgStore};
use crate::store::stream::{dedupe_streams, route_records};
use crate::store::{Accepted, NewEvent, RouteDelivery};

/// One route's row; a skipped route's is final at arrival, has no body and is not ordered.
const INSERT: &str = "INSERT INTO events (source, id, received_at, event_type, headers, body, \
     body_len, state, next_attempt_at, finished_at, body_purged, ordering_key, on_dead, seq) \
     VALUES ($1, $2, $3::bigint, $4, $5, $6, $7, \
         CASE WHEN $8::boolean THEN 'skipped' ELSE 'queued' END, \
         CASE WHEN $8::boolean THEN NULL ELSE $3::bigint END, \
         CASE WHEN $8::boolean THEN $3::bigint END, $8::boolean, $9, $10, \
         CASE WHEN $9::text IS NOT NULL THEN nextval('events_seq') END) \
     ON CONFLICT (source, id) DO NOTHING";

impl PgStore {
    /// Stores `ev` once per route unless its id is known under any of their streams or its
    /// source's own (see [`crate::store::Store::accept_routed`]).
    pub async fn accept_routed(
        &self,
        ev: NewEvent,
        routes: Vec<RouteDelivery>,
    ) -> Result<Accepted, PgError> {
        let mut client = self.pool.get().await?;
        let insert = client.prepare_cached(INSERT).await?;
        let lookup = client
            .prepare_cached(
                "SELECT state FROM events WHERE source = ANY($1) AND id = $2 \
                 ORDER BY source LIMIT 1",
            )
            .await?;
        let streams: Vec<String> = dedupe_streams(&ev, &routes)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut records = route_records(&ev, &routes);
        // The same order in every instance: two racing on one id wait on the same row first.
        records.sort_by(|a, b| a.0.source.cmp(&b.0.source));
        let headers = Json(&ev.headers);
        // As in `accept`: the id may be forgotten between a conflict and the look-up.
        for _ in 0..3 {
            if let Some(row) = client.query_opt(&lookup, &[&streams, &ev.id]).await? {
                return Ok(Accepted::Duplicate(rows::state(row.try_get(0)?)?));
            }
            let tx = client.transaction().await?;
            let mut all = true;
            for (one, skipped) in &records {
                let body = (!skipped).then_some(one.body.as_ref());
                let ordering = one.ordering.as_ref().filter(|_| !skipped);
                let (ordering_key, on_dead) = rows::ordering_columns(ordering);
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 10] = [
                    &one.source,
                    &one.id,
                    &ms(one.received_at),
                    &one.event_type,
                    &headers,
                    &body,
                    &ms(one.body.len() as u64),
                    skipped,
                    &ordering_key,
                    &on_dead,
                ];
                if tx.execute(&insert, &params).await? == 0 {
                    all = false;
                    break;
                }
            }
            if !all {
                // A conflict waited for the other writer's commit: the look-up sees its rows.
                tx.rollback().await?;
                continue;
            }
            tx.commit().await?;
            let due = records.iter().filter(|(_, skipped)| !skipped).count();
            if due > 0 {
                self.pending.add(due as u64);
                self.wake.announce();
            }
            return Ok(Accepted::New);
        }
        Err(PgError::Raced(
            "event id kept disappearing between insert and look-up".into(),
        ))
    }
}

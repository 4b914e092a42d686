//! Accepting events: one row per event, or, for a routed event, one per route inserted in one
//! transaction (all of its routes or none). An ordered row joins its key's line under the line's
//! lock, parked when the line already holds a row (see `ordered.rs`).

use tokio_postgres::types::{Json, ToSql};

use super::ordered::{self, line_taken};
use super::rows::{self, ms};
use super::{PgError, PgStore};
use crate::store::stream::{dedupe_streams, route_records};
use crate::store::{Accepted, NewEvent, RouteDelivery, State};

/// One event's row: queued, due at arrival unless it joins a line that holds a row already.
const INSERT: &str = concat!(
    "INSERT INTO events (source, id, received_at, event_type, headers, body, body_len, state, \
     next_attempt_at, ordering_key, on_dead, seq) \
     VALUES ($1, $2, $3::bigint, $4, $5, $6, $7, 'queued', \
         CASE WHEN $8::text IS NOT NULL AND ",
    line_taken!("$8"),
    " THEN NULL ELSE $3::bigint END, $8, $9, \
         CASE WHEN $8::text IS NOT NULL THEN nextval('events_seq') END) \
     ON CONFLICT (source, id) DO NOTHING"
);

/// One route's row; a skipped route's is final at arrival, has no body and is not ordered.
const INSERT_ROUTE: &str = concat!(
    "INSERT INTO events (source, id, received_at, event_type, headers, body, \
     body_len, state, next_attempt_at, finished_at, body_purged, ordering_key, on_dead, seq) \
     VALUES ($1, $2, $3::bigint, $4, $5, $6, $7, \
         CASE WHEN $8::boolean THEN 'skipped' ELSE 'queued' END, \
         CASE WHEN $8::boolean THEN NULL \
              WHEN $9::text IS NOT NULL AND ",
    line_taken!("$9"),
    " THEN NULL ELSE $3::bigint END, \
         CASE WHEN $8::boolean THEN $3::bigint END, $8::boolean, $9, $10, \
         CASE WHEN $9::text IS NOT NULL THEN nextval('events_seq') END) \
     ON CONFLICT (source, id) DO NOTHING"
);

impl PgStore {
    /// Stores `ev` unless its id is known, and returns once the outcome is committed. Plain
    /// events go in groups (see `accept_batch.rs`); an ordered one joins its line on its own.
    pub async fn accept(&self, ev: NewEvent) -> Result<Accepted, PgError> {
        if ev.ordering.is_none() {
            return self.accepts.call(ev).await;
        }
        let mut client = self.pool.get().await?;
        let insert = client.prepare_cached(INSERT).await?;
        let lookup = client
            .prepare_cached("SELECT state FROM events WHERE source = $1 AND id = $2")
            .await?;
        let headers = Json(&ev.headers);
        let (ordering_key, on_dead) = rows::ordering_columns(ev.ordering.as_ref());
        let params: [&(dyn ToSql + Sync); 9] = [
            &ev.source,
            &ev.id,
            &ms(ev.received_at),
            &ev.event_type,
            &headers,
            &ev.body.as_ref(),
            &ms(ev.body.len() as u64),
            &ordering_key,
            &on_dead,
        ];
        // The id may be forgotten by retention between a conflict and the look-up; the next
        // insert then wins. Twice in a row would need a sweep per round trip, so three tries.
        for _ in 0..3 {
            // The row joins a line: under its lock.
            let tx = client.transaction().await?;
            let line = ordering_key.map(|key| (ev.source.as_str(), key));
            ordered::lock_lines(&tx, line.into_iter().collect()).await?;
            let inserted = tx.execute(&insert, &params).await?;
            tx.commit().await?;
            if inserted == 1 {
                self.pending.add(1);
                self.wake.announce();
                return Ok(Accepted::New);
            }
            // ON CONFLICT waited for the other writer's commit, and this statement takes a new
            // snapshot, so it sees that row: a duplicate is only reported once it is durable.
            if let Some(row) = client.query_opt(&lookup, &[&ev.source, &ev.id]).await? {
                return Ok(Accepted::Duplicate(rows::state(row.try_get(0)?)?));
            }
        }
        Err(PgError::Raced(
            "event id kept disappearing between insert and look-up".into(),
        ))
    }

    /// Stores `ev` once per route unless its id is known under any of their streams or its
    /// source's own (see [`crate::store::Store::accept_routed`]).
    pub async fn accept_routed(
        &self,
        ev: NewEvent,
        routes: Vec<RouteDelivery>,
    ) -> Result<Accepted, PgError> {
        let mut client = self.pool.get().await?;
        let insert = client.prepare_cached(INSERT_ROUTE).await?;
        let lookup = client
            .prepare_cached("SELECT state FROM events WHERE source = ANY($1) AND id = $2")
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
            let known = client.query(&lookup, &[&streams, &ev.id]).await?;
            let states = known.iter().map(|row| rows::state(row.try_get(0)?));
            let states = states.collect::<Result<Vec<_>, PgError>>()?;
            if let Some(state) = State::overall(states) {
                return Ok(Accepted::Duplicate(state));
            }
            let tx = client.transaction().await?;
            let lines = records
                .iter()
                .filter(|(_, skipped)| !skipped)
                .filter_map(|(one, _)| {
                    Some((one.source.as_str(), one.ordering.as_ref()?.key.as_str()))
                })
                .collect();
            ordered::lock_lines(&tx, lines).await?;
            let mut all = true;
            for (one, skipped) in &records {
                let body = (!skipped).then_some(one.body.as_ref());
                let ordering = one.ordering.as_ref().filter(|_| !skipped);
                let (ordering_key, on_dead) = rows::ordering_columns(ordering);
                let params: [&(dyn ToSql + Sync); 10] = [
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

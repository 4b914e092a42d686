//! Between `events` rows and [`EventRecord`]s: reading a row, and writing changed records back.
//!
//! Times are unix milliseconds in `bigint` columns; values past `i64::MAX` (year 292 million)
//! are stored as `i64::MAX`, and a negative stored time is reported as corrupt.

use deadpool_postgres::Transaction;
use tokio_postgres::types::Json;
use tokio_postgres::Row;

use super::PgError;
use crate::ordering::{EventOrdering, OnDead};
use crate::store::{EventRecord, State, UnknownState};

/// The columns [`record`] reads, in a `SELECT` list.
pub const COLUMNS: &str = "source, id, received_at, event_type, headers, body_len, state, \
     attempt_count, attempts, next_attempt_at, lease_until, claimed_at, last_error, \
     finished_at, body_purged, requeues, ordering_key, on_dead";

/// The statement writing the state-machine fields of many records back to their rows at once.
/// Identity, arrival, headers and body never change after accept, and only retention touches
/// `body_purged`, so those are left alone.
macro_rules! save_sql {
    () => {
        "UPDATE events AS e SET state = u.state, attempt_count = u.attempt_count, \
         attempts = u.attempts, next_attempt_at = u.next_attempt_at, \
         lease_until = u.lease_until, claimed_at = u.claimed_at, last_error = u.last_error, \
         finished_at = u.finished_at, requeues = u.requeues \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::jsonb[], \
                     $6::int8[], $7::int8[], $8::int8[], $9::text[], $10::int8[], $11::jsonb[]) \
           AS u(source, id, state, attempt_count, attempts, next_attempt_at, lease_until, \
                claimed_at, last_error, finished_at, requeues) \
         WHERE e.source = u.source AND e.id = u.id"
    };
}

const SAVE: &str = save_sql!();
const SAVE_RETURNING_BODY: &str = concat!(save_sql!(), " RETURNING e.source, e.id, e.body");

/// A time for a `bigint` column.
pub fn ms(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// A time read from a `bigint` column.
pub fn from_ms(t: i64) -> Result<u64, PgError> {
    u64::try_from(t).map_err(|_| PgError::Corrupt(format!("negative time {t}")))
}

fn opt_ms(t: Option<i64>) -> Result<Option<u64>, PgError> {
    t.map(from_ms).transpose()
}

/// A state read from the `state` column.
pub fn state(name: &str) -> Result<State, PgError> {
    name.parse()
        .map_err(|e: UnknownState| PgError::Corrupt(e.to_string()))
}

/// The record in a row selected with [`COLUMNS`].
pub fn record(row: &Row) -> Result<EventRecord, PgError> {
    let Json(headers) = row.try_get("headers")?;
    let Json(attempts) = row.try_get("attempts")?;
    let Json(requeues) = row.try_get("requeues")?;
    let attempt_count: i32 = row.try_get("attempt_count")?;
    let ordering = ordering(row.try_get("ordering_key")?, row.try_get("on_dead")?)?;
    Ok(EventRecord {
        source: row.try_get("source")?,
        id: row.try_get("id")?,
        received_at: from_ms(row.try_get("received_at")?)?,
        event_type: row.try_get("event_type")?,
        headers,
        body_len: from_ms(row.try_get("body_len")?)?,
        state: state(row.try_get("state")?)?,
        attempt_count: u32::try_from(attempt_count)
            .map_err(|_| PgError::Corrupt(format!("attempt count {attempt_count}")))?,
        attempts,
        next_attempt_at: opt_ms(row.try_get("next_attempt_at")?)?,
        lease_until: opt_ms(row.try_get("lease_until")?)?,
        claimed_at: opt_ms(row.try_get("claimed_at")?)?,
        last_error: row.try_get("last_error")?,
        finished_at: opt_ms(row.try_get("finished_at")?)?,
        body_purged: row.try_get("body_purged")?,
        requeues,
        ordering,
    })
}

/// An event's ordering from its `ordering_key` and `on_dead` columns.
fn ordering(key: Option<String>, on_dead: Option<&str>) -> Result<Option<EventOrdering>, PgError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let on_dead = match on_dead {
        Some("skip") => OnDead::Skip,
        Some("block") => OnDead::Block,
        other => return Err(PgError::Corrupt(format!("on_dead {other:?}"))),
    };
    Ok(Some(EventOrdering { key, on_dead }))
}

/// The `ordering_key` and `on_dead` columns of an event ordered by `ordering`.
pub fn ordering_columns(ordering: Option<&EventOrdering>) -> (Option<&str>, Option<&'static str>) {
    match ordering {
        Some(o) => (Some(o.key.as_str()), Some(on_dead_name(o.on_dead))),
        None => (None, None),
    }
}

fn on_dead_name(on_dead: OnDead) -> &'static str {
    match on_dead {
        OnDead::Block => "block",
        OnDead::Skip => "skip",
    }
}

/// The record of one event, locked until `tx` ends.
pub async fn lock(
    tx: &Transaction<'_>,
    source: &str,
    id: &str,
) -> Result<Option<EventRecord>, PgError> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE source = $1 AND id = $2 FOR UPDATE");
    let statement = tx.prepare_cached(&sql).await?;
    let row = tx.query_opt(&statement, &[&source, &id]).await?;
    row.map(|r| record(&r)).transpose()
}

/// Writes the changed state of `records` (which must exist, locked by `tx`) back. With
/// `bodies`, returns `(source, id, body)` rows for them.
pub async fn save(
    tx: &Transaction<'_>,
    records: &[EventRecord],
    bodies: bool,
) -> Result<Vec<Row>, PgError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let times = |field: fn(&EventRecord) -> Option<u64>| -> Vec<Option<i64>> {
        records.iter().map(|r| field(r).map(ms)).collect()
    };
    let sources: Vec<&str> = records.iter().map(|r| r.source.as_str()).collect();
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let states: Vec<&str> = records.iter().map(|r| r.state.as_str()).collect();
    let counts: Vec<i32> = records
        .iter()
        .map(|r| i32::try_from(r.attempt_count).unwrap_or(i32::MAX))
        .collect();
    let attempts: Vec<_> = records.iter().map(|r| Json(&r.attempts)).collect();
    let next = times(|r| r.next_attempt_at);
    let lease = times(|r| r.lease_until);
    let claimed = times(|r| r.claimed_at);
    let errors: Vec<Option<&str>> = records.iter().map(|r| r.last_error.as_deref()).collect();
    let finished = times(|r| r.finished_at);
    let requeues: Vec<_> = records.iter().map(|r| Json(&r.requeues)).collect();
    let sql = if bodies { SAVE_RETURNING_BODY } else { SAVE };
    let statement = tx.prepare_cached(sql).await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 11] = [
        &sources, &ids, &states, &counts, &attempts, &next, &lease, &claimed, &errors, &finished,
        &requeues,
    ];
    Ok(tx.query(&statement, &params).await?)
}

//! Per-key ordering on PostgreSQL: which rows are in their key's line, which of those may be
//! claimed, keeping waiting rows out of the queue, and the lines as the admin API and metrics
//! see them.
//!
//! A row is in its line while `queued` or `processing`, and while `dead` under
//! `on_dead = 'block'` until an operator discards it (its body is then purged); `seq` is its
//! place. As with redb, only a line's first row is due: a row that joins a line already holding
//! one is *parked* — `queued` with no `next_attempt_at`, so it is out of the `events_due` index
//! and the claim never wades through it — and the transaction in which a row leaves its line
//! makes the next one due. Joining and leaving take a transaction-level advisory lock on the
//! line ([`lock_lines`]), so a row joining while the head leaves is either seen by the leaver
//! (and made due) or sees the line empty (and is due at once); and `seq` is given under that
//! lock, so a line's order is the order its rows committed in.
//!
//! The claim still checks, per ordered row, that no earlier row of its key is in the line and no
//! other row of the key is processing ([`claimable`]): two index probes per due ordered row, a
//! guard that holds even for rows written by an older hookbox or by hand.

use deadpool_postgres::Transaction;

use super::rows::{self, COLUMNS};
use super::{PgError, PgStore};
use crate::store::{EventRecord, Line, Lines, SCAN_BUDGET};

/// True for a row (columns prefixed with `$t`) still in its key's line. Written exactly as the
/// predicate of the `events_in_line` index, so the planner can use that index for it.
macro_rules! in_line {
    ($t:literal) => {
        concat!(
            "(",
            $t,
            "state IN ('queued', 'processing') OR (",
            $t,
            "state = 'dead' AND ",
            $t,
            "on_dead = 'block' AND NOT ",
            $t,
            "body_purged))"
        )
    };
}

/// True when another row of the key of the `events` row being read holds it back: an earlier
/// one still in the line, or another one processing. Two `EXISTS` rather than one with an `OR`,
/// so that each is one probe of its own index (`events_in_line` by `seq`, and
/// `events_line_processing`) instead of a walk through the whole line.
macro_rules! held_back {
    () => {
        concat!(
            "(EXISTS (SELECT 1 FROM events o WHERE o.source = events.source \
             AND o.ordering_key = events.ordering_key AND o.seq < events.seq AND ",
            $crate::store::postgres::ordered::in_line!("o."),
            ") OR EXISTS (SELECT 1 FROM events p WHERE p.source = events.source \
             AND p.ordering_key = events.ordering_key AND p.state = 'processing' \
             AND p.id <> events.id))"
        )
    };
}

/// Whether the `events` row being read may be claimed as far as ordering goes. A processing
/// row always may: its lease may have expired, and rescuing it is what frees its key.
macro_rules! claimable {
    () => {
        concat!(
            "(events.ordering_key IS NULL OR events.state = 'processing' OR NOT ",
            $crate::store::postgres::ordered::held_back!(),
            ")"
        )
    };
}

pub(super) use {claimable, held_back, in_line};

impl PgStore {
    /// The ordering lines of `source` (every source when `None`): each head and, with
    /// `count_behind`, how many wait behind it; at most [`SCAN_BUDGET`] lines.
    pub async fn lines(&self, source: Option<&str>, count_behind: bool) -> Result<Lines, PgError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {COLUMNS}, l.n FROM (SELECT source AS s, ordering_key AS k, min(seq) AS first, \
                 count(*) AS n FROM events WHERE ordering_key IS NOT NULL AND {} \
                 AND ($1::text IS NULL OR source = $1) \
                 GROUP BY source, ordering_key ORDER BY source, ordering_key LIMIT $2) AS l \
             JOIN events ON events.source = l.s AND events.ordering_key = l.k \
                 AND events.seq = l.first \
             ORDER BY l.s, l.k",
            in_line!("")
        );
        let statement = client.prepare_cached(&sql).await?;
        let fetch = i64::try_from(SCAN_BUDGET + 1).unwrap_or(i64::MAX);
        let found = client.query(&statement, &[&source, &fetch]).await?;
        let truncated = found.len() > SCAN_BUDGET;
        let mut lines = Vec::with_capacity(found.len().min(SCAN_BUDGET));
        for row in found.iter().take(SCAN_BUDGET) {
            let head = rows::record(row)?;
            let n: i64 = row.try_get("n")?;
            lines.push(Line {
                source: head.source.clone(),
                key: head
                    .ordering
                    .as_ref()
                    .map(|o| o.key.clone())
                    .unwrap_or_default(),
                behind: if count_behind {
                    u64::try_from(n - 1).unwrap_or(0)
                } else {
                    0
                },
                head: Some(head),
            });
        }
        Ok(Lines { lines, truncated })
    }

    /// The head of the line of ordering key `key` of `source`: the event the others of the key
    /// wait for.
    pub async fn head(&self, source: &str, key: &str) -> Result<Option<EventRecord>, PgError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE source = $1 AND ordering_key = $2 AND {} \
             ORDER BY seq LIMIT 1",
            in_line!("")
        );
        let statement = client.prepare_cached(&sql).await?;
        let row = client.query_opt(&statement, &[&source, &key]).await?;
        row.map(|r| rows::record(&r)).transpose()
    }
}

/// Takes the advisory locks of the lines of `lines` (stream, key) until `tx` ends, in one
/// order, so transactions locking several never deadlock. Unrelated lines may share a lock
/// (the hash can collide): that only makes one wait for the other.
pub(super) async fn lock_lines(
    tx: &Transaction<'_>,
    mut lines: Vec<(&str, &str)>,
) -> Result<(), PgError> {
    lines.sort_unstable();
    lines.dedup();
    if lines.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(10) || $2, 7405))")
        .await?;
    for (stream, key) in lines {
        tx.execute(&statement, &[&stream, &key]).await?;
    }
    Ok(())
}

/// True (SQL) when the line of stream `$1`, key `$key` holds a row other than event `$2`: a row
/// joining it waits.
macro_rules! line_taken {
    ($key:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM events o WHERE o.source = $1 AND o.ordering_key = ",
            $key,
            " AND o.id <> $2 AND ",
            $crate::store::postgres::ordered::in_line!("o."),
            ")"
        )
    };
}

pub(super) use line_taken;

/// Makes the first row of the line `left` was in due (it left in `tx`, which holds the line's
/// lock), from when `left` finished or that row's own arrival, whichever is later; nothing
/// when the line is empty or its first row is not parked.
pub(super) async fn promote_next(tx: &Transaction<'_>, left: &EventRecord) -> Result<(), PgError> {
    let Some(ordering) = &left.ordering else {
        return Ok(());
    };
    let statement = tx
        .prepare_cached(concat!(
            "UPDATE events SET next_attempt_at = GREATEST($3, received_at) \
             WHERE (source, id) IN (SELECT source, id FROM events \
                 WHERE source = $1 AND ordering_key = $2 AND ",
            in_line!(""),
            " ORDER BY seq LIMIT 1) \
             AND state = 'queued' AND next_attempt_at IS NULL"
        ))
        .await?;
    let since = rows::ms(left.finished_at.unwrap_or(0));
    tx.execute(&statement, &[&left.source, &ordering.key, &since])
        .await?;
    Ok(())
}

/// The lines the records of `left` (changed in `tx` from states `was_in_line`) left: each is
/// locked and its next row made due.
pub(super) async fn leave_lines(
    tx: &Transaction<'_>,
    left: &[EventRecord],
    was_in_line: &[bool],
) -> Result<bool, PgError> {
    let leaving: Vec<&EventRecord> = left
        .iter()
        .zip(was_in_line)
        .filter(|(r, was)| **was && !r.in_line())
        .map(|(r, _)| r)
        .collect();
    let lines = leaving
        .iter()
        .filter_map(|r| Some((r.source.as_str(), r.ordering.as_ref()?.key.as_str())))
        .collect();
    lock_lines(tx, lines).await?;
    for r in &leaving {
        promote_next(tx, r).await?;
    }
    Ok(!leaving.is_empty())
}

/// Puts the ordered ones of `records` (requeued, rows locked by `tx`) that were not in their
/// line before (`was_in_line`) at the end of it, oldest arrival first, parked when the line
/// holds another row: a requeued event that had left its line (succeeded, or dead under
/// `skip`) must not jump ahead of the events behind it.
pub(super) async fn rejoin(
    tx: &Transaction<'_>,
    records: &mut [EventRecord],
    was_in_line: &[bool],
) -> Result<(), PgError> {
    let mut rejoining: Vec<&mut EventRecord> = records
        .iter_mut()
        .zip(was_in_line)
        .filter(|(r, was)| r.ordering.is_some() && !**was)
        .map(|(r, _)| r)
        .collect();
    if rejoining.is_empty() {
        return Ok(());
    }
    let lines = rejoining
        .iter()
        .filter_map(|r| Some((r.source.as_str(), r.ordering.as_ref()?.key.as_str())))
        .collect();
    lock_lines(tx, lines).await?;
    rejoining.sort_by_key(|r| r.received_at);
    let statement = tx
        .prepare_cached(concat!(
            "UPDATE events AS e SET seq = nextval('events_seq'), next_attempt_at = \
                 CASE WHEN ",
            line_taken!("$3"),
            " THEN NULL ELSE e.next_attempt_at END \
             WHERE e.source = $1 AND e.id = $2 RETURNING e.next_attempt_at IS NULL"
        ))
        .await?;
    for r in rejoining {
        let key = r.ordering.as_ref().map(|o| o.key.clone());
        let row = tx.query_one(&statement, &[&r.source, &r.id, &key]).await?;
        if row.try_get::<_, bool>(0)? {
            r.next_attempt_at = None;
        }
    }
    Ok(())
}

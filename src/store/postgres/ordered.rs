//! Per-key ordering on PostgreSQL: which rows are in their key's line, which of those may be
//! claimed, and the lines as the admin API and metrics see them.
//!
//! Unlike redb, nothing is promoted when a head leaves its line: every ordered row keeps its
//! `seq` (its place in the line) and the claim asks, per ordered row, whether an earlier row of
//! its key is still in the line. That keeps the decision in one statement that every instance
//! evaluates against the same committed rows, with no bookkeeping that a crash between two
//! instances' transactions could leave half done.
//!
//! A row is in its line while `queued` or `processing`, and while `dead` under
//! `on_dead = 'block'` until an operator discards it (its body is then purged). An ordered row
//! may be claimed when it is the first of its line and no other row of its key is processing:
//! instances commit in their own order, so a later `seq` can become visible (and be claimed)
//! before an earlier one; the second condition keeps even those from running side by side.

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

/// A `waiting` column: a queued ordered row held back by its key (read as a record with no
/// `next_attempt_at`, as redb stores such an event).
macro_rules! waiting {
    () => {
        concat!(
            "(events.ordering_key IS NOT NULL AND events.state = 'queued' AND ",
            $crate::store::postgres::ordered::held_back!(),
            ") AS waiting"
        )
    };
}

pub(super) use {claimable, held_back, in_line, waiting};

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

/// Puts the ordered ones of `records` (requeued, rows locked by `tx`) that were not in their
/// line before (`was_in_line`) at the end of it, oldest arrival first: a requeued event that had
/// left its line (succeeded, or dead under `skip`) must not jump ahead of the events behind it.
pub(super) async fn rejoin(
    tx: &Transaction<'_>,
    records: &[EventRecord],
    was_in_line: &[bool],
) -> Result<(), PgError> {
    let mut rejoining: Vec<&EventRecord> = records
        .iter()
        .zip(was_in_line)
        .filter(|(r, was)| r.ordering.is_some() && !**was)
        .map(|(r, _)| r)
        .collect();
    if rejoining.is_empty() {
        return Ok(());
    }
    rejoining.sort_by_key(|r| r.received_at);
    let statement = tx
        .prepare_cached(
            "UPDATE events SET seq = nextval('events_seq') WHERE source = $1 AND id = $2",
        )
        .await?;
    for r in rejoining {
        tx.execute(&statement, &[&r.source, &r.id]).await?;
    }
    Ok(())
}

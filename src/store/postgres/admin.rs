//! The admin side of the PostgreSQL store: listing events by arrival, and operator requeues —
//! the same API and semantics as the embedded stores' listing and requeue, with the same
//! filter, cursor, page and outcome types.
//!
//! Listing order is newest first by `(received_at, source, id)`; a cursor is the last position
//! handed out, and the next page starts strictly below it. Filters are plain `WHERE` clauses
//! over indexed columns, so, unlike sled's bounded index walk, a page is never short unless the
//! listing is at its end.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::rows::{self, ms, COLUMNS};
use super::{ordered, search};
use super::{PgError, PgStore};
use crate::event::origin::{ORIGIN_HEADER, RECONCILED};
use crate::store::{
    BulkRequeued, Cursor, DiscardOutcome, EventFilter, EventRecord, Page, RequeueOutcome, State,
    TypeMatch, SCAN_BUDGET,
};

impl PgStore {
    /// Up to `limit` (≥ 1) events matching `filter`, newest first, continuing after `after`.
    pub async fn list(
        &self,
        filter: &EventFilter,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, PgError> {
        let limit = limit.max(1);
        let client = self.pool.get().await?;
        let query = Selection::new(filter, after, limit)?;
        let statement = client.prepare_cached(&query.sql("")).await?;
        let found = client.query(&statement, &query.params()).await?;
        let (items, next) = page(&found, limit)?;
        Ok(Page { items, next })
    }

    /// Queues one final event again, due `now`, and wakes the workers of every instance.
    /// Returns once committed.
    pub async fn requeue(
        &self,
        source: &str,
        id: &str,
        now: u64,
    ) -> Result<RequeueOutcome, PgError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(mut record) = rows::lock(&tx, source, id).await? else {
            return Ok(RequeueOutcome::Unknown);
        };
        let was_in_line = record.in_line();
        if record.requeue(now).is_none() {
            return Ok(RequeueOutcome::refused(&record));
        }
        rows::save(&tx, std::slice::from_ref(&record), false).await?;
        ordered::rejoin(&tx, std::slice::from_mut(&mut record), &[was_in_line]).await?;
        tx.commit().await?;
        self.requeued(1);
        Ok(RequeueOutcome::Requeued(record))
    }

    /// Requeues the `dead` events matching `filter` (its `state` is ignored), newest first,
    /// at most [`SCAN_BUDGET`] per call, continuing after `after`. Returns once committed.
    pub async fn requeue_dead(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        now: u64,
    ) -> Result<BulkRequeued, PgError> {
        let filter = EventFilter {
            state: Some(State::Dead),
            ..filter.clone()
        };
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let query = Selection::new(&filter, after, SCAN_BUDGET)?;
        // Waits for rows others hold rather than skipping them, so no dead event in the range
        // is missed; every caller locks in the same order, so two bulk requeues cannot deadlock.
        let statement = tx.prepare_cached(&query.sql(" FOR UPDATE")).await?;
        let found = tx.query(&statement, &query.params()).await?;
        let (mut records, next) = page(&found, SCAN_BUDGET)?;
        let mut was_in_line = Vec::with_capacity(records.len());
        records.retain_mut(|r| {
            let was = r.in_line();
            let requeued = r.requeue(now).is_some();
            if requeued {
                was_in_line.push(was);
            }
            requeued
        });
        rows::save(&tx, &records, false).await?;
        ordered::rejoin(&tx, &mut records, &was_in_line).await?;
        tx.commit().await?;
        self.requeued(records.len() as u64);
        Ok(BulkRequeued {
            requeued: records.len(),
            taken: records.into_iter().map(|r| (r.source, r.id)).collect(),
            next,
        })
    }

    /// Discards one dead event (see [`EventRecord::discard`]): the row keeps its record and
    /// loses its body, in one committed statement.
    pub async fn discard(&self, source: &str, id: &str) -> Result<DiscardOutcome, PgError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(mut record) = rows::lock(&tx, source, id).await? else {
            return Ok(DiscardOutcome::Unknown);
        };
        let was_in_line = record.in_line();
        if record.discard().is_none() {
            return Ok(DiscardOutcome::refused(&record));
        }
        tx.execute(
            "UPDATE events SET body = NULL, body_purged = true WHERE source = $1 AND id = $2",
            &[&source, &id],
        )
        .await?;
        let one = std::slice::from_ref(&record);
        let promoted = ordered::leave_lines(&tx, one, &[was_in_line]).await?;
        tx.commit().await?;
        if promoted {
            // It left its line: the next event of its key is due.
            self.wake.announce();
        }
        Ok(DiscardOutcome::Discarded(record))
    }

    /// The stream names that hold events: a loose scan of the primary key, one index probe
    /// per stream however many events each holds.
    pub async fn streams(&self) -> Result<Vec<String>, PgError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "WITH RECURSIVE s(source) AS (
                     (SELECT source FROM events ORDER BY source LIMIT 1)
                     UNION ALL
                     SELECT (SELECT e.source FROM events e WHERE e.source > s.source
                             ORDER BY e.source LIMIT 1)
                     FROM s WHERE s.source IS NOT NULL
                 ) SELECT source FROM s WHERE source IS NOT NULL",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Where an unfinished `hookbox migrate` into this database copies from, if one has not
    /// finished.
    pub async fn migrating_from(&self) -> Result<Option<String>, PgError> {
        let client = self.pool.get().await?;
        let sql = "SELECT value FROM hookbox_meta WHERE key = 'migrating_from'";
        let row = client.query_opt(sql, &[]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Marks a migration from `from` as running (`Some`), or finished (`None`).
    pub async fn mark_migration(&self, from: Option<&str>) -> Result<(), PgError> {
        let client = self.pool.get().await?;
        match from {
            Some(from) => {
                let sql = "INSERT INTO hookbox_meta (key, value) VALUES ('migrating_from', $1) \
                           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";
                client.execute(sql, &[&from]).await?;
            }
            None => {
                let sql = "DELETE FROM hookbox_meta WHERE key = 'migrating_from'";
                client.execute(sql, &[]).await?;
            }
        }
        Ok(())
    }

    /// Counts `n` events as pending again and wakes the workers.
    fn requeued(&self, n: u64) {
        if n > 0 {
            self.pending.add(n);
            self.wake.announce();
        }
    }
}

/// A listing query: its SQL conditions and their parameters.
struct Selection {
    conditions: Vec<String>,
    values: Vec<Box<dyn ToSql + Sync + Send>>,
    /// One more than the page size: whether that row exists tells if the listing goes on.
    fetch: i64,
}

impl Selection {
    fn new(filter: &EventFilter, after: Option<&Cursor>, limit: usize) -> Result<Self, PgError> {
        let mut query = Selection {
            conditions: Vec::new(),
            values: Vec::new(),
            fetch: i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX),
        };
        if let Some(source) = &filter.source {
            // The source's own stream, or one of its routes' (`source:route`): with the "C"
            // collation that is the range between `source:` and `source;`, which the index serves.
            query.add(
                "(source = $ OR (source > $ AND source < $))",
                [
                    Box::new(source.clone()),
                    Box::new(format!("{source}:")),
                    Box::new(format!("{source};")),
                ],
            );
        }
        if let Some(route) = &filter.route {
            query.add("split_part(source, ':', 2) = $", [Box::new(route.clone())]);
        }
        if let Some(state) = filter.state {
            query.add("state = $", [Box::new(state.as_str())]);
        }
        match &filter.event_type {
            Some(TypeMatch::Exact(t)) => query.add("event_type = $", [Box::new(t.clone())]),
            // `left` rather than LIKE, whose wildcards the prefix would have to escape.
            Some(TypeMatch::Prefix(p)) => query.add(
                "left(event_type, char_length($)) = $",
                [Box::new(p.clone()), Box::new(p.clone())],
            ),
            None => {}
        }
        if let Some(origin) = filter.origin {
            // The origin is kept among the stored headers (see `event::origin`).
            let marked = serde_json::json!([[ORIGIN_HEADER, RECONCILED]]);
            let condition = match origin {
                RECONCILED => "headers @> $",
                _ => "NOT headers @> $",
            };
            query.add(condition, [Box::new(marked)]);
        }
        if let Some(since) = filter.since {
            query.add("received_at >= $", [Box::new(ms(since))]);
        }
        if let Some(until) = filter.until {
            query.add("received_at < $", [Box::new(ms(until))]);
        }
        for (condition, values) in search::conditions(&filter.body) {
            query.add_all(&condition, values);
        }
        if let Some(cursor) = after {
            let (at, source, id) = cursor
                .position()
                .ok_or_else(|| PgError::Corrupt("cursor without a position".into()))?;
            query.add(
                "(received_at, source, id) < ($, $, $)",
                [Box::new(ms(at)), Box::new(source), Box::new(id)],
            );
        }
        Ok(query)
    }

    /// Adds `condition`, numbering each `$` in it after the parameters already added.
    fn add<const N: usize>(&mut self, condition: &str, values: [Box<dyn ToSql + Sync + Send>; N]) {
        self.add_all(condition, values.into());
    }

    /// [`Selection::add`] with any number of values.
    fn add_all(&mut self, condition: &str, values: Vec<Box<dyn ToSql + Sync + Send>>) {
        let mut numbered = String::new();
        for (i, part) in condition.split('$').enumerate() {
            if i > 0 {
                numbered.push_str(&format!("${}", self.values.len() + i));
            }
            numbered.push_str(part);
        }
        self.conditions.push(numbered);
        self.values.extend(values);
    }

    /// The query, with `suffix` (e.g. a locking clause) at the end.
    fn sql(&self, suffix: &str) -> String {
        let mut sql = format!("SELECT {COLUMNS} FROM events");
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        let limit = self.values.len() + 1;
        sql.push_str(&format!(
            " ORDER BY received_at DESC, source DESC, id DESC LIMIT ${limit}{suffix}"
        ));
        sql
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(self.values.len() + 1);
        params.extend(
            self.values
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync)),
        );
        params.push(&self.fetch);
        params
    }
}

/// The first `limit` records of `found`, and the cursor after the last when more follow.
fn page(found: &[Row], limit: usize) -> Result<(Vec<EventRecord>, Option<Cursor>), PgError> {
    let items = found
        .iter()
        .take(limit)
        .map(rows::record)
        .collect::<Result<Vec<_>, _>>()?;
    let next = match items.last() {
        Some(last) if found.len() > limit => Some(Cursor::at(last)),
        _ => None,
    };
    Ok((items, next))
}

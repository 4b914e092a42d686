//! Exact counts of events per (stream, state), and per stream and 5-minute bucket the events
//! received, succeeded, gone dead and skipped, read without scanning `events`.
//!
//! Statement-level triggers on `events` (with transition tables) add every statement's net
//! change to `event_counts` in the statement's own transaction, so a count is exact whatever
//! wrote the rows (accept, claim, attempt, requeue, discard, retention, import, or a hand-made
//! `UPDATE`) and a crash or `kill -9` cannot leave it out of step: it commits or rolls back with
//! the change. The triggers count `dead` rows whose body was purged (operator discards) as
//! `discarded`, as [`StateCounts`] does.
//!
//! A single counter row per (stream, state) would serialise every writer of a stream on that
//! row until its commit. Each session instead adds to its own slot (`1 + pg_backend_pid() %
//! 63`), so concurrent groups and instances rarely meet on a row; a count is the sum of its
//! slots. Retention folds the slots into slot 0 now and then (skipping rows a writer holds), so
//! the table keeps about one row per live counter, and bucket counters die with their events.

use std::collections::BTreeMap;

use super::rows::{self, ms};
use super::{PgError, PgStore};
use crate::store::counters::{StreamTally, Tallies};
use crate::store::{Bucket, StateCounts};

/// The counters, their triggers, an index for the oldest unfinished arrival, and the counters'
/// starting values from a full count taken while writers are held off (so no change falls
/// between the count and the triggers).
pub(super) const V6_COUNTS: &str = r#"
CREATE TABLE event_counts (
    stream text COLLATE "C" NOT NULL,
    kind   text NOT NULL,
    at     bigint NOT NULL,
    slot   integer NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (stream, kind, at, slot)
);
-- What one row contributes +1 to while it is stored.
CREATE FUNCTION hookbox_event_counters(state text, body_purged boolean, received_at bigint,
                                       finished_at bigint)
RETURNS TABLE (kind text, at bigint) LANGUAGE sql IMMUTABLE AS $fn$
    SELECT c.kind, c.at FROM (VALUES
        (CASE WHEN state = 'dead' AND body_purged THEN 'discarded' ELSE state END, 0::bigint),
        ('accepted', received_at - received_at % 300000),
        (CASE state WHEN 'succeeded' THEN 'succeeded_at' WHEN 'dead' THEN 'dead_at' END,
         finished_at - finished_at % 300000),
        (CASE WHEN state = 'skipped' THEN 'skipped_at' END, received_at - received_at % 300000)
    ) AS c(kind, at) WHERE c.kind IS NOT NULL AND c.at IS NOT NULL
$fn$;
CREATE FUNCTION hookbox_count_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    -- Each branch names only the transition tables its operation has.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO event_counts AS c (stream, kind, at, slot, n)
        SELECT r.source, k.kind, k.at, 1 + pg_backend_pid() % 63, count(*)
        FROM new_rows r,
             hookbox_event_counters(r.state, r.body_purged, r.received_at, r.finished_at) k
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (stream, kind, at, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO event_counts AS c (stream, kind, at, slot, n)
        SELECT r.source, k.kind, k.at, 1 + pg_backend_pid() % 63, -count(*)
        FROM old_rows r,
             hookbox_event_counters(r.state, r.body_purged, r.received_at, r.finished_at) k
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (stream, kind, at, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO event_counts AS c (stream, kind, at, slot, n)
        SELECT r.source, k.kind, k.at, 1 + pg_backend_pid() % 63, sum(r.d)
        FROM (SELECT source, state, body_purged, received_at, finished_at, 1 AS d FROM new_rows
              UNION ALL
              SELECT source, state, body_purged, received_at, finished_at, -1 FROM old_rows) r,
             hookbox_event_counters(r.state, r.body_purged, r.received_at, r.finished_at) k
        GROUP BY 1, 2, 3 HAVING sum(r.d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (stream, kind, at, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$fn$;
-- The oldest arrival still queued or processing, per stream, is the first entry here.
CREATE INDEX events_unfinished ON events (source, received_at)
    WHERE state IN ('queued', 'processing');
LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE;
CREATE TRIGGER events_count_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookbox_count_events();
CREATE TRIGGER events_count_update AFTER UPDATE ON events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hookbox_count_events();
CREATE TRIGGER events_count_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hookbox_count_events();
INSERT INTO event_counts (stream, kind, at, slot, n)
SELECT r.source, k.kind, k.at, 0, count(*)
FROM events r, hookbox_event_counters(r.state, r.body_purged, r.received_at, r.finished_at) k
GROUP BY 1, 2, 3;
"#;

/// The sums of every stream's counters.
const READ: &str = "SELECT stream, kind, sum(n)::int8 FROM event_counts \
     WHERE kind IN ('queued', 'processing', 'succeeded', 'dead', 'discarded', 'skipped') \
     GROUP BY stream, kind";

/// The sums of the activity counters of the buckets in `$1..$2`.
const READ_BUCKETS: &str = "SELECT stream, kind, at, sum(n)::int8 FROM event_counts \
     WHERE kind IN ('accepted', 'succeeded_at', 'dead_at', 'skipped_at') AND at >= $1 AND at < $2 \
     GROUP BY stream, kind, at";

/// Per stream: the newest arrival and the oldest still unfinished, each one index probe.
const READ_ENDS: &str = "SELECT s.stream, \
         (SELECT max(received_at) FROM events WHERE source = s.stream), \
         (SELECT min(received_at) FROM events \
          WHERE source = s.stream AND state IN ('queued', 'processing')) \
     FROM (SELECT DISTINCT stream FROM event_counts) AS s";

/// Moves the session slots' counts into slot 0 and drops counters that reached zero, so the
/// table holds about one row per live counter. Rows a writer holds are left for next time.
const FOLD: &str = "WITH moved AS ( \
         DELETE FROM event_counts WHERE (stream, kind, at, slot) IN ( \
             SELECT stream, kind, at, slot FROM event_counts WHERE slot <> 0 \
             ORDER BY stream, kind, at, slot LIMIT 10000 FOR UPDATE SKIP LOCKED) \
         RETURNING stream, kind, at, n) \
     INSERT INTO event_counts AS c (stream, kind, at, slot, n) \
     SELECT stream, kind, at, 0, sum(n) FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
     ON CONFLICT (stream, kind, at, slot) DO UPDATE SET n = c.n + EXCLUDED.n";

/// Width of an activity bucket, ms: the triggers' `300000` must equal it.
pub use crate::store::counters::BUCKET_MS;

impl PgStore {
    /// Events per state of every stream holding any, exact as of the last commit.
    pub async fn state_counts(&self) -> Result<BTreeMap<String, StateCounts>, PgError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(READ).await?;
        let mut counts: BTreeMap<String, StateCounts> = BTreeMap::new();
        for row in client.query(&statement, &[]).await? {
            let n: i64 = row.try_get(2)?;
            let n = u64::try_from(n)
                .map_err(|_| PgError::Corrupt(format!("negative event count {n}")))?;
            if n == 0 {
                continue;
            }
            let stream: String = row.try_get(0)?;
            let state: &str = row.try_get(1)?;
            let entry = counts.entry(stream).or_default();
            let slot = match state {
                "queued" => &mut entry.queued,
                "processing" => &mut entry.processing,
                "succeeded" => &mut entry.succeeded,
                "dead" => &mut entry.dead,
                "discarded" => &mut entry.discarded,
                "skipped" => &mut entry.skipped,
                other => return Err(PgError::Corrupt(format!("counted state {other:?}"))),
            };
            *slot = n;
        }
        counts.retain(|_, c| *c != StateCounts::default());
        Ok(counts)
    }

    /// Every stream's tally, with the activity of the [`BUCKET_MS`] buckets starting in
    /// `window` (`from..to`, unix ms) when given; costs a few index probes per stream however
    /// many events are stored.
    pub async fn tallies(&self, window: Option<(u64, u64)>) -> Result<Tallies, PgError> {
        let mut tallies: Tallies = self
            .state_counts()
            .await?
            .into_iter()
            .map(|(stream, counts)| {
                (
                    stream,
                    StreamTally {
                        counts,
                        ..StreamTally::default()
                    },
                )
            })
            .collect();
        let client = self.pool.get().await?;
        let ends = client.prepare_cached(READ_ENDS).await?;
        for row in client.query(&ends, &[]).await? {
            let last: Option<i64> = row.try_get(1)?;
            let Some(last) = last else { continue };
            let tally = tallies.entry(row.try_get(0)?).or_default();
            tally.last_event_at = Some(rows::from_ms(last)?);
            let oldest: Option<i64> = row.try_get(2)?;
            tally.oldest_unfinished_at = oldest.map(rows::from_ms).transpose()?;
        }
        let Some((from, to)) = window else {
            return Ok(tallies);
        };
        // A window starting inside a bucket includes that bucket.
        let from = from - from % BUCKET_MS;
        let buckets = client.prepare_cached(READ_BUCKETS).await?;
        for row in client.query(&buckets, &[&ms(from), &ms(to)]).await? {
            let n = u64::try_from(row.try_get::<_, i64>(3)?).unwrap_or(0);
            if n == 0 {
                continue;
            }
            let at = rows::from_ms(row.try_get(2)?)?;
            let tally = tallies.entry(row.try_get(0)?).or_default();
            let bucket = (tally.buckets.entry(at)).or_insert_with(|| Bucket {
                start: at,
                ..Bucket::default()
            });
            match row.try_get(1)? {
                "accepted" => bucket.accepted = n,
                "succeeded_at" => bucket.succeeded = n,
                "dead_at" => bucket.dead = n,
                _ => bucket.skipped = n,
            }
        }
        Ok(tallies)
    }

    /// Folds the counters' session slots (see [`FOLD`]); one instance at a time, the others
    /// skip. Called with retention, which runs periodically on every instance.
    pub(super) async fn fold_counters(&self) -> Result<(), PgError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let lock = tx
            .query_one(
                "SELECT pg_try_advisory_xact_lock(hashtext('hookbox counters ' || current_schema()))",
                &[],
            )
            .await?;
        if !lock.try_get::<_, bool>(0)? {
            return Ok(());
        }
        tx.execute(FOLD, &[]).await?;
        tx.execute("DELETE FROM event_counts WHERE slot = 0 AND n = 0", &[])
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Queued and processing events in all streams, from the counters.
pub(super) const PENDING: &str = "SELECT coalesce(sum(n), 0)::int8 FROM event_counts \
     WHERE kind IN ('queued', 'processing') AND at = 0";

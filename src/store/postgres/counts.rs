//! Exact counts of events per (stream, state), read without scanning `events`.
//!
//! Statement-level triggers on `events` (with transition tables) add every statement's net
//! change to `event_counts` in the statement's own transaction, so a count is exact whatever
//! wrote the rows (accept, claim, attempt, requeue, discard, retention, import, or a hand-made
//! `UPDATE`) and a crash or `kill -9` cannot leave it out of step: it commits or rolls back with
//! the change. The triggers count `dead` rows whose body was purged (operator discards) as
//! `discarded`, as [`StateCounts`] does.
//!
//! A single counter row per (stream, state) would serialise every writer of a stream on that
//! row until its commit. Each session instead adds to its own slot (`pg_backend_pid() % 64`),
//! so concurrent groups and instances rarely meet on a row; a count is the sum of its slots.
//! The table holds at most streams × 6 states × 64 slots rows, so it needs no folding.

use std::collections::BTreeMap;

use super::{PgError, PgStore};
use crate::store::StateCounts;

/// The counters, their triggers, and their starting values from a full count taken while
/// writers are held off (so no change falls between the count and the triggers).
pub(super) const V6_COUNTS: &str = r#"
CREATE TABLE event_counts (
    stream text COLLATE "C" NOT NULL,
    state  text NOT NULL,
    slot   integer NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (stream, state, slot)
);
CREATE FUNCTION hookbox_count_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    -- Each branch names only the transition tables its operation has.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO event_counts AS c (stream, state, slot, n)
        SELECT source, CASE WHEN state = 'dead' AND body_purged THEN 'discarded' ELSE state END,
               pg_backend_pid() % 64, count(*)
        FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (stream, state, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO event_counts AS c (stream, state, slot, n)
        SELECT source, CASE WHEN state = 'dead' AND body_purged THEN 'discarded' ELSE state END,
               pg_backend_pid() % 64, -count(*)
        FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (stream, state, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO event_counts AS c (stream, state, slot, n)
        SELECT stream, state, pg_backend_pid() % 64, sum(d) FROM (
            SELECT source AS stream, CASE WHEN state = 'dead' AND body_purged THEN 'discarded'
                   ELSE state END AS state, 1 AS d FROM new_rows
            UNION ALL
            SELECT source, CASE WHEN state = 'dead' AND body_purged THEN 'discarded'
                   ELSE state END, -1 FROM old_rows
        ) AS change GROUP BY 1, 2 HAVING sum(d) <> 0 ORDER BY 1, 2
        ON CONFLICT (stream, state, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$fn$;
LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE;
CREATE TRIGGER events_count_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookbox_count_events();
CREATE TRIGGER events_count_update AFTER UPDATE ON events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hookbox_count_events();
CREATE TRIGGER events_count_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hookbox_count_events();
INSERT INTO event_counts (stream, state, slot, n)
SELECT source, CASE WHEN state = 'dead' AND body_purged THEN 'discarded' ELSE state END, 0,
       count(*)
FROM events GROUP BY 1, 2;
"#;

/// The sums of every stream's counters.
const READ: &str = "SELECT stream, state, sum(n)::int8 FROM event_counts GROUP BY stream, state";

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
}

/// Queued and processing events in all streams, from the counters.
pub(super) const PENDING: &str = "SELECT coalesce(sum(n), 0)::int8 FROM event_counts \
     WHERE state IN ('queued', 'processing')";

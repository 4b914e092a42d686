//! Attempt results in groups: the results the worker reports at one moment are recorded in one
//! transaction — one locking read of their rows, one `UPDATE … FROM unnest(…)`, one commit —
//! instead of a transaction each (see `batch.rs` for how groups form).
//!
//! Each result still applies only while its claim is current (its lease may have expired and
//! the event been claimed again, here or on another instance): that is decided per result on
//! the locked row, in the order the results came, so two results for one event in one group
//! behave as they would one after the other.

use std::collections::HashMap;
use std::sync::Arc;

use deadpool_postgres::Pool;

use super::batch::Batcher;
use super::ordered;
use super::pending::PendingCount;
use super::rows::{self, COLUMNS};
use super::wake::Wake;
use super::PgError;
use crate::store::{Attempt, EventRecord, Next};

/// Most results in one group.
const MAX_GROUP: usize = 128;
/// Groups of attempt results in flight at once.
const LANES: usize = 2;

/// Starts grouping the attempt results of a store: final events leave the pending count, and
/// an event leaving its ordering line wakes the workers for the next one.
pub fn start(pool: &Pool, wake: &Wake, pending: &Arc<PendingCount>) -> Batcher<Finish, bool> {
    let (pool, wake, pending) = (pool.clone(), wake.clone(), pending.clone());
    Batcher::start(LANES, MAX_GROUP, move |group| {
        let (pool, wake, pending) = (pool.clone(), wake.clone(), pending.clone());
        async move {
            let (answers, finished) = finish_group(&pool, group).await;
            pending.sub(finished.finals);
            if finished.promoted {
                // The next event of a line is due now, for this instance or another.
                wake.announce();
            }
            answers
        }
    })
}

/// One result to record: the claim it ends, the attempt made, and where the event goes next.
pub type Finish = (EventRecord, Attempt, Next);

/// What recording a group changed, for the store's caches and wake-ups.
#[derive(Default)]
struct Finished {
    /// Events that reached a final state.
    pub finals: u64,
    /// True when an event left its ordering line, so the next of that line is due.
    pub promoted: bool,
}

/// Records the results of one group; answers, in order, whether each was current. `Ok`
/// answers are committed.
async fn finish_group(pool: &Pool, group: Vec<Finish>) -> (Vec<Result<bool, PgError>>, Finished) {
    let count = group.len();
    match record(pool, group).await {
        Ok((answers, finished)) => (answers.into_iter().map(Ok).collect(), finished),
        Err(e) => (
            (0..count).map(|_| Err(e.clone())).collect(),
            Finished::default(),
        ),
    }
}

async fn record(pool: &Pool, group: Vec<Finish>) -> Result<(Vec<bool>, Finished), PgError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let select = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM events e JOIN unnest($1::text[], $2::text[]) AS u(s, i) \
             ON e.source = u.s AND e.id = u.i ORDER BY e.source, e.id FOR UPDATE OF e"
        ))
        .await?;
    let sources: Vec<&str> = group.iter().map(|(c, _, _)| c.source.as_str()).collect();
    let ids: Vec<&str> = group.iter().map(|(c, _, _)| c.id.as_str()).collect();
    let mut records: HashMap<(String, String), (EventRecord, bool)> = HashMap::new();
    for row in tx.query(&select, &[&sources, &ids]).await? {
        let record = rows::record(&row)?;
        let was_in_line = record.in_line();
        records.insert(
            (record.source.clone(), record.id.clone()),
            (record, was_in_line),
        );
    }
    let mut answers = Vec::with_capacity(group.len());
    let mut changed_keys = Vec::new();
    for (claimed, attempt, next) in group {
        let key = (claimed.source.clone(), claimed.id.clone());
        let current = match records.get_mut(&key) {
            Some((record, _)) if record.holds_claim_of(&claimed) => {
                let now = attempt.ended_at();
                record.record_attempt(attempt, next, now);
                true
            }
            _ => false,
        };
        if current && !changed_keys.contains(&key) {
            changed_keys.push(key);
        }
        answers.push(current);
    }
    let (changed, was_in_line): (Vec<EventRecord>, Vec<bool>) = changed_keys
        .iter()
        .filter_map(|key| records.remove(key))
        .unzip();
    rows::save(&tx, &changed, false).await?;
    let promoted = ordered::leave_lines(&tx, &changed, &was_in_line).await?;
    tx.commit().await?;
    let finals = changed.iter().filter(|r| r.state.is_final()).count() as u64;
    Ok((answers, Finished { finals, promoted }))
}

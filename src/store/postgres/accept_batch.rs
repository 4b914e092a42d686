//! Plain accepts (no routes, no ordering key) in groups: the events waiting at one moment go to
//! the server as one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING`, one round trip and
//! one commit for the group (see `batch.rs` for how groups form).
//!
//! Dedupe stays exact: the rows are inserted in `(source, id)` order, so two groups (of this
//! instance or another) racing on the same ids wait on each other's rows in one order and never
//! deadlock; a conflicting row waited for the other writer's commit, so the look-up that follows
//! (a new snapshot) sees it. An id twice in one group is decided once: the later calls are
//! duplicates of the first.

use std::collections::HashMap;
use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio_postgres::types::Json;

use super::batch::Batcher;
use super::pending::PendingCount;
use super::rows::{self, ms};
use super::wake::Wake;
use super::PgError;
use crate::store::{Accepted, NewEvent, State};

/// Most events in one group: bounds a statement's parameters and the time a lock is held.
const MAX_GROUP: usize = 256;
/// Groups of accepts in flight at once: while they wait for their commits, the next group
/// gathers. Few, so groups grow under load; more than one, so a commit never idles the path.
const LANES: usize = 3;

/// Starts grouping the plain accepts of a store: each group's new events count as pending and
/// wake the workers (here and, through `NOTIFY`, on other instances).
pub fn start(pool: &Pool, wake: &Wake, pending: &Arc<PendingCount>) -> Batcher<NewEvent, Accepted> {
    let (pool, wake, pending) = (pool.clone(), wake.clone(), pending.clone());
    Batcher::start(LANES, MAX_GROUP, move |group| {
        let (pool, wake, pending) = (pool.clone(), wake.clone(), pending.clone());
        async move {
            let answers = accept_group(&pool, &group).await;
            let new = answers
                .iter()
                .filter(|a| matches!(a, Ok(Accepted::New)))
                .count();
            if new > 0 {
                pending.add(new as u64);
                wake.announce();
            }
            answers
        }
    })
}

const INSERT: &str = "INSERT INTO events (source, id, received_at, event_type, headers, body, \
         body_len, state, next_attempt_at) \
     SELECT source, id, received_at, event_type, headers, body, body_len, 'queued', received_at \
     FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::jsonb[], $6::bytea[], \
                 $7::int8[]) AS u(source, id, received_at, event_type, headers, body, body_len) \
     ORDER BY source, id \
     ON CONFLICT (source, id) DO NOTHING \
     RETURNING source, id";

const LOOKUP: &str = "SELECT e.source, e.id, e.state FROM events e \
     JOIN unnest($1::text[], $2::text[]) AS u(source, id) ON e.source = u.source AND e.id = u.id";

/// Stores the events of one group and answers each, in order. `Ok` answers are committed.
async fn accept_group(pool: &Pool, events: &[NewEvent]) -> Vec<Result<Accepted, PgError>> {
    match decide(pool, events).await {
        Ok(answers) => answers.into_iter().map(Ok).collect(),
        Err(e) => events.iter().map(|_| Err(e.clone())).collect(),
    }
}

async fn decide(pool: &Pool, events: &[NewEvent]) -> Result<Vec<Accepted>, PgError> {
    // The first call of each id speaks for the group's later calls of it.
    let mut first: HashMap<(&str, &str), usize> = HashMap::new();
    let leaders: Vec<usize> = (0..events.len())
        .filter(|&i| {
            let ev = &events[i];
            *first.entry((&ev.source, &ev.id)).or_insert(i) == i
        })
        .collect();
    let client = pool.get().await?;
    let insert = client.prepare_cached(INSERT).await?;
    let lookup = client.prepare_cached(LOOKUP).await?;
    let mut answers: Vec<Option<Accepted>> = vec![None; events.len()];
    let mut open = leaders;
    // An id may be forgotten by retention between a conflict and the look-up; the next insert
    // then wins. Twice in a row would need a sweep per round trip, so three tries.
    for _ in 0..3 {
        if open.is_empty() {
            break;
        }
        let group: Vec<&NewEvent> = open.iter().map(|&i| &events[i]).collect();
        let sources: Vec<&str> = group.iter().map(|e| e.source.as_str()).collect();
        let ids: Vec<&str> = group.iter().map(|e| e.id.as_str()).collect();
        let received: Vec<i64> = group.iter().map(|e| ms(e.received_at)).collect();
        let types: Vec<Option<&str>> = group.iter().map(|e| e.event_type.as_deref()).collect();
        let headers: Vec<_> = group.iter().map(|e| Json(&e.headers)).collect();
        let bodies: Vec<&[u8]> = group.iter().map(|e| e.body.as_ref()).collect();
        let lens: Vec<i64> = group.iter().map(|e| ms(e.body.len() as u64)).collect();
        let inserted = client
            .query(
                &insert,
                &[&sources, &ids, &received, &types, &headers, &bodies, &lens],
            )
            .await?;
        for row in &inserted {
            let key: (&str, &str) = (row.try_get(0)?, row.try_get(1)?);
            if let Some(&i) = first.get(&key) {
                answers[i] = Some(Accepted::New);
            }
        }
        open.retain(|&i| answers[i].is_none());
        if open.is_empty() {
            break;
        }
        let sources: Vec<&str> = open.iter().map(|&i| events[i].source.as_str()).collect();
        let ids: Vec<&str> = open.iter().map(|&i| events[i].id.as_str()).collect();
        for row in client.query(&lookup, &[&sources, &ids]).await? {
            let key: (&str, &str) = (row.try_get(0)?, row.try_get(1)?);
            if let Some(&i) = first.get(&key) {
                answers[i] = Some(Accepted::Duplicate(rows::state(row.try_get(2)?)?));
            }
        }
        open.retain(|&i| answers[i].is_none());
    }
    if !open.is_empty() {
        return Err(PgError::Raced(
            "event id kept disappearing between insert and look-up".into(),
        ));
    }
    let mut out = Vec::with_capacity(events.len());
    for (i, ev) in events.iter().enumerate() {
        let leader = first.get(&(ev.source.as_str(), ev.id.as_str())).copied();
        let answer = leader.and_then(|l| answers[l]);
        out.push(match answer {
            // A later call of an id its group just stored: that event is queued.
            Some(Accepted::New) if leader != Some(i) => Accepted::Duplicate(State::Queued),
            Some(answer) => answer,
            None => return Err(PgError::Corrupt("an accept went unanswered".into())),
        });
    }
    Ok(out)
}

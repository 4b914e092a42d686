//! Per-key ordering on a real server: only the head of a key is claimed, by any instance; a
//! dead head blocks or is skipped; a discard or a requeue moves the line on; lines and heads
//! are reported as redb reports them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;

use tokio::sync::Mutex;

use super::*;
use crate::ordering::{EventOrdering, OnDead};
use crate::store::{Attempt, Next, Outcome, State};

fn ordered(id: &str, at: u64, key: &str, on_dead: OnDead) -> NewEvent {
    let mut ev = event(id, at);
    ev.ordering = Some(EventOrdering {
        key: key.into(),
        on_dead,
    });
    ev
}

async fn accept_all(store: &PgStore, events: &[(&str, u64, &str)], on_dead: OnDead) {
    for (id, at, key) in events {
        store.accept(ordered(id, *at, key, on_dead)).await.unwrap();
    }
}

/// Ids of everything claimable at `now`, claimed, in claim order.
async fn claim_ids(store: &PgStore, now: u64) -> Vec<String> {
    let mut ids: Vec<String> = claim(store, now, 100, 60_000)
        .await
        .into_iter()
        .map(|c| c.record.id)
        .collect();
    ids.sort();
    ids
}

async fn finish(store: &PgStore, claimed: &EventRecord, next: Next) {
    let outcome = match next {
        Next::Succeeded => Outcome::Success,
        _ => Outcome::Permanent,
    };
    let attempt = Attempt {
        number: claimed.attempt_count,
        started_at: claimed.claimed_at.expect("claimed"),
        duration_ms: 1,
        outcome,
        status: None,
        exit_code: None,
        error: None,
    };
    assert!(store.record_attempt(claimed, attempt, next).await.unwrap());
}

/// `(state, waits for its key)` of event `id`.
async fn state(store: &PgStore, id: &str) -> (State, bool) {
    let r = record(store, id).await;
    (r.state, r.waits_for_key())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn two_instances_never_run_two_events_of_one_key() {
    const KEYS: usize = 5;
    const PER_KEY: usize = 12;
    let db = TestDb::new().await;
    let second = db.another_instance().await;
    for i in 0..PER_KEY {
        for k in 0..KEYS {
            let at = (i * KEYS + k) as u64;
            let key = format!("k{k}");
            let store = if i % 2 == 0 { &db.store } else { &second };
            store
                .accept(ordered(&format!("{key}-{i:02}"), at, &key, OnDead::Block))
                .await
                .unwrap();
        }
    }
    let ran = run_workers(&[db.store.clone(), second], Arc::new(AtomicBool::new(true))).await;
    for k in 0..KEYS {
        let key = format!("k{k}");
        let expected: Vec<String> = (0..PER_KEY).map(|i| format!("{key}-{i:02}")).collect();
        assert_eq!(ran[&key], expected, "{key} ran in arrival order, each once");
    }
}

/// Events of one key accepted on two instances while both claim and finish that key's events:
/// an event joining as the head leaves is never stranded, each instance's events keep their
/// order, and none overlaps another.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn events_joining_while_the_head_leaves_are_never_stranded() {
    const EACH: usize = 30;
    let db = TestDb::new().await;
    let stores = [db.store.clone(), db.another_instance().await];
    let done = Arc::new(AtomicBool::new(false));
    let mut accepting = Vec::new();
    for (n, store) in stores.iter().enumerate() {
        let store = store.clone();
        accepting.push(tokio::spawn(async move {
            for i in 0..EACH {
                let id = format!("i{n}-{i:02}");
                store
                    .accept(ordered(&id, i as u64, "K", OnDead::Block))
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
            }
        }));
    }
    let (all, stop) = (stores.to_vec(), done.clone());
    let workers = tokio::spawn(async move { run_workers(&all, stop).await });
    for task in accepting {
        task.await.unwrap();
    }
    done.store(true, AtomicOrdering::SeqCst);
    let ran = workers.await.unwrap();
    let ran = &ran["K"];
    assert_eq!(ran.len(), 2 * EACH, "every event ran once: {ran:?}");
    for n in 0..2 {
        let mine: Vec<&String> = ran
            .iter()
            .filter(|id| id.starts_with(&format!("i{n}-")))
            .collect();
        let mut sorted = mine.clone();
        sorted.sort();
        assert_eq!(
            mine, sorted,
            "instance {n}'s events in the order it accepted them"
        );
    }
}

/// Two workers per store claiming and finishing every event until `done` and nothing was
/// claimable for a while; returns, per key, the events in the order they were claimed, having
/// checked at each claim that the one claimed before it had finished.
async fn run_workers(stores: &[PgStore], done: Arc<AtomicBool>) -> HashMap<String, Vec<String>> {
    let ran: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    // The clock of every claim: the next of a key is due from when the one before finished.
    let clock = Arc::new(AtomicU64::new(1_000));
    let mut tasks = Vec::new();
    for worker in 0..2 * stores.len() {
        let store = stores[worker % stores.len()].clone();
        let (ran, clock, done) = (ran.clone(), clock.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut idle = 0;
            while idle < 20 || !done.load(AtomicOrdering::SeqCst) {
                let now = clock.fetch_add(10, AtomicOrdering::SeqCst);
                let batch = claim(&store, now, 3, 60_000).await;
                if batch.is_empty() {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                idle = 0;
                for c in batch {
                    let key = c.record.ordering.clone().expect("ordered").key;
                    {
                        let mut ran = ran.lock().await;
                        let line = ran.entry(key.clone()).or_default();
                        if let Some(previous) = line.last() {
                            // The one claimed before must be finished: never two at once.
                            let before = store.get("s", previous).await.unwrap().unwrap();
                            assert_eq!(before.state, State::Succeeded, "{previous} still runs");
                        }
                        line.push(c.record.id.clone());
                    }
                    tokio::task::yield_now().await;
                    finish(&store, &c.record, Next::Succeeded).await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let ran = ran.lock().await;
    ran.clone()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn an_expired_head_is_rescued_and_still_the_head() {
    let db = TestDb::new().await;
    let store = &db.store;
    accept_all(store, &[("e1", 1, "K"), ("e2", 2, "K")], OnDead::Block).await;
    assert_eq!(claim_ids(store, 5).await, ["e1"]);
    let other = db.another_instance().await;
    assert!(claim(&other, 100, 10, 100).await.is_empty(), "lease held");
    let rescued = claim(&other, 60_005, 10, 100).await;
    let ids: Vec<_> = rescued.iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(ids, ["e1"], "the head again, e2 still waits");
    assert_eq!(state(store, "e2").await, (State::Queued, true));
}

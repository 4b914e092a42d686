//! Store semantics on a real sled database in a temp dir.

use std::time::Duration;

use bytes::Bytes;

use super::SledStore as Store;
use crate::config::StorageConfig;
use crate::store::keys::timed_key;
use crate::store::*;

fn config(dir: &std::path::Path) -> StorageConfig {
    StorageConfig {
        data_dir: dir.to_path_buf(),
        cache_capacity_bytes: 1 << 20,
        retention: Duration::from_millis(100),
        dedupe_window: Duration::from_millis(1000),
        ..StorageConfig::default()
    }
}

fn event(id: &str, at: u64) -> NewEvent {
    NewEvent {
        source: "s".into(),
        id: id.into(),
        received_at: at,
        event_type: Some("t".into()),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Bytes::from_static(b"{}"),
    }
}

async fn claim(store: &Store, now: u64, lease: u64) -> Vec<Claimed> {
    store
        .claim_due(now, 10, 3, &mut |_| Some(lease))
        .await
        .expect("claim")
}

fn attempt(claimed: &Claimed, outcome: Outcome) -> Attempt {
    Attempt {
        number: claimed.record.attempt_count,
        started_at: claimed.record.claimed_at.expect("claimed"),
        duration_ms: 1,
        outcome,
        status: None,
        exit_code: None,
        error: None,
    }
}

#[tokio::test]
async fn accept_dedupes_and_claim_respects_due_time() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&config(dir.path())).expect("open");
    assert_eq!(
        store.accept(event("a", 100)).await.expect("accept"),
        Accepted::New
    );
    assert_eq!(
        store.accept(event("a", 100)).await.expect("accept"),
        Accepted::Duplicate(State::Queued)
    );
    assert_eq!(store.pending(), 1);
    assert!(claim(&store, 99, 50).await.is_empty(), "not due yet");
    let claimed = claim(&store, 100, 50).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].record.state, State::Processing);
    assert_eq!(claimed[0].body, Bytes::from_static(b"{}"));
    assert!(claim(&store, 120, 50).await.is_empty(), "leased");

    let done = store
        .record_attempt(
            &claimed[0].record,
            attempt(&claimed[0], Outcome::Success),
            Next::Succeeded,
        )
        .await
        .expect("record");
    assert!(done);
    assert_eq!(store.pending(), 0);
    let record = store.get("s", "a").expect("get").expect("exists");
    assert_eq!(record.state, State::Succeeded);
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(store.next_due().expect("next"), None);
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_stale_result_ignored() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&config(dir.path())).expect("open");
    store.accept(event("a", 0)).await.expect("accept");
    let first = claim(&store, 0, 10).await.remove(0);
    assert_eq!(
        store.next_due().expect("next"),
        Some(10),
        "the lease is the due time"
    );
    let second = claim(&store, 10, 10).await.remove(0);
    assert_eq!(second.record.attempt_count, 2);
    assert_eq!(second.record.attempts[0].outcome, Outcome::Abandoned);
    let stale = store
        .record_attempt(
            &first.record,
            attempt(&first, Outcome::Success),
            Next::Succeeded,
        )
        .await
        .expect("record");
    assert!(!stale, "the first claim is no longer current");
    // Third abandonment exhausts max_attempts = 3: the event goes dead instead of being claimed.
    let _third = claim(&store, 20, 10).await.remove(0);
    assert!(claim(&store, 30, 10).await.is_empty());
    let record = store.get("s", "a").expect("get").expect("exists");
    assert_eq!(record.state, State::Dead);
    assert_eq!(store.pending(), 0);
}

#[tokio::test]
async fn recovery_requeues_processing_events_after_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let store = Store::open(&config(dir.path())).expect("open");
        store.accept(event("a", 0)).await.expect("accept");
        store.accept(event("b", 0)).await.expect("accept");
        let claimed = claim(&store, 0, 1_000_000).await;
        assert_eq!(claimed.len(), 2);
        store.close().await.expect("close");
    }
    let store = Store::open(&config(dir.path())).expect("reopen");
    assert_eq!(store.pending(), 2);
    assert_eq!(store.recover(5).expect("recover"), 2);
    let again = claim(&store, 5, 10).await;
    assert_eq!(
        again.len(),
        2,
        "both back in the queue at once, not after the lease"
    );
    assert!(again
        .iter()
        .all(|c| c.record.attempts[0].outcome == Outcome::Abandoned));
}

#[tokio::test]
async fn retention_purges_the_body_then_forgets_the_id() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&config(dir.path())).expect("open");
    store.accept(event("a", 0)).await.expect("accept");
    let c = claim(&store, 0, 10).await.remove(0);
    let a = attempt(&c, Outcome::Success);
    store
        .record_attempt(&c.record, a, Next::Succeeded)
        .await
        .expect("record");
    let finished = store
        .get("s", "a")
        .expect("get")
        .expect("exists")
        .finished_at
        .expect("done");

    assert_eq!(
        store.expire(finished + 99, 10).expect("expire"),
        0,
        "within retention"
    );
    assert_eq!(store.expire(finished + 100, 10).expect("expire"), 1);
    assert_eq!(store.body("s", "a").expect("body"), None);
    let tombstone = store.get("s", "a").expect("get").expect("still known");
    assert!(tombstone.body_purged);
    assert_eq!(
        store.accept(event("a", 500)).await.expect("accept"),
        Accepted::Duplicate(State::Succeeded),
        "still a duplicate within the dedupe window"
    );
    assert_eq!(store.expire(finished + 1000, 10).expect("expire"), 1);
    assert_eq!(store.get("s", "a").expect("get"), None);
}

/// Bodies written before they were keyed by arrival time (event key alone) are still read,
/// handed to the worker and purged.
#[tokio::test]
async fn a_body_under_the_old_key_is_read_and_purged() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&config(dir.path())).expect("open");
    store.accept(event("a", 7)).await.expect("accept");
    let bodies = store.backend().expect("open").trees.bodies.clone();
    let key = event_key("s", "a");
    let body = bodies
        .remove(timed_key(7, &key))
        .expect("remove")
        .expect("time-ordered");
    bodies.insert(key.as_slice(), body).expect("insert");

    assert_eq!(
        store.body("s", "a").expect("body"),
        Some(Bytes::from_static(b"{}"))
    );
    let c = claim(&store, 7, 10).await.remove(0);
    assert_eq!(c.body, Bytes::from_static(b"{}"), "the worker gets it too");
    let a = attempt(&c, Outcome::Success);
    let next = Next::Succeeded;
    store
        .record_attempt(&c.record, a, next)
        .await
        .expect("record");
    let finished = store
        .get("s", "a")
        .expect("get")
        .expect("exists")
        .finished_at;
    let purge_at = finished.expect("done") + 100;
    assert_eq!(store.expire(purge_at, 10).expect("expire"), 1);
    assert_eq!(store.body("s", "a").expect("body"), None);
    assert!(bodies.is_empty(), "nothing left behind");
}

/// One transaction holding two copies of an id: the second sees the first's write.
#[tokio::test]
async fn a_batch_with_one_id_twice_accepts_it_once() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&config(dir.path())).expect("open");
    let batch = [event("a", 1), event("b", 1), event("a", 2), event("c", 3)];
    let outcomes = store.backend().expect("open").trees.accept_many(&batch);
    let outcomes: Vec<_> = outcomes
        .expect("write")
        .into_iter()
        .map(|o| o.expect("accept"))
        .collect();
    let duplicate = Accepted::Duplicate(State::Queued);
    assert_eq!(
        outcomes,
        [Accepted::New, Accepted::New, duplicate, Accepted::New]
    );
    let record = store.get("s", "a").expect("get").expect("stored");
    assert_eq!(record.received_at, 1, "the first copy wins");
    assert_eq!(store.backend().expect("open").trees.due.len(), 3);
}

/// Concurrent accepts, many of one id, through the batch task: one `New` per id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_accepts_count_each_id_once() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&config(dir.path())).expect("open");
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.accept(event(&format!("e{}", i % 50), 1)).await })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        new += usize::from(task.await.expect("task").expect("accept") == Accepted::New);
    }
    assert_eq!(new, 50);
    assert_eq!(store.pending(), 50);
    store.close().await.expect("close");
}

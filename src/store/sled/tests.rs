//! Store semantics on a real sled database in a temp dir.

use std::time::Duration;

use bytes::Bytes;

use super::SledStore as Store;
use crate::config::StorageConfig;
use crate::store::embedded_tests::{attempt, event};
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

async fn claim(store: &Store, now: u64, lease: u64) -> Vec<Claimed> {
    store
        .claim_due(now, 10, 3, &mut |_| Some(lease))
        .await
        .expect("claim")
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

//! Store semantics on a real sled database in a temp dir.

use std::time::Duration;

use super::SledStore as Store;
use crate::config::StorageConfig;
use crate::store::embedded_tests::event;
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

#[tokio::test]
async fn migrating_into_sled_is_a_declared_refusal_and_it_has_no_ordering_lines() {
    use crate::config::StorageBackend;
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::store::embedded_tests::open(StorageBackend::Sled, dir.path()).await;
    for refused in [
        store.import(Vec::new()).await.map(drop),
        store.finish_migration().await,
    ] {
        match refused {
            Err(StoreError::Config(why)) => assert!(
                why.contains("is not supported by sled"),
                "names the backend: {why}"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // Config load refuses ordering on sled, so there is truly no line to show.
    let lines = store.ordering_lines(None, true).await.expect("lines");
    assert!(lines.lines.is_empty() && !lines.truncated);
    assert_eq!(store.ordering_head("s", "k").await.expect("head"), None);
    store.close().await.expect("close");
}

#[tokio::test]
async fn a_store_from_before_counters_gets_them_at_open() {
    use crate::config::StorageBackend;
    use crate::store::embedded_tests::{counters_exact, open, varied};
    let dir = tempfile::tempdir().expect("dir");
    let store = open(StorageBackend::Sled, dir.path()).await;
    let expected = varied(&store).await;
    store.close().await.expect("close");
    drop(store);
    {
        // sled's I/O threads let go of the directory lock a moment after the close.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let db = loop {
            match ::sled::open(dir.path()) {
                Ok(db) => break db,
                Err(e) if std::time::Instant::now() > deadline => panic!("open: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        assert!(db.drop_tree("counters").expect("drop"));
        db.flush().expect("flush");
    }
    let store = open(StorageBackend::Sled, dir.path()).await;
    assert_eq!(
        store.counts(&EventFilter::default()).await.expect("counts"),
        (expected, true)
    );
    counters_exact(&store).await;
    store.close().await.expect("close");
}

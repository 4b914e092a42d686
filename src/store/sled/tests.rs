//! What only the sled backend does: its batch of accepts, its index walk budget, and building
//! counters in a database from before them. (What every backend does is in
//! `store::conformance`.)

use std::time::Duration;

use super::SledStore as Store;
use crate::config::StorageConfig;
use crate::store::conformance::{event, settle_some, Kind, Under};
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
async fn a_walk_stops_at_its_budget_with_a_cursor_that_leads_on() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&config(dir.path())).expect("open");
    for i in 0..5 {
        let accepted = crate::store::backend::Backend::accept(&store, event(&format!("e{i}"), i));
        assert_eq!(accepted.await.expect("accept"), Accepted::New);
    }
    let backend = store.backend().expect("backend");
    let dead = EventFilter {
        state: Some(State::Dead),
        ..EventFilter::default()
    };
    let mut seen = 0;
    let next = backend.trees.walk(&dead, None, 3, |_| {
        seen += 1;
        Ok(true)
    });
    assert_eq!(seen, 0, "nothing matches");
    let next = next.expect("walk").expect("budget reached before the end");
    let all = EventFilter::default();
    let rest = backend.trees.walk(&all, Some(&next), 3, |_| Ok(true));
    assert_eq!(
        rest.expect("walk"),
        None,
        "the last two entries finish the walk"
    );
    let page = store.list(&all, 5, Some(&next)).expect("list");
    let ids: Vec<_> = page.items.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["e1", "e0"]);
}

#[tokio::test]
async fn a_store_from_before_counters_gets_them_at_open() {
    let t = Under::new(Kind::Sled).await;
    let expected = settle_some(&t).await;
    let t = t
        .reopen_after(|dir| {
            // sled's I/O threads let go of the directory lock a moment after the close.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            let db = loop {
                match ::sled::open(dir) {
                    Ok(db) => break db,
                    Err(e) if std::time::Instant::now() > deadline => panic!("open: {e}"),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            };
            assert!(db.drop_tree("counters").expect("drop"));
            db.flush().expect("flush");
        })
        .await;
    let filter = EventFilter::default();
    assert_eq!(t.counts(&filter).await.expect("counts"), (expected, true));
}

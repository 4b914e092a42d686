//! Accepting events: dedupe, concurrency, and waking other instances.

use std::sync::Arc;

use super::*;
use crate::store::{Accepted, State};

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn a_new_event_is_queued_and_a_duplicate_reports_its_state() {
    let db = TestDb::new().await;
    let store = &db.store;
    assert_eq!(
        store.accept(event("e1", 1_000)).await.unwrap(),
        Accepted::New
    );

    let r = record(store, "e1").await;
    assert_eq!((r.source.as_str(), r.id.as_str()), ("s", "e1"));
    assert_eq!(r.state, State::Queued);
    assert_eq!(r.received_at, 1_000);
    assert_eq!(r.next_attempt_at, Some(1_000));
    assert_eq!(r.event_type.as_deref(), Some("t"));
    assert_eq!(
        r.headers,
        vec![("content-type".to_owned(), "application/json".to_owned())]
    );
    assert_eq!(r.body_len, 11);
    assert_eq!((r.attempt_count, r.attempts.len()), (0, 0));
    let body = store.body("s", "e1").await.unwrap().unwrap();
    assert_eq!(&body[..], br#"{"id":"e1"}"#.as_slice());

    let mut again = event("e1", 2_000);
    again.body = Bytes::from_static(b"different");
    assert_eq!(
        store.accept(again).await.unwrap(),
        Accepted::Duplicate(State::Queued)
    );
    assert_eq!(record(store, "e1").await, r, "a duplicate changes nothing");
    assert_eq!(store.body("s", "e1").await.unwrap().unwrap(), body);
    assert_eq!(store.pending(), 1);
    assert_eq!(store.next_due().await.unwrap(), Some(1_000));

    // The same id under another source is another event.
    let other = event_of("t", "e1", 3_000);
    assert_eq!(store.accept(other).await.unwrap(), Accepted::New);
    assert_eq!(store.get("x", "e1").await.unwrap(), None);
    assert_eq!(store.body("x", "e1").await.unwrap(), None);
    assert_eq!(db.event_rows().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn concurrent_accepts_of_one_id_store_it_once() {
    let db = TestDb::new().await;
    let second = db.another_instance().await;
    let mut tasks = Vec::new();
    for i in 0..32u64 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            store.accept(event("same", 1_000 + i)).await.unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let new = outcomes.iter().filter(|o| **o == Accepted::New).count();
    assert_eq!(new, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, Accepted::New | Accepted::Duplicate(State::Queued))));
    assert_eq!(db.event_rows().await, 1);
    assert_eq!(
        db.store.pending.refresh().await.unwrap(),
        1,
        "counted across instances"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn an_accept_wakes_the_workers_of_other_instances() {
    let db = TestDb::new().await;
    let other = Arc::new(db.another_instance().await);
    // The first wake-up is the listener's catch-up once it listens; after it, only a
    // notification can wake `other`.
    tokio::time::timeout(PATIENCE, other.woken())
        .await
        .expect("listener started");
    let waiter = {
        let other = other.clone();
        tokio::spawn(async move { other.woken().await })
    };
    db.store.accept(event("e1", 1)).await.unwrap();
    tokio::time::timeout(PATIENCE, db.store.woken())
        .await
        .expect("the accepting instance wakes at once");
    tokio::time::timeout(PATIENCE, waiter)
        .await
        .expect("the other instance is notified")
        .unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn routed_accepts_are_all_or_nothing() {
    let db = TestDb::new().await;
    let store = crate::store::Store::from_postgres(db.store.clone());
    crate::store::routed_tests::routed_accepts(&store).await;
}

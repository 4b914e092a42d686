//! Retention: purge bodies of succeeded events, then forget their ids; keep dead events.

use super::*;
use crate::store::{Accepted, Attempt, Next, Outcome, State};

/// Accepts `id` at 0 and finishes it as `next` at `at` (claimed at `at`, instant attempt).
async fn finished(store: &PgStore, id: &str, at: u64, next: Next) {
    store.accept(event(id, 0)).await.unwrap();
    let claimed = claim(store, at, 1, 1_000).await.remove(0).record;
    let attempt = Attempt {
        number: 1,
        started_at: at,
        duration_ms: 0,
        outcome: Outcome::Success,
        status: None,
        exit_code: None,
        error: None,
    };
    assert!(store.record_attempt(&claimed, attempt, next).await.unwrap());
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn retention_purges_the_body_then_forgets_the_id() {
    let db = TestDb::new().await;
    let store = &db.store;
    finished(store, "ok", 1_000, Next::Succeeded).await;
    finished(store, "bad", 1_000, Next::Dead("no".into())).await;
    store.accept(event("waiting", 0)).await.unwrap();

    assert_eq!(
        store.expire(1_000 + RETENTION_MS - 1, 100).await.unwrap(),
        0
    );
    assert_eq!(store.expire(1_000 + RETENTION_MS, 100).await.unwrap(), 1);
    let r = record(store, "ok").await;
    assert!(r.body_purged);
    assert_eq!(r.body_len, 11, "the record keeps the original size");
    assert_eq!(store.body("s", "ok").await.unwrap(), None);
    assert_eq!(
        store.accept(event("ok", 5)).await.unwrap(),
        Accepted::Duplicate(State::Succeeded),
        "the tombstone still dedupes"
    );

    assert_eq!(store.expire(1_000 + DEDUPE_MS - 1, 100).await.unwrap(), 0);
    assert_eq!(store.expire(1_000 + DEDUPE_MS, 100).await.unwrap(), 1);
    assert_eq!(store.get("s", "ok").await.unwrap(), None);
    assert_eq!(store.accept(event("ok", 5)).await.unwrap(), Accepted::New);

    assert_eq!(store.expire(u64::MAX, 100).await.unwrap(), 0);
    assert_eq!(
        record(store, "bad").await.state,
        State::Dead,
        "dead is kept"
    );
    assert!(store.body("s", "bad").await.unwrap().is_some());
    assert_eq!(record(store, "waiting").await.state, State::Queued);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn expire_does_at_most_limit_per_call() {
    let db = TestDb::new().await;
    let store = &db.store;
    for i in 0..5 {
        finished(store, &format!("e{i}"), 10 + i, Next::Succeeded).await;
    }
    let late = u64::MAX / 2;
    assert_eq!(store.expire(late, 3).await.unwrap(), 3, "purges first");
    assert_eq!(
        store.expire(late, 3).await.unwrap(),
        3,
        "2 purges, 1 forget"
    );
    assert_eq!(store.expire(late, 3).await.unwrap(), 3);
    assert_eq!(store.expire(late, 3).await.unwrap(), 1);
    assert_eq!(store.expire(late, 3).await.unwrap(), 0);
    assert_eq!(db.event_rows().await, 0);
}

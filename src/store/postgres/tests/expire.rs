//! Retention: purge bodies of succeeded events, then forget their ids; keep dead events.

use super::*;
use crate::store::{Attempt, Next, Outcome};

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

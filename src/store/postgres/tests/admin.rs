//! Operator requeues on PostgreSQL beyond the conformance suite: the bounded history.

use super::*;
use crate::store::{Attempt, Next, Outcome, MAX_KEPT_REQUEUES};

/// Claims `id` (which must be the only due event at `at`) and records `next` for it.
async fn settle(store: &PgStore, at: u64, next: Next) {
    let claimed = claim(store, at, 1, 1_000).await.remove(0).record;
    let attempt = Attempt {
        number: claimed.attempt_count,
        started_at: at,
        duration_ms: 1,
        outcome: Outcome::Permanent,
        status: None,
        exit_code: Some(1),
        error: Some("exit 1".into()),
    };
    assert!(store.record_attempt(&claimed, attempt, next).await.unwrap());
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn requeue_history_is_bounded() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.accept(event("e", 0)).await.unwrap();
    for round in 0..MAX_KEPT_REQUEUES as u64 + 2 {
        let at = 10 * round;
        settle(store, at, Next::Dead(format!("round {round}"))).await;
        store.requeue("s", "e", at + 1).await.unwrap();
    }
    let r = record(store, "e").await;
    assert_eq!(r.requeues.len(), MAX_KEPT_REQUEUES);
    assert_eq!(r.requeues[0].previous_error.as_deref(), Some("round 2"));
}

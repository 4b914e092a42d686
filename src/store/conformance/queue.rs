//! The queue: accept and dedupe, claim with a lease, attempt results, lease expiry, start-up
//! recovery, retention, the wake-up signal and the readiness probe.

use std::time::Duration;

use bytes::Bytes;

use super::{event, Kind, Under, DEDUPE_MS, RETENTION_MS};
use crate::store::*;

conformance!(
    accept_dedupes_and_claim_respects_due_time,
    an_expired_lease_is_reclaimed_and_the_stale_result_ignored,
    a_failed_attempt_is_retried_at_its_time,
    recovery_after_a_restart_takes_back_processing_events,
    retention_purges_the_body_then_forgets_the_id,
    concurrent_accepts_count_each_id_once,
    an_accept_wakes_the_worker_and_the_probe_writes,
);

/// `pending` on PostgreSQL is a count cached for about a second: checked on the others only.
fn assert_pending(t: &Under, expected: u64) {
    if t.kind != Kind::Postgres {
        assert_eq!(t.pending(), expected, "pending");
    }
}

async fn accept_dedupes_and_claim_respects_due_time(t: Under) {
    assert_eq!(
        t.accept(event("a", 100)).await.expect("accept"),
        Accepted::New
    );
    let again = t.accept(event("a", 100)).await.expect("accept");
    assert_eq!(again, Accepted::Duplicate(State::Queued));
    assert_pending(&t, 1);
    assert_eq!(t.next_due().await.expect("next"), Some(100));
    assert!(t.claim(99, 50).await.is_empty(), "not due yet");
    let claimed = t.claim(100, 50).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].record.state, State::Processing);
    assert_eq!(claimed[0].body, Bytes::from_static(b"{}"));
    assert!(t.claim(120, 50).await.is_empty(), "leased");

    assert!(t.finish(&claimed[0], Next::Succeeded).await);
    assert_pending(&t, 0);
    let record = t.get("s", "a").await.expect("get").expect("exists");
    assert_eq!((record.state, record.attempts.len()), (State::Succeeded, 1));
    assert_eq!(t.next_due().await.expect("next"), None);
    let again = t.accept(event("a", 200)).await.expect("accept");
    assert_eq!(again, Accepted::Duplicate(State::Succeeded));
}

async fn an_expired_lease_is_reclaimed_and_the_stale_result_ignored(t: Under) {
    t.accept(event("a", 0)).await.expect("accept");
    let first = t.claim(0, 10).await.remove(0);
    assert_eq!(
        t.next_due().await.expect("next"),
        Some(10),
        "the lease is the due time"
    );
    let second = t.claim(10, 10).await.remove(0);
    assert_eq!(second.record.attempt_count, 2);
    assert_eq!(second.record.attempts[0].outcome, Outcome::Abandoned);
    assert!(
        !t.finish(&first, Next::Succeeded).await,
        "the first claim is no longer current"
    );
    // PostgreSQL: the stale result's transaction is rolled back when dropped, after it
    // returned; until then its row lock makes the claim skip the row. Bounded wait.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while t.claim(20, 10).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the third claim within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The third abandonment exhausts max_attempts = 3: dead instead of claimed.
    assert!(t.claim(30, 10).await.is_empty());
    assert_eq!(t.state("a").await, State::Dead);
    assert_pending(&t, 0);
}

async fn a_failed_attempt_is_retried_at_its_time(t: Under) {
    t.accept(event("a", 0)).await.expect("accept");
    let first = t.claim(0, 1_000).await.remove(0);
    assert!(t.finish(&first, Next::RetryAt(50)).await);
    assert_eq!(t.state("a").await, State::Queued);
    assert_eq!(t.next_due().await.expect("next"), Some(50));
    assert!(t.claim(49, 1_000).await.is_empty(), "not before its time");
    let second = t.claim(50, 1_000).await.remove(0);
    assert_eq!(second.record.attempt_count, 2);
    assert!(t.finish(&second, Next::Dead("gave up".into())).await);
    let record = t.get("s", "a").await.expect("get").expect("exists");
    assert_eq!(record.state, State::Dead);
    assert_eq!(record.last_error.as_deref(), Some("gave up"));
}

/// The embedded backends (one process per database) take `processing` events back at start-up;
/// PostgreSQL (other instances may be working on them) counts them and rescues each once its
/// lease expires.
async fn recovery_after_a_restart_takes_back_processing_events(t: Under) {
    t.accept(event("a", 0)).await.expect("accept");
    t.accept(event("b", 0)).await.expect("accept");
    assert_eq!(t.claim(0, 1_000).await.len(), 2);
    let t = t.reopen().await;
    let at = match t.kind {
        Kind::Postgres => {
            assert_eq!(t.recover(5).await, 0, "leases still running are left alone");
            assert!(
                t.claim(5, 10).await.is_empty(),
                "still leased to the other instance"
            );
            1_000
        }
        Kind::Redb | Kind::Sled => 5,
    };
    assert_eq!(t.recover(at).await, 2);
    let again = t.claim(at, 10).await;
    assert_eq!(again.len(), 2, "both back in the queue");
    let abandoned = |c: &Claimed| c.record.attempts[0].outcome == Outcome::Abandoned;
    assert!(again.iter().all(abandoned));
}

async fn retention_purges_the_body_then_forgets_the_id(t: Under) {
    t.accept(event("a", 0)).await.expect("accept");
    let c = t.claim(0, 10).await.remove(0);
    assert!(t.finish(&c, Next::Succeeded).await);
    let record = t.get("s", "a").await.expect("get").expect("exists");
    let finished = record.finished_at.expect("finished");

    assert_eq!(
        t.expire(finished + RETENTION_MS - 1, 10).await,
        0,
        "within retention"
    );
    assert_eq!(t.expire(finished + RETENTION_MS, 10).await, 1);
    assert_eq!(t.body("s", "a").await.expect("body"), None);
    let tombstone = t.get("s", "a").await.expect("get").expect("still known");
    assert!(tombstone.body_purged);
    let retry = t.accept(event("a", 500)).await.expect("accept");
    assert_eq!(
        retry,
        Accepted::Duplicate(State::Succeeded),
        "within the dedupe window"
    );
    assert_eq!(t.expire(finished + DEDUPE_MS, 10).await, 1);
    assert_eq!(t.get("s", "a").await.expect("get"), None);
}

/// Concurrent accepts, many of one id (batched together where a backend batches): one `New`
/// per id.
async fn concurrent_accepts_count_each_id_once(t: Under) {
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = Store::clone(&t);
            tokio::spawn(async move { store.accept(event(&format!("e{}", i % 50), 1)).await })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        new += usize::from(task.await.expect("task").expect("accept") == Accepted::New);
    }
    assert_eq!(new, 50);
    assert_pending(&t, 50);
    t.exact().await;
}

async fn an_accept_wakes_the_worker_and_the_probe_writes(t: Under) {
    let store = Store::clone(&t);
    let woken = tokio::spawn(async move { store.woken().await });
    tokio::task::yield_now().await;
    t.accept(event("a", 1)).await.expect("accept");
    let waited = tokio::time::timeout(Duration::from_secs(5), woken).await;
    waited.expect("woken at once").expect("task");
    t.check_writable(2).await.expect("writable");
    t.close().await.expect("close");
}

//! Claiming, leases, attempts and retries.

use std::collections::HashSet;

use super::*;
use crate::store::{Attempt, Next, Outcome, State};

fn attempt(claimed: &EventRecord, at: u64, outcome: Outcome, error: Option<&str>) -> Attempt {
    Attempt {
        number: claimed.attempt_count,
        started_at: at,
        duration_ms: 5,
        outcome,
        status: Some(200),
        exit_code: None,
        error: error.map(str::to_owned),
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn a_claim_takes_due_events_with_their_body_and_a_lease() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.accept(event("early", 10)).await.unwrap();
    store.accept(event("late", 500)).await.unwrap();

    let claimed = claim(store, 100, 10, 1_000).await;
    assert_eq!(claimed.len(), 1, "only the due one");
    let c = &claimed[0];
    assert_eq!(c.record.id, "early");
    assert_eq!(&c.body[..], br#"{"id":"early"}"#.as_slice());
    assert_eq!(c.record.state, State::Processing);
    assert_eq!(c.record.attempt_count, 1);
    assert_eq!(c.record.claimed_at, Some(100));
    assert_eq!(c.record.lease_until, Some(1_100));
    assert_eq!(c.record.next_attempt_at, None);
    assert_eq!(
        record(store, "early").await,
        c.record,
        "the claim is stored"
    );

    assert!(
        claim(store, 100, 10, 1_000).await.is_empty(),
        "claimed once"
    );
    assert_eq!(store.next_due().await.unwrap(), Some(500));
    assert_eq!(store.pending(), 2, "processing still counts as pending");

    let mut asked = Vec::new();
    let skipped = store
        .claim_due(600, 10, 5, &mut |r| {
            asked.push(r.id.clone());
            None
        })
        .await
        .unwrap();
    assert!(skipped.is_empty());
    assert_eq!(asked, ["late"]);
    assert_eq!(record(store, "late").await.state, State::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn concurrent_claimers_never_claim_the_same_event() {
    let db = TestDb::new().await;
    for i in 0..200 {
        db.store
            .accept(event(&format!("e{i:03}"), i))
            .await
            .unwrap();
    }
    let second = db.another_instance().await;
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let store = if worker % 2 == 0 {
            db.store.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = claim(&store, 1_000, 7, 60_000).await;
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.record.id));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "an event was claimed twice");
    assert_eq!(all.len(), 200, "every event was claimed");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn an_expired_lease_is_reclaimed_and_the_stale_claim_ignored() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.accept(event("e1", 0)).await.unwrap();
    let first = claim(store, 10, 1, 100).await.remove(0).record;
    assert!(
        claim(store, 109, 1, 100).await.is_empty(),
        "lease still held"
    );
    assert_eq!(store.next_due().await.unwrap(), Some(110));
    assert_eq!(store.recover(109).await.unwrap(), 0);
    assert_eq!(store.recover(110).await.unwrap(), 1, "counted, not changed");
    assert_eq!(record(store, "e1").await.state, State::Processing);

    let second = claim(store, 110, 1, 100).await.remove(0).record;
    assert_eq!(second.attempt_count, 2);
    assert_eq!(second.claimed_at, Some(110));
    assert_eq!(second.attempts.len(), 1);
    let lost = &second.attempts[0];
    assert_eq!(lost.outcome, Outcome::Abandoned);
    assert_eq!(
        (lost.number, lost.started_at, lost.duration_ms),
        (1, 10, 100)
    );

    let late = attempt(&first, 10, Outcome::Success, None);
    assert!(!store
        .record_attempt(&first, late, Next::Succeeded)
        .await
        .unwrap());
    assert_eq!(
        record(store, "e1").await,
        second,
        "the stale result changed nothing"
    );

    let done = attempt(&second, 110, Outcome::Success, None);
    assert!(store
        .record_attempt(&second, done, Next::Succeeded)
        .await
        .unwrap());
    let r = record(store, "e1").await;
    assert_eq!(r.state, State::Succeeded);
    assert_eq!(r.finished_at, Some(115));
    assert_eq!((r.lease_until, r.claimed_at), (None, None));
    assert_eq!(r.attempts.len(), 2);
    assert_eq!(store.pending(), 0);
    assert_eq!(store.next_due().await.unwrap(), None);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn an_expired_lease_past_max_attempts_goes_dead() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.accept(event("e1", 0)).await.unwrap();
    let lease = &mut |_: &EventRecord| Some(100);
    assert_eq!(store.claim_due(0, 1, 1, lease).await.unwrap().len(), 1);
    assert!(store.claim_due(100, 1, 1, lease).await.unwrap().is_empty());
    let r = record(store, "e1").await;
    assert_eq!(r.state, State::Dead);
    assert_eq!(r.finished_at, Some(100));
    assert_eq!(r.attempts[0].outcome, Outcome::Abandoned);
    assert!(r.last_error.unwrap().contains("gave up after 1 attempts"));
    assert_eq!(store.pending(), 0);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn a_failed_attempt_is_retried_at_its_time_then_dies() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.accept(event("e1", 0)).await.unwrap();
    let first = claim(store, 0, 1, 1_000).await.remove(0).record;
    let failed = attempt(&first, 0, Outcome::Transient, Some("503 from target"));
    assert!(store
        .record_attempt(&first, failed, Next::RetryAt(2_000))
        .await
        .unwrap());
    let r = record(store, "e1").await;
    assert_eq!(r.state, State::Queued);
    assert_eq!(r.next_attempt_at, Some(2_000));
    assert_eq!(r.last_error.as_deref(), Some("503 from target"));
    assert_eq!(store.next_due().await.unwrap(), Some(2_000));
    assert!(claim(store, 1_999, 1, 1_000).await.is_empty());

    let second = claim(store, 2_000, 1, 1_000).await.remove(0).record;
    assert_eq!(second.attempt_count, 2);
    let fatal = attempt(&second, 2_000, Outcome::Permanent, Some("400 from target"));
    let next = Next::Dead("permanent failure".into());
    assert!(store.record_attempt(&second, fatal, next).await.unwrap());
    let r = record(store, "e1").await;
    assert_eq!(r.state, State::Dead);
    assert_eq!(r.last_error.as_deref(), Some("permanent failure"));
    assert_eq!(r.finished_at, Some(2_005));
    assert_eq!(r.attempts.len(), 2);
    assert_eq!(store.pending(), 0);
    assert!(
        claim(store, u64::MAX, 1, 1).await.is_empty(),
        "dead is final"
    );
}

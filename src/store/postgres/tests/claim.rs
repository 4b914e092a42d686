//! Claiming, leases, attempts and retries.

use std::collections::HashSet;

use super::*;
use crate::store::State;

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

//! Grouped accepts and attempt results, and the exact counters: every count equals a full scan
//! after concurrent work from two instances.

use std::collections::BTreeMap;

use super::*;
use crate::store::{Accepted, Attempt, Next, Outcome, RouteDelivery, State, StateCounts};

/// Events per (stream, state) by a full scan of `events`, as the counters name them.
async fn scanned(db: &TestDb) -> BTreeMap<String, StateCounts> {
    let rows = db
        .sql()
        .await
        .query(
            "SELECT source, CASE WHEN state = 'dead' AND body_purged THEN 'discarded' \
             ELSE state END, count(*) FROM events GROUP BY 1, 2",
            &[],
        )
        .await
        .unwrap();
    let mut counts: BTreeMap<String, StateCounts> = BTreeMap::new();
    for row in rows {
        let entry = counts.entry(row.get(0)).or_default();
        let n = u64::try_from(row.get::<_, i64>(2)).unwrap();
        match row.get::<_, &str>(1) {
            "queued" => entry.queued = n,
            "processing" => entry.processing = n,
            "succeeded" => entry.succeeded = n,
            "dead" => entry.dead = n,
            "discarded" => entry.discarded = n,
            "skipped" => entry.skipped = n,
            other => panic!("state {other}"),
        }
    }
    counts
}

/// Per stream: (bucket start, [accepted, succeeded, dead, skipped]) by a full scan, plus the
/// newest arrival and the oldest unfinished one.
type Scanned = BTreeMap<String, (BTreeMap<u64, [u64; 4]>, Option<i64>, Option<i64>)>;

async fn scanned_tallies(db: &TestDb) -> Scanned {
    let sql = db.sql().await;
    let bucket = |t: &str| format!("{t} - {t} % {}", super::super::counts::BUCKET_MS);
    let query = format!(
        "SELECT source, 0, {r}, count(*) FROM events GROUP BY 1, 3 UNION ALL \
         SELECT source, 1, {f}, count(*) FROM events WHERE state = 'succeeded' \
             AND finished_at IS NOT NULL GROUP BY 1, 3 UNION ALL \
         SELECT source, 2, {f}, count(*) FROM events WHERE state = 'dead' \
             AND finished_at IS NOT NULL GROUP BY 1, 3 UNION ALL \
         SELECT source, 3, {r}, count(*) FROM events WHERE state = 'skipped' GROUP BY 1, 3",
        r = bucket("received_at"),
        f = bucket("finished_at"),
    );
    let mut out = Scanned::new();
    for row in sql.query(&query, &[]).await.unwrap() {
        let entry = out.entry(row.get(0)).or_default();
        let at = u64::try_from(row.get::<_, i64>(2)).unwrap();
        let kind = usize::try_from(row.get::<_, i32>(1)).unwrap();
        entry.0.entry(at).or_default()[kind] = u64::try_from(row.get::<_, i64>(3)).unwrap();
    }
    let ends = "SELECT source, max(received_at), \
                min(received_at) FILTER (WHERE state IN ('queued', 'processing')) \
                FROM events GROUP BY 1";
    for row in sql.query(ends, &[]).await.unwrap() {
        let entry = out.entry(row.get(0)).or_default();
        (entry.1, entry.2) = (row.get(1), row.get(2));
    }
    out
}

/// The store's tallies in the shape of [`scanned_tallies`].
async fn tallied(store: &PgStore) -> Scanned {
    let tallies = store.tallies(Some((0, u64::MAX / 2))).await.unwrap();
    let mut out = Scanned::new();
    for (stream, t) in tallies {
        let buckets = t
            .buckets
            .iter()
            .map(|(&at, a)| (at, [a.accepted, a.succeeded, a.dead, a.skipped]));
        let time = |t: Option<u64>| t.map(|t| i64::try_from(t).unwrap());
        out.insert(
            stream,
            (
                buckets.collect(),
                time(t.last_event_at),
                time(t.oldest_unfinished_at),
            ),
        );
    }
    out
}

fn attempt(claimed: &EventRecord, at: u64) -> Attempt {
    Attempt {
        number: claimed.attempt_count,
        started_at: at,
        duration_ms: 1,
        outcome: Outcome::Success,
        status: Some(200),
        exit_code: None,
        error: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn concurrent_accepts_are_grouped_and_each_caller_gets_its_own_answer() {
    let db = TestDb::new().await;
    let second = db.another_instance().await;
    // 300 calls at once over 100 ids, on two instances: groups form, ids repeat within groups
    // and across instances, and each id is new to exactly one caller.
    let mut tasks = Vec::new();
    for i in 0..300u64 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let id = format!("e{}", i % 100);
            (id.clone(), store.accept(event(&id, i)).await.unwrap())
        }));
    }
    let mut new: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks {
        let (id, answer) = task.await.unwrap();
        let n = new.entry(id).or_default();
        match answer {
            Accepted::New => *n += 1,
            Accepted::Duplicate(state) => assert_eq!(state, State::Queued),
        }
    }
    assert_eq!(new.len(), 100);
    assert!(new.values().all(|&n| n == 1), "each id new once: {new:?}");
    assert_eq!(db.event_rows().await, 100);
    let counts = db.store.state_counts().await.unwrap();
    assert_eq!(counts["s"].queued, 100);
    assert_eq!(counts, scanned(&db).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn counts_equal_a_full_scan_after_every_kind_of_change() {
    let db = TestDb::new().await;
    let second = db.another_instance().await;
    let stores = [db.store.clone(), second.clone()];
    for i in 0..60u64 {
        let store = &stores[(i % 2) as usize];
        store.accept(event(&format!("a{i}"), i)).await.unwrap();
        store
            .accept(event_of("x", &format!("a{i}"), i))
            .await
            .unwrap();
    }
    // Routed: one route taken, one skipped.
    let route = |stream: &str, skipped| RouteDelivery {
        stream: stream.into(),
        ordering: None,
        skipped,
    };
    let routes = vec![route("y:r1", false), route("y:r2", true)];
    db.store
        .accept_routed(event_of("y", "routed", 5), routes)
        .await
        .unwrap();
    let counts = db.store.state_counts().await.unwrap();
    assert_eq!(counts, scanned(&db).await);
    assert_eq!((counts["y:r1"].queued, counts["y:r2"].skipped), (1, 1));

    // Claims and results from both instances at once, grouped: some succeed, some die, some
    // are retried.
    let mut tasks = Vec::new();
    for (n, store) in stores.iter().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let claimed = claim(&store, 100, 40, 1_000).await;
            let mut results = Vec::new();
            for (k, c) in claimed.into_iter().enumerate() {
                let store = store.clone();
                results.push(tokio::spawn(async move {
                    let next = match (k + n) % 3 {
                        0 => Next::Succeeded,
                        1 => Next::Dead("no".into()),
                        _ => Next::RetryAt(5_000),
                    };
                    let a = attempt(&c.record, 110);
                    assert!(store.record_attempt(&c.record, a, next).await.unwrap());
                }));
            }
            for r in results {
                r.await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let counts = db.store.state_counts().await.unwrap();
    assert_eq!(counts, scanned(&db).await);
    assert_eq!(tallied(&second).await, scanned_tallies(&db).await);
    let s = &counts["s"];
    assert!(s.succeeded > 0 && s.dead > 0 && s.queued > 0, "{s:?}");

    // Requeue, discard, retention.
    let dead = db
        .sql()
        .await
        .query(
            // Source `s` only: `x` has the same ids, so `ORDER BY id` alone could pick either.
            "SELECT source, id FROM events WHERE source = 's' AND state = 'dead' ORDER BY id LIMIT 4",
            &[],
        )
        .await
        .unwrap();
    assert!(
        dead.len() >= 2,
        "two dead events of s to requeue and discard"
    );
    let (first, second_dead) = (&dead[0], &dead[1]);
    db.store
        .requeue(first.get(0), first.get(1), 200)
        .await
        .unwrap();
    db.store
        .discard(second_dead.get(0), second_dead.get(1))
        .await
        .unwrap();
    db.store.expire(100_000, 1_000).await.unwrap();
    let counts = db.store.state_counts().await.unwrap();
    assert_eq!(counts, scanned(&db).await);
    assert_eq!(counts["s"].discarded, 1);
    assert!(
        !counts.contains_key("y:r2"),
        "the skipped route was forgotten"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn a_result_for_a_lost_claim_is_ignored_in_a_group_too() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.accept(event("e", 0)).await.unwrap();
    let first = claim(store, 10, 1, 100).await.remove(0);
    // The lease expires and the event is claimed again.
    let again = claim(store, 200, 1, 100).await.remove(0);
    let a = attempt(&first.record, 250);
    let b = attempt(&again.record, 250);
    let (stale, current) = tokio::join!(
        store.record_attempt(&first.record, a, Next::Succeeded),
        store.record_attempt(&again.record, b, Next::Succeeded),
    );
    assert!(!stale.unwrap(), "the lost claim's result does not count");
    assert!(current.unwrap());
    let r = record(store, "e").await;
    assert_eq!(r.state, State::Succeeded);
    assert_eq!(r.attempt_count, 2);
    assert_eq!(store.state_counts().await.unwrap(), scanned(&db).await);
}

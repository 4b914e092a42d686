//! Listing, requeue and the readiness probe on a real sled database in a temp dir.

use bytes::Bytes;

use super::SledStore as Store;
use crate::config::StorageConfig;
use crate::store::backend::Backend as _;
use crate::store::*;

fn open(dir: &std::path::Path) -> Store {
    Store::open(&StorageConfig {
        data_dir: dir.to_path_buf(),
        cache_capacity_bytes: 1 << 20,
        ..StorageConfig::default()
    })
    .expect("open")
}

async fn accept(store: &Store, source: &str, id: &str, at: u64) {
    let ev = NewEvent {
        source: source.into(),
        id: id.into(),
        received_at: at,
        event_type: None,
        headers: Vec::new(),
        body: Bytes::from_static(b"{}"),
        ordering: None,
    };
    assert_eq!(store.accept(ev).await.expect("accept"), Accepted::New);
}

/// Claims every due event at `now` and ends each with `next`.
async fn finish_all(store: &Store, now: u64, next: Next) {
    for c in store
        .claim_due(now, 100, 5, &mut |_| Some(1000))
        .await
        .expect("claim")
    {
        let attempt = Attempt {
            number: c.record.attempt_count,
            started_at: now,
            duration_ms: 1,
            outcome: match next {
                Next::Succeeded => Outcome::Success,
                _ => Outcome::Permanent,
            },
            status: None,
            exit_code: Some(3),
            error: Some("exit 3".into()),
        };
        let recorded = store.record_attempt(&c.record, attempt, next.clone()).await;
        assert!(recorded.expect("record"));
    }
}

fn ids(page: &Page) -> Vec<&str> {
    page.items.iter().map(|r| r.id.as_str()).collect()
}

#[tokio::test]
async fn listing_is_newest_first_filtered_and_paged_to_the_end() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    for (i, id) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        accept(&store, "s", id, 100 + i as u64).await;
    }
    accept(&store, "other", "x", 102).await;
    accept(&store, "s2", "y", 103).await; // a source whose name extends "s"

    let all = store.list(&EventFilter::default(), 10, None).expect("list");
    assert_eq!(
        ids(&all),
        ["e", "y", "d", "x", "c", "b", "a"],
        "ties: by key, descending"
    );
    assert_eq!(all.next, None, "no cursor on the last page");

    let only_s = EventFilter {
        source: Some("s".into()),
        ..EventFilter::default()
    };
    let first = store.list(&only_s, 2, None).expect("list");
    assert_eq!(ids(&first), ["e", "d"]);
    let second = store.list(&only_s, 2, first.next.as_ref()).expect("list");
    assert_eq!(ids(&second), ["c", "b"]);
    let third = store.list(&only_s, 2, second.next.as_ref()).expect("list");
    assert_eq!(ids(&third), ["a"]);
    assert_eq!(third.next, None);

    let range = EventFilter {
        since: Some(101),
        until: Some(103),
        ..only_s.clone()
    };
    assert_eq!(
        ids(&store.list(&range, 10, None).expect("list")),
        ["c", "b"]
    );

    finish_all(&store, 200, Next::Dead("gave up".into())).await;
    let dead = EventFilter {
        state: Some(State::Dead),
        ..only_s
    };
    assert_eq!(store.list(&dead, 10, None).expect("list").items.len(), 5);
    let queued = EventFilter {
        state: Some(State::Queued),
        ..EventFilter::default()
    };
    assert!(store
        .list(&queued, 10, None)
        .expect("list")
        .items
        .is_empty());
}

#[tokio::test]
async fn a_walk_stops_at_its_budget_with_a_cursor_that_leads_on() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    for i in 0..5 {
        accept(&store, "s", &format!("e{i}"), i).await;
    }
    let backend = store.backend().expect("backend");
    let dead = EventFilter {
        state: Some(State::Dead),
        ..EventFilter::default()
    };
    let mut seen = 0;
    let next = backend
        .trees
        .walk(&dead, None, 3, |_| {
            seen += 1;
            Ok(true)
        })
        .expect("walk");
    assert_eq!(seen, 0, "nothing matches");
    let next = next.expect("budget reached before the end");
    let rest = backend
        .trees
        .walk(&EventFilter::default(), Some(&next), 3, |_| Ok(true))
        .expect("walk");
    assert_eq!(rest, None, "the last two entries finish the walk");
    assert_eq!(
        ids(&store
            .list(&EventFilter::default(), 5, Some(&next))
            .expect("list")),
        ["e1", "e0"]
    );
}

#[tokio::test]
async fn requeue_restarts_final_events_and_refuses_the_rest() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    accept(&store, "s", "dead", 1).await;
    finish_all(&store, 10, Next::Dead("exit 3".into())).await;
    accept(&store, "s", "done", 20).await;
    finish_all(&store, 30, Next::Succeeded).await;
    accept(&store, "s", "waiting", 40).await;
    assert_eq!(store.pending(), 1);

    let RequeueOutcome::Requeued(r) = store.requeue("s", "dead", 50).await.expect("requeue") else {
        panic!("dead events can be requeued");
    };
    assert_eq!(
        (r.state, r.attempt_count, r.next_attempt_at),
        (State::Queued, 0, Some(50))
    );
    assert_eq!(r.last_error, None);
    let history = &r.requeues[0];
    assert_eq!((history.at, history.previous_state), (50, State::Dead));
    assert_eq!(
        (history.previous_attempts, history.previous_error.as_deref()),
        (1, Some("exit 3"))
    );

    let replay = store.requeue("s", "done", 60).await.expect("requeue");
    assert!(
        matches!(replay, RequeueOutcome::Requeued(r) if r.requeues[0].previous_state == State::Succeeded)
    );
    assert_eq!(store.pending(), 3, "both count as pending again");
    assert_eq!(
        store.expire(u64::MAX, 10).expect("expire"),
        0,
        "no retention while queued"
    );

    assert_eq!(
        store.requeue("s", "waiting", 70).await.expect("requeue"),
        RequeueOutcome::NotFinal(State::Queued)
    );
    assert_eq!(
        store.requeue("s", "nope", 70).await.expect("requeue"),
        RequeueOutcome::Unknown
    );

    let claimed = store
        .claim_due(80, 10, 5, &mut |_| Some(10))
        .await
        .expect("claim");
    let mut claimed_ids: Vec<&str> = claimed.iter().map(|c| c.record.id.as_str()).collect();
    claimed_ids.sort();
    assert_eq!(claimed_ids, ["dead", "done", "waiting"]);
    assert!(claimed.iter().all(|c| c.body == Bytes::from_static(b"{}")));
}

#[tokio::test]
async fn a_purged_body_cannot_be_requeued() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    accept(&store, "s", "old", 1).await;
    finish_all(&store, 10, Next::Succeeded).await;
    let finished = store
        .get("s", "old")
        .expect("get")
        .and_then(|r| r.finished_at);
    let retention = StorageConfig::default().retention.as_millis() as u64;
    let purge_at = finished.expect("finished") + retention;
    assert_eq!(store.expire(purge_at, 10).expect("expire"), 1);
    assert_eq!(
        store.requeue("s", "old", 20).await.expect("requeue"),
        RequeueOutcome::BodyPurged
    );
}

#[tokio::test]
async fn bulk_requeue_takes_only_dead_events_in_range() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    for (source, id, at) in [("a", "1", 1), ("a", "2", 2), ("a", "3", 3), ("b", "4", 2)] {
        accept(&store, source, id, at).await;
    }
    finish_all(&store, 10, Next::Dead("no".into())).await;
    accept(&store, "a", "queued", 2).await;
    let filter = EventFilter {
        source: Some("a".into()),
        since: Some(2),
        ..EventFilter::default()
    };
    let done = store.requeue_dead(&filter, None, 20).await.expect("bulk");
    assert_eq!(
        done,
        BulkRequeued {
            requeued: 2,
            taken: vec![("a".into(), "3".into()), ("a".into(), "2".into())],
            next: None
        }
    );
    let again = store.requeue_dead(&filter, None, 21).await.expect("bulk");
    assert_eq!(again.requeued, 0, "already queued");
    let state = |id: &str| {
        store
            .get(if id == "4" { "b" } else { "a" }, id)
            .expect("get")
            .expect("known")
            .state
    };
    assert_eq!(
        ["1", "2", "3", "4"].map(state),
        [State::Dead, State::Queued, State::Queued, State::Dead]
    );
}

#[tokio::test]
async fn the_readiness_probe_writes() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    store.check_writable(1).await.expect("writable");
}

//! Listing and operator requeues.

use super::*;
use crate::store::{
    Attempt, DiscardOutcome, EventFilter, Next, Outcome, RequeueOutcome, State, TypeMatch,
    MAX_KEPT_REQUEUES,
};

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

fn ids(items: &[EventRecord]) -> Vec<&str> {
    items.iter().map(|r| r.id.as_str()).collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn listing_pages_newest_first_through_filters() {
    let db = TestDb::new().await;
    let store = &db.store;
    for (source, id, at) in [
        ("a", "1", 10),
        ("b", "2", 20),
        ("a", "3", 30),
        ("a", "4", 30),
    ] {
        store.accept(event_of(source, id, at)).await.unwrap();
    }
    let all = EventFilter::default();
    let first = store.list(&all, 2, None).await.unwrap();
    assert_eq!(ids(&first.items), ["4", "3"]);
    let rest = store.list(&all, 2, first.next.as_ref()).await.unwrap();
    assert_eq!(ids(&rest.items), ["2", "1"]);
    assert!(rest.next.is_none(), "{:?}", rest.next);

    let of_a = EventFilter {
        source: Some("a".into()),
        since: Some(10),
        until: Some(30),
        ..EventFilter::default()
    };
    assert_eq!(
        ids(&store.list(&of_a, 10, None).await.unwrap().items),
        ["1"]
    );

    claim(store, 10, 1, 1_000).await; // event 1 is processing
    let processing = EventFilter {
        state: Some(State::Processing),
        ..EventFilter::default()
    };
    let page = store.list(&processing, 10, None).await.unwrap();
    assert_eq!(ids(&page.items), ["1"]);
    assert!(page.next.is_none());
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn requeue_replays_final_events_and_keeps_history() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.accept(event("dead", 0)).await.unwrap();
    settle(store, 0, Next::Dead("gave up".into())).await;
    store.accept(event("done", 1)).await.unwrap();
    settle(store, 1, Next::Succeeded).await;
    store.accept(event("queued", 5)).await.unwrap();

    let RequeueOutcome::Requeued(r) = store.requeue("s", "dead", 50).await.unwrap() else {
        panic!("dead events can be requeued");
    };
    assert_eq!(
        (r.state, r.attempt_count, r.next_attempt_at),
        (State::Queued, 0, Some(50))
    );
    assert_eq!(r.requeues.len(), 1);
    assert_eq!(r.requeues[0].previous_state, State::Dead);
    assert_eq!(r.requeues[0].previous_error.as_deref(), Some("gave up"));
    assert_eq!(record(store, "dead").await, r);

    let replay = store.requeue("s", "done", 60).await.unwrap();
    assert!(
        matches!(replay, RequeueOutcome::Requeued(ref r) if r.requeues[0].previous_state == State::Succeeded)
    );
    assert_eq!(
        store.requeue("s", "queued", 60).await.unwrap(),
        RequeueOutcome::NotFinal(State::Queued)
    );
    assert_eq!(
        store.requeue("s", "nope", 60).await.unwrap(),
        RequeueOutcome::Unknown
    );
    // A fresh count: the cached one may be a moment old, as its callers accept.
    assert_eq!(store.pending.refresh().await.unwrap(), 3);

    let claimed = claim(store, 60, 10, 1_000).await;
    assert_eq!(claimed.len(), 3, "requeued events are due again");

    // A succeeded event whose body retention purged has nothing left to replay.
    store.accept(event("old", 0)).await.unwrap();
    settle(store, 100, Next::Succeeded).await;
    assert_eq!(store.expire(101 + RETENTION_MS, 10).await.unwrap(), 1);
    let outcome = store.requeue("s", "old", 1_000).await.unwrap();
    assert_eq!(outcome, RequeueOutcome::BodyPurged);
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

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn bulk_requeue_takes_dead_events_in_range_only() {
    let db = TestDb::new().await;
    let store = &db.store;
    for (source, id, at) in [
        ("a", "1", 10),
        ("a", "2", 20),
        ("b", "3", 20),
        ("a", "4", 40),
    ] {
        store.accept(event_of(source, id, at)).await.unwrap();
        settle(store, at, Next::Dead("no".into())).await;
    }
    store.accept(event_of("a", "5", 25)).await.unwrap(); // queued: not touched

    let filter = EventFilter {
        source: Some("a".into()),
        state: Some(State::Succeeded), // ignored: bulk requeue is for dead events
        since: Some(15),
        until: Some(40),
        event_type: None,
        route: None,
        body: Default::default(),
    };
    let done = store.requeue_dead(&filter, None, 100).await.unwrap();
    assert_eq!((done.requeued, done.next), (1, None));
    let state = |id: &'static str, source: &'static str| async move {
        store.get(source, id).await.unwrap().unwrap().state
    };
    assert_eq!(state("2", "a").await, State::Queued);
    for (id, source) in [("1", "a"), ("3", "b"), ("4", "a")] {
        assert_eq!(state(id, source).await, State::Dead, "{source}/{id}");
    }
    assert_eq!(state("5", "a").await, State::Queued);

    let everything = store.requeue_dead(&EventFilter::default(), None, 100).await;
    assert_eq!(everything.unwrap().requeued, 3);
    assert_eq!(store.pending(), 5);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn discard_keeps_a_tombstone_and_types_filter() {
    let db = TestDb::new().await;
    let store = &db.store;
    let mut dead = event("a", 10);
    dead.event_type = Some("invoice.paid".into());
    store.accept(dead).await.unwrap();
    settle(store, 10, Next::Dead("x".into())).await;
    let mut queued = event("c", 30);
    queued.event_type = Some("invoice_x%".into()); // LIKE wildcards must not leak into prefixes
    store.accept(queued).await.unwrap();
    assert_eq!(
        store.discard("s", "c").await.unwrap(),
        DiscardOutcome::NotDead(State::Queued)
    );
    assert_eq!(
        store.discard("s", "zz").await.unwrap(),
        DiscardOutcome::Unknown
    );
    let DiscardOutcome::Discarded(tombstone) = store.discard("s", "a").await.unwrap() else {
        panic!("a dead event is discarded");
    };
    assert!(tombstone.is_discarded());
    assert_eq!(record(store, "a").await, tombstone);
    assert_eq!(store.body("s", "a").await.unwrap(), None);
    assert_eq!(
        store.discard("s", "a").await.unwrap(),
        DiscardOutcome::AlreadyDiscarded
    );
    assert_eq!(
        store.accept(event("a", 40)).await.unwrap(),
        crate::store::Accepted::Duplicate(State::Dead)
    );
    assert_eq!(
        store.requeue("s", "a", 50).await.unwrap(),
        RequeueOutcome::BodyPurged
    );

    let of_type = |pattern: &str| EventFilter {
        event_type: Some(TypeMatch::parse(pattern)),
        ..EventFilter::default()
    };
    for (pattern, expected) in [
        ("invoice.*", vec!["a"]),
        ("invoice_*", vec![]),
        ("invoice_x%", vec!["c"]),
        ("*", vec!["c", "a"]),
    ] {
        let page = store.list(&of_type(pattern), 10, None).await.unwrap();
        assert_eq!(ids(&page.items), expected, "{pattern}");
    }
}

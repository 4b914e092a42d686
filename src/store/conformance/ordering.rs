//! Per-key ordering, a capability of redb and PostgreSQL (sled declares it lacks it: see
//! `capabilities`): only the head of a key is due, the next one becomes due in the transaction
//! that finishes the head, a dead head blocks or is skipped, a discarded head releases its key,
//! and a requeued event rejoins its line at the end.

use bytes::Bytes;

use super::{head_id, Kind, Under};
use crate::ordering::{EventOrdering, OnDead};
use crate::store::*;

conformance!(
    on [redb, postgres]:
    only_the_head_of_a_key_is_due_and_the_next_follows_it,
    a_dead_head_blocks_until_requeued_and_runs_first_again,
    discarding_a_dead_head_releases_its_key,
    skip_lets_the_next_go_and_a_requeue_rejoins_at_the_end,
    the_line_survives_a_restart_with_its_head_processing,
    an_unordered_event_is_never_held,
    importing_an_event_still_in_its_line_is_refused,
);

const LEASE: u64 = 60_000;

fn ordered(id: &str, at: u64, key: &str, on_dead: OnDead) -> NewEvent {
    NewEvent {
        ordering: Some(EventOrdering {
            key: key.into(),
            on_dead,
        }),
        ..super::event(id, at)
    }
}

async fn accept_all(t: &Under, events: &[(&str, u64, &str)], on_dead: OnDead) {
    for (id, at, key) in events {
        let accepted = t.accept(ordered(id, *at, key, on_dead)).await;
        assert_eq!(accepted.expect("accept"), Accepted::New);
    }
}

/// Ids of everything claimable at `now`, claimed, in the order claimed.
async fn claim_ids(t: &Under, now: u64) -> Vec<String> {
    let claimed = t.claim(now, LEASE).await;
    claimed.into_iter().map(|c| c.record.id).collect()
}

/// The state of `id`, and whether it waits for an earlier event of its key.
async fn state(t: &Under, id: &str) -> (State, bool) {
    let r = t.get("s", id).await.expect("get").expect("stored");
    (r.state, r.waits_for_key())
}

/// The current record of `id` as a claim, to finish it.
async fn current(t: &Under, id: &str) -> Claimed {
    let record = t.get("s", id).await.expect("get").expect("stored");
    Claimed {
        record,
        body: Bytes::new(),
    }
}

async fn only_the_head_of_a_key_is_due_and_the_next_follows_it(t: Under) {
    let events = [
        ("a1", 1, "A"),
        ("b1", 2, "B"),
        ("a2", 3, "A"),
        ("a3", 4, "A"),
    ];
    accept_all(&t, &events, OnDead::Block).await;
    assert_eq!(state(&t, "a2").await, (State::Queued, true));
    let mut first = t.claim(10, LEASE).await;
    first.sort_by_key(|c| c.record.id.clone());
    let ids: Vec<_> = first.iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(ids, ["a1", "b1"], "a2 and a3 wait behind a1");
    assert!(claim_ids(&t, 10).await.is_empty());

    let lines = t.ordering_lines(Some("s"), true).await.expect("lines");
    let a = lines.lines.iter().find(|l| l.key == "A").expect("line A");
    assert_eq!(
        (a.head.as_ref().expect("head").id.as_str(), a.behind),
        ("a1", 2)
    );
    assert_eq!(head_id(&t, "A").await.as_deref(), Some("a1"));

    assert!(t.finish(&first[0], Next::Succeeded).await);
    assert_eq!(state(&t, "a2").await, (State::Queued, false));
    assert_eq!(claim_ids(&t, 20).await, ["a2"]);
    assert_eq!(state(&t, "a3").await, (State::Queued, true));

    // A retry keeps the head: a3 still waits.
    assert!(t.finish(&first[1], Next::RetryAt(15)).await);
    assert_eq!(claim_ids(&t, 20).await, ["b1"]);
    let lines = t.ordering_lines(None, false).await.expect("lines");
    assert_eq!(lines.lines.len(), 2, "A (a2 running) and B (b1 running)");
}

async fn a_dead_head_blocks_until_requeued_and_runs_first_again(t: Under) {
    accept_all(&t, &[("e1", 1, "K"), ("e2", 2, "K")], OnDead::Block).await;
    let e1 = t.claim(5, LEASE).await.remove(0);
    assert!(t.finish(&e1, Next::Dead("boom".into())).await);
    assert!(claim_ids(&t, 10).await.is_empty(), "e2 is blocked");
    let lines = t.ordering_lines(Some("s"), true).await.expect("lines");
    assert!(lines.lines[0].blocked());
    assert_eq!(lines.lines[0].behind, 1);

    assert!(matches!(
        t.requeue("s", "e1", 20).await,
        RequeueOutcome::Requeued(_)
    ));
    assert_eq!(claim_ids(&t, 20).await, ["e1"], "the head runs again first");
    assert!(t.finish(&current(&t, "e1").await, Next::Succeeded).await);
    assert_eq!(claim_ids(&t, 30).await, ["e2"]);
}

async fn discarding_a_dead_head_releases_its_key(t: Under) {
    accept_all(&t, &[("e1", 1, "K"), ("e2", 2, "K")], OnDead::Block).await;
    let e1 = t.claim(5, LEASE).await.remove(0);
    assert!(t.finish(&e1, Next::Dead("boom".into())).await);
    assert!(claim_ids(&t, 10).await.is_empty());
    assert!(matches!(
        t.discard("s", "e1").await,
        DiscardOutcome::Discarded(_)
    ));
    assert_eq!(state(&t, "e2").await, (State::Queued, false));
    assert_eq!(claim_ids(&t, 10).await, ["e2"]);
    assert_eq!(head_id(&t, "K").await.as_deref(), Some("e2"));
}

async fn skip_lets_the_next_go_and_a_requeue_rejoins_at_the_end(t: Under) {
    let events = [("e1", 1, "K"), ("e2", 2, "K"), ("e3", 3, "K")];
    accept_all(&t, &events, OnDead::Skip).await;
    let e1 = t.claim(5, LEASE).await.remove(0);
    assert!(t.finish(&e1, Next::Dead("boom".into())).await);
    let e2 = t.claim(10, LEASE).await;
    assert_eq!(e2.len(), 1);
    assert_eq!(e2[0].record.id, "e2", "e1 is skipped");
    let lines = t.ordering_lines(None, false).await.expect("lines");
    assert!(lines.lines.iter().all(|l| !l.blocked()));
    // Requeued while e2 runs, e1 goes to the end of the line: behind e3.
    assert!(matches!(
        t.requeue("s", "e1", 11).await,
        RequeueOutcome::Requeued(_)
    ));
    assert_eq!(state(&t, "e1").await, (State::Queued, true));
    assert!(t.finish(&e2[0], Next::Succeeded).await);
    assert_eq!(claim_ids(&t, 12).await, ["e3"]);
    assert!(t.finish(&current(&t, "e3").await, Next::Succeeded).await);
    assert_eq!(claim_ids(&t, 13).await, ["e1"]);
}

/// After a restart the head is still the head: taken back at once on redb, once its lease
/// expires on PostgreSQL (see `queue`'s recovery test).
async fn the_line_survives_a_restart_with_its_head_processing(t: Under) {
    accept_all(&t, &[("e1", 1, "K"), ("e2", 2, "K")], OnDead::Block).await;
    assert_eq!(claim_ids(&t, 5).await, ["e1"]);
    let t = t.reopen().await;
    let at = if t.kind == Kind::Postgres {
        5 + LEASE
    } else {
        10
    };
    assert_eq!(t.recover(at).await, 1);
    assert_eq!(
        claim_ids(&t, at).await,
        ["e1"],
        "the head is still the head"
    );
    assert_eq!(state(&t, "e2").await, (State::Queued, true));
}

async fn an_unordered_event_is_never_held(t: Under) {
    accept_all(&t, &[("e1", 1, "K")], OnDead::Block).await;
    t.accept(super::event("p1", 2)).await.expect("accept");
    let mut ids = claim_ids(&t, 5).await;
    ids.sort();
    assert_eq!(ids, ["e1", "p1"]);
}

/// A migration cannot put an event back in its line (the record does not hold its place), so
/// importing one still in a line is refused; finished ones import as usual.
async fn importing_an_event_still_in_its_line_is_refused(t: Under) {
    let waiting = EventRecord::queued(&ordered("a", 1, "k", OnDead::Block));
    let refused = t
        .import(vec![(waiting, Some(Bytes::from_static(b"{}")))])
        .await;
    match refused {
        Err(StoreError::Config(why)) => assert!(why.contains("s/a"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut done = EventRecord::queued(&ordered("b", 1, "k", OnDead::Skip));
    done.state = State::Succeeded;
    done.next_attempt_at = None;
    done.finished_at = Some(2);
    assert_eq!(
        t.import(vec![(done.clone(), None)]).await.expect("import"),
        1
    );
    t.exact().await;
    let stored = t.get("s", "b").await.expect("get").expect("imported");
    assert_eq!(stored.ordering, done.ordering);
}

//! The `ordered` transitions on a real redb file: only the head of a key is due, the next one
//! becomes due in the transaction that finishes the head, a dead head blocks or is skipped, and
//! a requeued event rejoins its line.

use std::path::Path;

use bytes::Bytes;

use crate::config::StorageConfig;
use crate::ordering::{EventOrdering, OnDead};
use crate::store::{Attempt, Claimed, NewEvent, Next, Outcome, State, Store};

async fn open(dir: &Path) -> Store {
    let cfg = StorageConfig {
        data_dir: dir.to_path_buf(),
        cache_capacity_bytes: 1 << 20,
        ..StorageConfig::default()
    };
    Store::open(&cfg).await.expect("open")
}

fn ordered(id: &str, at: u64, key: &str, on_dead: OnDead) -> NewEvent {
    NewEvent {
        source: "s".into(),
        id: id.into(),
        received_at: at,
        event_type: None,
        headers: Vec::new(),
        body: Bytes::from_static(b"{}"),
        ordering: Some(EventOrdering {
            key: key.into(),
            on_dead,
        }),
    }
}

/// Ids of everything claimable at `now`, claimed.
async fn claim_ids(store: &Store, now: u64) -> Vec<String> {
    claim(store, now)
        .await
        .into_iter()
        .map(|c| c.record.id)
        .collect()
}

async fn claim(store: &Store, now: u64) -> Vec<Claimed> {
    store
        .claim_due(now, 100, 3, &mut |_| Some(60_000))
        .await
        .expect("claim")
}

async fn finish(store: &Store, c: &Claimed, next: Next) {
    let attempt = Attempt {
        number: c.record.attempt_count,
        started_at: c.record.claimed_at.expect("claimed"),
        duration_ms: 1,
        outcome: if next == Next::Succeeded {
            Outcome::Success
        } else {
            Outcome::Permanent
        },
        status: None,
        exit_code: None,
        error: None,
    };
    assert!(store
        .record_attempt(&c.record, attempt, next)
        .await
        .unwrap());
}

async fn state(store: &Store, id: &str) -> (State, bool) {
    let r = store.get("s", id).await.unwrap().expect("stored");
    (r.state, r.waits_for_key())
}

#[tokio::test]
async fn only_the_head_of_a_key_is_due_and_the_next_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for (id, at, key) in [
        ("a1", 1, "A"),
        ("b1", 2, "B"),
        ("a2", 3, "A"),
        ("a3", 4, "A"),
    ] {
        store
            .accept(ordered(id, at, key, OnDead::Block))
            .await
            .unwrap();
    }
    assert_eq!(state(&store, "a2").await, (State::Queued, true));
    let mut first = claim(&store, 10).await;
    let ids: Vec<_> = first.iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(ids, ["a1", "b1"], "a2 and a3 wait behind a1");
    assert!(claim_ids(&store, 10).await.is_empty());

    let lines = store.ordering_lines(Some("s"), true).await.unwrap();
    let a = lines.lines.iter().find(|l| l.key == "A").expect("line A");
    assert_eq!((a.head.as_ref().unwrap().id.as_str(), a.behind), ("a1", 2));
    let head = store.ordering_head("s", "A").await.unwrap().unwrap();
    assert_eq!(head.id, "a1");

    let a1 = first.remove(0);
    finish(&store, &a1, Next::Succeeded).await;
    assert_eq!(state(&store, "a2").await, (State::Queued, false));
    assert_eq!(claim_ids(&store, 20).await, ["a2"]);
    assert_eq!(state(&store, "a3").await, (State::Queued, true));

    // A retry keeps the head: a3 still waits.
    let b1 = first.remove(0);
    finish(&store, &b1, Next::RetryAt(15)).await;
    assert_eq!(claim_ids(&store, 20).await, ["b1"]);
    let lines = store.ordering_lines(None, false).await.unwrap();
    assert_eq!(lines.lines.len(), 2, "A (a2 running) and B (b1 running)");
}

#[tokio::test]
async fn a_dead_head_blocks_until_requeued() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .accept(ordered("e1", 1, "K", OnDead::Block))
        .await
        .unwrap();
    store
        .accept(ordered("e2", 2, "K", OnDead::Block))
        .await
        .unwrap();
    let e1 = claim(&store, 5).await.remove(0);
    finish(&store, &e1, Next::Dead("boom".into())).await;
    assert!(claim_ids(&store, 10).await.is_empty(), "e2 is blocked");
    let lines = store.ordering_lines(Some("s"), true).await.unwrap();
    assert!(lines.lines[0].blocked());
    assert_eq!(lines.lines[0].behind, 1);

    store.requeue("s", "e1", 20).await.unwrap();
    assert_eq!(
        claim_ids(&store, 20).await,
        ["e1"],
        "the head runs again first"
    );
    let e1 = store.get("s", "e1").await.unwrap().unwrap();
    let e1 = Claimed {
        record: e1,
        body: Bytes::new(),
    };
    finish(&store, &e1, Next::Succeeded).await;
    assert_eq!(claim_ids(&store, 30).await, ["e2"]);
}

#[tokio::test]
async fn skip_lets_the_next_go_and_a_requeue_rejoins_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for (id, at) in [("e1", 1), ("e2", 2), ("e3", 3)] {
        store
            .accept(ordered(id, at, "K", OnDead::Skip))
            .await
            .unwrap();
    }
    let e1 = claim(&store, 5).await.remove(0);
    finish(&store, &e1, Next::Dead("boom".into())).await;
    let e2 = claim(&store, 10).await;
    assert_eq!(e2[0].record.id, "e2", "e1 is skipped");
    // Requeued while e2 runs, e1 goes to the end of the line: behind e3.
    store.requeue("s", "e1", 11).await.unwrap();
    assert_eq!(state(&store, "e1").await, (State::Queued, true));
    finish(&store, &e2[0], Next::Succeeded).await;
    assert_eq!(claim_ids(&store, 12).await, ["e3"]);
}

#[tokio::test]
async fn the_line_survives_a_restart_with_its_head_processing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path()).await;
        store
            .accept(ordered("e1", 1, "K", OnDead::Block))
            .await
            .unwrap();
        store
            .accept(ordered("e2", 2, "K", OnDead::Block))
            .await
            .unwrap();
        assert_eq!(claim_ids(&store, 5).await, ["e1"]);
        store.close().await.unwrap();
    }
    let store = open(dir.path()).await;
    assert_eq!(store.recover(10).await.unwrap(), 1);
    assert_eq!(
        claim_ids(&store, 10).await,
        ["e1"],
        "the head is still the head"
    );
    assert_eq!(state(&store, "e2").await, (State::Queued, true));
}

#[tokio::test]
async fn an_unordered_event_is_never_held() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .accept(ordered("e1", 1, "K", OnDead::Block))
        .await
        .unwrap();
    let mut plain = ordered("p1", 2, "K", OnDead::Block);
    plain.ordering = None;
    store.accept(plain).await.unwrap();
    let mut ids = claim_ids(&store, 5).await;
    ids.sort();
    assert_eq!(ids, ["e1", "p1"]);
}

/// A migration cannot put an event back in its line (the record does not hold its place), so
/// importing one that is still in a line is refused; finished ones import as usual.
#[tokio::test]
async fn importing_an_event_still_in_its_line_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path()).await;
    let waiting = crate::store::EventRecord::queued(&ordered("a", 1, "k", OnDead::Block));
    let refused = store
        .import(vec![(waiting, Some(Bytes::from_static(b"{}")))])
        .await;
    match refused {
        Err(crate::store::StoreError::Config(why)) => assert!(why.contains("s/a"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut done = crate::store::EventRecord::queued(&ordered("b", 1, "k", OnDead::Block));
    done.state = State::Succeeded;
    done.next_attempt_at = None;
    let imported = store.import(vec![(done, None)]).await.expect("import");
    assert_eq!(imported, 1);
    store.close().await.expect("close");
}

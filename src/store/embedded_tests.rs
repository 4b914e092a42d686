//! Store semantics every embedded backend shares, each test run on redb and on sled, each in a
//! temp dir.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{StorageBackend, StorageConfig};
use crate::store::*;

pub(crate) async fn open(backend: StorageBackend, dir: &Path) -> Store {
    let cfg = StorageConfig {
        backend,
        data_dir: dir.to_path_buf(),
        cache_capacity_bytes: 1 << 20,
        retention: Duration::from_millis(100),
        dedupe_window: Duration::from_millis(1000),
        ..StorageConfig::default()
    };
    Store::open(&cfg).await.expect("open")
}

pub(crate) fn event(id: &str, at: u64) -> NewEvent {
    NewEvent {
        source: "s".into(),
        id: id.into(),
        received_at: at,
        event_type: Some("t".into()),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Bytes::from_static(b"{}"),
        ordering: None,
    }
}

async fn claim(store: &Store, now: u64, lease: u64) -> Vec<Claimed> {
    store
        .claim_due(now, 10, 3, &mut |_| Some(lease))
        .await
        .expect("claim")
}

pub(crate) fn attempt(claimed: &Claimed, outcome: Outcome) -> Attempt {
    Attempt {
        number: claimed.record.attempt_count,
        started_at: claimed.record.claimed_at.expect("claimed"),
        duration_ms: 1,
        outcome,
        status: None,
        exit_code: None,
        error: None,
    }
}

/// Asserts the store's counters say what a scan of its records says.
pub(crate) async fn counters_exact(store: &Store) {
    let wrong = store.check_counters().await.expect("check counters");
    assert!(
        wrong.is_empty(),
        "counters disagree with the records: {wrong:#?}"
    );
}

/// Leaves `store` with an event in each of succeeded, dead, processing and queued, in two
/// streams; returns the counts it expects.
pub(crate) async fn varied(store: &Store) -> StateCounts {
    for (id, at) in [("a", 1), ("b", 2), ("c", 3)] {
        store.accept(event(id, at)).await.expect("accept");
    }
    let mut other = event("d", 4);
    other.source = "t".into();
    store.accept(other).await.expect("accept");
    let claimed = claim(store, 5, 1000).await;
    assert_eq!(claimed.len(), 4);
    for (c, next) in claimed
        .iter()
        .zip([Next::Succeeded, Next::Dead("x".into())])
    {
        let recorded = store.record_attempt(&c.record, attempt(c, Outcome::Success), next);
        assert!(recorded.await.expect("record"));
    }
    let retry = Next::RetryAt(1_000_000);
    let recorded = store.record_attempt(
        &claimed[2].record,
        attempt(&claimed[2], Outcome::Transient),
        retry,
    );
    assert!(recorded.await.expect("record"));
    StateCounts {
        queued: 1,
        processing: 1,
        succeeded: 1,
        dead: 1,
        ..StateCounts::default()
    }
}

/// Runs each named test on both embedded backends.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::config::StorageBackend;

            #[tokio::test]
            async fn redb() {
                super::$name(StorageBackend::Redb).await
            }

            #[tokio::test]
            async fn sled() {
                super::$name(StorageBackend::Sled).await
            }
        }
    )*};
}

on_both!(
    the_summary_from_counters_is_the_scans,
    accept_dedupes_and_claim_respects_due_time,
    an_expired_lease_is_reclaimed_and_the_stale_result_ignored,
    recovery_requeues_processing_events_after_a_restart,
    retention_purges_the_body_then_forgets_the_id,
    concurrent_accepts_count_each_id_once,
    discard_keeps_a_tombstone_and_types_filter
);

async fn accept_dedupes_and_claim_respects_due_time(backend: StorageBackend) {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(backend, dir.path()).await;
    assert_eq!(
        store.accept(event("a", 100)).await.expect("accept"),
        Accepted::New
    );
    assert_eq!(
        store.accept(event("a", 100)).await.expect("accept"),
        Accepted::Duplicate(State::Queued)
    );
    assert_eq!(store.pending(), 1);
    assert!(claim(&store, 99, 50).await.is_empty(), "not due yet");
    let claimed = claim(&store, 100, 50).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].record.state, State::Processing);
    assert_eq!(claimed[0].body, Bytes::from_static(b"{}"));
    assert!(claim(&store, 120, 50).await.is_empty(), "leased");

    let done = store
        .record_attempt(
            &claimed[0].record,
            attempt(&claimed[0], Outcome::Success),
            Next::Succeeded,
        )
        .await
        .expect("record");
    assert!(done);
    assert_eq!(store.pending(), 0);
    let record = store.get("s", "a").await.expect("get").expect("exists");
    assert_eq!(record.state, State::Succeeded);
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(store.next_due().await.expect("next"), None);
    counters_exact(&store).await;
}

async fn an_expired_lease_is_reclaimed_and_the_stale_result_ignored(backend: StorageBackend) {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(backend, dir.path()).await;
    store.accept(event("a", 0)).await.expect("accept");
    let first = claim(&store, 0, 10).await.remove(0);
    assert_eq!(
        store.next_due().await.expect("next"),
        Some(10),
        "the lease is the due time"
    );
    let second = claim(&store, 10, 10).await.remove(0);
    assert_eq!(second.record.attempt_count, 2);
    assert_eq!(second.record.attempts[0].outcome, Outcome::Abandoned);
    let stale = store
        .record_attempt(
            &first.record,
            attempt(&first, Outcome::Success),
            Next::Succeeded,
        )
        .await
        .expect("record");
    assert!(!stale, "the first claim is no longer current");
    // Third abandonment exhausts max_attempts = 3: the event goes dead instead of being claimed.
    let _third = claim(&store, 20, 10).await.remove(0);
    assert!(claim(&store, 30, 10).await.is_empty());
    let record = store.get("s", "a").await.expect("get").expect("exists");
    assert_eq!(record.state, State::Dead);
    assert_eq!(store.pending(), 0);
    counters_exact(&store).await;
}

async fn recovery_requeues_processing_events_after_a_restart(backend: StorageBackend) {
    let dir = tempfile::tempdir().expect("dir");
    {
        let store = open(backend, dir.path()).await;
        store.accept(event("a", 0)).await.expect("accept");
        store.accept(event("b", 0)).await.expect("accept");
        let claimed = claim(&store, 0, 1_000_000).await;
        assert_eq!(claimed.len(), 2);
        store.close().await.expect("close");
    }
    let store = open(backend, dir.path()).await;
    assert_eq!(store.pending(), 2);
    assert_eq!(store.recover(5).await.expect("recover"), 2);
    let again = claim(&store, 5, 10).await;
    assert_eq!(
        again.len(),
        2,
        "both back in the queue at once, not after the lease"
    );
    assert!(again
        .iter()
        .all(|c| c.record.attempts[0].outcome == Outcome::Abandoned));
    counters_exact(&store).await;
}

async fn retention_purges_the_body_then_forgets_the_id(backend: StorageBackend) {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(backend, dir.path()).await;
    store.accept(event("a", 0)).await.expect("accept");
    let c = claim(&store, 0, 10).await.remove(0);
    let a = attempt(&c, Outcome::Success);
    store
        .record_attempt(&c.record, a, Next::Succeeded)
        .await
        .expect("record");
    let finished = store
        .get("s", "a")
        .await
        .expect("get")
        .expect("exists")
        .finished_at
        .expect("done");

    assert_eq!(
        store.expire(finished + 99, 10).await.expect("expire"),
        0,
        "within retention"
    );
    assert_eq!(store.expire(finished + 100, 10).await.expect("expire"), 1);
    assert_eq!(store.body("s", "a").await.expect("body"), None);
    let tombstone = store
        .get("s", "a")
        .await
        .expect("get")
        .expect("still known");
    assert!(tombstone.body_purged);
    assert_eq!(
        store.accept(event("a", 500)).await.expect("accept"),
        Accepted::Duplicate(State::Succeeded),
        "still a duplicate within the dedupe window"
    );
    assert_eq!(store.expire(finished + 1000, 10).await.expect("expire"), 1);
    assert_eq!(store.get("s", "a").await.expect("get"), None);
    counters_exact(&store).await;
}

/// Concurrent accepts, many of one id, through the batch task: one `New` per id.
async fn concurrent_accepts_count_each_id_once(backend: StorageBackend) {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(backend, dir.path()).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.accept(event(&format!("e{}", i % 50), 1)).await })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        new += usize::from(task.await.expect("task").expect("accept") == Accepted::New);
    }
    assert_eq!(new, 50);
    assert_eq!(store.pending(), 50);
    counters_exact(&store).await;
    store.close().await.expect("close");
}

/// Accepts `id` of type `kind` at `at`, then settles it with `next` (none: left queued).
async fn settled_event(store: &Store, id: &str, kind: &str, at: u64, next: Option<Next>) {
    let mut ev = event(id, at);
    ev.event_type = Some(kind.into());
    store.accept(ev).await.expect("accept");
    let Some(next) = next else { return };
    let claimed = claim(store, at, 50).await.remove(0);
    let attempt = attempt(&claimed, Outcome::Permanent);
    let recorded = store.record_attempt(&claimed.record, attempt, next).await;
    assert!(recorded.expect("record"));
}

async fn discard_keeps_a_tombstone_and_types_filter(backend: StorageBackend) {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(backend, dir.path()).await;
    settled_event(
        &store,
        "a",
        "invoice.paid",
        10,
        Some(Next::Dead("x".into())),
    )
    .await;
    settled_event(&store, "b", "invoice.created", 20, Some(Next::Succeeded)).await;
    settled_event(&store, "c", "invoicex", 30, None).await;
    let discard = |id: &'static str| store.discard("s", id);
    assert_eq!(
        discard("b").await.expect("b"),
        DiscardOutcome::NotDead(State::Succeeded)
    );
    assert_eq!(
        discard("c").await.expect("c"),
        DiscardOutcome::NotDead(State::Queued)
    );
    assert_eq!(
        discard("nope").await.expect("nope"),
        DiscardOutcome::Unknown
    );
    let DiscardOutcome::Discarded(tombstone) = discard("a").await.expect("a") else {
        panic!("a dead event is discarded");
    };
    assert!(tombstone.is_discarded() && tombstone.state == State::Dead);
    assert_eq!(store.get("s", "a").await.expect("get"), Some(tombstone));
    assert_eq!(store.body("s", "a").await.expect("body"), None);
    assert_eq!(
        discard("a").await.expect("again"),
        DiscardOutcome::AlreadyDiscarded
    );
    assert_eq!(
        store.accept(event("a", 40)).await.expect("retry"),
        Accepted::Duplicate(State::Dead),
        "the provider's retry stays a duplicate"
    );
    assert_eq!(
        store.requeue("s", "a", 50).await.expect("requeue"),
        RequeueOutcome::BodyPurged
    );
    let none = store.requeue_dead(&EventFilter::default(), None, 50).await;
    assert_eq!(none.expect("bulk").requeued, 0);

    let of_type = |pattern: &str| EventFilter {
        event_type: Some(TypeMatch::parse(pattern)),
        ..EventFilter::default()
    };
    let ids = |page: Page| -> Vec<String> { page.items.into_iter().map(|r| r.id).collect() };
    let invoices = store
        .list(&of_type("invoice.*"), 10, None)
        .await
        .expect("list");
    assert_eq!(ids(invoices), ["b", "a"]);
    let exact = store
        .list(&of_type("invoicex"), 10, None)
        .await
        .expect("list");
    assert_eq!(ids(exact), ["c"]);
    let (counts, complete) = store.counts(&EventFilter::default()).await.expect("counts");
    assert!(complete);
    let got = (
        counts.queued,
        counts.succeeded,
        counts.dead,
        counts.discarded,
    );
    assert_eq!(got, (1, 1, 0, 1), "discarded is counted apart from dead");
    counters_exact(&store).await;
}

async fn the_summary_from_counters_is_the_scans(backend: StorageBackend) {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(backend, dir.path()).await;
    varied(&store).await;
    let empty = || Summary::new(2 * SUMMARY_BUCKET_MS, SUMMARY_BUCKET_MS, 12, ["s", "quiet"]);
    let (mut counted, mut scanned) = (empty(), empty());
    assert!(store.summarize(&mut counted).await.expect("summary"));
    let all = store
        .scan(&EventFilter::default(), |r| scanned.add(r))
        .await;
    assert!(all.expect("scan"));
    assert_eq!(counted, scanned);
    let s = &counted.sources["s"];
    assert_eq!(
        (s.queue_depth, s.oldest_queued_at, s.last_event_at),
        (1, Some(3), Some(3))
    );
    assert_eq!(s.buckets[0].accepted, 3);
    counters_exact(&store).await;
}

//! The operator's side: listing and its filters and cursor, requeue of one event and in bulk,
//! discard, counts and the summary.

use bytes::Bytes;

use super::{event, event_of, Under, RETENTION_MS};
use crate::store::*;

conformance!(
    listing_is_newest_first_filtered_and_paged_to_the_end,
    requeue_restarts_final_events_and_refuses_the_rest,
    a_purged_body_cannot_be_requeued,
    bulk_requeue_takes_only_dead_events_in_range,
    discard_keeps_a_tombstone_and_types_filter,
    counts_and_the_summary_say_what_the_records_say,
);

/// Claims every event due at `now` and ends each with `next`.
async fn finish_all(t: &Under, now: u64, next: Next) {
    for c in t.claim(now, 1_000).await {
        assert!(t.finish(&c, next.clone()).await);
    }
}

fn by_source(source: &str) -> EventFilter {
    EventFilter {
        source: Some(source.into()),
        ..EventFilter::default()
    }
}

async fn listing_is_newest_first_filtered_and_paged_to_the_end(t: Under) {
    for (i, id) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        t.accept(event(id, 100 + i as u64)).await.expect("accept");
    }
    t.accept(event_of("other", "x", 99)).await.expect("accept");
    t.accept(event_of("s2", "y", 103)).await.expect("accept"); // a name extending "s"

    // Ties across sources differ today: the embedded backends order by the length-prefixed
    // source, PostgreSQL by the name ("other" vs "s" at one millisecond); only "s2" and "s"
    // agree, so only they tie here.
    let all = EventFilter::default();
    let listed = t.ids(&all).await;
    assert_eq!(
        listed,
        ["e", "s2/y", "d", "c", "b", "a", "other/x"],
        "ties: by key, descending"
    );

    let only_s = by_source("s");
    let first = t.list(&only_s, 2, None).await.expect("list");
    let second = t.list(&only_s, 2, first.next.as_ref()).await.expect("list");
    let third = t
        .list(&only_s, 2, second.next.as_ref())
        .await
        .expect("list");
    let ids = |p: &Page| p.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        (ids(&first), ids(&second), ids(&third)),
        (
            vec!["e".to_owned(), "d".into()],
            vec!["c".to_owned(), "b".into()],
            vec!["a".to_owned()]
        )
    );
    assert_eq!(third.next, None, "no cursor on the last page");

    let range = EventFilter {
        since: Some(101),
        until: Some(103),
        ..only_s.clone()
    };
    assert_eq!(t.ids(&range).await, ["c", "b"]);

    finish_all(&t, 200, Next::Dead("gave up".into())).await;
    let dead = EventFilter {
        state: Some(State::Dead),
        ..only_s
    };
    assert_eq!(t.ids(&dead).await.len(), 5);
    let queued = EventFilter {
        state: Some(State::Queued),
        ..EventFilter::default()
    };
    assert!(t.ids(&queued).await.is_empty());
    let mut streams = t.streams().await.expect("streams");
    streams.sort();
    assert_eq!(streams, ["other", "s", "s2"]);
}

async fn requeue_restarts_final_events_and_refuses_the_rest(t: Under) {
    t.accept(event("dead", 1)).await.expect("accept");
    finish_all(&t, 10, Next::Dead("exit 3".into())).await;
    t.accept(event("done", 20)).await.expect("accept");
    finish_all(&t, 30, Next::Succeeded).await;
    t.accept(event("waiting", 40)).await.expect("accept");

    let RequeueOutcome::Requeued(r) = t.requeue("s", "dead", 50).await else {
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

    let replay = t.requeue("s", "done", 60).await;
    assert!(
        matches!(replay, RequeueOutcome::Requeued(r) if r.requeues[0].previous_state == State::Succeeded)
    );
    assert_eq!(
        t.expire(u64::MAX / 2, 10).await,
        0,
        "no retention while queued"
    );
    assert_eq!(
        t.requeue("s", "waiting", 70).await,
        RequeueOutcome::NotFinal(State::Queued)
    );
    assert_eq!(t.requeue("s", "nope", 70).await, RequeueOutcome::Unknown);

    let claimed = t.claim(80, 10).await;
    let mut ids: Vec<&str> = claimed.iter().map(|c| c.record.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["dead", "done", "waiting"]);
    assert!(claimed.iter().all(|c| c.body == Bytes::from_static(b"{}")));
}

async fn a_purged_body_cannot_be_requeued(t: Under) {
    t.accept(event("old", 1)).await.expect("accept");
    finish_all(&t, 10, Next::Succeeded).await;
    let record = t.get("s", "old").await.expect("get").expect("exists");
    let purge_at = record.finished_at.expect("finished") + RETENTION_MS;
    assert_eq!(t.expire(purge_at, 10).await, 1);
    assert_eq!(t.requeue("s", "old", 20).await, RequeueOutcome::BodyPurged);
}

async fn bulk_requeue_takes_only_dead_events_in_range(t: Under) {
    for (source, id, at) in [("a", "1", 1), ("a", "2", 2), ("a", "3", 3), ("b", "4", 2)] {
        t.accept(event_of(source, id, at)).await.expect("accept");
    }
    finish_all(&t, 10, Next::Dead("no".into())).await;
    t.accept(event_of("a", "queued", 2)).await.expect("accept");
    let filter = EventFilter {
        since: Some(2),
        ..by_source("a")
    };
    let done = t.requeue_dead(&filter, 20).await;
    let taken = vec![("a".into(), "3".into()), ("a".into(), "2".into())];
    assert_eq!(
        done,
        BulkRequeued {
            requeued: 2,
            taken,
            next: None
        }
    );
    assert_eq!(
        t.requeue_dead(&filter, 21).await.requeued,
        0,
        "already queued"
    );
    let dead = EventFilter {
        state: Some(State::Dead),
        ..EventFilter::default()
    };
    assert_eq!(t.ids(&dead).await, ["b/4", "a/1"]);
}

/// Accepts `id` of type `kind` at `at`, then settles it with `next` (none: left queued).
async fn settled(t: &Under, id: &str, kind: &str, at: u64, next: Option<Next>) {
    let mut ev = event(id, at);
    ev.event_type = Some(kind.into());
    t.accept(ev).await.expect("accept");
    if let Some(next) = next {
        let claimed = t.claim(at, 50).await.remove(0);
        assert!(t.finish(&claimed, next).await);
    }
}

async fn discard_keeps_a_tombstone_and_types_filter(t: Under) {
    settled(&t, "a", "invoice.paid", 10, Some(Next::Dead("x".into()))).await;
    settled(&t, "b", "invoice.created", 20, Some(Next::Succeeded)).await;
    settled(&t, "c", "invoicex", 30, None).await;
    assert_eq!(
        t.discard("s", "b").await,
        DiscardOutcome::NotDead(State::Succeeded)
    );
    assert_eq!(
        t.discard("s", "c").await,
        DiscardOutcome::NotDead(State::Queued)
    );
    assert_eq!(t.discard("s", "nope").await, DiscardOutcome::Unknown);
    let DiscardOutcome::Discarded(tombstone) = t.discard("s", "a").await else {
        panic!("a dead event is discarded");
    };
    assert!(tombstone.is_discarded() && tombstone.state == State::Dead);
    assert_eq!(t.get("s", "a").await.expect("get"), Some(tombstone));
    assert_eq!(t.body("s", "a").await.expect("body"), None);
    assert_eq!(t.discard("s", "a").await, DiscardOutcome::AlreadyDiscarded);
    let retry = t.accept(event("a", 40)).await.expect("retry");
    assert_eq!(
        retry,
        Accepted::Duplicate(State::Dead),
        "the provider's retry stays a duplicate"
    );
    assert_eq!(t.requeue("s", "a", 50).await, RequeueOutcome::BodyPurged);
    assert_eq!(
        t.requeue_dead(&EventFilter::default(), 50).await.requeued,
        0
    );

    let of_type = |pattern: &str| EventFilter {
        event_type: Some(TypeMatch::parse(pattern)),
        ..EventFilter::default()
    };
    assert_eq!(t.ids(&of_type("invoice.*")).await, ["b", "a"]);
    assert_eq!(t.ids(&of_type("invoicex")).await, ["c"]);
    let (counts, complete) = t.counts(&EventFilter::default()).await.expect("counts");
    assert!(complete);
    let got = (
        counts.queued,
        counts.succeeded,
        counts.dead,
        counts.discarded,
    );
    assert_eq!(got, (1, 1, 0, 1), "discarded is counted apart from dead");
}

/// Counts by source and route, by type (a walk), and the summary: each what the records say.
async fn counts_and_the_summary_say_what_the_records_say(t: Under) {
    for (id, at) in [("a", 1), ("b", 2), ("c", 3)] {
        t.accept(event(id, at)).await.expect("accept");
    }
    let mut routed = event("r", 4);
    routed.source = "s".into();
    let routes = ["s:x", "s:y"].map(|stream| RouteDelivery {
        stream: stream.into(),
        ordering: None,
        skipped: stream == "s:y",
    });
    t.accept_routed(routed, routes.to_vec())
        .await
        .expect("routed");
    let mut claimed = t.claim(5, 1_000).await;
    assert_eq!(claimed.len(), 4);
    claimed.sort_by_key(|c| (c.record.source.clone(), c.record.id.clone()));
    assert!(t.finish(&claimed[0], Next::Succeeded).await); // s/a
    assert!(t.finish(&claimed[1], Next::Dead("x".into())).await); // s/b
    assert!(t.finish(&claimed[2], Next::RetryAt(1_000_000)).await); // s/c; s:x/r runs on

    let all = t.counts(&EventFilter::default()).await.expect("counts");
    let expected = StateCounts {
        queued: 1,
        processing: 1,
        succeeded: 1,
        dead: 1,
        skipped: 1,
        ..StateCounts::default()
    };
    assert_eq!(all, (expected, true));
    let route = EventFilter {
        route: Some("y".into()),
        ..by_source("s")
    };
    let skipped = t.counts(&route).await.expect("counts").0;
    assert_eq!((skipped.skipped, skipped.queued), (1, 0));
    let typed = EventFilter {
        event_type: Some(TypeMatch::parse("t")),
        ..EventFilter::default()
    };
    assert_eq!(t.counts(&typed).await.expect("counts").0.dead, 1);

    let empty = || Summary::new(2 * SUMMARY_BUCKET_MS, SUMMARY_BUCKET_MS, 12, ["s", "quiet"]);
    let (mut summary, mut scanned) = (empty(), empty());
    assert!(t.summarize(&mut summary).await.expect("summary"));
    let all = t.scan(&EventFilter::default(), |r| scanned.add(r)).await;
    assert!(all.expect("scan"));
    assert_eq!(summary, scanned);
    let s = &summary.sources["s"];
    assert_eq!(
        (s.queue_depth, s.oldest_queued_at, s.last_event_at),
        (1, Some(3), Some(3))
    );
    let first = &s.buckets[0];
    assert_eq!((first.accepted, first.succeeded, first.dead), (3, 1, 1));
    assert_eq!(summary.sources["s:y"].buckets[0].skipped, 1);
    assert_eq!(summary.sources["quiet"].queue_depth, 0);
}

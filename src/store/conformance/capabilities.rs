//! Capabilities a backend may lack, each either kept or refused in so many words: migrating out
//! (PostgreSQL refuses), migrating in (sled refuses) and per-key ordering (sled: refused at
//! config load, see `config::ordering`, so it holds no lines).

use bytes::Bytes;

use super::{event, head_id, Kind, Under};
use crate::ordering::{EventOrdering, OnDead};
use crate::store::*;

conformance!(
    migrating_out_pages_every_event_or_is_refused,
    migrating_in_copies_events_once_or_is_refused,
    ordering_lines_are_kept_or_there_are_none,
);

/// A refusal of a capability, naming the backend.
fn assert_refused<T: std::fmt::Debug>(result: Result<T, StoreError>, backend: &str) {
    match result {
        Err(StoreError::Config(why)) => {
            assert!(
                why.contains(&format!("is not supported by {backend}")),
                "{why}"
            )
        }
        other => panic!("expected {backend}'s refusal, got {other:?}"),
    }
}

async fn migrating_out_pages_every_event_or_is_refused(t: Under) {
    for (id, at) in [("a", 1), ("b", 2), ("c", 3)] {
        t.accept(event(id, at)).await.expect("accept");
    }
    if t.kind == Kind::Postgres {
        return assert_refused(t.export_page(None, 10).await, "PostgreSQL");
    }
    let first = t.export_page(None, 2).await.expect("export");
    let rest = t.export_page(Some(&first[1].0), 2).await.expect("export");
    let ids: Vec<_> = first
        .iter()
        .chain(&rest)
        .map(|(r, _)| r.id.as_str())
        .collect();
    assert_eq!(ids, ["a", "b", "c"], "in key order, each once");
    assert!(first
        .iter()
        .all(|(_, body)| body.as_deref() == Some(&b"{}"[..])));
    assert!(t
        .export_page(Some(&rest[0].0), 2)
        .await
        .expect("export")
        .is_empty());
    assert_eq!(t.count().await.expect("count"), 3);
}

async fn migrating_in_copies_events_once_or_is_refused(t: Under) {
    let mut done = EventRecord::queued(&event("done", 1));
    done.finish(5, Next::Succeeded);
    let queued = EventRecord::queued(&event("queued", 2));
    let body = Some(Bytes::from_static(b"{}"));
    let events = vec![(done, body.clone()), (queued, body)];
    if t.kind == Kind::Sled {
        assert_refused(t.import(events).await, "sled");
        return assert_refused(t.finish_migration().await, "sled");
    }
    assert_eq!(t.import(events.clone()).await.expect("import"), 2);
    t.exact().await;
    assert_eq!(
        t.import(events).await.expect("again"),
        0,
        "known ids are left alone"
    );
    assert_eq!(t.state("done").await, State::Succeeded);
    assert_eq!(t.claim(10, 100).await.len(), 1, "the queued one is due");
    assert_eq!(t.count().await.expect("count"), 2);
    t.finish_migration().await.expect("finish");
}

async fn ordering_lines_are_kept_or_there_are_none(t: Under) {
    if t.kind == Kind::Sled {
        let lines = t.ordering_lines(None, true).await.expect("lines");
        assert!(lines.lines.is_empty() && !lines.truncated);
        return assert_eq!(t.ordering_head("s", "k").await.expect("head"), None);
    }
    let mut ev = event("a", 1);
    ev.ordering = Some(EventOrdering {
        key: "k".into(),
        on_dead: OnDead::Block,
    });
    t.accept(ev).await.expect("accept");
    let lines = t.ordering_lines(Some("s"), true).await.expect("lines");
    assert_eq!(lines.lines.len(), 1);
    assert_eq!(head_id(&t, "k").await.as_deref(), Some("a"));
}

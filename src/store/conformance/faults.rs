//! The embedded backends' fault guards, shared code (`data_dir`) run on redb and sled alike: a
//! store that comes back with fewer events than at its last clean close, or without its main
//! file, is refused naming the file; an engine panic at open is a refusal, not a crash; a data
//! dir deleted while serving makes every write `Unavailable` and the store not ready, and is
//! never recreated empty. (PostgreSQL's faults are the server's: see its own tests.)

use bytes::Bytes;

use super::{event, Kind, Under};
use crate::store::data_dir::{self, Marker};
use crate::store::*;

conformance!(
    on [redb, sled]:
    fewer_events_than_at_the_last_clean_close_is_refused,
    a_missing_file_is_refused_not_recreated_empty,
    a_deleted_data_dir_makes_writes_unavailable_for_good,
    a_clean_close_records_the_count_and_a_reopen_keeps_every_event,
);

/// The main file of `kind`'s store.
fn main_file(kind: Kind) -> &'static str {
    match kind {
        Kind::Redb => crate::store::redb::FILE,
        _ => "db",
    }
}

fn assert_damaged(result: Result<Store, StoreError>, file: &str, what: &str) {
    match result {
        Err(StoreError::Damaged(why)) => {
            assert!(why.contains(file), "names the file: {why}");
            assert!(why.contains("backup"), "says the way out: {why}");
        }
        Err(other) => panic!("{what}: expected a damaged-store refusal, got {other}"),
        Ok(_) => panic!("{what}: opened a damaged store"),
    }
}

async fn filled(t: &Under, n: usize) {
    for i in 0..n {
        let accepted = t.accept(event(&format!("e{i}"), 1)).await;
        assert_eq!(accepted.expect("accept"), Accepted::New);
    }
}

async fn fewer_events_than_at_the_last_clean_close_is_refused(t: Under) {
    filled(&t, 3).await;
    let kind = t.kind;
    let (file, refused, _dir) = t
        .reopen_refused(|dir| {
            let marker = data_dir::claim(dir, if kind == Kind::Redb { "redb" } else { "sled" });
            let marker = Marker {
                events_at_close: Some(5),
                ..marker.expect("claim").expect("a marker")
            };
            data_dir::write(dir, &marker).expect("marker");
        })
        .await;
    assert_damaged(refused, &file, "shorter");
}

async fn a_missing_file_is_refused_not_recreated_empty(t: Under) {
    filled(&t, 3).await;
    let name = main_file(t.kind);
    let (file, refused, _dir) = t
        .reopen_refused(|dir| std::fs::remove_file(dir.join(name)).expect("remove"))
        .await;
    assert_damaged(refused, &file, "missing");
    assert!(
        !std::path::Path::new(&file).exists(),
        "no empty store was created"
    );
}

async fn a_deleted_data_dir_makes_writes_unavailable_for_good(t: Under) {
    t.accept(event("a", 10)).await.expect("accept");
    let file = t.dir().join(main_file(t.kind));
    std::fs::remove_dir_all(t.dir()).expect("delete the data dir");
    for id in ["b", "c"] {
        let refused = t.store.accept(event(id, 10)).await;
        assert!(
            matches!(refused, Err(StoreError::Unavailable(_))),
            "{refused:?}"
        );
    }
    assert!(t.check_writable(1).await.is_err(), "not ready");
    let later = t.store.accept(event("d", 10)).await;
    assert!(later.is_err(), "still unavailable: {later:?}");
    assert!(!file.exists(), "never recreated behind the operator's back");
    let _ = t.close().await;
}

async fn a_clean_close_records_the_count_and_a_reopen_keeps_every_event(t: Under) {
    filled(&t, 10).await;
    let t = t.reopen().await;
    let marker = data_dir::claim(t.dir(), &format!("{:?}", t.kind).to_lowercase());
    assert_eq!(
        marker.expect("claim").expect("marker").events_at_close,
        None,
        "open again"
    );
    assert_eq!(t.pending(), 10);
    let again = t.accept(event("e3", 1)).await.expect("accept");
    assert!(matches!(again, Accepted::Duplicate(_)));
    let body = t.body("s", "e3").await.expect("body");
    assert_eq!(body, Some(Bytes::from_static(b"{}")));
}

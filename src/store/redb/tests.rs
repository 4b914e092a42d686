//! What only the redb backend does: refusing damaged or shortened files, and noticing its file
//! vanish while serving. (What every backend does is in `store::conformance`.)

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use bytes::Bytes;

use super::{RedbStore, FILE};
use crate::config::{Durability, StorageConfig};
use crate::store::backend::Backend as _;
use crate::store::{Accepted, NewEvent, StoreError};

fn config(dir: &Path) -> StorageConfig {
    StorageConfig {
        data_dir: dir.to_path_buf(),
        cache_capacity_bytes: 1 << 20,
        ..StorageConfig::default()
    }
}

fn event(id: &str, body_bytes: usize) -> NewEvent {
    NewEvent {
        source: "s".into(),
        id: id.into(),
        received_at: 1,
        event_type: None,
        headers: Vec::new(),
        body: Bytes::from(vec![b'x'; body_bytes]),
        ordering: None,
    }
}

/// A closed store holding `n` events with 4 KiB bodies.
async fn filled(dir: &Path, n: usize) {
    let store = RedbStore::open(&config(dir), None).expect("open");
    for i in 0..n {
        let outcome = store.accept(event(&format!("e{i}"), 4096)).await;
        assert_eq!(outcome.expect("accept"), Accepted::New);
    }
    store.close().await.expect("close");
}

fn assert_damaged(result: Result<RedbStore, StoreError>, what: &str) {
    match result {
        Err(StoreError::Damaged(why)) => {
            assert!(why.contains(FILE), "names the file: {why}");
            assert!(why.contains("backup"), "says the way out: {why}");
        }
        Err(other) => panic!("{what}: expected a damaged-store refusal, got {other}"),
        Ok(_) => panic!("{what}: opened a damaged store"),
    }
}

#[tokio::test]
async fn a_file_cut_in_half_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    filled(dir.path(), 300).await;
    let path = dir.path().join(FILE);
    let len = std::fs::metadata(&path).expect("stat").len();
    let file = OpenOptions::new().write(true).open(&path).expect("open");
    file.set_len(len / 2).expect("truncate");
    assert_damaged(RedbStore::open(&config(dir.path()), None), "truncated");
}

#[tokio::test]
async fn garbage_in_the_middle_is_refused_without_a_panic() {
    let dir = tempfile::tempdir().expect("dir");
    filled(dir.path(), 300).await;
    let path = dir.path().join(FILE);
    let len = std::fs::metadata(&path).expect("stat").len();
    let mut file = OpenOptions::new().write(true).open(&path).expect("open");
    file.seek(SeekFrom::Start(len / 2)).expect("seek");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    file.write_all(&garbage).expect("write");
    file.sync_all().expect("sync");
    assert_damaged(RedbStore::open(&config(dir.path()), None), "garbage");
}

#[tokio::test]
async fn an_unfinished_migration_target_is_not_served_until_migrate_completes() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config(dir.path());
    let target = RedbStore::open(&cfg, Some("sled:/old")).expect("open as target");
    target.accept(event("e1", 10)).await.expect("accept");
    target
        .close()
        .await
        .expect("close, as a migrate killed part-way would not even do");
    let refused = RedbStore::open(&cfg, None)
        .map(|_| ())
        .expect_err("not served");
    let text = refused.to_string();
    assert!(
        text.contains("hookbox migrate") && text.contains("sled:/old"),
        "{text}"
    );
    // Running migrate again opens it as its target, completes, and clears the mark.
    let again = RedbStore::open(&cfg, Some("sled:/old")).expect("migrate again");
    again.finish_migration().expect("finish");
    again.close().await.expect("close");
    let served = RedbStore::open(&cfg, None).expect("served once migrate finished");
    assert_eq!(served.count().expect("count"), 1);
    served.close().await.expect("close");
}

#[tokio::test]
async fn interval_mode_acknowledges_and_keeps_events_over_a_clean_close() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = StorageConfig {
        durability: Durability::Interval,
        flush_interval: std::time::Duration::from_millis(5),
        ..config(dir.path())
    };
    let store = RedbStore::open(&cfg, None).expect("open");
    for i in 0..20 {
        store
            .accept(event(&format!("e{i}"), 100))
            .await
            .expect("accept");
    }
    store.close().await.expect("close");
    let store = RedbStore::open(&cfg, None).expect("reopen");
    assert_eq!(store.pending(), 20);
    store.close().await.expect("close");
}

/// Succeeded events whose bodies and ids retention has dropped leave free pages behind;
/// compaction gives them back, keeps what remains readable, and needs the file to itself.
#[tokio::test]
async fn compaction_returns_freed_space_and_keeps_the_rest() {
    use crate::store::{Attempt, Next, Outcome};

    let dir = tempfile::tempdir().expect("dir");
    let cfg = StorageConfig {
        retention: std::time::Duration::from_millis(1),
        dedupe_window: std::time::Duration::from_millis(1),
        ..config(dir.path())
    };
    let store = RedbStore::open(&cfg, None).expect("open");
    for i in 0..200 {
        store
            .accept(event(&format!("e{i}"), 16 * 1024))
            .await
            .expect("accept");
    }
    store.accept(event("kept", 16)).await.expect("accept");
    let claimed = store
        .claim_due(10, 200, 3, &mut |r| (r.id != "kept").then_some(1000))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 200);
    for c in &claimed {
        let done = Attempt {
            number: 1,
            started_at: 10,
            duration_ms: 1,
            outcome: Outcome::Success,
            status: None,
            exit_code: None,
            error: None,
        };
        store
            .record_attempt(&c.record, done, Next::Succeeded)
            .await
            .expect("record");
    }
    // Twice: the first pass purges bodies, the second forgets the ids.
    let far = u64::MAX / 2;
    store.expire(far, 1000).await.expect("purge");
    store.expire(far, 1000).await.expect("forget");
    assert_eq!(store.count().expect("count"), 1);
    let busy = super::compact(&cfg, None);
    assert!(
        matches!(busy, Err(StoreError::Config(ref why)) if why.contains("in use")),
        "{busy:?}"
    );
    store.close().await.expect("close");

    let done = super::compact(&cfg, None).expect("compact");
    assert!(done.after * 4 < done.before, "{done:?}");
    let reopened = RedbStore::open(&cfg, None).expect("reopen after compaction");
    assert_eq!(reopened.count().expect("count"), 1);
    let kept = reopened.get("s", "kept").expect("get").expect("kept");
    assert_eq!(kept.state, crate::store::State::Queued);
    reopened.close().await.expect("close");

    let empty = tempfile::tempdir().expect("dir");
    let nothing = super::compact(&config(empty.path()), None);
    assert!(
        matches!(nothing, Err(StoreError::Config(ref why)) if why.contains("does not exist")),
        "{nothing:?}"
    );
}

#[tokio::test]
async fn a_store_from_before_counters_gets_them_at_open() {
    use crate::store::conformance::{settle_some, Kind, Under};
    let t = Under::new(Kind::Redb).await;
    let expected = settle_some(&t).await;
    let t = t
        .reopen_after(|dir| {
            let db = redb::Database::open(dir.join(FILE)).expect("open the file");
            let txn = db.begin_write().expect("write");
            assert!(txn.delete_table(super::tables::COUNTERS).expect("delete"));
            txn.commit().expect("commit");
        })
        .await;
    let filter = crate::store::EventFilter::default();
    assert_eq!(t.counts(&filter).await.expect("counts"), (expected, true));
}

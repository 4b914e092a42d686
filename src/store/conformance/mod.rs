//! One conformance suite for every backend (River's `riverdrivertest`): each test here runs on
//! redb and sled in a temp dir, and on PostgreSQL in a schema of its own (`#[ignore]`d for
//! needing a server: `HOOKBOX_TEST_DATABASE_URL=… cargo test --lib store:: -- --include-ignored`).
//! It covers every method of the store's interface and every capability; one a backend lacks is
//! tested as its declared refusal. Every change made through [`Under`] is followed by a check
//! that the backend's counters say what a full scan of its records says.
//!
//! What is truly one backend's (redb file damage, sled's batch, PostgreSQL migrations and
//! advisory locks) stays in that backend's own tests.

use std::ops::Deref;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{StorageBackend, StorageConfig};
use crate::store::postgres::tests::TestDb;
use crate::store::*;

/// Runs each named test (an `async fn(Under)` of the calling module) on every backend, or on
/// those named first: `conformance!(on [redb, postgres]: a_test, another)`.
macro_rules! conformance {
    (on $kinds:tt: $($name:ident),* $(,)?) => {$(
        mod $name {
            conformance!(@each $name $kinds);
        }
    )*};
    (@each $name:ident [$($kind:ident),*]) => {$(
        conformance!(@one $kind $name);
    )*};
    (@one postgres $name:ident) => {
        #[tokio::test]
        #[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
        async fn postgres() {
            use crate::store::conformance::{Kind, Under};
            super::$name(Under::new(Kind::Postgres).await).await
        }
    };
    (@one redb $name:ident) => {
        #[tokio::test]
        async fn redb() {
            use crate::store::conformance::{Kind, Under};
            super::$name(Under::new(Kind::Redb).await).await
        }
    };
    (@one sled $name:ident) => {
        #[tokio::test]
        async fn sled() {
            use crate::store::conformance::{Kind, Under};
            super::$name(Under::new(Kind::Sled).await).await
        }
    };
    ($($name:ident),* $(,)?) => {
        conformance!(on [redb, sled, postgres]: $($name),*);
    };
}

mod admin;
mod audit;
mod capabilities;
mod faults;
mod ordering;
mod queue;
mod routed;

/// A backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Redb,
    Sled,
    Postgres,
}

/// Body retention of every store under test, ms.
pub(crate) const RETENTION_MS: u64 = 100;
/// Dedupe window of every store under test, ms.
pub(crate) const DEDUPE_MS: u64 = 1_000;

/// A store of one backend with where it lives; dereferences to the [`Store`], and its own
/// methods make a change and then check the counters (see [`Under::exact`]).
pub(crate) struct Under {
    pub kind: Kind,
    pub store: Store,
    dir: tempfile::TempDir,
    pg: Option<TestDb>,
}

impl Deref for Under {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

fn embedded(backend: StorageBackend, dir: &std::path::Path) -> StorageConfig {
    StorageConfig {
        backend,
        data_dir: dir.to_path_buf(),
        cache_capacity_bytes: 1 << 20,
        retention: Duration::from_millis(RETENTION_MS),
        dedupe_window: Duration::from_millis(DEDUPE_MS),
        ..StorageConfig::default()
    }
}

impl Under {
    /// A fresh, empty store of `kind`.
    pub async fn new(kind: Kind) -> Under {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, pg) = match kind {
            Kind::Redb | Kind::Sled => (Under::open_in(kind, dir.path()).await, None),
            Kind::Postgres => {
                let db = TestDb::new().await;
                (Store::from_postgres(db.store.clone()), Some(db))
            }
        };
        Under {
            kind,
            store,
            dir,
            pg,
        }
    }

    async fn open_in(kind: Kind, dir: &std::path::Path) -> Store {
        let backend = match kind {
            Kind::Sled => StorageBackend::Sled,
            _ => StorageBackend::Redb,
        };
        Store::open(&embedded(backend, dir)).await.expect("open")
    }

    /// Closes the store and opens it again in the same place (a restart).
    pub async fn reopen(self) -> Under {
        self.reopen_after(|_| {}).await
    }

    /// [`Under::reopen`], calling `meanwhile` with the data dir while the store is closed.
    pub async fn reopen_after(self, meanwhile: impl FnOnce(&std::path::Path)) -> Under {
        self.store.close().await.expect("close");
        let Under { kind, dir, pg, .. } = self;
        meanwhile(dir.path());
        let store = match &pg {
            Some(db) => Store::from_postgres(db.another_instance().await),
            None => Under::open_in(kind, dir.path()).await,
        };
        let again = Under {
            kind,
            store,
            dir,
            pg,
        };
        again.exact().await;
        again
    }

    /// The data dir (embedded backends).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Closes the store, calls `damage` with the data dir, and opens it again, which should
    /// fail: returns the main file's path (as text), the outcome and the dir (kept until
    /// dropped).
    pub async fn reopen_refused(
        self,
        damage: impl FnOnce(&std::path::Path),
    ) -> (String, Result<Store, StoreError>, tempfile::TempDir) {
        self.store.close().await.expect("close");
        damage(self.dir.path());
        let backend = match self.kind {
            Kind::Sled => StorageBackend::Sled,
            _ => StorageBackend::Redb,
        };
        let file = match self.kind {
            Kind::Sled => self.dir.path().join("db"),
            _ => self.dir.path().join(crate::store::redb::FILE),
        };
        let opened = Store::open(&embedded(backend, self.dir.path())).await;
        (file.display().to_string(), opened, self.dir)
    }

    /// Asserts the backend's counters say what a scan of its records says.
    pub async fn exact(&self) {
        let wrong = self.store.check_counters().await.expect("check counters");
        assert!(
            wrong.is_empty(),
            "{:?}: counters disagree: {wrong:#?}",
            self.kind
        );
    }

    /// [`Store::accept`], then [`Under::exact`].
    pub async fn accept(&self, ev: NewEvent) -> Result<Accepted, StoreError> {
        let out = self.store.accept(ev).await;
        self.exact().await;
        out
    }

    /// [`Store::accept_routed`], then [`Under::exact`].
    pub async fn accept_routed(
        &self,
        ev: NewEvent,
        routes: Vec<RouteDelivery>,
    ) -> Result<Accepted, StoreError> {
        let out = self.store.accept_routed(ev, routes).await;
        self.exact().await;
        out
    }

    /// Claims up to 100 events due at `now` with a `lease` for each (max 3 attempts), then
    /// [`Under::exact`].
    pub async fn claim(&self, now: u64, lease: u64) -> Vec<Claimed> {
        let claimed = self
            .store
            .claim_due(now, 100, 3, &mut |_| Some(lease))
            .await;
        self.exact().await;
        claimed.expect("claim")
    }

    /// Records an attempt of `claimed` ending with `next`, then [`Under::exact`]; whether the
    /// claim was still current.
    pub async fn finish(&self, claimed: &Claimed, next: Next) -> bool {
        let outcome = match next {
            Next::Succeeded => Outcome::Success,
            Next::RetryAt(_) => Outcome::Transient,
            Next::Dead(_) => Outcome::Permanent,
        };
        let attempt = Attempt {
            number: claimed.record.attempt_count,
            started_at: claimed.record.claimed_at.expect("claimed"),
            duration_ms: 1,
            outcome,
            status: None,
            exit_code: None,
            error: None,
        };
        let done = self
            .store
            .record_attempt(&claimed.record, attempt, next)
            .await;
        self.exact().await;
        done.expect("record attempt")
    }

    /// [`Store::requeue`], then [`Under::exact`].
    pub async fn requeue(&self, source: &str, id: &str, now: u64) -> RequeueOutcome {
        let out = self.store.requeue(source, id, now).await;
        self.exact().await;
        out.expect("requeue")
    }

    /// [`Store::requeue_dead`], then [`Under::exact`].
    pub async fn requeue_dead(&self, filter: &EventFilter, now: u64) -> BulkRequeued {
        let out = self.store.requeue_dead(filter, None, now).await;
        self.exact().await;
        out.expect("bulk requeue")
    }

    /// [`Store::discard`], then [`Under::exact`].
    pub async fn discard(&self, source: &str, id: &str) -> DiscardOutcome {
        let out = self.store.discard(source, id).await;
        self.exact().await;
        out.expect("discard")
    }

    /// [`Store::expire`], then [`Under::exact`].
    pub async fn expire(&self, now: u64, limit: usize) -> usize {
        let out = self.store.expire(now, limit).await;
        self.exact().await;
        out.expect("expire")
    }

    /// [`Store::recover`], then [`Under::exact`].
    pub async fn recover(&self, now: u64) -> usize {
        let out = self.store.recover(now).await;
        self.exact().await;
        out.expect("recover")
    }

    /// The state of event `id` of source `s`, which must exist.
    pub async fn state(&self, id: &str) -> State {
        let record = self.store.get("s", id).await.expect("get");
        record.expect("the event exists").state
    }

    /// Ids (`source/id` unless the source is `s`) of the events matching `filter`, newest
    /// first, up to 100.
    pub async fn ids(&self, filter: &EventFilter) -> Vec<String> {
        let page = self.store.list(filter, 100, None).await.expect("list");
        page.items.iter().map(name).collect()
    }
}

/// Leaves an event in each of succeeded, dead, queued and processing; returns those counts.
pub(crate) async fn settle_some(t: &Under) -> StateCounts {
    for (id, at) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
        t.accept(event(id, at)).await.expect("accept");
    }
    let claimed = t.claim(5, 1_000).await;
    let ends = [
        Next::Succeeded,
        Next::Dead("x".into()),
        Next::RetryAt(1_000_000),
    ];
    for (c, next) in claimed.iter().zip(ends) {
        assert!(t.finish(c, next).await);
    }
    StateCounts {
        queued: 1,
        processing: 1,
        succeeded: 1,
        dead: 1,
        ..StateCounts::default()
    }
}

/// `id` for source `s`, `source/id` otherwise.
/// The id of the head of ordering key `key` of source `s`, if any.
pub(crate) async fn head_id(t: &Under, key: &str) -> Option<String> {
    let head = t.ordering_head("s", key).await.expect("head");
    head.map(|r| r.id)
}

pub(crate) fn name(r: &EventRecord) -> String {
    match r.source.as_str() {
        "s" => r.id.clone(),
        source => format!("{source}/{}", r.id),
    }
}

/// An event `id` of source `s` received at `at`, of type `t`.
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

/// [`event`] of another `source`.
pub(crate) fn event_of(source: &str, id: &str, at: u64) -> NewEvent {
    NewEvent {
        source: source.into(),
        ..event(id, at)
    }
}

//! The open sled database, and opening it again after it fails.
//!
//! sled 0.34 poisons itself on the first failed write or fsync (a full disk, an I/O error):
//! reads still work, but every later write and flush returns that error, for good. So when a
//! write fails, the store drops its handle and a background thread reopens the directory —
//! retrying while in-flight users still hold the old handle's file lock, or while the disk is
//! still unusable. Until then every operation is `Unavailable` (HTTP 503). Reopening recovers
//! exactly what was flushed, which includes every event ever acknowledged.
//!
//! A database whose main file was deleted or replaced while serving (the data dir `rm -rf`'d)
//! is never reopened: sled would start an empty one in its place. Every operation is then
//! `Unavailable` until an operator restores the dir and restarts hookbox, and no write is
//! acknowledged once its flush went to the vanished file (see [`Backend::durable`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Notify;

use super::batch::Batcher;
use super::commit::GroupCommit;
use super::jobs::FinishedAttempt;
use super::trees::Trees;
use crate::clock::millis;
use crate::config::{Durability, StorageConfig};
use crate::store::data_dir::{self, Identity, Marker};
use crate::store::{NewEvent, StoreError};

/// sled's main file in the data dir: its absence beside a marker means the store is gone.
pub const FILE: &str = "db";

/// Pause before each reopen attempt: lets in-flight operations drop the old handle, and keeps a
/// disk that is still full from being hammered.
const REOPEN_PAUSE: Duration = Duration::from_millis(250);

/// One open database: its trees, its group writes and, in `fsync` mode, its group commit.
pub struct Backend {
    pub(super) db: ::sled::Db,
    pub(super) trees: Trees,
    pub(super) accepts: Batcher<NewEvent>,
    pub(super) records: Batcher<FinishedAttempt>,
    commit: Option<GroupCommit>,
    /// The main file as opened.
    identity: Identity,
}

impl Backend {
    /// Opens the database in `cfg.data_dir`; must run inside a tokio runtime.
    fn open(cfg: &StorageConfig) -> Result<Backend, StoreError> {
        let fsync = cfg.durability == Durability::Fsync;
        let interval = (!fsync).then(|| cfg.flush_interval.as_millis().max(1) as u64);
        let config = ::sled::Config::new()
            .path(&cfg.data_dir)
            .cache_capacity(cfg.cache_capacity_bytes)
            .flush_every_ms(interval);
        let db = open_when_free(&config)?;
        let identity = Identity::of(&cfg.data_dir.join(FILE));
        let trees = Trees::open(&db, millis(cfg.retention), millis(cfg.dedupe_window))?;
        if let Some(read) = trees.build_counters()?.filter(|&n| n > 0) {
            tracing::info!(
                dir = %cfg.data_dir.display(),
                events = read,
                "built the event counters from every stored record (once, for a store from \
                 before counters)"
            );
        }
        let commit = match fsync {
            true => Some(GroupCommit::start(db.clone(), &cfg.data_dir)?),
            false => None,
        };
        let accepts = Batcher::start(trees.clone());
        let records = Batcher::start(trees.clone());
        Ok(Backend {
            commit,
            db,
            trees,
            accepts,
            records,
            identity,
        })
    }

    /// Waits until everything written to this database so far is on disk (no-op in
    /// `interval` mode), and checks the flush went to the file the data dir still holds. A
    /// failed flush, or a vanished file, marks the database failed.
    pub async fn durable(&self) -> Result<(), StoreError> {
        if let Some(commit) = &self.commit {
            commit.wait().await.map_err(|e| {
                self.trees.mark_failed();
                StoreError::Unavailable(e)
            })?;
        }
        self.identity.check().map_err(|why| {
            self.trees.mark_failed();
            unavailable(&why)
        })
    }

    /// Marks the database failed when `result` is a storage error, and passes it on.
    pub fn check<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Unavailable(_)) = &result {
            self.trees.mark_failed();
        }
        result
    }

    /// Writes the queued accepts and records, flushes once more and stops the batch and commit
    /// tasks, so the database closes once the last handle is dropped.
    async fn close(&self) -> Result<(), StoreError> {
        self.accepts.close().await;
        self.records.close().await;
        match &self.commit {
            Some(commit) => commit.close().await.map_err(|e| StoreError::Unavailable(e)),
            None => {
                self.db.flush_async().await?;
                Ok(())
            }
        }
    }
}

/// Opens `config`'s database, waiting a little (2 s at most) while its directory lock is still
/// held: sled's own I/O threads let go of a closed database's files a moment after the last
/// handle is dropped, so a store reopened at once (a restart, a test) would otherwise be refused.
/// Any other error, or a lock still held after the wait (another hookbox), is returned.
fn open_when_free(config: &::sled::Config) -> Result<::sled::Db, ::sled::Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match config.open() {
            Err(::sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            opened => return opened,
        }
    }
}

/// Holds the current [`Backend`] and replaces it after it fails.
pub struct Slot {
    cfg: StorageConfig,
    runtime: Handle,
    state: Mutex<SlotState>,
    /// Reset to the reopened database's queue length (unflushed changes died with the old one).
    pending: Arc<AtomicU64>,
    /// Woken after a reopen, so the worker looks at the queue again.
    wake: Arc<Notify>,
}

#[derive(Default)]
struct SlotState {
    current: Option<Arc<Backend>>,
    reopening: bool,
    closed: bool,
    /// Why the database can no longer be used at all (its file vanished): never reopened.
    gone: Option<String>,
}

impl Slot {
    /// Opens the database; must be called inside a tokio runtime.
    pub fn open(
        cfg: &StorageConfig,
        pending: Arc<AtomicU64>,
        wake: Arc<Notify>,
    ) -> Result<Arc<Slot>, StoreError> {
        let backend = Backend::open(cfg)?;
        pending.store(backend.trees.due.len() as u64, Ordering::Relaxed);
        Ok(Arc::new(Slot {
            cfg: cfg.clone(),
            runtime: Handle::current(),
            state: Mutex::new(SlotState {
                current: Some(Arc::new(backend)),
                ..SlotState::default()
            }),
            pending,
            wake,
        }))
    }

    /// The current database; `Unavailable` while it is being reopened after a failure.
    pub fn get(self: &Arc<Self>) -> Result<Arc<Backend>, StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(why) = &state.gone {
            return Err(unavailable(why));
        }
        if let Some(backend) = &state.current {
            if let Err(why) = backend.identity.check() {
                tracing::error!(error = %why, "the data file is gone; restart hookbox once the data dir is restored");
                backend.trees.mark_failed();
                state.current = None;
                state.gone = Some(why.clone());
                return Err(unavailable(&why));
            }
            if !backend.trees.failed() {
                return Ok(backend.clone());
            }
            tracing::error!("storage failed; reopening it");
            // Dropping this handle (and the commit task's, once its last waiter is answered)
            // releases the file lock the reopen needs.
            state.current = None;
        }
        if state.closed {
            return Err(unavailable("the store is closed"));
        }
        if !state.reopening {
            state.reopening = true;
            let slot = Arc::downgrade(self);
            std::thread::spawn(move || reopen(slot));
        }
        Err(unavailable("storage failed and is being reopened"))
    }

    /// Events stored (records and tombstones), counted by reading every key.
    pub fn events(self: &Arc<Self>) -> Result<u64, StoreError> {
        Ok(self.get()?.trees.events.len() as u64)
    }

    /// Flushes and releases the database for good (at shutdown), and records the clean close
    /// with the number of events stored in the marker (see `data_dir`).
    pub async fn close(&self) -> Result<(), StoreError> {
        let current = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.closed = true;
            state.current.take()
        };
        let Some(backend) = current else {
            return Ok(());
        };
        backend.close().await?;
        backend.identity.check().map_err(|why| unavailable(&why))?;
        let marker = Marker {
            backend: "sled".into(),
            events_at_close: Some(backend.trees.events.len() as u64),
            migrating_from: None,
        };
        data_dir::write(&self.cfg.data_dir, &marker)
    }

    fn is_closed(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).closed
    }

    fn install(&self, backend: Backend) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.reopening = false;
        if state.closed {
            return false;
        }
        self.pending
            .store(backend.trees.due.len() as u64, Ordering::Relaxed);
        state.current = Some(Arc::new(backend));
        self.wake.notify_one();
        true
    }
}

/// Retries opening the database until it opens or the store is gone or closed.
fn reopen(slot: Weak<Slot>) {
    loop {
        std::thread::sleep(REOPEN_PAUSE);
        let Some(slot) = slot.upgrade() else {
            return;
        };
        if slot.is_closed() {
            return;
        }
        let opened = {
            let _runtime = slot.runtime.enter();
            Backend::open(&slot.cfg)
        };
        match opened {
            Ok(backend) => {
                if slot.install(backend) {
                    tracing::info!("storage reopened");
                }
                return;
            }
            Err(e) => tracing::warn!(error = %e, "storage could not be reopened yet"),
        }
    }
}

fn unavailable(why: &str) -> StoreError {
    StoreError::Unavailable(Arc::new(std::io::Error::other(why.to_owned())))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use super::super::SledStore as Store;
    use crate::store::backend::Backend as _;
    use crate::store::{Accepted, NewEvent};

    fn event(id: &str) -> NewEvent {
        NewEvent {
            source: "s".into(),
            id: id.into(),
            received_at: 1,
            event_type: None,
            headers: Vec::new(),
            body: Bytes::from_static(b"{}"),
            ordering: None,
        }
    }

    /// The full-disk path without a full disk (see `tests/it/storage_failure.rs` for the real one):
    /// once a failure is recorded, the store is unavailable, then reopens on its own with
    /// everything that was flushed.
    #[tokio::test]
    async fn a_failed_database_is_reopened_with_what_was_flushed() {
        let dir = tempfile::tempdir().expect("dir");
        let cfg = crate::config::StorageConfig {
            data_dir: dir.path().to_path_buf(),
            cache_capacity_bytes: 1 << 20,
            ..Default::default()
        };
        let store = Store::open(&cfg).expect("open");
        assert_eq!(
            store.accept(event("kept")).await.expect("accept"),
            Accepted::New
        );
        store.backend().expect("open").trees.mark_failed();
        assert!(
            store.get("s", "kept").is_err(),
            "a failed database is not used"
        );

        let deadline = Instant::now() + Duration::from_secs(10);
        while store.get("s", "kept").is_err() {
            assert!(Instant::now() < deadline, "not reopened within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(store.get("s", "kept").expect("get").is_some());
        assert_eq!(store.pending(), 1);
        let again = store.accept(event("kept")).await.expect("accept");
        assert!(matches!(again, Accepted::Duplicate(_)));
        assert_eq!(
            store.accept(event("new")).await.expect("accept"),
            Accepted::New
        );
        store.close().await.expect("close");
    }
}

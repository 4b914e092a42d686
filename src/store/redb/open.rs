//! Opening the redb file, refusing one that lost events, and sharing the open handle.
//!
//! At start the file is opened with redb's integrity check (every page's checksum, when
//! `storage.verify_on_open` is on) through the embedded backends' shared guards (see
//! `data_dir::open_guarded`): an engine panic is caught, and the number of events is compared
//! with the count the marker recorded at the last clean close: a store that holds fewer is
//! refused, naming the file and the way out, rather than silently accepting ids it already
//! acknowledged as new.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use redb::{Database, ReadableTableMetadata};
use tokio::sync::Notify;

use super::tables::{Tables, DUE, EVENTS};
use crate::config::StorageConfig;
use crate::store::data_dir::{self, damaged, Identity, Marker};
use crate::store::{Retention, StoreError};

/// Name of the database file in the data dir.
pub const FILE: &str = "events.redb";
const BACKEND: &str = "redb";

/// A freshly opened database.
pub struct Opened {
    /// The handle.
    pub db: Arc<Database>,
    /// Queued and processing events.
    pending: u64,
}

/// What the writer thread and the readers share: the current handle (absent while failed),
/// why it is absent, and the counters the worker reads.
pub struct Slot {
    cfg: StorageConfig,
    /// Where an unfinished migration into this store copies from (kept in the marker).
    migrating_from: Mutex<Option<String>>,
    file: PathBuf,
    db: RwLock<Result<Arc<Database>, String>>,
    identity: Identity,
    /// Events not yet final.
    pub pending: Arc<AtomicU64>,
    /// Woken when the worker should look at the queue again.
    pub wake: Arc<Notify>,
}

impl Slot {
    /// Opens the database in `cfg.data_dir` for the first time: to serve it (`migrating_from`
    /// `None`: a store an unfinished migration marked is refused), or as the target of a
    /// migration from `migrating_from`, marked so until [`Slot::finish_migration`].
    pub fn open(
        cfg: &StorageConfig,
        migrating_from: Option<&str>,
    ) -> Result<(Arc<Slot>, Opened), StoreError> {
        let file = cfg.data_dir.join(FILE);
        let opened = data_dir::open_guarded(&cfg.data_dir, BACKEND, &file, migrating_from, || {
            open_file(cfg, &file, true)
        })?;
        let slot = Arc::new(Slot {
            cfg: cfg.clone(),
            migrating_from: Mutex::new(migrating_from.map(str::to_owned)),
            identity: Identity::of(&file),
            file,
            db: RwLock::new(Err("not yet open".into())),
            pending: Arc::new(AtomicU64::new(opened.pending)),
            wake: Arc::new(Notify::new()),
        });
        Ok((slot, opened))
    }

    /// Opens the same file again after a failure (never creating it: a vanished file must not
    /// become an empty store).
    pub fn reopen(&self) -> Result<Opened, StoreError> {
        let (opened, _) = open_file(&self.cfg, &self.file, false)?;
        self.identity.renew();
        self.pending.store(opened.pending, Ordering::Relaxed);
        self.wake.notify_one();
        Ok(opened)
    }

    /// The current handle, for reading; `Unavailable` while there is none.
    pub fn get(&self) -> Result<Arc<Database>, StoreError> {
        match &*self.db.read().unwrap_or_else(|e| e.into_inner()) {
            Ok(db) => Ok(db.clone()),
            Err(why) => Err(super::unavailable(why)),
        }
    }

    /// Makes `db` the handle readers get.
    pub fn publish(&self, db: Arc<Database>) {
        *self.db.write().unwrap_or_else(|e| e.into_inner()) = Ok(db);
    }

    /// Takes the handle away from readers, who get `why` instead.
    pub fn unpublish(&self, why: &str) {
        *self.db.write().unwrap_or_else(|e| e.into_inner()) = Err(why.to_owned());
    }

    /// Whether the data file is still the one that was opened. Costs one `stat`.
    pub fn check_identity(&self) -> Result<(), String> {
        self.identity.check()
    }

    /// Records a clean close holding `events` events in the marker (a migration not finished
    /// stays marked).
    pub fn record_clean_close(&self, events: u64) -> Result<(), StoreError> {
        let marker = Marker {
            backend: BACKEND.into(),
            events_at_close: Some(events),
            migrating_from: self
                .migrating_from
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        };
        data_dir::write(&self.cfg.data_dir, &marker)
    }

    /// Clears the unfinished-migration mark: the copy is complete and its counts matched.
    pub fn finish_migration(&self) -> Result<(), StoreError> {
        *self
            .migrating_from
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        let marker = Marker {
            backend: BACKEND.into(),
            events_at_close: None,
            migrating_from: None,
        };
        data_dir::write(&self.cfg.data_dir, &marker)
    }
}

/// Opens (or, when `create`, creates) `file`, creates the tables, and counts what it holds.
/// redb's panics on a damaged file become a refusal.
pub(super) fn open_file(
    cfg: &StorageConfig,
    file: &std::path::Path,
    create: bool,
) -> Result<(Opened, u64), StoreError> {
    let cache = usize::try_from(cfg.cache_capacity_bytes).unwrap_or(usize::MAX);
    let attempt = catch_unwind(AssertUnwindSafe(|| -> Result<_, redb::Error> {
        let mut builder = Database::builder();
        builder
            .set_cache_size(cache)
            .set_check_integrity_on_open(cfg.verify_on_open);
        let db = if create {
            builder.create(file)?
        } else {
            builder.open(file)?
        };
        let txn = db.begin_write()?;
        let (events, pending) = {
            let retention = Retention {
                body_ms: 0,
                dedupe_ms: 0,
            };
            let mut tables = Tables::open(&txn, retention)?;
            if let Some(read) = tables.build_counters()? {
                if read > 0 {
                    tracing::info!(
                        file = %file.display(),
                        events = read,
                        "built the event counters from every stored record (once, for a store \
                         from before counters)"
                    );
                }
            }
            drop(tables);
            (txn.open_table(EVENTS)?.len()?, txn.open_table(DUE)?.len()?)
        };
        txn.commit()?;
        Ok((db, events, pending))
    }));
    let (db, events, pending) = match attempt {
        Ok(Ok(opened)) => opened,
        Ok(Err(redb::Error::DatabaseAlreadyOpen)) => {
            return Err(StoreError::Config(format!(
                "{} is in use by another hookbox (or another program)",
                file.display()
            )))
        }
        Ok(Err(e @ (redb::Error::Corrupted(_) | redb::Error::UpgradeRequired(_)))) => {
            return Err(damaged(file, &e.to_string()))
        }
        Ok(Err(redb::Error::Io(e))) if create => {
            return Err(damaged(file, &format!("it cannot be opened: {e}")))
        }
        Ok(Err(e)) => return Err(super::storage_error(e)),
        Err(_) => return Err(damaged(file, "the storage engine panicked reading it")),
    };
    let opened = Opened {
        db: Arc::new(db),
        pending,
    };
    Ok((opened, events))
}

//! `hookbox compact`: gives the space of purged bodies and forgotten events back to the file
//! system. redb reuses freed pages but never shrinks its file on its own, so after a burst the
//! file stays at its peak size; compaction needs the file to itself, so it runs while hookbox
//! is stopped.

use std::path::PathBuf;
use std::sync::Arc;

use super::open::{open_file, FILE};
use crate::config::StorageConfig;
use crate::store::data_dir;
use crate::store::{AuditRecord, StoreError};

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    /// The database file.
    pub file: PathBuf,
    /// Its size before, in bytes.
    pub before: u64,
    /// Its size after, in bytes.
    pub after: u64,
}

/// Compacts the redb file in `cfg.data_dir` (checked as at start-up first), then appends
/// `audit` to its audit log. Refuses a data dir without a redb store, or one another process
/// has open.
pub fn compact(cfg: &StorageConfig, audit: Option<&AuditRecord>) -> Result<Compacted, StoreError> {
    let file = cfg.data_dir.join(FILE);
    if !file.exists() {
        return Err(StoreError::Config(format!(
            "{} does not exist: there is no redb store to compact",
            file.display()
        )));
    }
    data_dir::claim(&cfg.data_dir, "redb")?;
    let size = || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let before = size();
    let (opened, _) = open_file(cfg, &file, false)?;
    let mut db = Arc::try_unwrap(opened.db).map_err(|_| {
        StoreError::Config("the database handle is shared; nothing was compacted".into())
    })?;
    // Each call moves what it can towards the start; repeat until nothing moves.
    while db
        .compact()
        .map_err(|e| StoreError::Unavailable(Arc::new(e)))?
    {}
    if let Some(record) = audit {
        super::audit::append_offline(&db, record).map_err(super::storage_error)?;
    }
    drop(db);
    Ok(Compacted {
        file: file.clone(),
        before,
        after: size(),
    })
}

//! `ordering_key` and `on_dead` of a source: parsed, and refused where the backend cannot
//! keep each key's events in line.

use super::load::{err, KeyError};
use super::source::SourceConfig;
use super::{Source, StorageBackend, StorageConfig};
use crate::ordering::{KeySpec, Ordering};

/// `ordering_key` and `on_dead`, validated.
pub(super) fn build_ordering(cfg: &SourceConfig) -> Result<Option<Ordering>, KeyError> {
    let Some(text) = &cfg.ordering_key else {
        if cfg.on_dead.is_some() {
            return err("on_dead", "has no effect without ordering_key");
        }
        return Ok(None);
    };
    let key = KeySpec::parse(text).or_else(|reason| err("ordering_key", reason))?;
    Ok(Some(Ordering {
        key,
        on_dead: cfg.on_dead.unwrap_or_default(),
    }))
}

/// Ordering needs a store that keeps each key's events in line; only redb does so far.
pub(super) fn check_ordering(
    sources: &[Source],
    storage: &StorageConfig,
) -> Result<(), (String, String)> {
    if storage.backend == StorageBackend::Redb {
        return Ok(());
    }
    match sources.iter().find(|s| s.ordering.is_some()) {
        Some(s) => Err((
            format!("sources.{}.ordering_key", s.name),
            format!(
                "per-key ordering is implemented for storage.backend \"redb\" only, not \"{}\"; \
                 remove ordering_key or use redb",
                storage.backend.name()
            ),
        )),
        None => Ok(()),
    }
}

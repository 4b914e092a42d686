//! `ordering_key` and `on_dead` of a source: parsed, and refused where the backend cannot
//! keep each key's events in line.

use super::key::{err, KeyError};
use super::{Source, StorageBackend, StorageConfig};
use crate::ordering::{KeySpec, OnDead, Ordering};

/// `ordering_key` and `on_dead` of a source or route, validated.
pub(super) fn build_ordering(
    ordering_key: Option<&str>,
    on_dead: Option<OnDead>,
) -> Result<Option<Ordering>, KeyError> {
    let Some(text) = ordering_key else {
        if on_dead.is_some() {
            return err("on_dead", "has no effect without ordering_key");
        }
        return Ok(None);
    };
    let key = KeySpec::parse(text).or_else(|reason| err("ordering_key", reason))?;
    Ok(Some(Ordering {
        key,
        on_dead: on_dead.unwrap_or_default(),
    }))
}

/// Ordering needs a store that keeps each key's events in line: redb and PostgreSQL do, sled
/// does not.
pub(super) fn check_ordering(
    sources: &[Source],
    storage: &StorageConfig,
) -> Result<(), (String, String)> {
    if matches!(
        storage.backend,
        StorageBackend::Redb | StorageBackend::Postgres
    ) {
        return Ok(());
    }
    let ordered = sources.iter().find_map(|s| {
        let i = s.routes.iter().position(|r| r.ordering.is_some())?;
        Some(match s.routed {
            true => format!("sources.{}.routes[{i}].ordering_key", s.name),
            false => format!("sources.{}.ordering_key", s.name),
        })
    });
    match ordered {
        Some(key) => Err((
            key,
            format!(
                "per-key ordering is implemented for storage.backend \"redb\" and \
                 \"postgres\", not \"{}\"; remove ordering_key or use one of those",
                storage.backend.name()
            ),
        )),
        None => Ok(()),
    }
}

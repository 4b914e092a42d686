//! The embedded backends' fault guards, shared by redb and sled: the data dir's marker file
//! (which backend wrote the dir, and — after a clean close — how many events it held, so a
//! store that comes back shorter is refused instead of trusted), the refusal of a store whose
//! main file is missing while its marker is there, an engine panic at open turned into a
//! refusal naming the file ([`open_guarded`]), and noticing the main file deleted or replaced
//! while serving ([`Identity`]).
//!
//! `hookbox-store.json` is replaced atomically (written aside, synced, renamed, the dir synced).

use std::fs;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// Name of the marker file in the data dir.
pub const MARKER: &str = "hookbox-store.json";

/// What the marker says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The backend that owns the dir: `redb` or `sled`.
    pub backend: String,
    /// Events stored when the store was last closed cleanly; `None` while it is open (or after
    /// a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_at_close: Option<u64>,
    /// While a `hookbox migrate` into this store has not finished: where it copies from. Such a
    /// store is not served (it may hold only part of the events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrating_from: Option<String>,
}

/// Files another backend leaves in its data dir, to recognise a dir written before markers.
const FOREIGN: &[(&str, &str)] = &[("sled", "conf"), ("sled", "db"), ("redb", "events.redb")];

/// Creates `dir` if needed and checks that `backend` may use it. Returns the marker found, if
/// any. A dir that another backend wrote is refused with the way out.
pub fn claim(dir: &Path, backend: &str) -> Result<Option<Marker>, StoreError> {
    fs::create_dir_all(dir).map_err(|e| {
        StoreError::Config(format!("cannot create data dir {}: {e}", dir.display()))
    })?;
    let path = dir.join(MARKER);
    let found = match fs::read(&path) {
        Ok(raw) => Some(serde_json::from_slice::<Marker>(&raw).map_err(|e| {
            StoreError::Damaged(format!(
                "{} is not a hookbox marker ({e}); restore it from a backup",
                path.display()
            ))
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(StoreError::Config(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let other = match &found {
        Some(marker) => (marker.backend != backend).then(|| marker.backend.clone()),
        None => FOREIGN
            .iter()
            .find(|(owner, file)| *owner != backend && dir.join(file).exists())
            .map(|(owner, _)| (*owner).to_owned()),
    };
    if let Some(other) = other {
        return Err(StoreError::Config(format!(
            "data dir {} holds a {other} store, not {backend}: set storage.backend = \"{other}\", \
             or copy its events into a {backend} store with `hookbox migrate`",
            dir.display()
        )));
    }
    Ok(found)
}

/// The refusal of a store whose `file` lost events (or cannot be read), naming it and the way
/// out.
pub fn damaged(file: &Path, what: &str) -> StoreError {
    StoreError::Damaged(format!(
        "{}: {what}. hookbox will not start with fewer events than it acknowledged: restore the \
         data dir from a backup, or move it aside to start empty (its events are then lost)",
        file.display()
    ))
}

/// Opens the store `backend` keeps in `dir` (its main file `file`) through `open`, which
/// returns it and the number of events it holds, guarded: a dir another backend wrote, a
/// migration target not finished (unless this is the migration, `migrating_from`), a marker
/// without its file, an engine panic and fewer events than at the last clean close are each
/// refused. Then marks the store open (a crash leaves no count to compare with; the engine's
/// own commit protocol covers that case).
pub fn open_guarded<T>(
    dir: &Path,
    backend: &str,
    file: &Path,
    migrating_from: Option<&str>,
    open: impl FnOnce() -> Result<(T, u64), StoreError>,
) -> Result<T, StoreError> {
    let marker = claim(dir, backend)?;
    let unfinished = marker.as_ref().and_then(|m| m.migrating_from.clone());
    if let (Some(from), None) = (&unfinished, migrating_from) {
        return Err(unfinished_migration(&dir.display().to_string(), from));
    }
    if marker.is_some() && !file.exists() {
        return Err(damaged(file, "the database file is missing"));
    }
    let (store, events) = match catch_unwind(AssertUnwindSafe(open)) {
        Ok(opened) => opened?,
        Err(_) => return Err(damaged(file, "the storage engine panicked reading it")),
    };
    let expected = marker.and_then(|m| m.events_at_close);
    if let Some(expected) = expected.filter(|&n| events < n) {
        let what =
            format!("it holds {events} events, but {expected} were stored when it was closed");
        return Err(damaged(file, &what));
    }
    let marker = Marker {
        backend: backend.into(),
        events_at_close: None,
        migrating_from: migrating_from.map(str::to_owned),
    };
    write(dir, &marker)?;
    Ok(store)
}

/// (device, inode) of a store's main file, to notice it deleted or replaced while serving
/// (the data dir `rm -rf`'d: the engine would go on writing to a file no one will ever read).
pub struct Identity {
    file: PathBuf,
    expected: Mutex<Option<(u64, u64)>>,
}

impl Identity {
    /// The identity `file` has now.
    pub fn of(file: &Path) -> Identity {
        Identity {
            file: file.to_path_buf(),
            expected: Mutex::new(identity(file)),
        }
    }

    /// Takes the identity `file` has now as the expected one (after a reopen).
    pub fn renew(&self) {
        *self.expected.lock().unwrap_or_else(|e| e.into_inner()) = identity(&self.file);
    }

    /// Whether the file is still the one that was opened. Costs one `stat`.
    pub fn check(&self) -> Result<(), String> {
        let expected = *self.expected.lock().unwrap_or_else(|e| e.into_inner());
        let Some(expected) = expected else {
            return Ok(());
        };
        let file = self.file.display();
        match identity(&self.file) {
            Some(found) if found == expected => Ok(()),
            Some(_) => Err(format!("{file} was replaced while hookbox was using it")),
            None => Err(format!("{file} was deleted while hookbox was using it")),
        }
    }
}

/// (device, inode) of `path`, or `None` when it does not exist.
#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Elsewhere: whether the file exists (a replaced file is not noticed).
#[cfg(not(unix))]
fn identity(path: &Path) -> Option<(u64, u64)> {
    path.exists().then_some((0, 0))
}

/// The refusal to serve a store whose migration has not finished.
pub fn unfinished_migration(place: &str, from: &str) -> StoreError {
    StoreError::Damaged(format!(
        "{place} is the target of a `hookbox migrate` from {from} that has not finished, so it \
         may hold only part of the events: run the same `hookbox migrate` again (it completes \
         the copy and checks the counts); hookbox serves the store once it has"
    ))
}

/// Replaces the marker in `dir` with `marker`, durably.
pub fn write(dir: &Path, marker: &Marker) -> Result<(), StoreError> {
    let io = |e: std::io::Error| {
        StoreError::Unavailable(std::sync::Arc::new(std::io::Error::new(
            e.kind(),
            format!("cannot write {}: {e}", dir.join(MARKER).display()),
        )))
    };
    let aside: PathBuf = dir.join(format!("{MARKER}.new"));
    let text = serde_json::to_vec(marker).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut file = fs::File::create(&aside).map_err(io)?;
    file.write_all(&text).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&aside, dir.join(MARKER)).map_err(io)?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dir_is_claimed_by_one_backend_only() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(claim(dir.path(), "redb").expect("fresh"), None);
        let marker = Marker {
            backend: "redb".into(),
            events_at_close: Some(3),
            migrating_from: None,
        };
        write(dir.path(), &marker).expect("write");
        assert_eq!(claim(dir.path(), "redb").expect("own"), Some(marker));
        let refused = claim(dir.path(), "sled").expect_err("foreign");
        assert!(
            refused.to_string().contains("holds a redb store"),
            "{refused}"
        );
    }

    #[test]
    fn an_unmarked_sled_dir_is_recognised() {
        let dir = tempfile::tempdir().expect("dir");
        fs::write(dir.path().join("conf"), b"segment_size: 524288").expect("conf");
        let refused = claim(dir.path(), "redb").expect_err("sled dir");
        assert!(refused.to_string().contains("hookbox migrate"), "{refused}");
        assert_eq!(claim(dir.path(), "sled").expect("sled's own"), None);
    }

    #[test]
    fn a_garbled_marker_is_a_clear_refusal() {
        let dir = tempfile::tempdir().expect("dir");
        fs::write(dir.path().join(MARKER), b"\x00\x01garbage").expect("write");
        let refused = claim(dir.path(), "redb").expect_err("garbled");
        assert!(refused.to_string().contains(MARKER), "{refused}");
    }
}

//! Which storage backend the integration suite runs on.
//!
//! By default, redb (the default backend) in each test's data dir; `HOOKBOX_TEST_BACKEND=sled`
//! selects sled. With `HOOKBOX_TEST_BACKEND=postgres` and `HOOKBOX_TEST_DATABASE_URL` set, every
//! hookbox uses that PostgreSQL database instead, in a schema named after its data dir
//! ([`schema_for`]): a restart on the same dir finds the same events, exactly as with an
//! embedded store, and tests never see each other's events. Tests that are about the embedded
//! store's files configure redb themselves.

use std::path::Path;

use hookbox::config::{StorageBackend, StorageConfig};
use hookbox::verify::Secret;
use sha2::{Digest, Sha256};

/// The PostgreSQL database tests may use, from `HOOKBOX_TEST_DATABASE_URL`.
pub fn postgres_url() -> Option<String> {
    std::env::var("HOOKBOX_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The database URL when the suite runs on PostgreSQL (`HOOKBOX_TEST_BACKEND=postgres`), `None`
/// on an embedded store. Panics when PostgreSQL is asked for without a URL, rather than quietly
/// testing another backend.
pub fn postgres_under_test() -> Option<String> {
    match std::env::var("HOOKBOX_TEST_BACKEND").as_deref() {
        Ok("postgres") => Some(postgres_url().expect(
            "HOOKBOX_TEST_BACKEND=postgres needs HOOKBOX_TEST_DATABASE_URL \
             (e.g. postgres://postgres@127.0.0.1:5432/hookbox_test)",
        )),
        Ok("sled") | Ok("redb") | Ok("") | Err(_) => None,
        Ok(other) => panic!("HOOKBOX_TEST_BACKEND={other:?}: expected redb, sled or postgres"),
    }
}

/// Fails a test that cannot run here because `missing` (a database, root, a browser). Such a
/// test is `#[ignore]`d with what it needs, so it runs only when asked for
/// (`cargo test -- --include-ignored`, as `.ci/run` does), and then it must not pass unrun.
pub fn cannot_run(missing: &str) -> ! {
    panic!("this test needs what is missing here: {missing}")
}

/// True when the suite runs on sled (`HOOKBOX_TEST_BACKEND=sled`).
pub fn sled_under_test() -> bool {
    std::env::var("HOOKBOX_TEST_BACKEND").as_deref() == Ok("sled")
}

/// The schema holding the events of the hookbox whose data dir is `dir`: `hb_` and 16 hex
/// digits of a hash of the path, so the same dir always maps to the same schema.
pub fn schema_for(dir: &Path) -> String {
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    format!("hb_{}", hex::encode(&digest[..8]))
}

/// Points `storage` (whose `data_dir` is set) at the backend under test.
pub fn use_backend(storage: &mut StorageConfig) {
    if sled_under_test() {
        storage.backend = StorageBackend::Sled;
    }
    if let Some(url) = postgres_under_test() {
        storage.backend = StorageBackend::Postgres;
        storage.database_schema = Some(schema_for(&storage.data_dir));
        storage.database_url = Some(Secret::new(url));
    }
}

/// `toml` with `data_dir` set to `dir` and, under PostgreSQL, the backend keys, for tests that
/// write a config file for the `hookbox` binary. The keys go into the file's `[storage]` table
/// (one is added if it has none), which must not set `data_dir` itself.
pub fn with_storage(toml: &str, dir: &Path) -> String {
    let mut keys = format!(
        "data_dir = {}\n",
        toml::Value::String(dir.display().to_string())
    );
    if sled_under_test() {
        keys.push_str("backend = \"sled\"\n");
    }
    if let Some(url) = postgres_under_test() {
        keys.push_str(&format!(
            "backend = \"postgres\"\ndatabase_url = {}\ndatabase_schema = \"{}\"\n",
            toml::Value::String(url),
            schema_for(dir)
        ));
    }
    match toml.find("[storage]\n") {
        Some(at) => {
            let end = at + "[storage]\n".len();
            format!("{}{keys}{}", &toml[..end], &toml[end..])
        }
        None => format!("{toml}\n[storage]\n{keys}"),
    }
}

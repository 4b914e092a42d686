//! PostgreSQL store semantics on a real server named by `HOOKBOX_TEST_DATABASE_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`), so each is `#[ignore]`d and runs with
//! `cargo test -- --include-ignored`.
//! Every test works in a schema of its own, dropped when the test ends (also on failure).

mod accept;
mod admin;
mod claim;
mod counts;
mod expire;
mod migrate;
mod ordering;

use std::time::Duration;

use bytes::Bytes;
use tokio_postgres::NoTls;

use super::{schema, PgStore};
use crate::store::{Claimed, EventRecord, NewEvent};

/// Body retention in these tests, ms.
const RETENTION_MS: u64 = 100;
/// Dedupe window in these tests, ms.
const DEDUPE_MS: u64 = 1_000;
/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(5);

/// A test's own schema on the test server, and a store in it.
pub(crate) struct TestDb {
    url: String,
    schema: String,
    pub(crate) store: PgStore,
}

impl TestDb {
    /// A fresh schema with the store connected. The tests using it are `#[ignore]`d for
    /// needing a server; run without one, they fail here.
    pub(crate) async fn new() -> TestDb {
        let url = test_url().expect("this test needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL");
        let schema = format!("hookbox_test_{:016x}", rand::random::<u64>());
        // Tagged so that clean-up can end this test's sessions (see `Drop`).
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{separator}application_name={schema}");
        let store = PgStore::connect(&url, Some(&schema), None, 8, RETENTION_MS, DEDUPE_MS)
            .await
            .expect("connect to the test database");
        TestDb { url, schema, store }
    }

    /// Another store on the same schema, as a second hookbox instance would have.
    pub(crate) async fn another_instance(&self) -> PgStore {
        PgStore::connect(
            &self.url,
            Some(&self.schema),
            None,
            8,
            RETENTION_MS,
            DEDUPE_MS,
        )
        .await
        .expect("connect a second instance")
    }

    /// A plain connection into the schema, for looking behind the store's back.
    async fn sql(&self) -> tokio_postgres::Client {
        let (config, _) = schema::connection_config(&self.url, Some(&self.schema), None).unwrap();
        let (client, connection) = config.connect(NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }

    /// Rows in `events`.
    async fn event_rows(&self) -> i64 {
        let row = self
            .sql()
            .await
            .query_one("SELECT count(*) FROM events", &[])
            .await;
        row.unwrap().get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        // Drop cannot await, and the test's runtime may be single-threaded and busy: use a
        // thread with its own runtime. While this blocks, the test's connections cannot send
        // the rollback of a dropped transaction, so end them first: their locks would block
        // the drop.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
                tokio::spawn(connection);
                let end = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                           WHERE application_name = $1 AND pid <> pg_backend_pid()";
                client.execute(end, &[&schema]).await?;
                let sql = format!("SET lock_timeout = '10s'; DROP SCHEMA {schema} CASCADE");
                client.batch_execute(&sql).await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}", self.schema);
        }
    }
}

fn test_url() -> Option<String> {
    std::env::var("HOOKBOX_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// An event of source `s` received at `at`.
fn event(id: &str, at: u64) -> NewEvent {
    event_of("s", id, at)
}

/// An event of `source` received at `at`, with a body naming it.
fn event_of(source: &str, id: &str, at: u64) -> NewEvent {
    NewEvent {
        source: source.into(),
        id: id.into(),
        received_at: at,
        event_type: Some("t".into()),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Bytes::from(format!("{{\"id\":\"{id}\"}}")),
        ordering: None,
    }
}

/// Claims with a fixed lease for every event.
async fn claim(store: &PgStore, now: u64, limit: usize, lease: u64) -> Vec<Claimed> {
    store
        .claim_due(now, limit, 5, &mut |_| Some(lease))
        .await
        .expect("claim")
}

/// The record of a test event of source `s` that must exist.
async fn record(store: &PgStore, id: &str) -> EventRecord {
    store.get("s", id).await.unwrap().expect("event exists")
}

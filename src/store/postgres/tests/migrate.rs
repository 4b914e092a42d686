//! Migrations at start-up, connection errors.

use super::*;
use crate::store::postgres::PgError;

async fn versions(db: &TestDb) -> Vec<i32> {
    let rows = db.sql().await;
    let rows = rows
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn starting_again_applies_nothing_twice() {
    let db = TestDb::new().await;
    db.store.accept(event("e1", 1)).await.unwrap();
    let again = db.another_instance().await;
    assert_eq!(versions(&db).await, all_versions());
    assert!(again.get("s", "e1").await.unwrap().is_some(), "data kept");
}

fn all_versions() -> Vec<i32> {
    crate::store::postgres::schema::MIGRATIONS
        .iter()
        .map(|(v, _)| *v)
        .collect()
}

/// A database made before routes, ordering and the audit log (version 1 only, with an event in
/// it) is migrated at the next start: it keeps its events, takes `skipped` records, ordered
/// events and audit records.
#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn a_version_1_database_is_upgraded_in_place() {
    let db = TestDb::new().await;
    let sql = db.sql().await;
    sql.batch_execute(
        "ALTER TABLE events DROP CONSTRAINT events_state_check; \
         ALTER TABLE events ADD CONSTRAINT events_state_check \
             CHECK (state IN ('queued', 'processing', 'succeeded', 'dead')); \
         DROP INDEX events_to_forget; \
         CREATE INDEX events_to_forget ON events (finished_at) \
             WHERE state = 'succeeded' AND body_purged; \
         DROP INDEX events_in_line; \
         ALTER TABLE events DROP COLUMN ordering_key, DROP COLUMN on_dead, DROP COLUMN seq; \
         DROP SEQUENCE events_seq; \
         ALTER TABLE events ADD CONSTRAINT events_check \
             CHECK (state <> 'queued' OR next_attempt_at IS NOT NULL); \
         DROP TABLE audit; \
         DROP TABLE hookbox_meta; \
         DROP TABLE event_counts; \
         DROP FUNCTION hookbox_count_events() CASCADE; \
         DROP FUNCTION hookbox_event_counters(text, boolean, bigint, bigint); \
         DROP INDEX events_unfinished; \
         DROP INDEX events_body_json; \
         DROP FUNCTION hookbox_body_json(bytea); \
         DELETE FROM schema_migrations WHERE version IN (2, 3, 4, 5, 6, 7); \
         INSERT INTO events (source, id, received_at, body, body_len, state, next_attempt_at) \
             VALUES ('s', 'old', 1, '\\x7b7d', 2, 'queued', 1);",
    )
    .await
    .unwrap();
    assert_eq!(versions(&db).await, [1]);

    let upgraded = db.another_instance().await;
    assert_eq!(versions(&db).await, all_versions());
    assert!(
        upgraded.get("s", "old").await.unwrap().is_some(),
        "data kept"
    );
    let counts = upgraded.state_counts().await.unwrap();
    assert_eq!(
        counts["s"].queued, 1,
        "the counters start from the events there"
    );
    let skipped = crate::store::RouteDelivery {
        stream: "s:r".into(),
        ordering: None,
        skipped: true,
    };
    let accepted = upgraded.accept_routed(event("new", 2), vec![skipped]).await;
    assert_eq!(accepted.unwrap(), crate::store::Accepted::New);
    let record = upgraded.get("s:r", "new").await.unwrap().expect("stored");
    assert_eq!(record.state, crate::store::State::Skipped);
    let mut ordered = event("keyed", 3);
    ordered.ordering = Some(crate::ordering::EventOrdering {
        key: "k".into(),
        on_dead: crate::ordering::OnDead::Skip,
    });
    upgraded.accept(ordered.clone()).await.unwrap();
    let record = upgraded.get("s", "keyed").await.unwrap().expect("stored");
    assert_eq!(record.ordering, ordered.ordering);
    let audit = crate::store::AuditRecord::new(4, "ops", "operate", "requeue");
    let store = crate::store::Store::from_postgres(upgraded);
    store.append_audit(vec![audit.clone()]).await.unwrap();
    let all = crate::store::AuditFilter::default();
    assert_eq!(
        store.list_audit(5, None, &all).await.unwrap().items,
        [audit]
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn commits_wait_for_the_disk_even_if_the_server_says_otherwise() {
    let db = TestDb::new().await;
    let url = format!("{}&options=-c%20synchronous_commit%3Doff", db.url);
    let store = PgStore::connect(&url, Some(&db.schema), None, 1, RETENTION_MS, DEDUPE_MS)
        .await
        .unwrap();
    let client = store.pool.get().await.unwrap();
    let row = client
        .query_one("SHOW synchronous_commit", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "on");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn a_closed_store_is_unavailable() {
    let db = TestDb::new().await;
    db.store
        .check_writable(0)
        .await
        .expect("a primary takes writes");
    db.store.close().await.unwrap();
    let err = db.store.get("s", "e1").await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn a_dropped_schema_is_not_writable() {
    let db = TestDb::new().await;
    db.store.check_writable(0).await.expect("ready");
    let sql = db.sql().await;
    let drop = format!("DROP SCHEMA {} CASCADE; CREATE SCHEMA {0}", db.schema);
    sql.batch_execute(&drop).await.expect("drop the schema");
    let err = db.store.check_writable(0).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn instances_starting_at_once_migrate_once() {
    let db = TestDb::new().await;
    // A fresh schema of its own, created by whichever instance gets there first.
    let fresh = format!("{}_b", db.schema);
    let mut starts = Vec::new();
    for _ in 0..6 {
        let url = db.url.clone();
        let fresh = fresh.clone();
        starts.push(tokio::spawn(async move {
            PgStore::connect(&url, Some(&fresh), None, 2, RETENTION_MS, DEDUPE_MS).await
        }));
    }
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.unwrap().expect("every instance starts"));
    }
    let client = db.sql().await;
    let sql = format!("SELECT count(*) FROM {fresh}.schema_migrations");
    let applied: i64 = client.query_one(&sql, &[]).await.unwrap().get(0);
    assert_eq!(applied, all_versions().len() as i64);
    drop(stores);
    client
        .batch_execute(&format!("DROP SCHEMA {fresh} CASCADE"))
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_settings_are_reported_without_a_server() {
    let bad_schema =
        PgStore::connect("postgres://u@127.0.0.1/db", Some("No-Good"), None, 2, 1, 1).await;
    assert!(matches!(bad_schema, Err(PgError::Config(_))));
    let no_pool = PgStore::connect("postgres://u@127.0.0.1/db", None, None, 0, 1, 1).await;
    assert!(matches!(no_pool, Err(PgError::Config(_))));
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let down = PgStore::connect("postgres://u:secret@127.0.0.1:1/db", None, None, 2, 1, 1).await;
    let err = down.err().expect("no server there");
    assert!(err.is_unavailable(), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn an_unfinished_migration_target_is_not_served_until_migrate_completes() {
    use crate::config::{StorageBackend, StorageConfig};
    use crate::store::Store;
    let db = TestDb::new().await;
    let cfg = StorageConfig {
        backend: StorageBackend::Postgres,
        database_url: Some(crate::verify::Secret::new(db.url.clone())),
        database_schema: Some(db.schema.clone()),
        pool_size: 2,
        ..StorageConfig::default()
    };
    let target = Store::open_migration_target(&cfg, "redb:/old")
        .await
        .expect("target");
    target
        .close()
        .await
        .expect("close: migrate was killed before it finished");
    let refused = Store::open(&cfg).await.map(|_| ()).expect_err("not served");
    let text = refused.to_string();
    assert!(
        text.contains("hookbox migrate") && text.contains("redb:/old"),
        "{text}"
    );
    let again = Store::open_migration_target(&cfg, "redb:/old")
        .await
        .expect("again");
    again.finish_migration().await.expect("finish");
    again.close().await.expect("close");
    let served = Store::open(&cfg)
        .await
        .expect("served once migrate finished");
    served.close().await.expect("close");
}

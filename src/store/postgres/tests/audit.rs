//! The audit log on PostgreSQL (the shared audit conformance, and the table a fresh or an
//! upgraded database has), and the capability it lacks: migrating out.

use super::*;
use crate::store::Store;

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn the_audit_log_on_postgres() {
    let db = TestDb::new().await;
    let store = Store::from_postgres(db.store.clone());
    crate::store::audit_tests::exercise(&store).await;
    let rows = db
        .sql()
        .await
        .query_one("SELECT count(*) FROM audit", &[])
        .await;
    assert_eq!(rows.unwrap().get::<_, i64>(0), 0, "exercise expires all");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn migrating_out_of_postgres_is_a_declared_refusal() {
    let db = TestDb::new().await;
    let store = Store::from_postgres(db.store.clone());
    match store.export_page(None, 10).await {
        Err(crate::store::StoreError::Config(why)) => {
            assert!(why.contains("is not supported by PostgreSQL"), "{why}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

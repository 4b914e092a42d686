//! The audit log on PostgreSQL: the shared audit conformance, and the table a fresh or an
//! upgraded database has.

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

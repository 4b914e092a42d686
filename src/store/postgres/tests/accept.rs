//! Accepting events: dedupe, concurrency, and waking other instances.

use std::sync::Arc;

use super::*;

#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn an_accept_wakes_the_workers_of_other_instances() {
    let db = TestDb::new().await;
    let other = Arc::new(db.another_instance().await);
    // The first wake-up is the listener's catch-up once it listens; after it, only a
    // notification can wake `other`.
    tokio::time::timeout(PATIENCE, other.woken())
        .await
        .expect("listener started");
    let waiter = {
        let other = other.clone();
        tokio::spawn(async move { other.woken().await })
    };
    db.store.accept(event("e1", 1)).await.unwrap();
    tokio::time::timeout(PATIENCE, db.store.woken())
        .await
        .expect("the accepting instance wakes at once");
    tokio::time::timeout(PATIENCE, waiter)
        .await
        .expect("the other instance is notified")
        .unwrap();
}

//! The audit log on every backend: append, list newest first with cursors and filters, expire
//! by age — and, on the embedded backends, still there after a restart.

use super::{Kind, Under};
use crate::store::{AuditFilter, AuditOutcome, AuditRecord};

conformance!(the_audit_log);

fn record(at: u64, token: &str, action: &str) -> AuditRecord {
    let targets = vec![format!("s/e{at}")];
    AuditRecord::new(at, token, "operate", action).touching(targets, 1)
}

fn ats(records: &[AuditRecord]) -> Vec<u64> {
    records.iter().map(|r| r.at).collect()
}

/// What every backend must do with the audit log (starting empty).
async fn the_audit_log(t: Under) {
    exercise(&t).await;
    if t.kind == Kind::Postgres {
        return; // a restart changes nothing a shared server keeps
    }
    let kept = record(5_000, "ops", "compact");
    t.append_audit(vec![kept.clone()]).await.unwrap();
    let t = t.reopen().await;
    let page = t
        .list_audit(10, None, &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(page.items, [kept], "the audit log survives a restart");
}

async fn exercise(store: &Under) {
    let all = AuditFilter::default();
    assert!(store
        .list_audit(10, None, &all)
        .await
        .unwrap()
        .items
        .is_empty());
    let mut refused = record(1_004, "reader", "requeue");
    refused.outcome = AuditOutcome::Refused;
    refused.status = Some(403);
    let first: Vec<AuditRecord> = (1_000..1_004)
        .map(|at| record(at, "ops", if at % 2 == 0 { "requeue" } else { "discard" }))
        .collect();
    store.append_audit(first).await.unwrap();
    store.append_audit(vec![refused.clone()]).await.unwrap();

    let page = store.list_audit(2, None, &all).await.unwrap();
    assert_eq!(ats(&page.items), [1_004, 1_003]);
    assert_eq!(page.items[0], refused, "kept as written");
    let next = store
        .list_audit(2, page.next.as_deref(), &all)
        .await
        .unwrap();
    assert_eq!(ats(&next.items), [1_002, 1_001]);
    let last = store
        .list_audit(2, next.next.as_deref(), &all)
        .await
        .unwrap();
    assert_eq!(ats(&last.items), [1_000]);
    assert_eq!(last.next, None);

    let by = |token: Option<&str>, action: Option<&str>| AuditFilter {
        token: token.map(str::to_owned),
        action: action.map(str::to_owned),
    };
    let reader = store
        .list_audit(10, None, &by(Some("reader"), None))
        .await
        .unwrap();
    assert_eq!(ats(&reader.items), [1_004]);
    let requeues = store
        .list_audit(10, None, &by(Some("ops"), Some("requeue")))
        .await;
    assert_eq!(ats(&requeues.unwrap().items), [1_002, 1_000]);

    // More than one chunk of the backend's reads, with a filter matching few.
    let many: Vec<AuditRecord> = (2_000..2_450)
        .map(|at| record(at, "bulk", "batch"))
        .collect();
    store.append_audit(many).await.unwrap();
    let page = store
        .list_audit(1000, None, &by(Some("ops"), None))
        .await
        .unwrap();
    assert_eq!(ats(&page.items), [1_003, 1_002, 1_001, 1_000]);
    let page = store.list_audit(1000, None, &all).await.unwrap();
    assert_eq!(page.items.len(), 455);
    assert_eq!((page.items[0].at, page.items[454].at), (2_449, 1_000));

    // Expiry takes the oldest first, at most `limit` at a time, nothing at or after `before`.
    assert_eq!(store.expire_audit(1_002, 1).await.unwrap(), 1);
    assert_eq!(store.expire_audit(1_002, 10).await.unwrap(), 1);
    assert_eq!(store.expire_audit(1_002, 10).await.unwrap(), 0);
    // A cursor of a time's prefix alone starts just before that time.
    let before_2000 = format!("{:016x}", 2_000);
    let left = store.list_audit(3, Some(&before_2000), &all).await;
    assert_eq!(ats(&left.unwrap().items), [1_004, 1_003, 1_002]);
    assert_eq!(store.expire_audit(3_000, 1000).await.unwrap(), 453);
}

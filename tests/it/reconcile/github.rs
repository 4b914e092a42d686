//! GitHub: failed deliveries hookbox lacks are redelivered, once per GUID, and nothing else.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::fake::{Fake, Fault};
use super::{config, github_api, pass_ended};
use crate::support::{post_as, TestServer, BASE_CONFIG, TEST_ADMIN_TOKEN};

#[tokio::test]
async fn github_redelivers_only_failed_deliveries_hookbox_lacks() {
    let deliveries: github_api::Deliveries = Arc::new(Mutex::new(vec![
        (7, "g5".into(), 502), // g5 failed twice: the newest failure is redelivered, once
        (6, "g5".into(), 0),
        (5, "g4".into(), 200), // g4 failed, then a redelivery got through
        (4, "g4".into(), 503),
        (3, "g3".into(), 500), // never arrived
        (2, "g2".into(), 504), // arrived, but GitHub timed out waiting for the answer
        (1, "g1".into(), 200),
    ]));
    let base = Arc::new(Mutex::new(String::new()));
    let api = Fake::start(github_api::api(deliveries.clone(), base.clone())).await;
    *base.lock().unwrap() = api.base();
    api.fault(1, Fault::Status(500, None));
    let table = format!(
        "api_token = \"{}\"\nhook = \"{}\"\napi_base = \"{}\"\nevery = \"1h\"",
        github_api::TOKEN,
        github_api::HOOK,
        api.base()
    );
    let text = config("github", &table);
    // The pass starts with the server: g2 must be stored first, so start without the table.
    let dir = tempfile::tempdir().unwrap();
    let plain = TestServer::start_in(BASE_CONFIG, dir.path()).await;
    let reply = plain.deliver("github", r#"{"zen":"g2"}"#, "g2").await;
    assert_eq!(reply.status.as_u16(), 202);
    plain.stop().await;
    let server = TestServer::start_in(&text, dir.path()).await;
    let status = pass_ended(&server, "github", "success").await;
    assert_eq!(status["lastPass"]["reconciled"], 2, "{status}");
    let redelivered: BTreeSet<String> = (api.seen().iter())
        .filter(|s| s.method == "POST")
        .map(|s| s.uri.clone())
        .collect();
    let expected: BTreeSet<String> = [3, 7]
        .iter()
        .map(|id| format!("/{}/deliveries/{id}/attempts", github_api::HOOK))
        .collect();
    assert_eq!(redelivered, expected);
    assert!(api
        .seen()
        .iter()
        .all(|s| s.auth.as_deref() == Some(&format!("Bearer {}", github_api::TOKEN)[..])));
    // Once GitHub's redeliveries arrive, a pass asks for nothing more.
    for guid in ["g3", "g5"] {
        let reply = server
            .deliver("github", &format!(r#"{{"zen":"{guid}"}}"#), guid)
            .await;
        assert_eq!(reply.status.as_u16(), 202);
    }
    let posts = || api.seen().iter().filter(|s| s.method == "POST").count();
    let before = posts();
    let again = post_as(
        &server.url("/admin/reconcile/github"),
        Some(TEST_ADMIN_TOKEN),
    )
    .await
    .json();
    assert_eq!(again["lastOutcome"], "success", "{again}");
    assert_eq!(again["lastPass"]["known"], 3, "{again}");
    assert_eq!(posts(), before);
    server.stop().await;
}

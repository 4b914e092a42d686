//! Who may read status resources and use the admin API; `/readyz`.

use http::Method;

use super::{admin_get, deliver};
use crate::support::{self, get_as, send, TestServer, BASE_CONFIG, TEST_ADMIN_TOKEN};

const WRONG: &str = "test-admin-token-0123456788";

fn assert_unauthorized(reply: &support::Reply) -> String {
    assert_eq!(
        reply.assert_problem(401),
        "urn:hookbox:problem:unauthorized"
    );
    let challenge = reply.header("www-authenticate").expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let detail = reply.json()["detail"].as_str().expect("detail").to_owned();
    assert!(!detail.contains(TEST_ADMIN_TOKEN) && !detail.contains(WRONG));
    detail
}

#[tokio::test]
async fn the_status_resource_needs_the_admin_token() {
    let server = TestServer::start(BASE_CONFIG).await;
    deliver(&server, "github", "gh-1", r#"{"zen":"hi"}"#).await;
    let url = server.url("/events/github/gh-1");

    assert_unauthorized(&get_as(&url, None).await);
    assert_unauthorized(&get_as(&url, Some(WRONG)).await);
    assert_unauthorized(&get_as(&url, Some("short")).await);
    let basic = vec![(
        "authorization".to_owned(),
        format!("Basic {TEST_ADMIN_TOKEN}"),
    )];
    assert_unauthorized(&send(Method::GET, &url, &basic, b"").await);
    // Unknown events are not revealed without the token either.
    assert_unauthorized(&get_as(&server.url("/events/github/nope"), None).await);

    let ok = get_as(&url, Some(TEST_ADMIN_TOKEN)).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["eventId"], "gh-1");
    server.stop().await;
}

#[tokio::test]
async fn public_status_opens_status_resources_but_not_the_admin_api() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = support::config_in(BASE_CONFIG, dir.path());
    config.admin.public_status = true;
    let server = TestServer::start_with(config).await;
    deliver(&server, "github", "gh-1", r#"{"zen":"hi"}"#).await;

    let open = get_as(&server.url("/events/github/gh-1"), None).await;
    assert_eq!(open.status, 200);
    assert_eq!(open.json()["source"], "github");
    assert_unauthorized(&get_as(&server.url("/admin/events"), None).await);
    assert_eq!(admin_get(&server, "/admin/events").await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn without_a_configured_token_status_and_admin_are_disabled() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = support::config_in(BASE_CONFIG, dir.path());
    config.admin.token = None;
    let server = TestServer::start_with(config).await;
    deliver(&server, "github", "gh-1", r#"{"zen":"hi"}"#).await;

    let status = assert_unauthorized(&admin_get(&server, "/events/github/gh-1").await);
    assert!(status.contains("HOOKBOX_ADMIN_TOKEN") && status.contains("public_status"));
    let admin = assert_unauthorized(&admin_get(&server, "/admin/events").await);
    assert!(admin.contains("HOOKBOX_ADMIN_TOKEN"), "{admin}");
    server.stop().await;
}

#[tokio::test]
async fn every_admin_route_needs_the_token_before_anything_else() {
    let server = TestServer::start(BASE_CONFIG).await;
    let routes = [
        (Method::GET, "/admin/events"),
        (Method::GET, "/admin/events/github/x/payload"),
        (Method::POST, "/admin/events/github/x/requeue"),
        (Method::POST, "/admin/requeue"),
        (Method::GET, "/admin/nowhere"),
        (Method::DELETE, "/admin/events"),
    ];
    for (method, path) in &routes {
        for token in [None, Some(WRONG)] {
            let headers = support::bearer(token);
            let reply = send(method.clone(), &server.url(path), &headers, b"").await;
            assert_unauthorized(&reply);
        }
    }
    // With the token: unknown routes are 404, wrong methods 405 with Allow.
    let token = support::bearer(Some(TEST_ADMIN_TOKEN));
    let call = |method: Method, path: &str| {
        let url = server.url(path);
        let token = token.clone();
        async move { send(method, &url, &token, b"").await }
    };
    call(Method::GET, "/admin/nowhere")
        .await
        .assert_problem(404);
    let wrong = call(Method::DELETE, "/admin/events").await;
    wrong.assert_problem(405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    let wrong = call(Method::GET, "/admin/requeue").await;
    wrong.assert_problem(405);
    assert_eq!(wrong.header("allow"), Some("POST"));
    let wrong = call(Method::GET, "/admin/events/github/x/requeue").await;
    assert_eq!(wrong.header("allow"), Some("POST"));
    let wrong = call(Method::POST, "/admin/events/github/x/payload").await;
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    server.stop().await;
}

#[tokio::test]
async fn readyz_needs_no_token_and_reports_ready() {
    let server = TestServer::start(BASE_CONFIG).await;
    let reply = get_as(&server.url("/readyz"), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["status"], "ready");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(get_as(&server.url("/healthz"), None).await.status, 200);
    server.stop().await;
}

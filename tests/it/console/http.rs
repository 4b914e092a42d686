//! The console's answers over plain HTTP: headers, caching, hashed assets, the disabled page.

use http::Method;

use crate::support::{get, send, TestServer, BASE_CONFIG};

const CSP: &str = "content-security-policy";

fn assert_secured(reply: &crate::support::Reply, what: &str) {
    let csp = reply.header(CSP).unwrap_or_default();
    for directive in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "script-src 'self'",
    ] {
        assert!(csp.contains(directive), "{what}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(
        reply.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

#[tokio::test]
async fn the_page_is_not_cached_and_its_hashed_assets_are_for_a_year() {
    let server = TestServer::start(BASE_CONFIG).await;
    let page = get(&server.url("/console")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_secured(&page, "page");
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(!html.contains("<script>"), "no inline script");
    let assets: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/console/assets/"))
        .collect();
    assert!(assets.len() >= 8, "{assets:?}");
    for path in &assets {
        let asset = get(&server.url(path)).await;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(
            asset.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
        assert_secured(&asset, path);
        let kind = asset.header("content-type").unwrap_or_default();
        assert!(
            kind.starts_with("text/javascript") || kind.starts_with("text/css"),
            "{kind}"
        );
    }
    for missing in ["/console/assets/main.js", "/console/nope"] {
        let reply = get(&server.url(missing)).await;
        assert_eq!(reply.status, 404, "{missing}");
        assert_secured(&reply, missing);
    }
    // The browser's own request for an icon is not a 404 problem.
    let icon = get(&server.url("/favicon.ico")).await;
    assert_eq!((icon.status.as_u16(), icon.body.len()), (204, 0));
    let post = send(Method::POST, &server.url("/console"), &[], b"token=x").await;
    assert_eq!(
        (post.status.as_u16(), post.header("allow")),
        (405, Some("GET, HEAD"))
    );
    assert_secured(&post, "POST");
    server.stop().await;
}

#[tokio::test]
async fn without_an_admin_token_the_console_says_it_is_disabled() {
    let config = BASE_CONFIG.replace("token = \"test-admin-token-0123456789\"", "");
    let server = TestServer::start(&config).await;
    let page = get(&server.url("/console")).await;
    assert_eq!(page.status, 403);
    assert_secured(&page, "disabled page");
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(html.contains("console is disabled") && html.contains("HOOKBOX_ADMIN_TOKEN"));
    server.stop().await;
}

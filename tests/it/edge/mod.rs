//! The public edge: the admin listener split, per-source allow-lists (with and without trusted
//! proxies) and rate limits. [`tls_files`]: HTTPS from certificate files, swapped while serving;
//! [`acme`]: certificates from pebble.

mod acme;
mod tls_files;

use std::time::{Duration, Instant};

use http::Method;
use tokio::net::TcpListener;

use crate::support::raw::{exchange, stripe_event, unique_id};
use crate::support::{config_in, get, send, TestServer, BASE_CONFIG};

/// Every path the admin side serves, as (path, status it answers there with the admin token).
const ADMIN_PATHS: [(&str, u16); 7] = [
    ("/admin/events", 200),
    ("/admin/counts", 200),
    ("/admin/summary", 200),
    ("/console/", 200),
    ("/metrics", 200),
    ("/openapi.json", 200),
    ("/favicon.ico", 204),
];

#[tokio::test]
async fn admin_paths_answer_only_on_the_admin_listener() {
    let temp = tempfile::tempdir().expect("temp dir");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
    let admin_addr = admin.local_addr().expect("addr");
    let server =
        TestServer::start_listening(config_in(BASE_CONFIG, temp.path()), Some(admin)).await;
    let on_admin = |path: &str| format!("http://{admin_addr}{path}");

    let id = unique_id("split");
    let accepted = server.deliver("stripe", &stripe_event(&id), "").await;
    assert_eq!(accepted.status, 202, "webhooks stay public");
    let status_path = accepted.header("location").expect("location").to_owned();

    let mut paths: Vec<(&str, u16)> = ADMIN_PATHS.to_vec();
    paths.push((&status_path, 200));
    for (path, want) in paths {
        let public = get(&server.url(path)).await;
        assert_eq!(
            public.assert_problem(404),
            "urn:hookbox:problem:not-found",
            "{path}"
        );
        assert_eq!(
            get(&on_admin(path)).await.status,
            want,
            "{path} on the admin listener"
        );
    }
    for health in ["/healthz", "/readyz"] {
        assert_eq!(
            get(&server.url(health)).await.status,
            200,
            "{health} public"
        );
        assert_eq!(get(&on_admin(health)).await.status, 200, "{health} admin");
    }
    // Webhooks are not taken on the private side.
    let body = stripe_event(&unique_id("split"));
    let headers = server.sign("stripe", body.as_bytes(), "");
    let private = send(
        Method::POST,
        &on_admin("/webhooks/stripe"),
        &headers,
        body.as_bytes(),
    )
    .await;
    private.assert_problem(404);
    server.stop().await;
}

#[tokio::test]
async fn without_admin_listen_one_listener_serves_everything() {
    let server = TestServer::start(BASE_CONFIG).await;
    for (path, want) in ADMIN_PATHS {
        assert_eq!(get(&server.url(path)).await.status, want, "{path}");
    }
    server.stop().await;
}

/// The base config plus a source `only` allowing `allow` and trusting `proxies`.
fn allow_config(allow: &str, proxies: &str) -> String {
    let base = BASE_CONFIG.replacen(
        "[server]\n",
        &format!("[server]\ntrusted_proxies = [{proxies}]\n"),
        1,
    );
    format!(
        "{base}\n[sources.only]\nscheme = \"github\"\nsecrets = [\"test-only\"]\n\
         allow_from = [{allow}]\n"
    )
}

/// A signed delivery to `only` with `extra` headers (`X-Forwarded-For`, `Forwarded`).
async fn deliver_only(server: &TestServer, extra: &[(&str, &str)]) -> crate::support::Reply {
    let body = format!(r#"{{"zen":"{}"}}"#, unique_id("allow"));
    let mut headers = server.sign("only", body.as_bytes(), &unique_id("delivery"));
    headers.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let url = server.url("/webhooks/only");
    send(Method::POST, &url, &headers, body.as_bytes()).await
}

#[tokio::test]
async fn allow_lists_use_the_peer_unless_a_trusted_proxy_forwards() {
    // No trusted proxies: the peer (127.0.0.1) decides; a forged header changes nothing.
    let server = TestServer::start(&allow_config("\"192.0.2.0/24\"", "")).await;
    let refused = deliver_only(&server, &[]).await;
    assert_eq!(
        refused.assert_problem(403),
        "urn:hookbox:problem:address-not-allowed"
    );
    let spoofed = deliver_only(&server, &[("x-forwarded-for", "192.0.2.10")]).await;
    spoofed.assert_problem(403);
    let spoofed = deliver_only(&server, &[("forwarded", "for=192.0.2.10")]).await;
    spoofed.assert_problem(403);
    // Other sources have no list.
    let other = server
        .deliver("stripe", &stripe_event(&unique_id("allow")), "")
        .await;
    assert_eq!(other.status, 202);
    server.stop().await;

    let server = TestServer::start(&allow_config("\"127.0.0.0/8\"", "")).await;
    assert_eq!(deliver_only(&server, &[]).await.status, 202);
    server.stop().await;

    // Behind a trusted proxy (the test client plays it): the nearest untrusted hop decides.
    let server = TestServer::start(&allow_config("\"192.0.2.0/24\"", "\"127.0.0.1\"")).await;
    let forwarded = deliver_only(&server, &[("x-forwarded-for", "192.0.2.10")]).await;
    assert_eq!(forwarded.status, 202, "{:?}", forwarded.body);
    let rfc7239 = deliver_only(&server, &[("forwarded", "for=\"192.0.2.11:4711\"")]).await;
    assert_eq!(rfc7239.status, 202, "{:?}", rfc7239.body);
    // The client's own claim comes first; the proxy appended the real address.
    let forged = deliver_only(&server, &[("x-forwarded-for", "192.0.2.10, 198.51.100.7")]).await;
    forged.assert_problem(403);
    let no_header = deliver_only(&server, &[]).await;
    no_header.assert_problem(403);
    server.stop().await;
}

/// The base config plus a source `limited`: `burst` at once, one more per second.
fn limited_config(burst: u32) -> String {
    format!(
        "{BASE_CONFIG}\n[sources.limited]\nscheme = \"github\"\nsecrets = [\"test-limited\"]\n\
         rate_limit = {{ rate = 1.0, burst = {burst} }}\n"
    )
}

async fn deliver_limited(server: &TestServer) -> crate::support::Reply {
    let body = format!(r#"{{"zen":"{}"}}"#, unique_id("rate"));
    let headers = server.sign("limited", body.as_bytes(), &unique_id("delivery"));
    let url = server.url("/webhooks/limited");
    send(Method::POST, &url, &headers, body.as_bytes()).await
}

#[tokio::test]
async fn a_rate_limit_answers_429_with_retry_after_then_202_again() {
    let server = TestServer::start(&limited_config(2)).await;
    assert_eq!(deliver_limited(&server).await.status, 202);
    assert_eq!(deliver_limited(&server).await.status, 202);
    let limited = deliver_limited(&server).await;
    assert_eq!(
        limited.assert_problem(429),
        "urn:hookbox:problem:rate-limited"
    );
    assert_eq!(limited.header("retry-after"), Some("1"));

    // Refused before the body is read: a head announcing a body that never comes is answered.
    let head = "POST /webhooks/limited HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n";
    let (responses, _) = exchange(server.addr, head.as_bytes()).await;
    assert_eq!(responses.first().map(|r| r.status), Some(429));

    let metrics = get(&server.url("/metrics")).await;
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    let line = "source=\"limited\",outcome=\"rejected\",reason=\"rate-limited\"";
    assert!(text.contains(line), "{text}");

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = deliver_limited(&server).await;
        if reply.status == 202 {
            break;
        }
        assert_eq!(reply.status, 429);
        assert!(Instant::now() < deadline, "still limited after 5 s at 1/s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn dedupe_on_body_answers_a_resent_body_with_a_new_delivery_id_as_a_duplicate() {
    let config = format!(
        "{BASE_CONFIG}\n[sources.gh]\nscheme = \"github\"\nsecrets = [\"test-gh\"]\n\
         dedupe_on_body = \"1h\"\n"
    );
    let server = TestServer::start(&config).await;
    let body = r#"{"action":"opened","number":7}"#;
    let first = server.deliver("gh", body, "delivery-1").await;
    assert_eq!(first.status, 202);
    // A captured request resent with a fresh X-GitHub-Delivery: GitHub signs only the body.
    let replay = server.deliver("gh", body, "delivery-2").await;
    assert!(replay.status.is_success(), "{:?}", replay.status);
    assert_eq!(replay.json()["status"], "duplicate");
    assert_eq!(replay.header("location"), first.header("location"));
    let other = server
        .deliver("gh", r#"{"action":"closed","number":7}"#, "delivery-3")
        .await;
    assert_eq!(other.status, 202);
    // Without the option the same replay is a new event (the scheme allows it).
    let plain = server.deliver("github", body, "delivery-1").await;
    assert_eq!(plain.json()["status"], "accepted");
    let resent = server.deliver("github", body, "delivery-2").await;
    assert_eq!(resent.json()["status"], "accepted");
    server.stop().await;
}

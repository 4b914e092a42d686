//! The counts in `/metrics` against the store: clients that hang up mid-accept still leave
//! every stored event counted once (accepted, queue depth), and the exposition passes
//! Prometheus's own checker.

use std::time::Duration;

use http::Method;
use serde_json::Value;

use crate::support::flow::LIMIT;
use crate::support::target::eventually;
use crate::support::{get, get_as, send, TestServer, BASE_CONFIG};

async fn scrape(server: &TestServer) -> String {
    let reply = get_as(&server.url("/metrics"), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    String::from_utf8(reply.body.to_vec()).expect("UTF-8")
}

/// The value of the sample whose series is exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Events of `source` in the store, by following the listing.
async fn stored(server: &TestServer, source: &str) -> usize {
    let (mut n, mut cursor) = (0, String::new());
    loop {
        let path = format!("/admin/events?source={source}&limit=1000{cursor}");
        let page: Value = get(&server.url(&path)).await.json();
        n += page["items"].as_array().map_or(0, Vec::len);
        match page["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return n,
        }
    }
}

#[tokio::test]
async fn clients_that_hang_up_mid_accept_leave_every_stored_event_counted_once() {
    let server = TestServer::start(BASE_CONFIG).await;
    let url = server.url("/webhooks/github");
    let mut clients = Vec::new();
    for i in 0..300u64 {
        let headers = server.sign("github", br#"{"zen":"hi"}"#, &format!("h{i}"));
        let url = url.clone();
        // The clients give up after 0 ms to 1.5 s, spread evenly: on a busy machine as on
        // an idle one, some while their event is being written.
        let patience = Duration::from_micros(i * 5_000);
        clients.push(tokio::spawn(async move {
            let request = send(Method::POST, &url, &headers, br#"{"zen":"hi"}"#);
            tokio::time::timeout(patience, request).await.is_ok()
        }));
    }
    let mut answered = 0;
    for client in clients {
        answered += usize::from(client.await.expect("client task"));
    }
    assert!(
        answered < 300,
        "some clients must hang up before their answer"
    );
    assert!(answered > 0, "some clients must wait for their answer");

    // Every event stored is counted as accepted, once, whatever its client did; and the
    // queue drains to exactly zero (a missed count would wrap it below zero).
    let accepted =
        "hookbox_webhook_requests_total{source=\"github\",outcome=\"accepted\",reason=\"\"}";
    let text = eventually(
        "accepted to match the store, queue drained",
        LIMIT,
        || async {
            let text = scrape(&server).await;
            let stored = stored(&server, "github").await as f64;
            let counted = sample(&text, accepted)?;
            let depth = sample(&text, "hookbox_queue_depth")?;
            (counted == stored && depth == 0.0 && stored > 0.0).then_some(text)
        },
    )
    .await;
    let processed = "hookbox_attempts_total{source=\"github\",route=\"\",outcome=\"success\"}";
    assert_eq!(sample(&text, processed), sample(&text, accepted), "{text}");
    server.stop().await;
}

/// `promtool check metrics` (Debian's `prometheus` package) accepts the exposition, a routed
/// source's and the store's gauges included, with no warning.
#[tokio::test]
#[ignore = "needs promtool"]
async fn promtool_accepts_the_exposition() {
    let config = format!(
        r#"{BASE_CONFIG}
[sources.app]
scheme = "github"
secrets = ["test-app"]

[[sources.app.routes]]
name = "billing"

[[sources.app.routes]]
name = "audit"
"#
    );
    let server = TestServer::start(&config).await;
    let reply = server.deliver("app", r#"{"zen":"hi"}"#, "a1").await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let text = scrape(&server).await;
    for line in [
        "hookbox_webhook_requests_total{source=\"app\",outcome=\"accepted\",reason=\"\"} 1",
        "hookbox_dead_total{source=\"app\",route=\"billing\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    assert!(!text.contains("source=\"app:"), "{text}");
    for family in ["hookbox_build_info", "hookbox_events", "process_open_fds"] {
        assert!(text.contains(&format!("# TYPE {family} ")), "{family}");
    }
    let mut promtool = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) on PATH");
    let mut stdin = promtool.stdin.take().expect("stdin");
    tokio::io::AsyncWriteExt::write_all(&mut stdin, text.as_bytes())
        .await
        .expect("write");
    drop(stdin);
    let out = promtool.wait_with_output().await.expect("promtool ran");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{text}"
    );
    server.stop().await;
}

//! `GET /metrics` over real HTTP: deliveries of every outcome, processing by the log handler,
//! then exact counter values and histogram counts in the scrape.

use crate::support;
use crate::support::flow;
use crate::support::target;

use std::collections::HashMap;

use flow::LIMIT;
use http::Method;
use support::{get_as, send, TestServer, BASE_CONFIG};
use target::eventually;

/// Scrapes `/metrics` without a token; asserts the 200 and the exposition content type.
async fn scrape(server: &TestServer) -> String {
    let reply = get_as(&server.url("/metrics"), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    String::from_utf8(reply.body.to_vec()).expect("UTF-8")
}

/// Every sample by its series (`name{labels}`), checking each has a declared family.
fn samples(text: &str) -> HashMap<String, f64> {
    let mut declared = Vec::new();
    let mut out = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.push(rest.split(' ').next().expect("name").to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series and value");
        let name = series.split('{').next().expect("name");
        assert!(
            declared
                .iter()
                .any(|family| name.starts_with(family.as_str())),
            "{name} has no # TYPE line"
        );
        let value: f64 = value.parse().expect("a number");
        assert!(
            out.insert(series.to_owned(), value).is_none(),
            "{series} twice"
        );
    }
    out
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no series {series}"))
}

fn requests(source: &str, outcome: &str, reason: &str) -> String {
    format!(
        "hookbox_webhook_requests_total{{source=\"{source}\",outcome=\"{outcome}\",reason=\"{reason}\"}}"
    )
}

fn stripe_event(id: &str) -> String {
    format!(r#"{{"id":"{id}","object":"event","type":"invoice.paid","data":{{}}}}"#)
}

#[tokio::test]
async fn counts_deliveries_attempts_and_latencies_exactly() {
    let server = TestServer::start(BASE_CONFIG).await;
    let before = samples(&scrape(&server).await);
    assert_eq!(value(&before, &requests("github", "accepted", "")), 0.0);
    assert!(
        !before.keys().any(|k| k.contains("source=\"\"")),
        "no unknown-source series before one is used"
    );

    for id in ["g1", "g2"] {
        let reply = server.deliver("github", r#"{"zen":"hi"}"#, id).await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
    }
    let reply = server.deliver("stripe", &stripe_event("evt_1"), "").await;
    assert_eq!(reply.status, 202);

    // The log handler processes all three.
    eventually("three events processed", LIMIT, || async {
        let s = samples(&scrape(&server).await);
        let done = value(
            &s,
            "hookbox_attempts_total{source=\"github\",route=\"\",outcome=\"success\"}",
        ) + value(
            &s,
            "hookbox_attempts_total{source=\"stripe\",route=\"\",outcome=\"success\"}",
        );
        (done == 3.0).then_some(())
    })
    .await;

    assert_eq!(
        server
            .deliver("github", r#"{"zen":"hi"}"#, "g1")
            .await
            .status,
        200
    );
    assert_eq!(
        server
            .deliver("stripe", &stripe_event("evt_1"), "")
            .await
            .status,
        200
    );

    let url = server.url("/webhooks/github");
    let mut forged = server.sign("github", br#"{"zen":"hi"}"#, "g3");
    forged.retain(|(name, _)| name != "content-type");
    for _ in 0..2 {
        let reply = send(Method::POST, &url, &forged, br#"{"zen":"bye"}"#).await;
        reply.assert_problem(401);
    }
    send(Method::GET, &url, &[], b"").await.assert_problem(405);
    let unknown = server.url("/webhooks/nope");
    send(Method::POST, &unknown, &[], b"{}")
        .await
        .assert_problem(404);

    let challenge = br#"{"type":"url_verification","token":"t","challenge":"abc"}"#;
    let headers = server.sign("slack", challenge, "");
    let reply = send(
        Method::POST,
        &server.url("/webhooks/slack"),
        &headers,
        challenge,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    let text = scrape(&server).await;
    assert!(
        !text.contains("nope"),
        "unknown source names never become labels"
    );
    let s = samples(&text);
    for (series, want) in [
        (requests("github", "accepted", ""), 2.0),
        (requests("github", "duplicate", ""), 1.0),
        (requests("github", "challenge", ""), 0.0),
        (requests("github", "rejected", "invalid-signature"), 2.0),
        (requests("github", "rejected", "method-not-allowed"), 1.0),
        (requests("stripe", "accepted", ""), 1.0),
        (requests("stripe", "duplicate", ""), 1.0),
        (requests("slack", "challenge", ""), 1.0),
        (requests("slack", "accepted", ""), 0.0),
        (requests("", "rejected", "not-found"), 1.0),
    ] {
        assert_eq!(value(&s, &series), want, "{series}");
    }
    // Acknowledged (accepted or duplicate) requests are timed; rejections and the handshake not.
    for (source, acks) in [("github", 3.0), ("stripe", 2.0), ("slack", 0.0)] {
        let count = value(
            &s,
            &format!("hookbox_ack_duration_seconds_count{{source=\"{source}\"}}"),
        );
        let inf = format!("hookbox_ack_duration_seconds_bucket{{source=\"{source}\",le=\"+Inf\"}}");
        assert_eq!((count, value(&s, &inf)), (acks, acks), "{source}");
        let sum = value(
            &s,
            &format!("hookbox_ack_duration_seconds_sum{{source=\"{source}\"}}"),
        );
        assert!(sum >= 0.0 && (acks > 0.0) == (sum > 0.0), "{source}: {sum}");
        let ten = format!("hookbox_ack_duration_seconds_bucket{{source=\"{source}\",le=\"10\"}}");
        assert_eq!(value(&s, &ten), acks, "{source}: all well under 10 s");
    }
    for (source, runs) in [("github", 2.0), ("stripe", 1.0), ("slack", 0.0)] {
        let series =
            format!("hookbox_handler_duration_seconds_count{{source=\"{source}\",route=\"\"}}");
        assert_eq!(value(&s, &series), runs, "{source}");
        for outcome in ["transient", "permanent", "abandoned"] {
            let series = format!(
                "hookbox_attempts_total{{source=\"{source}\",route=\"\",outcome=\"{outcome}\"}}"
            );
            assert_eq!(value(&s, &series), 0.0, "{series}");
        }
        let dead = format!("hookbox_dead_total{{source=\"{source}\",route=\"\"}}");
        assert_eq!(value(&s, &dead), 0.0);
    }
    assert_eq!(value(&s, "hookbox_queue_depth"), 0.0);
    assert_eq!(value(&s, "hookbox_oldest_due_age_seconds"), 0.0);
    server.stop().await;
}

#[tokio::test]
async fn metrics_is_read_only_and_needs_no_token() {
    let server = TestServer::start(BASE_CONFIG).await;
    let url = server.url("/metrics");
    let head = send(Method::HEAD, &url, &[], b"").await;
    assert_eq!(head.status, 200);
    let post = send(Method::POST, &url, &[], b"").await;
    post.assert_problem(405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    server.stop().await;
}

#[tokio::test]
async fn queue_depth_and_overdue_age_while_the_worker_is_busy() {
    // One slot and a handler that runs until the test lets it finish: the second event waits,
    // due but unclaimed, so the oldest due age grows.
    let dir = tempfile::tempdir().expect("dir");
    let go = dir.path().join("go");
    let script = format!("while [ ! -e '{}' ]; do sleep 0.01; done", go.display());
    let worker = "concurrency = 1\nretry_schedule = [\"1ms\"]\njitter = 0.0";
    let server = TestServer::start(&flow::config(worker, &flow::command(&script, ""))).await;
    flow::deliver(&server, "e1", "{}", &[]).await;
    flow::deliver(&server, "e2", "{}", &[]).await;

    let waiting = eventually("an overdue event", LIMIT, || async {
        let s = samples(&scrape(&server).await);
        (value(&s, "hookbox_oldest_due_age_seconds") >= 0.05).then_some(s)
    })
    .await;
    assert_eq!(value(&waiting, "hookbox_queue_depth"), 2.0);
    assert_eq!(value(&waiting, &requests("app", "accepted", "")), 2.0);

    std::fs::write(&go, b"").expect("release the handler");
    let done = eventually("both events processed", LIMIT, || async {
        let s = samples(&scrape(&server).await);
        let ok = "hookbox_attempts_total{source=\"app\",route=\"\",outcome=\"success\"}";
        (value(&s, ok) == 2.0).then_some(s)
    })
    .await;
    assert_eq!(value(&done, "hookbox_queue_depth"), 0.0);
    assert_eq!(value(&done, "hookbox_oldest_due_age_seconds"), 0.0);
    let runs = "hookbox_handler_duration_seconds_count{source=\"app\",route=\"\"}";
    assert_eq!(value(&done, runs), 2.0);
    server.stop().await;
}

//! Replay attacks: a captured, validly signed request sent again. Past the source's timestamp
//! tolerance it is refused (401); within it, dedupe answers it as a duplicate and it is never
//! processed twice. Old signatures are made with an old timestamp rather than by waiting.

use crate::support;

use std::time::{Duration, Instant};

use http::Method;
use support::{get, send, unix_now, Reply, TestServer, BASE_CONFIG};

/// Tolerance of the sources under test.
const TOLERANCE_SECS: u64 = 60;

fn config() -> String {
    let mut toml = BASE_CONFIG.to_owned();
    for (name, scheme, secret) in [
        ("stripe_short", "stripe", "whsec_short"),
        (
            "standard_short",
            "standard",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ] {
        toml.push_str(&format!(
            "\n[sources.{name}]\nscheme = \"{scheme}\"\nsecrets = [\"{secret}\"]\ntolerance = \"{TOLERANCE_SECS}s\"\n"
        ));
    }
    toml
}

/// Delivers `body` to `source` signed as at unix time `ts`.
async fn deliver_signed_at(
    server: &TestServer,
    source: &str,
    body: &str,
    id: &str,
    ts: u64,
) -> Reply {
    let verifier = &server.config.source(source).expect("source").verifier;
    let secret = verifier.secrets.last().expect("secret");
    let mut headers = verifier.sign(secret, body.as_bytes(), ts, id);
    headers.push(("content-type".into(), "application/json".into()));
    let url = server.url(&format!("/webhooks/{source}"));
    send(Method::POST, &url, &headers, body.as_bytes()).await
}

/// Waits (bounded) for the event to succeed and checks it was attempted exactly once.
async fn assert_processed_once(server: &TestServer, source: &str, id: &str) {
    let url = server.url(&format!("/events/{source}/{id}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = get(&url).await;
        assert_eq!(status.status, 200, "{:?}", status.body);
        let json = status.json();
        if json["state"] == "succeeded" {
            assert_eq!(
                json["attemptCount"], 1,
                "{source}/{id} processed more than once"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{source}/{id} not processed in 10 s: {json}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn event(id: &str) -> String {
    format!(r#"{{"id":"{id}","type":"invoice.paid"}}"#)
}

#[tokio::test]
async fn a_replay_past_the_tolerance_is_401() {
    let server = TestServer::start(&config()).await;
    let now = unix_now();
    for source in ["stripe_short", "standard_short"] {
        let id = format!("{source}_stale");
        // Captured long ago (or dated ahead), replayed now: refused, never stored.
        for ts in [
            now - TOLERANCE_SECS - 30,
            now - 86_400,
            now + TOLERANCE_SECS + 30,
        ] {
            let reply = deliver_signed_at(&server, source, &event(&id), &id, ts).await;
            assert_eq!(
                reply.assert_problem(401),
                "urn:hookbox:problem:invalid-signature",
                "{source} at {ts}"
            );
        }
        // The id is still unknown: the same event signed now is new, not a duplicate.
        let fresh = deliver_signed_at(&server, source, &event(&id), &id, now).await;
        assert_eq!(fresh.status, 202, "{source}: {:?}", fresh.body);
        assert_eq!(fresh.json()["status"], "accepted", "{source}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_replay_within_the_tolerance_is_a_duplicate() {
    let server = TestServer::start(&config()).await;
    let signed_at = unix_now() - TOLERANCE_SECS / 2;
    for source in ["stripe_short", "standard_short"] {
        let id = format!("{source}_replayed");
        let first = deliver_signed_at(&server, source, &event(&id), &id, signed_at).await;
        assert_eq!(first.status, 202, "{source}: {:?}", first.body);
        assert_eq!(first.json()["status"], "accepted");
        // The exact same bytes again, still inside the window.
        for _ in 0..3 {
            let replay = deliver_signed_at(&server, source, &event(&id), &id, signed_at).await;
            assert!(
                matches!(replay.status.as_u16(), 200 | 202),
                "{source}: {:?}",
                replay.body
            );
            assert_eq!(replay.json()["status"], "duplicate", "{source}");
        }
        assert_processed_once(&server, source, &id).await;
    }
    // Schemes without a signed timestamp (GitHub) rely on dedupe alone: any replay is a duplicate.
    let body = r#"{"zen":"replayed"}"#;
    let first = server.deliver("github", body, "gh-replayed").await;
    assert_eq!(first.json()["status"], "accepted");
    let replay = server.deliver("github", body, "gh-replayed").await;
    assert_eq!(replay.json()["status"], "duplicate");
    server.stop().await;
}

//! `handler.signing`: for each mode an event goes in through `/webhooks/app` (Standard Webhooks,
//! signed by the "provider"), is forwarded to a real loopback application, and what the
//! application received is checked the way it would check it — with hookbox's own verifier for
//! the scheme, as `hookbox verify` does, keyed with the forward secret (or, for `original`, the
//! provider's secret).

use std::time::Duration;

use hookbox::verify::{Scheme, SchemeOptions, Secret, Verifier};

use crate::support::flow::{
    config, deliver, forward, settled, FAST, FORWARD_SECRET, INGEST_SECRET,
};
use crate::support::target::{Seen, Target};
use crate::support::{unix_now, TestServer};

/// Forwards one event with `signing = mode`; returns what the application received.
async fn received(mode: &str) -> Seen {
    let target = Target::start().await;
    let handler = forward(&target, &format!("signing = \"{mode}\""));
    let server = TestServer::start(&config(FAST, &handler)).await;
    deliver(&server, "evt_sig", r#"{"type":"invoice.paid"}"#, &[]).await;
    let status = settled(&server, "evt_sig").await;
    assert_eq!(status["state"], "succeeded", "{mode}: {status}");
    server.stop().await;
    let seen = target.inspect(|s| s.to_vec());
    assert_eq!(seen.len(), 1, "{mode}");
    seen.into_iter().next().expect("one request")
}

fn verifies(scheme: &str, secret: &str, seen: &Seen) -> bool {
    let verifier = Verifier {
        scheme: Scheme::build(scheme, &SchemeOptions::default()).expect("scheme"),
        secrets: vec![Secret::new(secret)],
        tolerance: Duration::from_secs(300),
    };
    verifier
        .verify(&seen.headers, &seen.body, unix_now())
        .is_ok()
}

#[tokio::test]
async fn each_signing_mode_is_what_the_application_checks() {
    let standard = received("standard").await;
    assert!(verifies("standard", FORWARD_SECRET, &standard));
    assert_eq!(standard.header("webhook-id"), Some("app:evt_sig"));

    let stripe = received("stripe").await;
    assert!(verifies("stripe", FORWARD_SECRET, &stripe));
    assert!(!verifies("stripe", INGEST_SECRET, &stripe));
    assert_eq!(stripe.header("webhook-signature"), None);
    // The idempotency key is sent whatever the signing.
    assert_eq!(stripe.header("webhook-id"), Some("app:evt_sig"));

    let github = received("github").await;
    assert!(verifies("github", FORWARD_SECRET, &github));
    assert_eq!(github.header("x-github-delivery"), Some("app:evt_sig"));
    assert_eq!(github.header("x-github-event"), Some("invoice.paid"));

    let none = received("none").await;
    for name in [
        "webhook-signature",
        "stripe-signature",
        "x-hub-signature-256",
    ] {
        assert_eq!(none.header(name), None, "{name}");
    }
    assert_eq!(none.header("hookbox-event-id"), Some("evt_sig"));
    assert_eq!(none.header("webhook-id"), Some("app:evt_sig"));

    // The provider's own headers, untouched: they verify with the provider's secret, not
    // hookbox's, and carry the provider's id.
    let original = received("original").await;
    assert!(verifies("standard", INGEST_SECRET, &original));
    assert!(!verifies("standard", FORWARD_SECRET, &original));
    assert_eq!(original.header("webhook-id"), Some("evt_sig"));
}

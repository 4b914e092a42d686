//! The receiver's HTTP contract, over real HTTP against a real hookbox.

use crate::support;

use http::Method;
use support::{get, send, TestServer, BASE_CONFIG};

fn stripe_event(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","object":"event","type":"payment_intent.succeeded","data":{{"object":{{"id":"pi_1"}}}}}}"#
    )
}

#[tokio::test]
async fn new_event_is_accepted_with_location_retry_after_and_no_store() {
    let server = TestServer::start(BASE_CONFIG).await;
    let reply = server.deliver("stripe", &stripe_event("evt_1"), "").await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(reply.header("location"), Some("/events/stripe/evt_1"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let retry_after: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1);
    let json = reply.json();
    assert_eq!(json["status"], "accepted");
    assert_eq!(json["source"], "stripe");
    assert_eq!(json["eventId"], "evt_1");
    assert_eq!(json["location"], "/events/stripe/evt_1");

    let status = get(&server.url("/events/stripe/evt_1")).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.json()["eventType"], "payment_intent.succeeded");
    server.stop().await;
}

#[tokio::test]
async fn location_percent_encodes_the_id() {
    let server = TestServer::start(BASE_CONFIG).await;
    let reply = server.deliver("github", r#"{"zen":"hi"}"#, "a b/c?d").await;
    assert_eq!(reply.status, 202);
    let location = reply.header("location").expect("location").to_owned();
    assert_eq!(location, "/events/github/a%20b%2Fc%3Fd");
    let status = get(&server.url(&location)).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.json()["eventId"], "a b/c?d");
    server.stop().await;
}

/// `path` as a client resolves it (RFC 3986 §5.2.4): `.` and `..` segments are removed.
fn remove_dot_segments(path: &str) -> String {
    let (path, query) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut resolved = format!("/{}", out.join("/"));
    if let Some(q) = query {
        resolved = format!("{resolved}?{q}");
    }
    resolved
}

#[tokio::test]
async fn locations_of_dot_ids_survive_client_normalisation() {
    let server = TestServer::start(BASE_CONFIG).await;
    for id in [".", "..", "..."] {
        let reply = server.deliver("github", r#"{"zen":"hi"}"#, id).await;
        assert_eq!(reply.status, 202, "{id}");
        let location = reply.header("location").expect("location").to_owned();
        // What curl and browsers request for it.
        let requested = remove_dot_segments(&location);
        assert_eq!(
            requested, location,
            "{id}: {location} is changed by clients"
        );
        let status = get(&server.url(&requested)).await;
        assert_eq!(status.status, 200, "{id}: {location}");
        assert_eq!(status.json()["eventId"], id);
        assert_eq!(reply.json()["location"], location.as_str());
    }
    server.stop().await;
}

#[tokio::test]
async fn every_scheme_accepts_its_own_signature() {
    let server = TestServer::start(BASE_CONFIG).await;
    let cases = [
        ("stripe", r#"{"id":"evt_s","type":"charge.refunded"}"#),
        ("github", r#"{"zen":"Keep it logically awesome."}"#),
        ("standard", r#"{"type":"user.created","data":{}}"#),
        ("shopify", r#"{"id":820982911946154508}"#),
        (
            "slack",
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention"}}"#,
        ),
        (
            "paddle",
            r#"{"event_id":"evt_01h","event_type":"transaction.completed"}"#,
        ),
        ("square", r#"{"event_id":"sq-1","type":"payment.updated"}"#),
        (
            "adyen",
            r#"{"data":{"id":"BA1"},"type":"balancePlatform.accountHolder.created"}"#,
        ),
        ("razorpay", r#"{"event":"payment.captured"}"#),
        ("checkout", r#"{"id":"evt_ck","type":"payment_captured"}"#),
        (
            "gocardless",
            r#"{"events":[{"id":"EV1"}],"meta":{"webhook_id":"WB1"}}"#,
        ),
        (
            "lemonsqueezy",
            r#"{"meta":{"event_name":"order_created"},"data":{"id":"1","attributes":{"updated_at":"2024-01-01T00:00:00Z"}}}"#,
        ),
        (
            "coinbase",
            r#"{"event":{"id":"cb-1","type":"charge:created"}}"#,
        ),
        ("intercom", r#"{"id":"notif_1","topic":"ping"}"#),
        (
            "typeform",
            r#"{"event_id":"tf-1","event_type":"form_response"}"#,
        ),
        (
            "twilio",
            r#"{"type":"com.twilio.messaging.message.delivered"}"#,
        ),
        (
            "sendgrid",
            r#"[{"sg_event_id":"sg-1","event":"processed"}]"#,
        ),
        ("discord", r#"{"id":"100000000000000002","type":2}"#),
        ("zoom", r#"{"event":"meeting.started","event_ts":1}"#),
        (
            "twitch",
            r#"{"subscription":{"type":"channel.follow"},"event":{}}"#,
        ),
        (
            "mailgun",
            r#"{"event-data":{"id":"mg-1","event":"delivered"}}"#,
        ),
        (
            "linear",
            r#"{"type":"Issue","action":"create","webhookTimestamp":0}"#,
        ),
        (
            "hubspot",
            r#"[{"eventId":1,"subscriptionType":"contact.creation"}]"#,
        ),
    ];
    for (source, body) in cases {
        let reply = server.deliver(source, body, &format!("{source}-id")).await;
        assert_eq!(reply.status, 202, "{source}: {:?}", reply.body);
        if source == "adyen" {
            // Adyen requires its own acknowledgement in place of hookbox's JSON.
            assert_eq!(&reply.body[..], b"[accepted]");
            continue;
        }
        assert_eq!(reply.json()["status"], "accepted", "{source}");
    }
    server.stop().await;
}

#[tokio::test]
async fn handshakes_are_answered_only_when_signed() {
    let server = TestServer::start(BASE_CONFIG).await;
    let ping = r#"{"id":"100000000000000009","type":1,"token":"t","version":1}"#;
    let reply = server.deliver("discord", ping, "").await;
    assert_eq!(
        (reply.status.as_u16(), &reply.body[..]),
        (200, &br#"{"type":1}"#[..])
    );

    let validation = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1,"event":"endpoint.url_validation"}"#;
    let reply = server.deliver("zoom", validation, "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(
        reply.json()["encryptedToken"].as_str().map(str::len),
        Some(64)
    );

    let challenge = r#"{"challenge":"pogchamp-kappa","subscription":{"type":"channel.follow"}}"#;
    let reply = server.deliver("twitch", challenge, "m-1").await;
    assert_eq!(
        (reply.status.as_u16(), &reply.body[..]),
        (200, &b"pogchamp-kappa"[..])
    );
    assert_eq!(reply.header("content-type"), Some("text/plain"));

    // Unsigned, each is refused like any other request.
    for source in ["discord", "zoom", "twitch"] {
        let url = server.url(&format!("/webhooks/{source}"));
        let reply = send(Method::POST, &url, &[], ping.as_bytes()).await;
        assert_eq!(reply.status, 401, "{source}");
    }
    server.stop().await;
}

#[tokio::test]
async fn duplicate_of_pending_event_is_202_and_names_its_state() {
    let server = TestServer::start(BASE_CONFIG).await;
    let body = stripe_event("evt_dup");
    assert_eq!(server.deliver("stripe", &body, "").await.status, 202);
    let again = server.deliver("stripe", &body, "").await;
    let json = again.json();
    assert_eq!(json["status"], "duplicate");
    let state = json["state"].as_str().expect("state");
    // The log handler may already have finished it: a final event's duplicate is 200.
    let expected = if state == "succeeded" || state == "dead" {
        200
    } else {
        202
    };
    assert_eq!(again.status, expected, "state {state}");
    assert_eq!(again.header("location"), Some("/events/stripe/evt_dup"));
    server.stop().await;
}

#[tokio::test]
async fn slack_url_verification_is_answered_with_the_challenge() {
    let server = TestServer::start(BASE_CONFIG).await;
    let body = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let reply = server.deliver("slack", body, "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    server.stop().await;
}

#[tokio::test]
async fn rejections_are_problem_json_with_documented_statuses() {
    let server = TestServer::start(BASE_CONFIG).await;
    let url = server.url("/webhooks/stripe");
    let body = stripe_event("evt_r");

    // 401: no signature, a wrong one, a stale one.
    let unsigned = send(Method::POST, &url, &[], body.as_bytes()).await;
    assert_eq!(
        unsigned.assert_problem(401),
        "urn:hookbox:problem:invalid-signature"
    );
    let mut headers = server.sign("stripe", body.as_bytes(), "");
    let tampered = format!("{body} ");
    send(Method::POST, &url, &headers, tampered.as_bytes())
        .await
        .assert_problem(401);
    let stale = format!("t={},v1=00", support::unix_now() - 3600);
    headers.retain(|(n, _)| n != "Stripe-Signature" && n != "stripe-signature");
    headers.push(("stripe-signature".into(), stale));
    let reply = send(Method::POST, &url, &headers, body.as_bytes()).await;
    reply.assert_problem(401);
    assert!(
        !String::from_utf8_lossy(&reply.body).contains("whsec_"),
        "no secret in detail"
    );

    // 404 unknown source / route, 405 wrong method with Allow.
    let unknown = send(Method::POST, &server.url("/webhooks/nope"), &[], b"{}").await;
    unknown.assert_problem(404);
    get(&server.url("/nowhere")).await.assert_problem(404);
    let wrong = get(&url).await;
    wrong.assert_problem(405);
    assert_eq!(wrong.header("allow"), Some("POST"));

    // 400: signed, but no event id in the body.
    let no_id = r#"{"object":"event"}"#;
    let headers = server.sign("stripe", no_id.as_bytes(), "");
    let reply = send(Method::POST, &url, &headers, no_id.as_bytes()).await;
    assert_eq!(
        reply.assert_problem(400),
        "urn:hookbox:problem:missing-event-id"
    );

    // 415: signed, but not JSON where the source needs JSON.
    let form = b"id=evt_1&type=x";
    let mut headers = server.sign("stripe", form, "");
    headers.retain(|(n, _)| n != "content-type");
    headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    send(Method::POST, &url, &headers, form)
        .await
        .assert_problem(415);
    let headers = server.sign("stripe", form, "");
    send(Method::POST, &url, &headers, form)
        .await
        .assert_problem(415);

    // 404 for an unknown event's status.
    get(&server.url("/events/stripe/evt_never"))
        .await
        .assert_problem(404);
    server.stop().await;
}

#[tokio::test]
async fn body_over_the_limit_is_413_from_content_length_and_from_chunks() {
    let toml = format!("{BASE_CONFIG}\n[sources.small]\nscheme = \"github\"\nsecrets = [\"s\"]\nmax_body_bytes = 16\n");
    let server = TestServer::start(&toml).await;
    let big = vec![b'x'; 17];
    let headers = server.sign("small", &big, "id-1");
    let reply = send(Method::POST, &server.url("/webhooks/small"), &headers, &big).await;
    assert_eq!(
        reply.assert_problem(413),
        "urn:hookbox:problem:body-too-large"
    );

    // Chunked (no Content-Length): the limit is enforced while reading.
    let reply = support::send_chunked(
        &server.url("/webhooks/small"),
        &headers,
        &[&big[..10], &big[10..]],
    )
    .await;
    reply.assert_problem(413);
    // Exactly at the limit is fine.
    let ok = vec![b'y'; 16];
    let headers = server.sign("small", &ok, "id-2");
    assert_eq!(
        send(Method::POST, &server.url("/webhooks/small"), &headers, &ok)
            .await
            .status,
        202
    );
    server.stop().await;
}

#[tokio::test]
async fn many_parallel_deliveries_of_one_id_accept_exactly_one_as_new() {
    let server = std::sync::Arc::new(TestServer::start(BASE_CONFIG).await);
    let body = stripe_event("evt_race");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (server, body) = (server.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            server.deliver("stripe", &body, "").await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        let reply = task.await.expect("task");
        assert!(
            reply.status == 202 || reply.status == 200,
            "{:?}",
            reply.status
        );
        match reply.json()["status"].as_str() {
            Some("accepted") => accepted += 1,
            Some("duplicate") => {}
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert_eq!(accepted, 1);
    std::sync::Arc::into_inner(server)
        .expect("sole owner")
        .stop()
        .await;
}

#[tokio::test]
async fn accepted_events_survive_a_restart_and_stay_duplicates() {
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start_in(BASE_CONFIG, dir.path()).await;
    for i in 0..20 {
        assert_eq!(
            server
                .deliver("stripe", &stripe_event(&format!("evt_{i}")), "")
                .await
                .status,
            202
        );
    }
    server.stop().await;

    let server = TestServer::start_in(BASE_CONFIG, dir.path()).await;
    for i in 0..20 {
        let status = get(&server.url(&format!("/events/stripe/evt_{i}"))).await;
        assert_eq!(status.status, 200, "evt_{i} lost");
    }
    let again = server.deliver("stripe", &stripe_event("evt_7"), "").await;
    assert_eq!(again.json()["status"], "duplicate");
    server.stop().await;
}

#[tokio::test]
async fn health_answers_get_and_head_only() {
    let server = TestServer::start(BASE_CONFIG).await;
    assert_eq!(get(&server.url("/healthz")).await.status, 200);
    for path in ["/healthz", "/readyz"] {
        let head = send(Method::HEAD, &server.url(path), &[], b"").await;
        assert_eq!(head.status, 200, "HEAD {path}");
        let post = send(Method::POST, &server.url(path), &[], b"").await;
        post.assert_problem(405);
        assert_eq!(post.header("allow"), Some("GET, HEAD"), "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn json_nested_too_deep_for_the_id_reader_is_a_precise_400() {
    let server = TestServer::start(BASE_CONFIG).await;
    let deep = format!(
        r#"{{"id":"evt_deep","type":"x","data":{}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let reply = server.deliver("stripe", &deep, "").await;
    assert_eq!(
        reply.assert_problem(400),
        "urn:hookbox:problem:json-too-deep"
    );
    let broken = server.deliver("stripe", r#"{"id":"evt_x""#, "").await;
    assert_eq!(
        broken.assert_problem(415),
        "urn:hookbox:problem:json-required"
    );
    server.stop().await;
}

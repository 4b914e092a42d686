//! Lying and broken body framing on the wire: chunked bodies over the limit, Content-Length
//! longer or shorter than the body, invalid lengths, Content-Length with Transfer-Encoding.
//! Each gets its documented answer, and the server stays healthy after it.

use crate::support;
use crate::support::raw;

use raw::{
    assert_healthy, config, expect, send_raw, signed_request, statuses, stripe_event, unique_id,
};
use support::{get, TestServer};

#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let server = TestServer::start(&config()).await;
    let body = "x".repeat(200);
    let head = signed_request(&server, "small", &body, "id-big", "Connection: close\r\n");
    let head = String::from_utf8(head).expect("ascii");
    let head = head
        .split_once("\r\n\r\n")
        .expect("head")
        .0
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("content-length"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let mut bytes = format!("{head}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    for chunk in body.as_bytes().chunks(50) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    let responses = expect(&server, "chunked 200 B over a 64 B limit", &bytes, &[413]).await;
    assert_eq!(responses[0].problem_slug(), "body-too-large");
    server.stop().await;
}

/// A signed delivery of `body` whose `Content-Length` says `length` instead.
fn with_content_length(server: &TestServer, body: &str, length: usize) -> Vec<u8> {
    let bytes = signed_request(server, "stripe", body, "", "");
    let real = format!("Content-Length: {}\r\n", body.len());
    String::from_utf8(bytes)
        .expect("ascii")
        .replace(&real, &format!("Content-Length: {length}\r\n"))
        .into_bytes()
}

#[tokio::test]
async fn content_length_longer_than_the_body_times_out_or_closes() {
    let server = TestServer::start(&config()).await;
    let id = unique_id("long");
    let bytes = with_content_length(&server, &stripe_event(&id), 500);
    // The sender stalls with the connection open: 408 after body_read_timeout (2 s); or it
    // closes its side early, cutting the body short: 400. Either way nothing is stored.
    for (half_close, status, slug) in [
        (false, 408, "body-timeout"),
        (true, 400, "malformed-request"),
    ] {
        let (responses, closed) = send_raw(server.addr, &bytes, half_close).await;
        assert_eq!(statuses(&responses), [status], "half-close {half_close}");
        assert_eq!(responses[0].problem_slug(), slug);
        assert!(closed, "half-close {half_close}: connection left open");
        assert_healthy(&server, slug).await;
    }
    let status = get(&server.url(&format!("/events/stripe/{id}"))).await;
    assert_eq!(
        status.status, 404,
        "an event with a cut-short body was stored"
    );
    server.stop().await;
}

#[tokio::test]
async fn content_length_shorter_than_the_body_leaves_garbage_as_the_next_request() {
    let server = TestServer::start(&config()).await;
    let bytes = with_content_length(&server, &stripe_event(&unique_id("short")), 10);
    // The first 10 bytes are the body (signature mismatch: 401); the rest is not HTTP: 400.
    let responses = expect(&server, "short Content-Length", &bytes, &[401, 400]).await;
    assert_eq!(responses[0].problem_slug(), "invalid-signature");
    server.stop().await;
}

#[tokio::test]
async fn invalid_content_lengths_are_400() {
    let server = TestServer::start(&config()).await;
    for value in [
        "abc",
        "-1",
        "+5",
        "1 2",
        "5, 6",
        "99999999999999999999999",
        "",
    ] {
        let bytes = format!(
            "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n{{}}"
        );
        let case = format!("Content-Length: {value:?}");
        let responses = expect(&server, &case, bytes.as_bytes(), &[400]).await;
        // Refused by hyper while parsing the head: its own bare 400.
        assert!(responses[0].body.is_empty(), "{case}");
    }
    let twice = "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}";
    expect(
        &server,
        "two different Content-Lengths",
        twice.as_bytes(),
        &[400],
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn framing_tricks_are_400_and_closed() {
    let server = TestServer::start(&config()).await;
    let body = stripe_event(&unique_id("framing"));
    let signed =
        String::from_utf8(signed_request(&server, "stripe", &body, "", "")).expect("ascii");
    let length = format!("Content-Length: {}\r\n", body.len());

    // Content-Length and Transfer-Encoding together (request smuggling): hyper reads the body as
    // chunked, which this body is not.
    let both = signed.replace(&length, &format!("{length}Transfer-Encoding: chunked\r\n"));
    let responses = expect(&server, "Content-Length + chunked", both.as_bytes(), &[400]).await;
    assert_eq!(responses[0].problem_slug(), "malformed-request");
    // Broken chunk framing.
    let bad_chunk = signed
        .replace(&length, "Transfer-Encoding: chunked\r\n")
        .replace(&body, "zz\r\nabc\r\n0\r\n\r\n");
    let responses = expect(&server, "bad chunk size", bad_chunk.as_bytes(), &[400]).await;
    assert_eq!(responses[0].problem_slug(), "malformed-request");
    // Refused by hyper while parsing the head (bare 400): a transfer coding other than chunked,
    // a request line that is not HTTP, a NUL in a header value.
    let gzip = signed.replace(&length, "Transfer-Encoding: gzip\r\n");
    expect(&server, "Transfer-Encoding: gzip", gzip.as_bytes(), &[400]).await;
    expect(&server, "garbage request line", b"GARBAGE\r\n\r\n", &[400]).await;
    let nul = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n";
    expect(&server, "NUL in a header", nul, &[400]).await;
    server.stop().await;
}

//! Hostile request heads on the wire: oversized heads, thousands of headers, bytes that are not
//! UTF-8, HTTP/1.0, pipelining and a request trickled byte by byte. Each gets its documented
//! answer, and the server stays healthy after it. Body framing is in `hostile_framing.rs`.

use crate::support;
use crate::support::raw;

use raw::{
    assert_healthy, config, exchange, expect, parse_responses, read_to_close, signed_request,
    statuses, stripe_event, unique_id,
};
use support::TestServer;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn oversized_heads_are_431_and_closed() {
    let server = TestServer::start(&config()).await;
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70_000)
    );
    let responses = expect(&server, "a 70 KB header", big.as_bytes(), &[431]).await;
    // hyper's own answer: no problem+json body.
    assert!(responses[0].body.is_empty());
    let fits = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "a".repeat(60_000)
    );
    expect(&server, "a 60 KB header", fits.as_bytes(), &[200]).await;

    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..3000 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    expect(&server, "3000 headers", many.as_bytes(), &[431]).await;
    // 100 is the limit: 99 plus Host is fine.
    let mut at_limit = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for i in 0..98 {
        at_limit.push_str(&format!("X-H{i}: v\r\n"));
    }
    at_limit.push_str("\r\n");
    expect(&server, "100 headers", at_limit.as_bytes(), &[200]).await;
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_in_header_values() {
    let server = TestServer::start(&config()).await;
    let body = stripe_event(&unique_id("utf8"));
    let close = "Connection: close\r\n";

    // In the signature header: 401, as any malformed signature.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    bytes.extend_from_slice(b"Stripe-Signature: t=1,v1=\xff\xfe\xc3\x28\r\n");
    bytes.extend_from_slice(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    let responses = expect(&server, "non-UTF-8 signature", &bytes, &[401]).await;
    assert_eq!(responses[0].problem_slug(), "invalid-signature");

    // In an unrelated header of a valid delivery: ignored.
    let mut valid = signed_request(&server, "stripe", &body, "", close);
    let at = valid
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head end")
        + 2;
    valid.splice(at..at, b"X-Note: caf\xc3\x28\xff\r\n".iter().copied());
    expect(&server, "non-UTF-8 in another header", &valid, &[202]).await;

    // In a header-carried event id (GitHub signs only the body): 400, no id.
    let gh = signed_request(&server, "github", r#"{"zen":"x"}"#, "PLACEHOLDER", close);
    let gh = String::from_utf8(gh).expect("ascii");
    let at = gh.find("PLACEHOLDER").expect("id");
    let mut bytes = gh.as_bytes()[..at].to_vec();
    bytes.extend_from_slice(b"caf\xc3\xa9\xff");
    bytes.extend_from_slice(&gh.as_bytes()[at + "PLACEHOLDER".len()..]);
    let responses = expect(&server, "non-UTF-8 event id", &bytes, &[400]).await;
    assert_eq!(responses[0].problem_slug(), "missing-event-id");
    server.stop().await;
}

#[tokio::test]
async fn http_1_0_request_is_served_and_closed() {
    let server = TestServer::start(&config()).await;
    let id = unique_id("http10");
    let bytes = signed_request(&server, "stripe", &stripe_event(&id), "", "");
    let bytes = String::from_utf8(bytes)
        .expect("ascii")
        .replacen("HTTP/1.1", "HTTP/1.0", 1);
    let responses = expect(&server, "HTTP/1.0", bytes.as_bytes(), &[202]).await;
    assert_eq!(responses[0].json()["eventId"], id.as_str());
    // Answered in kind, and closed since HTTP/1.0 has no keep-alive by default.
    assert_eq!(responses[0].version, "HTTP/1.0");
    server.stop().await;
}

#[tokio::test]
async fn pipelined_deliveries_are_answered_in_order() {
    let server = TestServer::start(&config()).await;
    let (first, second) = (unique_id("pipe"), unique_id("pipe"));
    let mut bytes = signed_request(&server, "stripe", &stripe_event(&first), "", "");
    bytes.extend(signed_request(
        &server,
        "stripe",
        &stripe_event(&second),
        "",
        "Connection: close\r\n",
    ));
    let responses = expect(&server, "two pipelined deliveries", &bytes, &[202, 202]).await;
    assert_eq!(responses[0].json()["eventId"], first.as_str());
    assert_eq!(responses[1].json()["eventId"], second.as_str());
    server.stop().await;
}

#[tokio::test]
async fn a_request_split_byte_by_byte_is_served() {
    let server = TestServer::start(&config()).await;
    let id = unique_id("bytewise");
    let bytes = signed_request(
        &server,
        "stripe",
        &stripe_event(&id),
        "",
        "Connection: close\r\n",
    );
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    for byte in &bytes {
        stream
            .write_all(std::slice::from_ref(byte))
            .await
            .expect("write");
        stream.flush().await.expect("flush");
        tokio::task::yield_now().await;
    }
    let (raw, closed) = read_to_close(&mut stream).await;
    let responses = parse_responses(&raw);
    assert_eq!(statuses(&responses), [202]);
    assert_eq!(responses[0].json()["eventId"], id.as_str());
    assert!(closed);
    assert_healthy(&server, "a byte-by-byte request").await;
    server.stop().await;
}

#[tokio::test]
async fn bodies_past_the_inflight_budget_get_503_before_they_are_read() {
    // The smallest budget the config allows: the sources' largest body limit (1 MiB).
    let toml = config().replace(
        "[server]\n",
        "[server]\nmax_inflight_body_bytes = 1048576\n",
    );
    let server = TestServer::start(&toml).await;
    // Holds 1,000,000 bytes of the budget while its body trickles in.
    let mut holder = TcpStream::connect(server.addr).await.expect("connect");
    holder
        .write_all(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{")
        .await
        .expect("write");

    // Only the head is sent: the answer must come without the body being read.
    let head = b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    let refused = target_eventually_refused(&server, head).await;
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.problem_slug(), "server-busy");
    let metrics = support::get(&server.url("/metrics")).await;
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.lines()
            .any(|l| l == "hookbox_body_bytes_in_flight 1000000"),
        "{text}"
    );

    let chunk = "x".repeat(100_000);
    let chunked = format!(
        "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let (responses, _) = exchange(server.addr, chunked.as_bytes()).await;
    assert_eq!(
        statuses(&responses),
        [503],
        "a chunked body past the budget"
    );

    drop(holder);
    // Once the holder is gone its bytes are given back (the server notices the close).
    let deadline = std::time::Instant::now() + raw::READ_LIMIT;
    loop {
        let id = unique_id("budget");
        let reply = server.deliver("stripe", &stripe_event(&id), "").await;
        if reply.status == 202 {
            break;
        }
        assert_eq!(reply.status, 503, "{:?}", reply.body);
        assert!(
            std::time::Instant::now() < deadline,
            "the budget was never given back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.stop().await;
}

/// Sends `head` until the answer is a 503 (the holder's reservation is made when its head is
/// routed, which the test cannot observe directly) and returns it.
async fn target_eventually_refused(server: &TestServer, head: &[u8]) -> raw::RawResponse {
    let deadline = std::time::Instant::now() + raw::READ_LIMIT;
    loop {
        let (mut responses, closed) = exchange(server.addr, head).await;
        assert!(closed, "the refused connection stays open");
        if statuses(&responses) == [503] {
            let refused = responses.remove(0);
            assert_eq!(
                refused.header("content-type"),
                Some("application/problem+json")
            );
            return refused;
        }
        // Before the holder is counted, the request is read (and times out or is cut short).
        assert!(
            std::time::Instant::now() < deadline,
            "never refused: {responses:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

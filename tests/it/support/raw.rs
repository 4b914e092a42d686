//! Raw HTTP/1 over a plain `TcpStream`, for tests that must control every byte on the wire,
//! plus a small parser for the responses that come back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{get, TestServer, BASE_CONFIG};

/// Longest any raw exchange may take before the test fails: hookbox must answer or close.
pub const READ_LIMIT: Duration = Duration::from_secs(10);

/// A source with a tiny body limit, next to the base config's.
pub fn config() -> String {
    format!("{BASE_CONFIG}\n[sources.small]\nscheme = \"github\"\nsecrets = [\"s\"]\nmax_body_bytes = 64\n")
}

/// A minimal Stripe event with id `id`.
pub fn stripe_event(id: &str) -> String {
    format!(r#"{{"id":"{id}","object":"event","type":"charge.succeeded"}}"#)
}

/// An event id no other call in this process returns.
pub fn unique_id(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("evt_{tag}_{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The server still answers health checks and acknowledges a valid delivery.
pub async fn assert_healthy(server: &TestServer, after: &str) {
    assert_eq!(
        get(&server.url("/healthz")).await.status,
        200,
        "after {after}"
    );
    let id = unique_id("healthy");
    let reply = server.deliver("stripe", &stripe_event(&id), "").await;
    assert_eq!(reply.status, 202, "after {after}: {:?}", reply.body);
}

/// `bytes` in one write; asserts exactly these statuses come back and the server then closes.
pub async fn expect(
    server: &TestServer,
    case: &str,
    bytes: &[u8],
    want: &[u16],
) -> Vec<RawResponse> {
    let (responses, closed) = exchange(server.addr, bytes).await;
    assert_eq!(statuses(&responses), want, "{case}");
    assert!(closed, "{case}: connection left open for {READ_LIMIT:?}");
    assert_healthy(server, case).await;
    responses
}

/// A signed `POST /webhooks/<source>` as it goes on the wire, with `extra` header lines
/// (each ending in CRLF) after the signature headers.
pub fn signed_request(
    server: &TestServer,
    source: &str,
    body: &str,
    id: &str,
    extra: &str,
) -> Vec<u8> {
    let mut head = format!("POST /webhooks/{source} HTTP/1.1\r\nHost: hookbox.test\r\n");
    for (name, value) in server.sign(source, body.as_bytes(), id) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n{extra}\r\n", body.len()));
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// Everything the server sent until it closed the connection, and whether it did close
/// (`false`: [`READ_LIMIT`] passed first).
pub async fn read_to_close(stream: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    let closed = tokio::time::timeout(READ_LIMIT, read_all).await.is_ok();
    (out, closed)
}

/// Connects, writes `bytes` in one go and reads until the server closes.
pub async fn exchange(addr: SocketAddr, bytes: &[u8]) -> (Vec<RawResponse>, bool) {
    send_raw(addr, bytes, false).await
}

/// [`exchange`], optionally closing the sending side right after the write (as a client that
/// gives up does), so the server sees the end of the stream.
pub async fn send_raw(
    addr: SocketAddr,
    bytes: &[u8],
    half_close: bool,
) -> (Vec<RawResponse>, bool) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before reading everything (e.g. a head too large).
    let _ = stream.write_all(bytes).await;
    if half_close {
        stream.shutdown().await.expect("half-close");
    }
    let (raw, closed) = read_to_close(&mut stream).await;
    (parse_responses(&raw), closed)
}

/// One response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Status code.
    pub status: u16,
    /// Header (lower-case name, value) pairs in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (by `Content-Length`).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The problem `type` slug of a problem+json response (panics if it is not one).
    pub fn problem_slug(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let kind = self.json()["type"].as_str().expect("type").to_owned();
        kind.trim_start_matches("urn:hookbox:problem:").to_owned()
    }
}

/// Splits `raw` into consecutive responses (bodies framed by `Content-Length`; hookbox sends
/// no chunked responses). Stops at the first incomplete one.
pub fn parse_responses(mut raw: &[u8]) -> Vec<RawResponse> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut status_line = lines.next().unwrap_or("").splitn(3, ' ');
        let version = status_line.next().unwrap_or("").to_owned();
        let status = status_line.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let rest = &raw[end + 4..];
        if rest.len() < len {
            break;
        }
        out.push(RawResponse {
            version,
            status,
            headers,
            body: rest[..len].to_vec(),
        });
        raw = &rest[len..];
    }
    out
}

/// The statuses of `responses`, in order.
pub fn statuses(responses: &[RawResponse]) -> Vec<u16> {
    responses.iter().map(|r| r.status).collect()
}

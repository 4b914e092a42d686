//! Shared integration-test support: a real hookbox on 127.0.0.1:0 with a temp data dir, a
//! small HTTP client, and signing with the library's own schemes. The storage backend comes from
//! the environment (see `backend`), so every test runs on sled or on PostgreSQL unchanged.

pub mod backend;
pub mod flow;
pub mod pids;
pub mod pki;
pub mod process;
pub mod raw;
pub mod target;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hookbox::app::{self, AppError};
use hookbox::config::{self, Config};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The admin token of [`BASE_CONFIG`]; [`get`] sends it.
pub const TEST_ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Test secrets for every built-in scheme (not the shipped development ones), and
/// [`TEST_ADMIN_TOKEN`] as the admin token.
pub const BASE_CONFIG: &str = r#"
[server]
header_read_timeout = "2s"
body_read_timeout = "2s"
shutdown_timeout = "5s"

[storage]
cache_capacity_bytes = 8388608

[worker]
concurrency = 8
retry_schedule = ["1ms", "1ms", "1ms"]
jitter = 0.0

[admin]
token = "test-admin-token-0123456789"

[sources.stripe]
scheme = "stripe"
secrets = ["whsec_test_stripe_old", "whsec_test_stripe"]

[sources.github]
scheme = "github"
secrets = ["test-github"]

[sources.standard]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

[sources.shopify]
scheme = "shopify"
secrets = ["test-shopify"]

[sources.slack]
scheme = "slack"
secrets = ["test-slack"]

[sources.paddle]
scheme = "paddle"
secrets = ["pdl_ntfset_test"]

[sources.square]
scheme = "square"
secrets = ["test-square"]
notification_url = "https://example.test/webhooks/square"

[sources.adyen]
# The HMAC key is hex, as Adyen shows it (not a real one).
scheme = "adyen"
secrets = ["DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"]

[sources.razorpay]
scheme = "razorpay"
secrets = ["test-razorpay"]

[sources.braintree]
# public_key:private_key
scheme = "braintree"
secrets = ["test_public:test_private"]

[sources.checkout]
scheme = "checkout"
secrets = ["test-checkout"]

[sources.gocardless]
scheme = "gocardless"
secrets = ["test-gocardless"]

[sources.lemonsqueezy]
scheme = "lemonsqueezy"
secrets = ["test-lemonsqueezy"]

[sources.coinbase]
scheme = "coinbase"
secrets = ["test-coinbase"]

[sources.intercom]
scheme = "intercom"
secrets = ["test-intercom"]

[sources.typeform]
scheme = "typeform"
secrets = ["test-typeform"]

[sources.twilio]
scheme = "twilio"
secrets = ["test-twilio"]
notification_url = "https://example.test/webhooks/twilio"

[sources.sendgrid]
# A private: key signs (hookbox sign, replay) and verifies with its public key. This one is the
# published RFC 6979 test key: in production give SendGrid's verification key (base64 DER).
scheme = "sendgrid"
secrets = ["private:MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgya+p2EW6dRZrXCFXZ7HWk05Qw9s26JsSe4piKxIPZyGhRANCAARg/tS6JVqdMclh63TGNW1owEm4kjth+mzmaWIuYPKftnkD/hAIuLyZpBrp6VYovGTy8bIMLX6fUXejwpTURiKZ"]
tolerance = "5m"

[sources.discord]
# A private: key signs and verifies with its public key. This one is the published RFC 8032 test
# key: in production give the application's public key (hex).
scheme = "discord"
secrets = ["private:9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"]
tolerance = "5m"

[sources.zoom]
scheme = "zoom"
secrets = ["test-zoom"]
tolerance = "5m"

[sources.twitch]
# Twitch says to refuse messages older than 10 minutes.
scheme = "twitch"
secrets = ["test-twitch"]
tolerance = "10m"

[sources.mailgun]
scheme = "mailgun"
secrets = ["test-mailgun"]
tolerance = "5m"

[sources.linear]
# @linear/sdk allows one minute.
scheme = "linear"
secrets = ["test-linear"]
tolerance = "1m"

[sources.hubspot]
scheme = "hubspot"
secrets = ["test-hubspot"]
tolerance = "5m"
notification_url = "https://example.test/webhooks/hubspot"
"#;

/// Parses `toml` (no environment overlay) with `data_dir` set to `dir`, on the backend under
/// test (see [`backend::use_backend`]).
pub fn config_in(toml: &str, dir: &Path) -> Config {
    let mut config = config::load_str(toml, "test.toml", &|_| None).expect("test config is valid");
    config.storage.data_dir = dir.to_path_buf();
    backend::use_backend(&mut config.storage);
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config
}

/// A hookbox running inside the test process.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its configuration.
    pub config: Config,
    shutdown: CancellationToken,
    handle: JoinHandle<Result<(), AppError>>,
    /// Keeps the temp dir alive for the server's lifetime (None when the caller owns the dir).
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts hookbox with `toml` on a fresh temp data dir.
    pub async fn start(toml: &str) -> TestServer {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_in(toml, temp.path()).await;
        server._temp = Some(temp);
        server
    }

    /// Starts hookbox with `toml` on the data dir `dir` (which the caller keeps).
    pub async fn start_in(toml: &str, dir: &Path) -> TestServer {
        Self::start_with(config_in(toml, dir)).await
    }

    /// Starts hookbox with a ready configuration.
    pub async fn start_with(config: Config) -> TestServer {
        Self::start_listening(config, None).await
    }

    /// Starts hookbox with a ready configuration, serving its admin side on `admin`.
    pub async fn start_listening(config: Config, admin: Option<TcpListener>) -> TestServer {
        let listener = TcpListener::bind(config.server.listen).await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        let listeners = app::Listeners {
            public: listener,
            admin,
        };
        let reloads = tokio::sync::mpsc::channel(1).1;
        let run = app::run_listening(config.clone(), listeners, shutdown.clone(), reloads);
        let handle = tokio::spawn(run);
        TestServer {
            addr,
            config,
            shutdown,
            handle,
            _temp: None,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Graceful shutdown; panics if hookbox reported an error.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.handle.await.expect("app task").expect("app result");
    }

    /// Signs `body` for `source` with its first secret, now; `id` for header-carried ids.
    pub fn sign(&self, source: &str, body: &[u8], id: &str) -> Vec<(String, String)> {
        let source = self.config.source(source).expect("configured source");
        let secret = source.verifier.secrets.last().expect("a secret");
        let mut headers = source.verifier.sign(secret, body, unix_now(), id);
        headers.push(("content-type".into(), "application/json".into()));
        headers
    }

    /// POSTs a correctly signed `body` to `/webhooks/<source>` (re-signed inside for schemes
    /// that carry their signature in the body).
    pub async fn deliver(&self, source: &str, body: &str, id: &str) -> Reply {
        let verifier = &self
            .config
            .source(source)
            .expect("configured source")
            .verifier;
        let secret = verifier.secrets.last().expect("a secret");
        let signed = verifier.sign_body(secret, body.as_bytes(), unix_now());
        let body = signed.unwrap_or_else(|| body.as_bytes().to_vec());
        let headers = self.sign(source, &body, id);
        send(
            Method::POST,
            &self.url(&format!("/webhooks/{source}")),
            &headers,
            &body,
        )
        .await
    }
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json rejection with `status` and returns its `type`.
    pub fn assert_problem(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {:?}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let json = self.json();
        assert_eq!(json["status"], status);
        assert!(json["title"].is_string() && json["detail"].is_string());
        json["type"].as_str().expect("type").to_owned()
    }
}

/// Sends one request on a fresh connection and reads the whole response.
pub async fn send(method: Method, url: &str, headers: &[(String, String)], body: &[u8]) -> Reply {
    try_send(method, url, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// [`send`], reporting a connection that fails or is cut instead of panicking (for servers
/// that may be killed mid-request).
pub async fn try_send(
    method: Method,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Reply, Box<dyn std::error::Error + Send + Sync>> {
    let uri: http::Uri = url.parse()?;
    let authority = uri.authority().ok_or("no authority")?.to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    req = req.header("host", authority);
    for (name, value) in headers {
        req = req.header(name.as_str(), value.as_str());
    }
    let req = req.body(Full::new(Bytes::copy_from_slice(body)))?;
    let res = sender.send_request(req).await?;
    let (parts, body) = res.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// GETs `url` with `Authorization: Bearer` [`TEST_ADMIN_TOKEN`] (status resources need it).
pub async fn get(url: &str) -> Reply {
    get_as(url, Some(TEST_ADMIN_TOKEN)).await
}

/// GETs `url` with `token` as the bearer token, or with no `Authorization` at all.
pub async fn get_as(url: &str, token: Option<&str>) -> Reply {
    send(Method::GET, url, &bearer(token), b"").await
}

/// POSTs an empty body to `url` with `token` as the bearer token (or none).
pub async fn post_as(url: &str, token: Option<&str>) -> Reply {
    send(Method::POST, url, &bearer(token), b"").await
}

/// The `Authorization` header for `token`, if any.
pub fn bearer(token: Option<&str>) -> Vec<(String, String)> {
    token
        .map(|t| ("authorization".to_owned(), format!("Bearer {t}")))
        .into_iter()
        .collect()
}

/// POSTs `chunks` with `Transfer-Encoding: chunked` (no Content-Length).
pub async fn send_chunked(url: &str, headers: &[(String, String)], chunks: &[&[u8]]) -> Reply {
    let uri: http::Uri = url.parse().expect("url");
    let authority = uri.authority().expect("authority").to_string();
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let body = Chunks(chunks.iter().map(|c| Bytes::copy_from_slice(c)).collect());
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(uri.path())
        .header("host", authority);
    for (name, value) in headers {
        req = req.header(name.as_str(), value.as_str());
    }
    let res = sender
        .send_request(req.body(body).expect("request"))
        .await
        .expect("response");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// A body of several data frames with no known length, so hyper sends it chunked.
struct Chunks(std::collections::VecDeque<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|c| Ok(hyper::body::Frame::data(c))))
    }
}

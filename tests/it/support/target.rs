//! A downstream application for processing tests: a real HTTP (or HTTPS) server on
//! 127.0.0.1:0 that records every request and answers from a script, plus a bounded polling
//! helper.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How the target answers one request.
#[derive(Debug, Clone)]
pub struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    hang: bool,
    /// Longest random pause before answering.
    delay_up_to: Duration,
}

impl Answer {
    /// An empty answer with `status`.
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: String::new(),
            hang: false,
            delay_up_to: Duration::ZERO,
        }
    }

    /// No answer until [`Target::release`] (then 503): a request in flight.
    pub fn hang() -> Answer {
        Answer {
            hang: true,
            ..Answer::status(503)
        }
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answers after a random pause of up to `max`, so requests overlap.
    pub fn delay_up_to(mut self, max: Duration) -> Answer {
        self.delay_up_to = max;
        self
    }

    /// Sets the response body.
    pub fn body(mut self, body: &str) -> Answer {
        self.body = body.to_owned();
        self
    }
}

/// One request the target received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Arrival, unix ms.
    pub at_ms: u64,
    /// Request headers.
    pub headers: HeaderMap,
    /// Request body.
    pub body: Bytes,
    /// The status it was answered with (`None` while hanging).
    pub status: Option<u16>,
}

impl Seen {
    /// A request header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Its `webhook-id` (hookbox's idempotency key).
    pub fn key(&self) -> &str {
        self.header("webhook-id").unwrap_or("")
    }
}

struct State {
    script: VecDeque<Answer>,
    default: Answer,
    seen: Vec<Seen>,
}

/// The downstream application.
pub struct Target {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Whether it speaks TLS (then its URL names `localhost`, what its certificate says).
    tls: bool,
    /// Handshakes that failed (TLS targets only).
    handshake_failures: Arc<AtomicUsize>,
    state: Arc<Mutex<State>>,
    release: CancellationToken,
    connections: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl Target {
    /// Starts a target that answers 200 unless scripted otherwise.
    pub async fn start() -> Target {
        Target::start_with(None).await
    }

    /// [`Target::start`] speaking HTTPS with `config`.
    pub async fn start_tls(config: Arc<rustls::ServerConfig>) -> Target {
        Target::start_with(Some(tokio_rustls::TlsAcceptor::from(config))).await
    }

    async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind target");
        let addr = listener.local_addr().expect("target addr");
        let state = Arc::new(Mutex::new(State {
            script: VecDeque::new(),
            default: Answer::status(200),
            seen: Vec::new(),
        }));
        let release = CancellationToken::new();
        let connections = Arc::new(AtomicUsize::new(0));
        let handshake_failures = Arc::new(AtomicUsize::new(0));
        let counters = (connections.clone(), handshake_failures.clone());
        let is_tls = tls.is_some();
        let accept = tokio::spawn(accept_loop(
            listener,
            tls,
            state.clone(),
            release.clone(),
            counters,
        ));
        Target {
            addr,
            tls: is_tls,
            handshake_failures,
            state,
            release,
            connections,
            accept,
        }
    }

    /// `http://<addr>/hook`, or `https://localhost:<port>/hook`.
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}/hook", self.addr.port())
        } else {
            format!("http://{}/hook", self.addr)
        }
    }

    /// TLS handshakes that failed so far.
    pub fn handshake_failures(&self) -> usize {
        self.handshake_failures.load(Ordering::SeqCst)
    }

    /// Answers for the next requests, in order; then the default applies again.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.lock().script.extend(answers);
    }

    /// The answer once the script is used up.
    pub fn answer_by_default(&self, answer: Answer) {
        self.lock().default = answer;
    }

    /// Lets every hanging request finish (with 503).
    pub fn release(&self) {
        self.release.cancel();
    }

    /// Connections currently open (keep-alive ones included).
    pub fn open_connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Looks at the requests received so far.
    pub fn inspect<T>(&self, f: impl FnOnce(&[Seen]) -> T) -> T {
        f(&self.lock().seen)
    }

    /// Requests received with idempotency key `key`, in arrival order.
    pub fn requests_for(&self, key: &str) -> Vec<Seen> {
        self.inspect(|seen| seen.iter().filter(|s| s.key() == key).cloned().collect())
    }

    /// How many requests per idempotency key were answered with a 2xx.
    pub fn successes_by_key(&self) -> HashMap<String, usize> {
        self.inspect(|seen| {
            let mut counts = HashMap::new();
            for s in seen
                .iter()
                .filter(|s| s.status.is_some_and(|c| (200..300).contains(&c)))
            {
                *counts.entry(s.key().to_owned()).or_default() += 1;
            }
            counts
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.release.cancel();
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<Mutex<State>>,
    release: CancellationToken,
    (connections, handshake_failures): (Arc<AtomicUsize>, Arc<AtomicUsize>),
) {
    while let Ok((stream, _)) = listener.accept().await {
        let (state, release) = (state.clone(), release.clone());
        let service = service_fn(move |req| answer(req, state.clone(), release.clone()));
        let (connections, failures) = (connections.clone(), handshake_failures.clone());
        let tls = tls.clone();
        connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                    Err(_) => {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                },
            }
            connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn answer(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    release: CancellationToken,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (answer, index) = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let answer = state
            .script
            .pop_front()
            .unwrap_or_else(|| state.default.clone());
        let status = (!answer.hang).then_some(answer.status);
        state.seen.push(Seen {
            at_ms: unix_ms(),
            headers: parts.headers,
            body,
            status,
        });
        (answer, state.seen.len() - 1)
    };
    if !answer.delay_up_to.is_zero() {
        let pause = rand::thread_rng().gen_range(Duration::ZERO..=answer.delay_up_to);
        tokio::time::sleep(pause).await;
    }
    if answer.hang {
        release.cancelled().await;
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.seen[index].status = Some(answer.status);
    }
    let mut res = Response::new(Full::new(Bytes::from(answer.body)));
    *res.status_mut() = http::StatusCode::from_u16(answer.status).expect("valid status");
    for (name, value) in &answer.headers {
        res.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            http::HeaderValue::from_str(value).expect("header value"),
        );
    }
    Ok(res)
}

/// Unix time in ms.
pub fn unix_ms() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    u64::try_from(now.as_millis()).expect("ms fit")
}

/// Calls `check` every few milliseconds until it returns `Some`, for at most `limit`; then
/// panics naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

//! A provider API on 127.0.0.1:0: every request is recorded and answered by the provider's
//! handler, after any scripted faults (a 429 with `Retry-After`, a 500, a hang) for the request
//! numbers they name.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// One request the API received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET` or `POST`.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Its `Authorization` header.
    pub auth: Option<String>,
}

/// An answer: status, headers, body.
pub type Answer = (u16, Vec<(String, String)>, String);

/// A scripted fault.
#[derive(Clone)]
pub enum Fault {
    /// This status, with `Retry-After` when given.
    Status(u16, Option<u64>),
    /// No answer until released (or the client gives up).
    Hang,
}

type Handler = dyn Fn(&Seen) -> Answer + Send + Sync;

/// The running API.
pub struct Fake {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    faults: Arc<Mutex<BTreeMap<usize, Fault>>>,
    release: CancellationToken,
    load: Arc<Load>,
}

/// Requests being answered now, the most ever at once, and how long each answer takes.
#[derive(Default)]
struct Load {
    now: AtomicUsize,
    most: AtomicUsize,
    delay_ms: AtomicU64,
}

impl Fake {
    /// Starts an API answering with `handler`.
    pub async fn start(handler: Arc<Handler>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let faults = Arc::new(Mutex::new(BTreeMap::new()));
        let release = CancellationToken::new();
        let load = Arc::new(Load::default());
        let (s, f, r, l) = (seen.clone(), faults.clone(), release.clone(), load.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (s, f, r, h, l) = (s.clone(), f.clone(), r.clone(), handler.clone(), l.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (s, f, r, h, l) =
                            (s.clone(), f.clone(), r.clone(), h.clone(), l.clone());
                        async move {
                            let now = l.now.fetch_add(1, Ordering::SeqCst) + 1;
                            l.most.fetch_max(now, Ordering::SeqCst);
                            let delay = Duration::from_millis(l.delay_ms.load(Ordering::SeqCst));
                            tokio::time::sleep(delay).await;
                            let res = answer(&req, &s, &f, &r, &*h).await;
                            l.now.fetch_sub(1, Ordering::SeqCst);
                            Ok::<_, Infallible>(res)
                        }
                    });
                    let io = TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Fake {
            addr,
            seen,
            faults,
            release,
            load,
        }
    }

    /// Answers each request only after `delay`.
    pub fn slow(&self, delay: Duration) {
        (self.load.delay_ms).store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// The most requests it was answering at once.
    pub fn most_at_once(&self) -> usize {
        self.load.most.load(Ordering::SeqCst)
    }

    /// `http://<addr>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers request number `n` (0 is the first) with `fault` instead.
    pub fn fault(&self, n: usize, fault: Fault) {
        self.faults.lock().unwrap().insert(n, fault);
    }

    /// Lets hanging requests go (answered 503).
    pub fn release(&self) {
        self.release.cancel();
    }

    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn answer(
    req: &Request<Incoming>,
    seen: &Mutex<Vec<Seen>>,
    faults: &Mutex<BTreeMap<usize, Fault>>,
    release: &CancellationToken,
    handler: &Handler,
) -> Response<Full<Bytes>> {
    let request = Seen {
        method: req.method().to_string(),
        uri: req.uri().to_string(),
        auth: (req.headers().get("authorization")).map(|v| v.to_str().unwrap_or("").to_owned()),
    };
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(request.clone());
        seen.len() - 1
    };
    let fault = faults.lock().unwrap().remove(&n);
    let (status, headers, body) = match fault {
        Some(Fault::Status(status, retry_after)) => {
            let headers = retry_after.map(|s| ("retry-after".to_owned(), s.to_string()));
            let body = r#"{"error":{"message":"scripted fault"}}"#.to_owned();
            (status, headers.into_iter().collect(), body)
        }
        Some(Fault::Hang) => {
            release.cancelled().await;
            (503, Vec::new(), String::new())
        }
        None => handler(&request),
    };
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = http::StatusCode::from_u16(status).expect("status");
    res.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    for (name, value) in headers {
        res.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    res
}

/// The value of query parameter `name` (percent-decoded) in `uri`.
pub fn param(uri: &str, name: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        let k = percent_encoding::percent_decode_str(k).decode_utf8().ok()?;
        (k == name).then(|| {
            let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
            v.into_owned()
        })
    })
}

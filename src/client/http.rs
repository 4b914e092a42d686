//! The one HTTP/1 client of the client tools (`replay`, `events`, `bench`): a keep-alive pool,
//! one request with a deadline, and a bounded response body.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::tls::{self, TlsError, TlsFiles};

/// Largest response body read; hookbox's answers are a few hundred bytes.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body (at most 1 MiB).
    pub body: Bytes,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as a JSON document, if it is one.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL or a header could not be used in a request.
    #[error("invalid request: {0}")]
    Request(#[from] http::Error),
    /// Connecting (TLS included) or exchanging the request failed.
    #[error("{}", describe(.0))]
    Send(#[from] hyper_util::client::legacy::Error),
    /// The response body could not be read (or was over 1 MiB).
    #[error("reading the response: {0}")]
    Body(String),
    /// No complete response within the deadline.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

/// What a failed exchange says: the TLS failure in plain words, or the error and its sources
/// (so "client error (Connect)" also says "Connection refused").
fn describe(error: &hyper_util::client::legacy::Error) -> String {
    if let Some(tls) = tls::handshake_failure(error) {
        return tls;
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// A pooled HTTP/1 client (`http://` and `https://`) with a per-request deadline.
#[derive(Clone)]
pub struct Client {
    inner: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl Client {
    /// A client whose requests (head and body) must complete within `timeout`, trusting the
    /// system's roots and the PEM certificates in `ca_file` for `https://`.
    pub fn new(timeout: Duration, ca_file: Option<&Path>) -> Result<Client, TlsError> {
        let files = TlsFiles {
            ca_file,
            ..TlsFiles::default()
        };
        let connector = tls::connector(&*tls::client_config(&files)?);
        let inner =
            hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
        Ok(Client { inner, timeout })
    }

    /// The same connection pool with another deadline.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            inner: self.inner.clone(),
            timeout,
        }
    }

    /// Sends one request and reads the whole response.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(String, String)],
        body: Bytes,
    ) -> Result<Reply, ClientError> {
        let mut request = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request.body(Full::new(body))?;
        let exchange = async {
            let response = self.inner.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| ClientError::Body(e.to_string()))?
                .to_bytes();
            Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
    }
}

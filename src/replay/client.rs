//! A small HTTP/1 client for replay: where to send (`--to`), one request with a deadline, and a
//! bounded response body. Plain `http://` only; TLS belongs to the proxy in front of hookbox.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Largest response body read; hookbox's answers are a few hundred bytes.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The hookbox replay talks to, from `--to`.
#[derive(Debug, Clone)]
pub struct Target {
    /// `scheme://authority`, used to resolve `Location` paths.
    origin: String,
    /// The base URL without a trailing slash (it may carry a path prefix).
    base: String,
}

/// Why `--to` is not usable.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Not a URL with a host.
    #[error("--to {0:?}: expected a URL such as http://127.0.0.1:8080")]
    Invalid(String),
    /// Not plain HTTP.
    #[error("--to {0:?}: only http:// is supported (send to hookbox itself, not its TLS proxy)")]
    NotHttp(String),
}

impl Target {
    /// Parses a base URL such as `http://127.0.0.1:8080` or `http://host/prefix/`.
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| TargetError::Invalid(url.to_owned()))?;
        let authority = uri
            .authority()
            .ok_or_else(|| TargetError::Invalid(url.to_owned()))?;
        if uri.scheme_str() != Some("http") {
            return Err(TargetError::NotHttp(url.to_owned()));
        }
        Ok(Target {
            origin: format!("http://{authority}"),
            base: url.trim_end_matches('/').to_owned(),
        })
    }

    /// `<base>/webhooks/<source>`.
    pub fn webhook_url(&self, source: &str) -> String {
        format!("{}/webhooks/{source}", self.base)
    }

    /// Resolves a `Location` (an absolute path or an absolute URL).
    pub fn resolve(&self, location: &str) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.origin)
        } else {
            location.to_owned()
        }
    }
}

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
    /// Connecting or exchanging the request failed.
    #[error("{0}")]
    Send(#[from] hyper_util::client::legacy::Error),
    /// The response body could not be read (or was over 1 MiB).
    #[error("reading the response: {0}")]
    Body(String),
    /// No complete response within the deadline.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

/// A pooled HTTP/1 client with a per-request deadline.
#[derive(Clone)]
pub struct Client {
    inner: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Client {
    /// A client whose requests (head and body) must complete within `timeout`.
    pub fn new(timeout: Duration) -> Client {
        let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
        Client { inner, timeout }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_build_webhook_urls_and_resolve_locations() {
        let target = Target::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            target.webhook_url("stripe"),
            "http://127.0.0.1:8080/webhooks/stripe"
        );
        let prefixed = Target::parse("http://proxy.test/hooks").unwrap();
        assert_eq!(
            prefixed.webhook_url("github"),
            "http://proxy.test/hooks/webhooks/github"
        );
        assert_eq!(
            prefixed.resolve("/events/github/x"),
            "http://proxy.test/events/github/x"
        );
        assert_eq!(prefixed.resolve("http://a.test/e"), "http://a.test/e");
        assert!(matches!(
            Target::parse("https://x.test"),
            Err(TargetError::NotHttp(_))
        ));
        assert!(matches!(
            Target::parse("not a url"),
            Err(TargetError::Invalid(_))
        ));
    }
}

//! The HTTP side of a provider API: one request with a deadline, retried through the faults an
//! API documents (429 with `Retry-After`, 5xx, timeouts) with the same request — so a page walk
//! keeps its cursor — and a clear, secret-free error for the rest (401/403 above all).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

use crate::tls::{self, TlsFiles};

/// Largest API answer read (a page of 100 Stripe events is a few hundred KiB).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Time for one request, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Tries of one request before the pass gives up (it keeps its cursor meanwhile).
const TRIES: u32 = 6;
/// First wait after a 5xx or a timeout; doubled each time, at most [`MAX_WAIT`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between two tries, `Retry-After` included.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// Why a request failed for good.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 401/403: the key or token is wrong, revoked or lacks the permission.
    #[error("the API refused the credentials ({status}): {message}")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The API's own message (the credential itself redacted).
        message: String,
    },
    /// Another 4xx, or still a 429/5xx/timeout after every try.
    #[error("{0}")]
    Failed(String),
    /// Shutdown came while waiting.
    #[error("stopped by shutdown")]
    Stopped,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// One request as the provider wants it: method, absolute URL and headers (credentials
/// included, which never reach a message).
pub struct Call<'a> {
    /// GET or POST.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Headers, the credential among them.
    pub headers: &'a [(&'static str, String)],
    /// The credential, so an error message that quotes it is redacted.
    pub secret: &'a str,
}

/// A pooled HTTP/1 client for `http://` and `https://` APIs.
#[derive(Clone)]
pub struct Api {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Api {
    /// A client trusting the system's roots.
    pub fn new() -> Result<Api, tls::TlsError> {
        let config = tls::client_config(&TlsFiles::default())?;
        let client = Client::builder(TokioExecutor::new()).build(tls::connector(&config));
        Ok(Api { client })
    }

    /// Sends `call`, trying again after a 429 (waiting its `Retry-After`), a 5xx or a timeout;
    /// a 2xx answer is returned. `stop` ends any wait.
    pub async fn send(&self, call: &Call<'_>, stop: &CancellationToken) -> Result<Reply, ApiError> {
        let mut backoff = FIRST_BACKOFF;
        let mut last = String::new();
        for _ in 0..TRIES {
            let wait = match self.once(call).await {
                Ok((status, reply)) if status.is_success() => return Ok(reply),
                Ok((status, reply)) => {
                    let message = redact(&api_message(&reply.body), call.secret);
                    last = format!("{} {}: {status}: {message}", call.method, path(&call.url));
                    match status.as_u16() {
                        401 | 403 => {
                            return Err(ApiError::Unauthorized {
                                status: status.as_u16(),
                                message,
                            })
                        }
                        429 => retry_after(&reply.headers).unwrap_or(backoff),
                        500..=599 => backoff,
                        _ => return Err(ApiError::Failed(last)),
                    }
                }
                Err(e) => {
                    last = format!("{} {}: {e}", call.method, path(&call.url));
                    backoff
                }
            };
            tracing::warn!(error = %last, wait_ms = wait.as_millis() as u64, "reconcile: API call failed; trying again");
            tokio::select! {
                () = tokio::time::sleep(wait.min(MAX_WAIT)) => {}
                () = stop.cancelled() => return Err(ApiError::Stopped),
            }
            backoff = (backoff * 2).min(MAX_WAIT);
        }
        Err(ApiError::Failed(format!("{last} (after {TRIES} tries)")))
    }

    async fn once(&self, call: &Call<'_>) -> Result<(StatusCode, Reply), String> {
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(&call.url);
        for (name, value) in call.headers {
            request = request.header(*name, value.as_str());
        }
        let request = (request.body(Full::new(Bytes::new()))).map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    text = format!("{text}: {cause}");
                    source = cause.source();
                }
                text
            })?;
            let (parts, body) = response.into_parts();
            let body = (Limited::new(body, MAX_RESPONSE_BYTES).collect().await)
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok((
                parts.status,
                Reply {
                    headers: parts.headers,
                    body,
                },
            ))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer within {REQUEST_TIMEOUT:?}"))?
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// The API's own error text: Stripe's `error.message`, GitHub's `message`, else a prefix of the
/// body.
fn api_message(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = json.as_ref().and_then(|j| {
        (j.pointer("/error/message").or_else(|| j.get("message"))).and_then(|m| m.as_str())
    });
    match message {
        Some(m) => m.chars().take(300).collect(),
        None => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

/// `text` with every occurrence of `secret` replaced.
fn redact(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_owned();
    }
    text.replace(secret, "[redacted]")
}

/// The path of `url`, for messages (the query may be long).
fn path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    path.split('?').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_path_and_never_the_secret() {
        assert_eq!(
            path("https://api.stripe.com/v1/events?limit=100"),
            "/v1/events"
        );
        let body = br#"{"error":{"message":"Invalid API Key provided: sk_test_abcdef"}}"#;
        assert_eq!(
            redact(&api_message(body), "sk_test_abcdef"),
            "Invalid API Key provided: [redacted]"
        );
        assert_eq!(
            api_message(br#"{"message":"Bad credentials"}"#),
            "Bad credentials"
        );
    }

    #[test]
    fn retry_after_takes_seconds() {
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}

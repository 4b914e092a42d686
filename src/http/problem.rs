//! RFC 9457 problem details: every rejection hookbox sends, in one place.

use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;

use crate::store::StoreError;

/// What a handler answers: a response, or a [`Problem`] that `?` carries to the router.
pub type Reply = Result<Response<Full<Bytes>>, Problem>;

/// A rejection on its way to the client: a documented [`Reason`], a detail for the client
/// (never a secret, a signature or a body) and at most one header the status calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    reason: Reason,
    detail: String,
    header: Option<(HeaderName, HeaderValue)>,
}

/// The 404 for an event hookbox does not know.
pub fn no_event() -> Problem {
    Problem::new(Reason::NotFound, "no such event")
}

impl Problem {
    /// A problem for `reason` with `detail`.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Problem {
        Problem {
            reason,
            detail: detail.into(),
            header: None,
        }
    }

    /// A 405 naming the methods the route accepts (also sent as `Allow`).
    pub fn not_allowed(allow: &'static str) -> Problem {
        let detail = format!("this route accepts {allow}");
        Problem::new(Reason::MethodNotAllowed, detail).with_header(header::ALLOW, allow)
    }

    /// The same problem with `name: value` added to the response.
    pub fn with_header(mut self, name: HeaderName, value: &'static str) -> Problem {
        self.header = Some((name, HeaderValue::from_static(value)));
        self
    }

    /// The same problem with `Retry-After: <secs>`.
    pub fn retry_after(mut self, secs: u64) -> Problem {
        self.header = Some((header::RETRY_AFTER, HeaderValue::from(secs)));
        self
    }

    /// The problem+json response.
    pub fn response(&self) -> Response<Full<Bytes>> {
        let mut res = problem(self.reason, &self.detail);
        if let Some((name, value)) = &self.header {
            res.headers_mut().insert(name.clone(), value.clone());
        }
        res
    }
}

/// Any storage failure is a 503 with `Retry-After`: the same request may succeed later, and
/// repeating a write is safe (an event sent again is deduplicated, a requeue of a queued event
/// is refused). The cause goes to the log only.
impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        tracing::error!(error = %e, "storage failed");
        Problem::new(
            Reason::StorageUnavailable,
            "storage is unavailable; retry later (repeating the request is safe)",
        )
    }
}

/// Why a request was rejected; each maps to one documented status and `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// 400: unreadable request or body.
    Malformed,
    /// 400: no event id could be taken from the request.
    NoEventId,
    /// 400: valid JSON nested too deep to read the event id from.
    JsonTooDeep,
    /// 400: a query parameter is unknown, repeated or not valid.
    InvalidQuery,
    /// 401: signature missing, malformed, wrong or stale.
    BadSignature,
    /// 401: admin token missing or wrong.
    Unauthorized,
    /// 403: the token's role does not allow this (a `read` token asking for an action).
    Forbidden,
    /// 403: the client's address is not in the source's `allow_from`.
    AddressNotAllowed,
    /// 429: the source's `rate_limit` is used up for now (`Retry-After` says how long).
    RateLimited,
    /// 404: no such source, event or route.
    NotFound,
    /// 405: the route exists but not for this method.
    MethodNotAllowed,
    /// 408: the body did not arrive in time.
    BodyTimeout,
    /// 409: the event's state does not allow this (e.g. requeueing a queued event).
    Conflict,
    /// 413: body larger than the source allows.
    TooLarge,
    /// 415: the source needs a JSON body.
    NotJson,
    /// 500: an event's body is gone although retention never purged it.
    BodyMissing,
    /// 503: the in-flight body budget (`server.max_inflight_body_bytes`) is used up.
    Busy,
    /// 503: storage cannot accept writes right now.
    StorageUnavailable,
    /// 503: not ready to take traffic (storage not writable or worker not running).
    NotReady,
}

impl Reason {
    /// HTTP status, problem `type` slug and title.
    pub fn parts(self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Reason::Malformed => (S::BAD_REQUEST, "malformed-request", "Malformed request"),
            Reason::NoEventId => (S::BAD_REQUEST, "missing-event-id", "No event id"),
            Reason::InvalidQuery => (S::BAD_REQUEST, "invalid-query", "Invalid query parameter"),
            Reason::JsonTooDeep => (S::BAD_REQUEST, "json-too-deep", "JSON nested too deep"),
            Reason::BadSignature => (S::UNAUTHORIZED, "invalid-signature", "Invalid signature"),
            Reason::Unauthorized => (S::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Reason::Forbidden => (S::FORBIDDEN, "forbidden", "Forbidden for this token's role"),
            Reason::AddressNotAllowed => (
                S::FORBIDDEN,
                "address-not-allowed",
                "Client address not allowed",
            ),
            Reason::RateLimited => (S::TOO_MANY_REQUESTS, "rate-limited", "Rate limit reached"),
            Reason::NotFound => (S::NOT_FOUND, "not-found", "Not found"),
            Reason::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Reason::BodyTimeout => (
                S::REQUEST_TIMEOUT,
                "body-timeout",
                "Body not received in time",
            ),
            Reason::Conflict => (
                S::CONFLICT,
                "state-conflict",
                "Conflicts with the event's state",
            ),
            Reason::TooLarge => (S::PAYLOAD_TOO_LARGE, "body-too-large", "Body too large"),
            Reason::NotJson => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "json-required",
                "JSON body required",
            ),
            Reason::StorageUnavailable => (
                S::SERVICE_UNAVAILABLE,
                "storage-unavailable",
                "Storage unavailable",
            ),
            Reason::NotReady => (S::SERVICE_UNAVAILABLE, "not-ready", "Not ready"),
            Reason::BodyMissing => (
                S::INTERNAL_SERVER_ERROR,
                "body-missing",
                "Stored body missing",
            ),
            Reason::Busy => (
                S::SERVICE_UNAVAILABLE,
                "server-busy",
                "Too many bodies in flight",
            ),
        }
    }

    /// The slug, as used in logs and metrics.
    pub fn slug(self) -> &'static str {
        self.parts().1
    }
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

/// A problem+json response for `reason` (also kept in its extensions); `detail` must not
/// contain secrets or signatures.
fn problem(reason: Reason, detail: &str) -> Response<Full<Bytes>> {
    let (status, slug, title) = reason.parts();
    let body = Body {
        kind: format!("urn:hookbox:problem:{slug}"),
        title,
        status: status.as_u16(),
        detail,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut res = Response::new(Full::new(Bytes::from(json)));
    *res.status_mut() = status;
    // Read back by the request counters (`http::metrics`).
    res.extensions_mut().insert(reason);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match reason {
        Reason::StorageUnavailable | Reason::NotReady => {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        // Bodies in flight finish within `body_read_timeout`; most far sooner.
        Reason::Busy => {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    res
}

//! The `forward` handler: POSTs the original body to the application over HTTP or HTTPS,
//! signed as `handler.signing` says so the application can check it came from hookbox.

use std::time::Duration;

use bytes::Bytes;
use http::{header, Request};
use http_body_util::{BodyExt, Full, Limited};
use std::collections::HashMap;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::request::build_request;
use super::{error_chain, truncate, Job, Report};
use crate::config::{Config, ForwardConfig, HandlerConfig};
use crate::store::Outcome;
use crate::tls;
use crate::worker::retry_after::parse_retry_after;

/// Most of a response body read (to reuse the connection and keep an excerpt).
const RESPONSE_READ_LIMIT: usize = 64 * 1024;
/// Most of a response body kept in the attempt's error.
const RESPONSE_EXCERPT: usize = 512;

/// Where the answer to a forwarded request leaves the event.
///
/// 2xx succeeds. 408, 425, 429, every 5xx and the statuses listed in `retry_statuses` are
/// worth retrying. Everything else (other 4xx, and 3xx: redirects are not followed) is
/// permanent.
pub fn classify_status(status: u16, retry_statuses: &[u16]) -> Outcome {
    match status {
        200..=299 => Outcome::Success,
        408 | 425 | 429 | 500..=599 => Outcome::Transient,
        s if retry_statuses.contains(&s) => Outcome::Transient,
        _ => Outcome::Permanent,
    }
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The HTTP clients of the forwards: one keep-alive pool for every `http://` target, and one
/// per `https://` source (each has its own trust and client certificate).
#[derive(Debug, Clone)]
pub struct Forwarder {
    plain: Client<HttpConnector, Full<Bytes>>,
    tls: HashMap<String, HttpsClient>,
}

/// A client with a keep-alive pool over `connector`.
fn pooled<C: Connect + Clone>(connector: C) -> Client<C, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

impl Forwarder {
    /// The clients for `config`'s forward sources. Must be called inside a tokio runtime.
    pub fn new(config: &Config) -> Forwarder {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let tls = (config.routes())
            .filter_map(|r| match &r.handler {
                HandlerConfig::Forward(ForwardConfig { tls: Some(tls), .. }) => {
                    Some((r.stream.clone(), pooled(tls::connector(tls))))
                }
                _ => None,
            })
            .collect();
        Forwarder {
            plain: pooled(connector),
            tls,
        }
    }

    /// Delivers `job` to the target once, within the target's timeout.
    pub async fn run(&self, cfg: &ForwardConfig, job: Job<'_>) -> Report {
        let signs = cfg.signing.scheme_name().is_some();
        if signs && (cfg.secret.is_none() || cfg.signer.is_none()) {
            return Report::permanent("the forward target has no signing secret configured");
        }
        let now = crate::clock::now_secs();
        let request = match build_request(cfg, job, now) {
            Ok(request) => request,
            Err(e) => {
                return Report::permanent("could not build the request").with_detail(e.to_string())
            }
        };
        let exchange = async {
            match &cfg.tls {
                None => exchange(&self.plain, request).await,
                Some(tls) => match self.tls.get(&job.record.source) {
                    Some(client) => exchange(client, request).await,
                    None => exchange(&pooled(tls::connector(tls)), request).await,
                },
            }
        };
        match tokio::time::timeout(cfg.timeout, exchange).await {
            Err(_) => Report::transient(format!("no answer within {:?}", cfg.timeout)),
            Ok(Err(e)) => Report::transient(
                tls::handshake_failure(&e)
                    .unwrap_or_else(|| format!("request failed: {}", error_chain(&e))),
            ),
            Ok(Ok(answer)) => answer.report(&cfg.retry_statuses, now),
        }
    }
}

/// Sends `request` and reads the status, `Retry-After` and the start of the body.
async fn exchange<C: Connect + Clone + Send + Sync + 'static>(
    client: &Client<C, Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<Answer, hyper_util::client::legacy::Error> {
    let response = client.request(request).await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // A body too large or cut short only loses the excerpt, not the status.
    let body = Limited::new(response.into_body(), RESPONSE_READ_LIMIT)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// What the target said.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Bytes,
}

impl Answer {
    fn report(&self, retry_statuses: &[u16], now_secs: u64) -> Report {
        let outcome = classify_status(self.status, retry_statuses);
        let cause = match self.status {
            300..=399 => format!("HTTP {} (redirects are not followed)", self.status),
            s => format!("HTTP {s}"),
        };
        let excerpt = truncate(&String::from_utf8_lossy(&self.body), RESPONSE_EXCERPT);
        let report = match outcome {
            Outcome::Success => Report::success(),
            Outcome::Permanent => Report::permanent(cause).with_detail(excerpt),
            Outcome::Transient | Outcome::Abandoned => Report {
                retry_after: self
                    .retry_after
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, now_secs)),
                ..Report::transient(cause).with_detail(excerpt)
            },
        };
        Report {
            status: Some(self.status),
            ..report
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_the_issue_describes() {
        for s in [200, 201, 204, 299] {
            assert_eq!(classify_status(s, &[]), Outcome::Success, "{s}");
        }
        for s in [408, 425, 429, 500, 502, 503, 504, 599] {
            assert_eq!(classify_status(s, &[]), Outcome::Transient, "{s}");
        }
        for s in [301, 302, 400, 401, 403, 404, 409, 410, 422] {
            assert_eq!(classify_status(s, &[]), Outcome::Permanent, "{s}");
        }
        assert_eq!(classify_status(409, &[409, 423]), Outcome::Transient);
        assert_eq!(classify_status(404, &[409]), Outcome::Permanent);
    }

    #[test]
    fn answers_become_reports() {
        let answer = |status, retry_after: Option<&str>, body: &'static str| Answer {
            status,
            retry_after: retry_after.map(str::to_owned),
            body: Bytes::from_static(body.as_bytes()),
        };
        let ok = answer(204, None, "").report(&[], 0);
        assert_eq!(
            (ok.outcome, ok.status, ok.error()),
            (Outcome::Success, Some(204), None)
        );
        let busy = answer(429, Some("7"), "slow down").report(&[], 0);
        assert_eq!(busy.outcome, Outcome::Transient);
        assert_eq!(busy.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(busy.error().as_deref(), Some("HTTP 429: slow down"));
        assert_eq!(busy.cause.as_deref(), Some("HTTP 429"));
        let bad = answer(400, Some("7"), "").report(&[], 0);
        assert_eq!((bad.outcome, bad.retry_after), (Outcome::Permanent, None));
        let moved = answer(301, None, "").report(&[], 0);
        assert!(moved.error().is_some_and(|e| e.contains("redirects")));
    }
}

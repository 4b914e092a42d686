//! The request a `forward` sends: the original body and content type, the configured
//! pass-through headers, the signature `handler.signing` asks for (by default a fresh Standard
//! Webhooks one), the idempotency key as `webhook-id` whatever the signing, and `hookbox-*`
//! headers naming the source, event, type and attempt.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Request, Uri};
use http_body_util::Full;

use super::signing::signature;
use super::{idempotency_key, Job};
use crate::config::ForwardConfig;
use crate::event::origin::origin_of;

/// Headers hookbox sets itself, or that describe the hop rather than the event: never passed.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// The POST for `job`: original body and content type, the configured pass-through headers,
/// the signature of `cfg.signing` made at `now_secs`, and `hookbox-*` context.
pub fn build_request(
    cfg: &ForwardConfig,
    job: Job<'_>,
    now_secs: u64,
) -> Result<Request<Full<Bytes>>, http::Error> {
    let r = job.record;
    let uri: Uri = cfg.url.parse()?;
    let mut headers = HeaderMap::new();
    for (name, value) in &r.headers {
        let wanted = cfg
            .pass_headers
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name));
        if wanted && !is_reserved(name) {
            // A stored value that is no longer a valid header is skipped, not fatal.
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(n, v);
            }
        }
    }
    if !headers.contains_key(header::USER_AGENT) {
        let agent = concat!("hookbox/", env!("CARGO_PKG_VERSION"));
        headers.insert(header::USER_AGENT, HeaderValue::from_static(agent));
    }
    if let Some(v) = job
        .header("content-type")
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(header::CONTENT_TYPE, v);
    }
    let attempt = job.attempt().to_string();
    let requeues = job.requeues().to_string();
    let context = [
        ("hookbox-source", Some(r.source.as_str())),
        ("hookbox-event-id", Some(r.id.as_str())),
        ("hookbox-event-type", r.event_type.as_deref()),
        ("hookbox-attempt", Some(attempt.as_str())),
        ("hookbox-requeue", Some(requeues.as_str())),
        ("hookbox-origin", Some(origin_of(&r.headers).0)),
    ];
    // The signature replaces any pass-through header of the same name; a name may repeat.
    let mut signed = HeaderMap::new();
    for (name, value) in signature(cfg, job, now_secs) {
        signed.append(
            HeaderName::from_bytes(name.as_bytes())?,
            HeaderValue::from_str(&value)?,
        );
    }
    for name in signed.keys() {
        headers.remove(name);
    }
    headers.extend(signed);
    // The idempotency key goes out in every signing mode (the docs promise `webhook-id`), not
    // only inside a Standard Webhooks signature; in `original` mode a provider's own signed
    // `webhook-id` stays, as changing it would break that signature.
    if !headers.contains_key("webhook-id") {
        let key = idempotency_key(&r.source, &r.id);
        headers.insert("webhook-id", HeaderValue::from_str(&key)?);
    }
    for (name, value) in context {
        if let Some(value) = value {
            headers.insert(name, HeaderValue::from_str(value)?);
        }
    }
    let mut request = Request::post(uri).body(Full::new(job.body.clone()))?;
    *request.headers_mut() = headers;
    Ok(request)
}

fn is_reserved(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    RESERVED.contains(&name.as_str())
        || name.starts_with("webhook-")
        || name.starts_with("hookbox-")
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Signing;
    use crate::store::EventRecord;
    use crate::verify::{Scheme, Secret, Verifier};

    fn record(headers: &[(&str, &str)]) -> EventRecord {
        // Through serde, so fields added to the record later take their defaults here too.
        serde_json::from_value(serde_json::json!({
            "source": "shop",
            "id": "evt_1",
            "received_at": 0,
            "event_type": "order.paid",
            "headers": headers,
            "body_len": 2,
            "state": "processing",
            "attempt_count": 2,
        }))
        .expect("a valid record")
    }

    #[test]
    fn after_a_requeue_the_attempt_number_keeps_growing_and_the_requeue_shows() {
        let mut rec = record(&[]);
        rec.attempt_count = 1;
        rec.requeues = serde_json::from_value(serde_json::json!([
            {"at": 5, "previous_state": "dead", "previous_attempts": 3}
        ]))
        .expect("requeues");
        let body = Bytes::from_static(b"{}");
        let cfg = forward_config(&[]);
        let job = Job {
            record: &rec,
            body: &body,
        };
        let req = build_request(&cfg, job, 1_700_000_000).expect("request");
        let get = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
        assert_eq!(get("hookbox-attempt"), Some("4"));
        assert_eq!(get("hookbox-requeue"), Some("1"));
    }

    /// A forward with Standard Webhooks signing, passing `pass` through.
    pub(in crate::worker::handler) fn forward_config(pass: &[&str]) -> ForwardConfig {
        ForwardConfig {
            url: "http://127.0.0.1:9/hook".into(),
            secret: Some(Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
            timeout: Duration::from_secs(1),
            pass_headers: pass.iter().map(|p| (*p).into()).collect(),
            retry_statuses: Vec::new(),
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            tls: None,
            signing: Signing::Standard,
            signer: Some(Scheme::standard()),
            original_headers: Vec::new(),
        }
    }

    #[test]
    fn the_request_carries_body_type_passed_headers_and_a_verifiable_signature() {
        let rec = record(&[
            ("content-type", "application/json; charset=utf-8"),
            ("x-shop", "acme"),
            ("x-other", "secret-ish"),
            ("webhook-id", "provider-id"),
            ("content-length", "999"),
        ]);
        let body = Bytes::from_static(b"{}");
        let cfg = forward_config(&["X-Shop", "webhook-id", "content-length"]);
        let secret = cfg.secret.clone().expect("secret");
        let req = build_request(
            &cfg,
            Job {
                record: &rec,
                body: &body,
            },
            1_700_000_000,
        )
        .expect("request");
        let h = req.headers();
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(get("content-type"), Some("application/json; charset=utf-8"));
        assert_eq!(get("x-shop"), Some("acme"));
        assert_eq!(get("x-other"), None);
        assert_eq!(get("content-length"), None);
        assert_eq!(get("webhook-id"), Some("shop:evt_1"));
        assert_eq!(get("hookbox-event-id"), Some("evt_1"));
        assert_eq!(get("hookbox-event-type"), Some("order.paid"));
        assert_eq!(get("hookbox-attempt"), Some("2"));
        assert_eq!(get("hookbox-requeue"), Some("0"));
        assert!(get("user-agent").is_some_and(|a| a.starts_with("hookbox/")));
        let verifier = Verifier {
            scheme: Scheme::standard(),
            secrets: vec![secret],
            tolerance: Duration::from_secs(60),
        };
        assert_eq!(verifier.verify(h, b"{}", 1_700_000_000), Ok(()));
    }

    #[test]
    fn the_idempotency_key_goes_out_as_webhook_id_whatever_the_signing() {
        let rec = record(&[("webhook-id", "msg_provider")]);
        let body = Bytes::from_static(b"{}");
        let job = Job {
            record: &rec,
            body: &body,
        };
        for signing in [Signing::Stripe, Signing::Github, Signing::None] {
            let mut cfg = forward_config(&[]);
            cfg.signing = signing;
            cfg.signer = (signing.scheme_name())
                .map(|n| Scheme::build(n, &Default::default()).expect("scheme"));
            let req = build_request(&cfg, job, 1_700_000_000).expect("request");
            let id = req
                .headers()
                .get("webhook-id")
                .and_then(|v| v.to_str().ok());
            assert_eq!(id, Some("shop:evt_1"), "{signing:?}");
        }
        // `original` forwards the provider's signed id unchanged, when it signed one.
        let mut cfg = forward_config(&[]);
        cfg.signing = Signing::Original;
        cfg.original_headers = vec!["webhook-id".into()];
        let req = build_request(&cfg, job, 1_700_000_000).expect("request");
        assert_eq!(req.headers().get_all("webhook-id").iter().count(), 1);
        assert_eq!(req.headers()["webhook-id"], "msg_provider");
    }
}

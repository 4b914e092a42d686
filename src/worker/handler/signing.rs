//! The signature a `forward` puts on its request, as `handler.signing` says: made afresh with
//! the forward secret by one of [`crate::verify`]'s schemes (`standard`, `stripe`, `github`),
//! the provider's own headers as they arrived (`original`), or none.

use super::{idempotency_key, Job};
use crate::config::{ForwardConfig, Signing};

/// The signature headers of `cfg.signing` for `job` at `now_secs`.
pub fn signature(cfg: &ForwardConfig, job: Job<'_>, now_secs: u64) -> Vec<(String, String)> {
    let r = job.record;
    let key = idempotency_key(&r.source, &r.id);
    let stored = |name: &str| job.header(name).map(str::to_owned);
    match (cfg.signing, &cfg.signer, &cfg.secret) {
        (Signing::Original, _, _) => (r.headers.iter())
            .filter(|(name, _)| cfg.original_headers.contains(name))
            .cloned()
            .collect(),
        (Signing::Github, Some(scheme), Some(secret)) => {
            // The app reads GitHub's own delivery id and event name, as GitHub sends them.
            let delivery = stored("x-github-delivery").unwrap_or(key);
            let mut out = scheme
                .provider()
                .sign(secret, job.body, now_secs, &delivery);
            let event = stored("x-github-event").or_else(|| r.event_type.clone());
            out.extend(event.map(|e| ("x-github-event".to_owned(), e)));
            out
        }
        (_, Some(scheme), Some(secret)) => scheme.provider().sign(secret, job.body, now_secs, &key),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use http::{HeaderMap, HeaderName, HeaderValue};

    use super::*;
    use crate::store::EventRecord;
    use crate::verify::{Scheme, SchemeOptions, Secret, Verifier};

    fn record(source: &str, headers: &[(&str, &str)]) -> EventRecord {
        serde_json::from_value(serde_json::json!({
            "source": source,
            "id": "evt_1",
            "received_at": 0,
            "event_type": "thing.happened",
            "headers": headers,
            "body_len": 0,
            "state": "processing",
            "attempt_count": 1,
        }))
        .expect("a valid record")
    }

    fn config(signing: Signing, secret: &str) -> ForwardConfig {
        let mut cfg = crate::worker::handler::request::tests::forward_config(&[]);
        cfg.signing = signing;
        cfg.secret = Some(Secret::new(secret));
        cfg.signer = (signing.scheme_name())
            .map(|name| Scheme::build(name, &SchemeOptions::default()).expect("scheme"));
        cfg
    }

    fn sign(cfg: &ForwardConfig, rec: &EventRecord, body: &[u8], now: u64) -> HeaderMap {
        let body = Bytes::copy_from_slice(body);
        let job = Job {
            record: rec,
            body: &body,
        };
        let mut headers = HeaderMap::new();
        for (name, value) in signature(cfg, job, now) {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(&value).expect("value"),
            );
        }
        headers
    }

    /// What `hookbox verify --scheme <name> --secret <secret>` would say.
    fn verify(scheme: &str, secret: &str, headers: &HeaderMap, body: &[u8], now: u64) -> bool {
        let verifier = Verifier {
            scheme: Scheme::build(scheme, &SchemeOptions::default()).expect("scheme"),
            secrets: vec![Secret::new(secret)],
            tolerance: Duration::from_secs(300),
        };
        verifier.verify(headers, body, now).is_ok()
    }

    fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers.get(name).and_then(|v| v.to_str().ok())
    }

    const FORWARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn standard_signs_with_the_idempotency_key_as_webhook_id() {
        let cfg = config(Signing::Standard, FORWARD_SECRET);
        let h = sign(&cfg, &record("shop", &[]), b"{}", 1_700_000_000);
        assert_eq!(get(&h, "webhook-id"), Some("shop:evt_1"));
        assert!(verify("standard", FORWARD_SECRET, &h, b"{}", 1_700_000_000));
        assert!(!verify(
            "standard",
            FORWARD_SECRET,
            &h,
            b"{ }",
            1_700_000_000
        ));
    }

    #[test]
    fn stripe_mode_matches_stripes_published_vector() {
        // stripe/stripe-dotnet's vector (see verify/stripe.rs): the same body, secret and time
        // give Stripe's own header, less the legacy v0.
        use crate::verify::stripe::tests::{VECTOR_BODY, VECTOR_HEADER};
        let cfg = config(Signing::Stripe, "webhook_secret");
        let h = sign(
            &cfg,
            &record("stripe", &[]),
            VECTOR_BODY.as_bytes(),
            1_533_204_620,
        );
        let v1_only = VECTOR_HEADER.rsplit_once(",v0=").map(|(v1, _)| v1);
        assert_eq!(get(&h, "stripe-signature"), v1_only);
        let cfg = config(Signing::Stripe, FORWARD_SECRET);
        let h = sign(&cfg, &record("any", &[]), b"{\"id\":\"x\"}", 1_700_000_000);
        assert!(verify(
            "stripe",
            FORWARD_SECRET,
            &h,
            b"{\"id\":\"x\"}",
            1_700_000_100
        ));
        assert!(!verify(
            "stripe",
            "whsec_other",
            &h,
            b"{\"id\":\"x\"}",
            1_700_000_100
        ));
    }

    #[test]
    fn github_mode_matches_githubs_published_vector_and_passes_delivery_and_event() {
        // github/docs, validating-webhook-deliveries.md (see verify/github.rs).
        use crate::verify::github::tests::{DOCS_SECRET as secret, DOCS_SIGNATURE};
        let cfg = config(Signing::Github, secret);
        let rec = record(
            "gh",
            &[("x-github-delivery", "d-42"), ("x-github-event", "push")],
        );
        let h = sign(&cfg, &rec, b"Hello, World!", 0);
        assert_eq!(get(&h, "x-hub-signature-256"), Some(DOCS_SIGNATURE));
        assert_eq!(get(&h, "x-github-delivery"), Some("d-42"));
        assert_eq!(get(&h, "x-github-event"), Some("push"));
        assert!(verify("github", secret, &h, b"Hello, World!", 0));
        // From another provider: the idempotency key and the event type stand in.
        let h = sign(&cfg, &record("shop", &[]), b"{}", 0);
        assert_eq!(get(&h, "x-github-delivery"), Some("shop:evt_1"));
        assert_eq!(get(&h, "x-github-event"), Some("thing.happened"));
    }

    #[test]
    fn none_signs_nothing_and_original_passes_the_providers_headers_untouched() {
        let rec = record(
            "stripe",
            &[
                ("stripe-signature", "t=1,v1=abc"),
                ("x-other", "kept but not a signature"),
            ],
        );
        let h = sign(&config(Signing::None, FORWARD_SECRET), &rec, b"{}", 5);
        assert!(h.is_empty(), "{h:?}");
        let mut cfg = config(Signing::Original, FORWARD_SECRET);
        cfg.original_headers = vec!["stripe-signature".into()];
        let h = sign(&cfg, &rec, b"{}", 5);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(get(&h, "stripe-signature"), Some("t=1,v1=abc"));
    }
}

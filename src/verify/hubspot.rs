//! HubSpot, signature v3: `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256, keyed with the
//! app's client secret, of `"POST" + URL + body + X-HubSpot-Request-Timestamp`, as
//! `Signature.isValid` (v3) does in HubSpot's client libraries. The timestamp is in
//! milliseconds; HubSpot says to refuse requests older than 5 minutes, hookbox holds it to the
//! configured tolerance either way.
//!
//! The URL is the source's `notification_url` (`--url`), exactly as configured in the app.
//! HubSpot sends a batch of events, each with its `eventId`: the id is that `eventId` for a
//! batch of one, else `batch:` and a SHA-256 over the ids. Retries change `attemptNumber` in the
//! body but not the ids, so a retry is still a duplicate.

use http::HeaderMap;

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::{util, Algorithm, Encoding, IdError, Secret, VerifyError};

const SIGNATURE: &str = "x-hubspot-signature-v3";
const TIMESTAMP: &str = "x-hubspot-request-timestamp";
/// HubSpot delivers webhooks with POST.
const METHOD: &str = "POST";

/// HubSpot's v3 scheme, for one configured URL.
#[derive(Debug)]
pub(super) struct Hubspot {
    url: String,
}

/// Builds the scheme; it needs the URL HubSpot posts to.
pub(super) fn build(options: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    let url = options.required_url("hubspot")?;
    Ok(Box::new(Hubspot { url }))
}

impl Provider for Hubspot {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        let candidates = util::single_candidate(headers, SIGNATURE, "", Encoding::Base64)?;
        let ts = util::required_header(headers, TIMESTAMP)?;
        let millis = util::parse_timestamp(TIMESTAMP, ts)?;
        util::check_age(millis / 1000, now, tolerance)?;
        let message = [METHOD.as_bytes(), self.url.as_bytes(), body, ts.as_bytes()];
        util::match_secrets(secrets, Algorithm::Sha256, &message, &candidates)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        util::batch_id(body, "/eventId")
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        util::json_str(body, "/0/subscriptionType")
    }

    fn id_pointer(&self) -> Option<&str> {
        Some("/0/eventId")
    }

    fn sign(&self, secret: &Secret, body: &[u8], now: u64, _: &str) -> Vec<(String, String)> {
        let ts = now.saturating_mul(1000).to_string();
        let message = [METHOD.as_bytes(), self.url.as_bytes(), body, ts.as_bytes()];
        let signature = util::sign_sha256(secret, &message, Encoding::Base64);
        vec![
            (SIGNATURE.to_owned(), signature),
            (TIMESTAMP.to_owned(), ts),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    // Self-consistent: computed with Python's `hmac` module (HubSpot publishes no v3 vector).
    const SECRET: &str = "hubspot_selfconsistent";
    const URL: &str = "https://example.com/webhooks/hubspot";
    const BODY: &str = r#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"appId":54321,"occurredAt":1700000000000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeFlag":"CREATED","changeSource":"CRM"}]"#;
    const SIG: &str = "xarZkP4ZYxngVRF1S9SCb1iOY7FNc5ef+5laZ+YXgwc=";
    const NOW: u64 = 1_700_000_000;

    fn hubspot(url: &str) -> Hubspot {
        Hubspot { url: url.into() }
    }

    fn vector_headers() -> HeaderMap {
        headers([(SIGNATURE, SIG), (TIMESTAMP, "1700000000000")])
    }

    fn verify(url: &str, h: &HeaderMap, body: &str, now: u64) -> Result<(), VerifyError> {
        hubspot(url).verify(&secrets(&[SECRET]), h, body.as_bytes(), now, 300)
    }

    #[test]
    fn self_consistent_vector() {
        assert_eq!(verify(URL, &vector_headers(), BODY, NOW), Ok(()));
        let signed = hubspot(URL).sign(&Secret::new(SECRET), BODY.as_bytes(), NOW, "");
        assert_eq!(headers(signed), vector_headers());
        let other = "https://example.com/webhooks/other";
        let got = verify(other, &vector_headers(), BODY, NOW);
        assert_eq!(got, Err(VerifyError::NoMatch));
        let retried = BODY.replace(r#""attemptNumber":0"#, r#""attemptNumber":1"#);
        let got = verify(URL, &vector_headers(), &retried, NOW);
        assert_eq!(got, Err(VerifyError::NoMatch));
        let p = hubspot(URL);
        assert_eq!(
            p.event_id(&HeaderMap::new(), BODY.as_bytes()),
            Ok("1".into())
        );
        assert_eq!(
            p.event_id(&HeaderMap::new(), retried.as_bytes()),
            Ok("1".into())
        );
        let kind = p.event_type(&HeaderMap::new(), BODY.as_bytes());
        assert_eq!(kind, Some("contact.creation".into()));
    }

    #[test]
    fn window_missing_and_malformed() {
        let old = verify(URL, &vector_headers(), BODY, NOW + 301);
        assert!(matches!(old, Err(VerifyError::TimestampTooOld { .. })));
        let ahead = verify(URL, &vector_headers(), BODY, NOW - 301);
        assert!(matches!(ahead, Err(VerifyError::TimestampInFuture { .. })));
        for name in [SIGNATURE, TIMESTAMP] {
            let mut h = vector_headers();
            h.remove(name);
            let got = verify(URL, &h, BODY, NOW);
            assert_eq!(got, Err(VerifyError::MissingHeader(name.into())));
        }
        for bad in [&b"-1"[..], b"1e12", b"99999999999999999999999"] {
            let mut h = vector_headers();
            set(&mut h, TIMESTAMP, bad);
            let got = verify(URL, &h, BODY, NOW);
            assert!(
                matches!(got, Err(VerifyError::MalformedHeader { .. })),
                "{got:?}"
            );
        }
    }
}

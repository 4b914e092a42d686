//! Linear: `Linear-Signature: <hex>`, the HMAC-SHA256 of the raw body keyed with the webhook's
//! signing secret, and the body's `webhookTimestamp` (unix milliseconds) within the tolerance,
//! as `LinearWebhooks.verify` does in @linear/sdk (whose own tolerance is one minute). The
//! timestamp is inside the signed body, so it is covered by the signature.
//!
//! The id is `Linear-Delivery`, the same on every retry of one delivery.

use http::HeaderMap;
use serde_json::Value;

use super::provider::Provider;
use super::{util, Algorithm, Encoding, IdError, Secret, VerifyError};

const SIGNATURE: &str = "linear-signature";
const ID: &str = "linear-delivery";
const TIMESTAMP_FIELD: &str = "webhookTimestamp";

/// Linear's scheme.
#[derive(Debug, Default)]
pub(super) struct Linear;

impl Provider for Linear {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        let candidates = util::single_candidate(headers, SIGNATURE, "", Encoding::Hex)?;
        util::match_secrets(secrets, Algorithm::Sha256, &[body], &candidates)?;
        let doc: Value =
            serde_json::from_slice(body).map_err(|_| VerifyError::MalformedBody("not JSON"))?;
        let millis = doc
            .get(TIMESTAMP_FIELD)
            .and_then(Value::as_u64)
            .ok_or(VerifyError::MalformedBody("no numeric webhookTimestamp"))?;
        util::check_age(millis / 1000, now, tolerance)
    }

    fn event_id(&self, headers: &HeaderMap, _: &[u8]) -> Result<String, IdError> {
        util::header_id(headers, ID)
    }

    fn sign(&self, secret: &Secret, body: &[u8], _: u64, id: &str) -> Vec<(String, String)> {
        vec![
            (
                SIGNATURE.to_owned(),
                util::sign_sha256(secret, &[body], Encoding::Hex),
            ),
            (ID.to_owned(), id.to_owned()),
        ]
    }

    /// Stamps `webhookTimestamp` with `now`, since Linear signs it inside the body.
    fn sign_body(&self, _: &Secret, body: &[u8], now: u64) -> Option<Vec<u8>> {
        let mut doc: Value = serde_json::from_slice(body).ok()?;
        let object = doc.as_object_mut()?;
        object.insert(TIMESTAMP_FIELD.into(), now.saturating_mul(1000).into());
        serde_json::to_vec(&doc).ok()
    }

    fn kept_headers(&self) -> &'static [&'static str] {
        &[ID, "linear-event"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    // Self-consistent: computed with Python's `hmac` module (not a published Linear vector).
    const SECRET: &str = "linear_selfconsistent";
    const BODY: &str = r#"{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","title":"Fixture"},"url":"https://linear.app/example/issue/ENG-1","webhookTimestamp":1700000000000,"webhookId":"000042e3-d123-4980-b49f-8e140eef9329"}"#;
    const SIG: &str = "a7f87d1278984181461d60044947b640d3598581751acba79c5e9f86a7d76346";
    const NOW: u64 = 1_700_000_000;

    fn vector_headers() -> HeaderMap {
        headers([(SIGNATURE, SIG), (ID, "d-1")])
    }

    fn verify(keys: &[&str], h: &HeaderMap, body: &[u8], now: u64) -> Result<(), VerifyError> {
        Linear.verify(&secrets(keys), h, body, now, 60)
    }

    #[test]
    fn self_consistent_vector_and_window() {
        let body = BODY.as_bytes();
        assert_eq!(verify(&[SECRET], &vector_headers(), body, NOW + 60), Ok(()));
        let late = verify(&[SECRET], &vector_headers(), body, NOW + 61);
        assert!(matches!(late, Err(VerifyError::TimestampTooOld { .. })));
        let stamped = BODY.replace("1700000000000", "1700000100000");
        let got = verify(&[SECRET], &vector_headers(), stamped.as_bytes(), NOW + 100);
        assert_eq!(got, Err(VerifyError::NoMatch), "the timestamp is signed");
        let signed = Linear.sign(&Secret::new(SECRET), body, NOW, "d-1");
        assert_eq!(headers(signed), vector_headers());
        assert_eq!(Linear.event_id(&vector_headers(), body), Ok("d-1".into()));
        assert_eq!(
            Linear.event_type(&vector_headers(), body),
            Some("Issue".into())
        );
    }

    #[test]
    fn sign_body_restamps_and_round_trips() {
        let later = NOW + 10_000;
        let body = Linear
            .sign_body(&Secret::new(SECRET), BODY.as_bytes(), later)
            .unwrap();
        let h = headers(Linear.sign(&Secret::new(SECRET), &body, later, "d-2"));
        assert_eq!(verify(&[SECRET], &h, &body, later), Ok(()));
        assert_eq!(Linear.sign_body(&Secret::new(SECRET), b"[]", later), None);
    }

    #[test]
    fn missing_and_malformed() {
        let got = verify(&[SECRET], &headers([(ID, "d")]), BODY.as_bytes(), NOW);
        assert_eq!(got, Err(VerifyError::MissingHeader(SIGNATURE.into())));
        for body in [&br#"{"webhookTimestamp":"1"}"#[..], b"{}", b"[1]"] {
            let h = headers(Linear.sign(&Secret::new(SECRET), body, NOW, "d"));
            let got = verify(&[SECRET], &h, body, NOW);
            assert!(matches!(got, Err(VerifyError::MalformedBody(_))), "{got:?}");
        }
        let mut h = vector_headers();
        set(&mut h, SIGNATURE, b"\xff");
        let got = verify(&[SECRET], &h, BODY.as_bytes(), NOW);
        assert!(matches!(got, Err(VerifyError::MalformedHeader { .. })));
    }
}

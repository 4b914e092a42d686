//! Zoom: `x-zm-signature: v0=<hex>`, the HMAC-SHA256 of `"v0:{timestamp}:{body}"` keyed with
//! the app's secret token, where the timestamp is `x-zm-request-timestamp` (unix seconds), as
//! Zoom's webhook docs and sample verifier compute it. The timestamp must be within the
//! tolerance either way.
//!
//! The `endpoint.url_validation` challenge is answered, once its signature verifies, with
//! `{"plainToken": …, "encryptedToken": hex HMAC-SHA256 of plainToken}` keyed with the secret
//! that verified it.
//!
//! Zoom sends no event id, and a retry repeats the body byte for byte, so the id is the SHA-256
//! of the body (`sha256:<hex>`). A replay makes a fresh one by rewriting `event_ts`.

use http::HeaderMap;
use serde_json::{json, Value};

use super::provider::{Answer, Provider};
use super::{util, Algorithm, Encoding, IdError, Secret, VerifyError};

const SIGNATURE: &str = "x-zm-signature";
const TIMESTAMP: &str = "x-zm-request-timestamp";

/// Zoom's scheme.
#[derive(Debug, Default)]
pub(super) struct Zoom;

/// The signed content and the offered signature, timestamp unchecked.
fn parts(headers: &HeaderMap) -> Result<(&str, Vec<Vec<u8>>), VerifyError> {
    let candidates = util::single_candidate(headers, SIGNATURE, "v0=", Encoding::Hex)?;
    let ts = util::required_header(headers, TIMESTAMP)?;
    Ok((ts, candidates))
}

impl Provider for Zoom {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        let (ts, candidates) = parts(headers)?;
        util::check_timestamp(TIMESTAMP, ts, now, tolerance)?;
        let message = [b"v0:", ts.as_bytes(), b":", body];
        util::match_secrets(secrets, Algorithm::Sha256, &message, &candidates)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|_| IdError::NotJson)?;
        Ok(util::body_hash_id(body))
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        util::json_str(body, "/event")
    }

    fn id_pointer(&self) -> Option<&str> {
        Some("/event_ts")
    }

    fn sign(&self, secret: &Secret, body: &[u8], now: u64, _: &str) -> Vec<(String, String)> {
        let ts = now.to_string();
        let message = [b"v0:", ts.as_bytes(), b":", body];
        let signature = util::sign_sha256(secret, &message, Encoding::Hex);
        vec![
            (SIGNATURE.to_owned(), format!("v0={signature}")),
            (TIMESTAMP.to_owned(), ts),
        ]
    }

    fn answer(&self, secrets: &[Secret], headers: &HeaderMap, body: &[u8]) -> Option<Answer> {
        let doc: Value = serde_json::from_slice(body).ok()?;
        if doc.get("event")?.as_str()? != "endpoint.url_validation" {
            return None;
        }
        let plain = doc.pointer("/payload/plainToken")?.as_str()?;
        // The token is encrypted with the secret that signed this request.
        let (ts, candidates) = parts(headers).ok()?;
        let message = [b"v0:", ts.as_bytes(), b":", body];
        let secret = secrets.iter().find(|s| {
            util::match_secrets(
                std::slice::from_ref(*s),
                Algorithm::Sha256,
                &message,
                &candidates,
            )
            .is_ok()
        })?;
        let encrypted = util::sign_sha256(secret, &[plain.as_bytes()], Encoding::Hex);
        Some(Answer::json(
            &json!({ "plainToken": plain, "encryptedToken": encrypted }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    // Self-consistent: computed with Python's `hmac` module (not a published Zoom vector).
    const SECRET: &str = "zoom_selfconsistent";
    const TS: u64 = 1_700_000_000;
    const CHALLENGE: &str = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1700000000000,"event":"endpoint.url_validation"}"#;
    const CHALLENGE_SIGNATURE: &str =
        "v0=514d7c7b53d8922ae8fcd2122f4e30b63dc2cfbae92b81787606d3ee3b59d622";
    const ENCRYPTED: &str = "5b1f838c42d3ad222d94edef562d865c74c6f558aec66f1dfd28b45a12d70493";

    fn challenge_headers() -> HeaderMap {
        headers([
            ("x-zm-signature", CHALLENGE_SIGNATURE),
            ("x-zm-request-timestamp", "1700000000"),
        ])
    }

    fn verify(keys: &[&str], h: &HeaderMap, body: &str, now: u64) -> Result<(), VerifyError> {
        Zoom.verify(&secrets(keys), h, body.as_bytes(), now, 300)
    }

    #[test]
    fn url_validation_vector() {
        let h = challenge_headers();
        assert_eq!(verify(&[SECRET], &h, CHALLENGE, TS), Ok(()));
        let signed = Zoom.sign(&Secret::new(SECRET), CHALLENGE.as_bytes(), TS, "");
        assert_eq!(headers(signed), h);
        let answer = Zoom.answer(&secrets(&["other", SECRET]), &h, CHALLENGE.as_bytes());
        let expected = json!({"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": ENCRYPTED});
        assert_eq!(answer, Some(Answer::json(&expected)));
        assert_eq!(
            Zoom.answer(&secrets(&["other"]), &h, CHALLENGE.as_bytes()),
            None
        );
    }

    #[test]
    fn events_round_trip_and_get_a_body_hash_id() {
        let body = br#"{"event":"meeting.started","event_ts":1700000000123,"payload":{"account_id":"AAAAAAAAAAAAAAAAAAAAAA","object":{"id":"85000000001"}}}"#;
        let h = headers(Zoom.sign(&Secret::new("k"), body, TS, ""));
        assert_eq!(
            Zoom.verify(&secrets(&["old", "k"]), &h, body, TS, 300),
            Ok(())
        );
        assert_eq!(Zoom.answer(&secrets(&["k"]), &h, body), None);
        let id = Zoom.event_id(&h, body).unwrap();
        assert!(id.starts_with("sha256:") && id.len() == 71);
        assert_eq!(Zoom.event_type(&h, body), Some("meeting.started".into()));
        assert_eq!(Zoom.event_id(&h, b"not json"), Err(IdError::NotJson));
        let old = Zoom.verify(&secrets(&["k"]), &h, body, TS + 301, 300);
        assert!(matches!(old, Err(VerifyError::TimestampTooOld { .. })));
        let mut later = h.clone();
        set(&mut later, TIMESTAMP, b"1700000001");
        let got = Zoom.verify(&secrets(&["k"]), &later, body, TS, 300);
        assert_eq!(got, Err(VerifyError::NoMatch));
    }

    #[test]
    fn missing_and_malformed() {
        for name in [SIGNATURE, TIMESTAMP] {
            let mut h = challenge_headers();
            h.remove(name);
            let got = verify(&[SECRET], &h, CHALLENGE, TS);
            assert_eq!(got, Err(VerifyError::MissingHeader(name.into())));
        }
        let mut h = challenge_headers();
        set(&mut h, SIGNATURE, b"v1=00");
        let got = verify(&[SECRET], &h, CHALLENGE, TS);
        assert!(matches!(got, Err(VerifyError::MalformedHeader { .. })));
    }
}

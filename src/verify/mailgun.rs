//! Mailgun: the JSON body carries `signature: {timestamp, token, signature}`, where `signature`
//! is the hex HMAC-SHA256 of `timestamp + token` keyed with the HTTP webhook signing key, as
//! Mailgun's "securing webhooks" guide computes it. The timestamp must be within the tolerance
//! either way. Mailgun also suggests refusing a token seen before: hookbox's dedupe on the
//! event id covers a replayed request.
//!
//! The id is `event-data.id`, the type `event-data.event`. Only JSON webhooks are read (the
//! legacy form-encoded ones are not).

use http::HeaderMap;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::provider::Provider;
use super::{util, Algorithm, Encoding, IdError, Secret, VerifyError};

/// Where the timestamp is named in errors.
const TIMESTAMP: &str = "signature.timestamp";

/// Mailgun's scheme.
#[derive(Debug, Default)]
pub(super) struct Mailgun;

/// A string field of the body's `signature` object.
fn text<'a>(doc: &'a Value, field: &str) -> Result<&'a str, VerifyError> {
    doc.pointer(&format!("/signature/{field}"))
        .and_then(Value::as_str)
        .ok_or(VerifyError::MalformedBody(
            "no signature object with timestamp, token and signature strings",
        ))
}

impl Provider for Mailgun {
    fn verify(
        &self,
        secrets: &[Secret],
        _: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        let doc: Value =
            serde_json::from_slice(body).map_err(|_| VerifyError::MalformedBody("not JSON"))?;
        let (ts, token) = (text(&doc, "timestamp")?, text(&doc, "token")?);
        let signature = text(&doc, "signature")?;
        util::check_timestamp(TIMESTAMP, ts, now, tolerance)?;
        let candidates: Vec<Vec<u8>> = Encoding::Hex.decode(signature).into_iter().collect();
        let message = [ts.as_bytes(), token.as_bytes()];
        util::match_secrets(secrets, Algorithm::Sha256, &message, &candidates)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        util::json_id(body, "/event-data/id")
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        util::json_str(body, "/event-data/event")
    }

    fn id_pointer(&self) -> Option<&str> {
        Some("/event-data/id")
    }

    fn sign(&self, _: &Secret, _: &[u8], _: u64, _: &str) -> Vec<(String, String)> {
        // The signature travels in the body: see `sign_body`.
        Vec::new()
    }

    /// Sets `signature` to a fresh one at `now`; the token is derived from the event, so signing
    /// the same event twice at the same second gives the same body.
    fn sign_body(&self, secret: &Secret, body: &[u8], now: u64) -> Option<Vec<u8>> {
        let mut doc: Value = serde_json::from_slice(body).ok()?;
        let ts = now.to_string();
        let seed = [ts.as_bytes(), body].concat();
        let token = hex::encode(&Sha256::digest(&seed)[..25]);
        let signature =
            util::sign_sha256(secret, &[ts.as_bytes(), token.as_bytes()], Encoding::Hex);
        let object = doc.as_object_mut()?;
        let value = json!({ "timestamp": ts, "token": token, "signature": signature });
        object.insert("signature".into(), value);
        serde_json::to_vec(&doc).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::secrets;

    // Self-consistent: computed with Python's `hmac` module (not a published Mailgun vector).
    const KEY: &str = "mailgun_selfconsistent";
    const BODY: &str = r#"{"signature":{"timestamp":"1700000000","token":"a8ce0edb2dd8301dccd6c7ecd7a5c0c5bbb2fd1d35d2d0c4c4","signature":"b47a7002ab49a437f89a208994d902b29aef1562328ff3aa35e4f5379efc84e6"},"event-data":{"event":"delivered","id":"CPgfbmQMTCKtHW6uIWtuVe","timestamp":1699999999.5}}"#;
    const NOW: u64 = 1_700_000_000;

    fn verify(keys: &[&str], body: &[u8], now: u64) -> Result<(), VerifyError> {
        Mailgun.verify(&secrets(keys), &HeaderMap::new(), body, now, 300)
    }

    #[test]
    fn self_consistent_vector() {
        assert_eq!(verify(&["old", KEY], BODY.as_bytes(), NOW), Ok(()));
        assert_eq!(
            verify(&["old"], BODY.as_bytes(), NOW),
            Err(VerifyError::NoMatch)
        );
        let other_token = BODY.replace("a8ce0", "a8ce1");
        let got = verify(&[KEY], other_token.as_bytes(), NOW);
        assert_eq!(got, Err(VerifyError::NoMatch));
        let old = verify(&[KEY], BODY.as_bytes(), NOW + 301);
        assert!(matches!(old, Err(VerifyError::TimestampTooOld { .. })));
        let none = HeaderMap::new();
        let id = Mailgun.event_id(&none, BODY.as_bytes());
        assert_eq!(id, Ok("CPgfbmQMTCKtHW6uIWtuVe".into()));
        let kind = Mailgun.event_type(&none, BODY.as_bytes());
        assert_eq!(kind, Some("delivered".into()));
    }

    #[test]
    fn sign_body_round_trips() {
        let later = NOW + 1000;
        let body = Mailgun
            .sign_body(&Secret::new(KEY), BODY.as_bytes(), later)
            .unwrap();
        assert_eq!(verify(&[KEY], &body, later), Ok(()));
        let again = Mailgun
            .sign_body(&Secret::new(KEY), BODY.as_bytes(), later)
            .unwrap();
        assert_eq!(body, again);
        assert!(Mailgun
            .sign(&Secret::new(KEY), &body, later, "x")
            .is_empty());
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            &b"nope"[..],
            b"{}",
            br#"{"signature":{"timestamp":1700000000,"token":"t","signature":"00"}}"#,
            br#"{"signature":"x"}"#,
        ] {
            let got = verify(&[KEY], body, NOW);
            assert!(matches!(got, Err(VerifyError::MalformedBody(_))), "{got:?}");
        }
        let bad_ts = BODY.replace("\"1700000000\"", "\"soon\"");
        let got = verify(&[KEY], bad_ts.as_bytes(), NOW);
        assert!(matches!(got, Err(VerifyError::MalformedHeader { .. })));
    }
}

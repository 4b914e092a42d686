//! Slack: `X-Slack-Signature: v0=<hex>`, the HMAC-SHA256 of `"v0:{ts}:{body}"` where `ts` is
//! `X-Slack-Request-Timestamp`, keyed with the app's signing secret. The timestamp must be within
//! the tolerance either way.

use http::HeaderMap;
use serde_json::Value;

use super::provider::{Answer, Provider};
use super::IdError;
use super::{util, Algorithm, Encoding, Secret, VerifyError};

const SIGNATURE: &str = "x-slack-signature";
const TIMESTAMP: &str = "x-slack-request-timestamp";
const VERSION: &str = "v0";

/// Checks the Slack signature headers against `body`.
pub(super) fn verify(
    secrets: &[Secret],
    headers: &HeaderMap,
    body: &[u8],
    now: u64,
    tolerance: u64,
) -> Result<(), VerifyError> {
    let candidates = util::single_candidate(headers, SIGNATURE, "v0=", Encoding::Hex)?;
    let ts = util::required_header(headers, TIMESTAMP)?;
    util::check_timestamp(TIMESTAMP, ts, now, tolerance)?;
    let message = [VERSION.as_bytes(), b":", ts.as_bytes(), b":", body];
    util::match_secrets(secrets, Algorithm::Sha256, &message, &candidates)
}

/// The signature and timestamp headers for `body` at `now`.
pub(super) fn sign(secret: &Secret, body: &[u8], now: u64) -> Vec<(String, String)> {
    let ts = now.to_string();
    let message = [VERSION.as_bytes(), b":", ts.as_bytes(), b":", body];
    let signature = util::sign_sha256(secret, &message, Encoding::Hex);
    vec![
        (SIGNATURE.to_owned(), format!("{VERSION}={signature}")),
        (TIMESTAMP.to_owned(), ts),
    ]
}

/// The `challenge` of a `url_verification` handshake. Slack signs the handshake like any other
/// request, so callers should verify it first.
pub(super) fn challenge(body: &[u8]) -> Option<String> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    if doc.get("type")?.as_str()? != "url_verification" {
        return None;
    }
    doc.get("challenge")?.as_str().map(str::to_owned)
}

/// Slack's scheme: the id is the body's `event_id`; `url_verification` is answered with its
/// challenge.
#[derive(Debug, Default)]
pub(super) struct Slack;

impl Provider for Slack {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        verify(secrets, headers, body, now, tolerance)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        util::json_id(body, "/event_id")
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        util::json_str(body, "/event/type").or_else(|| util::json_str(body, "/type"))
    }

    fn id_pointer(&self) -> Option<&str> {
        Some("/event_id")
    }

    fn sign(&self, secret: &Secret, body: &[u8], now: u64, _: &str) -> Vec<(String, String)> {
        sign(secret, body, now)
    }

    fn answer(&self, _: &[Secret], _: &HeaderMap, body: &[u8]) -> Option<Answer> {
        let challenge = challenge(body)?;
        Some(Answer::json(&serde_json::json!({ "challenge": challenge })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    // slackapi/python-slack-sdk, tests/slack_sdk/signature/test_signature_verifier.py (the
    // example from Slack's "Verifying requests from Slack" page).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const TS: u64 = 1_531_420_618;
    const SIGNATURE_V0: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn vector_headers() -> HeaderMap {
        headers([
            ("X-Slack-Signature", SIGNATURE_V0),
            ("X-Slack-Request-Timestamp", "1531420618"),
        ])
    }

    fn check(keys: &[&str], h: &HeaderMap, body: &[u8], now: u64) -> Result<(), VerifyError> {
        verify(&secrets(keys), h, body, now, 300)
    }

    #[test]
    fn slack_sdk_vector() {
        assert_eq!(
            check(&[SECRET], &vector_headers(), BODY.as_bytes(), TS),
            Ok(())
        );
        assert_eq!(
            headers(sign(&Secret::new(SECRET), BODY.as_bytes(), TS)),
            vector_headers()
        );
        let changed = format!("{BODY}------");
        assert_eq!(
            check(&[SECRET], &vector_headers(), changed.as_bytes(), TS),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn round_trip_rotation_and_window() {
        let h = headers(sign(&Secret::new("new"), b"{}", 1000));
        assert_eq!(check(&["old", "new"], &h, b"{}", 1000), Ok(()));
        assert_eq!(check(&["old"], &h, b"{}", 1000), Err(VerifyError::NoMatch));
        let old = check(&["new"], &h, b"{}", 1301);
        assert!(matches!(old, Err(VerifyError::TimestampTooOld { .. })));
        let ahead = check(&["new"], &h, b"{}", 699);
        assert!(matches!(ahead, Err(VerifyError::TimestampInFuture { .. })));
    }

    #[test]
    fn the_timestamp_is_signed() {
        let mut h = vector_headers();
        set(&mut h, TIMESTAMP, b"1531420619");
        assert_eq!(
            check(&[SECRET], &h, BODY.as_bytes(), TS),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn missing_and_malformed() {
        for name in [SIGNATURE, TIMESTAMP] {
            let mut h = vector_headers();
            h.remove(name);
            let got = check(&[SECRET], &h, BODY.as_bytes(), TS);
            assert_eq!(got, Err(VerifyError::MissingHeader(name.into())));
        }
        for (name, value) in [
            (SIGNATURE, &b"v1=00"[..]),
            (TIMESTAMP, b"now"),
            (SIGNATURE, b"v0=\x80"),
        ] {
            let mut h = vector_headers();
            set(&mut h, name, value);
            let got = check(&[SECRET], &h, BODY.as_bytes(), TS);
            assert!(
                matches!(got, Err(VerifyError::MalformedHeader { .. })),
                "{name}"
            );
        }
    }

    #[test]
    fn url_verification_challenge() {
        let body = br#"{"token":"t","challenge":"3eZbrw1aB","type":"url_verification"}"#;
        assert_eq!(challenge(body), Some("3eZbrw1aB".into()));
        assert_eq!(
            challenge(br#"{"type":"event_callback","challenge":"x"}"#),
            None
        );
        assert_eq!(
            challenge(br#"{"type":"url_verification","challenge":5}"#),
            None
        );
        assert_eq!(challenge(b"type=url_verification"), None);
    }
}

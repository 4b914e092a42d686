//! Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>`, the HMAC-SHA256 of
//! `Twitch-Eventsub-Message-Id` + `Twitch-Eventsub-Message-Timestamp` + the raw body, keyed with
//! the secret given when subscribing, as Twitch's EventSub guide computes it. The timestamp is
//! RFC 3339; Twitch says to refuse messages older than 10 minutes, hookbox holds it to the
//! configured tolerance either way.
//!
//! A `webhook_callback_verification` message is answered, once its signature verifies, with its
//! `challenge` as plain text. The id is `Twitch-Eventsub-Message-Id`, which Twitch keeps across
//! retries.

use std::time::{Duration, UNIX_EPOCH};

use http::HeaderMap;
use serde_json::Value;

use super::provider::{Answer, Provider};
use super::{util, Algorithm, Encoding, IdError, Secret, VerifyError};

const SIGNATURE: &str = "twitch-eventsub-message-signature";
const ID: &str = "twitch-eventsub-message-id";
const TIMESTAMP: &str = "twitch-eventsub-message-timestamp";
const TYPE: &str = "twitch-eventsub-message-type";

/// Twitch's EventSub scheme.
#[derive(Debug, Default)]
pub(super) struct Twitch;

/// The RFC 3339 timestamp as whole unix seconds.
fn unix_seconds(text: &str) -> Result<u64, VerifyError> {
    let time = humantime::parse_rfc3339(text)
        .map_err(|_| util::malformed(TIMESTAMP, "not an RFC 3339 time"))?;
    let since = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| util::malformed(TIMESTAMP, "before 1970"))?;
    Ok(since.as_secs())
}

impl Provider for Twitch {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        let candidates = util::single_candidate(headers, SIGNATURE, "sha256=", Encoding::Hex)?;
        let id = util::required_header(headers, ID)?;
        let ts = util::required_header(headers, TIMESTAMP)?;
        util::check_age(unix_seconds(ts)?, now, tolerance)?;
        let message = [id.as_bytes(), ts.as_bytes(), body];
        util::match_secrets(secrets, Algorithm::Sha256, &message, &candidates)
    }

    fn event_id(&self, headers: &HeaderMap, _: &[u8]) -> Result<String, IdError> {
        util::header_id(headers, ID)
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        util::json_str(body, "/subscription/type")
    }

    fn sign(&self, secret: &Secret, body: &[u8], now: u64, id: &str) -> Vec<(String, String)> {
        let time = UNIX_EPOCH + Duration::from_secs(now.min(MAX_SECS));
        let ts = humantime::format_rfc3339_seconds(time).to_string();
        let message = [id.as_bytes(), ts.as_bytes(), body];
        let signature = util::sign_sha256(secret, &message, Encoding::Hex);
        let kind = match util::json_str(body, "/challenge") {
            Some(_) => "webhook_callback_verification",
            None => "notification",
        };
        vec![
            (SIGNATURE.to_owned(), format!("sha256={signature}")),
            (ID.to_owned(), id.to_owned()),
            (TIMESTAMP.to_owned(), ts),
            (TYPE.to_owned(), kind.to_owned()),
        ]
    }

    fn kept_headers(&self) -> &'static [&'static str] {
        &[ID, TYPE, "twitch-eventsub-subscription-type"]
    }

    fn answer(&self, _: &[Secret], headers: &HeaderMap, body: &[u8]) -> Option<Answer> {
        if util::header_str(headers, TYPE)? != "webhook_callback_verification" {
            return None;
        }
        let doc: Value = serde_json::from_slice(body).ok()?;
        let challenge = doc.get("challenge")?.as_str()?;
        Some(Answer {
            status: http::StatusCode::OK,
            content_type: "text/plain",
            body: challenge.as_bytes().to_vec(),
        })
    }
}

/// The latest time `humantime` formats (the end of year 9999), so a huge `now` cannot panic.
const MAX_SECS: u64 = 253_402_300_799;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    // Self-consistent: the challenge example of Twitch's EventSub guide, signed with Python's
    // `hmac` module under a made-up secret (Twitch publishes no signature vector).
    const SECRET: &str = "twitch_selfconsistent";
    const MESSAGE_ID: &str = "e76c6bd4-55c9-4987-8304-da1588d8988b";
    const TS: &str = "2019-11-16T10:11:12.634234626Z";
    const NOW: u64 = 1_573_899_072;
    const BODY: &str = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"2"}}"#;
    const SIG: &str = "sha256=07cd8fe4d7c48cb163e4e9a4486a95c866558492c3e8ef84205342530f3b40a0";

    fn vector_headers() -> HeaderMap {
        headers([
            (SIGNATURE, SIG),
            (ID, MESSAGE_ID),
            (TIMESTAMP, TS),
            (TYPE, "webhook_callback_verification"),
        ])
    }

    fn verify(keys: &[&str], h: &HeaderMap, body: &str, now: u64) -> Result<(), VerifyError> {
        Twitch.verify(&secrets(keys), h, body.as_bytes(), now, 600)
    }

    #[test]
    fn challenge_vector() {
        let h = vector_headers();
        assert_eq!(verify(&[SECRET], &h, BODY, NOW), Ok(()));
        assert_eq!(verify(&["other"], &h, BODY, NOW), Err(VerifyError::NoMatch));
        let answer = Twitch.answer(&[], &h, BODY.as_bytes()).unwrap();
        assert_eq!(answer.body, b"pogchamp-kappa-360noscope-vohiyo");
        assert_eq!(answer.content_type, "text/plain");
        assert_eq!(Twitch.event_id(&h, BODY.as_bytes()), Ok(MESSAGE_ID.into()));
        let kind = Twitch.event_type(&h, BODY.as_bytes());
        assert_eq!(kind, Some("channel.follow".into()));
        let mut notification = h.clone();
        set(&mut notification, TYPE, b"notification");
        assert_eq!(Twitch.answer(&[], &notification, BODY.as_bytes()), None);
        let mut other_id = h;
        set(&mut other_id, ID, b"another");
        let got = verify(&[SECRET], &other_id, BODY, NOW);
        assert_eq!(got, Err(VerifyError::NoMatch));
    }

    #[test]
    fn round_trip_and_window() {
        let body = br#"{"subscription":{"type":"channel.follow"},"event":{}}"#;
        let h = headers(Twitch.sign(&Secret::new("k"), body, NOW, "m1"));
        assert_eq!(Twitch.verify(&secrets(&["k"]), &h, body, NOW, 600), Ok(()));
        assert_eq!(h[TIMESTAMP], "2019-11-16T10:11:12Z");
        assert_eq!(h[TYPE], "notification");
        let old = Twitch.verify(&secrets(&["k"]), &h, body, NOW + 601, 600);
        assert!(matches!(old, Err(VerifyError::TimestampTooOld { .. })));
        let ahead = Twitch.verify(&secrets(&["k"]), &h, body, NOW - 601, 600);
        assert!(matches!(ahead, Err(VerifyError::TimestampInFuture { .. })));
        assert!(!Twitch
            .sign(&Secret::new("k"), body, u64::MAX, "m")
            .is_empty());
    }

    #[test]
    fn missing_and_malformed() {
        for name in [SIGNATURE, ID, TIMESTAMP] {
            let mut h = vector_headers();
            h.remove(name);
            let got = verify(&[SECRET], &h, BODY, NOW);
            assert_eq!(got, Err(VerifyError::MissingHeader(name.into())));
        }
        for (name, bad) in [
            (TIMESTAMP, &b"1573899072"[..]),
            (TIMESTAMP, b"1969-12-31T23:59:59Z"),
            (SIGNATURE, b"sha1=00"),
        ] {
            let mut h = vector_headers();
            set(&mut h, name, bad);
            let got = verify(&[SECRET], &h, BODY, NOW);
            assert!(
                matches!(got, Err(VerifyError::MalformedHeader { .. })),
                "{got:?}"
            );
        }
    }
}

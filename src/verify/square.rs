//! Square: `x-square-hmacsha256-signature: <base64>`, the HMAC-SHA256 of the notification URL
//! followed by the body, keyed with the subscription's signature key. The URL must be exactly the
//! one configured in Square's dashboard. No timestamp is signed.

use http::HeaderMap;

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::IdError;
use super::{util, Algorithm, Encoding, Secret, VerifyError};

const HEADER: &str = "x-square-hmacsha256-signature";

/// Checks the signature header against `notification_url` + `body`.
pub(super) fn verify(
    secrets: &[Secret],
    notification_url: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), VerifyError> {
    let candidates = util::single_candidate(headers, HEADER, "", Encoding::Base64)?;
    let message = [notification_url.as_bytes(), body];
    util::match_secrets(secrets, Algorithm::Sha256, &message, &candidates)
}

/// The signature header for `body` delivered to `notification_url`.
pub(super) fn sign(secret: &Secret, notification_url: &str, body: &[u8]) -> Vec<(String, String)> {
    let message = [notification_url.as_bytes(), body];
    vec![(
        HEADER.to_owned(),
        util::sign_sha256(secret, &message, Encoding::Base64),
    )]
}

/// Square's scheme: signs the configured notification URL; the id is the body's `event_id`.
#[derive(Debug)]
pub(super) struct Square {
    /// The exact URL configured in Square's dashboard for this subscription.
    notification_url: String,
}

/// Builds Square's scheme; it needs the notification URL.
pub(super) fn build(options: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    let notification_url = options.required_url("square")?;
    Ok(Box::new(Square { notification_url }))
}

impl Provider for Square {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        _: u64,
        _: u64,
    ) -> Result<(), VerifyError> {
        verify(secrets, &self.notification_url, headers, body)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        util::json_id(body, "/event_id")
    }

    fn id_pointer(&self) -> Option<&str> {
        Some("/event_id")
    }

    fn sign(&self, secret: &Secret, body: &[u8], _: u64, _: &str) -> Vec<(String, String)> {
        sign(secret, &self.notification_url, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets};

    // square/square-nodejs-sdk, test/utilities/webhooksHelper.test.ts.
    const BODY: &str = r#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;
    const SIGNATURE: &str = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
    const KEY: &str = "Ibxx_5AKakO-3qeNVR61Dw";
    const URL: &str = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";

    fn check(keys: &[&str], url: &str, sig: &str, body: &str) -> Result<(), VerifyError> {
        let h = headers([("X-Square-HmacSha256-Signature", sig)]);
        verify(&secrets(keys), url, &h, body.as_bytes())
    }

    #[test]
    fn square_nodejs_sdk_vectors() {
        assert_eq!(check(&[KEY], URL, SIGNATURE, BODY), Ok(()));
        let hook = "https://webhook.site/webhooks";
        let plain = r#"{"data":{"type":"webhooks","id":"fake_id"}}"#;
        let escaped = r#"{"data":{"type":"webhooks","id":">id<"}}"#;
        let plain_sig = "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA=";
        assert_eq!(check(&["signature-key"], hook, plain_sig, plain), Ok(()));
        let escaped_sig = "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=";
        assert_eq!(
            check(&["signature-key"], hook, escaped_sig, escaped),
            Ok(())
        );
        let other_url = "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9";
        assert_eq!(
            check(&[KEY], other_url, SIGNATURE, BODY),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&["MCmhFRxGX82xMwg5FsaoQA"], URL, SIGNATURE, BODY),
            Err(VerifyError::NoMatch)
        );
        let other_day = BODY.replace("2022-07-13", "2022-06-13");
        assert_eq!(
            check(&[KEY], URL, SIGNATURE, &other_day),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&[KEY], URL, "1z2n3DEJJiUPKcPzQo1ftvbxGdw=", BODY),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn round_trip_and_rotation() {
        let h = headers(sign(&Secret::new("new"), URL, b"{}"));
        assert_eq!(verify(&secrets(&["old", "new"]), URL, &h, b"{}"), Ok(()));
        assert_eq!(
            verify(&secrets(&["old"]), URL, &h, b"{}"),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(&secrets(&["new"]), URL, &h, b"{ }"),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn missing_header() {
        let got = verify(
            &secrets(&[KEY]),
            URL,
            &headers([("x-square-signature", "a")]),
            b"",
        );
        assert_eq!(got, Err(VerifyError::MissingHeader(HEADER.into())));
    }
}

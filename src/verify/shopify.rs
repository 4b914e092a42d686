//! Shopify: `X-Shopify-Hmac-Sha256: <base64>`, the HMAC-SHA256 of the body keyed with the app's
//! client secret. No timestamp is signed; dedupe on `X-Shopify-Webhook-Id` catches replays.

use http::HeaderMap;

use super::provider::Provider;
use super::IdError;
use super::{util, Algorithm, Encoding, Secret, VerifyError};

const HEADER: &str = "x-shopify-hmac-sha256";

/// Checks `X-Shopify-Hmac-Sha256` against `body`.
pub(super) fn verify(
    secrets: &[Secret],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), VerifyError> {
    let candidates = util::single_candidate(headers, HEADER, "", Encoding::Base64)?;
    util::match_secrets(secrets, Algorithm::Sha256, &[body], &candidates)
}

/// The signature header for `body`, and `id` as the webhook id.
pub(super) fn sign(secret: &Secret, body: &[u8], id: &str) -> Vec<(String, String)> {
    vec![
        (
            HEADER.to_owned(),
            util::sign_sha256(secret, &[body], Encoding::Base64),
        ),
        ("x-shopify-webhook-id".to_owned(), id.to_owned()),
    ]
}

/// Shopify's scheme: the id is `X-Shopify-Webhook-Id`, the type `X-Shopify-Topic`.
#[derive(Debug, Default)]
pub(super) struct Shopify;

impl Provider for Shopify {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        _: u64,
        _: u64,
    ) -> Result<(), VerifyError> {
        verify(secrets, headers, body)
    }

    fn event_id(&self, headers: &HeaderMap, _: &[u8]) -> Result<String, IdError> {
        util::header_id(headers, "x-shopify-webhook-id")
    }

    fn event_type(&self, headers: &HeaderMap, _: &[u8]) -> Option<String> {
        util::header_str(headers, "x-shopify-topic")
    }

    fn sign(&self, secret: &Secret, body: &[u8], _: u64, id: &str) -> Vec<(String, String)> {
        sign(secret, body, id)
    }

    fn kept_headers(&self) -> &'static [&'static str] {
        &[
            "x-shopify-topic",
            "x-shopify-shop-domain",
            "x-shopify-webhook-id",
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets};

    // Shopify/shopify-api-php, tests/Webhooks/RegistryTest.php ($processHeaders, $processBody
    // JSON-encoded) with the API secret "steffi" from tests/BaseTestCase.php.
    const PHP_SIGNATURE: &str = "/Redz4YXHLnSmmSN8grr5/Jl/Ua3d7yX3iWbjb8R8wo=";

    fn check(keys: &[&str], signature: &str, body: &[u8]) -> Result<(), VerifyError> {
        verify(
            &secrets(keys),
            &headers([("X-Shopify-Hmac-Sha256", signature)]),
            body,
        )
    }

    #[test]
    fn shopify_api_php_vector() {
        assert_eq!(
            check(&["steffi"], PHP_SIGNATURE, br#"{"foo":"bar"}"#),
            Ok(())
        );
        assert_eq!(
            check(&["steffi"], PHP_SIGNATURE, br#"{"foo": "bar"}"#),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            sign(&Secret::new("steffi"), br#"{"foo":"bar"}"#, "w")[0].1,
            PHP_SIGNATURE
        );
    }

    #[test]
    fn round_trip_rotation_and_rejections() {
        let h = headers(sign(&Secret::new("new"), b"{}", "w1"));
        let keys = secrets(&["old", "new"]);
        assert_eq!(verify(&keys, &h, b"{}"), Ok(()));
        assert_eq!(util::header_id(&h, "X-Shopify-Webhook-Id"), Ok("w1".into()));
        assert_eq!(verify(&keys[..1], &h, b"{}"), Err(VerifyError::NoMatch));
        assert_eq!(verify(&keys, &h, b"{ }"), Err(VerifyError::NoMatch));
    }

    #[test]
    fn missing_and_undecodable() {
        let got = verify(
            &secrets(&["k"]),
            &headers([("x-shopify-topic", "a/b")]),
            b"",
        );
        assert_eq!(got, Err(VerifyError::MissingHeader(HEADER.into())));
        assert_eq!(
            check(&["steffi"], "whoops_this_is_wrong", br#"{"foo":"bar"}"#),
            Err(VerifyError::NoMatch)
        );
    }
}

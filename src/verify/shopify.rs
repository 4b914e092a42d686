//! Shopify: `X-Shopify-Hmac-Sha256: <base64>`, the HMAC-SHA256 of the body keyed with the app's
//! client secret. No timestamp is signed; dedupe on `X-Shopify-Webhook-Id` catches replays.

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::simple::{IdFrom, Simple, TypeFrom};
use super::{Algorithm, Encoding};

const SHOPIFY: Simple = Simple {
    header: "x-shopify-hmac-sha256",
    prefix: "",
    encoding: Encoding::Base64,
    algorithm: Algorithm::Sha256,
    id: IdFrom::Header("x-shopify-webhook-id"),
    event_type: TypeFrom::Header("x-shopify-topic"),
    kept: &[
        "x-shopify-topic",
        "x-shopify-shop-domain",
        "x-shopify-webhook-id",
    ],
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(SHOPIFY))
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;

    use super::*;
    use crate::verify::util::testing::{headers, secrets};
    use crate::verify::{Secret, VerifyError};

    const HEADER: &str = SHOPIFY.header;

    fn verify(secrets: &[Secret], headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        SHOPIFY.verify(secrets, headers, body, 0, 0)
    }

    fn sign(secret: &Secret, body: &[u8], id: &str) -> Vec<(String, String)> {
        SHOPIFY.sign(secret, body, 0, id)
    }

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
        assert_eq!(SHOPIFY.event_id(&h, b""), Ok("w1".into()));
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

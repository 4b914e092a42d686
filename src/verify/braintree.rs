//! Braintree: the form-encoded body carries `bt_payload` (base64 XML) and `bt_signature`, a
//! `&`-separated list of `public_key|hex signature` pairs. The signature for our public key must
//! be the HMAC-SHA1 of `bt_payload`, keyed with the SHA-1 digest of the private key, as
//! `WebhookNotificationGateway.parse` does in Braintree's SDKs. No timestamp is signed.
//!
//! The secret is written `public_key:private_key`. Braintree's notifications carry no id, and a
//! retry repeats the payload, so the id is the SHA-256 of `bt_payload` (`sha256:<hex>`); the type
//! is the payload's `<kind>`.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::HeaderMap;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::{Digest, Sha1};

use super::provider::Provider;
use super::{util, Algorithm, IdError, Secret, VerifyError};

/// What a form encoder leaves alone, as the common ones (`urlencode`, `URLSearchParams`) do.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Most `public_key|signature` pairs read from `bt_signature`.
const MAX_PAIRS: usize = 16;

/// Braintree's scheme.
#[derive(Debug, Default)]
pub(super) struct Braintree;

/// The public key and the HMAC key (SHA-1 of the private key) of a `public:private` secret.
fn keys(secret: &Secret) -> Result<(&str, [u8; 20]), &'static str> {
    let (public, private) = secret
        .expose()
        .split_once(':')
        .ok_or("a Braintree secret is public_key:private_key")?;
    if public.is_empty() || private.is_empty() {
        return Err("a Braintree secret is public_key:private_key");
    }
    Ok((public, Sha1::digest(private.as_bytes()).into()))
}

/// The value of form field `name` in `body`, decoded (`+` is a space, as in any form).
fn field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let value = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)?
        .1;
    let spaced = value.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

/// `bt_payload`, which must be base64 text (with line breaks) as Braintree's SDKs require.
fn payload(body: &[u8]) -> Result<String, VerifyError> {
    let payload = field(body, "bt_payload").ok_or(VerifyError::MalformedBody("no bt_payload"))?;
    let base64ish = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n');
    if payload.is_empty() || !payload.bytes().all(base64ish) {
        return Err(VerifyError::MalformedBody("bt_payload is not base64"));
    }
    Ok(payload)
}

impl Provider for Braintree {
    fn verify(
        &self,
        secrets: &[Secret],
        _: &HeaderMap,
        body: &[u8],
        _: u64,
        _: u64,
    ) -> Result<(), VerifyError> {
        let signature =
            field(body, "bt_signature").ok_or(VerifyError::MalformedBody("no bt_signature"))?;
        let payload = payload(body)?;
        let pairs: Vec<(&str, &str)> = signature
            .split('&')
            .filter_map(|pair| pair.split_once('|'))
            .take(MAX_PAIRS)
            .collect();
        for secret in secrets {
            let Ok((public, key)) = keys(secret) else {
                continue;
            };
            let offered = pairs.iter().filter(|(p, _)| *p == public);
            let candidates: Vec<Vec<u8>> =
                offered.filter_map(|(_, s)| hex::decode(s).ok()).collect();
            if Algorithm::Sha1.any_match([key], &[payload.as_bytes()], &candidates) {
                return Ok(());
            }
        }
        Err(VerifyError::NoMatch)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        let payload = field(body, "bt_payload")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| IdError::MissingField("bt_payload".into()))?;
        Ok(util::body_hash_id(payload.as_bytes()))
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        let payload: String = field(body, "bt_payload")?.split_whitespace().collect();
        let xml = STANDARD.decode(payload).ok()?;
        let xml = std::str::from_utf8(&xml).ok()?;
        let start = xml.find("<kind>")? + "<kind>".len();
        let len = xml[start..].find("</kind>")?;
        let kind = xml[start..start + len].trim();
        (!kind.is_empty()).then(|| kind.to_owned())
    }

    fn sign(&self, _: &Secret, _: &[u8], _: u64, _: &str) -> Vec<(String, String)> {
        // The signature travels in the body: see `sign_body`.
        vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )]
    }

    /// The form body for `body`'s `bt_payload`, or for `body` itself as the payload when it is
    /// not a form, signed with `secret`.
    fn sign_body(&self, secret: &Secret, body: &[u8], _: u64) -> Option<Vec<u8>> {
        let (public, key) = keys(secret).ok()?;
        let payload = match field(body, "bt_payload") {
            Some(payload) => payload,
            None => String::from_utf8(body.to_vec()).ok()?,
        };
        let mac = Algorithm::Sha1.mac(&key, &[payload.as_bytes()]);
        let signature = format!("{public}|{}", hex::encode(mac));
        let encode = |s: &str| utf8_percent_encode(s, FORM).to_string();
        let form = format!(
            "bt_signature={}&bt_payload={}",
            encode(&signature),
            encode(&payload)
        );
        Some(form.into_bytes())
    }

    fn check_secret(&self, secret: &Secret) -> Result<(), &'static str> {
        keys(secret).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::secrets;

    // Self-consistent: a `check` notification signed with Python's `hmac` and `hashlib` as
    // Braintree's SDKs sign sample notifications, form-encoded by `urllib.parse.urlencode`.
    // Braintree publishes no fixed vector: its SDK tests sign with the test gateway's keys.
    const SECRET: &str = "integration_public_key:integration_private_key";
    const BODY: &str = "bt_signature=integration_public_key%7C90e3e12d69b41568a3b3d7f48e5f4286a6d2c945&bt_payload=PD94bWwgdmVyc2lvbj0iMS4wIiBlbmNvZGluZz0iVVRGLTgiPz4KPG5vdGlmaWNhdGlvbj4KICA8%0Aa2luZD5jaGVjazwva2luZD4KICA8dGltZXN0YW1wIHR5cGU9ImRhdGV0aW1lIj4yMDIzLTExLTE0%0AVDIyOjEzOjIwWjwvdGltZXN0YW1wPgogIDxzdWJqZWN0PgogICAgPGNoZWNrIHR5cGU9ImJvb2xl%0AYW4iPnRydWU8L2NoZWNrPgogIDwvc3ViamVjdD4KPC9ub3RpZmljYXRpb24%2BCg%3D%3D%0A";

    fn verify(keys: &[&str], body: &[u8]) -> Result<(), VerifyError> {
        Braintree.verify(&secrets(keys), &HeaderMap::new(), body, 0, 0)
    }

    #[test]
    fn self_consistent_vector() {
        let body = BODY.as_bytes();
        assert_eq!(verify(&["other:key", SECRET], body), Ok(()));
        let wrong_private = "integration_public_key:other";
        assert_eq!(verify(&[wrong_private], body), Err(VerifyError::NoMatch));
        let wrong_public = "other_public_key:integration_private_key";
        assert_eq!(verify(&[wrong_public], body), Err(VerifyError::NoMatch));
        let changed = BODY.replace("%0Aa2luZD5", "%0Aa2luZD6");
        assert_eq!(
            verify(&[SECRET], changed.as_bytes()),
            Err(VerifyError::NoMatch)
        );
        let none = HeaderMap::new();
        assert_eq!(Braintree.event_type(&none, body), Some("check".into()));
        let id = Braintree.event_id(&none, body).unwrap();
        assert!(id.starts_with("sha256:"));
        assert!(!Braintree.needs_json_body());
    }

    #[test]
    fn sign_body_round_trips() {
        let resigned = Braintree
            .sign_body(&Secret::new(SECRET), BODY.as_bytes(), 0)
            .unwrap();
        assert_eq!(std::str::from_utf8(&resigned).unwrap(), BODY);
        let raw_payload = field(BODY.as_bytes(), "bt_payload").unwrap();
        let from_raw = Braintree.sign_body(&Secret::new(SECRET), raw_payload.as_bytes(), 0);
        assert_eq!(from_raw, Some(resigned.clone()));
        assert_eq!(verify(&[SECRET], &resigned), Ok(()));
    }

    #[test]
    fn malformed_bodies_and_secrets() {
        for body in [
            &b""[..],
            b"bt_payload=abc",
            b"bt_signature=k%7C00",
            b"bt_signature=k%7C00&bt_payload=a%20b",
            b"\xff",
        ] {
            let got = verify(&[SECRET], body);
            assert!(matches!(got, Err(VerifyError::MalformedBody(_))), "{got:?}");
        }
        for bad in ["", "nocolon", ":private", "public:"] {
            assert!(Braintree.check_secret(&Secret::new(bad)).is_err(), "{bad}");
        }
    }
}

//! SendGrid's Event Webhook (signed): `X-Twilio-Email-Event-Webhook-Signature` is the base64
//! DER ECDSA P-256/SHA-256 signature of `X-Twilio-Email-Event-Webhook-Timestamp` followed by the
//! raw body, checked against the verification key SendGrid shows (base64 DER public key), as
//! `EventWebhook.verifySignature` does in SendGrid's libraries. Those do not bound the
//! timestamp; hookbox holds it to the tolerance.
//!
//! One request carries a batch of events, each with its own `sg_event_id`. hookbox stores the
//! batch as one event: its id is the `sg_event_id` of a batch of one, or `batch:` and a SHA-256
//! over every `sg_event_id` in order, so a resent batch is a duplicate.
//!
//! `hookbox sign` needs the private key: a secret written `private:<base64 PKCS#8 DER>` signs,
//! and verifies with the public key derived from it (for tests and local development).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::HeaderMap;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};

use super::provider::Provider;
use super::{util, IdError, Secret, VerifyError};

const SIGNATURE: &str = "x-twilio-email-event-webhook-signature";
const TIMESTAMP: &str = "x-twilio-email-event-webhook-timestamp";
const PRIVATE: &str = "private:";

/// SendGrid's signed Event Webhook scheme.
#[derive(Debug, Default)]
pub(super) struct Sendgrid;

fn signing_key(secret: &Secret) -> Option<SigningKey> {
    let der = STANDARD
        .decode(secret.expose().strip_prefix(PRIVATE)?)
        .ok()?;
    SigningKey::from_pkcs8_der(&der).ok()
}

/// The verification key a secret stands for: the base64 DER key itself, or the one derived from
/// a `private:` key.
fn public_key(secret: &Secret) -> Result<VerifyingKey, &'static str> {
    if let Some(key) = signing_key(secret) {
        return Ok(*key.verifying_key());
    }
    if secret.expose().starts_with(PRIVATE) {
        return Err("a private: key is base64 PKCS#8 DER for P-256");
    }
    let der = STANDARD
        .decode(secret.expose())
        .map_err(|_| "a SendGrid verification key is base64")?;
    VerifyingKey::from_public_key_der(&der).map_err(|_| "not a P-256 public key in DER")
}

impl Provider for Sendgrid {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        let text = util::required_header(headers, SIGNATURE)?;
        let ts = util::required_header(headers, TIMESTAMP)?;
        util::check_timestamp(TIMESTAMP, ts, now, tolerance)?;
        let der = STANDARD
            .decode(text)
            .map_err(|_| util::malformed(SIGNATURE, "not base64"))?;
        let signature = Signature::from_der(&der)
            .map_err(|_| util::malformed(SIGNATURE, "not a DER ECDSA signature"))?;
        let message = [ts.as_bytes(), body].concat();
        let keys = secrets.iter().filter_map(|s| public_key(s).ok());
        for key in keys {
            if key.verify(&message, &signature).is_ok() {
                return Ok(());
            }
        }
        Err(VerifyError::NoMatch)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        util::batch_id(body, "/sg_event_id")
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        util::json_str(body, "/0/event")
    }

    fn id_pointer(&self) -> Option<&str> {
        Some("/0/sg_event_id")
    }

    fn sign(&self, secret: &Secret, body: &[u8], now: u64, _: &str) -> Vec<(String, String)> {
        let ts = now.to_string();
        let mut out = vec![(TIMESTAMP.to_owned(), ts.clone())];
        if let Some(key) = signing_key(secret) {
            let signature: Signature = key.sign(&[ts.as_bytes(), body].concat());
            let der = STANDARD.encode(signature.to_der().as_bytes());
            out.push((SIGNATURE.to_owned(), der));
        }
        out
    }

    fn check_secret(&self, secret: &Secret) -> Result<(), &'static str> {
        public_key(secret).map(|_| ())
    }

    /// Both headers, whether or not `secret` could sign (only a private key can).
    fn signature_headers(&self, _: &Secret) -> Vec<String> {
        vec![SIGNATURE.to_owned(), TIMESTAMP.to_owned()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    // The P-256 private key of RFC 6979, appendix A.2.5, as PKCS#8, and its public key as SendGrid
    // shows one (base64 DER), both written out by Python's `cryptography` package.
    const PUBLIC: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A/4QCLi8maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ==";
    const PRIVATE_KEY: &str = "private:MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgya+p2EW6dRZrXCFXZ7HWk05Qw9s26JsSe4piKxIPZyGhRANCAARg/tS6JVqdMclh63TGNW1owEm4kjth+mzmaWIuYPKftnkD/hAIuLyZpBrp6VYovGTy8bIMLX6fUXejwpTURiKZ";

    // RFC 6979, appendix A.2.5: with SHA-256, message "sample" signs deterministically to this
    // (r, s). Checks that our ECDSA is the standard one.
    #[test]
    fn rfc_6979_p256_sha256_sample() {
        let key = signing_key(&Secret::new(PRIVATE_KEY)).unwrap();
        let signature: Signature = key.sign(b"sample");
        assert_eq!(
            hex::encode(signature.to_bytes()),
            "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716\
             f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
        );
        assert_eq!(
            public_key(&Secret::new(PUBLIC)),
            public_key(&Secret::new(PRIVATE_KEY))
        );
    }

    // Self-consistent: signed by Python's `cryptography` package with the key above (ECDSA is
    // randomised there, so only verification is checked). Not a published SendGrid vector.
    const TS: u64 = 1_588_788_367;
    const BODY: &str = "[{\"email\":\"example@example.com\",\"event\":\"processed\",\"sg_event_id\":\"cHJvY2Vzc2VkLTEwMDAwMDAwLTE\",\"sg_message_id\":\"fixture.filter0001.1.1\",\"timestamp\":1588788367}]\r\n";
    const SIG: &str = "MEYCIQC871vxT5dsNPmM5grY/IeZKymcxqJaGjtAzA9wyxhOowIhAO9mtm5KVbLmKxJaOAGFCXIV/Gwg9FV/N3we3WlQk/F+";

    fn vector_headers() -> HeaderMap {
        headers([(SIGNATURE, SIG), (TIMESTAMP, "1588788367")])
    }

    fn verify(keys: &[&str], h: &HeaderMap, body: &str, now: u64) -> Result<(), VerifyError> {
        Sendgrid.verify(&secrets(keys), h, body.as_bytes(), now, 300)
    }

    #[test]
    fn python_signed_vector() {
        assert_eq!(verify(&[PUBLIC], &vector_headers(), BODY, TS), Ok(()));
        let changed = BODY.replace("processed", "delivered");
        let got = verify(&[PUBLIC], &vector_headers(), &changed, TS);
        assert_eq!(got, Err(VerifyError::NoMatch));
        let mut later = vector_headers();
        set(&mut later, TIMESTAMP, b"1588788368");
        assert_eq!(
            verify(&[PUBLIC], &later, BODY, TS),
            Err(VerifyError::NoMatch)
        );
        let id = Sendgrid.event_id(&HeaderMap::new(), BODY.as_bytes());
        assert_eq!(id, Ok("cHJvY2Vzc2VkLTEwMDAwMDAwLTE".into()));
        let kind = Sendgrid.event_type(&HeaderMap::new(), BODY.as_bytes());
        assert_eq!(kind, Some("processed".into()));
    }

    #[test]
    fn round_trip_with_the_private_key() {
        let h = headers(Sendgrid.sign(&Secret::new(PRIVATE_KEY), BODY.as_bytes(), TS, ""));
        assert_eq!(verify(&[PUBLIC], &h, BODY, TS), Ok(()));
        assert_eq!(verify(&[PRIVATE_KEY], &h, BODY, TS), Ok(()));
        let unsigned = Sendgrid.sign(&Secret::new(PUBLIC), BODY.as_bytes(), TS, "");
        assert!(unsigned.iter().all(|(n, _)| n != SIGNATURE));
        let old = verify(&[PUBLIC], &h, BODY, TS + 301);
        assert!(matches!(old, Err(VerifyError::TimestampTooOld { .. })));
    }

    #[test]
    fn batches_get_one_stable_id() {
        let two = r#"[{"sg_event_id":"a","event":"open"},{"sg_event_id":"b"}]"#;
        let id = Sendgrid
            .event_id(&HeaderMap::new(), two.as_bytes())
            .unwrap();
        assert!(id.starts_with("batch:") && id.len() == 70, "{id}");
        let swapped = r#"[{"sg_event_id":"b"},{"sg_event_id":"a"}]"#;
        assert_ne!(
            Sendgrid.event_id(&HeaderMap::new(), swapped.as_bytes()),
            Ok(id)
        );
        for bad in ["[]", "{}", r#"[{"sg_event_id":""}]"#, r#"[{"id":"x"}]"#] {
            assert!(Sendgrid
                .event_id(&HeaderMap::new(), bad.as_bytes())
                .is_err());
        }
    }

    #[test]
    fn missing_and_malformed() {
        for name in [SIGNATURE, TIMESTAMP] {
            let mut h = vector_headers();
            h.remove(name);
            let got = verify(&[PUBLIC], &h, BODY, TS);
            assert_eq!(got, Err(VerifyError::MissingHeader(name.into())));
        }
        for bad in [&b"not base64!"[..], b"AAAA", b"MEUCIQ=="] {
            let mut h = vector_headers();
            set(&mut h, SIGNATURE, bad);
            let got = verify(&[PUBLIC], &h, BODY, TS);
            assert!(
                matches!(got, Err(VerifyError::MalformedHeader { .. })),
                "{got:?}"
            );
        }
        for bad in ["", "AAAA", "private:AAAA", "not base64!"] {
            assert!(Sendgrid.check_secret(&Secret::new(bad)).is_err(), "{bad}");
        }
    }
}

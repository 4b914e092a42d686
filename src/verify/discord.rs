//! Discord interactions and webhook events: `X-Signature-Ed25519: <hex>` is the Ed25519
//! signature of `X-Signature-Timestamp` followed by the raw body, checked against the
//! application's public key (hex, from the Developer Portal), as `verifyKey` does in
//! discord-interactions. Discord's libraries do not bound the timestamp; hookbox holds it to the
//! tolerance, as for every signed timestamp.
//!
//! Both kinds of endpoint share the signature but not the body:
//! - an interaction PING (`"type": 1`, no `event`) is answered with `{"type": 1}`; every other
//!   interaction is stored under its `id` (a snowflake);
//! - a webhook-events PING (`"type": 0`) is answered with an empty 204; a webhook event
//!   (`"type": 1` with an `event` object) carries no id, so it is stored under
//!   `sha256:<hex of the body>` — Discord resends the same body when it retries, which makes a
//!   retry a duplicate — with `event.type` as its type.
//!
//! `hookbox sign` needs the private key: a secret written `private:<hex 32-byte seed>` signs, and
//! verifies with the public key derived from it (for tests and local development).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use http::HeaderMap;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::provider::{Answer, Provider};
use super::{util, IdError, Secret, VerifyError};

const SIGNATURE: &str = "x-signature-ed25519";
const TIMESTAMP: &str = "x-signature-timestamp";
const PRIVATE: &str = "private:";

/// Discord's interaction scheme.
#[derive(Debug, Default)]
pub(super) struct Discord;

fn bytes32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

fn signing_key(secret: &Secret) -> Option<SigningKey> {
    let seed = secret.expose().strip_prefix(PRIVATE)?;
    bytes32(seed).map(|seed| SigningKey::from_bytes(&seed))
}

/// The public key a secret stands for: the hex key itself, or the one derived from `private:`.
fn public_key(secret: &Secret) -> Result<VerifyingKey, &'static str> {
    if let Some(key) = signing_key(secret) {
        return Ok(key.verifying_key());
    }
    if secret.expose().starts_with(PRIVATE) {
        return Err("a private: key is 32 bytes of hex");
    }
    let bytes = bytes32(secret.expose()).ok_or("a Discord public key is 32 bytes of hex")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not an Ed25519 public key")
}

/// Whether `signature` is `key`'s over `message` (parts concatenated).
fn check(key: &VerifyingKey, message: &[&[u8]], signature: &Signature) -> bool {
    // `verify_strict` refuses the weak keys and non-canonical encodings some verifiers accept.
    key.verify_strict(&message.concat(), signature).is_ok()
}

impl Provider for Discord {
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
        let bytes: [u8; 64] = hex::decode(text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| util::malformed(SIGNATURE, "not 64 bytes of hex"))?;
        let signature = Signature::from_bytes(&bytes);
        let message = [ts.as_bytes(), body];
        let keys = secrets.iter().filter_map(|s| public_key(s).ok());
        for key in keys {
            if check(&key, &message, &signature) {
                return Ok(());
            }
        }
        Err(VerifyError::NoMatch)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(doc) if is_webhook_event(&doc) => {
                Ok(format!("sha256:{}", hex::encode(Sha256::digest(body))))
            }
            _ => util::json_id(body, "/id"),
        }
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        let doc: Value = serde_json::from_slice(body).ok()?;
        if is_webhook_event(&doc) {
            return doc.pointer("/event/type")?.as_str().map(str::to_owned);
        }
        let name = match doc.get("type")?.as_u64()? {
            1 => "PING",
            2 => "APPLICATION_COMMAND",
            3 => "MESSAGE_COMPONENT",
            4 => "APPLICATION_COMMAND_AUTOCOMPLETE",
            5 => "MODAL_SUBMIT",
            _ => return None,
        };
        Some(name.to_owned())
    }

    fn id_pointer(&self) -> Option<&str> {
        Some("/id")
    }

    fn sign(&self, secret: &Secret, body: &[u8], now: u64, _: &str) -> Vec<(String, String)> {
        let ts = now.to_string();
        let mut out = vec![(TIMESTAMP.to_owned(), ts.clone())];
        if let Some(key) = signing_key(secret) {
            let signature = key.sign(&[ts.as_bytes(), body].concat());
            out.push((SIGNATURE.to_owned(), hex::encode(signature.to_bytes())));
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

    fn answer(&self, _: &[Secret], _: &HeaderMap, body: &[u8]) -> Option<Answer> {
        let doc: Value = serde_json::from_slice(body).ok()?;
        match doc.get("type")?.as_u64()? {
            0 => Some(Answer::no_content()),
            1 if !is_webhook_event(&doc) => Some(Answer::json(&json!({ "type": 1 }))),
            _ => None,
        }
    }
}

/// A webhook event (`"type": 1` with an `event` object), as opposed to an interaction.
fn is_webhook_event(doc: &Value) -> bool {
    doc.get("type").and_then(Value::as_u64) == Some(1)
        && doc.get("event").is_some_and(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    // RFC 8032, section 7.1, TEST 1: secret key, public key, and the signature of the empty
    // message. Checks that our Ed25519 is the standard one.
    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const EMPTY_SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    #[test]
    fn rfc_8032_test_1() {
        let key = public_key(&Secret::new(PUBLIC)).unwrap();
        let bytes: [u8; 64] = hex::decode(EMPTY_SIGNATURE).unwrap().try_into().unwrap();
        assert!(check(&key, &[], &Signature::from_bytes(&bytes)));
        let private = Secret::new(format!("{PRIVATE}{SEED}"));
        assert_eq!(public_key(&private).unwrap(), key);
        let signed = signing_key(&private).unwrap().sign(b"");
        assert_eq!(hex::encode(signed.to_bytes()), EMPTY_SIGNATURE);
    }

    // Self-consistent: a PING signed with the RFC 8032 key by Python's `cryptography` package
    // (not a published Discord vector).
    const TS: u64 = 1_700_000_000;
    const PING: &str = r#"{"application_id":"100000000000000001","id":"100000000000000002","token":"aW50ZXJhY3Rpb246MTAwMDAwMDAwMDAwMDAwMDAy","type":1,"user":{"id":"100000000000000003","username":"fixture"},"version":1}"#;
    const PING_SIGNATURE: &str = "ec526e90370afbd4ad0d55012bfae590304533bf99a151e4c8fdcbe602a990e17570466eb773d8dd40a8b19af0c092724976367f26227664cad7e257c6a93e04";

    fn ping_headers() -> HeaderMap {
        headers([
            ("X-Signature-Ed25519", PING_SIGNATURE),
            ("X-Signature-Timestamp", "1700000000"),
        ])
    }

    fn verify(keys: &[&str], h: &HeaderMap, body: &str, now: u64) -> Result<(), VerifyError> {
        Discord.verify(&secrets(keys), h, body.as_bytes(), now, 300)
    }

    #[test]
    fn ping_verifies_and_is_answered() {
        assert_eq!(verify(&[PUBLIC], &ping_headers(), PING, TS), Ok(()));
        let other = "0".repeat(64);
        assert_eq!(verify(&[&other, PUBLIC], &ping_headers(), PING, TS), Ok(()));
        let changed = PING.replace("fixture", "fixturf");
        let got = verify(&[PUBLIC], &ping_headers(), &changed, TS);
        assert_eq!(got, Err(VerifyError::NoMatch));
        let answer = Discord
            .answer(&[], &ping_headers(), PING.as_bytes())
            .unwrap();
        assert_eq!(answer.body, br#"{"type":1}"#);
        let body = PING.as_bytes();
        assert_eq!(
            Discord.event_type(&HeaderMap::new(), body),
            Some("PING".into())
        );
        let command = PING.replace(r#""type":1"#, r#""type":2"#);
        assert_eq!(
            Discord.answer(&[], &ping_headers(), command.as_bytes()),
            None
        );
        let id = Discord.event_id(&HeaderMap::new(), command.as_bytes());
        assert_eq!(id, Ok("100000000000000002".into()));
    }

    /// Shapes from Discord's "Webhook Events" page (developers/events/webhook-events).
    #[test]
    fn webhook_events_are_pinged_with_204_and_stored_by_body_hash() {
        let ping = br#"{"version":1,"application_id":"1234560123453231555","type":0}"#;
        let answer = Discord.answer(&[], &HeaderMap::new(), ping).unwrap();
        assert_eq!(answer.status, http::StatusCode::NO_CONTENT);
        assert!(answer.body.is_empty());

        let event = br#"{"version":1,"application_id":"1234560123453231555","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{"scopes":["applications.commands"]}}}"#;
        assert_eq!(
            Discord.answer(&[], &HeaderMap::new(), event),
            None,
            "stored, not answered"
        );
        let id = Discord.event_id(&HeaderMap::new(), event).unwrap();
        assert_eq!(id, format!("sha256:{}", hex::encode(Sha256::digest(event))));
        assert_eq!(
            Discord.event_type(&HeaderMap::new(), event),
            Some("APPLICATION_AUTHORIZED".into())
        );
    }

    #[test]
    fn signing_needs_the_private_key_and_round_trips() {
        let private = Secret::new(format!("{PRIVATE}{SEED}"));
        let h = headers(Discord.sign(&private, PING.as_bytes(), TS, ""));
        assert_eq!(h, ping_headers());
        let unsigned = Discord.sign(&Secret::new(PUBLIC), PING.as_bytes(), TS, "");
        assert!(unsigned.iter().all(|(n, _)| n != SIGNATURE));
        let key = format!("{PRIVATE}{SEED}");
        assert_eq!(verify(&[&key], &h, PING, TS), Ok(()));
    }

    #[test]
    fn window_missing_and_malformed() {
        let old = verify(&[PUBLIC], &ping_headers(), PING, TS + 301);
        assert!(matches!(old, Err(VerifyError::TimestampTooOld { .. })));
        for name in [SIGNATURE, TIMESTAMP] {
            let mut h = ping_headers();
            h.remove(name);
            let got = verify(&[PUBLIC], &h, PING, TS);
            assert_eq!(got, Err(VerifyError::MissingHeader(name.into())));
        }
        for bad in [&b"abc"[..], b"zz", &[b'a'; 130]] {
            let mut h = ping_headers();
            set(&mut h, SIGNATURE, bad);
            let got = verify(&[PUBLIC], &h, PING, TS);
            assert!(matches!(got, Err(VerifyError::MalformedHeader { .. })));
        }
        for bad in ["", "abcd", "private:abcd", &"g".repeat(64)] {
            assert!(Discord.check_secret(&Secret::new(bad)).is_err(), "{bad}");
        }
        assert!(Discord.check_secret(&Secret::new(PUBLIC)).is_ok());
    }
}

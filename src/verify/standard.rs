//! Standard Webhooks and Svix: `webhook-id`, `webhook-timestamp` and `webhook-signature` (or
//! the same under `svix-`). The signature header is a space-separated list of `v1,<base64>`
//! entries, each the HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with the base64-decoded
//! secret (after an optional `whsec_`). Any `v1` may match; other versions (such as the
//! asymmetric `v1a`) are skipped. The timestamp must be within the tolerance either way.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::HeaderMap;

use super::provider::Provider;
use super::{util, Algorithm, Encoding, IdError, Secret, VerifyError};

/// The three header names of one family.
struct Names {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const WEBHOOK: Names = Names {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};

const SVIX: Names = Names {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

/// Svix names only when the request uses no `webhook-*` name and some `svix-*` one, so errors
/// about a bare request name the standard headers.
fn names(headers: &HeaderMap) -> &'static Names {
    let uses = |n: &Names| {
        [n.id, n.timestamp, n.signature]
            .iter()
            .any(|h| headers.contains_key(*h))
    };
    if !uses(&WEBHOOK) && uses(&SVIX) {
        &SVIX
    } else {
        &WEBHOOK
    }
}

/// Checks the signature headers against `body`; the timestamp must be within `tolerance` of `now`.
pub(super) fn verify(
    secrets: &[Secret],
    headers: &HeaderMap,
    body: &[u8],
    now: u64,
    tolerance: u64,
) -> Result<(), VerifyError> {
    let names = names(headers);
    let id = util::required_header(headers, names.id)?;
    let ts = util::required_header(headers, names.timestamp)?;
    let list = util::required_header(headers, names.signature)?;
    util::check_timestamp(names.timestamp, ts, now, tolerance)?;
    let offered = util::pairs(list, ' ', ',')
        .filter(|(v, _)| *v == "v1")
        .map(|(_, s)| s);
    let candidates = util::candidates(names.signature, offered, Encoding::Base64)?;
    let keys = secrets.iter().filter_map(|s| decode_secret(s).ok());
    let message = [id.as_bytes(), b".", ts.as_bytes(), b".", body];
    util::match_keys(keys, Algorithm::Sha256, &message, &candidates)
}

/// The `webhook-*` headers for `body` at `now` with event id `id`. A secret that does not decode
/// yields no signature header (config rejects such secrets through `decode_secret`).
pub(super) fn sign(secret: &Secret, body: &[u8], now: u64, id: &str) -> Vec<(String, String)> {
    let ts = now.to_string();
    let mut out = vec![
        (WEBHOOK.id.to_owned(), id.to_owned()),
        (WEBHOOK.timestamp.to_owned(), ts.clone()),
    ];
    if let Ok(key) = decode_secret(secret) {
        let message = [id.as_bytes(), b".", ts.as_bytes(), b".", body];
        let mac = Algorithm::Sha256.mac(&key, &message);
        out.push((
            WEBHOOK.signature.to_owned(),
            format!("v1,{}", Encoding::Base64.encode(&mac)),
        ));
    }
    out
}

/// The event id from `webhook-id` (or `svix-id`).
pub(super) fn event_id(headers: &HeaderMap) -> Result<String, IdError> {
    util::header_id(headers, names(headers).id)
}

/// The HMAC key: the secret after an optional `whsec_` prefix, base64-decoded.
pub(super) fn decode_secret(secret: &Secret) -> Result<Vec<u8>, &'static str> {
    let text = secret.expose();
    let encoded = text.strip_prefix("whsec_").unwrap_or(text);
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| "secret is not base64 after the optional whsec_ prefix")?;
    if key.is_empty() {
        return Err("secret is empty");
    }
    Ok(key)
}

/// Standard Webhooks (and Svix): the id is `webhook-id` (or `svix-id`).
#[derive(Debug, Default)]
pub(super) struct Standard;

impl Provider for Standard {
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

    fn event_id(&self, headers: &HeaderMap, _: &[u8]) -> Result<String, IdError> {
        event_id(headers)
    }

    fn sign(&self, secret: &Secret, body: &[u8], now: u64, id: &str) -> Vec<(String, String)> {
        sign(secret, body, now, id)
    }

    fn check_secret(&self, secret: &Secret) -> Result<(), &'static str> {
        decode_secret(secret).map(|_| ())
    }

    fn kept_headers(&self) -> &'static [&'static str] {
        &["webhook-id", "svix-id"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    // standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts ("sign
    // function works"); Svix's libraries test against the same values.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: u64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const OTHER: &str = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

    fn family(prefix: &str, signature: &str, ts: u64) -> HeaderMap {
        let ts = ts.to_string();
        let names = ["id", "timestamp", "signature"].map(|n| format!("{prefix}-{n}"));
        let [id, tsn, sig] = names;
        headers([(id, ID), (tsn, ts.as_str()), (sig, signature)])
    }

    fn check(keys: &[&str], h: &HeaderMap, body: &[u8], now: u64) -> Result<(), VerifyError> {
        verify(&secrets(keys), h, body, now, 300)
    }

    #[test]
    fn standard_webhooks_vector_under_both_families() {
        assert_eq!(
            check(&[SECRET], &family("webhook", SIGNATURE, TS), BODY, TS),
            Ok(())
        );
        assert_eq!(
            check(&[SECRET], &family("svix", SIGNATURE, TS), BODY, TS),
            Ok(())
        );
        assert_eq!(
            check(&[&SECRET[6..]], &family("Webhook", SIGNATURE, TS), BODY, TS),
            Ok(())
        );
        assert_eq!(
            headers(sign(&Secret::new(SECRET), BODY, TS, ID)),
            family("webhook", SIGNATURE, TS)
        );
        assert_eq!(event_id(&family("svix", SIGNATURE, TS)), Ok(ID.into()));
    }

    #[test]
    fn several_signatures_one_valid() {
        let list = format!("{OTHER} v2,{} {SIGNATURE}  v1a,xyz", &OTHER[3..]);
        assert_eq!(
            check(&[SECRET], &family("webhook", &list, TS), BODY, TS),
            Ok(())
        );
        let only_others = format!("{OTHER} v2,{}", &SIGNATURE[3..]);
        let got = check(&[SECRET], &family("webhook", &only_others, TS), BODY, TS);
        assert_eq!(got, Err(VerifyError::NoMatch));
    }

    #[test]
    fn round_trip_rotation_and_rejections() {
        let new = "whsec_bmV3LXNlY3JldC1mb3ItdGVzdHM=";
        let h = headers(sign(&Secret::new(new), b"{}", 500, "m1"));
        assert_eq!(check(&[SECRET, new], &h, b"{}", 500), Ok(()));
        assert_eq!(check(&[SECRET], &h, b"{}", 500), Err(VerifyError::NoMatch));
        assert_eq!(check(&[new], &h, b"{ }", 500), Err(VerifyError::NoMatch));
        let mut other_id = h.clone();
        set(&mut other_id, "webhook-id", b"m2");
        assert_eq!(
            check(&[new], &other_id, b"{}", 500),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn timestamp_window_both_ways() {
        let old = check(&[SECRET], &family("webhook", SIGNATURE, TS), BODY, TS + 301);
        assert!(matches!(old, Err(VerifyError::TimestampTooOld { .. })));
        let ahead = check(&[SECRET], &family("webhook", SIGNATURE, TS), BODY, TS - 301);
        assert!(matches!(ahead, Err(VerifyError::TimestampInFuture { .. })));
    }

    #[test]
    fn missing_and_malformed() {
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            let mut h = family("webhook", SIGNATURE, TS);
            h.remove(name);
            assert_eq!(
                check(&[SECRET], &h, BODY, TS),
                Err(VerifyError::MissingHeader(name.into()))
            );
        }
        let got = check(&[SECRET], &headers([("svix-id", ID)]), BODY, TS);
        assert_eq!(
            got,
            Err(VerifyError::MissingHeader("svix-timestamp".into()))
        );
        for sig in ["v2,abc", "g0hM9SsE", "v1a,abc"] {
            let got = check(&[SECRET], &family("webhook", sig, TS), BODY, TS);
            assert!(
                matches!(got, Err(VerifyError::MalformedHeader { .. })),
                "{sig}"
            );
        }
        let mut h = family("webhook", SIGNATURE, TS);
        set(&mut h, "webhook-timestamp", b"hello");
        assert!(matches!(
            check(&[SECRET], &h, BODY, TS),
            Err(VerifyError::MalformedHeader { .. })
        ));
        for partial in ["v1,", "v1,g0hM9SsE", "v1,dawfeoifkpqwoekfpqoekf"] {
            let got = check(&[SECRET], &family("webhook", partial, TS), BODY, TS);
            assert_eq!(got, Err(VerifyError::NoMatch), "{partial}");
        }
    }

    #[test]
    fn secrets_must_decode() {
        assert!(decode_secret(&Secret::new(SECRET)).is_ok());
        assert!(decode_secret(&Secret::new("whsec_")).is_err());
        assert!(decode_secret(&Secret::new("whsec_not base64!")).is_err());
        let bad = Secret::new("not base64!");
        assert!(sign(&bad, b"", 0, "m")
            .iter()
            .all(|(n, _)| n != "webhook-signature"));
        let h = family("webhook", SIGNATURE, TS);
        assert_eq!(check(&["not base64!", SECRET], &h, BODY, TS), Ok(()));
    }
}

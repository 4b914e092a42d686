//! GitHub: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the body keyed with the
//! webhook secret. GitHub signs no timestamp, so replays are caught only by event-id dedupe on
//! `X-GitHub-Delivery`.

use http::HeaderMap;

use super::provider::Provider;
use super::IdError;
use super::{util, Algorithm, Encoding, Secret, VerifyError};

const HEADER: &str = "x-hub-signature-256";
const PREFIX: &str = "sha256=";

/// Checks `X-Hub-Signature-256` against `body`.
pub(super) fn verify(
    secrets: &[Secret],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), VerifyError> {
    let candidates = util::single_candidate(headers, HEADER, PREFIX, Encoding::Hex)?;
    util::match_secrets(secrets, Algorithm::Sha256, &[body], &candidates)
}

/// The signature header for `body`, and `id` as the delivery id.
pub(super) fn sign(secret: &Secret, body: &[u8], id: &str) -> Vec<(String, String)> {
    let signature = util::sign_sha256(secret, &[body], Encoding::Hex);
    vec![
        (HEADER.to_owned(), format!("{PREFIX}{signature}")),
        ("x-github-delivery".to_owned(), id.to_owned()),
    ]
}

/// GitHub's scheme: the id is `X-GitHub-Delivery`, the type `X-GitHub-Event`.
#[derive(Debug, Default)]
pub(super) struct Github;

impl Provider for Github {
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
        util::header_id(headers, "x-github-delivery")
    }

    fn event_type(&self, headers: &HeaderMap, _: &[u8]) -> Option<String> {
        util::header_str(headers, "x-github-event")
    }

    fn sign(&self, secret: &Secret, body: &[u8], _: u64, id: &str) -> Vec<(String, String)> {
        sign(secret, body, id)
    }

    fn kept_headers(&self) -> &'static [&'static str] {
        &["x-github-event", "x-github-delivery", "x-github-hook-id"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets};

    // github/docs, content/webhooks/using-webhooks/validating-webhook-deliveries.md.
    const DOCS_SECRET: &str = "It's a Secret to Everybody";
    const DOCS_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn check(keys: &[&str], signature: &str, body: &[u8]) -> Result<(), VerifyError> {
        verify(
            &secrets(keys),
            &headers([("X-Hub-Signature-256", signature)]),
            body,
        )
    }

    #[test]
    fn github_docs_vector() {
        assert_eq!(
            check(&[DOCS_SECRET], DOCS_SIGNATURE, b"Hello, World!"),
            Ok(())
        );
        let signed = sign(&Secret::new(DOCS_SECRET), b"Hello, World!", "d1");
        assert_eq!(signed[0].1, DOCS_SIGNATURE);
        // Hex digits in upper case are the same signature.
        let upper = format!("{PREFIX}{}", DOCS_SIGNATURE[PREFIX.len()..].to_uppercase());
        assert_eq!(check(&[DOCS_SECRET], &upper, b"Hello, World!"), Ok(()));
    }

    #[test]
    fn round_trip_rotation_and_rejections() {
        let h = headers(sign(&Secret::new("new"), b"{}", "d1"));
        let keys = secrets(&["old", "new"]);
        assert_eq!(verify(&keys, &h, b"{}"), Ok(()));
        assert_eq!(util::header_id(&h, "x-github-delivery"), Ok("d1".into()));
        assert_eq!(verify(&keys[..1], &h, b"{}"), Err(VerifyError::NoMatch));
        assert_eq!(verify(&keys, &h, b"{ }"), Err(VerifyError::NoMatch));
    }

    #[test]
    fn missing_and_malformed() {
        let got = verify(
            &secrets(&["k"]),
            &headers([("x-hub-signature", "sha1=00")]),
            b"",
        );
        assert_eq!(got, Err(VerifyError::MissingHeader(HEADER.into())));
        for bad in ["757107ea", "sha1=757107ea", "SHA256=00"] {
            let got = check(&["k"], bad, b"");
            assert!(
                matches!(got, Err(VerifyError::MalformedHeader { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            check(&[DOCS_SECRET], "sha256=not-hex", b"Hello, World!"),
            Err(VerifyError::NoMatch)
        );
    }
}

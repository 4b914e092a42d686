//! GitHub: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the body keyed with the
//! webhook secret. GitHub signs no timestamp, so replays are caught only by event-id dedupe on
//! `X-GitHub-Delivery`.

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::simple::{IdFrom, Simple, TypeFrom};
use super::{Algorithm, Encoding};

const GITHUB: Simple = Simple {
    header: "x-hub-signature-256",
    prefix: "sha256=",
    encoding: Encoding::Hex,
    algorithm: Algorithm::Sha256,
    id: IdFrom::Header("x-github-delivery"),
    event_type: TypeFrom::Header("x-github-event"),
    kept: &["x-github-event", "x-github-delivery", "x-github-hook-id"],
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(GITHUB))
}

#[cfg(test)]
pub(crate) mod tests {
    use http::HeaderMap;

    use super::*;
    use crate::verify::util::testing::{headers, secrets};
    use crate::verify::{util, Secret, VerifyError};

    const HEADER: &str = GITHUB.header;
    const PREFIX: &str = GITHUB.prefix;

    fn verify(secrets: &[Secret], headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        GITHUB.verify(secrets, headers, body, 0, 0)
    }

    fn sign(secret: &Secret, body: &[u8], id: &str) -> Vec<(String, String)> {
        GITHUB.sign(secret, body, 0, id)
    }

    // github/docs, content/webhooks/using-webhooks/validating-webhook-deliveries.md.
    pub(crate) const DOCS_SECRET: &str = "It's a Secret to Everybody";
    pub(crate) const DOCS_SIGNATURE: &str =
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

//! Intercom: `X-Hub-Signature: sha1=<hex>`, the HMAC-SHA1 of the raw body keyed with the app's
//! client secret, as Intercom's webhook docs describe. No timestamp is signed. The id is the
//! notification's `id` (`notif_…`), the type its `topic`.

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::simple::{IdFrom, Simple, TypeFrom};
use super::{Algorithm, Encoding};

const INTERCOM: Simple = Simple {
    header: "x-hub-signature",
    prefix: "sha1=",
    encoding: Encoding::Hex,
    algorithm: Algorithm::Sha1,
    id: IdFrom::Body("/id"),
    event_type: TypeFrom::Body("/topic"),
    kept: &[],
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(INTERCOM))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::simple::testing::{exercise, Vector};

    // Self-consistent vector, not a published one: the signature was computed with Python's
    // `hmac` module from the key and body below.
    #[test]
    fn self_consistent_vector() {
        exercise(
            &INTERCOM,
            &Vector {
                key: "ic_selfconsistent",
                body: r#"{"type":"notification_event","id":"notif_ccd8a4d2-8c17-4bff-a9a4-0c2a1f1b0a88","topic":"conversation.user.created","data":{}}"#,
                signature: "sha1=d0e5873a1e7924f0d0ef4a60b1880d8a8563910d",
                extra: &[],
                id: "notif_ccd8a4d2-8c17-4bff-a9a4-0c2a1f1b0a88",
                event_type: "conversation.user.created",
            },
        );
    }
}

//! Typeform: `Typeform-Signature: sha256=<base64>`, the HMAC-SHA256 of the raw body keyed with
//! the webhook's secret, as Typeform's "secure your webhooks" guide shows. No timestamp is
//! signed. The id is the body's `event_id`, the type its `event_type` (`form_response`).

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::simple::{IdFrom, Simple, TypeFrom};
use super::{Algorithm, Encoding};

const TYPEFORM: Simple = Simple {
    header: "typeform-signature",
    prefix: "sha256=",
    encoding: Encoding::Base64,
    algorithm: Algorithm::Sha256,
    id: IdFrom::Body("/event_id"),
    event_type: TypeFrom::Body("/event_type"),
    kept: &[],
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(TYPEFORM))
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
            &TYPEFORM,
            &Vector {
                key: "tf_selfconsistent",
                body: r#"{"event_id":"01H8X2ZG5V9B1KQ6ZJ3T1P8RAW","event_type":"form_response","form_response":{"form_id":"lT4Z3j"}}"#,
                signature: "sha256=QDBzDVs8rKxZbckOo7XWsq79jhMjMhTIx1VCvsb3+Z0=",
                extra: &[],
                id: "01H8X2ZG5V9B1KQ6ZJ3T1P8RAW",
                event_type: "form_response",
            },
        );
    }
}

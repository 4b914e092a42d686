//! Lemon Squeezy: `X-Signature: <hex>`, the HMAC-SHA256 of the raw body keyed with the
//! webhook's signing secret, as Lemon Squeezy's docs show. No timestamp is signed.
//!
//! Lemon Squeezy sends no event id. The id is the object's `data.id`, `meta.event_name` and the
//! object's `data.attributes.updated_at` joined by `:`: a retry repeats all three, while two
//! updates of one subscription differ in `updated_at`.

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::simple::{IdFrom, Simple, TypeFrom};
use super::{Algorithm, Encoding};

const LEMONSQUEEZY: Simple = Simple {
    header: "x-signature",
    prefix: "",
    encoding: Encoding::Hex,
    algorithm: Algorithm::Sha256,
    id: IdFrom::Joined(&[
        "/data/id",
        "/meta/event_name",
        "/data/attributes/updated_at",
    ]),
    event_type: TypeFrom::Body("/meta/event_name"),
    kept: &["x-event-name"],
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(LEMONSQUEEZY))
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
            &LEMONSQUEEZY,
            &Vector {
                key: "ls_selfconsistent",
                body: r#"{"meta":{"event_name":"order_created"},"data":{"type":"orders","id":"1","attributes":{"updated_at":"2021-08-17T09:45:53.000000Z"}}}"#,
                signature: "d11725422d07d64a4cd71ee85c23b2e7ee19c83f284e47dacf423c4d1a6a491d",
                extra: &[],
                id: "1:order_created:2021-08-17T09:45:53.000000Z",
                event_type: "order_created",
            },
        );
    }
}

//! Coinbase Commerce: `X-CC-Webhook-Signature: <hex>`, the HMAC-SHA256 of the raw body keyed
//! with the endpoint's shared secret, as `Webhook.verifySigHeader` does in coinbase-commerce-node.
//! No timestamp is signed. The id is the event's `event.id` (a UUID); the body's top-level `id`
//! numbers the delivery, not the event.

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::simple::{IdFrom, Simple, TypeFrom};
use super::{Algorithm, Encoding};

const COINBASE: Simple = Simple {
    header: "x-cc-webhook-signature",
    prefix: "",
    encoding: Encoding::Hex,
    algorithm: Algorithm::Sha256,
    id: IdFrom::Body("/event/id"),
    event_type: TypeFrom::Body("/event/type"),
    kept: &[],
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(COINBASE))
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
            &COINBASE,
            &Vector {
                key: "cc_selfconsistent",
                body: r#"{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","event":{"id":"24934862-d980-46cb-9402-43c81b0cdba6","type":"charge:created","data":{"code":"66BEOV2A"}}}"#,
                signature: "1de7fa258dd208db0c2b64dcdd00d64b94c24fb197fe87a1ae6c75a10e719b87",
                extra: &[],
                id: "24934862-d980-46cb-9402-43c81b0cdba6",
                event_type: "charge:created",
            },
        );
    }
}

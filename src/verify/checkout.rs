//! Checkout.com: `Cko-Signature: <hex>`, the HMAC-SHA256 of the raw body keyed with the
//! webhook's signature key (shown once when the webhook is created in the Dashboard), as
//! Checkout.com's docs describe it. No timestamp is signed, so replays are caught by dedupe on
//! the body's event `id` (`evt_…`), the same id on every retry.

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::simple::{IdFrom, Simple, TypeFrom};
use super::{Algorithm, Encoding};

const CHECKOUT: Simple = Simple {
    header: "cko-signature",
    prefix: "",
    encoding: Encoding::Hex,
    algorithm: Algorithm::Sha256,
    id: IdFrom::Body("/id"),
    event_type: TypeFrom::Body("/type"),
    kept: &[],
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(CHECKOUT))
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
            &CHECKOUT,
            &Vector {
                key: "sk_sbox_selfconsistent",
                body: r#"{"id":"evt_az5sblvku4ge3dwpztvyizgcau","type":"payment_approved","data":{"id":"pay_mbabizu24mvu3mela5njyhpit4"}}"#,
                signature: "066c8de5a91e75e351aab167aab2530c0480d11f0959a0fd3174350a3256ce1b",
                extra: &[],
                id: "evt_az5sblvku4ge3dwpztvyizgcau",
                event_type: "payment_approved",
            },
        );
    }
}

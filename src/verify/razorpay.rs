//! Razorpay: `X-Razorpay-Signature: <hex>`, the HMAC-SHA256 of the raw body keyed with the
//! webhook secret, as `Utility.verifyWebhookSignature` does in Razorpay's SDKs. No timestamp is
//! signed. The id is `X-Razorpay-Event-Id`, which Razorpay documents for exactly this: it is the
//! same on every retry of one event.

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::simple::{IdFrom, Simple, TypeFrom};
use super::{Algorithm, Encoding};

const RAZORPAY: Simple = Simple {
    header: "x-razorpay-signature",
    prefix: "",
    encoding: Encoding::Hex,
    algorithm: Algorithm::Sha256,
    id: IdFrom::Header("x-razorpay-event-id"),
    event_type: TypeFrom::Body("/event"),
    kept: &["x-razorpay-event-id"],
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(RAZORPAY))
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
            &RAZORPAY,
            &Vector {
                key: "razorpay_selfconsistent",
                body: r#"{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.captured","contains":["payment"],"created_at":1567674606}"#,
                signature: "8ef116fca02176e193015d53ab3f2fed26ea310854d7d1b9ebbd2ed23f53f7df",
                extra: &[("x-razorpay-event-id", "KZm5XXaVjO7vp7")],
                id: "KZm5XXaVjO7vp7",
                event_type: "payment.captured",
            },
        );
    }
}

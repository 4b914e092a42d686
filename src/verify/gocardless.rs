//! GoCardless: `Webhook-Signature: <hex>`, the HMAC-SHA256 of the raw body keyed with the
//! endpoint's secret, as `Webhook.parse` does in GoCardless's client libraries. No timestamp is
//! signed.
//!
//! One request carries a batch of events (`events[]`). hookbox stores the batch as one event
//! whose id is `meta.webhook_id`: GoCardless resends the same batch under the same webhook id, so
//! a retry is a duplicate, and the handler sees every event of the batch (each with its own
//! `EV…` id, for handlers that dedupe finer).

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::simple::{IdFrom, Simple, TypeFrom};
use super::{Algorithm, Encoding};

const GOCARDLESS: Simple = Simple {
    header: "webhook-signature",
    prefix: "",
    encoding: Encoding::Hex,
    algorithm: Algorithm::Sha256,
    id: IdFrom::Body("/meta/webhook_id"),
    event_type: TypeFrom::Body("/events/0/resource_type"),
    kept: &[],
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(GOCARDLESS))
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
            &GOCARDLESS,
            &Vector {
                key: "gc_selfconsistent",
                body: r#"{"events":[{"id":"EV123","resource_type":"payments","action":"confirmed","links":{"payment":"PM123"}}],"meta":{"webhook_id":"WB123"}}"#,
                signature: "388e7d4c575a6c271c735a34fb11727af961748f905d01166e4a66e139409691",
                extra: &[],
                id: "WB123",
                event_type: "payments",
            },
        );
    }
}

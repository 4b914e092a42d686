//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, the hex HMAC-SHA256 of
//! `"{t}.{body}"` keyed with the whole signing secret, `whsec_` prefix included. Any `v1` may
//! match (Stripe sends one per secret while a secret is being rolled); `v0` and unknown keys are
//! ignored.
//!
//! Stripe's libraries only reject timestamps older than the tolerance. We also reject ones
//! further ahead than the tolerance: Stripe does not send them, and accepting them would keep a
//! captured request replayable for longer than the tolerance promises.

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::util::ListHeader;

const STRIPE: ListHeader = ListHeader {
    header: "stripe-signature",
    separator: ',',
    timestamp_key: "t",
    signature_key: "v1",
    joiner: ".",
    id: "/id",
    event_type: "/type",
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(STRIPE))
}

#[cfg(test)]
pub(crate) mod tests {
    use http::HeaderMap;

    use super::*;
    use crate::verify::{Secret, VerifyError};

    fn verify(
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        STRIPE.verify(secrets, headers, body, now, tolerance)
    }

    fn sign(secret: &Secret, body: &[u8], now: u64) -> Vec<(String, String)> {
        STRIPE.sign(secret, body, now)
    }
    use crate::verify::util::testing::{headers, secrets, set};

    // From stripe/stripe-dotnet, src/StripeTests/Services/Events/EventUtilityTest.cs with the
    // fixture src/StripeTests/Resources/event_test_signature.json (LF line endings).
    pub(crate) const VECTOR_BODY: &str = r#"{
  "id": "evt_123",
  "object": "event",
  "account": "acct_123",
  "api_version": "2017-05-25",
  "created": 1533204620,
  "data": {
    "object": {
      "id": "cus_123",
      "object": "customer",
      "created": 123456789,
      "email": "test@stripe.com",
      "livemode": false,
      "metadata": {}
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {
    "id": "req_123",
    "idempotency_key": "idempotency-key-123"
  },
  "type": "customer.created"
}
"#;
    pub(crate) const VECTOR_HEADER: &str = "t=1533204620,\
        v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,\
        v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";
    const T: u64 = 1_533_204_620;

    fn check(keys: &[&str], header: &str, body: &[u8], now: u64) -> Result<(), VerifyError> {
        let h = headers([("Stripe-Signature", header)]);
        verify(&secrets(keys), &h, body, now, 300)
    }

    fn signed(key: &str, body: &[u8], t: u64) -> String {
        let pairs = sign(&Secret::new(key), body, t);
        pairs.into_iter().next().map(|(_, v)| v).unwrap()
    }

    #[test]
    fn stripe_dotnet_vector() {
        let body = VECTOR_BODY.as_bytes();
        assert_eq!(
            check(&["webhook_secret"], VECTOR_HEADER, body, T + 100),
            Ok(())
        );
        let v1_only = VECTOR_HEADER.rsplit_once(",v0=").unwrap().0;
        assert_eq!(signed("webhook_secret", body, T), v1_only);
        let late = check(&["webhook_secret"], VECTOR_HEADER, body, T + 400);
        assert!(matches!(
            late,
            Err(VerifyError::TimestampTooOld { age_secs: 400, .. })
        ));
    }

    #[test]
    fn round_trip_and_rejections() {
        let header = signed("whsec_a", b"{}", T);
        assert_eq!(check(&["whsec_a"], &header, b"{}", T), Ok(()));
        assert_eq!(
            check(&["whsec_b"], &header, b"{}", T),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&["whsec_a"], &header, b"{ }", T),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(check(&["whsec_b", "whsec_a"], &header, b"{}", T), Ok(()));
    }

    #[test]
    fn timestamp_window_both_ways() {
        let header = signed("k", b"{}", T);
        let old = check(&["k"], &header, b"{}", T + 301);
        assert!(matches!(old, Err(VerifyError::TimestampTooOld { .. })));
        let ahead = check(&["k"], &header, b"{}", T - 301);
        assert!(matches!(ahead, Err(VerifyError::TimestampInFuture { .. })));
    }

    #[test]
    fn any_v1_may_match_and_garbage_is_ignored() {
        let good = signed("k", b"{}", T);
        let many = format!("v1=potato,v0=00,{good},v1=deadbeef,x=1");
        assert_eq!(check(&["k"], &many, b"{}", T), Ok(()));
        let other = signed("old", b"{}", T);
        let rolled = format!("{good},{}", other.split_once(',').unwrap().1);
        assert_eq!(check(&["old"], &rolled, b"{}", T), Ok(()));
    }

    #[test]
    fn malformed_headers() {
        let v0_only = format!("t={T},v0=00");
        let two_ts = format!("t={T},t={T},v1=00");
        let bad = [
            "t=,v1=00",
            "v1=00",
            &v0_only,
            &two_ts,
            "t,v1",
            ",,",
            "t=1e9,v1=00",
        ];
        for header in bad {
            let got = check(&["k"], header, b"{}", T);
            assert!(
                matches!(got, Err(VerifyError::MalformedHeader { .. })),
                "{header}: {got:?}"
            );
        }
        let mut h = headers([("x", "y")]);
        let missing = verify(&secrets(&["k"]), &h, b"{}", T, 300);
        assert_eq!(
            missing,
            Err(VerifyError::MissingHeader("stripe-signature".into()))
        );
        set(&mut h, "stripe-signature", b"t=1,v1=\xff");
        let non_ascii = verify(&secrets(&["k"]), &h, b"{}", T, 300);
        assert!(matches!(
            non_ascii,
            Err(VerifyError::MalformedHeader { .. })
        ));
    }
}

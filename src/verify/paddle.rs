//! Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=<hex>…]`, the hex HMAC-SHA256 of
//! `"{ts}:{body}"` keyed with the notification secret. Any `h1` may match; other keys are
//! ignored. The timestamp must be within the tolerance either way.

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::util::ListHeader;

const PADDLE: ListHeader = ListHeader {
    header: "paddle-signature",
    separator: ';',
    timestamp_key: "ts",
    signature_key: "h1",
    joiner: ":",
    id: "/event_id",
    event_type: "/event_type",
};

/// Builds the scheme; it takes no options.
pub(super) fn build(_: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(PADDLE))
}

#[cfg(test)]
mod tests {
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
        PADDLE.verify(secrets, headers, body, now, tolerance)
    }

    fn sign(secret: &Secret, body: &[u8], now: u64) -> Vec<(String, String)> {
        PADDLE.sign(secret, body, now)
    }
    use crate::verify::util::{
        self,
        testing::{headers, secrets},
    };

    fn check(keys: &[&str], header: &str, body: &str, now: u64) -> Result<(), VerifyError> {
        let h = headers([("Paddle-Signature", header)]);
        verify(&secrets(keys), &h, body.as_bytes(), now, 5)
    }

    fn signed(key: &str, body: &str, ts: u64) -> String {
        let pairs = sign(&Secret::new(key), body.as_bytes(), ts);
        pairs.into_iter().next().map(|(_, v)| v).unwrap()
    }

    // PaddleHQ/paddle-node-sdk, src/__tests__/notifications/webhooks-validator.test.ts.
    const NODE_BODY: &str = r#"{"data": ["1", "2"]}"#;
    const NODE_HEADER: &str =
        "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9";
    const NODE_TS: u64 = 1_698_796_800;

    #[test]
    fn paddle_node_sdk_vectors() {
        assert_eq!(
            check(&["VALID_SECRET"], NODE_HEADER, NODE_BODY, NODE_TS + 5),
            Ok(())
        );
        assert_eq!(signed("VALID_SECRET", NODE_BODY, NODE_TS), NODE_HEADER);
        let spaced = r#"{ "data": [ "1", "2" ]}"#;
        assert_eq!(
            check(&["VALID_SECRET"], NODE_HEADER, spaced, NODE_TS),
            Err(VerifyError::NoMatch)
        );
        let late = check(&["VALID_SECRET"], NODE_HEADER, NODE_BODY, NODE_TS + 6);
        assert!(matches!(late, Err(VerifyError::TimestampTooOld { .. })));
        let repeated = "ts=1698796800;\
            h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;\
            h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h2=RANDOM_HASH";
        let value_body = r#"{"data": "value"}"#;
        assert_eq!(
            check(&["VALID_SECRET"], repeated, value_body, NODE_TS),
            Ok(())
        );
    }

    // PaddleHQ/paddle-python-sdk, tests/Unit/Notification/test_Verifier.py: three secrets, the
    // third matches.
    #[test]
    fn paddle_python_sdk_rotation_vector() {
        let keys = [
            "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_TjIG2BXbm83HPXqNfziwe506sBEdqL/4",
            "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_vB/yIOnTOCWIvpBadM5jzBZPHc7OmdSo",
            "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh",
        ];
        let header = "ts=1696195954;h1=dummy;\
            h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02";
        assert_eq!(check(&keys, header, "hello-world", 1_696_195_954), Ok(()));
        assert_eq!(
            check(&keys[..2], header, "hello-world", 1_696_195_954),
            Err(VerifyError::NoMatch)
        );
    }

    // PaddleHQ/paddle-go-sdk, example_webhook_verifier_test.go: a real price.created event.
    #[test]
    fn paddle_go_sdk_vector_and_event_id() {
        let body = r#"{"data":{"id":"pri_01hsdn96k2hxjzsq5yerecdj9j","name":null,"status":"active","quantity":{"maximum":999999,"minimum":1},"tax_mode":"account_setting","product_id":"pro_01hsdn8qp7yydry3x1yeg6a9rv","unit_price":{"amount":"1000","currency_code":"USD"},"custom_data":null,"description":"testing","import_meta":null,"trial_period":null,"billing_cycle":{"interval":"month","frequency":1},"unit_price_overrides":[]},"event_id":"evt_01hsdn97563968dy0szkmgjwh3","event_type":"price.created","occurred_at":"2024-03-20T10:07:35.590857Z","notification_id":"ntf_01hsdn977e920kbgzt6r6c9rqc"}"#;
        let header =
            "ts=1710929255;h1=6c05ef8fa83c44d751be6d259ec955ce5638e2c54095bf128e408e2fce1589c8";
        let key = "pdl_ntfset_01hsdn8d43dt7mezr1ef2jtbaw_hKkRiCGyyRhbFwIUuqiTBgI7gnWoV0Gr";
        assert_eq!(check(&[key], header, body, 1_710_929_255), Ok(()));
        let id = util::json_id(body.as_bytes(), "/event_id");
        assert_eq!(id, Ok("evt_01hsdn97563968dy0szkmgjwh3".into()));
    }

    #[test]
    fn round_trip_rejections_and_window() {
        let header = signed("new", "{}", 100);
        assert_eq!(check(&["old", "new"], &header, "{}", 100), Ok(()));
        assert_eq!(
            check(&["old"], &header, "{}", 100),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            check(&["new"], &header, "{ }", 100),
            Err(VerifyError::NoMatch)
        );
        let ahead = check(&["new"], &header, "{}", 94);
        assert!(matches!(ahead, Err(VerifyError::TimestampInFuture { .. })));
    }

    #[test]
    fn malformed_and_missing() {
        for header in ["invalid_header", "h1=00", "ts=1234;h2=00", "ts=x;h1=00"] {
            let got = check(&["k"], header, "{}", 1234);
            assert!(
                matches!(got, Err(VerifyError::MalformedHeader { .. })),
                "{header}"
            );
        }
        let got = verify(&secrets(&["k"]), &headers([("a", "b")]), b"{}", 0, 5);
        assert_eq!(
            got,
            Err(VerifyError::MissingHeader("paddle-signature".into()))
        );
    }
}

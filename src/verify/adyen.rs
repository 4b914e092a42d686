//! Adyen: base64 HMAC-SHA256 keyed with the hex-decoded HMAC key from the Customer Area, in
//! either of the two places Adyen puts it, as its libraries' `HMACValidator` checks them:
//!
//! - Balance Platform and Management API webhooks send `HmacSignature: <base64>` over the raw
//!   body.
//! - Standard notifications (`{"live":…,"notificationItems":[{"NotificationRequestItem":{…}}]}`)
//!   carry the signature in each item's `additionalData.hmacSignature`, over the item's
//!   `pspReference:originalReference:merchantAccountCode:merchantReference:amount.value:
//!   amount.currency:eventCode:success` (absent fields as empty text). Every item must verify.
//!
//! Neither signs a timestamp. The id of a standard notification is `pspReference:eventCode` of
//! each item, joined by `,` (Adyen sends one item per request today), which Adyen documents as
//! what identifies a notification; a platform webhook's id is its body's `data.id` or `id`.
//! Adyen expects the body `[accepted]` in the answer to a notification it delivered.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::HeaderMap;
use serde_json::Value;

use super::provider::Provider;
use super::{util, Algorithm, Encoding, IdError, Secret, VerifyError};

const HEADER: &str = "hmacsignature";
/// Most items one notification may carry; each costs a MAC per secret.
const MAX_ITEMS: usize = 64;

/// Adyen's scheme.
#[derive(Debug, Default)]
pub(super) struct Adyen;

/// The HMAC key: the hex text Adyen shows, decoded.
fn key(secret: &Secret) -> Result<Vec<u8>, &'static str> {
    let key = hex::decode(secret.expose()).map_err(|_| "an Adyen HMAC key is hex")?;
    if key.is_empty() {
        return Err("secret is empty");
    }
    Ok(key)
}

/// The `NotificationRequestItem`s of a standard notification.
fn items(doc: &Value) -> Option<Vec<&Value>> {
    let list = doc.get("notificationItems")?.as_array()?;
    list.iter()
        .map(|item| {
            item.get("NotificationRequestItem")
                .filter(|i| i.is_object())
        })
        .collect()
}

/// A field as Adyen's libraries stringify it: text as is, numbers and booleans in JSON form,
/// absent (or anything else) as empty text.
fn field(item: &Value, pointer: &str) -> String {
    match item.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        _ => String::new(),
    }
}

/// What an item's `hmacSignature` signs.
fn signed_data(item: &Value) -> String {
    let fields = [
        "/pspReference",
        "/originalReference",
        "/merchantAccountCode",
        "/merchantReference",
        "/amount/value",
        "/amount/currency",
        "/eventCode",
        "/success",
    ];
    let parts: Vec<String> = fields.iter().map(|p| field(item, p)).collect();
    parts.join(":")
}

fn verify_items(secrets: &[Secret], body: &[u8]) -> Result<(), VerifyError> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|_| VerifyError::MalformedBody("not JSON"))?;
    let items = items(&doc).ok_or(VerifyError::MalformedBody(
        "no HmacSignature header and no notificationItems[].NotificationRequestItem",
    ))?;
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Err(VerifyError::MalformedBody(
            "notificationItems must hold 1 to 64 items",
        ));
    }
    let keys: Vec<Vec<u8>> = secrets.iter().filter_map(|s| key(s).ok()).collect();
    for item in items {
        let Some(Value::String(signature)) = item.pointer("/additionalData/hmacSignature") else {
            return Err(VerifyError::MalformedBody(
                "a notification item has no additionalData.hmacSignature",
            ));
        };
        let candidates: Vec<Vec<u8>> = Encoding::Base64.decode(signature).into_iter().collect();
        let data = signed_data(item);
        util::match_keys(&keys, Algorithm::Sha256, &[data.as_bytes()], &candidates)?;
    }
    Ok(())
}

impl Provider for Adyen {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        _: u64,
        _: u64,
    ) -> Result<(), VerifyError> {
        if !headers.contains_key(HEADER) {
            return verify_items(secrets, body);
        }
        let candidates = util::single_candidate(headers, HEADER, "", Encoding::Base64)?;
        let keys: Vec<Vec<u8>> = secrets.iter().filter_map(|s| key(s).ok()).collect();
        util::match_keys(&keys, Algorithm::Sha256, &[body], &candidates)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        let doc: Value = serde_json::from_slice(body).map_err(|_| IdError::NotJson)?;
        let Some(items) = items(&doc) else {
            return util::value_id(&doc, "/data/id").or_else(|_| util::value_id(&doc, "/id"));
        };
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            let psp = util::value_id(item, "/pspReference")?;
            let code = util::value_id(item, "/eventCode")?;
            ids.push(format!("{psp}:{code}"));
        }
        if ids.is_empty() {
            return Err(IdError::MissingField("/notificationItems".into()));
        }
        Ok(ids.join(","))
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        let doc: Value = serde_json::from_slice(body).ok()?;
        let found = match items(&doc) {
            Some(items) => items.first()?.get("eventCode")?.as_str()?.to_owned(),
            None => doc.get("type")?.as_str()?.to_owned(),
        };
        (!found.is_empty()).then_some(found)
    }

    fn id_pointer(&self) -> Option<&str> {
        Some("/notificationItems/0/NotificationRequestItem/pspReference")
    }

    fn sign(&self, secret: &Secret, body: &[u8], _: u64, _: &str) -> Vec<(String, String)> {
        let is_notification = serde_json::from_slice::<Value>(body)
            .ok()
            .is_some_and(|doc| items(&doc).is_some());
        match key(secret) {
            Ok(key) if !is_notification => {
                let mac = Algorithm::Sha256.mac(&key, &[body]);
                vec![(HEADER.to_owned(), Encoding::Base64.encode(&mac))]
            }
            _ => Vec::new(),
        }
    }

    fn sign_body(&self, secret: &Secret, body: &[u8], _: u64) -> Option<Vec<u8>> {
        let key = key(secret).ok()?;
        let mut doc: Value = serde_json::from_slice(body).ok()?;
        let list = doc.get_mut("notificationItems")?.as_array_mut()?;
        for entry in list {
            let item = entry.get_mut("NotificationRequestItem")?;
            let data = signed_data(item);
            let signature = STANDARD.encode(Algorithm::Sha256.mac(&key, &[data.as_bytes()]));
            let object = item.as_object_mut()?;
            let extra = object
                .entry("additionalData")
                .or_insert_with(|| Value::Object(Default::default()));
            extra
                .as_object_mut()?
                .insert("hmacSignature".into(), Value::String(signature));
        }
        serde_json::to_vec(&doc).ok()
    }

    fn check_secret(&self, secret: &Secret) -> Result<(), &'static str> {
        key(secret).map(|_| ())
    }

    fn acknowledgement(&self) -> Option<&'static str> {
        Some("[accepted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets};

    // The HMAC key of Adyen's library tests (adyen-java-api-library HMACValidatorTest and
    // adyen-node-api-library's hmacValidator test).
    const KEY: &str = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00";

    // Adyen's library tests, the hosted-payment-page data with that key: checks our HMAC is
    // Adyen's (hex-decoded key, base64 HMAC-SHA256), escaped colons and all.
    #[test]
    fn adyen_library_hmac_vector() {
        let data = "countryCode:currencyCode:merchantAccount:merchantReference:paymentAmount:sessionValidity:skinCode:NL:EUR:MagentoMerchantTest2:TEST-PAYMENT-2017-02-01-14\\:02\\:05:199:2017-02-02T14\\:02\\:05+01\\:00:PKz2KML1";
        let mac = Algorithm::Sha256.mac(&key(&Secret::new(KEY)).unwrap(), &[data.as_bytes()]);
        assert_eq!(
            STANDARD.encode(mac),
            "34oR8T1whkQWTv9P+SzKyp8zhusf9n0dpqrm9nsqSJs="
        );
    }

    // Self-consistent: the item fields of Adyen's library tests, with the signature computed
    // by Python's `hmac` module (not a published value).
    const NOTIFICATION: &str = r#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"5/2Jw4uFvcnnLcXk9u3FBKrCCQbxT/7K9hhJx/ztOjc="},"amount":{"currency":"EUR","value":1130},"eventCode":"EVENT","merchantAccountCode":"merchantAccount","merchantReference":"reference","originalReference":"originalReference","pspReference":"pspReference","success":"true"}}]}"#;

    fn check(keys: &[&str], h: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        Adyen.verify(&secrets(keys), h, body, 0, 0)
    }

    #[test]
    fn notification_items_verify_and_name_the_event() {
        let body = NOTIFICATION.as_bytes();
        let none = HeaderMap::new();
        assert_eq!(check(&["00ff", KEY], &none, body), Ok(()));
        assert_eq!(check(&["00ff"], &none, body), Err(VerifyError::NoMatch));
        let other = NOTIFICATION.replace("1130", "1131");
        assert_eq!(
            check(&[KEY], &none, other.as_bytes()),
            Err(VerifyError::NoMatch)
        );
        let id = Adyen.event_id(&none, body);
        assert_eq!(id, Ok("pspReference:EVENT".into()));
        assert_eq!(Adyen.event_type(&none, body), Some("EVENT".into()));
        assert!(Adyen.sign(&Secret::new(KEY), body, 0, "").is_empty());
        let resigned = Adyen.sign_body(&Secret::new(KEY), body, 0).unwrap();
        assert_eq!(check(&[KEY], &none, &resigned), Ok(()));
        assert_eq!(resigned, body, "serde_json keeps this key order");
    }

    #[test]
    fn every_item_must_verify() {
        let doc: Value = serde_json::from_str(NOTIFICATION).unwrap();
        let item = doc["notificationItems"][0].clone();
        let mut forged = item.clone();
        forged["NotificationRequestItem"]["pspReference"] = "other".into();
        let two = serde_json::json!({"live": "false", "notificationItems": [item.clone(), forged]});
        let body = serde_json::to_vec(&two).unwrap();
        let none = HeaderMap::new();
        assert_eq!(check(&[KEY], &none, &body), Err(VerifyError::NoMatch));
        let both = Adyen.sign_body(&Secret::new(KEY), &body, 0).unwrap();
        assert_eq!(check(&[KEY], &none, &both), Ok(()));
        let id = Adyen.event_id(&none, &both);
        assert_eq!(id, Ok("pspReference:EVENT,other:EVENT".into()));
    }

    #[test]
    fn platform_webhooks_sign_the_body_in_a_header() {
        let body = br#"{"data":{"id":"BA00000000000000000001","balancePlatform":"YOUR_BALANCE_PLATFORM"},"environment":"test","type":"balancePlatform.accountHolder.created"}"#;
        let signed = Adyen.sign(&Secret::new(KEY), body, 0, "");
        let h = headers(signed);
        assert_eq!(check(&[KEY], &h, body), Ok(()));
        assert_eq!(check(&[KEY], &h, b"{}"), Err(VerifyError::NoMatch));
        let id = Adyen.event_id(&h, body);
        assert_eq!(id, Ok("BA00000000000000000001".into()));
        let kind = Adyen.event_type(&h, body);
        assert_eq!(kind, Some("balancePlatform.accountHolder.created".into()));
        let bad = headers([("HmacSignature", "")]);
        assert_eq!(
            check(&[KEY], &bad, body),
            Err(VerifyError::MissingHeader(HEADER.into()))
        );
    }

    #[test]
    fn malformed_bodies_and_keys() {
        let none = HeaderMap::new();
        for body in [
            &b"not json"[..],
            br#"{"live":"false"}"#,
            br#"{"notificationItems":[]}"#,
            br#"{"notificationItems":[{"NotificationRequestItem":{"pspReference":"p"}}]}"#,
            br#"{"notificationItems":[{"other":{}}]}"#,
        ] {
            let got = check(&[KEY], &none, body);
            assert!(matches!(got, Err(VerifyError::MalformedBody(_))), "{got:?}");
        }
        assert!(Adyen.check_secret(&Secret::new("not hex")).is_err());
        assert!(Adyen.check_secret(&Secret::new("")).is_err());
        assert!(Adyen.check_secret(&Secret::new(KEY)).is_ok());
        assert_eq!(Adyen.acknowledgement(), Some("[accepted]"));
    }
}

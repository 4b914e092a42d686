//! Realistic, correctly signed events for `hookbox bench`.
//!
//! A source's body is built once as a provider-shaped JSON template padded to the requested
//! size, with a marker where the event id goes; each request then only splices in its id and
//! signs the result, so the load generator spends its CPU on HTTP, not on JSON.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{json, Value};

use crate::config::Source;
use crate::verify::{Scheme, Secret, Verifier};

/// Stands for the event id in the template; plain ASCII, so JSON leaves it unescaped.
const MARKER: &str = "@@HOOKBOX_BENCH_ID@@";

/// Makes the body and signature headers of event number `n`.
#[derive(Debug, Clone)]
pub struct EventFactory {
    verifier: Verifier,
    secret: Secret,
    run_tag: String,
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl EventFactory {
    /// A factory for `source` whose bodies are `body_size` bytes (or the smallest realistic
    /// event, if that is larger). `run_tag` keeps ids unique across runs on one data dir.
    pub fn new(source: &Source, body_size: usize, run_tag: &str, now: u64) -> Option<Self> {
        let secret = source.verifier.secrets.first()?.clone();
        let verifier = source.verifier.clone();
        let (mut doc, pad_at, fallback_id_at) = template(&verifier.scheme, now);
        let id_at = verifier.id_pointer().unwrap_or(fallback_id_at).to_owned();
        set_pointer(&mut doc, &id_at, Value::String(MARKER.into()));
        let id_len = id_for(run_tag, 0).len();
        let unpadded = doc.to_string().len() - MARKER.len() + id_len;
        let padding = body_size.saturating_sub(unpadded);
        set_pointer(&mut doc, pad_at, Value::String(filler(padding)));
        let text = doc.to_string();
        let (prefix, suffix) = text.split_once(MARKER)?;
        Some(EventFactory {
            verifier,
            secret,
            run_tag: run_tag.to_owned(),
            prefix: prefix.as_bytes().to_vec(),
            suffix: suffix.as_bytes().to_vec(),
        })
    }

    /// The event id of event number `n` (fixed width, so every body has the same size).
    pub fn id(&self, n: u64) -> String {
        id_for(&self.run_tag, n)
    }

    /// The body of the event with id `id`.
    pub fn body(&self, id: &str) -> Bytes {
        let mut body = BytesMut::with_capacity(self.prefix.len() + id.len() + self.suffix.len());
        body.put_slice(&self.prefix);
        body.put_slice(id.as_bytes());
        body.put_slice(&self.suffix);
        body.freeze()
    }

    /// Headers that make `body` (with event id `id`) valid for the source at `now` (unix s).
    pub fn headers(&self, body: &[u8], id: &str, now: u64) -> Vec<(String, String)> {
        let mut headers = self.verifier.sign(&self.secret, body, now, id);
        headers.push(("content-type".into(), "application/json".into()));
        if self.verifier.scheme.name() == "github" {
            headers.push(("x-github-event".into(), "push".into()));
        }
        headers
    }
}

fn id_for(run_tag: &str, n: u64) -> String {
    format!("evt_bench_{run_tag}_{n:010}")
}

/// A provider-shaped event, where its padding goes, and where the id goes when the scheme
/// carries it in a header (so every body is still distinct, as real ones are).
fn template(scheme: &Scheme, now: u64) -> (Value, &'static str, &'static str) {
    match scheme.name() {
        "stripe" => (
            json!({"id": "", "object": "event", "api_version": "2024-06-20", "created": now,
                "type": "payment_intent.succeeded", "livemode": false, "pending_webhooks": 1,
                "data": {"object": {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "object": "payment_intent",
                    "amount": 2000, "currency": "usd", "status": "succeeded", "description": ""}}}),
            "/data/object/description",
            "/id",
        ),
        "github" => (
            json!({"ref": "refs/heads/main", "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
                "repository": {"id": 1296269, "full_name": "octocat/Hello-World"},
                "head_commit": {"id": "", "message": ""}}),
            "/head_commit/message",
            "/head_commit/id",
        ),
        "shopify" => (
            json!({"id": 820982911946154508_u64, "email": "jon@example.com", "currency": "USD",
                "total_price": "403.00", "financial_status": "paid", "token": "", "note": ""}),
            "/note",
            "/token",
        ),
        "slack" => (
            json!({"token": "XXYYZZ", "team_id": "T123ABC456", "api_app_id": "A123ABC456",
                "type": "event_callback", "event_id": "", "event_time": now,
                "event": {"type": "message", "channel": "C123ABC456", "user": "U123ABC456",
                    "text": ""}}),
            "/event/text",
            "/event_id",
        ),
        "paddle" => (
            json!({"event_id": "", "event_type": "transaction.completed",
                "notification_id": "ntf_01h8bkrfe7w1vwf8xmytwn51e7",
                "data": {"id": "txn_01h8bkrf4x2gyqyxz7ak4d2c4w", "status": "completed",
                    "custom_data": {"note": ""}}}),
            "/data/custom_data/note",
            "/event_id",
        ),
        "square" => (
            json!({"merchant_id": "6SSW7HV8K2ST5", "type": "payment.updated", "event_id": "",
                "data": {"type": "payment", "id": "KkAkhdMsgzn59SM8A89WgKwekxLZY",
                    "object": {"payment": {"amount_money": {"amount": 100, "currency": "USD"},
                        "status": "COMPLETED", "note": ""}}}}),
            "/data/object/payment/note",
            "/event_id",
        ),
        _ => (
            json!({"type": "invoice.paid", "timestamp": now,
                "data": {"id": "", "customer": "cus_9s6XKzkNRiz8i3", "amount_due": 2000,
                    "note": ""}}),
            "/data/note",
            "/data/id",
        ),
    }
}

/// Sets the value at a JSON `pointer`, creating objects on the way (and replacing anything
/// that is not one).
fn set_pointer(doc: &mut Value, pointer: &str, value: Value) {
    let mut at = doc;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !at.is_object() {
            *at = Value::Object(Default::default());
        }
        let Value::Object(map) = at else {
            unreachable!("made an object above")
        };
        at = map.entry(token).or_insert(Value::Null);
    }
    *at = value;
}

/// `len` bytes of prose-like ASCII that JSON does not escape.
fn filler(len: usize) -> String {
    const TEXT: &str = "Thanks for your order! Your items ship within two business days. ";
    TEXT.chars().cycle().take(len).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use http::{HeaderMap, HeaderName, HeaderValue};

    const CONFIG: &str = r#"
[sources.stripe]
scheme = "stripe"
secrets = ["whsec_test"]
[sources.github]
scheme = "github"
secrets = ["gh"]
[sources.standard]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
[sources.shopify]
scheme = "shopify"
secrets = ["sh"]
[sources.slack]
scheme = "slack"
secrets = ["sl"]
[sources.paddle]
scheme = "paddle"
secrets = ["pd"]
[sources.square]
scheme = "square"
secrets = ["sq"]
notification_url = "https://example.test/webhooks/square"
[sources.custom]
scheme = "hmac"
secrets = ["cu"]
[sources.custom.hmac]
header = "x-signature"
signed = "{timestamp}.{body}"
timestamp_header = "x-timestamp"
id_pointer = "/meta/event~1id"
"#;

    fn header_map(pairs: &[(String, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn every_scheme_gets_valid_signed_events_with_their_own_ids() {
        let config = config::load_str(CONFIG, "bench.toml", &|_| None).unwrap();
        let now = 1_700_000_000;
        for source in &config.sources {
            let factory = EventFactory::new(source, 1024, "t1", now).unwrap();
            for n in [0, 7] {
                let id = factory.id(n);
                let body = factory.body(&id);
                assert_eq!(body.len(), 1024, "{}", source.name);
                let headers = header_map(&factory.headers(&body, &id, now));
                let verifier = &source.verifier;
                assert_eq!(
                    verifier.verify(&headers, &body, now),
                    Ok(()),
                    "{}",
                    source.name
                );
                assert_eq!(
                    verifier.event_id(&headers, &body),
                    Ok(id),
                    "{}",
                    source.name
                );
            }
        }
    }

    #[test]
    fn small_sizes_give_the_smallest_realistic_event() {
        let config = config::load_str(CONFIG, "bench.toml", &|_| None).unwrap();
        let factory = EventFactory::new(config.source("stripe").unwrap(), 10, "t", 0).unwrap();
        let body = factory.body(&factory.id(1));
        let doc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["type"], "payment_intent.succeeded");
        assert_eq!(doc["data"]["object"]["description"], "");
    }
}

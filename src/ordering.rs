//! Per-key ordering: which part of an event names its ordering key, how that key is read from
//! a verified request, and what a dead event does to the events behind it.
//!
//! Pure code, no I/O. The HTTP side reads the key at ingest ([`KeySpec::key_of`]); the store
//! keeps the events of one key in arrival order and lets only the first unfinished one be due
//! (see `store::redb::ordered` and `store::postgres::ordered`).

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest key kept as it is, in bytes; a longer one is replaced by [`hashed`] (`sha256:` and
/// 64 hex digits), so keys stay small in the index without ever merging two keys.
pub const MAX_KEY_BYTES: usize = 256;

/// Where a source's ordering key comes from: `ordering_key = "/json/pointer"` or
/// `ordering_key = "header:<Name>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySpec {
    /// A JSON pointer (RFC 6901) into the body, e.g. `/data/object/id`.
    Pointer(String),
    /// A request header, by lower-case name.
    Header(String),
}

/// What a dead event does to the later events of its key (`on_dead`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDead {
    /// The key waits until the dead event is requeued and succeeds.
    #[default]
    Block,
    /// The next event of the key goes ahead.
    Skip,
}

impl OnDead {
    /// True for the default, [`OnDead::Block`] (records leave it out).
    pub fn is_block(&self) -> bool {
        *self == OnDead::Block
    }
}

/// A source's ordering settings, validated (later carried by routes unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering {
    /// Where the key comes from.
    pub key: KeySpec,
    /// What a dead event does to its key.
    pub on_dead: OnDead,
}

/// An event's place in the ordering: its key value and its source's `on_dead` when accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventOrdering {
    /// The key value (at most [`MAX_KEY_BYTES`]).
    pub key: String,
    /// `block` or `skip`, fixed when the event was accepted.
    #[serde(default, skip_serializing_if = "OnDead::is_block")]
    pub on_dead: OnDead,
}

impl KeySpec {
    /// Parses the `ordering_key` setting; the error says what is wrong.
    pub fn parse(text: &str) -> Result<KeySpec, String> {
        if let Some(name) = text.strip_prefix("header:") {
            let name = name.trim();
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!("{name:?} is not a header name"));
            }
            return Ok(KeySpec::Header(name.to_ascii_lowercase()));
        }
        if !text.starts_with('/') {
            return Err(format!(
                "{text:?}: use a JSON pointer starting with '/' (e.g. \"/data/object/id\") or \
                 \"header:<Name>\""
            ));
        }
        Ok(KeySpec::Pointer(text.to_owned()))
    }

    /// The key of a verified request, or `None` (the event is then unordered): the header is
    /// missing or not UTF-8, the body is not JSON or lacks the pointer, or the value there is
    /// null, an object or an array. Strings count as they are, numbers and booleans by their
    /// JSON text; keys over [`MAX_KEY_BYTES`] are hashed.
    pub fn key_of(&self, headers: &HeaderMap, body: &[u8]) -> Option<String> {
        let raw = match self {
            KeySpec::Header(name) => headers.get(name.as_str())?.to_str().ok()?.to_owned(),
            KeySpec::Pointer(pointer) => {
                let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
                match doc.pointer(pointer)? {
                    serde_json::Value::String(s) => s.clone(),
                    v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                        v.to_string()
                    }
                    _ => return None,
                }
            }
        };
        Some(bounded(raw))
    }
}

/// `key` as it is when it fits [`MAX_KEY_BYTES`], else [`hashed`].
pub fn bounded(key: String) -> String {
    if key.len() <= MAX_KEY_BYTES {
        key
    } else {
        hashed(&key)
    }
}

/// `sha256:` and the hex SHA-256 of `key`.
pub fn hashed(key: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer(p: &str, body: &str) -> Option<String> {
        KeySpec::parse(p)
            .unwrap()
            .key_of(&HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn settings_parse_or_say_why_not() {
        assert_eq!(
            KeySpec::parse("/data/object/id"),
            Ok(KeySpec::Pointer("/data/object/id".into()))
        );
        assert_eq!(
            KeySpec::parse("header:X-Customer"),
            Ok(KeySpec::Header("x-customer".into()))
        );
        assert!(KeySpec::parse("data.id")
            .unwrap_err()
            .contains("JSON pointer"));
        assert!(KeySpec::parse("").is_err());
        assert!(KeySpec::parse("header:bad name")
            .unwrap_err()
            .contains("not a header name"));
    }

    #[test]
    fn values_become_keys_by_their_kind() {
        let body = r#"{"s":"cus_1","n":42,"f":1.5,"b":true,"z":null,"o":{},"a":[1]}"#;
        assert_eq!(pointer("/s", body).as_deref(), Some("cus_1"));
        assert_eq!(pointer("/n", body).as_deref(), Some("42"));
        assert_eq!(pointer("/f", body).as_deref(), Some("1.5"));
        assert_eq!(pointer("/b", body).as_deref(), Some("true"));
        for unordered in ["/z", "/o", "/a", "/missing"] {
            assert_eq!(pointer(unordered, body), None, "{unordered}");
        }
        assert_eq!(pointer("/s", "not json"), None);
    }

    #[test]
    fn headers_give_keys_when_present_and_text() {
        let spec = KeySpec::parse("header:X-Key").unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(spec.key_of(&headers, b""), None);
        headers.insert("x-key", "tenant-7".parse().unwrap());
        assert_eq!(spec.key_of(&headers, b"").as_deref(), Some("tenant-7"));
        headers.insert("x-key", http::HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(spec.key_of(&headers, b""), None);
    }

    #[test]
    fn long_keys_are_hashed_and_stay_distinct() {
        let fits = "k".repeat(MAX_KEY_BYTES);
        assert_eq!(bounded(fits.clone()), fits);
        let a = bounded("a".repeat(MAX_KEY_BYTES + 1));
        let b = bounded("b".repeat(MAX_KEY_BYTES + 1));
        assert!(a.starts_with("sha256:") && a.len() == 71, "{a}");
        assert_ne!(a, b);
    }
}

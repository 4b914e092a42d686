//! What the schemes share: reading headers, the timestamp window, and event ids from headers or
//! JSON bodies. Matching signatures against secrets lives in [`matching`].

mod matching;

use http::HeaderMap;
use serde_json::Value;

use super::{IdError, VerifyError, MAX_EVENT_ID_LEN};

pub(super) use matching::{
    any_match, candidates, compute_mac, match_keys, match_secrets, pairs, sign_sha256,
    single_candidate, ListHeader,
};

/// A `MalformedHeader` naming `header` in lower case, as the error type promises.
pub(super) fn malformed(header: &str, reason: &'static str) -> VerifyError {
    VerifyError::MalformedHeader {
        header: header.to_ascii_lowercase(),
        reason,
    }
}

/// The trimmed text of header `name`. Absent or blank is `MissingHeader`; bytes outside visible
/// ASCII are `MalformedHeader`, because no scheme signs or sends such values.
pub(super) fn required_header<'a>(
    headers: &'a HeaderMap,
    name: &str,
) -> Result<&'a str, VerifyError> {
    let missing = || VerifyError::MissingHeader(name.to_ascii_lowercase());
    let value = headers.get(name).ok_or_else(missing)?;
    let text = value
        .to_str()
        .map_err(|_| malformed(name, "not visible ASCII"))?
        .trim();
    if text.is_empty() {
        return Err(missing());
    }
    Ok(text)
}

/// Checks that `text`, read from `header`, is a unix time no further than `tolerance` seconds
/// from `now` on either side. Senders' clocks drift a little both ways; a request much older is a
/// replay, and one far ahead would stay replayable for longer than the tolerance allows.
pub(super) fn check_timestamp(
    header: &str,
    text: &str,
    now: u64,
    tolerance: u64,
) -> Result<(), VerifyError> {
    check_age(parse_timestamp(header, text)?, now, tolerance)
}

/// `text`, read from `header`, as a whole number of plain digits.
pub(super) fn parse_timestamp(header: &str, text: &str) -> Result<u64, VerifyError> {
    // `u64::from_str` alone would also take "+5"; the sender signed exactly these digits.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(header, "timestamp is not a whole number"));
    }
    text.parse()
        .map_err(|_| malformed(header, "timestamp is out of range"))
}

/// Checks that unix time `ts` is no further than `tolerance` seconds from `now` either way.
pub(super) fn check_age(ts: u64, now: u64, tolerance: u64) -> Result<(), VerifyError> {
    match now.checked_sub(ts) {
        Some(age) if age > tolerance => Err(VerifyError::TimestampTooOld {
            age_secs: age,
            tolerance_secs: tolerance,
        }),
        Some(_) => Ok(()),
        None if ts - now > tolerance => Err(VerifyError::TimestampInFuture {
            ahead_secs: ts - now,
            tolerance_secs: tolerance,
        }),
        None => Ok(()),
    }
}

/// The id of a JSON array of events, each with its own id at `field` (a JSON pointer into the
/// event): that id for a batch of one, else `batch:` and the hex SHA-256 of every id in order.
/// Providers resend a batch with the same events, so it dedupes as one.
pub(super) fn batch_id(body: &[u8], field: &str) -> Result<String, IdError> {
    /// Most events read; providers batch a few hundred at most.
    const MAX_EVENTS: usize = 10_000;
    use sha2::{Digest, Sha256};
    let doc: Value = serde_json::from_slice(body).map_err(|_| IdError::NotJson)?;
    let events = doc
        .as_array()
        .filter(|a| !a.is_empty() && a.len() <= MAX_EVENTS)
        .ok_or_else(|| IdError::MissingField(format!("/0{field}")))?;
    let mut ids = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let id =
            value_id(event, field).map_err(|_| IdError::MissingField(format!("/{i}{field}")))?;
        ids.push(id);
    }
    if let [one] = ids.as_slice() {
        return Ok(one.clone());
    }
    let hash = Sha256::digest(ids.join("\n").as_bytes());
    Ok(format!("batch:{}", hex::encode(hash)))
}

/// `"sha256:"` and the hex SHA-256 of `body`: the id of providers that send none, since their
/// retries repeat the body byte for byte.
pub(super) fn body_hash_id(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

/// The event id in header `name`: absent or blank is `MissingHeader`.
pub(super) fn header_id(headers: &HeaderMap, name: &str) -> Result<String, IdError> {
    let value = headers
        .get(name)
        .ok_or_else(|| IdError::MissingHeader(name.to_ascii_lowercase()))?;
    let text = value
        .to_str()
        .map_err(|_| IdError::Invalid("header is not visible ASCII"))?
        .trim();
    if text.is_empty() {
        return Err(IdError::MissingHeader(name.to_ascii_lowercase()));
    }
    Ok(text.to_owned())
}

/// The event id at JSON `pointer` in `body`: a non-empty string, or an integer in decimal.
/// Fractional numbers are refused because their text form is not stable enough to dedupe on.
pub(super) fn json_id(body: &[u8], pointer: &str) -> Result<String, IdError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| IdError::NotJson)?;
    value_id(&doc, pointer)
}

/// The id at `pointer` in a parsed document, by the rules of [`json_id`].
pub(super) fn value_id(doc: &Value, pointer: &str) -> Result<String, IdError> {
    match doc.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
        _ => Err(IdError::MissingField(pointer.to_owned())),
    }
}

/// The ids at each of `pointers`, joined by `:`: for providers whose events carry no single id.
/// Every part must be present, as [`json_id`] requires.
pub(super) fn joined_id(body: &[u8], pointers: &[&str]) -> Result<String, IdError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| IdError::NotJson)?;
    let mut parts = Vec::with_capacity(pointers.len());
    for pointer in pointers {
        parts.push(value_id(&doc, pointer)?);
    }
    Ok(parts.join(":"))
}

/// The non-empty string at JSON `pointer`, if `body` is JSON and has one.
pub(super) fn json_str(body: &[u8], pointer: &str) -> Option<String> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    let text = doc.pointer(pointer)?.as_str()?;
    (!text.is_empty()).then(|| text.to_owned())
}

/// The trimmed, non-empty text of header `name`, if it is present and visible ASCII.
pub(super) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Accepts `id` for use as a dedupe key: non-empty, at most [`MAX_EVENT_ID_LEN`] bytes, and free
/// of control characters (which would corrupt logs and key encodings downstream).
pub(super) fn check_id(id: String) -> Result<String, IdError> {
    if id.is_empty() {
        Err(IdError::Invalid("empty"))
    } else if id.len() > MAX_EVENT_ID_LEN {
        Err(IdError::Invalid("too long"))
    } else if id.chars().any(char::is_control) {
        Err(IdError::Invalid("contains control characters"))
    } else {
        Ok(id)
    }
}

/// Builders shared by the scheme tests.
#[cfg(test)]
pub(super) mod testing {
    use http::{HeaderMap, HeaderName, HeaderValue};

    use crate::verify::Secret;

    /// A header map from (name, value) pairs, such as a scheme's `sign` output.
    pub fn headers<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            set(&mut map, name.as_ref(), value.as_ref().as_bytes());
        }
        map
    }

    /// Replaces header `name` with raw `value` bytes (which may be deliberately invalid text).
    pub fn set(map: &mut HeaderMap, name: &str, value: &[u8]) {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("test header name");
        map.insert(
            name,
            HeaderValue::from_bytes(value).expect("test header value"),
        );
    }

    /// Secrets from plain strings.
    pub fn secrets(list: &[&str]) -> Vec<Secret> {
        list.iter().map(|s| Secret::new(*s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{headers, set};
    use super::*;

    #[test]
    fn timestamp_window_is_inclusive_and_two_sided() {
        assert_eq!(check_timestamp("t", "1000", 1300, 300), Ok(()));
        assert_eq!(check_timestamp("t", "1300", 1000, 300), Ok(()));
        assert!(matches!(
            check_timestamp("t", "1000", 1301, 300),
            Err(VerifyError::TimestampTooOld { age_secs: 301, .. })
        ));
        assert!(matches!(
            check_timestamp("t", "1301", 1000, 300),
            Err(VerifyError::TimestampInFuture {
                ahead_secs: 301,
                ..
            })
        ));
    }

    #[test]
    fn timestamps_must_be_plain_digits_in_range() {
        for bad in ["", "+5", "-5", "1.5", "12a", "99999999999999999999999"] {
            let err = check_timestamp("X-Ts", bad, 0, u64::MAX).unwrap_err();
            assert!(
                matches!(err, VerifyError::MalformedHeader { ref header, .. } if header == "x-ts")
            );
        }
    }

    #[test]
    fn required_header_rejects_blank_and_non_ascii() {
        let mut map = headers([("a", "  ")]);
        set(&mut map, "b", b"caf\xc3\xa9");
        assert_eq!(
            required_header(&map, "A"),
            Err(VerifyError::MissingHeader("a".into()))
        );
        assert!(matches!(
            required_header(&map, "b"),
            Err(VerifyError::MalformedHeader { .. })
        ));
        assert_eq!(
            required_header(&map, "c"),
            Err(VerifyError::MissingHeader("c".into()))
        );
    }

    #[test]
    fn json_ids_are_strings_or_integers() {
        assert_eq!(json_id(br#"{"id":"evt_1"}"#, "/id"), Ok("evt_1".into()));
        assert_eq!(json_id(br#"{"a":{"id":-42}}"#, "/a/id"), Ok("-42".into()));
        let missing = Err(IdError::MissingField("/id".into()));
        for body in [
            &br#"{"id":""}"#[..],
            br#"{"id":1.5}"#,
            br#"{"id":null}"#,
            br#"[]"#,
        ] {
            assert_eq!(json_id(body, "/id"), missing);
        }
        assert_eq!(json_id(b"id=1", "/id"), Err(IdError::NotJson));
        assert_eq!(json_id(b"", "/id"), Err(IdError::NotJson));
    }

    #[test]
    fn header_ids_and_strings() {
        let mut map = headers([("x-id", " abc "), ("x-blank", "")]);
        set(&mut map, "x-bad", b"\xff");
        assert_eq!(header_id(&map, "X-Id"), Ok("abc".into()));
        assert_eq!(
            header_id(&map, "x-blank"),
            Err(IdError::MissingHeader("x-blank".into()))
        );
        assert_eq!(
            header_id(&map, "x-none"),
            Err(IdError::MissingHeader("x-none".into()))
        );
        assert!(matches!(header_id(&map, "x-bad"), Err(IdError::Invalid(_))));
        assert_eq!(header_str(&map, "x-id"), Some("abc".into()));
        assert_eq!(header_str(&map, "x-bad"), None);
        assert_eq!(json_str(br#"{"t":"push"}"#, "/t"), Some("push".into()));
        assert_eq!(json_str(br#"{"t":7}"#, "/t"), None);
    }

    #[test]
    fn ids_are_bounded_and_printable() {
        assert_eq!(check_id("evt_1".into()), Ok("evt_1".into()));
        assert!(check_id(String::new()).is_err());
        assert!(check_id("a\nb".into()).is_err());
        assert!(check_id("é".repeat(MAX_EVENT_ID_LEN / 2)).is_ok());
        assert!(check_id("x".repeat(MAX_EVENT_ID_LEN + 1)).is_err());
    }
}

//! Fresh event ids for replayed fixtures, and rewriting an id inside a JSON body in place.
//!
//! The rewrite splices the new value into the original text instead of re-serialising the
//! document, so a replayed body is the fixture byte for byte except for its id: key order,
//! spacing and number formatting stay as the provider (and the fixture's author) wrote them.

use std::ops::Range;

use rand::distributions::Alphanumeric;
use rand::Rng;

/// A new random id shaped like `like`: the same `prefix_` with 24 random letters and digits
/// (`evt_…`, `msg_…`), a random UUID when `like` is UUID-shaped or absent, otherwise `like`'s
/// leading letters (Slack's `Ev…`) followed by 20 random upper-case letters and digits.
pub fn fresh_id(like: Option<&str>) -> String {
    let mut rng = rand::thread_rng();
    let mut random = |n: usize| -> String {
        (&mut rng)
            .sample_iter(Alphanumeric)
            .take(n)
            .map(char::from)
            .collect()
    };
    match like {
        Some(old) if old.contains('_') => {
            let prefix = &old[..=old.find('_').unwrap_or(0)];
            format!("{prefix}{}", random(24))
        }
        Some(old) if !old.contains('-') && old.starts_with(|c: char| c.is_ascii_alphabetic()) => {
            let letters: String = old
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .take(4)
                .collect();
            format!("{letters}{}", random(20).to_ascii_uppercase())
        }
        _ => uuid_v4(rand::random()),
    }
}

/// Formats 128 random bits as a version-4 UUID.
fn uuid_v4(bits: u128) -> String {
    let bits = (bits & !(0xf << 76)) | (0x4 << 76); // version 4
    let bits = (bits & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Returns `body` with the string or number at the JSON `pointer` (object members and array
/// indices, e.g. `/id`, `/data/id` or `/0/sg_event_id`) replaced by the JSON string `new_id`;
/// `None` when the body is not JSON or nothing scalar is at that place.
pub fn rewrite_id(body: &[u8], pointer: &str, new_id: &str) -> Option<Vec<u8>> {
    let span = scalar_span(body, pointer)?;
    let replacement = serde_json::to_string(new_id).ok()?;
    let mut out = Vec::with_capacity(body.len() + replacement.len());
    out.extend_from_slice(&body[..span.start]);
    out.extend_from_slice(replacement.as_bytes());
    out.extend_from_slice(&body[span.end..]);
    Some(out)
}

/// Byte range of the string (quotes included) or number at `pointer`.
fn scalar_span(body: &[u8], pointer: &str) -> Option<Range<usize>> {
    // Parse once first: the scanner below trusts that the text is well-formed JSON.
    serde_json::from_slice::<serde::de::IgnoredAny>(body).ok()?;
    let mut at = skip_ws(body, 0);
    for segment in pointer.strip_prefix('/')?.split('/') {
        let key = segment.replace("~1", "/").replace("~0", "~");
        at = match key.parse::<usize>() {
            Ok(index) if body.get(at) == Some(&b'[') => element(body, at, index)?,
            _ => member_value(body, at, &key)?,
        };
    }
    let end = value_end(body, at)?;
    matches!(body[at], b'"' | b'-' | b'0'..=b'9').then_some(at..end)
}

/// Position of the value of member `key` in the object starting at `at`.
fn member_value(body: &[u8], at: usize, key: &str) -> Option<usize> {
    if body.get(at) != Some(&b'{') {
        return None;
    }
    let mut i = skip_ws(body, at + 1);
    while body.get(i) == Some(&b'"') {
        let key_end = value_end(body, i)?;
        let value = skip_ws(body, skip_ws(body, key_end) + 1); // past the ':'
                                                               // Keys are compared as written; fixtures use plain ASCII keys without escapes.
        if &body[i + 1..key_end - 1] == key.as_bytes() {
            return Some(value);
        }
        i = skip_ws(body, value_end(body, value)?);
        if body.get(i) == Some(&b',') {
            i = skip_ws(body, i + 1);
        }
    }
    None
}

/// Position of element `index` of the array starting at `at`.
fn element(body: &[u8], at: usize, index: usize) -> Option<usize> {
    let mut i = skip_ws(body, at + 1);
    for _ in 0..index {
        if matches!(body.get(i), None | Some(b']')) {
            return None;
        }
        i = skip_ws(body, value_end(body, i)?);
        if body.get(i) != Some(&b',') {
            return None;
        }
        i = skip_ws(body, i + 1);
    }
    (!matches!(body.get(i), None | Some(b']'))).then_some(i)
}

/// End (exclusive) of the well-formed JSON value starting at `at`.
fn value_end(body: &[u8], at: usize) -> Option<usize> {
    match body.get(at)? {
        b'"' => {
            let mut i = at + 1;
            loop {
                match body.get(i)? {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
        }
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match body.get(i)? {
                    b'"' => {
                        i = value_end(body, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let len = body[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .unwrap_or(body.len() - at);
            Some(at + len)
        }
    }
}

fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while body.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(body: &str, pointer: &str) -> Option<String> {
        rewrite_id(body.as_bytes(), pointer, "NEW").map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn rewrites_only_the_top_level_member_and_keeps_the_layout() {
        let body = "{\n  \"data\": {\"id\": \"inner\", \"s\": \"a\\\"}\"},\n  \"id\" : \"evt_1\",\n  \"n\": 1\n}";
        assert_eq!(
            rewrite(body, "/id").unwrap(),
            "{\n  \"data\": {\"id\": \"inner\", \"s\": \"a\\\"}\"},\n  \"id\" : \"NEW\",\n  \"n\": 1\n}"
        );
    }

    #[test]
    fn follows_nested_pointers_and_replaces_numbers() {
        assert_eq!(
            rewrite(r#"{"a":[1,{"id":2}],"data":{"id":42}}"#, "/data/id").unwrap(),
            r#"{"a":[1,{"id":2}],"data":{"id":"NEW"}}"#
        );
    }

    #[test]
    fn follows_array_indices() {
        let body = r#"[ {"id":"a"} , {"x":[1, 2], "id": 7} ]"#;
        assert_eq!(
            rewrite(body, "/1/id").unwrap(),
            r#"[ {"id":"a"} , {"x":[1, 2], "id": "NEW"} ]"#
        );
        assert_eq!(
            rewrite(r#"{"a":[[],"x"]}"#, "/a/1").unwrap(),
            r#"{"a":[[],"NEW"]}"#
        );
        assert_eq!(rewrite(r#"[{"id":"a"}]"#, "/1/id"), None);
        assert_eq!(rewrite("[]", "/0/id"), None);
    }

    #[test]
    fn leaves_bodies_without_a_scalar_there_alone() {
        assert_eq!(rewrite(r#"{"type":"url_verification"}"#, "/event_id"), None);
        assert_eq!(rewrite(r#"{"event_id":{"x":1}}"#, "/event_id"), None);
        assert_eq!(rewrite(r#"{"event_id":null}"#, "/event_id"), None);
        assert_eq!(rewrite(r#"[{"id":"x"}]"#, "/id"), None);
        assert_eq!(rewrite(r#"{"0":"x"}"#, "/0"), Some(r#"{"0":"NEW"}"#.into()));
        assert_eq!(rewrite(r#"{"id":"x""#, "/id"), None, "not JSON");
    }

    #[test]
    fn the_rewritten_body_is_valid_json_with_the_new_id() {
        let body = std::fs::read("fixtures/stripe/charge.refunded.json").unwrap();
        let out = rewrite_id(&body, "/id", "evt_new").unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["id"], "evt_new");
        assert_eq!(doc["data"]["object"]["id"], "ch_fixture_0001");
        assert_eq!(
            out.len(),
            body.len() - "evt_fixture_charge_refunded_0001".len() + 7
        );
    }

    #[test]
    fn fresh_ids_look_like_the_old_ones_and_differ() {
        let stripe = fresh_id(Some("evt_fixture_0001"));
        assert!(stripe.starts_with("evt_") && stripe.len() == 28, "{stripe}");
        assert_ne!(stripe, fresh_id(Some("evt_fixture_0001")));
        let slack = fresh_id(Some("Ev0FIXTURE0001"));
        assert!(slack.starts_with("Ev") && slack.len() == 22, "{slack}");
        for uuid in [
            fresh_id(Some("00000000-0000-4000-8000-000000000001")),
            fresh_id(None),
        ] {
            let parts: Vec<_> = uuid.split('-').map(str::len).collect();
            assert_eq!(parts, [8, 4, 4, 4, 12], "{uuid}");
            assert_eq!(&uuid[14..15], "4");
        }
    }
}

//! Byte keys for the sled trees, ordered so that range scans follow the data flow.
//!
//! `events`: `[len(source)] source id` — grouped by source, then id.
//! `due`, `bodies`, …: `[time big-endian u64] event-key` — in time order (the queue is scanned
//! that way; bodies are appended that way). The first byte tells the two apart: a length byte is
//! ≥ 1, a time's first byte stays 0 for the next two million years.

/// Key of one event in the `events` tree.
pub fn event_key(source: &str, id: &str) -> Vec<u8> {
    debug_assert!(
        source.len() <= u8::MAX as usize,
        "source names are validated to ≤ 64 bytes"
    );
    let mut key = Vec::with_capacity(1 + source.len() + id.len());
    key.push(source.len() as u8);
    key.extend_from_slice(source.as_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// Key of a time-ordered index entry (`due`, `finished`) for `event_key` at `at_ms`.
pub fn timed_key(at_ms: u64, event_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + event_key.len());
    key.extend_from_slice(&at_ms.to_be_bytes());
    key.extend_from_slice(event_key);
    key
}

/// Splits a time-ordered index key into (time in ms, event key).
pub fn split_timed_key(key: &[u8]) -> Option<(u64, &[u8])> {
    let (time, event) = key.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*time), event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_do_not_collide_across_sources() {
        assert_ne!(event_key("ab", "c"), event_key("a", "bc"));
        assert!(
            event_key("a", "z") < event_key("b", "a"),
            "grouped by source first"
        );
    }

    #[test]
    fn timed_keys_sort_by_time_first() {
        let a = timed_key(5, &event_key("z", "z"));
        let b = timed_key(256, &event_key("a", "a"));
        assert!(a < b);
        assert_eq!(
            split_timed_key(&b),
            Some((256, event_key("a", "a").as_slice()))
        );
        assert_eq!(split_timed_key(&[1, 2, 3]), None);
    }
}

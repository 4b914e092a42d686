//! Byte keys for the embedded stores' tables, ordered so that range scans follow the data flow.
//!
//! `events`: `[len(source)] source id` — grouped by source, then id.
//! `due`, `bodies`, …: `[time big-endian u64] event-key` — in time order (the queue is scanned
//! that way; bodies are appended that way). The first byte tells the two apart: a length byte is
//! ≥ 1, a time's first byte stays 0 for the next two million years.
//! `ordered` (redb): `[len(source)] source [len(key) u16] key [seq big-endian u64]` — the
//! unfinished events of one ordering key, in the order they were accepted.

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

/// The common start of every `ordered` entry of one ordering key of `source`:
/// `[len(source)] source [len(key) u16 big-endian] key`, so no key is a prefix of another's.
pub fn ordered_prefix(source: &str, key: &str) -> Vec<u8> {
    // Ordering keys are bounded to a few hundred bytes at ingest (see `crate::ordering`).
    let len = u16::try_from(key.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(3 + source.len() + key.len());
    out.push(source.len() as u8);
    out.extend_from_slice(source.as_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    out
}

/// Splits an `ordered` entry into (source, key value, position in line).
pub fn split_ordered_key(raw: &[u8]) -> Option<(&str, &str, u64)> {
    let (&source_len, rest) = raw.split_first()?;
    let (source, rest) = rest.split_at_checked(usize::from(source_len))?;
    let (len, rest) = rest.split_first_chunk::<2>()?;
    let (key, seq) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
    let seq: [u8; 8] = seq.try_into().ok()?;
    let text = |b| std::str::from_utf8(b).ok();
    Some((text(source)?, text(key)?, u64::from_be_bytes(seq)))
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

/// Most distinct streams [`distinct_streams`] reads: far more than any config has routes.
const MAX_STREAMS: usize = 10_000;

/// The stream names of the `events` tree, by a loose index scan: `first_from(key)` gives the
/// first event key at or after `key`, and each stream costs one such seek, whatever it holds.
pub fn distinct_streams<E>(
    mut first_from: impl FnMut(&[u8]) -> Result<Option<Vec<u8>>, E>,
) -> Result<Vec<String>, E> {
    let mut streams = Vec::new();
    let mut from = Vec::new();
    while streams.len() < MAX_STREAMS {
        let Some(key) = first_from(&from)? else { break };
        let Some((&len, rest)) = key.split_first() else {
            break;
        };
        let Some(name) = rest.get(..usize::from(len)) else {
            break;
        };
        streams.push(String::from_utf8_lossy(name).into_owned());
        match successor(&key[..=usize::from(len)]) {
            Some(next) => from = next,
            None => break,
        }
    }
    Ok(streams)
}

/// The smallest key greater than every key starting with `prefix` (`None` if there is none).
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < u8::MAX {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
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
    fn ordered_prefixes_separate_keys_and_split_back() {
        let a = ordered_prefix("s", "ab");
        let b = ordered_prefix("s", "a");
        assert!(
            !a.starts_with(&b),
            "a key is never a prefix of another's entries"
        );
        let mut entry = ordered_prefix("stripe", "cus_1");
        entry.extend_from_slice(&7u64.to_be_bytes());
        assert_eq!(split_ordered_key(&entry), Some(("stripe", "cus_1", 7)));
        assert_eq!(split_ordered_key(&entry[..entry.len() - 1]), None);
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

    #[test]
    fn a_loose_scan_finds_each_stream_once() {
        let mut keys = [
            event_key("a", "1"),
            event_key("a", "2"),
            event_key("a:x", "1"),
            event_key("b", "\u{ff}"),
            event_key("b", "z"),
        ];
        keys.sort();
        let mut seeks = 0;
        let found = distinct_streams::<()>(|from| {
            seeks += 1;
            Ok(keys.iter().find(|k| k.as_slice() >= from).cloned())
        });
        assert_eq!(found, Ok(vec!["a".into(), "b".into(), "a:x".into()]));
        assert_eq!(seeks, 4, "one seek per stream and one to find the end");
        assert_eq!(successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(successor(&[0xff]), None);
    }
}

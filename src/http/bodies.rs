//! `dedupe_on_body`: a body identical to one received within the source's window is the same
//! event, whatever id its headers carry — so a captured request resent with a fresh delivery
//! id (which GitHub's and Twilio's signatures do not cover) is answered as a duplicate.
//!
//! Kept in memory, bounded: after a restart a replay of a body seen before it is taken as
//! new once (the window starts again).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Most bodies remembered over all sources; past it the oldest are forgotten first.
const MOST_BODIES: usize = 100_000;

/// Bodies seen recently: (source, SHA-256 of the body) → the first event's id.
#[derive(Default)]
pub struct SeenBodies(Mutex<HashMap<(String, [u8; 32]), Seen>>);

struct Seen {
    id: String,
    at_ms: u64,
    window_ms: u64,
}

impl SeenBodies {
    /// The id `body` is stored under: the id of the same body seen from `source` within
    /// `window`, else `id` (remembered for the next `window`).
    pub fn claim(
        &self,
        source: &str,
        body: &[u8],
        id: String,
        window: Duration,
        now_ms: u64,
    ) -> String {
        let key = (source.to_owned(), Sha256::digest(body).into());
        let window_ms = window.as_millis() as u64;
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(first) = seen.get(&key) {
            if now_ms.saturating_sub(first.at_ms) < window_ms {
                return first.id.clone();
            }
        }
        if seen.len() >= MOST_BODIES {
            seen.retain(|_, s| now_ms.saturating_sub(s.at_ms) < s.window_ms);
        }
        if seen.len() >= MOST_BODIES {
            let oldest = seen
                .iter()
                .min_by_key(|(_, s)| s.at_ms)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                seen.remove(&oldest);
            }
        }
        let first = Seen {
            id: id.clone(),
            at_ms: now_ms,
            window_ms,
        };
        seen.insert(key, first);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_body_within_the_window_keeps_the_first_id() {
        let seen = SeenBodies::default();
        let window = Duration::from_secs(60);
        let claim = |id: &str, body: &[u8], at: u64| seen.claim("gh", body, id.into(), window, at);
        assert_eq!(claim("d1", b"{}", 0), "d1");
        assert_eq!(
            claim("d2", b"{}", 59_999),
            "d1",
            "replay with a new delivery id"
        );
        assert_eq!(claim("d3", b"{ }", 1), "d3", "another body");
        assert_eq!(claim("d4", b"{}", 60_000), "d4", "after the window");
        assert_eq!(seen.claim("other", b"{}", "o1".into(), window, 1), "o1");
    }
}

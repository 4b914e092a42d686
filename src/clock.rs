//! Time as hookbox records it: unix milliseconds and seconds, and durations in whole
//! milliseconds. A leaf module: it uses nothing else in the crate, so anything may use it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix time in milliseconds (0 if the system clock is before 1970).
pub fn now_ms() -> u64 {
    millis(since_epoch())
}

/// Unix time in whole seconds (0 if the system clock is before 1970).
pub fn now_secs() -> u64 {
    since_epoch().as_secs()
}

/// `d` in whole milliseconds, saturating at `u64::MAX`.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

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

/// Unix milliseconds `ms` as `2026-12-08 01:02:03`, in UTC to the second; the caller names the
/// zone (`Z` or ` UTC`) so no reader takes it for local time.
pub fn utc_seconds(ms: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    text.trim_end_matches('Z').replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_seconds_is_one_readable_line() {
        assert_eq!(super::utc_seconds(1_796_691_723_456), "2026-12-08 01:02:03");
        assert_eq!(super::utc_seconds(0), "1970-01-01 00:00:00");
    }
}

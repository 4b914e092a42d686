//! Reading a target's `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP date.

use std::time::{Duration, UNIX_EPOCH};

/// The wait a `Retry-After` value asks for at `now_secs` (unix seconds). A date (any of the
/// three forms RFC 9110 §5.6.7 tells recipients to accept) in the past asks for no wait; an
/// unreadable value is ignored (`None`). Clamping is the policy's job.
pub fn parse_retry_after(value: &str, now_secs: u64) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits but too long for u64: the policy clamps it anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = at.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now_secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_delay_seconds() {
        assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", 0),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn reads_http_dates_relative_to_now() {
        // 1994-11-06T08:49:37Z = 784111777.
        let at = 784_111_777;
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            parse_retry_after(date, at - 30),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after(date, at + 30), Some(Duration::ZERO));
        let leap = "Thu, 29 Feb 2024 12:00:00 GMT";
        assert_eq!(
            parse_retry_after(leap, 1_709_208_000 - 5),
            Some(Duration::from_secs(5))
        );
        // The obsolete RFC 850 and asctime forms name the same instant.
        for old in ["Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            assert_eq!(
                parse_retry_after(old, at - 30),
                Some(Duration::from_secs(30)),
                "{old}"
            );
        }
    }

    #[test]
    fn ignores_anything_else() {
        for bad in [
            "",
            "-5",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37:01 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov 0000 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, 0), None, "{bad:?}");
        }
    }
}

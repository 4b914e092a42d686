//! The retry policy: when a failed attempt is tried again, and when an event is given up on.
//!
//! Pure: the caller passes the attempt number, the failure and a random `spread` in [-1, 1],
//! so every rule here is unit-tested without clocks or randomness.

use std::time::Duration;

use crate::config::WorkerConfig;

/// Shortest wait a target's `Retry-After` can ask for (a `0` would mean "hammer me").
pub const RETRY_AFTER_MIN: Duration = Duration::from_secs(1);
/// Longest wait a target's `Retry-After` can ask for; beyond it the schedule still governs.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);

/// How an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Worth another attempt; the target may have asked to wait at least this long.
    Transient {
        /// The target's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// No retry will fix it.
    Permanent,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after this delay.
    RetryIn(Duration),
    /// Give up: the failure is permanent.
    GiveUpPermanent,
    /// Give up: this was the last attempt allowed.
    GiveUpExhausted,
}

/// The schedule, jitter and attempt limit from `[worker]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    schedule: Vec<Duration>,
    max_attempts: u32,
    jitter: f64,
}

impl RetryPolicy {
    /// The policy `[worker]` describes.
    pub fn new(cfg: &WorkerConfig) -> RetryPolicy {
        RetryPolicy {
            schedule: cfg.retry_schedule.clone(),
            max_attempts: cfg.attempts_allowed(),
            jitter: cfg.jitter.clamp(0.0, 1.0),
        }
    }

    /// Attempts allowed before an event is dead.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait after failed attempt `attempt` (1-based) before jitter: the schedule's entry,
    /// or its last entry once attempts outnumber it (when `max_attempts` is set higher).
    pub fn scheduled_delay(&self, attempt: u32) -> Duration {
        let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        self.schedule
            .get(index)
            .or(self.schedule.last())
            .copied()
            .unwrap_or(Duration::ZERO)
    }

    /// The scheduled delay with jitter applied: `spread` in [-1, 1] moves it by up to ±`jitter`.
    pub fn next_delay(&self, attempt: u32, spread: f64) -> Duration {
        let base = self.scheduled_delay(attempt);
        let spread = if spread.is_finite() {
            spread.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        // Saturates rather than panicking on an absurdly long configured delay.
        Duration::try_from_secs_f64(base.as_secs_f64() * (1.0 + self.jitter * spread))
            .unwrap_or(Duration::MAX)
    }

    /// Decides what follows failed attempt `attempt` (1-based). A `Retry-After` is clamped to
    /// [`RETRY_AFTER_MIN`, `RETRY_AFTER_MAX`] and never shortens the scheduled delay.
    pub fn after_failure(&self, attempt: u32, failure: FailureKind, spread: f64) -> Decision {
        let retry_after = match failure {
            FailureKind::Permanent => return Decision::GiveUpPermanent,
            FailureKind::Transient { retry_after } => retry_after,
        };
        if attempt >= self.max_attempts {
            return Decision::GiveUpExhausted;
        }
        let scheduled = self.next_delay(attempt, spread);
        let asked = retry_after.map(|d| d.clamp(RETRY_AFTER_MIN, RETRY_AFTER_MAX));
        Decision::RetryIn(asked.map_or(scheduled, |asked| asked.max(scheduled)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(schedule_ms: &[u64], max_attempts: Option<u32>, jitter: f64) -> RetryPolicy {
        RetryPolicy::new(&WorkerConfig {
            retry_schedule: schedule_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            max_attempts,
            jitter,
            ..WorkerConfig::default()
        })
    }

    const TRANSIENT: FailureKind = FailureKind::Transient { retry_after: None };

    #[test]
    fn follows_the_schedule_then_gives_up_after_the_last_attempt() {
        let p = policy(&[10, 200, 3000], None, 0.0);
        assert_eq!(p.max_attempts(), 4);
        assert_eq!(
            p.after_failure(1, TRANSIENT, 0.0),
            Decision::RetryIn(Duration::from_millis(10))
        );
        assert_eq!(
            p.after_failure(2, TRANSIENT, 0.0),
            Decision::RetryIn(Duration::from_millis(200))
        );
        assert_eq!(
            p.after_failure(3, TRANSIENT, 0.0),
            Decision::RetryIn(Duration::from_secs(3))
        );
        assert_eq!(
            p.after_failure(4, TRANSIENT, 0.0),
            Decision::GiveUpExhausted
        );
        assert_eq!(
            p.after_failure(9, TRANSIENT, 0.0),
            Decision::GiveUpExhausted
        );
    }

    #[test]
    fn the_default_schedule_allows_ten_attempts() {
        let p = RetryPolicy::new(&WorkerConfig::default());
        assert_eq!(p.max_attempts(), 10);
        assert_eq!(p.scheduled_delay(1), Duration::from_secs(5));
        assert_eq!(p.scheduled_delay(9), Duration::from_secs(86400));
    }

    #[test]
    fn repeats_the_last_delay_when_max_attempts_exceeds_the_schedule() {
        let p = policy(&[10, 50], Some(6), 0.0);
        assert_eq!(
            p.after_failure(5, TRANSIENT, 0.0),
            Decision::RetryIn(Duration::from_millis(50))
        );
        assert_eq!(
            p.after_failure(6, TRANSIENT, 0.0),
            Decision::GiveUpExhausted
        );
    }

    #[test]
    fn an_empty_schedule_retries_at_once() {
        let p = policy(&[], Some(3), 0.2);
        assert_eq!(
            p.after_failure(1, TRANSIENT, 1.0),
            Decision::RetryIn(Duration::ZERO)
        );
    }

    #[test]
    fn permanent_failures_give_up_immediately() {
        let p = policy(&[10], Some(5), 0.0);
        assert_eq!(
            p.after_failure(1, FailureKind::Permanent, 0.0),
            Decision::GiveUpPermanent
        );
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let p = policy(&[1000], Some(3), 0.2);
        assert_eq!(p.next_delay(1, -1.0), Duration::from_millis(800));
        assert_eq!(p.next_delay(1, 1.0), Duration::from_millis(1200));
        assert_eq!(p.next_delay(1, 0.0), Duration::from_millis(1000));
        // Out-of-range or non-finite samples cannot push it further.
        assert_eq!(p.next_delay(1, 7.0), Duration::from_millis(1200));
        assert_eq!(p.next_delay(1, f64::NAN), Duration::from_millis(1000));
        let huge = RetryPolicy {
            schedule: vec![Duration::MAX],
            max_attempts: 2,
            jitter: 0.2,
        };
        assert_eq!(huge.next_delay(1, 1.0), Duration::MAX);
        for i in -10..=10 {
            let d = p.next_delay(1, f64::from(i) / 10.0);
            assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(1200));
        }
    }

    #[test]
    fn retry_after_is_clamped_and_never_shortens_the_schedule() {
        let p = policy(&[1, 5000], Some(5), 0.0);
        let asked = |secs| FailureKind::Transient {
            retry_after: Some(Duration::from_secs(secs)),
        };
        // Honoured when longer than the schedule.
        assert_eq!(
            p.after_failure(1, asked(2), 0.0),
            Decision::RetryIn(Duration::from_secs(2))
        );
        // Clamped up to the minimum, and up to the maximum.
        assert_eq!(
            p.after_failure(1, asked(0), 0.0),
            Decision::RetryIn(RETRY_AFTER_MIN)
        );
        assert_eq!(
            p.after_failure(1, asked(86400), 0.0),
            Decision::RetryIn(RETRY_AFTER_MAX)
        );
        // Shorter than the schedule: the schedule wins.
        assert_eq!(
            p.after_failure(2, asked(2), 0.0),
            Decision::RetryIn(Duration::from_secs(5))
        );
        // Still no retry after the last attempt.
        assert_eq!(p.after_failure(5, asked(2), 0.0), Decision::GiveUpExhausted);
    }
}

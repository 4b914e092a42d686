//! A fixed-bucket latency histogram on atomics: recording is a few relaxed increments, so it
//! can sit on the request path without a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) for acknowledgement latency: a body read plus one group-committed
/// fsync, normally a few milliseconds.
pub const ACK_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds (seconds) for handler latency: from an in-process log line to a slow
/// downstream application or command.
pub const HANDLER_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Counts observations per bucket (not cumulative; [`Histogram::snapshot`] adds them up).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One per bound, then one for values above the last bound.
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

/// A histogram as read at one moment, ready for exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Upper bounds in seconds, ascending.
    pub bounds: &'static [f64],
    /// Observations at or below each bound (cumulative).
    pub cumulative: Vec<u64>,
    /// All observations (the `+Inf` bucket).
    pub count: u64,
    /// Sum of all observations, in seconds.
    pub sum_seconds: f64,
}

impl Histogram {
    /// An empty histogram over `bounds` (seconds, ascending).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "ascending bounds");
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        let bucket = self
            .bounds
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(self.bounds.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The current state. `count` is derived from the buckets, so `+Inf` always equals it even
    /// while observations race the read; `sum` may lag by those in flight.
    pub fn snapshot(&self) -> Snapshot {
        let mut running = 0u64;
        let mut cumulative: Vec<u64> = self
            .counts
            .iter()
            .map(|c| {
                running = running.saturating_add(c.load(Ordering::Relaxed));
                running
            })
            .collect();
        let count = cumulative.pop().unwrap_or(0);
        Snapshot {
            bounds: self.bounds,
            cumulative,
            count,
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_inclusive_of_their_bound() {
        let h = Histogram::new(&[0.001, 0.01, 0.1]);
        h.observe(Duration::from_micros(500)); // ≤ 0.001
        h.observe(Duration::from_millis(1)); // exactly on a bound counts in it
        h.observe(Duration::from_millis(5)); // ≤ 0.01
        h.observe(Duration::from_millis(50)); // ≤ 0.1
        h.observe(Duration::from_secs(3)); // only +Inf
        let s = h.snapshot();
        assert_eq!(s.cumulative, vec![2, 3, 4]);
        assert_eq!(s.count, 5);
        assert!((s.sum_seconds - 3.0565).abs() < 1e-9, "{}", s.sum_seconds);
    }

    #[test]
    fn empty_histogram_has_zero_everywhere() {
        let s = Histogram::new(ACK_BUCKETS).snapshot();
        assert_eq!(s.cumulative, vec![0; ACK_BUCKETS.len()]);
        assert_eq!((s.count, s.sum_seconds), (0, 0.0));
    }

    #[test]
    fn bucket_sets_ascend() {
        for bounds in [ACK_BUCKETS, HANDLER_BUCKETS] {
            assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        }
    }
}

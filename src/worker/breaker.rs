//! The circuit breaker of one forward destination (pure: times are unix ms passed in).
//!
//! Closed, it counts consecutive failures (timeouts, connection errors, 5xx). At the threshold
//! it opens: nothing is sent there until the cooldown has passed. Then one attempt goes
//! through as a probe (half-open): success closes the circuit, failure opens it again for
//! another cooldown. Events held back meanwhile stay queued and lose no attempt.
//!
//! The count runs on while open — the failures that opened it plus every failed probe — and
//! only a success resets it, so an operator reading it sees how long the destination has been
//! failing, not a zero.

use serde::Serialize;

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    /// Attempts go through.
    Closed,
    /// No attempt goes through until the cooldown ends.
    Open,
    /// One probe attempt is running; its result decides.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half-open`.
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// One destination's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    state: BreakerState,
    /// Consecutive failures, until a success.
    failures: u32,
    /// While open: when a probe may start (unix ms).
    open_until: u64,
    /// How many times it opened since start.
    opened: u64,
    threshold: u32,
    cooldown_ms: u64,
}

impl Breaker {
    /// A closed breaker that opens after `threshold` consecutive failures for `cooldown_ms`.
    pub fn new(threshold: u32, cooldown_ms: u64) -> Breaker {
        Breaker {
            state: BreakerState::Closed,
            failures: 0,
            open_until: 0,
            opened: 0,
            threshold: threshold.max(1),
            cooldown_ms,
        }
    }

    /// The state (an open breaker whose cooldown ended stays `Open` until its probe starts).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Consecutive failures: those that opened it and each failed probe since; 0 after a
    /// success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Times it opened since hookbox started.
    pub fn opened(&self) -> u64 {
        self.opened
    }

    /// While open: when the next probe may start.
    pub fn open_until(&self) -> Option<u64> {
        (self.state == BreakerState::Open).then_some(self.open_until)
    }

    /// While not closed: when the next probe may start (open), or when the probe now
    /// running was let through (half-open).
    pub fn next_probe_at(&self) -> Option<u64> {
        (self.state != BreakerState::Closed).then_some(self.open_until)
    }

    /// Whether an attempt may start at `now`; `probes_reserved` are probes already let
    /// through but not yet started (at most one goes while not closed).
    pub fn admits(&self, now: u64, probes_reserved: usize) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => now >= self.open_until && probes_reserved == 0,
            BreakerState::HalfOpen => false,
        }
    }

    /// An attempt started at `now`: past an open breaker's cooldown it is the probe.
    pub fn started(&mut self, now: u64) {
        if self.state == BreakerState::Open && now >= self.open_until {
            self.state = BreakerState::HalfOpen;
        }
    }

    /// An attempt ended at `now`; `failed` when the destination timed out, refused or
    /// answered 5xx.
    pub fn finished(&mut self, failed: bool, now: u64) {
        if !failed {
            self.state = BreakerState::Closed;
            self.failures = 0;
            return;
        }
        self.failures = self.failures.saturating_add(1);
        match self.state {
            BreakerState::Closed if self.failures >= self.threshold => self.open(now),
            BreakerState::Closed => {}
            BreakerState::HalfOpen => self.open(now),
            // A late failure of an attempt started before it opened is counted, but does not
            // push the probe back.
            BreakerState::Open => {}
        }
    }

    /// An attempt ended without a result (cancelled, panicked): a probe that ends so lets the
    /// next probe through at once rather than leaving the breaker half-open for good.
    pub fn abandoned(&mut self) {
        if self.state == BreakerState::HalfOpen {
            self.state = BreakerState::Open;
        }
    }

    /// This breaker's state under new settings (a reloaded config): a breaker that was open
    /// stays open until the probe time it had, whatever the new cooldown says.
    pub fn with_settings(mut self, threshold: u32, cooldown_ms: u64) -> Breaker {
        self.abandoned();
        self.threshold = threshold.max(1);
        self.cooldown_ms = cooldown_ms;
        self
    }

    fn open(&mut self, now: u64) {
        self.state = BreakerState::Open;
        self.open_until = now.saturating_add(self.cooldown_ms);
        self.opened += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_probes_after_the_cooldown_and_closes_on_success() {
        let mut b = Breaker::new(3, 1000);
        b.finished(true, 10);
        b.finished(false, 20); // a success resets the count
        b.finished(true, 30);
        b.finished(true, 40);
        assert_eq!(b.state(), BreakerState::Closed);
        b.finished(true, 50);
        assert_eq!(
            (b.state(), b.open_until(), b.opened()),
            (BreakerState::Open, Some(1050), 1)
        );
        assert_eq!((b.failures(), b.next_probe_at()), (3, Some(1050)));
        assert!(!b.admits(1049, 0), "cooling down");
        assert!(b.admits(1050, 0), "the probe");
        assert!(!b.admits(1050, 1), "only one probe");
        b.started(1050);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(!b.admits(1060, 0));
        assert_eq!(b.next_probe_at(), Some(1050), "the running probe's time");
        b.finished(false, 1100);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!((b.failures(), b.next_probe_at()), (0, None));
        assert!(b.admits(1100, 5));
    }

    #[test]
    fn a_probe_without_a_result_lets_the_next_one_through() {
        let mut b = Breaker::new(1, 1_000);
        b.finished(true, 0);
        b.started(1_000);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.abandoned();
        assert!(b.admits(1_000, 0), "the next probe may start");
        let carried = b.with_settings(5, 60_000);
        assert_eq!(carried.state(), BreakerState::Open);
        assert_eq!(carried.open_until(), Some(1_000), "the probe time it had");
    }

    #[test]
    fn a_failed_probe_opens_it_again_and_late_failures_do_not_move_the_probe() {
        let mut b = Breaker::new(1, 100);
        b.finished(true, 0);
        b.finished(true, 50); // started before it opened
        assert_eq!(b.open_until(), Some(100));
        b.started(100);
        b.finished(true, 120);
        assert_eq!(
            (b.state(), b.open_until(), b.opened()),
            (BreakerState::Open, Some(220), 2)
        );
        assert_eq!(
            b.failures(),
            3,
            "the opening failure, the late one and the failed probe"
        );
    }
}

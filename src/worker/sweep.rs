//! Retention: periodically purges the bodies of succeeded events past `retention`, forgets
//! their ids past `dedupe_window`, and drops audit records past `admin.audit_retention`, in
//! small batches so ingest never waits behind it.

use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::clock::{millis, now_ms};
use crate::config::StorageConfig;
use crate::store::Store;

/// Events handled per batch; the sweep yields to other tasks between batches.
const BATCH: usize = 64;
/// Longest pause between sweeps.
const MAX_PERIOD: Duration = Duration::from_secs(60);
/// Shortest pause between sweeps (reached only with test-sized retention settings).
const MIN_PERIOD: Duration = Duration::from_millis(10);

/// How often to sweep: often enough that nothing outlives its limit by more than a fraction
/// of that limit, and at most once a minute.
pub fn period(storage: &StorageConfig) -> Duration {
    (storage.retention.min(storage.dedupe_window) / 4).clamp(MIN_PERIOD, MAX_PERIOD)
}

/// Sweeps now and then every [`period`] until `stop` is cancelled; audit records go once
/// older than `audit_retention`.
pub async fn run(
    store: Store,
    period: Duration,
    audit_retention: Duration,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let mut touched = 0;
        loop {
            let n = match store.expire(now_ms(), BATCH).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed; will try again");
                    break;
                }
            };
            touched += n;
            // A short batch means nothing more is due (for now); a full one may have company.
            if n < BATCH || stop.is_cancelled() {
                break;
            }
            tokio::task::yield_now().await;
        }
        if touched > 0 {
            tracing::debug!(touched, "retention sweep");
        }
        expire_audit(&store, audit_retention, &stop).await;
    }
}

/// Drops audit records past their retention, a batch at a time.
async fn expire_audit(store: &Store, retention: Duration, stop: &CancellationToken) {
    let before = now_ms().saturating_sub(millis(retention));
    while !stop.is_cancelled() {
        match store.expire_audit(before, BATCH).await {
            Ok(n) if n == BATCH => tokio::task::yield_now().await,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "audit retention sweep failed; will try again");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_follows_the_shorter_limit_within_bounds() {
        let mut s = StorageConfig::default();
        assert_eq!(period(&s), MAX_PERIOD);
        s.retention = Duration::from_millis(100);
        s.dedupe_window = Duration::from_millis(400);
        assert_eq!(period(&s), Duration::from_millis(25));
        s.retention = Duration::ZERO;
        assert_eq!(period(&s), MIN_PERIOD);
    }
}

//! Alerts: rules over the store and the worker's published state, delivered through the queue.
//!
//! A task ([`run`]) looks at what the rules watch a few times a second: the deaths (with their
//! times), accepted counts and destination circuits the worker and ingest publish in
//! [`Metrics`], the queue's earliest due time and the store's ability to write. When a rule fires it accepts an *alert
//! event* into the internal source [`ALERT_SOURCE`] through the ordinary atomic
//! dedupe-and-enqueue path, one route per notify target. Its id is the rule's name and the
//! window (or episode) it is about, so further firings are duplicates: at most one alert per
//! rule and window, however many events die. A `dead` alert is due at the end of its window
//! and its message — counts and first ids — is built from the store when the worker delivers
//! it ([`message`]); so it survives a crash from the moment it is accepted, and a start-up
//! pass re-fires the windows of recent deaths whose alert a crash may have kept from being
//! accepted. Delivery is the forward handler's (Standard Webhooks signing for `json`),
//! retries and all, and alert events are listed like any other.

mod fire;
mod message;
mod silence;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;

pub use crate::config::ALERT_SOURCE;
pub use message::{message, Message};

/// How often the in-memory signals (counts, circuits) are looked at.
const TICK: Duration = Duration::from_millis(200);

/// Whether `stream` holds alert deliveries.
pub fn is_alert_stream(stream: &str) -> bool {
    crate::store::split_stream(stream).0 == ALERT_SOURCE
}

/// Watches `config`'s alert rules until `shutdown` is cancelled. Does nothing without rules.
pub async fn run(
    config: Arc<Config>,
    store: Store,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    if config.alerts.rules.is_empty() {
        return;
    }
    let mut watcher = watch::Watcher::new(config, store, metrics, now_ms()).await;
    loop {
        watcher.tick(now_ms()).await;
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(TICK) => {}
        }
    }
}

//! Background processing of queued events. (Placeholder until the processing issue lands.)

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::store::Store;

/// Runs the worker until `shutdown` is cancelled.
pub async fn run(_config: Arc<Config>, _store: Store, shutdown: CancellationToken) {
    shutdown.cancelled().await;
}

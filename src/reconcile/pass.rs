//! One reconciliation pass of one source: what a provider's walk needs (the API client, the
//! store, the source as configured now) and what it reports.

use std::sync::Mutex;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::api::{Api, ApiError};
use crate::config::Source;
use crate::store::{Store, StoreError};

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Events (Stripe) or deliveries (GitHub) the API listed.
    pub listed: u64,
    /// Events stored (Stripe) or redeliveries requested (GitHub) because hookbox lacked them.
    pub reconciled: u64,
    /// Events hookbox already had.
    pub known: u64,
}

/// Why a pass stopped early.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PassError {
    /// The API refused or kept failing.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// An event could not be stored.
    #[error("could not store an event: {0}")]
    Store(#[from] StoreError),
    /// The API answered something that is not what its documentation says.
    #[error("unexpected answer: {0}")]
    Answer(String),
}

impl PassError {
    /// The `outcome` label of `hookbox_reconcile_runs_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            PassError::Api(ApiError::Unauthorized { .. }) => "unauthorized",
            PassError::Api(ApiError::Stopped) => "stopped",
            PassError::Api(ApiError::Failed(_)) | PassError::Answer(_) => "api_error",
            PassError::Store(_) => "store_error",
        }
    }
}

/// What a provider's walk works with.
pub(super) struct Pass<'a> {
    /// The HTTP client.
    pub api: &'a Api,
    /// Where events go.
    pub store: &'a Store,
    /// The source, as configured now.
    pub source: &'a Source,
    /// The API's base URL.
    pub api_base: &'a str,
    /// Ends waits at shutdown.
    pub stop: &'a CancellationToken,
    /// Where the walk is (the last event or delivery id seen), for `/admin/reconcile`.
    pub cursor: &'a Mutex<Option<String>>,
    /// What the walk did so far (kept when it fails part-way: what it stored stays stored).
    pub tally: &'a Mutex<Tally>,
}

impl Pass<'_> {
    /// Notes how far the walk got.
    pub fn progress(&self, cursor: &str) {
        if let Ok(mut c) = self.cursor.lock() {
            *c = Some(cursor.to_owned());
        }
    }

    /// Adds to the tally.
    pub fn count(&self, add: impl FnOnce(&mut Tally)) {
        if let Ok(mut t) = self.tally.lock() {
            add(&mut t);
        }
    }

    /// Whether hookbox has event `id` of this source in any of its routes.
    pub async fn known(&self, id: &str) -> Result<bool, StoreError> {
        for route in &self.source.routes {
            if self.store.get(&route.stream, id).await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

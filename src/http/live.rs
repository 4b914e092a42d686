//! The configuration a reload (SIGHUP) may replace, and what is derived from it. Each request
//! takes one snapshot at its start (`Ctx::current`), so a reload never changes the rules in the
//! middle of a request.

use std::sync::{Arc, RwLock};

use crate::config::Config;

/// A shared, replaceable configuration: the config and the retired streams read with it.
#[derive(Clone)]
pub struct Live(Arc<RwLock<Snapshot>>);

/// One configuration as requests see it.
#[derive(Clone)]
pub struct Snapshot {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Streams holding deliveries of routes that this configuration no longer has.
    pub retired_streams: Arc<Vec<String>>,
}

impl Live {
    /// A handle holding `snapshot`.
    pub fn new(snapshot: Snapshot) -> Live {
        Live(Arc::new(RwLock::new(snapshot)))
    }

    /// The configuration in force now.
    pub fn get(&self) -> Snapshot {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts `snapshot` in force for every request that starts from now on.
    pub fn replace(&self, snapshot: Snapshot) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
    }
}

//! Reconciliation: fetch what a provider's own API says it sent, so events that never reached
//! hookbox — an outage longer than the provider's retries — are stored anyway. One file per
//! provider API (`stripe`, `github`); every event goes through `accept::accept_event`, the
//! webhook's own atomic dedupe-and-enqueue, so each is stored once whichever way it came.
//!
//! Each `[sources.<name>.reconcile]` source gets a loop that runs a pass every `every`; a pass
//! holds the store's lease `reconcile:<name>` (one instance at a time on PostgreSQL) and this
//! process's turn for the source (a pass asked for by `hookbox reconcile` waits for a running
//! one). A pass reads the source as configured now, so a reload's routes apply at once.

mod api;
mod github;
mod pass;
mod status;
mod stripe;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use pass::{PassError, Tally};
pub use status::Status;

use self::api::Api;
use self::pass::Pass;
use crate::clock::{millis, now_ms};
use crate::config::{Config, ReconcileApi, Source};
use crate::store::Store;

/// Why a pass asked for by hand did not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The source does not exist or has no `[reconcile]` table.
    #[error("source {0:?} is not configured to reconcile")]
    NotReconciled(String),
}

/// The reconciling sources of this process: their loops, their status and their counters.
/// Cheap to clone.
#[derive(Clone)]
pub struct Reconciler {
    inner: Arc<Inner>,
}

struct Inner {
    api: Result<Api, String>,
    slots: BTreeMap<String, Slot>,
}

/// One source's state in this process.
struct Slot {
    status: Mutex<Status>,
    cursor: Mutex<Option<String>>,
    tally: Mutex<Tally>,
    /// Held during a pass, so this process never runs two of one source at once.
    turn: tokio::sync::Mutex<()>,
}

/// The configuration in force now (a reload may change it).
pub type Current = Arc<dyn Fn() -> Arc<Config> + Send + Sync>;

impl Reconciler {
    /// The reconcilers of `config`'s sources with a `[reconcile]` table.
    pub fn new(config: &Config) -> Reconciler {
        let slots = (config.sources.iter())
            .filter_map(|s| Some((s, s.reconcile.as_ref()?)))
            .map(|(s, r)| {
                let status = Status {
                    source: s.name.clone(),
                    api: r.api.name(),
                    every_secs: r.every.as_secs(),
                    ..Status::default()
                };
                let slot = Slot {
                    status: Mutex::new(status),
                    cursor: Mutex::new(None),
                    tally: Mutex::new(Tally::default()),
                    turn: tokio::sync::Mutex::new(()),
                };
                (s.name.clone(), slot)
            })
            .collect();
        let api = if config.sources.iter().any(|s| s.reconcile.is_some()) {
            Api::new().map_err(|e| format!("no TLS client for the provider API: {e}"))
        } else {
            Err("no source reconciles".to_owned())
        };
        Reconciler {
            inner: Arc::new(Inner { api, slots }),
        }
    }

    /// Every reconciling source's status, by name.
    pub fn statuses(&self) -> Vec<Status> {
        let slots = self.inner.slots.values();
        slots
            .filter_map(|s| s.status.lock().ok().map(|s| s.clone()))
            .collect()
    }

    /// The reconcile series of `/metrics`.
    pub fn metrics(&self) -> String {
        status::render(&self.statuses())
    }

    /// Runs one full pass of `source` now, over what was sent since `since_ms` (default: its
    /// `lookback`), after any pass running in this process; returns its status.
    pub async fn run_now(
        &self,
        config: &Config,
        store: &Store,
        source: &str,
        since_ms: Option<u64>,
        stop: &CancellationToken,
    ) -> Result<Status, RunError> {
        let not = || RunError::NotReconciled(source.to_owned());
        let src = config.source(source).ok_or_else(not)?;
        let r = src.reconcile.as_ref().ok_or_else(not)?;
        let since = since_ms.unwrap_or_else(|| now_ms().saturating_sub(millis(r.lookback)));
        self.pass(src, store, since, true, stop)
            .await
            .ok_or_else(not)
    }

    /// Runs every reconciling source's loop until `shutdown`.
    pub async fn run(self, current: Current, store: Store, shutdown: CancellationToken) {
        let mut loops = tokio::task::JoinSet::new();
        for name in self.inner.slots.keys() {
            let this = self.clone();
            let (name, current) = (name.clone(), current.clone());
            let (store, shutdown) = (store.clone(), shutdown.clone());
            loops.spawn(async move {
                tokio::select! {
                    () = this.schedule(&name, current, &store, &shutdown) => {}
                    () = shutdown.cancelled() => {}
                }
            });
        }
        while loops.join_next().await.is_some() {}
    }

    /// One source's passes, every `every`: the quick kind, and a full one once `full_every`
    /// passed since the last (Stripe; GitHub passes are all alike).
    async fn schedule(
        &self,
        name: &str,
        current: Current,
        store: &Store,
        stop: &CancellationToken,
    ) {
        let mut last_full = now_ms();
        loop {
            let config = current();
            let source = config.source(name).filter(|s| s.reconcile.is_some());
            let every = match source.and_then(|s| Some((s, s.reconcile.as_ref()?))) {
                None => Duration::from_secs(60),
                Some((source, r)) => {
                    let now = now_ms();
                    let full = match &r.api {
                        ReconcileApi::Stripe { full_every, .. } => {
                            now.saturating_sub(last_full) >= millis(*full_every)
                        }
                        ReconcileApi::Github { .. } => true,
                    };
                    let since = now.saturating_sub(millis(r.lookback));
                    let status = self.pass(source, store, since, full, stop).await;
                    if full && status.is_some_and(|s| s.last_outcome == Some("success")) {
                        last_full = now;
                    }
                    r.every
                }
            };
            if let Some(slot) = self.inner.slots.get(name) {
                if let Ok(mut status) = slot.status.lock() {
                    status.next_run_at = Some(now_ms().saturating_add(millis(every)));
                }
            }
            tokio::time::sleep(every).await;
        }
    }

    /// One pass of `source` under its lease; its status after, `None` for an unknown source.
    async fn pass(
        &self,
        source: &Source,
        store: &Store,
        since_ms: u64,
        full: bool,
        stop: &CancellationToken,
    ) -> Option<Status> {
        let slot = self.inner.slots.get(&source.name)?;
        let r = source.reconcile.as_ref()?;
        let _turn = slot.turn.lock().await;
        let started = now_ms();
        if let Ok(mut status) = slot.status.lock() {
            status.running = true;
            status.last_run_at = Some(started);
        }
        let result = match (
            &self.inner.api,
            store.try_lease(&format!("reconcile:{}", source.name)).await,
        ) {
            (Err(e), _) => Err(("api_error", e.clone())),
            (_, Err(e)) => Err(("store_error", format!("could not take the lease: {e}"))),
            (_, Ok(None)) => Err((
                "busy",
                "another instance is running this source's pass".into(),
            )),
            (Ok(api), Ok(Some(_lease))) => {
                if let Ok(mut c) = slot.cursor.lock() {
                    *c = None;
                }
                if let Ok(mut t) = slot.tally.lock() {
                    *t = Tally::default();
                }
                let p = Pass {
                    api,
                    store,
                    source,
                    api_base: &r.api_base,
                    stop,
                    cursor: &slot.cursor,
                    tally: &slot.tally,
                };
                run_pass(&p, since_ms / 1000, full)
                    .await
                    .map_err(|e| (e.outcome(), e.to_string()))
            }
        };
        let mut status = slot.status.lock().ok()?;
        status.running = false;
        status.cursor = slot.cursor.lock().ok().and_then(|c| c.clone());
        let tally = slot.tally.lock().map(|t| *t).unwrap_or_default();
        status.last_pass = tally;
        status.reconciled_total += tally.reconciled;
        let outcome = match result {
            Ok(()) => {
                tracing::info!(source = %source.name, full, listed = tally.listed, reconciled = tally.reconciled, "reconcile: pass done");
                status.last_success_at = Some(started);
                if full {
                    status.last_full_pass_at = Some(started);
                }
                status.last_error = None;
                "success"
            }
            Err((outcome, error)) => {
                match outcome {
                    "busy" => tracing::info!(source = %source.name, "reconcile: {error}"),
                    _ => {
                        tracing::error!(source = %source.name, outcome, error = %error, "reconcile: pass failed")
                    }
                }
                status.last_error = Some(error);
                outcome
            }
        };
        status.last_outcome = Some(outcome);
        *status.runs.entry(outcome).or_insert(0) += 1;
        Some(status.clone())
    }
}

/// Runs one pass over what was sent since `since_secs`: for Stripe only the events whose
/// delivery failed unless `full`; for GitHub every delivery.
async fn run_pass(p: &Pass<'_>, since_secs: u64, full: bool) -> Result<(), PassError> {
    let Some(reconcile) = &p.source.reconcile else {
        return Ok(());
    };
    match &reconcile.api {
        ReconcileApi::Stripe { api_key, types, .. } => {
            stripe::pass(p, api_key.expose(), types, since_secs, full).await
        }
        ReconcileApi::Github { api_token, hook } => {
            github::pass(p, api_token.expose(), hook, since_secs).await
        }
    }
}

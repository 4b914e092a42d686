//! Reloading the configuration while serving (SIGHUP): sources, secrets, routes, handlers, the
//! retry policy and admin tokens take effect without a restart; the listener and the store do
//! not (a change there is reported, and waits for a restart).
//!
//! The HTTP side switches at once: every request starting after the switch reads the new
//! configuration. The worker is restarted: the running one stops claiming, lets the attempts it
//! started finish, and a new one starts with the new handlers, so no event in flight is cut off
//! and none is claimed twice.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::{Live, Snapshot};
use crate::metrics::Metrics;
use crate::store::{split_stream, Store, StoreError};
use crate::worker;

/// The streams `store` holds deliveries under whose route `config` does not have.
pub async fn retired_streams(store: &Store, config: &Config) -> Result<Vec<String>, StoreError> {
    Ok((store.streams().await?)
        .into_iter()
        .filter(|s| split_stream(s).1.is_some() && config.route(s).is_none())
        .collect())
}

/// What changed between `old` and `new` that only a restart applies.
pub fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    // Requests read `trusted_proxies` from the config in force, so it alone applies at once.
    let server = |c: &Config| {
        let mut server = c.server.clone();
        server.trusted_proxies.clear();
        format!("{server:?}")
    };
    if server(old) != server(new) {
        changed.push("[server]");
    }
    if old.admin.listen != new.admin.listen {
        changed.push("admin.listen");
    }
    let url = |c: &Config| {
        c.storage
            .database_url
            .as_ref()
            .map(|u| u.expose().to_owned())
    };
    if format!("{:?}", old.storage) != format!("{:?}", new.storage) || url(old) != url(new) {
        changed.push("[storage]");
    }
    // The alert watcher reads its rules once, at start (see `alerts`).
    if format!("{:?}", old.alerts.rules) != format!("{:?}", new.alerts.rules) {
        changed.push("[[alerts.rules]]");
    }
    changed
}

/// What the worker supervisor needs.
pub struct Supervised {
    /// The store the worker claims from.
    pub store: Store,
    /// Metrics the worker feeds.
    pub metrics: Arc<Metrics>,
    /// Where requests read the configuration.
    pub live: Live,
    /// Process shutdown: the worker stops claiming.
    pub shutdown: CancellationToken,
    /// Process deadline: running handlers are ended.
    pub deadline: CancellationToken,
}

/// Runs the worker with `config`, restarting it with each configuration `reloads` delivers
/// (after putting it in force for requests), until shutdown.
pub async fn supervise(s: Supervised, config: Arc<Config>, mut reloads: mpsc::Receiver<Config>) {
    let mut config = config;
    let mut kept = worker::Kept::default();
    loop {
        let generation = s.shutdown.child_token();
        let run = worker::run(
            config.clone(),
            s.store.clone(),
            s.metrics.clone(),
            (generation.clone(), s.deadline.clone()),
            kept,
        );
        tokio::pin!(run);
        let next = loop {
            let next = tokio::select! {
                _ = &mut run => return,
                next = reloads.recv() => next,
            };
            let Some(next) = next else {
                // No reloads will come (tests, or the signal task ended): just run.
                run.await;
                return;
            };
            match retired_streams(&s.store, &next).await {
                Ok(retired) => break (Arc::new(next), retired),
                Err(e) => tracing::error!(
                    error = %e,
                    "config reload refused: the store could not be read; the running config stays"
                ),
            }
        };
        let (next, retired) = next;
        // Stop the old worker claiming before requests use the new config: an event accepted
        // under a route only the new config has must not reach a worker that does not know it.
        generation.cancel();
        s.metrics.add_sources(crate::metrics::series_names(&next));
        s.live.replace(Snapshot {
            config: next.clone(),
            retired_streams: Arc::new(retired),
        });
        for warning in crate::config::warnings(&next) {
            tracing::warn!(source = warning.source.as_deref(), "{}", warning.text);
        }
        for part in needs_restart(&config, &next) {
            tracing::warn!(
                part,
                "config reloaded, but this part applies only after a restart"
            );
        }
        tracing::info!(
            sources = next.sources.len(),
            "config reloaded: requests use it now; the worker restarts once its running attempts end"
        );
        kept = run.await;
        config = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_and_the_store_need_a_restart() {
        let load = |text: &str| crate::config::load_str(text, "t.toml", &|_| None).expect("valid");
        let base = "[sources.gh]\nscheme = \"github\"\nsecrets = [\"a\"]\n";
        let old = load(base);
        let more = load(&format!(
            "{base}[sources.gl]\nscheme = \"github\"\nsecrets = [\"b\"]\n"
        ));
        assert!(needs_restart(&old, &more).is_empty(), "sources reload");
        let listen = load(&format!("[server]\nlisten = \"127.0.0.1:9\"\n{base}"));
        assert_eq!(needs_restart(&old, &listen), ["[server]"]);
        let storage = load(&format!("[storage]\ndata_dir = \"/elsewhere\"\n{base}"));
        assert_eq!(needs_restart(&old, &storage), ["[storage]"]);
        let proxies = load(&format!(
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n{base}"
        ));
        assert!(
            needs_restart(&old, &proxies).is_empty(),
            "proxies apply at once"
        );
        let admin = load(&format!("[admin]\nlisten = \"127.0.0.1:9\"\n{base}"));
        assert_eq!(needs_restart(&old, &admin), ["admin.listen"]);
    }
}

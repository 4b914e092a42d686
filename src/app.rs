//! Wires the store, the HTTP server and the worker together, and drains them on shutdown.

use crate::clock::now_ms;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, StorageBackend};
use crate::http::{self, Ctx};
use crate::metrics::Metrics;
use crate::reconcile::Reconciler;
use crate::reload;
use crate::store::{Store, StoreError};

/// Why hookbox could not run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store could not be opened (sled directory locked or unreadable, database down, …).
    #[error("cannot open the store ({store}): {source}")]
    Store {
        /// Which store: the sled directory, or "PostgreSQL".
        store: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// `admin.listen` could not be bound.
    #[error("cannot listen on {addr} (admin.listen): {source}")]
    AdminListen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
    /// The listener's certificate could not be loaded.
    #[error("server.tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// The sockets hookbox serves on: the public one, and the admin one when `admin.listen` is set
/// (bound from the config when not given here).
pub struct Listeners {
    /// `server.listen`.
    pub public: TcpListener,
    /// `admin.listen`.
    pub admin: Option<TcpListener>,
}

/// Most time the store gets to close at shutdown, after the worker stopped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long past the shutdown deadline the worker gets to cancel its attempts.
const CANCEL_GRACE: Duration = Duration::from_secs(1);

/// Cancels `deadline` once `timeout` has passed since `shutdown` was cancelled: the one
/// deadline both the HTTP drain and the worker drain end at.
async fn deadline_after(
    shutdown: CancellationToken,
    deadline: CancellationToken,
    timeout: Duration,
) {
    shutdown.cancelled().await;
    tokio::time::sleep(timeout).await;
    deadline.cancel();
}

/// Runs hookbox on `listener` until `shutdown` is cancelled; then stops accepting and claiming
/// at once, lets in-flight requests and running handlers finish — both within one
/// `server.shutdown_timeout` from the signal — and flushes.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    run_with_reloads(config, listener, shutdown, mpsc::channel(1).1).await
}

/// [`run`], taking each configuration `reloads` delivers as a reload (see `reload`): sources,
/// secrets, routes, handlers and the retry policy change while serving.
pub async fn run_with_reloads(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
    reloads: mpsc::Receiver<Config>,
) -> Result<(), AppError> {
    let listeners = Listeners {
        public: listener,
        admin: None,
    };
    run_listening(config, listeners, shutdown, reloads).await
}

/// [`run_with_reloads`] on the given sockets.
pub async fn run_listening(
    config: Config,
    listeners: Listeners,
    shutdown: CancellationToken,
    reloads: mpsc::Receiver<Config>,
) -> Result<(), AppError> {
    let listener = listeners.public;
    let admin_listener = match (listeners.admin, config.admin.listen) {
        (Some(given), _) => Some(given),
        (None, Some(addr)) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| AppError::AdminListen { addr, source })?,
        ),
        (None, None) => None,
    };
    let edge = crate::http::edge_listeners(&config, listener, admin_listener, &shutdown)?;
    let config = Arc::new(config);
    let store_name = match config.storage.backend {
        StorageBackend::Redb => format!("redb in {}", config.storage.data_dir.display()),
        StorageBackend::Sled => format!("sled in {}", config.storage.data_dir.display()),
        StorageBackend::Postgres => "PostgreSQL".to_owned(),
    };
    let store_err = |source| AppError::Store {
        store: store_name.clone(),
        source,
    };
    let store = Store::open(&config.storage).await.map_err(store_err)?;
    let recovered = store.recover(now_ms()).await.map_err(store_err)?;
    // Deliveries of routes no longer configured stay part of their events (status, dedupe
    // answers, listings): which streams those are changes only with the config.
    let retired = reload::retired_streams(&store, &config)
        .await
        .map_err(store_err)?;
    if !retired.is_empty() {
        tracing::warn!(
            streams = %retired.join(", "),
            "the store holds deliveries of routes that are no longer configured; they stay \
             part of their events' status"
        );
    }
    crate::open_files::raise_and_check(config.server.max_connections, config.worker.concurrency);
    for warning in crate::config::warnings(&config) {
        match &warning.source {
            Some(source) => tracing::warn!(source = %source, "{}", warning.text),
            None => tracing::warn!("{}", warning.text),
        }
    }
    tracing::info!(
        listen = %edge.public.address(),
        https = edge.public.tls.is_some(),
        admin_listen = edge.admin.as_ref().map(|a| a.address()),
        store = %store_name,
        pending = store.pending(),
        recovered,
        "hookbox started"
    );

    let metrics = Arc::new(Metrics::new(crate::metrics::series_names(&config)));
    let deadline = CancellationToken::new();
    tokio::spawn(deadline_after(
        shutdown.clone(),
        deadline.clone(),
        config.server.shutdown_timeout,
    ));
    let tasks = TaskTracker::new();
    // Set before serving, so `/readyz` never sees a worker that is merely not started yet;
    // cleared when the task ends for any reason, a panic included.
    let running = store.worker_running_guard();
    // The worker watches the same signal as the listener: it stops claiming when shutdown
    // starts, not after the HTTP side has drained.
    let retired = Arc::new(retired);
    let live = http::Live::new(http::Snapshot {
        config: config.clone(),
        retired_streams: retired.clone(),
    });
    let supervised = reload::Supervised {
        store: store.clone(),
        metrics: metrics.clone(),
        live: live.clone(),
        shutdown: shutdown.clone(),
        deadline: deadline.clone(),
    };
    let worker_run = reload::supervise(supervised, config.clone(), reloads);
    tasks.spawn(async move {
        let _running = running;
        worker_run.await
    });
    let reconciler = Reconciler::new(&config);
    let current_config = live.clone();
    tasks.spawn(reconciler.clone().run(
        Arc::new(move || current_config.get().config),
        store.clone(),
        shutdown.clone(),
    ));
    let alerts = crate::alerts::run(
        config.clone(),
        store.clone(),
        metrics.clone(),
        shutdown.clone(),
    );
    tasks.spawn(alerts);
    let ctx = Ctx {
        reconciler,
        config: config.clone(),
        store: store.clone(),
        metrics,
        body_budget: http::BodyBudget::new(config.server.max_inflight_body_bytes),
        retired_streams: retired,
        live,
        edge: edge.state,
    };
    let admin =
        (edge.admin).map(|a| http::serve(a, ctx.clone(), shutdown.clone(), deadline.clone()));
    let public = http::serve(edge.public, ctx, shutdown, deadline.clone());
    match admin {
        Some(admin) => drop(tokio::join!(public, admin)),
        None => public.await,
    }

    tasks.close();
    // The worker ends its handlers at the deadline; this bound only covers an attempt that
    // does not notice being cancelled.
    let worker_done = async {
        deadline.cancelled().await;
        tokio::time::sleep(CANCEL_GRACE).await;
    };
    tokio::select! {
        () = tasks.wait() => {}
        () = worker_done => tracing::warn!(
            "worker did not stop in time; its claimed events return to the queue on next start"
        ),
    }
    // The store's last write and close get a bounded grace of their own: a disk that hangs
    // must not keep the process from exiting (an unclean close loses nothing acknowledged).
    match tokio::time::timeout(CLOSE_GRACE, store.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "closing the store failed"),
        Err(_) => tracing::error!("the store did not close within 5 s; exiting without it"),
    }
    tracing::info!("hookbox stopped");
    Ok(())
}

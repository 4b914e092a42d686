//! Wake-ups across instances through PostgreSQL `LISTEN`/`NOTIFY`.
//!
//! An accept or requeue wakes this instance's worker at once (an in-process [`Notify`], as with
//! sled) and asks the announcer task to `NOTIFY` the deployment's channel. The announcer sends at
//! most one notification per [`ANNOUNCE_GAP`], however many events arrived meanwhile, outside the
//! accept's own transaction: a `NOTIFY` inside it would serialise every accept's commit on the
//! server's notification-queue lock and defeat the server's group commit. It commits with
//! `synchronous_commit = off`, since a lost notification only costs latency. The listener task
//! holds one dedicated connection (not a pooled one: it must be polled continuously to receive
//! notifications) and wakes the local worker for every notification another instance sent; it
//! reconnects with back-off, and wakes the worker after every (re)connect in case it missed one.
//!
//! Wake-ups are only a latency optimisation: the worker also sleeps no longer than until
//! `next_due`, and an event another instance queued is found by the next claim whatever happens
//! to a notification.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Config};
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Shortest time between two notifications this instance sends.
const ANNOUNCE_GAP: Duration = Duration::from_millis(20);
/// Longest wait between two attempts to re-establish the listening connection.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The wake-up signal of one store: local, and shared with other instances.
#[derive(Clone)]
pub struct Wake {
    local: Arc<Notify>,
    outbox: Arc<Notify>,
    stop: CancellationToken,
    /// Stops the background tasks when the last store handle is dropped.
    _stop_on_drop: Arc<DropGuard>,
}

impl Wake {
    /// Starts the announcer (on `pool`) and the listener (on its own connection from `config`)
    /// for `channel`. Needs a tokio runtime.
    pub fn start(pool: Pool, config: Config, tls: MakeRustlsConnect, channel: String) -> Wake {
        let local = Arc::new(Notify::new());
        let outbox = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        // Tags our own notifications so the listener can ignore them (the worker was woken
        // locally already).
        let me = format!("{:016x}", rand::random::<u64>());
        tokio::spawn(announce(
            pool,
            channel.clone(),
            me.clone(),
            outbox.clone(),
            stop.clone(),
        ));
        tokio::spawn(listen(
            config,
            tls,
            channel,
            me,
            local.clone(),
            stop.clone(),
        ));
        Wake {
            local,
            outbox,
            _stop_on_drop: Arc::new(stop.clone().drop_guard()),
            stop,
        }
    }

    /// Wakes this instance's worker now and other instances' shortly.
    pub fn announce(&self) {
        self.local.notify_one();
        self.outbox.notify_one();
    }

    /// Stops the background tasks now.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Resolves at the next wake-up (or at once if one came since the last call).
    pub async fn woken(&self) {
        self.local.notified().await
    }
}

/// Sends one notification per burst of announcements until `stop`.
async fn announce(
    pool: Pool,
    channel: String,
    me: String,
    outbox: Arc<Notify>,
    stop: CancellationToken,
) {
    // `channel` is built from a validated schema name and `me` is hex: both are safe literals.
    let sql = format!(
        "BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify('{channel}', '{me}'); COMMIT"
    );
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = outbox.notified() => {}
        }
        let sent = match pool.get().await {
            Ok(client) => client.batch_execute(&sql).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = sent {
            tracing::debug!(%error, "could not notify other instances");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(ANNOUNCE_GAP) => {}
        }
    }
}

/// Keeps a listening connection up until `stop`, waking `local` for other instances' events.
async fn listen(
    config: Config,
    tls: MakeRustlsConnect,
    channel: String,
    me: String,
    local: Arc<Notify>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen_once(&config, &tls, &channel, &me, &local, &stop).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64,
                    "lost the database notification connection; other instances' events are \
                     found by polling meanwhile");
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One listening connection's life: `Ok` when stopped, `Err` when the connection failed.
async fn listen_once(
    config: &Config,
    tls: &MakeRustlsConnect,
    channel: &str,
    me: &str,
    local: &Notify,
    stop: &CancellationToken,
) -> Result<(), String> {
    let (client, mut connection) = config
        .connect(tls.clone())
        .await
        .map_err(|e| e.to_string())?;
    let subscribe = format!("LISTEN \"{channel}\"");
    let listen = client.batch_execute(&subscribe);
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            done = &mut listen, if !listening => {
                done.map_err(|e| e.to_string())?;
                listening = true;
                local.notify_one(); // anything sent while we were not listening
            }
            // The connection only makes progress (for LISTEN too) while it is polled.
            message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(n))) if n.payload() != me => {
                    local.notify_one();
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("connection closed".into()),
            },
        }
    }
}

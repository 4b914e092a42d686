//! The accept loop: connection cap, TLS handshake, header timeout, graceful shutdown.

use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::gate::{Conn, Face};
use super::router::route;
use super::Ctx;
use crate::tls::server::ACME_TLS_ALPN;

/// One listener: its socket, what it serves, and its TLS when it speaks HTTPS.
pub struct Listener {
    /// The bound socket.
    pub socket: TcpListener,
    /// Which paths it serves.
    pub face: Face,
    /// The TLS configuration, for HTTPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Serves HTTP/1.1 (over TLS when configured) on `listener` until `shutdown` is cancelled,
/// then stops accepting and waits for in-flight requests to finish — until `deadline` is
/// cancelled.
pub async fn serve(
    listener: Listener,
    ctx: Ctx,
    shutdown: CancellationToken,
    deadline: CancellationToken,
) {
    let cfg = ctx.config.server.clone();
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    // Without a timer, hyper silently ignores header_read_timeout.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout)
        // max_buf_size alone is a soft bound on the head (checked only between reads, so one
        // large read can carry a bigger head past it); max_header_size is exact.
        .max_buf_size(64 * 1024)
        .max_header_size(64 * 1024)
        .max_headers(100);
    let acceptor = listener.tls.map(TlsAcceptor::from);
    let face = listener.face;
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.socket.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually EMFILE: back off briefly rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            ctx: ctx.clone(),
            conn: Conn { peer, face },
            builder: builder.clone(),
            watcher: graceful.watcher(),
            permit,
        };
        match &acceptor {
            None => {
                tokio::spawn(conn.serve(stream));
            }
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                // The handshake counts against the same bound as the request head.
                let limit = cfg.header_read_timeout;
                let stop = shutdown.clone();
                tokio::spawn(async move {
                    let tls = tokio::select! {
                        () = stop.cancelled() => return,
                        tls = tokio::time::timeout(limit, handshake) => tls,
                    };
                    match tls {
                        // A TLS-ALPN-01 validation only needs the handshake.
                        Ok(Ok(tls)) if tls.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) => {}
                        Ok(Ok(tls)) => conn.serve(tls).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
    drop(listener.socket);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = deadline.cancelled() => {
            tracing::warn!("shutdown timeout reached with connections still open");
        }
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    ctx: Ctx,
    conn: Conn,
    builder: http1::Builder,
    watcher: Watcher,
    permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve<S>(self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            ctx,
            conn,
            builder,
            watcher,
            permit,
        } = self;
        let service = service_fn(move |mut req| {
            req.extensions_mut().insert(conn);
            route(ctx.clone(), req)
        });
        let served = watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
        if let Err(e) = served.await {
            tracing::debug!(peer = %conn.peer, error = %e, "connection ended with an error");
        }
        drop(permit);
    }
}

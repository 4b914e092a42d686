//! The accept loop: connection cap, header timeout, graceful shutdown.

use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::router::route;
use super::Ctx;

/// Serves HTTP/1.1 on `listener` until `shutdown` is cancelled, then stops accepting and waits
/// for in-flight requests to finish — until `deadline` is cancelled.
pub async fn serve(
    listener: TcpListener,
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
            accepted = listener.accept() => match accepted {
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
        let ctx = ctx.clone();
        let service = service_fn(move |req| route(ctx.clone(), req));
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = deadline.cancelled() => {
            tracing::warn!("shutdown timeout reached with connections still open");
        }
    }
}

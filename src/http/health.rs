//! `GET /healthz` (the process answers) and `GET /readyz` (storage takes writes and the worker
//! runs), for load balancers and orchestrators. Neither needs a token.

use http::StatusCode;
use serde_json::json;

use super::problem::{Problem, Reason, Reply};
use super::{json_response, Ctx};
use crate::clock::now_ms;

/// `GET /healthz`: always 200 while the process serves HTTP.
pub fn healthz() -> Reply {
    Ok(json_response(StatusCode::OK, &json!({"status": "ok"})))
}

/// `GET /readyz`: 200 when a probe write becomes durable and the worker is running, else 503.
pub async fn readyz(ctx: &Ctx) -> Reply {
    if !ctx.store.worker_running() {
        return Err(Problem::new(Reason::NotReady, "the worker is not running"));
    }
    if let Err(e) = ctx.store.check_writable(now_ms()).await {
        tracing::error!(error = %e, "readiness probe write failed");
        return Err(Problem::new(
            Reason::NotReady,
            "storage does not accept writes",
        ));
    }
    Ok(json_response(StatusCode::OK, &json!({"status": "ready"})))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn ready_only_while_the_worker_runs() {
        let dir = tempfile::tempdir().expect("dir");
        let toml = "[sources.gh]\nscheme = \"github\"\nsecrets = [\"s\"]\n";
        let mut config = crate::config::load_str(toml, "t.toml", &|_| None).expect("config");
        config.storage.data_dir = dir.path().to_path_buf();
        let store = Store::open(&config.storage).await.expect("open");
        let config = Arc::new(config);
        let live = super::super::Live::new(super::super::Snapshot {
            config: config.clone(),
            retired_streams: Arc::default(),
        });
        let ctx = Ctx {
            reconciler: crate::reconcile::Reconciler::new(&config),
            config,
            store: store.clone(),
            metrics: Arc::new(crate::metrics::Metrics::new(["gh"])),
            body_budget: super::super::BodyBudget::new(1024),
            retired_streams: Arc::default(),
            live,
            edge: Arc::default(),
        };
        let not_ready = readyz(&ctx).await.unwrap_or_else(|p| p.response());
        assert_eq!(not_ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            not_ready.headers()[http::header::CONTENT_TYPE],
            "application/problem+json"
        );
        let running = store.worker_running_guard();
        assert_eq!(
            readyz(&ctx).await.unwrap_or_else(|p| p.response()).status(),
            StatusCode::OK
        );
        drop(running);
        assert_eq!(
            readyz(&ctx).await.unwrap_or_else(|p| p.response()).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let _running = store.worker_running_guard();
        store.close().await.expect("close");
        let closed = readyz(&ctx).await.unwrap_or_else(|p| p.response());
        assert_eq!(
            closed.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "storage gone"
        );
    }
}

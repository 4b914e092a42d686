//! `GET /admin/reconcile`: each reconciling source's last pass, cursor and error;
//! `POST /admin/reconcile/<source>?since=`: one full pass now (after an outage), answered with
//! that source's status once it ended — a failed pass is a 200 whose `lastOutcome` says so.

use http::StatusCode;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::problem::{Problem, Reason, Reply};
use super::query::Params;
use super::{json_response, Ctx};
use crate::reconcile::RunError;

/// `GET /admin/reconcile`.
pub fn list(ctx: &Ctx) -> Reply {
    let body = json!({ "sources": ctx.reconciler.statuses() });
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /admin/reconcile/<source>?since=`.
pub async fn run(ctx: &Ctx, source: &str, query: Option<&str>) -> Reply {
    let params = Params::parse(query, &["since"])?;
    let since = params.time("since")?;
    // A pass asked for by hand ends with its own API deadlines, not the server's shutdown.
    let stop = CancellationToken::new();
    let status = ctx
        .reconciler
        .run_now(&ctx.config, &ctx.store, source, since, &stop)
        .await
        .map_err(|e| match e {
            RunError::NotReconciled(_) => Problem::new(Reason::NotFound, e.to_string()),
        })?;
    if status.last_outcome == Some("busy") {
        return Err(Problem::new(
            Reason::Conflict,
            "another instance is running this source's pass; try again when it ends",
        ));
    }
    Ok(json_response(StatusCode::OK, &json!(status)))
}

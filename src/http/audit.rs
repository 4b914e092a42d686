//! The audit log's HTTP side: the router records every admin action (done or refused) after
//! answering it, and `GET /admin/audit` reads the log back, newest first.
//!
//! The record comes from the [`Acted`] a handler attached to its response; without one (a
//! refusal before any handler ran, or a handler that attaches none) it is derived from the
//! request: the action from the route, the event or the path as the target. An action that was
//! carried out stays carried out when its record cannot be written: the answer goes out as it
//! is, and the failure is logged at error and counted (`hookbox_audit_write_failures_total`).

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use super::auth::Principal;
use super::problem::{Problem, Reason, Reply};
use super::query::Params;
use super::{json_response, Acted, Ctx};
use crate::clock::now_ms;
use crate::store::audit::valid_audit_cursor;
use crate::store::{AuditFilter, AuditOutcome, AuditRecord};

/// Writes the audit record of the admin action `method path?query` that `who` asked for and
/// `res` answered.
pub async fn record(
    ctx: &Ctx,
    who: Principal<'_>,
    (method, path, query): (&Method, &str, Option<&str>),
    res: &Response<Full<Bytes>>,
) {
    let status = res.status();
    let acted = match res.extensions().get::<Acted>() {
        Some(acted) => acted.clone(),
        None => derived(method, path, query, status.is_success()),
    };
    let mut record = AuditRecord::new(now_ms(), who.name, who.role.name(), acted.action)
        .touching(acted.targets, acted.count as u64);
    record.dry_run = acted.dry_run;
    record.status = Some(status.as_u16());
    if !status.is_success() {
        record.outcome = AuditOutcome::Refused;
    }
    if let Err(e) = ctx.store.append_audit(vec![record]).await {
        ctx.metrics.audit_failed();
        tracing::error!(
            error = %e,
            token = who.name,
            action = acted.action,
            status = status.as_u16(),
            "the action was answered but its audit record could not be written"
        );
    }
}

/// What an action without an [`Acted`] did, as far as the request says.
fn derived(method: &Method, path: &str, query: Option<&str>, done: bool) -> Acted {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let event = |source: &str, id: &str| vec![format!("{}/{}", decode(source), decode(id))];
    let whole = || vec![query.map_or_else(|| path.to_owned(), |q| format!("{path}?{q}"))];
    let (action, targets) = match (method, segments.as_slice()) {
        (&Method::DELETE, ["admin", "events", source, id]) => ("discard", event(source, id)),
        (_, ["admin", "events", source, id, "requeue"]) => ("requeue", event(source, id)),
        (_, ["admin", "requeue"]) => ("bulk_requeue", whole()),
        (_, ["admin", "batch"]) => ("batch", whole()),
        _ => (method_action(method), whole()),
    };
    let dry_run = query
        .unwrap_or("")
        .split('&')
        .any(|p| matches!(p, "dry_run=true" | "dry_run=1"));
    Acted {
        action,
        targets,
        count: usize::from(done),
        dry_run,
    }
}

/// Any other action is named by its method.
fn method_action(method: &Method) -> &'static str {
    match *method {
        Method::POST => "post",
        Method::PUT => "put",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "other",
    }
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// `GET /admin/audit?limit=&cursor=&action=&token=`: the audit log, newest first.
pub async fn list(ctx: &Ctx, query: Option<&str>) -> Reply {
    let p = Params::parse(query, &["limit", "cursor", "action", "token"])?;
    let limit = p.limit()?;
    let cursor = p.text("cursor");
    if cursor.is_some_and(|c| !valid_audit_cursor(c)) {
        let detail = "cursor is not one hookbox issued";
        return Err(Problem::new(Reason::InvalidQuery, detail));
    }
    let filter = AuditFilter {
        action: p.text("action").map(str::to_owned),
        token: p.text("token").map(str::to_owned),
    };
    let page = ctx.store.list_audit(limit, cursor, &filter).await?;
    let mut body = json!({ "items": page.items });
    if let Some(next) = page.next {
        body["nextCursor"] = Value::String(next);
    }
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_without_acted_are_named_by_their_route() {
        let post = Method::POST;
        let one = derived(
            &post,
            "/admin/events/stripe%3Abilling/evt_1/requeue",
            None,
            true,
        );
        assert_eq!(
            (one.action, one.targets, one.count),
            ("requeue", vec!["stripe:billing/evt_1".into()], 1)
        );
        let gone = derived(&Method::DELETE, "/admin/events/s/e", None, false);
        assert_eq!((gone.action, gone.count), ("discard", 0));
        let bulk = derived(&post, "/admin/requeue", Some("source=s&dry_run=true"), true);
        assert_eq!(bulk.action, "bulk_requeue");
        assert_eq!(bulk.targets, ["/admin/requeue?source=s&dry_run=true"]);
        assert!(bulk.dry_run);
        assert_eq!(derived(&Method::PUT, "/admin/x", None, false).action, "put");
    }
}

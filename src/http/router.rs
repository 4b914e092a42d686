//! Maps a request to its handler and logs one line per request.

use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use tracing::Instrument;

use super::auth::{authorize, Access};
use super::problem::{problem, Reason};
use super::query::Params;
use super::{admin, health, ingest::ingest, metrics, status::event_status, Ctx};

/// Serves one request.
pub async fn route(
    ctx: Ctx,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!(
        "request",
        %method,
        path = %path,
        source = tracing::field::Empty,
        event_id = tracing::field::Empty,
    );
    let res = dispatch(&ctx, req).instrument(span.clone()).await;
    metrics::count_delivery(&ctx, &path, &res, started.elapsed());
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        )
    });
    Ok(res)
}

async fn dispatch(ctx: &Ctx, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["webhooks", source] => {
            let Some(source) = ctx.config.source(source) else {
                return problem(Reason::NotFound, "no source of that name is configured");
            };
            tracing::Span::current().record("source", source.name.as_str());
            if req.method() != Method::POST {
                return not_allowed("POST");
            }
            ingest(ctx, source, req).await
        }
        // The form `event_location` gives ids that are dot segments.
        ["events", source] if req.uri().query().is_some() => {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return not_allowed("GET, HEAD");
            }
            let id = match Params::parse(req.uri().query(), &["id"]) {
                Ok(params) => params.text("id").map(str::to_owned),
                Err(reason) => return problem(Reason::InvalidQuery, &reason),
            };
            match (decode(source), id) {
                (Some(source), Some(id)) => event_status(ctx, req.headers(), &source, &id).await,
                (None, _) => bad_path(),
                (_, None) => problem(Reason::InvalidQuery, "the id parameter is required"),
            }
        }
        ["events", source, id] => {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return not_allowed("GET, HEAD");
            }
            match (decode(source), decode(id)) {
                (Some(source), Some(id)) => event_status(ctx, req.headers(), &source, &id).await,
                _ => bad_path(),
            }
        }
        ["admin", rest @ ..] => {
            // Authorise before routing, so without the token nothing about the API is revealed.
            if let Err(denied) = authorize(&ctx.config.admin, req.headers(), Access::Admin) {
                return denied.response();
            }
            dispatch_admin(ctx, &req, rest).await
        }
        ["healthz"] => health::healthz(),
        ["readyz"] => health::readyz(ctx).await,
        ["metrics"] if matches!(*req.method(), Method::GET | Method::HEAD) => {
            metrics::scrape(ctx).await
        }
        ["metrics"] => not_allowed("GET, HEAD"),
        _ => problem(Reason::NotFound, "no such route"),
    }
}

async fn dispatch_admin(
    ctx: &Ctx,
    req: &Request<Incoming>,
    rest: &[&str],
) -> Response<Full<Bytes>> {
    let (method, query) = (req.method(), req.uri().query());
    let readable = method == Method::GET || method == Method::HEAD;
    match rest {
        ["events"] if readable => admin::list_events(ctx, query).await,
        ["events"] => not_allowed("GET, HEAD"),
        ["events", source, id, action @ ("payload" | "requeue")] => {
            let (Some(source), Some(id)) = (decode(source), decode(id)) else {
                return bad_path();
            };
            tracing::Span::current().record("source", source.as_str());
            tracing::Span::current().record("event_id", id.as_str());
            match *action {
                "payload" if readable => admin::payload(ctx, &source, &id).await,
                "payload" => not_allowed("GET, HEAD"),
                _ if method == Method::POST => admin::requeue_one(ctx, &source, &id).await,
                _ => not_allowed("POST"),
            }
        }
        ["destinations"] if readable => admin::destinations(ctx),
        ["destinations"] => not_allowed("GET, HEAD"),
        ["requeue"] if method == Method::POST => admin::requeue_dead(ctx, query).await,
        ["requeue"] => not_allowed("POST"),
        _ => problem(Reason::NotFound, "no such admin route"),
    }
}

fn bad_path() -> Response<Full<Bytes>> {
    problem(
        Reason::Malformed,
        "the path is not valid percent-encoded UTF-8",
    )
}

fn decode(segment: &str) -> Option<String> {
    percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

fn not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut res = problem(
        Reason::MethodNotAllowed,
        &format!("this route accepts {allow}"),
    );
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    res
}

//! Maps a request to its handler and logs one line per request.

use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use tracing::Instrument;

use super::auth::{allowed, authorize, forbidden, reads, Access, Denied};
use super::problem::{Problem, Reason, Reply};
use super::query::Params;
use super::{
    admin, audit, batch, console, etag, gate, health, ingest::ingest, metrics, openapi, operate,
    overview, reconcile, routed::event_status, tls_status, Ctx,
};

/// Serves one request.
pub async fn route(
    ctx: Ctx,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let ctx = ctx.current();
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
    let res = dispatch(&ctx, req)
        .instrument(span.clone())
        .await
        .unwrap_or_else(|problem| problem.response());
    metrics::count_delivery(&ctx, &path, &res, started.elapsed());
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            latency_ms = latency_ms(started.elapsed()),
            "request"
        )
    });
    Ok(res)
}

/// Milliseconds to the microsecond, so a log shows `23.914`, not `23.913615999999998`.
fn latency_ms(elapsed: std::time::Duration) -> f64 {
    elapsed.as_micros() as f64 / 1000.0
}

async fn dispatch(ctx: &Ctx, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let readable = matches!(*req.method(), Method::GET | Method::HEAD);
    let conn = req.extensions().get::<gate::Conn>().copied();
    if !conn.is_none_or(|c| c.face.serves(segments[0])) {
        return Err(Problem::new(Reason::NotFound, "no such route"));
    }
    match segments.as_slice() {
        ["webhooks", source] => {
            let source = ctx.config.source(source).ok_or_else(|| {
                Problem::new(Reason::NotFound, "no source of that name is configured")
            })?;
            tracing::Span::current().record("source", source.name.as_str());
            if req.method() != Method::POST {
                return Err(Problem::not_allowed("POST"));
            }
            let trusted = &ctx.config.server.trusted_proxies;
            gate::admit(
                &ctx.edge.buckets,
                source,
                trusted,
                conn.as_ref(),
                req.headers(),
            )?;
            ingest(ctx, source, req).await
        }
        // The form `event_location` gives ids that are dot segments.
        ["events", source] if req.uri().query().is_some() => {
            if !readable {
                return Err(Problem::not_allowed("GET, HEAD"));
            }
            let params = Params::parse(req.uri().query(), &["id"])?;
            let source = decode(source)?;
            let id = params.text("id").ok_or_else(|| {
                Problem::new(Reason::InvalidQuery, "the id parameter is required")
            })?;
            event_status(ctx, req.headers(), &source, id).await
        }
        ["events", source, id] => {
            if !readable {
                return Err(Problem::not_allowed("GET, HEAD"));
            }
            event_status(ctx, req.headers(), &decode(source)?, &decode(id)?).await
        }
        ["admin", rest @ ..] => {
            // Authorise before routing, so without a token nothing about the API is revealed.
            let who = authorize(&ctx.config.admin, req.headers(), Access::Admin)?;
            let who = who.ok_or(Denied::Missing)?;
            let (method, query) = (req.method().clone(), req.uri().query().map(str::to_owned));
            let res = match rest {
                _ if !allowed(who, &method) => Err(forbidden(who)),
                ["batch"] if method == Method::POST => batch::batch(ctx, req).await,
                ["batch"] => Err(Problem::not_allowed("POST")),
                _ => dispatch_admin(ctx, &req, rest).await,
            };
            if reads(&method) {
                return res;
            }
            // Every action by a known token is audited, refused or done.
            let res = res.unwrap_or_else(|problem| problem.response());
            audit::record(ctx, who, (&method, &path, query.as_deref()), &res).await;
            Ok(res)
        }
        ["healthz"] if readable => health::healthz(),
        ["readyz"] if readable => health::readyz(ctx).await,
        ["healthz" | "readyz"] => Err(Problem::not_allowed("GET, HEAD")),
        ["metrics"] if readable => Ok(metrics::scrape(ctx).await),
        ["metrics"] => Err(Problem::not_allowed("GET, HEAD")),
        ["openapi.json"] if readable => Ok(openapi::document()),
        ["openapi.json"] => Err(Problem::not_allowed("GET, HEAD")),
        ["console", rest @ ..] => Ok(console::serve(ctx, req.method(), rest)),
        // Browsers ask for it on every page of the console: no icon, and no 404 in the log.
        ["favicon.ico"] if readable => {
            let mut res = Response::new(Full::new(Bytes::new()));
            *res.status_mut() = http::StatusCode::NO_CONTENT;
            Ok(res)
        }
        ["favicon.ico"] => Err(Problem::not_allowed("GET, HEAD")),
        _ => Err(Problem::new(Reason::NotFound, "no such route")),
    }
}

async fn dispatch_admin(ctx: &Ctx, req: &Request<Incoming>, rest: &[&str]) -> Reply {
    let (method, query, hdrs) = (req.method(), req.uri().query(), req.headers());
    let readable = method == Method::GET || method == Method::HEAD;
    match rest {
        ["events"] if readable => {
            Ok(etag::conditional(hdrs, admin::list_events(ctx, query).await?).await)
        }
        ["events"] => Err(Problem::not_allowed("GET, HEAD")),
        ["events", source, id] => {
            let (source, id) = (decode(source)?, decode(id)?);
            tracing::Span::current().record("source", source.as_str());
            tracing::Span::current().record("event_id", id.as_str());
            match *method {
                Method::DELETE => operate::discard(ctx, &source, &id, query).await,
                _ if readable => {
                    Ok(etag::conditional(hdrs, admin::event(ctx, &source, &id).await?).await)
                }
                _ => Err(Problem::not_allowed("GET, HEAD, DELETE")),
            }
        }
        ["counts"] if readable => {
            Ok(etag::conditional(hdrs, overview::counts(ctx, query).await?).await)
        }
        ["counts"] => Err(Problem::not_allowed("GET, HEAD")),
        ["summary"] if readable => Ok(etag::conditional(hdrs, overview::summary(ctx).await?).await),
        ["summary"] => Err(Problem::not_allowed("GET, HEAD")),
        ["events", source, id, action @ ("payload" | "requeue")] => {
            let (source, id) = (decode(source)?, decode(id)?);
            tracing::Span::current().record("source", source.as_str());
            tracing::Span::current().record("event_id", id.as_str());
            match *action {
                "payload" if readable => admin::payload(ctx, &source, &id).await,
                "payload" => Err(Problem::not_allowed("GET, HEAD")),
                _ if method == Method::POST => operate::requeue(ctx, &source, &id, query).await,
                _ => Err(Problem::not_allowed("POST")),
            }
        }
        ["ordering"] if readable => admin::ordering(ctx, query).await,
        ["ordering"] => Err(Problem::not_allowed("GET, HEAD")),
        ["destinations"] if readable => admin::destinations(ctx),
        ["destinations"] => Err(Problem::not_allowed("GET, HEAD")),
        ["requeue"] if method == Method::POST => admin::requeue_dead(ctx, query).await,
        ["requeue"] => Err(Problem::not_allowed("POST")),
        ["reconcile"] if readable => reconcile::list(ctx),
        ["reconcile"] => Err(Problem::not_allowed("GET, HEAD")),
        ["reconcile", source] if method == Method::POST => {
            reconcile::run(ctx, &decode(source)?, query).await
        }
        ["reconcile", _] => Err(Problem::not_allowed("POST")),
        ["tls"] if readable => tls_status::status(ctx),
        ["tls"] => Err(Problem::not_allowed("GET, HEAD")),
        ["audit"] if readable => audit::list(ctx, query).await,
        ["audit"] => Err(Problem::not_allowed("GET, HEAD")),
        _ => Err(Problem::new(Reason::NotFound, "no such admin route")),
    }
}

/// A path segment, percent-decoded as UTF-8.
fn decode(segment: &str) -> Result<String, Problem> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            Problem::new(
                Reason::Malformed,
                "the path is not valid percent-encoded UTF-8",
            )
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn latency_prints_to_the_microsecond() {
        let d = std::time::Duration::from_nanos(23_913_615);
        assert_eq!(super::latency_ms(d).to_string(), "23.913");
    }
}

//! The web console: `GET /console` (the page) and `/console/assets/<name>.<hash>.<ext>` (its
//! scripts and styles), embedded in the binary. The page signs in with the admin token, keeps
//! it in `sessionStorage` and calls the admin API with it; this module only serves files.
//!
//! Every answer carries a strict `Content-Security-Policy` (own scripts and styles only, nothing
//! inline, no framing), `Referrer-Policy: no-referrer` and `X-Content-Type-Options: nosniff`.
//! Assets are named by a fingerprint of their contents and cached for a year; the page itself is
//! `no-store`, so a new binary's page points at its new assets at once. Without an admin token
//! configured the console is disabled and says how to enable it.

mod assets;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;

use super::problem::{Problem, Reason};
use super::{response, Ctx};

/// The policy every console answer carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const DISABLED: &str = include_str!("disabled.html");

/// Serves `/console/<rest>`.
pub fn serve(ctx: &Ctx, method: &Method, rest: &[&str]) -> Response<Full<Bytes>> {
    secured(answer(ctx, method, rest))
}

fn answer(ctx: &Ctx, method: &Method, rest: &[&str]) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        return Problem::not_allowed("GET, HEAD").response();
    }
    if !ctx.config.admin.enabled() {
        return html(
            StatusCode::FORBIDDEN,
            Bytes::from_static(DISABLED.as_bytes()),
        );
    }
    match rest {
        [] | [""] => html(StatusCode::OK, Bytes::from(assets::index_page())),
        ["assets", name] => match assets::find(name) {
            Some(asset) => response(
                StatusCode::OK,
                asset.content_type,
                "public, max-age=31536000, immutable",
                Bytes::from_static(asset.body),
            ),
            None => Problem::new(Reason::NotFound, "no such console asset").response(),
        },
        _ => Problem::new(Reason::NotFound, "no such console page").response(),
    }
}

fn html(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    response(status, "text/html; charset=utf-8", "no-store", body)
}

/// `res` with the headers every console answer carries.
fn secured(mut res: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

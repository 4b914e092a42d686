//! The served certificate made visible: `GET /admin/tls` and its lines in `GET /metrics`.

use std::fmt::Write as _;

use http::StatusCode;
use serde_json::{json, Value};

use super::problem::Reply;
use super::{json_response, Ctx};

/// `GET /admin/tls`: whether the public listener speaks HTTPS, and its certificate.
pub fn status(ctx: &Ctx) -> Reply {
    let certificates: Vec<Value> = (ctx.edge.certs.iter())
        .map(|certs| {
            let info = certs.info();
            json!({
                "origin": info.origin,
                "names": info.names,
                "notAfter": info.not_after,
                "loadedAt": info.loaded_at,
                "lastReloadOk": info.last_error.is_none(),
                "lastError": info.last_error,
            })
        })
        .collect();
    let body = json!({"https": ctx.edge.certs.is_some(), "certificates": certificates});
    Ok(json_response(StatusCode::OK, &body))
}

/// The certificate's gauges in Prometheus text (nothing when the listener is plain HTTP).
pub fn metrics_text(ctx: &Ctx) -> String {
    let Some(certs) = &ctx.edge.certs else {
        return String::new();
    };
    let info = certs.info();
    let origin = info.origin.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP hookbox_tls_certificate_not_after_seconds End of the served certificate's \
         validity (Unix seconds).\n# TYPE hookbox_tls_certificate_not_after_seconds gauge\n\
         hookbox_tls_certificate_not_after_seconds{{certificate=\"{origin}\"}} {}",
        info.not_after
    );
    let _ = writeln!(
        out,
        "# HELP hookbox_tls_certificate_last_reload_success 1 if the last reload of the \
         certificate succeeded (or none was needed), 0 if it failed and the old one serves.\n\
         # TYPE hookbox_tls_certificate_last_reload_success gauge\n\
         hookbox_tls_certificate_last_reload_success{{certificate=\"{origin}\"}} {}",
        u8::from(info.last_error.is_none())
    );
    out
}

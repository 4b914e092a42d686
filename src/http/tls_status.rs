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
            let status = certs.status();
            let current = status.current.as_ref();
            json!({
                "origin": status.origin,
                "names": current.map(|c| c.names.clone()).unwrap_or_default(),
                "notAfter": current.map(|c| c.not_after),
                "loadedAt": current.map(|c| c.loaded_at),
                "lastReloadOk": status.last_error.is_none(),
                "lastError": status.last_error,
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
    let status = certs.status();
    let origin = status.origin.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::new();
    if let Some(current) = &status.current {
        let _ = writeln!(
            out,
            "# HELP hookbox_tls_certificate_not_after_seconds End of the served certificate's \
         validity (Unix seconds).\n# TYPE hookbox_tls_certificate_not_after_seconds gauge\n\
         hookbox_tls_certificate_not_after_seconds{{certificate=\"{origin}\"}} {}",
            current.not_after
        );
    }
    let _ = writeln!(
        out,
        "# HELP hookbox_tls_certificate_last_reload_success 1 if the last reload of the \
         certificate succeeded (or none was needed), 0 if it failed and the old one serves.\n\
         # TYPE hookbox_tls_certificate_last_reload_success gauge\n\
         hookbox_tls_certificate_last_reload_success{{certificate=\"{origin}\"}} {}",
        u8::from(status.last_error.is_none())
    );
    out
}

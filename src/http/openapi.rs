//! `GET /openapi.json`: the OpenAPI 3.1 document of the whole HTTP API, kept beside the code
//! that serves it (`openapi.json`) and embedded in the binary. `.ci/schemathesis.sh` checks the
//! running server against it.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::response;

/// The document, as shipped.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// The document, as a response.
pub fn document() -> Response<Full<Bytes>> {
    let body = Bytes::from_static(DOCUMENT.as_bytes());
    response(StatusCode::OK, "application/json", "no-cache", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_covers_every_route() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/webhooks/{source}",
            "/events/{source}/{id}",
            "/events/{source}",
            "/healthz",
            "/readyz",
            "/favicon.ico",
            "/metrics",
            "/openapi.json",
            "/admin/events",
            "/admin/events/{source}/{id}",
            "/admin/events/{source}/{id}/payload",
            "/admin/events/{source}/{id}/requeue",
            "/admin/requeue",
            "/admin/counts",
            "/admin/summary",
            "/admin/destinations",
            "/admin/ordering",
            "/admin/audit",
            "/console",
            "/console/assets/{name}",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} is documented");
        }
        // Every action says a read token is refused it.
        for (path, method) in [
            ("/admin/events/{source}/{id}", "delete"),
            ("/admin/events/{source}/{id}/requeue", "post"),
            ("/admin/requeue", "post"),
            ("/admin/batch", "post"),
        ] {
            let forbidden = &doc["paths"][path][method]["responses"]["403"]["$ref"];
            assert_eq!(
                forbidden, "#/components/responses/Forbidden",
                "{method} {path}"
            );
        }
        // Every problem slug the server can send is one the document's pattern admits.
        let pattern = &doc["components"]["schemas"]["Problem"]["properties"]["type"]["pattern"];
        assert_eq!(pattern, "^urn:hookbox:problem:[a-z-]+$");
    }
}

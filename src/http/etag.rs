//! Conditional GETs for the admin reads the console polls: a 200 answer gets an `ETag` (a
//! fingerprint of its body), and a request whose `If-None-Match` names it gets an empty 304, so
//! polling an unchanged listing costs the server one listing and the network almost nothing.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};

/// FNV-1a, 64 bits: a fast fingerprint for cache validators and asset names (not a defence
/// against anyone choosing contents on purpose; nothing here needs one).
pub const fn fingerprint(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `res` with an `ETag` when it is a 200, or a bodiless 304 when `request` already holds it.
pub async fn conditional(request: &HeaderMap, res: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    if res.status() != StatusCode::OK {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let tag = format!("\"{:016x}\"", fingerprint(&bytes));
    let Ok(value) = HeaderValue::from_str(&tag) else {
        return Response::from_parts(parts, Full::new(bytes));
    };
    let matches = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| {
            let candidate = candidate.trim();
            candidate == "*" || candidate.trim_start_matches("W/") == tag
        });
    parts.headers.insert(header::ETAG, value);
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, Full::new(Bytes::new()));
    }
    Response::from_parts(parts, Full::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &'static str) -> Response<Full<Bytes>> {
        let mut res = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }

    #[tokio::test]
    async fn a_matching_validator_gets_an_empty_304() {
        let first = conditional(&HeaderMap::new(), ok("{}")).await;
        let tag = first.headers()[header::ETAG].clone();
        let mut request = HeaderMap::new();
        request.insert(header::IF_NONE_MATCH, tag.clone());
        let again = conditional(&request, ok("{}")).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], tag);
        let body = again.into_body().collect().await.map(|c| c.to_bytes());
        assert_eq!(body.ok(), Some(Bytes::new()));
        let changed = conditional(&request, ok("{\"n\":1}")).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_ne!(changed.headers()[header::ETAG], tag);
    }

    #[test]
    fn the_fingerprint_is_fnv1a() {
        assert_eq!(fingerprint(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}

//! Turning a fixture into a request that its source accepts now: a fresh (or kept) event id and
//! freshly signed headers. Pure apart from the random id.

use std::path::Path;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};

use super::fixture::Fixture;
use super::ids;
use crate::verify::Verifier;

/// A signed request, ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The event id hookbox will see (`None` when there is none, as in Slack's handshake).
    pub id: Option<String>,
    /// Request headers: the sidecar's, then the signature headers, then `Content-Type`.
    pub headers: Vec<(String, String)>,
    /// The body to send.
    pub body: Bytes,
}

/// Why a fixture cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The source has no secret to sign with.
    #[error("source {0:?} has no secret to sign with")]
    NoSecret(String),
    /// The body has an id at the scheme's pointer, but not one that can be replaced.
    #[error("cannot rewrite the event id at {0} (pass --keep-ids to send it as is)")]
    IdNotRewritable(String),
}

/// Signs `fixture` with `verifier`'s first secret at `now` (unix seconds). Unless `keep_ids`,
/// the event gets a fresh id: rewritten in the body for schemes that read it there, or given in
/// the signed id header for the others. With `keep_ids`, header schemes use the sidecar's id
/// header, or `fixture-<file stem>` when the sidecar has none.
pub fn prepare(
    fixture: &Fixture,
    verifier: &Verifier,
    keep_ids: bool,
    now: u64,
) -> Result<Prepared, PrepareError> {
    let secret = verifier
        .secrets
        .first()
        .ok_or_else(|| PrepareError::NoSecret(fixture.source.clone()))?;
    let old_id = verifier.event_id(&fixture.headers, &fixture.body).ok();
    let mut body = fixture.body.clone();
    let header_id = match (keep_ids, verifier.id_pointer()) {
        (true, None) => old_id.unwrap_or_else(|| stable_id(&fixture.path)),
        (false, None) => ids::fresh_id(old_id.as_deref()),
        (true, Some(_)) => String::new(),
        (false, Some(pointer)) => {
            if old_id.is_some() {
                let new_id = ids::fresh_id(old_id.as_deref());
                body = ids::rewrite_id(&body, pointer, &new_id)
                    .ok_or_else(|| PrepareError::IdNotRewritable(pointer.to_owned()))?;
            }
            String::new()
        }
    };
    // Schemes that sign inside the body (Adyen, Mailgun, Linear, …) re-sign it after the id.
    if let Some(signed_body) = verifier.sign_body(secret, &body, now) {
        body = signed_body;
    }
    let signed = verifier.sign(secret, &body, now, &header_id);
    let replaced = |name: &http::HeaderName| {
        [CONTENT_LENGTH, HOST].contains(name)
            || signed
                .iter()
                .any(|(s, _)| s.eq_ignore_ascii_case(name.as_str()))
    };
    let mut headers: Vec<(String, String)> = fixture
        .headers
        .iter()
        .filter(|(name, _)| !replaced(name))
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect();
    headers.extend(signed);
    if !fixture.headers.contains_key(CONTENT_TYPE) {
        headers.push((CONTENT_TYPE.to_string(), "application/json".to_owned()));
    }
    let id = header_map(&headers)
        .and_then(|map| verifier.event_id(&map, &body).ok())
        .filter(|id| !id.is_empty());
    Ok(Prepared {
        id,
        headers,
        body: Bytes::from(body),
    })
}

/// The id a header-id fixture keeps when its sidecar gives none.
fn stable_id(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("event");
    format!("fixture-{stem}")
}

fn header_map(headers: &[(String, String)]) -> Option<http::HeaderMap> {
    headers
        .iter()
        .map(|(n, v)| Some((n.parse().ok()?, v.parse().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::replay::fixture;

    fn verifier(source: &str) -> Verifier {
        let config = crate::config::load_str(
            &crate::config::examples::shipped_with_examples(),
            "config.toml",
            &|_| None,
        )
        .unwrap();
        config.source(source).unwrap().verifier.clone()
    }

    fn accepted(fixture: &Fixture, prepared: &Prepared, now: u64) {
        let verifier = verifier(&fixture.source);
        let headers = header_map(&prepared.headers).unwrap();
        verifier.verify(&headers, &prepared.body, now).unwrap();
        assert_eq!(
            verifier.event_id(&headers, &prepared.body).ok(),
            prepared.id
        );
    }

    #[test]
    fn every_fixture_verifies_with_a_fresh_id() {
        let now = 1_732_800_000;
        for fixture in fixture::collect(&["fixtures".into()], None).unwrap() {
            let verifier = verifier(&fixture.source);
            let kept = prepare(&fixture, &verifier, true, now).unwrap();
            let fresh = prepare(&fixture, &verifier, false, now).unwrap();
            accepted(&fixture, &kept, now);
            accepted(&fixture, &fresh, now);
            if fixture.path.ends_with("slack/url_verification.json") {
                assert_eq!((kept.id, fresh.id), (None, None));
                continue;
            }
            let (kept_id, fresh_id) = (kept.id.unwrap(), fresh.id.unwrap());
            assert_ne!(kept_id, fresh_id, "{}", fixture.path.display());
            assert_eq!(
                kept_id,
                prepare(&fixture, &verifier, true, now).unwrap().id.unwrap(),
                "kept ids are stable"
            );
        }
    }

    #[test]
    fn sidecar_headers_travel_but_signature_headers_are_fresh() {
        let mut fixture = fixture::load(Path::new("fixtures/github/push.json"), None).unwrap();
        fixture
            .headers
            .insert("x-hub-signature-256", "sha256=stale".parse().unwrap());
        let prepared = prepare(&fixture, &verifier("github"), true, 0).unwrap();
        let values = |name: &str| -> Vec<&str> {
            let found = prepared.headers.iter().filter(|(n, _)| n == name);
            found.map(|(_, v)| v.as_str()).collect()
        };
        assert_eq!(values("x-github-event"), ["push"]);
        assert_eq!(
            values("x-github-delivery"),
            ["00000000-0000-4000-8000-00000000f002"]
        );
        assert_eq!(values("x-hub-signature-256").len(), 1);
        assert_ne!(values("x-hub-signature-256"), ["sha256=stale"]);
        assert_eq!(values("content-type"), ["application/json"]);
    }

    #[test]
    fn header_id_fixtures_without_a_sidecar_id_keep_a_stable_one() {
        let fixture = Fixture {
            path: "x/order.json".into(),
            source: "shopify".into(),
            body: b"{}".to_vec(),
            headers: http::HeaderMap::new(),
        };
        let prepared = prepare(&fixture, &verifier("shopify"), true, 0).unwrap();
        assert_eq!(prepared.id.as_deref(), Some("fixture-order"));
    }
}

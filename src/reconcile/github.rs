//! GitHub: `GET /<hook>/deliveries` (newest first, cursor pagination by the `Link` header); a
//! delivery GUID that never got a 2xx and that hookbox lacks is redelivered once
//! (`POST /<hook>/deliveries/<id>/attempts`), so it arrives signed through the normal path with
//! the same `X-GitHub-Delivery` — the README says why this rather than fetching the payload.

use std::collections::BTreeMap;

use http::Method;
use serde::Deserialize;

use super::api::Call;
use super::pass::{Pass, PassError};

/// One entry of the deliveries list (what hookbox reads of it).
#[derive(Deserialize)]
struct Delivery {
    id: u64,
    guid: String,
    delivered_at: String,
    status_code: u16,
}

/// Lists `hook`'s deliveries back to `since_secs` and redelivers the failed GUIDs hookbox lacks.
pub(super) async fn pass(
    p: &Pass<'_>,
    token: &str,
    hook: &str,
    since_secs: u64,
) -> Result<(), PassError> {
    let headers = [
        ("authorization", format!("Bearer {token}")),
        ("accept", "application/vnd.github+json".to_owned()),
        ("x-github-api-version", "2022-11-28".to_owned()),
        (
            "user-agent",
            concat!("hookbox/", env!("CARGO_PKG_VERSION")).to_owned(),
        ),
    ];
    // GUID → (delivered at least once, the newest failed delivery's id).
    let mut guids: BTreeMap<String, (bool, Option<u64>)> = BTreeMap::new();
    let mut url = Some(format!("{}/{hook}/deliveries?per_page=100", p.api_base));
    while let Some(next) = url.take() {
        let call = Call {
            method: Method::GET,
            url: next,
            headers: &headers,
            secret: token,
        };
        let reply = p.api.send(&call, p.stop).await?;
        let page: Vec<Delivery> = serde_json::from_slice(&reply.body).map_err(|e| {
            PassError::Answer(format!(
                "GET /{hook}/deliveries: not a list of deliveries: {e}"
            ))
        })?;
        let mut older = false;
        for d in page {
            if delivered_secs(&d.delivered_at).is_some_and(|at| at < since_secs) {
                older = true;
                continue;
            }
            p.count(|t| t.listed += 1);
            let entry = guids.entry(d.guid).or_insert((false, None));
            if (200..300).contains(&d.status_code) {
                entry.0 = true;
            } else {
                entry.1 = Some(entry.1.map_or(d.id, |id| id.max(d.id)));
            }
            p.progress(&d.id.to_string());
        }
        if !older {
            url = next_link(&reply.headers, p.api_base);
        }
    }
    for (guid, (delivered, failed)) in guids {
        let Some(id) = failed.filter(|_| !delivered) else {
            continue;
        };
        if p.known(&guid).await? {
            p.count(|t| t.known += 1);
            continue;
        }
        let call = Call {
            method: Method::POST,
            url: format!("{}/{hook}/deliveries/{id}/attempts", p.api_base),
            headers: &headers,
            secret: token,
        };
        p.api.send(&call, p.stop).await?;
        tracing::info!(source = %p.source.name, event_id = %guid, delivery = id, "reconcile: asked GitHub to redeliver a delivery hookbox never stored");
        p.count(|t| t.reconciled += 1);
    }
    Ok(())
}

/// `delivered_at` (RFC 3339) as unix seconds.
fn delivered_secs(at: &str) -> Option<u64> {
    let t = humantime::parse_rfc3339_weak(at).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs())
}

/// The `rel="next"` URL of a `Link` header, if it is on `api_base` (the token goes nowhere else).
fn next_link(headers: &http::HeaderMap, api_base: &str) -> Option<String> {
    let link = headers.get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        let next = params.split(';').any(|p| p.trim() == r#"rel="next""#);
        (next && url.starts_with(&format!("{api_base}/"))).then(|| url.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_followed_only_on_the_api() {
        let mut h = http::HeaderMap::new();
        let base = "https://api.github.com";
        h.insert(
            http::header::LINK,
            r#"<https://api.github.com/x?cursor=a>; rel="prev", <https://api.github.com/x?cursor=b>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h, base).as_deref(),
            Some("https://api.github.com/x?cursor=b")
        );
        h.insert(
            http::header::LINK,
            r#"<https://evil.test/x>; rel="next""#.parse().unwrap(),
        );
        assert_eq!(next_link(&h, base), None);
        assert_eq!(delivered_secs("1970-01-01T00:01:40Z"), Some(100));
    }
}

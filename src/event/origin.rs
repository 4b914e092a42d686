//! Where an event came from: a webhook (the default), or the provider's API through
//! reconciliation. Kept among the event's stored headers, as `hookbox-origin` and
//! `hookbox-reconciled-from` — names a request can never set (`hookbox-*` headers are not
//! keepable) — so every backend stores it with no schema change.

/// The stored header that marks a reconciled event.
pub const ORIGIN_HEADER: &str = "hookbox-origin";
/// The stored header naming the API call a reconciled event came from.
pub const FROM_HEADER: &str = "hookbox-reconciled-from";
/// [`ORIGIN_HEADER`]'s value.
pub const RECONCILED: &str = "reconciled";
/// The origin of an event without [`ORIGIN_HEADER`].
pub const WEBHOOK: &str = "webhook";

/// The headers that mark an event fetched by `from` (e.g. `GET /v1/events`).
pub fn reconciled_headers(from: &str) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/json".into()),
        (ORIGIN_HEADER.into(), RECONCILED.into()),
        (FROM_HEADER.into(), from.into()),
    ]
}

/// `(origin, the API it came from)` of an event with these stored `headers`.
pub fn origin_of(headers: &[(String, String)]) -> (&'static str, Option<&str>) {
    let get = |name: &str| {
        (headers.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    match get(ORIGIN_HEADER) {
        Some(RECONCILED) => (RECONCILED, get(FROM_HEADER)),
        _ => (WEBHOOK, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_a_webhook_unless_marked() {
        assert_eq!(origin_of(&[]), (WEBHOOK, None));
        let marked = reconciled_headers("GET /v1/events");
        assert_eq!(origin_of(&marked), (RECONCILED, Some("GET /v1/events")));
    }
}

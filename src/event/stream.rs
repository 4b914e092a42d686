//! Delivery streams: what an event's record is kept under. A source without routes is one stream
//! named after it; each route of a routed source is its own stream, `<source>:<route>`, with its
//! own record per event (state, attempts, lease, dead letter). Source and route names never
//! contain `:` (see the config's name rule), so the split is unambiguous.

/// Separates a source from its route in a stream name.
pub const ROUTE_SEPARATOR: char = ':';

/// The stream of `route` of `source`.
pub fn stream_name(source: &str, route: &str) -> String {
    format!("{source}{ROUTE_SEPARATOR}{route}")
}

/// `(source, route)` of a stream name; no route for a source's own stream.
pub fn split_stream(stream: &str) -> (&str, Option<&str>) {
    match stream.split_once(ROUTE_SEPARATOR) {
        Some((source, route)) => (source, Some(route)),
        None => (stream, None),
    }
}

/// Whether `stream` holds deliveries of `source` (its own stream or one of its routes').
pub fn is_of_source(stream: &[u8], source: &str) -> bool {
    match stream.strip_prefix(source.as_bytes()) {
        Some([]) => true,
        Some([sep, ..]) => *sep == ROUTE_SEPARATOR as u8,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_split_into_source_and_route() {
        assert_eq!(split_stream("stripe"), ("stripe", None));
        assert_eq!(split_stream("stripe:billing"), ("stripe", Some("billing")));
        assert_eq!(stream_name("stripe", "billing"), "stripe:billing");
        assert!(is_of_source(b"stripe", "stripe"));
        assert!(is_of_source(b"stripe:billing", "stripe"));
        assert!(!is_of_source(b"stripe2", "stripe"));
        assert!(!is_of_source(b"strip", "stripe"));
    }
}

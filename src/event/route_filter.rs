//! A route's filter: which events a route takes, by type and by JSON-pointer equalities on the
//! body. Pure: decided at ingest.

use serde_json::Value;

use super::TypeMatch;

/// A route's filter, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteFilter {
    /// Event types the route takes (any of them); empty: every type.
    pub types: Vec<TypeMatch>,
    /// `(JSON pointer, value)` pairs the body must all have; empty: any body.
    pub equals: Vec<(String, Value)>,
}

impl RouteFilter {
    /// Whether an event of `event_type`, whose body parsed as `body` (`None`: not JSON),
    /// passes this filter. A pointer into a body that is not JSON never matches.
    pub fn matches(&self, event_type: Option<&str>, body: Option<&Value>) -> bool {
        let typed = self.types.is_empty() || self.types.iter().any(|t| t.matches(event_type));
        typed
            && self
                .equals
                .iter()
                .all(|(pointer, want)| body.and_then(|b| b.pointer(pointer)) == Some(want))
    }

    /// Whether deciding needs the body parsed.
    pub fn reads_body(&self) -> bool {
        !self.equals.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_and_pointers_must_all_match() {
        let filter = RouteFilter {
            types: vec![
                TypeMatch::parse("payment_intent.*"),
                TypeMatch::parse("charge.refunded"),
            ],
            equals: vec![("/data/object/livemode".into(), json!(true))],
        };
        let live = json!({"data": {"object": {"livemode": true}}});
        let test = json!({"data": {"object": {"livemode": false}}});
        assert!(filter.matches(Some("payment_intent.succeeded"), Some(&live)));
        assert!(filter.matches(Some("charge.refunded"), Some(&live)));
        assert!(!filter.matches(Some("charge.succeeded"), Some(&live)));
        assert!(!filter.matches(Some("payment_intent.succeeded"), Some(&test)));
        assert!(!filter.matches(Some("payment_intent.succeeded"), None));
        assert!(!filter.matches(None, Some(&live)));
        assert!(RouteFilter::default().matches(None, None));
    }
}

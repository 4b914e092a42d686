//! Which events a listing, a count or a bulk requeue covers, and the one place that decides
//! whether a record matches (the embedded walks and the in-memory id lookup use it; PostgreSQL
//! says the same in SQL).

use super::stream::split_stream;
use super::{EventRecord, State};

/// Which events a listing or bulk requeue covers; `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this source (all of its routes).
    pub source: Option<String>,
    /// Only deliveries of routes of this name.
    pub route: Option<String>,
    /// Only events in this state.
    pub state: Option<State>,
    /// Only events received at or after this time (unix ms).
    pub since: Option<u64>,
    /// Only events received before this time (unix ms).
    pub until: Option<u64>,
    /// Only events of this type.
    pub event_type: Option<TypeMatch>,
}

/// An event-type filter: one type, or every type under a dotted prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeMatch {
    /// Exactly this type.
    Exact(String),
    /// Types starting with this text (`invoice.` for the pattern `invoice.*`).
    Prefix(String),
}

impl TypeMatch {
    /// `invoice.*` → every type starting `invoice.`; anything else → that exact type.
    pub fn parse(pattern: &str) -> TypeMatch {
        match pattern.strip_suffix('*') {
            Some(prefix) if prefix.is_empty() || prefix.ends_with('.') => {
                TypeMatch::Prefix(prefix.to_owned())
            }
            _ => TypeMatch::Exact(pattern.to_owned()),
        }
    }

    /// Whether an event of type `event_type` (none: the scheme names no type) matches.
    pub fn matches(&self, event_type: Option<&str>) -> bool {
        match (self, event_type) {
            (TypeMatch::Exact(want), Some(t)) => t == want,
            (TypeMatch::Prefix(prefix), Some(t)) => t.starts_with(prefix.as_str()),
            (_, None) => false,
        }
    }
}

impl EventFilter {
    /// Whether `record` passes every condition of this filter.
    pub fn matches(&self, record: &EventRecord) -> bool {
        let (source, route) = split_stream(&record.source);
        self.source.as_deref().is_none_or(|s| s == source)
            && self.route.as_deref().is_none_or(|r| Some(r) == route)
            && self.state.is_none_or(|s| s == record.state)
            && self.since.is_none_or(|t| record.received_at >= t)
            && self.until.is_none_or(|t| record.received_at < t)
            && self
                .event_type
                .as_ref()
                .is_none_or(|m| m.matches(record.event_type.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_patterns_are_exact_or_dotted_prefixes() {
        let prefix = TypeMatch::parse("invoice.*");
        assert_eq!(prefix, TypeMatch::Prefix("invoice.".into()));
        assert!(prefix.matches(Some("invoice.paid")));
        assert!(!prefix.matches(Some("invoices.paid")));
        assert!(!prefix.matches(None));
        assert!(TypeMatch::parse("*").matches(Some("anything")));
        // A star not after a dot is part of the name.
        assert_eq!(TypeMatch::parse("in*"), TypeMatch::Exact("in*".into()));
        assert!(TypeMatch::parse("push").matches(Some("push")));
        assert!(!TypeMatch::parse("push").matches(Some("push.x")));
    }
}

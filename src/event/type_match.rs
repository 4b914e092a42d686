//! Event-type patterns: one type, or every type under a dotted prefix (`invoice.*`), as route
//! filters and listings take them.

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

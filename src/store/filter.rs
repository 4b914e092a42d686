//! Which events a listing, a count or a bulk requeue covers, and the one place that decides
//! whether a record matches (the embedded walks and the in-memory id lookup use it; PostgreSQL
//! says the same in SQL).

use super::search::BodySearch;
use super::{EventRecord, State};
use crate::event::origin::origin_of;
use crate::event::{split_stream, TypeMatch};

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
    /// Only events of this origin: `webhook` or `reconciled` (see [`crate::event::origin`]).
    pub origin: Option<&'static str>,
    /// Only events whose body says this (checked apart from [`EventFilter::matches`]: it
    /// needs the body, which a walk reads only for records that pass the rest).
    pub body: BodySearch,
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
            && (self.origin).is_none_or(|o| origin_of(&record.headers).0 == o)
    }
}

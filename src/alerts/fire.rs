//! Turning a fired rule into an alert event: its id (rule + window or episode), its due time,
//! the facts known now as its stored body, and one route per notify target.

use std::collections::HashMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::config::{Rule, When, ALERT_SOURCE};
use crate::store::{Accepted, NewEvent, RouteDelivery, Store, StoreError};

/// What an alert event stores: the rule, the span it is about and the facts known when it
/// fired. A `dead` alert's counts are added at delivery (see `message`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// The rule's name.
    pub rule: String,
    /// What it watches.
    pub when: When,
    /// The rule's source and route, when it narrows.
    pub source: Option<String>,
    /// See `source`.
    pub route: Option<String>,
    /// Start of the window (or episode) the alert is about, unix ms.
    pub from: u64,
    /// Its end (unix ms): the alert is due then.
    pub until: u64,
    /// What the rule saw (destination, quiet source, queue age, outage …).
    #[serde(default)]
    pub details: serde_json::Value,
}

/// The start of the `window_ms` window holding `at`: windows are aligned to the epoch, so
/// every instance and every restart cuts the same ones.
pub fn window_start(at: u64, window_ms: u64) -> u64 {
    at - at % window_ms.max(1)
}

/// Alerts accepted by this process, so a rule that keeps firing in one window costs no store
/// write; the store's dedupe covers what a restart forgets.
#[derive(Default)]
pub struct Fired {
    ids: HashMap<String, u64>,
}

impl Fired {
    /// Accepts the alert of `rule` named by `key` (a window start, or an episode) about
    /// `[from, until)` with `details`, unless already done. Errors leave it to the next try.
    pub async fn fire(
        &mut self,
        store: &Store,
        rule: &Rule,
        key: &str,
        (from, until): (u64, u64),
        details: serde_json::Value,
    ) -> Result<(), StoreError> {
        let id = format!("{}-{key}", rule.name);
        if self.ids.contains_key(&id) {
            return Ok(());
        }
        let spec = Spec {
            rule: rule.name.clone(),
            when: rule.when,
            source: rule.source.clone(),
            route: rule.route.clone(),
            from,
            until,
            details,
        };
        let body = serde_json::to_vec(&spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let event = NewEvent {
            source: ALERT_SOURCE.to_owned(),
            id: id.clone(),
            // An alert "arrives" when its window ends: that is when it is due.
            received_at: until,
            event_type: Some(rule.when.name().to_owned()),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(body),
            ordering: None,
        };
        let routes = (rule.notify.iter())
            .map(|target| RouteDelivery {
                stream: crate::event::stream_name(ALERT_SOURCE, target),
                ordering: None,
                skipped: false,
            })
            .collect();
        let accepted = store.accept_routed(event, routes).await?;
        if accepted == Accepted::New {
            tracing::warn!(rule = %rule.name, alert = %id, "alert raised");
        }
        self.ids.insert(id, until);
        Ok(())
    }

    /// Forgets alerts whose span ended before `before` (their windows cannot fire again).
    pub fn forget_before(&mut self, before: u64) {
        self.ids.retain(|_, until| *until >= before);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_to_the_epoch() {
        assert_eq!(window_start(12_345, 1_000), 12_000);
        assert_eq!(window_start(12_000, 1_000), 12_000);
        assert_eq!(window_start(5, 0), 5);
    }
}

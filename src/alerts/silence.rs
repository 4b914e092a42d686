//! `silence`: when each source was last heard from. This process's accepted counts say it
//! cheaply; before a rule fires, the store confirms (another instance behind the same load
//! balancer may have received what this one did not), and its newest arrival time names the
//! quiet spell, so every instance and every restart raises the same alert id.

use std::collections::HashMap;

use serde_json::json;

use super::fire::Fired;
use crate::clock::millis;
use crate::config::{Config, Rule};
use crate::metrics::Metrics;
use crate::store::{EventFilter, Store};

/// Least time between two store confirmations of one source's silence.
const CONFIRM_EVERY_MS: u64 = 5_000;

/// What is known of one source.
struct Heard {
    /// Its accepted count at the last look.
    count: u64,
    /// When it last received something (unix ms).
    last: u64,
    /// When the store last confirmed `last`.
    confirmed: u64,
}

/// Every source's last arrival.
pub struct Silence {
    heard: HashMap<String, Heard>,
}

/// The newest arrival time of `source` in the store.
async fn newest(store: &Store, source: &str) -> Option<u64> {
    let filter = EventFilter {
        source: Some(source.to_owned()),
        ..EventFilter::default()
    };
    let page = store.list(&filter, 1, None).await.ok()?;
    page.items.first().map(|r| r.received_at)
}

impl Silence {
    /// Each source last heard from when the store last received an event of it, or `now`.
    pub async fn new(config: &Config, store: &Store, metrics: &Metrics, now: u64) -> Silence {
        let mut heard = HashMap::new();
        for source in &config.sources {
            let last = newest(store, &source.name).await.unwrap_or(now);
            let count = metrics.accepted_total(&source.name);
            let confirmed = now;
            heard.insert(
                source.name.clone(),
                Heard {
                    count,
                    last,
                    confirmed,
                },
            );
        }
        Silence { heard }
    }

    /// Fires each of `rules` whose source has been quiet past its threshold, once per spell.
    pub async fn tick(
        &mut self,
        (config, store, metrics): (&Config, &Store, &Metrics),
        fired: &mut Fired,
        rules: &[Rule],
        now: u64,
    ) {
        for source in &config.sources {
            let name = &source.name;
            let count = metrics.accepted_total(name);
            let heard = self.heard.entry(name.clone()).or_insert(Heard {
                count,
                last: now,
                confirmed: now,
            });
            if count != heard.count {
                (heard.count, heard.last) = (count, now);
            }
            let covering: Vec<&Rule> = rules.iter().filter(|r| r.covers(name)).collect();
            let quiet = |last: u64, rule: &Rule| {
                now.saturating_sub(last) >= millis(rule.threshold.unwrap_or_default())
            };
            if !covering.iter().any(|r| quiet(heard.last, r)) {
                continue;
            }
            // Confirmed once per spell at least (the store's time names it), then now and then.
            let stale = now.saturating_sub(heard.confirmed) >= CONFIRM_EVERY_MS;
            if heard.confirmed <= heard.last || stale {
                heard.confirmed = now;
                if let Some(at) = newest(store, name).await {
                    heard.last = at;
                }
            }
            let last = heard.last;
            for rule in covering.into_iter().filter(|r| quiet(last, r)) {
                let details = json!({
                    "source": name,
                    "last_received_at": last,
                    "quiet_ms": now - last,
                });
                let key = format!("{name}-{last}");
                let _ = fired.fire(store, rule, &key, (last, now), details).await;
            }
        }
    }
}

//! What each rule watches between two ticks, and when it fires: new deaths (from the worker's
//! counts), circuits that opened or closed, quiet sources, an aging queue, a store that cannot
//! write.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use super::fire::{window_start, Fired};
use crate::clock::millis;
use crate::config::{Config, Rule, When};
use crate::metrics::Metrics;
use crate::store::{EventFilter, State, Store};

/// How often the store is asked whether it can write (a small write each time).
const STORAGE_CHECK_MS: u64 = 2_000;
/// Dead events the start-up pass examines per rule.
const CATCH_UP_BUDGET: usize = 2_000;

/// The rules' memory between ticks.
pub struct Watcher {
    config: Arc<Config>,
    store: Store,
    metrics: Arc<Metrics>,
    fired: Fired,
    /// Dead count per route stream at the last tick.
    dead: HashMap<String, u64>,
    /// Accepted count per source at the last tick, and when it last changed (unix ms).
    heard: HashMap<String, (u64, u64)>,
    /// Circuit state per destination at the last tick.
    circuits: HashMap<String, &'static str>,
    /// When the store stopped being able to write, while it cannot.
    down_since: Option<u64>,
    last_storage_check: u64,
    /// Deaths seen but whose alert could not be accepted yet: (stream, seen at).
    pending_deaths: Vec<(String, u64)>,
}

impl Watcher {
    /// A watcher starting at `now`: counts as they are, each source last heard from when the
    /// store last received an event of it (or now), recent deaths' windows fired again.
    pub async fn new(
        config: Arc<Config>,
        store: Store,
        metrics: Arc<Metrics>,
        now: u64,
    ) -> Watcher {
        let dead = (config.routes())
            .map(|r| (r.stream.clone(), metrics.totals(&r.stream).1))
            .collect();
        let mut heard = HashMap::new();
        for source in &config.sources {
            let filter = EventFilter {
                source: Some(source.name.clone()),
                ..EventFilter::default()
            };
            let last = match store.list(&filter, 1, None).await {
                Ok(page) => page.items.first().map_or(now, |r| r.received_at),
                Err(_) => now,
            };
            heard.insert(source.name.clone(), (metrics.totals(&source.name).0, last));
        }
        let mut watcher = Watcher {
            config,
            store,
            metrics,
            fired: Fired::default(),
            dead,
            heard,
            circuits: HashMap::new(),
            down_since: None,
            last_storage_check: 0,
            pending_deaths: Vec::new(),
        };
        watcher.catch_up(now).await;
        watcher
    }

    fn rules(&self, when: When) -> Vec<Rule> {
        let rules = self.config.alerts.rules.iter();
        rules.filter(|r| r.when == when).cloned().collect()
    }

    /// Fires the windows of deaths recorded in the last window or so: a crash between a death
    /// and its alert's accept loses nothing (the alert's id makes a second accept a duplicate).
    async fn catch_up(&mut self, now: u64) {
        for rule in self.rules(When::Dead) {
            let window = millis(rule.window);
            let since = window_start(now, window).saturating_sub(window);
            let filter = EventFilter {
                source: rule.source.clone(),
                route: rule.route.clone(),
                state: Some(State::Dead),
                ..EventFilter::default()
            };
            let (mut examined, mut after) = (0, None);
            while examined < CATCH_UP_BUDGET {
                let Ok(page) = self.store.list(&filter, 500, after.as_ref()).await else {
                    break;
                };
                examined += page.items.len().max(1);
                for r in &page.items {
                    if r.finished_at.is_some_and(|t| t >= since) && rule.covers(&r.source) {
                        let at = r.finished_at.unwrap_or(now);
                        let _ = self.fire_dead(&rule, at).await;
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
    }

    /// One look at everything the rules watch.
    pub async fn tick(&mut self, now: u64) {
        self.deaths(now).await;
        self.circuits(now).await;
        self.silence(now).await;
        self.queue_age(now).await;
        self.storage(now).await;
        self.fired
            .forget_before(now.saturating_sub(24 * 3600 * 1000));
    }

    async fn fire_dead(&mut self, rule: &Rule, at: u64) -> Result<(), crate::store::StoreError> {
        let window = millis(rule.window);
        let start = window_start(at, window);
        let span = (start, start + window);
        let key = start.to_string();
        (self.fired)
            .fire(&self.store, rule, &key, span, json!({}))
            .await
    }

    async fn deaths(&mut self, now: u64) {
        for route in self.config.routes() {
            let count = self.metrics.totals(&route.stream).1;
            let before = self.dead.insert(route.stream.clone(), count).unwrap_or(0);
            if count > before {
                self.pending_deaths.push((route.stream.clone(), now));
            }
        }
        let mut left = Vec::new();
        for (stream, seen) in std::mem::take(&mut self.pending_deaths) {
            let mut ok = true;
            for rule in self.rules(When::Dead).iter().filter(|r| r.covers(&stream)) {
                // A death recorded just before a window's end may be seen just after it:
                // its window is fired too (an alert with nothing in it sends nothing).
                let earlier = seen.saturating_sub(2 * millis(super::TICK));
                ok &= self.fire_dead(rule, earlier).await.is_ok();
                ok &= self.fire_dead(rule, seen).await.is_ok();
            }
            if !ok {
                left.push((stream, seen));
            }
        }
        self.pending_deaths = left;
    }

    async fn circuits(&mut self, now: u64) {
        let rules = self.rules(When::CircuitOpen);
        if rules.is_empty() {
            return;
        }
        for (name, d) in self.metrics.destinations() {
            let before = self
                .circuits
                .insert(name.clone(), d.state)
                .unwrap_or("closed");
            let change = match (before, d.state) {
                ("closed", "open") => "open",
                ("open" | "half-open", "closed") => "closed",
                _ => continue,
            };
            for rule in &rules {
                if !d.sources.iter().any(|s| rule.covers(s)) {
                    continue;
                }
                let start = window_start(now, millis(rule.window));
                let key = format!("{name}-{change}-{start}");
                let details = json!({
                    "destination": name,
                    "state": d.state,
                    "streams": d.sources,
                    "consecutive_failures": d.consecutive_failures,
                    "last_error": d.last_error,
                });
                if self
                    .fired
                    .fire(&self.store, rule, &key, (now, now), details)
                    .await
                    .is_err()
                {
                    // Seen again at the next tick.
                    self.circuits.insert(name.clone(), before);
                }
            }
        }
    }

    async fn silence(&mut self, now: u64) {
        let rules = self.rules(When::Silence);
        if rules.is_empty() {
            return;
        }
        for source in &self.config.sources {
            let count = self.metrics.totals(&source.name).0;
            let heard = self
                .heard
                .entry(source.name.clone())
                .or_insert((count, now));
            if count != heard.0 {
                *heard = (count, now);
            }
            let last = heard.1;
            for rule in rules.iter().filter(|r| r.covers(&source.name)) {
                let threshold = millis(rule.threshold.unwrap_or_default());
                if now.saturating_sub(last) < threshold {
                    continue;
                }
                let key = format!("{}-{last}", source.name);
                let details = json!({
                    "source": source.name,
                    "last_received_at": last,
                    "quiet_ms": now - last,
                });
                let _ = self
                    .fired
                    .fire(&self.store, rule, &key, (last, now), details)
                    .await;
            }
        }
    }

    async fn queue_age(&mut self, now: u64) {
        let rules = self.rules(When::QueueAge);
        if rules.is_empty() {
            return;
        }
        let Ok(Some(due)) = self.store.next_due().await else {
            return;
        };
        let age = now.saturating_sub(due);
        for rule in &rules {
            if age < millis(rule.threshold.unwrap_or_default()) {
                continue;
            }
            let start = window_start(now, millis(rule.window));
            let details = json!({ "oldest_due_at": due, "age_ms": age });
            let span = (start, now);
            let _ = self
                .fired
                .fire(&self.store, rule, &start.to_string(), span, details)
                .await;
        }
    }

    async fn storage(&mut self, now: u64) {
        let rules = self.rules(When::Storage);
        if rules.is_empty() || now.saturating_sub(self.last_storage_check) < STORAGE_CHECK_MS {
            return;
        }
        self.last_storage_check = now;
        match self.store.check_writable(now).await {
            Err(e) => {
                if self.down_since.is_none() {
                    tracing::error!(error = %e, "alerts: the store cannot write; the storage alert goes out once it can");
                    self.down_since = Some(now);
                }
            }
            Ok(()) => {
                let Some(since) = self.down_since else {
                    return;
                };
                let mut ok = true;
                for rule in &rules {
                    let details = json!({ "unavailable_since": since, "back_at": now });
                    let key = since.to_string();
                    ok &= self
                        .fired
                        .fire(&self.store, rule, &key, (since, now), details)
                        .await
                        .is_ok();
                }
                if ok {
                    self.down_since = None;
                }
            }
        }
    }
}

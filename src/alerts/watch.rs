//! What each rule watches between two ticks, and when it fires: new deaths (from the worker's
//! counts), circuits that opened or closed, quiet sources, an aging queue, a store that cannot
//! write.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use super::fire::{window_start, Fired};
use super::silence::Silence;
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
    /// When each source was last heard from.
    silence: Silence,
    /// Circuit state per destination at the last tick.
    circuits: HashMap<String, &'static str>,
    /// When the store stopped being able to write, while it cannot.
    down_since: Option<u64>,
    last_storage_check: u64,
    /// Deaths whose alert could not be accepted yet: per stream, earliest and latest time.
    pending_deaths: HashMap<String, (u64, u64)>,
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
        let silence = Silence::new(&config, &store, &metrics, now).await;
        let mut watcher = Watcher {
            config,
            store,
            metrics,
            fired: Fired::default(),
            silence,
            circuits: HashMap::new(),
            down_since: None,
            last_storage_check: 0,
            pending_deaths: HashMap::new(),
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
        self.deaths().await;
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

    /// Fires the windows of the deaths the worker recorded since the last tick: every window
    /// from the earliest death's to the latest's (two at most, in practice).
    async fn deaths(&mut self) {
        for (stream, (first, last)) in self.metrics.take_deaths() {
            let span = self.pending_deaths.entry(stream).or_insert((first, last));
            *span = (span.0.min(first), span.1.max(last));
        }
        let rules = self.rules(When::Dead);
        for (stream, (first, last)) in std::mem::take(&mut self.pending_deaths) {
            let mut ok = true;
            for rule in rules.iter().filter(|r| r.covers(&stream)) {
                let window = millis(rule.window);
                let mut start = window_start(first, window);
                while start <= last {
                    ok &= self.fire_dead(rule, start).await.is_ok();
                    start += window;
                }
            }
            if !ok {
                // The store refused: tried again at the next tick.
                self.pending_deaths.insert(stream, (first, last));
            }
        }
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
        let shared = (&*self.config, &self.store, &*self.metrics);
        (self.silence)
            .tick(shared, &mut self.fired, &rules, now)
            .await;
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

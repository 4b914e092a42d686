//! Counters and histograms fed by every stage, and their Prometheus text exposition.
//!
//! One [`Metrics`] is created by `app` and shared (in an `Arc`) by the HTTP side and the
//! worker. Recording is lock-free except for the rare rejection-by-reason map. Series exist
//! only for configured sources plus `source=""` (requests to unknown sources, attempts at
//! events of a source no longer configured), so a client cannot grow the label set. Queue
//! and body-budget gauges are read at scrape time and passed to [`Metrics::render`].

mod histogram;
mod process;
mod render;
mod text;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

pub use process::ProcessStats;
pub use text::CONTENT_TYPE;

use self::histogram::{Histogram, ACK_BUCKETS, HANDLER_BUCKETS};

use crate::config::Config;
use crate::store::{split_stream, Accepted, EventRecord, Outcome, StateCounts};

/// How hookbox answered one `POST /webhooks/<source>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// 202: a new event, stored durably.
    Accepted,
    /// 200/202: an event id already known; not processed again.
    Duplicate,
    /// 200: a verified Slack `url_verification` handshake (nothing stored).
    Challenge,
    /// A problem+json rejection, by its reason slug.
    Rejected(&'static str),
}

/// State read at scrape time: the queue from the store, the body budget from the HTTP side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Events queued or processing.
    pub depth: u64,
    /// How overdue the earliest due event is (zero when none is due); `None` when the store
    /// could not be read, and the gauge is then left out.
    pub oldest_due_age: Option<Duration>,
    /// Request body bytes held against `server.max_inflight_body_bytes`.
    pub body_bytes_in_flight: u64,
    /// Ordering keys whose dead head holds the rest back, by source (every source with
    /// `ordering_key`); empty, and the gauge left out, when none orders or the store could
    /// not be read.
    pub blocked_keys: Vec<(String, u64)>,
    /// Events in the store by state, from the store's counts; `None` (gauge left out) when
    /// they could not be read.
    pub stored: Option<StateCounts>,
    /// This process, from `/proc` (`None` elsewhere).
    pub process: Option<ProcessStats>,
}

/// How overdue the earliest due time `next_due` (unix ms) is at `now_ms`: zero when nothing
/// is queued or the earliest is still in the future.
pub fn oldest_due_age(next_due: Option<u64>, now_ms: u64) -> Duration {
    Duration::from_millis(next_due.map_or(0, |at| now_ms.saturating_sub(at)))
}

const OUTCOMES: [(Outcome, &str); 4] = [
    (Outcome::Success, "success"),
    (Outcome::Transient, "transient"),
    (Outcome::Permanent, "permanent"),
    (Outcome::Abandoned, "abandoned"),
];

fn outcome_index(outcome: Outcome) -> usize {
    OUTCOMES
        .iter()
        .position(|(o, _)| *o == outcome)
        .unwrap_or(0)
}

/// Everything counted for one source.
#[derive(Debug)]
struct PerSource {
    /// Set on first use; the unknown-source series are shown only once used.
    used: AtomicBool,
    accepted: AtomicU64,
    duplicate: AtomicU64,
    challenge: AtomicU64,
    /// Rejections by reason slug (a fixed, small set).
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    ack: Histogram,
    attempts: [AtomicU64; OUTCOMES.len()],
    handler: Histogram,
    dead: AtomicU64,
}

impl PerSource {
    fn new() -> PerSource {
        PerSource {
            used: AtomicBool::new(false),
            accepted: AtomicU64::new(0),
            duplicate: AtomicU64::new(0),
            challenge: AtomicU64::new(0),
            rejected: Mutex::new(BTreeMap::new()),
            ack: Histogram::new(ACK_BUCKETS),
            attempts: Default::default(),
            handler: Histogram::new(HANDLER_BUCKETS),
            dead: AtomicU64::new(0),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The state of one forward destination, as the worker last published it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationSnapshot {
    /// Sources forwarding there.
    pub sources: Vec<String>,
    /// Circuit state: `closed`, `open` or `half-open`.
    pub state: &'static str,
    /// Attempts running against it now.
    pub in_flight: usize,
    /// Most attempts allowed against it at once.
    pub limit: usize,
    /// Failures in a row, until a success: while open, those that opened it and each failed
    /// probe since.
    pub consecutive_failures: u32,
    /// Times the circuit opened since start.
    pub opened_total: u64,
    /// While open: when the next probe may go (unix ms). Kept for older clients; see
    /// `next_probe_at`.
    pub open_until: Option<u64>,
    /// While open, when the next probe may go; while half-open, when the running probe was
    /// let through (unix ms); `None` while closed.
    pub next_probe_at: Option<u64>,
    /// The last failure's log-safe cause (bounded; no bodies, no secrets), kept after a
    /// success.
    pub last_error: Option<String>,
    /// When the last failure ended (unix ms).
    pub last_failure_at: Option<u64>,
}

/// The process's metrics. Counters start at zero when hookbox starts.
#[derive(Debug)]
pub struct Metrics {
    /// By source name; `""` collects unknown sources. A reload adds the sources it brings;
    /// none is removed, so counters never go back.
    sources: RwLock<BTreeMap<String, Arc<PerSource>>>,
    /// Forward destinations by `host:port`, published by the worker.
    destinations: Mutex<BTreeMap<String, DestinationSnapshot>>,
    /// Audit records that could not be written.
    audit_failures: AtomicU64,
    /// Deaths not yet taken by the alert watcher: per stream, the earliest and latest time.
    deaths: Mutex<BTreeMap<String, (u64, u64)>>,
}

/// The names `config` has series for: ingest counts by source, attempts by route stream (the
/// source's own name when unrouted), alerts by their target's stream.
pub fn series_names(config: &Config) -> Vec<String> {
    (config.sources.iter().map(|s| s.name.clone()))
        .chain(config.routes().map(|r| r.stream.clone()))
        .chain(config.alerts.targets.iter().map(|t| t.route.stream.clone()))
        .collect()
}

impl Metrics {
    /// Metrics with series for each of `sources` (the configured source names).
    pub fn new<S: Into<String>>(sources: impl IntoIterator<Item = S>) -> Metrics {
        let mut map: BTreeMap<String, Arc<PerSource>> = sources
            .into_iter()
            .map(|name| (name.into(), Arc::new(PerSource::new())))
            .collect();
        map.insert(String::new(), Arc::new(PerSource::new()));
        Metrics {
            sources: RwLock::new(map),
            destinations: Mutex::new(BTreeMap::new()),
            audit_failures: AtomicU64::new(0),
            deaths: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds series for those of `sources` not yet known (a reload's new sources and routes),
    /// so their events are not counted under `source=""`.
    pub fn add_sources<S: Into<String>>(&self, sources: impl IntoIterator<Item = S>) {
        let mut map = self.sources.write().unwrap_or_else(|p| p.into_inner());
        for name in sources {
            map.entry(name.into())
                .or_insert_with(|| Arc::new(PerSource::new()));
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Arc<PerSource>>> {
        self.sources.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces what is known about destination `name`.
    pub fn destination(&self, name: &str, snapshot: DestinationSnapshot) {
        let mut map = self.destinations.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(name.to_owned(), snapshot);
    }

    /// Forgets every destination but `names` (a reload removed the others).
    pub fn keep_destinations(&self, names: &[&String]) {
        let mut map = self.destinations.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|name, _| names.contains(&name));
    }

    /// The destination the deliveries of `stream` go to, with its last published state.
    pub fn destination_of(&self, stream: &str) -> Option<(String, DestinationSnapshot)> {
        let map = self.destinations.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .find(|(_, d)| d.sources.iter().any(|s| s == stream))
            .map(|(name, d)| (name.clone(), d.clone()))
    }

    /// Every destination's last published state, by name.
    pub fn destinations(&self) -> BTreeMap<String, DestinationSnapshot> {
        self.destinations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The series of `source`, or of `""` when it is not configured.
    fn source(&self, source: &str) -> Arc<PerSource> {
        let map = self.read();
        let s = (map.get(source))
            .or_else(|| map.get(""))
            .expect("the unknown-source entry always exists");
        s.used.store(true, Ordering::Relaxed);
        s.clone()
    }

    /// Notes one answer to `POST /webhooks/<source>`: counts a challenge or a rejection; for
    /// an acknowledged event (counted by [`Metrics::stored`] when it was stored), puts
    /// `elapsed` (request start to answer) into the ack latency histogram.
    pub fn delivery(&self, source: &str, delivery: Delivery, elapsed: Duration) {
        let s = self.source(source);
        match delivery {
            Delivery::Accepted | Delivery::Duplicate => {}
            Delivery::Challenge => bump(&s.challenge),
            Delivery::Rejected(reason) => {
                let mut rejected = s.rejected.lock().unwrap_or_else(|p| p.into_inner());
                *rejected.entry(reason).or_default() += 1;
            }
        }
        if matches!(delivery, Delivery::Accepted | Delivery::Duplicate) {
            s.ack.observe(elapsed);
        }
    }

    /// Counts what the store did with a delivery (new or duplicate), as soon as it is done:
    /// whether or not its client stays for the answer, each stored event counts once.
    pub fn stored(&self, source: &str, outcome: Accepted) {
        let s = self.source(source);
        bump(match outcome {
            Accepted::New => &s.accepted,
            Accepted::Duplicate(_) => &s.duplicate,
        });
    }

    /// Notes a claimed event. When the attempt before this claim was lost (worker stopped or
    /// lease expired), the store has recorded it as abandoned; this counts it.
    pub fn claimed(&self, record: &EventRecord) {
        let lost = record.attempts.last().is_some_and(|a| {
            a.outcome == Outcome::Abandoned && a.number.saturating_add(1) == record.attempt_count
        });
        if lost {
            bump(&self.source(&record.source).attempts[outcome_index(Outcome::Abandoned)]);
        }
    }

    /// Records how long a handler ran.
    pub fn handler_ran(&self, source: &str, duration: Duration) {
        self.source(source).handler.observe(duration);
    }

    /// The mean handler run time of `source` so far, if it has run at all.
    pub fn mean_handler_time(&self, source: &str) -> Option<Duration> {
        let snapshot = self.read().get(source)?.handler.snapshot();
        (snapshot.count > 0)
            .then(|| Duration::from_secs_f64(snapshot.sum_seconds / snapshot.count as f64))
    }

    /// Counts an attempt whose result the store recorded, and whether the event went dead.
    pub fn attempt_recorded(&self, source: &str, outcome: Outcome, dead: bool) {
        let s = self.source(source);
        bump(&s.attempts[outcome_index(outcome)]);
        if dead {
            bump(&s.dead);
        }
    }

    /// Events of `source` accepted (new or duplicate) since start: what `silence` alert rules
    /// watch between two looks.
    pub fn accepted_total(&self, source: &str) -> u64 {
        self.read().get(source).map_or(0, |s| {
            s.accepted.load(Ordering::Relaxed) + s.duplicate.load(Ordering::Relaxed)
        })
    }

    /// Notes that a delivery of `stream` went dead at `at` (unix ms), for the alert watcher.
    pub fn died(&self, stream: &str, at: u64) {
        let mut deaths = self.deaths.lock().unwrap_or_else(|p| p.into_inner());
        let span = deaths.entry(stream.to_owned()).or_insert((at, at));
        *span = (span.0.min(at), span.1.max(at));
    }

    /// The earliest and latest death per stream since the last call (see [`Metrics::died`]).
    pub fn take_deaths(&self) -> BTreeMap<String, (u64, u64)> {
        std::mem::take(&mut *self.deaths.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Counts an operator action whose audit record could not be written.
    pub fn audit_failed(&self) {
        bump(&self.audit_failures);
    }

    /// The exposition text of every metric, with `queue` read by the caller just before.
    /// Ingest series are written once per source; delivery series (attempts, handler time,
    /// deaths) once per route, labelled `source` and `route` (`""` for a source without
    /// routes).
    pub fn render(&self, queue: &Gauges) -> String {
        let sources = self.read();
        let shown =
            (sources.iter()).filter(|(name, s)| !name.is_empty() || s.used.load(Ordering::Relaxed));
        let ingest: Vec<Series<'_>> = (shown.clone())
            .filter(|(name, _)| split_stream(name).1.is_none())
            .map(|(name, s)| Series {
                source: name,
                route: None,
                counters: s,
            })
            .collect();
        let deliveries: Vec<Series<'_>> = shown
            .filter(|(name, _)| split_stream(name).1.is_some() || !is_routed(&sources, name))
            .map(|(name, s)| Series::delivery(name, s))
            .collect();
        let mut text = render::all(&ingest, &deliveries, queue, &self.destinations());
        render::audit_failures(&mut text, self.audit_failures.load(Ordering::Relaxed));
        text
    }
}

/// Whether `source` has routes in `sources` (their streams, `source:route`, have series of
/// their own).
fn is_routed(sources: &BTreeMap<String, Arc<PerSource>>, source: &str) -> bool {
    let prefix = format!("{source}{}", crate::store::ROUTE_SEPARATOR);
    (sources.range(prefix.clone()..))
        .next()
        .is_some_and(|(n, _)| n.starts_with(&prefix))
}

/// One series owner as written: its `source` label, its `route` label (delivery series
/// only), and its counters.
struct Series<'a> {
    source: &'a str,
    route: Option<&'a str>,
    counters: &'a PerSource,
}

impl<'a> Series<'a> {
    /// The delivery series of `stream`: `route=""` for a source's own stream.
    fn delivery(stream: &'a str, counters: &'a PerSource) -> Series<'a> {
        let (source, route) = split_stream(stream);
        Series {
            source,
            route: Some(route.unwrap_or("")),
            counters,
        }
    }
}

#[cfg(test)]
mod tests;

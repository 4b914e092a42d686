//! What one `hookbox bench` run measured, and how it is printed (text or one JSON object).

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histogram tracks exactly (larger ones count as this), microseconds.
const MAX_TRACKED_US: u64 = 120_000_000;

/// What one connection (or the whole run, after merging) saw.
pub struct Tally {
    /// Latency of every completed request, microseconds.
    pub latency_us: Histogram<u64>,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no response (connection error or timeout).
    pub errors: u64,
    /// What went wrong with the first request that got no response.
    pub first_error: Option<String>,
    /// Sequence numbers of new (non-duplicate) events that were answered 202.
    pub accepted: Vec<u64>,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Self {
        Tally {
            latency_us: Histogram::new_with_bounds(1, MAX_TRACKED_US, 3)
                .expect("static histogram bounds are valid"),
            statuses: BTreeMap::new(),
            errors: 0,
            first_error: None,
            accepted: Vec::new(),
        }
    }

    /// Records one request's latency.
    pub fn record_latency(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.saturating_record(us.max(1));
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Tally) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.accepted.extend(other.accepted);
    }

    /// Requests sent, answered or not.
    pub fn requests(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.errors
    }
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest seen.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// Percentiles of `h` (microseconds) in milliseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// How long the worker took to process every accepted event.
#[derive(Debug, Serialize)]
pub struct Drain {
    /// How it was observed: `status` (each event's status resource), `metrics` (the queue-depth
    /// gauge) or `admin` (the admin listing).
    pub method: &'static str,
    /// Events waited for (0 when unknown: a backlog watched through the admin listing).
    pub events: u64,
    /// From the start of the load until the last of them was final, seconds.
    pub seconds_from_start: f64,
    /// From the end of the load until the last of them was final, seconds.
    pub seconds_after_load: f64,
    /// `events / seconds_from_start`.
    pub events_per_second: f64,
    /// Events found `dead` (not `succeeded`).
    pub dead: u64,
}

/// The result of one run; `--json` prints exactly this.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Target base URL.
    pub target: String,
    /// Source name.
    pub source: String,
    /// `closed` (each connection sends as fast as answers come) or `open` (fixed `--rate`).
    pub mode: &'static str,
    /// Connections used.
    pub connections: usize,
    /// Requested rate for open-loop runs, requests/s.
    pub rate: Option<f64>,
    /// Body size, bytes.
    pub body_size: usize,
    /// Share of requests that reuse an earlier id.
    pub duplicate_ratio: f64,
    /// Requests sent.
    pub requests: u64,
    /// Wall time of the load, seconds.
    pub seconds: f64,
    /// Answered requests per second.
    pub requests_per_second: f64,
    /// Latency (open-loop: from each request's intended send time).
    pub latency_ms: Latency,
    /// Responses by status code.
    pub statuses: BTreeMap<String, u64>,
    /// Requests that got no response (connection error or timeout).
    pub errors: u64,
    /// What went wrong with the first request that got no response.
    pub first_error: Option<String>,
    /// New events acknowledged with 202.
    pub accepted: u64,
    /// Present with `--wait-drained`.
    pub drain: Option<Drain>,
}

impl Report {
    /// One JSON object on one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }

    /// A few aligned lines for people.
    pub fn to_text(&self) -> String {
        if let (Some(d), 0) = (&self.drain, self.requests) {
            return format!(
                "drained     {} queued events in {:.2}s = {:.0} events/s [{}]\n",
                d.events, d.seconds_from_start, d.events_per_second, d.method
            );
        }
        let l = &self.latency_ms;
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        let mut out = format!(
            "target      {} (source {}, {} loop, {} connections{})\n\
             requests    {} in {:.2}s = {:.0} req/s; {} new events accepted\n\
             latency ms  p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  mean {:.3}\n\
             statuses    {}{}\n",
            self.target,
            self.source,
            self.mode,
            self.connections,
            self.rate
                .map(|r| format!(", {r} req/s"))
                .unwrap_or_default(),
            self.requests,
            self.seconds,
            self.requests_per_second,
            self.accepted,
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            l.mean,
            statuses.join("  "),
            if self.errors > 0 {
                let first = self.first_error.as_deref().unwrap_or("");
                format!("  errors×{} (first: {first})", self.errors)
            } else {
                String::new()
            },
        );
        if let Some(d) = &self.drain {
            out.push_str(&format!(
                "drained     {} events {:.2}s after start ({:.2}s after the load) = {:.0} events/s \
                 [{}; {} dead]\n",
                d.events,
                d.seconds_from_start,
                d.seconds_after_load,
                d.events_per_second,
                d.method,
                d.dead,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_tallies_add_up() {
        let mut a = Tally::new();
        a.record_latency(Duration::from_millis(1));
        *a.statuses.entry(202).or_default() += 1;
        a.accepted.push(0);
        let mut b = Tally::new();
        b.record_latency(Duration::from_millis(3));
        *b.statuses.entry(202).or_default() += 1;
        b.errors = 1;
        a.merge(b);
        assert_eq!(a.requests(), 3);
        assert_eq!(a.latency_us.len(), 2);
        assert_eq!(a.accepted, vec![0]);
        let latency = Latency::of(&a.latency_us);
        assert!((latency.max - 3.0).abs() < 0.01, "{latency:?}");
    }
}

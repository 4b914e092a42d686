//! The handlers a source can name — `forward`, `command`, `log` — and the [`Report`] every
//! one of them returns: how the attempt ended, in terms the retry policy and the store use.

mod command;
mod forward;
mod log;
mod process;
mod request;
mod signing;

use std::time::Duration;

use bytes::Bytes;

use crate::config::{Config, HandlerConfig};
use crate::store::{EventRecord, Outcome};

pub use forward::classify_status;

/// Longest error excerpt kept with an attempt, in bytes.
pub const MAX_ERROR_BYTES: usize = 1024;

/// The key a handler can use to recognise a repeated delivery of the same event:
/// `<source>:<event id>`. Stable across attempts and restarts, and unique across sources
/// (two providers may well use the same id).
pub fn idempotency_key(source: &str, id: &str) -> String {
    format!("{source}:{id}")
}

/// One event, handed to a handler for one attempt.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// The claimed record (`attempt_count` is this attempt's number).
    pub record: &'a EventRecord,
    /// The original body.
    pub body: &'a Bytes,
}

impl Job<'_> {
    /// This attempt's number over the event's whole life, 1 for the first; it keeps growing
    /// across requeues (see [`crate::history`]).
    pub fn attempt(&self) -> u32 {
        crate::history::overall_attempt(self.record)
    }

    /// How many times an operator requeued the event: 0 for a first delivery, more for a
    /// deliberate replay.
    pub fn requeues(&self) -> usize {
        self.record.requeues.len()
    }

    /// The first stored header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.record
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `Success`, `Transient` or `Permanent`.
    pub outcome: Outcome,
    /// HTTP status from a `forward` target.
    pub status: Option<u16>,
    /// Exit code from a `command`.
    pub exit_code: Option<i32>,
    /// A short description that is safe to log (no bodies, no stderr, no secrets).
    pub cause: Option<String>,
    /// More detail for the stored record only: the target's answer, the program's stderr tail.
    pub detail: Option<String>,
    /// How long the target asked to wait before the next attempt.
    pub retry_after: Option<Duration>,
}

impl Report {
    /// A successful attempt.
    pub fn success() -> Report {
        Report {
            outcome: Outcome::Success,
            status: None,
            exit_code: None,
            cause: None,
            detail: None,
            retry_after: None,
        }
    }

    /// A failure worth retrying.
    pub fn transient(cause: impl Into<String>) -> Report {
        Report {
            outcome: Outcome::Transient,
            cause: Some(cause.into()),
            ..Report::success()
        }
    }

    /// A failure no retry will fix.
    pub fn permanent(cause: impl Into<String>) -> Report {
        Report {
            outcome: Outcome::Permanent,
            cause: Some(cause.into()),
            ..Report::success()
        }
    }

    /// Adds stored-only detail (ignored when empty).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Report {
        let detail = detail.into();
        let detail = detail.trim();
        self.detail = (!detail.is_empty()).then(|| detail.to_owned());
        self
    }

    /// The error excerpt stored with the attempt: cause and detail, at most
    /// [`MAX_ERROR_BYTES`].
    pub fn error(&self) -> Option<String> {
        let text = match (&self.cause, &self.detail) {
            (Some(cause), Some(detail)) => format!("{cause}: {detail}"),
            (Some(cause), None) => cause.clone(),
            (None, Some(detail)) => detail.clone(),
            (None, None) => return None,
        };
        Some(truncate(&text, MAX_ERROR_BYTES))
    }
}

/// How long a handler may run; the claim's lease is this plus `worker.lease_margin`.
pub fn timeout(handler: &HandlerConfig) -> Duration {
    match handler {
        HandlerConfig::Log => Duration::ZERO,
        HandlerConfig::Forward(f) => f.timeout,
        HandlerConfig::Command(c) => c.timeout,
    }
}

/// Runs handlers; holds what they share (the HTTP client's connection pool).
#[derive(Debug, Clone)]
pub struct Handlers {
    forward: forward::Forwarder,
}

impl Handlers {
    /// Ready-to-use handlers for `config`'s sources. Must be called inside a tokio runtime.
    pub fn new(config: &Config) -> Handlers {
        Handlers {
            forward: forward::Forwarder::new(config),
        }
    }

    /// Runs `handler` for one attempt of `job`. Never panics; every failure is a [`Report`].
    pub async fn run(&self, handler: &HandlerConfig, job: Job<'_>) -> Report {
        match handler {
            HandlerConfig::Log => log::run(job),
            HandlerConfig::Forward(cfg) => self.forward.run(cfg, job).await,
            HandlerConfig::Command(cfg) => command::run(cfg, job).await,
        }
    }
}

/// At most `max` bytes of `text`, cut at a character boundary, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The last `max` bytes of `bytes` as text (lossy), cut at a character boundary, with `…`
/// in front when cut.
pub fn tail(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= max {
        return text.into_owned();
    }
    let mut start = text.len() - max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

/// An error and its chain of sources, joined with `: ` (hyper's errors say little on top).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_and_tail_respect_the_bound_and_char_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        let long = "é".repeat(600); // 1200 bytes
        let cut = truncate(&long, MAX_ERROR_BYTES);
        assert!(cut.len() <= MAX_ERROR_BYTES && cut.ends_with('…'));
        let end = tail(long.as_bytes(), 100);
        assert!(end.len() <= 100 && end.starts_with('…'));
        assert_eq!(tail(b"abc", 10), "abc");
        assert_eq!(tail(b"0123456789", 6), "…789");
        assert!(tail(&[0xff; 50], 20).len() <= 20);
    }

    #[test]
    fn error_text_joins_cause_and_detail_within_the_bound() {
        assert_eq!(Report::success().error(), None);
        let r = Report::transient("HTTP 503").with_detail("  busy\n");
        assert_eq!(r.error().as_deref(), Some("HTTP 503: busy"));
        assert_eq!(
            Report::permanent("exit code 3")
                .with_detail("")
                .error()
                .as_deref(),
            Some("exit code 3")
        );
        let big = Report::transient("x").with_detail("y".repeat(5000));
        assert!(big.error().is_some_and(|e| e.len() <= MAX_ERROR_BYTES));
    }

    #[test]
    fn the_idempotency_key_names_source_and_id() {
        assert_eq!(idempotency_key("stripe", "evt_1"), "stripe:evt_1");
    }
}

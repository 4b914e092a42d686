//! `--wait-drained`: how long until the worker finished every accepted event.
//!
//! With the ids of this run known, every event's status resource is read until it is final,
//! and the drain ends at the latest `finishedAt` the server recorded — exact, whatever order
//! the worker took them in. Without ids (`--requests 0`, a backlog left by an earlier run),
//! the queue-depth gauge of `/metrics` (or, without it, the admin listing) is polled until no
//! event is queued or processing.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::Value;

use super::events::EventFactory;
use super::report::Drain;
use crate::client::{Client, ClientError, Target};
use crate::clock::now_ms;

/// Between two looks at something not yet final.
const POLL: Duration = Duration::from_millis(25);

/// Why the drain could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// A request failed.
    #[error(transparent)]
    Send(#[from] ClientError),
    /// The server answered something other than the expected JSON.
    #[error("{path}: unexpected answer {status}: {body}")]
    Unexpected {
        /// What was asked.
        path: String,
        /// The status.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// Events still pending when the limit ran out.
    #[error("not drained within {0:?}")]
    TimedOut(Duration),
}

/// Polls status resources or the admin listing with bearer auth where configured.
pub struct Watcher {
    client: Client,
    target: Target,
    auth: Vec<(String, String)>,
    source: String,
    deadline: Instant,
    limit: Duration,
}

impl Watcher {
    /// A watcher for `source` on `target` that gives up after `limit`.
    pub fn new(
        client: &Client,
        target: &Target,
        source: &str,
        token: Option<&str>,
        limit: Duration,
    ) -> Self {
        let auth = token
            .map(|t| vec![("authorization".to_owned(), format!("Bearer {t}"))])
            .unwrap_or_default();
        Watcher {
            client: client.with_timeout(Duration::from_secs(30)),
            target: target.clone(),
            auth,
            source: source.to_owned(),
            deadline: Instant::now() + limit,
            limit,
        }
    }

    async fn get(&mut self, path: &str) -> Result<(StatusCode, Bytes), DrainError> {
        if Instant::now() > self.deadline {
            return Err(DrainError::TimedOut(self.limit));
        }
        let url = self.target.url(path);
        let reply = (self
            .client
            .send(Method::GET, &url, &self.auth, Bytes::new()))
        .await?;
        Ok((reply.status, reply.body))
    }

    async fn get_json(&mut self, path: &str) -> Result<Value, DrainError> {
        let (status, body) = self.get(path).await?;
        match serde_json::from_slice(&body) {
            Ok(value) if status == StatusCode::OK => Ok(value),
            _ => Err(DrainError::Unexpected {
                path: path.to_owned(),
                status,
                body: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            }),
        }
    }

    /// Waits until event `id` is final; returns (its `finishedAt` in unix ms, whether dead).
    async fn final_state(&mut self, id: &str) -> Result<(u64, bool), DrainError> {
        let path = format!("/events/{}/{id}", self.source);
        loop {
            let status = self.get_json(&path).await?;
            let finished = status["finishedAt"].as_u64();
            match (status["state"].as_str(), finished) {
                (Some("succeeded" | "skipped"), Some(at)) => return Ok((at, false)),
                (Some("dead"), Some(at)) => return Ok((at, true)),
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Waits until every event `factory.id(n)` for `n` in `accepted` is final.
    /// `started_ms`/`finished_ms`: the load's start and end, unix ms.
    pub async fn events(
        &mut self,
        factory: &EventFactory,
        mut accepted: Vec<u64>,
        started_ms: u64,
        finished_ms: u64,
    ) -> Result<Drain, DrainError> {
        accepted.sort_unstable();
        // The newest event first: once it is final, most others are too, so the sweep below
        // rarely waits (and adds little load while the worker is still busy).
        if let Some(newest) = accepted.last() {
            self.final_state(&factory.id(*newest)).await?;
        }
        let (mut last, mut dead) = (started_ms, 0);
        for n in &accepted {
            let (at, is_dead) = self.final_state(&factory.id(*n)).await?;
            last = last.max(at);
            dead += u64::from(is_dead);
        }
        let events = accepted.len() as u64;
        Ok(drain("status", events, started_ms, finished_ms, last, dead))
    }

    /// Waits until nothing is queued or processing: by the `hookbox_queue_depth` gauge of
    /// `/metrics` (all sources; its first value is the backlog reported), else by the admin
    /// listing of the source (which cannot tell how many there were).
    pub async fn backlog(&mut self, started_ms: u64) -> Result<Drain, DrainError> {
        if let Some(first) = self.queue_depth().await? {
            let mut depth = first;
            while depth > 0 {
                tokio::time::sleep(POLL).await;
                depth = self.queue_depth().await?.unwrap_or(0);
            }
            return Ok(drain("metrics", first, started_ms, started_ms, now_ms(), 0));
        }
        loop {
            // Newest first, and the worker takes the oldest first: while it is busy, the
            // first queued entry turns up at once, so the long walks happen only at the end.
            let busy = self.any_in("queued").await?
                || self.any_in("processing").await?
                || self.any_in("queued").await?;
            if !busy {
                return Ok(drain("admin", 0, started_ms, started_ms, now_ms(), 0));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The `hookbox_queue_depth` gauge, or `None` where `/metrics` does not offer it.
    async fn queue_depth(&mut self) -> Result<Option<u64>, DrainError> {
        let (status, body) = self.get("/metrics").await?;
        if status != StatusCode::OK {
            return Ok(None);
        }
        Ok(String::from_utf8_lossy(&body).lines().find_map(|line| {
            let value = line.strip_prefix("hookbox_queue_depth ")?;
            value.trim().parse::<f64>().ok().map(|v| v as u64)
        }))
    }

    /// Whether any event of the source is in `state`, following cursors to the end.
    async fn any_in(&mut self, state: &str) -> Result<bool, DrainError> {
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/admin/events?source={}&state={state}&limit=1", self.source);
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = self.get_json(&path).await?;
            if page["items"]
                .as_array()
                .is_some_and(|items| !items.is_empty())
            {
                return Ok(true);
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(false),
            }
        }
    }
}

fn drain(
    method: &'static str,
    events: u64,
    started: u64,
    finished: u64,
    last: u64,
    dead: u64,
) -> Drain {
    let secs = |from: u64| last.saturating_sub(from) as f64 / 1000.0;
    let from_start = secs(started);
    Drain {
        method,
        events,
        seconds_from_start: from_start,
        seconds_after_load: secs(finished),
        events_per_second: if from_start > 0.0 {
            events as f64 / from_start
        } else {
            0.0
        },
        dead,
    }
}

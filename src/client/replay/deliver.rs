//! Replaying one event: sign it now, send it, read hookbox's answer and, with `--wait`, follow
//! its `Location` until the event is final or the deadline passes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use tokio::time::Instant;

use super::fixture::Fixture;
use super::prepare::prepare;
use super::report::{Outcome, Report};
use super::Options;
use crate::client::{Client, Reply};
use crate::config::Source;

/// First pause between status polls; it doubles up to [`MAX_POLL_INTERVAL`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Longest pause between status polls. `Retry-After` estimates the backlog for a provider's
/// benefit; a developer waiting on a handful of events wants to see them finish promptly.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Sends `fixture` to `source` once and reports how it went.
pub async fn replay_one(
    client: &Client,
    options: &Options,
    fixture: Arc<Fixture>,
    source: Arc<Source>,
) -> Report {
    let mut report = Report {
        status: None,
        source: fixture.source.clone(),
        file: fixture.path.clone(),
        id: None,
        location: None,
        outcome: Outcome::Failed(String::new()),
    };
    let prepared = match prepare(
        &fixture,
        &source.verifier,
        options.keep_ids,
        crate::clock::now_secs(),
    ) {
        Ok(prepared) => prepared,
        Err(e) => {
            report.outcome = Outcome::Failed(e.to_string());
            return report;
        }
    };
    report.id = prepared.id;
    let url = options.target.webhook_url(&fixture.source);
    let reply = match client
        .send(Method::POST, &url, &prepared.headers, prepared.body)
        .await
    {
        Ok(reply) => reply,
        Err(e) => {
            report.outcome = Outcome::Failed(e.to_string());
            return report;
        }
    };
    report.status = Some(reply.status.as_u16());
    report.location = reply.header("location").map(str::to_owned);
    report.outcome = classify(&reply);
    let pending = match &report.outcome {
        Outcome::Accepted => true,
        Outcome::Duplicate(state) => !is_final(state),
        _ => false,
    };
    if let (true, Some(timeout), Some(location)) = (pending, options.wait, &report.location) {
        let url = options.target.resolve(location);
        let end = follow(client, &url, options.token.as_deref(), timeout).await;
        report.outcome = match (report.outcome, end) {
            (Outcome::Duplicate(_), Outcome::Succeeded) => Outcome::Duplicate("succeeded".into()),
            (Outcome::Duplicate(_), Outcome::Dead(_)) => Outcome::Duplicate("dead".into()),
            (Outcome::Duplicate(_), Outcome::Skipped) => Outcome::Duplicate("skipped".into()),
            (_, end) => end,
        };
    }
    report
}

/// Reads hookbox's answer to a delivery (see the HTTP contract in docs/http-api.md).
fn classify(reply: &Reply) -> Outcome {
    let json = reply.json();
    let field = |name: &str| {
        let value = json.as_ref()?.get(name)?.as_str()?;
        Some(value.to_owned())
    };
    if !reply.status.is_success() {
        let slug = field("type").map(|t| t.rsplit(':').next().unwrap_or(&t).to_owned());
        let detail = match (slug, field("detail")) {
            (Some(slug), Some(detail)) => format!("{slug}: {detail}"),
            (Some(text), None) | (None, Some(text)) => text,
            (None, None) => reply
                .status
                .canonical_reason()
                .unwrap_or("error")
                .to_owned(),
        };
        return Outcome::Rejected(detail);
    }
    if field("challenge").is_some() {
        return Outcome::Challenge;
    }
    if json.is_none() && reply.header("location").is_some() {
        // A provider's own acknowledgement (Adyen's `[accepted]`) in place of hookbox's JSON:
        // 202 is a new or pending event, 200 a duplicate of a final one; following the status
        // resource tells the rest.
        return match reply.status {
            StatusCode::ACCEPTED => Outcome::Accepted,
            _ => Outcome::Duplicate("unknown".into()),
        };
    }
    match field("status").as_deref() {
        Some("accepted") => Outcome::Accepted,
        Some("duplicate") => Outcome::Duplicate(field("state").unwrap_or_else(|| "unknown".into())),
        _ => Outcome::Delivered,
    }
}

/// Polls the status resource at `url` until the event is final or `timeout` has passed.
async fn follow(client: &Client, url: &str, token: Option<&str>, timeout: Duration) -> Outcome {
    let deadline = Instant::now() + timeout;
    let headers: Vec<(String, String)> = token
        .map(|t| ("authorization".to_owned(), format!("Bearer {t}")))
        .into_iter()
        .collect();
    let mut pause = FIRST_POLL_INTERVAL;
    let mut last_state = "unknown".to_owned();
    loop {
        let poll = client.send(Method::GET, url, &headers, Bytes::new());
        let reply = match tokio::time::timeout_at(deadline, poll).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Outcome::Failed(format!("status resource: {}", e)),
            Err(_) => return Outcome::TimedOut(last_state),
        };
        match reply.status {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Outcome::Failed(format!(
                    "status resource answered {}: set HOOKBOX_ADMIN_TOKEN or [admin] token",
                    reply.status.as_u16()
                ))
            }
            status => {
                return Outcome::Failed(format!("status resource answered {}", status.as_u16()))
            }
        }
        let json = reply.json().unwrap_or_default();
        last_state = json["state"].as_str().unwrap_or("unknown").to_owned();
        match last_state.as_str() {
            "succeeded" => return Outcome::Succeeded,
            "skipped" => return Outcome::Skipped,
            "dead" => return Outcome::Dead(last_error(&json)),
            _ => {}
        }
        if Instant::now() + pause >= deadline {
            tokio::time::sleep_until(deadline).await;
            return Outcome::TimedOut(last_state);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL_INTERVAL);
    }
}

fn is_final(state: &str) -> bool {
    matches!(state, "succeeded" | "dead" | "skipped")
}

/// Why a dead event died: its own `lastError`, or for a routed event its first dead route's.
fn last_error(status: &serde_json::Value) -> Option<String> {
    let routes = status["routes"].as_array().into_iter().flatten();
    let dead = routes.filter(|r| r["state"] == "dead");
    std::iter::once(status)
        .chain(dead)
        .find_map(|s| s["lastError"].as_str().map(str::to_owned))
}

//! Helpers for processing tests: configs with one source `app` (Standard Webhooks in) and a
//! chosen handler, delivering events, and polling their status resource.

use std::time::Duration;

use hookbox::verify::{Scheme, Secret, Verifier};
use http::Method;
use serde_json::Value;

use super::target::{eventually, Target};
use super::{get, send, Reply, TestServer};

/// The `app` source's ingest secret.
pub const INGEST_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The secret hookbox signs forwarded requests with: base64("test-forward-secret-123456").
pub const FORWARD_SECRET: &str = "whsec_dGVzdC1mb3J3YXJkLXNlY3JldC0xMjM0NTY=";
/// `[worker]` with three retries, a millisecond apart.
pub const FAST: &str =
    "concurrency = 8\nretry_schedule = [\"1ms\", \"1ms\", \"1ms\"]\njitter = 0.0";
/// Bound on every wait for an event to settle.
pub const LIMIT: Duration = Duration::from_secs(20);

/// A config with the source `app`, extra `[storage]` lines, a `[worker]` and a handler table.
pub fn config_with(storage: &str, worker: &str, handler: &str) -> String {
    format!(
        r#"
[server]
header_read_timeout = "2s"
body_read_timeout = "2s"
shutdown_timeout = "10s"

[admin]
public_status = true

[storage]
cache_capacity_bytes = 8388608
{storage}

[worker]
{worker}

[sources.app]
scheme = "standard"
secrets = ["{INGEST_SECRET}"]
keep_headers = ["x-trace"]

[sources.app.handler]
{handler}
"#
    )
}

/// [`config_with`] and default storage.
pub fn config(worker: &str, handler: &str) -> String {
    config_with("", worker, handler)
}

/// A `forward` handler table for `target`, passing `x-trace` through, plus `extra` lines.
pub fn forward(target: &Target, extra: &str) -> String {
    format!(
        "type = \"forward\"\nurl = \"{}\"\nsecret = \"{FORWARD_SECRET}\"\npass_headers = [\"x-trace\"]\n{extra}",
        target.url()
    )
}

/// A `command` handler table running `/bin/sh -c <script>`, plus `extra` lines.
pub fn command(script: &str, extra: &str) -> String {
    let script = toml::Value::String(script.to_owned());
    format!("type = \"command\"\nprogram = \"/bin/sh\"\nargs = [\"-c\", {script}]\n{extra}")
}

/// Delivers a signed event to `app` with `extra` headers; asserts the 202.
pub async fn deliver(server: &TestServer, id: &str, body: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = server.sign("app", body.as_bytes(), id);
    headers.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    let reply = send(
        Method::POST,
        &server.url("/webhooks/app"),
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 202, "body: {:?}", reply.body);
    reply
}

/// The status resource of `app` event `id`.
pub async fn status(server: &TestServer, id: &str) -> Value {
    let reply = get(&server.url(&format!("/events/app/{id}"))).await;
    assert_eq!(reply.status.as_u16(), 200, "body: {:?}", reply.body);
    reply.json()
}

/// Polls the status of `id` until `accept` likes it.
pub async fn status_when(
    server: &TestServer,
    id: &str,
    what: &str,
    accept: fn(&Value) -> bool,
) -> Value {
    eventually(&format!("{id} to be {what}"), LIMIT, move || async move {
        let s = status(server, id).await;
        accept(&s).then_some(s)
    })
    .await
}

/// Polls the status of `id` until it is `succeeded` or `dead`.
pub async fn settled(server: &TestServer, id: &str) -> Value {
    status_when(server, id, "succeeded or dead", |s| {
        matches!(s["state"].as_str(), Some("succeeded" | "dead"))
    })
    .await
}

/// The attempts in a status.
pub fn attempts(status: &Value) -> &Vec<Value> {
    status["attempts"].as_array().expect("attempts")
}

/// The outcome of each attempt in a status.
pub fn outcomes(status: &Value) -> Vec<&str> {
    attempts(status)
        .iter()
        .map(|a| a["outcome"].as_str().unwrap_or("?"))
        .collect()
}

/// Checks the signatures hookbox puts on forwarded requests.
pub fn forward_verifier() -> Verifier {
    Verifier {
        scheme: Scheme::standard(),
        secrets: vec![Secret::new(FORWARD_SECRET)],
        tolerance: Duration::from_secs(300),
    }
}

/// [`BASE_CONFIG`](super::BASE_CONFIG) plus the routed source `app` (Standard Webhooks in):
/// route `billing` forwards `invoice.*` events to `billing`, `audit` logs every event, and
/// `refunds` logs `charge.refunded` ones, so it skips an invoice.
pub fn routed_config(billing: &Target) -> String {
    routed_config_with(billing, "", "")
}

/// [`routed_config`] with `billing_filter` added to the `billing` route (e.g. a `match` line)
/// and `audit_handler` as the `audit` route's `handler = …` line (empty: it logs).
pub fn routed_config_with(billing: &Target, billing_filter: &str, audit_handler: &str) -> String {
    format!(
        r#"{base}
[sources.app]
scheme = "standard"
secrets = ["{INGEST_SECRET}"]

[[sources.app.routes]]
name = "billing"
types = ["invoice.*"]
{billing_filter}
handler = {{ type = "forward", url = "{url}", secret = "{FORWARD_SECRET}" }}

[[sources.app.routes]]
name = "audit"
{audit_handler}

[[sources.app.routes]]
name = "refunds"
types = ["charge.refunded"]
"#,
        base = super::BASE_CONFIG,
        url = billing.url(),
    )
}

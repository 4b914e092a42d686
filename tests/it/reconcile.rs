//! Reconciliation against loopback APIs that follow Stripe's and GitHub's documentation: events
//! only the API has are stored once, through the faults the APIs document; webhooks and
//! reconciled events dedupe against each other; a kill during a pass loses nothing.

mod fake;
mod github;
mod github_api;
mod instances;
mod stripe_api;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::target::eventually;
use crate::support::{get, get_as, post_as, unix_now, TestServer, BASE_CONFIG, TEST_ADMIN_TOKEN};
use fake::{Fake, Fault};

const LIMIT: Duration = Duration::from_secs(30);

/// The base config with `source` reconciling against `table` (the reconcile keys).
fn config(source: &str, table: &str) -> String {
    format!("{BASE_CONFIG}\n[sources.{source}.reconcile]\n{table}\n")
}

/// `source`'s entry of `/admin/reconcile` once its last pass ended with `outcome`.
async fn pass_ended(server: &TestServer, source: &str, outcome: &str) -> Value {
    let url = server.url("/admin/reconcile");
    eventually(&format!("a {outcome} pass of {source}"), LIMIT, || async {
        let body = get(&url).await.json();
        let entry = (body["sources"].as_array()?.iter())
            .find(|s| s["source"] == source)?
            .clone();
        (entry["lastOutcome"] == outcome && entry["running"] == false).then_some(entry)
    })
    .await
}

async fn origin(server: &TestServer, source: &str, id: &str) -> String {
    let status = get(&server.url(&format!("/events/{source}/{id}")))
        .await
        .json();
    status["origin"].as_str().unwrap_or("none").to_owned()
}

fn stripe_events(delivered: &[bool]) -> stripe_api::Events {
    let now = unix_now();
    let n = delivered.len();
    // Newest first: evt_n … evt_1.
    let events = (0..n)
        .rev()
        .map(|i| {
            (
                stripe_api::event(&format!("evt_{}", i + 1), now - 100 + i as u64),
                delivered[i],
            )
        })
        .collect();
    Arc::new(Mutex::new(events))
}

#[tokio::test]
async fn stripe_events_from_webhooks_and_the_api_are_stored_once_through_429_and_500() {
    // evt_1 was delivered; evt_2 reached hookbox although Stripe saw a failure (a timeout);
    // evt_3–5 never arrived.
    let events = stripe_events(&[true, false, false, false, false]);
    let api = Fake::start(stripe_api::api(events.clone())).await;
    api.fault(0, Fault::Status(429, Some(1)));
    api.fault(2, Fault::Status(500, None));
    let table = format!(
        "api_key = \"{}\"\napi_base = \"{}\"\nevery = \"1h\"",
        stripe_api::KEY,
        api.base()
    );
    let server = TestServer::start(&config("stripe", &table)).await;
    for id in ["evt_1", "evt_2"] {
        let body = events
            .lock()
            .unwrap()
            .iter()
            .find(|(e, _)| e["id"] == id)
            .unwrap()
            .0
            .to_string();
        let reply = server.deliver("stripe", &body, id).await;
        assert!(reply.status.is_success(), "{id}: {}", reply.status);
    }
    let status = pass_ended(&server, "stripe", "success").await;
    assert_eq!(status["lastPass"]["listed"], 4, "{status}");

    // Each event once; the ones only the API had are marked so.
    let list = get(&server.url("/admin/events?source=stripe&limit=100"))
        .await
        .json();
    let ids: Vec<&str> = (list["items"].as_array().unwrap().iter())
        .filter_map(|i| i["eventId"].as_str())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 5, "{list}");
    assert_eq!(unique.len(), 5, "{list}");
    for id in ["evt_3", "evt_4", "evt_5"] {
        assert_eq!(origin(&server, "stripe", id).await, "reconciled", "{id}");
    }
    assert_eq!(origin(&server, "stripe", "evt_1").await, "webhook");
    let only = get(&server.url("/admin/events?source=stripe&origin=reconciled"))
        .await
        .json();
    let only: BTreeSet<&str> = (only["items"].as_array().unwrap().iter())
        .filter_map(|i| i["eventId"].as_str())
        .collect();
    assert_eq!(only, BTreeSet::from(["evt_3", "evt_4", "evt_5"]));
    let stored = get(&server.url("/admin/events/stripe/evt_4/payload")).await;
    let stored: Value = serde_json::from_slice(&stored.body).unwrap();
    assert_eq!(
        stored["data"]["object"]["id"], "in_evt_4",
        "the event object as the API gave it"
    );

    // The webhook that finally arrives is a duplicate.
    let late = events.lock().unwrap()[1].0.to_string();
    let reply = server.deliver("stripe", &late, "evt_4").await;
    assert_eq!(reply.json()["status"], "duplicate");

    // The API saw: the key every time; the quick pass's filter; the 500'd page asked again
    // from the same cursor.
    let seen = api.seen();
    assert!(seen
        .iter()
        .all(|s| s.auth.as_deref() == Some(&format!("Bearer {}", stripe_api::KEY)[..])));
    assert_eq!(
        fake::param(&seen[1].uri, "delivery_success").as_deref(),
        Some("false")
    );
    assert!(
        fake::param(&seen[2].uri, "starting_after").is_some(),
        "{:?}",
        seen[2]
    );
    assert_eq!(
        seen[3].uri, seen[2].uri,
        "the walk resumed where the 500 stopped it"
    );

    let metrics =
        String::from_utf8_lossy(&get_as(&server.url("/metrics"), None).await.body).into_owned();
    assert!(
        metrics.contains("hookbox_reconciled_events_total{source=\"stripe\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hookbox_reconcile_runs_total{source=\"stripe\",outcome=\"success\"} 1")
    );
    assert!(metrics.contains("hookbox_reconcile_last_success_timestamp_seconds{source=\"stripe\"}"));

    // A pass by hand lists everything (no delivery filter) and finds nothing new.
    let now = post_as(
        &server.url("/admin/reconcile/stripe"),
        Some(TEST_ADMIN_TOKEN),
    )
    .await;
    assert_eq!(now.status.as_u16(), 200);
    let now = now.json();
    assert_eq!(now["lastOutcome"], "success", "{now}");
    assert_eq!(
        (
            now["lastPass"]["listed"].as_u64(),
            now["lastPass"]["reconciled"].as_u64()
        ),
        (Some(5), Some(0))
    );
    let last = api.seen().pop().unwrap();
    assert_eq!(fake::param(&last.uri, "delivery_success"), None);
    let unknown = post_as(
        &server.url("/admin/reconcile/github"),
        Some(TEST_ADMIN_TOKEN),
    )
    .await;
    unknown.assert_problem(404);
    server.stop().await;
}

#[tokio::test]
async fn a_refused_key_is_a_clear_error_that_never_shows_the_key() {
    let api = Fake::start(stripe_api::api(stripe_events(&[false]))).await;
    let wrong = "sk_test_wrong_key_987654321";
    let table = format!(
        "api_key = \"{wrong}\"\napi_base = \"{}\"\nevery = \"1s\"",
        api.base()
    );
    let server = TestServer::start(&config("stripe", &table)).await;
    let status = pass_ended(&server, "stripe", "unauthorized").await;
    let error = status["lastError"].as_str().unwrap();
    assert!(
        error.contains("401") && error.contains("Invalid API Key"),
        "{error}"
    );
    // It keeps trying on its schedule, and the process stays up.
    eventually("a second refused pass", LIMIT, || async {
        let body = get(&server.url("/admin/reconcile")).await.json();
        (body["sources"][0]["runs"]["unauthorized"].as_u64() >= Some(2)).then_some(())
    })
    .await;
    let shown = [
        get(&server.url("/admin/reconcile")).await.body,
        get_as(&server.url("/metrics"), None).await.body,
    ];
    for body in shown {
        assert!(!String::from_utf8_lossy(&body).contains(wrong));
    }
    assert_eq!(
        get_as(&server.url("/healthz"), None).await.status.as_u16(),
        200
    );
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_kill_during_a_pass_loses_nothing_and_the_next_pass_completes() {
    use crate::support::process::{self, Hookbox};
    let events = stripe_events(&[false, false, false, false, false]);
    let api = Fake::start(stripe_api::api(events)).await;
    api.fault(1, Fault::Hang); // the second page never comes: the kill lands mid-walk
    let dir = tempfile::tempdir().unwrap();
    let text = process::kill_test_config("").replace(
        "[admin]\n",
        &format!("[admin]\ntoken = \"{TEST_ADMIN_TOKEN}\"\n"),
    ) + &format!(
        "[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"whsec_test_stripe\"]\n\n\
         [sources.stripe.reconcile]\napi_key = \"{}\"\napi_base = \"{}\"\nevery = \"1h\"\n",
        stripe_api::KEY,
        api.base()
    );
    let text = crate::support::backend::with_storage(&text, &dir.path().join("data"));
    let (path, _) = process::write_config(dir.path(), &text);

    let first = Hookbox::start(&path).await;
    eventually("the pass to ask for page 2", LIMIT, || async {
        (api.seen().len() >= 2).then_some(())
    })
    .await;
    // Page 1's events were stored before page 2 was asked for.
    let url = first.url("/events/stripe/evt_5");
    assert_eq!(get(&url).await.json()["origin"], "reconciled");
    first.kill();
    api.release();

    let second = Hookbox::start(&path).await;
    for i in 1..=5 {
        let url = second.url(&format!("/events/stripe/evt_{i}"));
        eventually(&format!("evt_{i} stored"), LIMIT, || async {
            (get(&url).await.json()["origin"] == "reconciled").then_some(())
        })
        .await;
    }
    let list = get(&second.url("/admin/events?source=stripe&limit=100"))
        .await
        .json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(5), "{list}");
}

/// Runs the hookbox binary with the test admin token; (exit code, stdout, stderr).
async fn cli(args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookbox"))
        .args(args)
        .env("HOOKBOX_ADMIN_TOKEN", TEST_ADMIN_TOKEN)
        .output()
        .await
        .expect("run hookbox");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

#[tokio::test]
async fn the_cli_runs_a_pass_now_and_shows_each_source() {
    let events = stripe_events(&[true, true]); // delivered: only a full pass lists them
    let api = Fake::start(stripe_api::api(events)).await;
    let table = format!(
        "api_key = \"{}\"\napi_base = \"{}\"\nevery = \"1h\"",
        stripe_api::KEY,
        api.base()
    );
    let server = TestServer::start(&config("stripe", &table)).await;
    pass_ended(&server, "stripe", "success").await;
    let base = server.url("");
    let (code, out, err) = cli(&[
        "reconcile",
        "--server",
        &base,
        "--source",
        "stripe",
        "--since",
        "1h",
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.trim(),
        "stripe: listed 2, reconciled 2, already known 0"
    );
    assert_eq!(origin(&server, "stripe", "evt_2").await, "reconciled");
    let (code, out, _) = cli(&["events", "--server", &base, "reconcile"]).await;
    assert_eq!(code, 0);
    let row = out
        .lines()
        .find(|l| l.starts_with("stripe"))
        .unwrap_or_default();
    assert!(
        row.contains("success") && !out.contains(stripe_api::KEY),
        "{out}"
    );
    let (code, _, err) = cli(&["reconcile", "--server", &base, "--source", "github"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not configured to reconcile"), "{err}");
    server.stop().await;
}

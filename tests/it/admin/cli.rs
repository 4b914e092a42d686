//! `hookbox events list|show|requeue|discard|counts|summary`, the real binary against a real
//! hookbox, for plain sources and a source with routes.

use std::process::Output;

use tokio::process::Command;

use super::{config_with_failing, deliver, settled, status, LIMIT};
use crate::support::flow::routed_config;
use crate::support::target::{eventually, Answer, Target};
use crate::support::{TestServer, TEST_ADMIN_TOKEN};

const BIN: &str = env!("CARGO_BIN_EXE_hookbox");

/// Runs `hookbox events --server <server> <args>` with `token` in the environment (or none).
pub(super) async fn events(server: &TestServer, token: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .arg("events")
        .args(["--server", &server.url("")])
        .args(args)
        .env_remove("HOOKBOX_ADMIN_TOKEN");
    if let Some(token) = token {
        command.env("HOOKBOX_ADMIN_TOKEN", token);
    }
    command.output().await.expect("run hookbox events")
}

pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs with the right token and expects success; returns stdout.
pub(super) async fn ok(server: &TestServer, args: &[&str]) -> String {
    let out = events(server, Some(TEST_ADMIN_TOKEN), args).await;
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// `HOOKBOX_SERVER` stands for `--server`, as `HOOKBOX_ADMIN_TOKEN` does for the token.
#[tokio::test]
async fn the_server_can_come_from_the_environment() {
    let server = TestServer::start(&config_with_failing()).await;
    deliver(&server, "failing", "f1", r#"{"n":1}"#).await;
    let out = Command::new(BIN)
        .args(["events", "list", "--json"])
        .env("HOOKBOX_SERVER", server.url(""))
        .env("HOOKBOX_ADMIN_TOKEN", TEST_ADMIN_TOKEN)
        .output()
        .await
        .expect("run hookbox events");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("f1"), "{}", text(&out.stdout));
    server.stop().await;
}

#[tokio::test]
async fn events_lists_shows_and_requeues_through_the_admin_api() {
    let server = TestServer::start(&config_with_failing()).await;
    deliver(&server, "failing", "f1", r#"{"n":1}"#).await;
    let body = r#"{"id":"evt_c","object":"event","type":"invoice.paid"}"#;
    deliver(&server, "stripe", "", body).await;
    settled(&server, "failing", "f1", 0).await;
    settled(&server, "stripe", "evt_c", 0).await;

    let json: serde_json::Value =
        serde_json::from_str(&ok(&server, &["list", "--json"]).await).expect("JSON");
    assert_eq!(json["items"].as_array().map(Vec::len), Some(2));

    // Cursors followed with --all, one event a page.
    let table = ok(&server, &["list", "--limit", "1", "--all"]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("RECEIVED") && lines[0].contains("STATE"),
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");
    let dead = ok(&server, &["list", "--state", "dead", "--since", "1h"]).await;
    assert!(dead.contains("f1") && !dead.contains("evt_c"), "{dead}");

    let shown = ok(&server, &["show", "failing", "f1"]).await;
    assert!(
        shown.contains("state:") && shown.contains("dead"),
        "{shown}"
    );
    let payload = ok(&server, &["show", "stripe", "evt_c", "--payload"]).await;
    assert_eq!(payload, body);

    // Without a terminal and without --yes nothing is done; --dry-run only looks.
    let unasked = events(
        &server,
        Some(TEST_ADMIN_TOKEN),
        &["requeue", "failing", "f1"],
    )
    .await;
    assert_eq!(unasked.status.code(), Some(2));
    assert!(
        text(&unasked.stderr).contains("--yes"),
        "{}",
        text(&unasked.stderr)
    );
    let look = ok(&server, &["requeue", "failing", "f1", "--dry-run"]).await;
    assert_eq!(look, "would be requeued (1):\n  failing/f1 (was dead)\n");
    let bulk_look = ok(&server, &["requeue", "--dead", "failing", "--dry-run"]).await;
    assert!(bulk_look.contains("failing/f1 (was dead)"), "{bulk_look}");
    let untouched = ok(&server, &["show", "failing", "f1"]).await;
    assert!(line(&untouched, "state:").ends_with("dead"), "{untouched}");

    let requeued = ok(&server, &["requeue", "failing", "f1", "--yes"]).await;
    assert_eq!(requeued.trim(), "requeued failing/f1 (was dead)");
    settled(&server, "failing", "f1", 1).await;
    let everywhere = events(
        &server,
        Some(TEST_ADMIN_TOKEN),
        &["requeue", "--dead", "-y"],
    )
    .await;
    assert_eq!(
        everywhere.status.code(),
        Some(2),
        "no source needs --all-sources"
    );
    assert!(text(&everywhere.stderr).contains("--all-sources"));
    let bulk = ok(&server, &["requeue", "--dead", "--all-sources", "--yes"]).await;
    assert_eq!(
        bulk,
        "requeued failing/f1 (was dead)\nrequeued 1 dead events\n"
    );
    settled(&server, "failing", "f1", 2).await;

    // Refusals: 1 when hookbox says no, 2 for usage errors.
    let unknown = events(
        &server,
        Some(TEST_ADMIN_TOKEN),
        &["requeue", "stripe", "nope"],
    )
    .await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("404"),
        "{}",
        text(&unknown.stderr)
    );
    let wrong = events(&server, Some("wrong-token-0123456789"), &["list"]).await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stderr).contains("401"));
    let missing = events(&server, None, &["list"]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("HOOKBOX_ADMIN_TOKEN"));
    let half = events(&server, Some(TEST_ADMIN_TOKEN), &["requeue", "failing"]).await;
    assert_eq!(half.status.code(), Some(2));
    server.stop().await;
}

#[tokio::test]
async fn events_filters_by_type_and_id_counts_summarises_and_discards() {
    let server = TestServer::start(&config_with_failing()).await;
    deliver(&server, "failing", "f1", "{}").await;
    let body = r#"{"id":"evt_t","object":"event","type":"invoice.paid"}"#;
    deliver(&server, "stripe", "", body).await;
    settled(&server, "failing", "f1", 0).await;
    settled(&server, "stripe", "evt_t", 0).await;

    let typed = ok(&server, &["list", "--type", "invoice.*"]).await;
    assert!(typed.contains("evt_t") && !typed.contains("f1"), "{typed}");
    let found = ok(&server, &["list", "--id", "f1"]).await;
    assert!(found.contains("f1") && !found.contains("evt_t"), "{found}");

    let refused = events(
        &server,
        Some(TEST_ADMIN_TOKEN),
        &["discard", "stripe", "evt_t", "--yes"],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stderr).contains("409"),
        "{}",
        text(&refused.stderr)
    );
    let done = ok(&server, &["discard", "failing", "f1", "--yes"]).await;
    assert_eq!(done.trim(), "discarded failing/f1 (was dead)");

    let counts = ok(&server, &["counts"]).await;
    for line in [
        "succeeded  1",
        "dead       0",
        "discarded  1",
        "queued     0",
    ] {
        assert!(counts.contains(line), "{line:?} in {counts}");
    }
    let summary = ok(&server, &["summary"]).await;
    let stripe = summary
        .lines()
        .find(|l| l.starts_with("stripe"))
        .expect(&summary);
    let columns: Vec<&str> = stripe.split_whitespace().collect();
    assert_eq!(&columns[1..5], ["1", "1", "0", "0"], "{summary}");
    server.stop().await;
}

/// The line of `out` that starts with `start` (after indentation).
fn line<'a>(out: &'a str, start: &str) -> &'a str {
    let found = out.lines().find(|l| l.trim_start().starts_with(start));
    found.unwrap_or_else(|| panic!("a line starting {start:?} in {out}"))
}

#[tokio::test]
async fn events_show_list_count_and_requeue_the_routes_of_an_event() {
    let billing = Target::start().await;
    billing.answer_by_default(Answer::status(500));
    let server = TestServer::start(&routed_config(&billing)).await;
    deliver(&server, "app", "evt_r", r#"{"type":"invoice.paid"}"#).await;
    settled(&server, "app:billing", "evt_r", 0).await;
    settled(&server, "app:audit", "evt_r", 0).await;

    // One row per route, named as `show` and `requeue` take it.
    let table = ok(&server, &["list", "--source", "app"]).await;
    assert!(line(&table, "20").contains("app:"), "{table}");
    for (stream, state) in [
        ("app:billing", "dead"),
        ("app:audit", "succeeded"),
        ("app:refunds", "skipped"),
    ] {
        let row = table.lines().find(|l| l.contains(stream)).expect(&table);
        assert!(row.contains(state), "{stream} {state}: {table}");
    }
    let only = ok(&server, &["list", "--route", "billing"]).await;
    assert_eq!(only.lines().count(), 2, "{only}");
    assert!(line(&only, "20").contains("app:billing"), "{only}");
    let skipped = ok(&server, &["list", "--state", "skipped"]).await;
    assert!(line(&skipped, "20").contains("app:refunds"), "{skipped}");

    // The event with every route's state, attempts and error; one route alone.
    let shown = ok(&server, &["show", "app", "evt_r"]).await;
    assert!(line(&shown, "state:").ends_with("dead"), "{shown}");
    let billing_line = line(&shown, "billing ");
    assert!(
        billing_line.contains("dead") && billing_line.contains("last error"),
        "{shown}"
    );
    assert!(
        line(&shown, "audit ").contains("succeeded  1 attempt"),
        "{shown}"
    );
    assert!(line(&shown, "refunds ").contains("skipped"), "{shown}");
    let one = ok(&server, &["show", "app:billing", "evt_r"]).await;
    assert!(line(&one, "route:").ends_with("billing"), "{one}");

    let counts = ok(&server, &["counts", "--source", "app"]).await;
    for expected in ["dead       1", "succeeded  1", "skipped    1"] {
        assert!(counts.contains(expected), "{expected:?} in {counts}");
    }
    let billing_counts = ok(&server, &["counts", "--route", "billing"]).await;
    assert!(billing_counts.contains("skipped    0"), "{billing_counts}");

    // Requeue the dead route alone once its application is fixed, then the whole event.
    billing.answer_by_default(Answer::status(200));
    let requeued = ok(&server, &["requeue", "app:billing", "evt_r", "--yes"]).await;
    assert_eq!(requeued.trim(), "requeued app:billing/evt_r (was dead)");
    let fixed = settled(&server, "app:billing", "evt_r", 1).await;
    assert_eq!(fixed["state"], "succeeded", "{fixed}");
    // Nothing is dead: the event's requeue is refused unless succeeded routes are asked for.
    let refused = events(
        &server,
        Some(TEST_ADMIN_TOKEN),
        &["requeue", "app", "evt_r", "--yes"],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("include"),
        "{}",
        text(&refused.stderr)
    );
    let all = ok(
        &server,
        &["requeue", "app", "evt_r", "--include-succeeded", "--yes"],
    )
    .await;
    assert_eq!(
        all,
        "requeued app:billing/evt_r (was succeeded)\nrequeued app:audit/evt_r (was succeeded)\n"
    );
    eventually("both routes to run again", LIMIT, || async {
        let s = status(&server, "app", "evt_r").await;
        let requeues: Vec<_> = (s["routes"].as_array().into_iter().flatten())
            .map(|r| r["requeueCount"].as_u64().unwrap_or(0))
            .collect();
        (s["state"] == "succeeded" && requeues == [2, 1, 0]).then_some(())
    })
    .await;
    server.stop().await;
}

/// `hookbox health` (the container's health check) says ready from a serving hookbox, and
/// fails with the reason where nothing answers.
#[tokio::test]
async fn health_asks_readyz() {
    let server = TestServer::start(&config_with_failing()).await;
    let ready = Command::new(BIN)
        .args(["health", "--server", &server.url("")])
        .output()
        .await
        .expect("run hookbox health");
    assert_eq!(ready.status.code(), Some(0), "{}", text(&ready.stderr));
    assert_eq!(text(&ready.stdout).trim(), "ready");
    let url = server.url("");
    server.stop().await;
    let gone = Command::new(BIN)
        .args(["health", "--server", &url, "--timeout", "2"])
        .output()
        .await
        .expect("run hookbox health");
    assert_eq!(gone.status.code(), Some(1), "{}", text(&gone.stdout));
    assert!(!text(&gone.stderr).is_empty());
}

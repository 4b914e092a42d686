//! Holds that explain themselves, over real HTTP and the real `hookbox events` binary: an event
//! behind an open circuit says which destination and when the next probe goes (and
//! `/admin/destinations` counts the failures while open); an event behind a dead ordering head
//! names the head; `events show`, `events ordering` and `events destinations` print the same.

use std::process::Output;

use serde_json::Value;
use tokio::process::Command;

use crate::ordering::{body, ordered_config, TOKEN};
use crate::support::flow::{deliver, routed_config, settled, status, LIMIT};
use crate::support::target::{eventually, unix_ms, Answer, Target};
use crate::support::{get, get_as, TestServer, TEST_ADMIN_TOKEN};

const BIN: &str = env!("CARGO_BIN_EXE_hookbox");

/// Runs `hookbox events --server <server> <args>` with `token`; expects success, returns stdout.
async fn events(server: &TestServer, token: &str, args: &[&str]) -> String {
    let out: Output = Command::new(BIN)
        .arg("events")
        .args(["--server", &server.url("")])
        .args(args)
        .env("HOOKBOX_ADMIN_TOKEN", token)
        .output()
        .await
        .expect("run hookbox events");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The route `name` of a routed status.
fn route<'a>(status: &'a Value, name: &str) -> &'a Value {
    let routes = status["routes"].as_array().expect("routes");
    routes
        .iter()
        .find(|r| r["route"] == name)
        .unwrap_or_else(|| panic!("no route {name}: {status}"))
}

#[tokio::test]
async fn an_event_behind_an_open_circuit_names_the_destination_and_the_next_probe() {
    let target = Target::start().await;
    target.answer_by_default(Answer::status(503));
    // Two failures open the circuit for a minute: long enough that nothing probes meanwhile.
    let config = routed_config(&target).replace(
        "jitter = 0.0\n",
        "jitter = 0.0\nmax_attempts = 50\ncircuit_failures = 2\ncircuit_cooldown = \"60s\"\n",
    );
    let server = TestServer::start(&config).await;
    let invoice = r#"{"type":"invoice.paid"}"#;
    deliver(&server, "e1", invoice, &[]).await;
    let dest = format!("http://{}", target.addr);

    let url = server.url("/admin/destinations");
    let d = eventually("the circuit to open", LIMIT, || async {
        let list = get(&url).await.json();
        let d = list["destinations"][0].clone();
        (d["state"] == "open").then_some(d)
    })
    .await;
    let now = unix_ms();
    assert_eq!(d["destination"], dest.as_str(), "{d}");
    assert!(d["consecutiveFailures"].as_u64() >= Some(2), "{d}");
    let probe = d["nextProbeAt"].as_u64().expect("nextProbeAt while open");
    assert!(probe > now + 30_000, "the probe is a minute away: {d}");
    assert_eq!(d["openUntil"].as_u64(), Some(probe), "{d}");
    assert_eq!(d["lastError"], "HTTP 503", "{d}");
    assert!(
        d["lastFailureAt"].as_u64().is_some_and(|at| at <= now),
        "{d}"
    );

    // Accepted after it opened: due at once, and held back.
    deliver(&server, "e2", invoice, &[]).await;
    let text = format!(
        "waiting: circuit open for {dest}, next probe at {} UTC",
        utc_seconds(probe)
    );
    for id in ["e1", "e2"] {
        let s = status(&server, id).await;
        let billing = route(&s, "billing");
        assert_eq!(billing["state"], "queued", "{s}");
        assert!(billing["nextAttemptAt"].as_u64() <= Some(unix_ms()), "{s}");
        let hold = &billing["hold"];
        assert_eq!(hold["reason"], "circuit", "{s}");
        assert_eq!(hold["destination"], dest.as_str(), "{s}");
        assert_eq!(hold["nextProbeAt"].as_u64(), Some(probe), "{s}");
        assert_eq!(hold["text"], text.as_str(), "{s}");
        // The route that only logs is not held.
        assert!(route(&s, "audit").get("hold").is_none(), "{s}");
    }
    let one = get(&server.url("/events/app:billing/e2")).await.json();
    assert_eq!(one["hold"]["reason"], "circuit", "{one}");
    let admin = get(&server.url("/admin/events/app/e2")).await.json();
    assert_eq!(route(&admin, "billing")["hold"]["text"], text.as_str());

    let shown = events(&server, TEST_ADMIN_TOKEN, &["show", "app:billing", "e2"]).await;
    assert!(shown.contains(&format!("held:         {text}")), "{shown}");
    assert!(
        !shown.contains("next attempt:"),
        "the hold says it instead: {shown}"
    );
    let routed = events(&server, TEST_ADMIN_TOKEN, &["show", "app", "e2"]).await;
    assert!(routed.contains(&format!("held: {text}")), "{routed}");
    let listed = events(&server, TEST_ADMIN_TOKEN, &["destinations"]).await;
    let line = listed
        .lines()
        .find(|l| l.starts_with(&dest))
        .unwrap_or_else(|| panic!("{dest} missing: {listed}"));
    let failures = d["consecutiveFailures"].to_string();
    for part in [
        "open",
        &failures,
        &format!("{}Z", utc_seconds(probe)),
        "HTTP 503",
    ] {
        assert!(line.contains(part), "{part:?} missing: {listed}");
    }
    server.stop().await;
}

#[tokio::test]
async fn an_event_behind_a_dead_ordering_head_names_the_head() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(ordered_config(&target, "block", dir.path())).await;
    target.script([Answer::status(400)]);
    deliver(&server, "h1", &body("cus_1", 1), &[]).await;
    deliver(&server, "h2", &body("cus_1", 2), &[]).await;
    assert_eq!(settled(&server, "h1").await["state"], "dead");

    let text = "waiting behind h1 (dead), the head of ordering key cus_1";
    let h2 = status(&server, "h2").await;
    let hold = &h2["hold"];
    assert_eq!(
        (hold["reason"].as_str(), hold["key"].as_str()),
        (Some("ordering"), Some("cus_1")),
        "{h2}"
    );
    assert_eq!(hold["head"]["eventId"], "h1", "{h2}");
    assert_eq!(hold["head"]["state"], "dead", "{h2}");
    assert_eq!(hold["head"]["location"], "/events/app/h1", "{h2}");
    assert_eq!(hold["text"], text, "{h2}");
    assert_eq!(h2["waitingFor"]["eventId"], "h1", "kept: {h2}");
    let admin = get_as(&server.url("/admin/events/app/h2"), Some(TOKEN)).await;
    assert_eq!(admin.json()["hold"]["text"], text);
    assert!(status(&server, "h1").await.get("hold").is_none());

    let shown = events(&server, TOKEN, &["show", "app", "h2"]).await;
    assert!(shown.contains(&format!("held:         {text}")), "{shown}");
    assert!(shown.contains("head:         app/h1"), "{shown}");
    for args in [&["ordering"][..], &["ordering", "app"]] {
        let listed = events(&server, TOKEN, args).await;
        let line = listed
            .lines()
            .find(|l| l.contains("cus_1"))
            .unwrap_or_else(|| panic!("cus_1 missing: {listed}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cells[..6],
            ["app", "cus_1", "yes", "app/h1", "dead", "1"],
            "{listed}"
        );
        assert!(line.ends_with("HTTP 400"), "{listed}");
    }
    server.stop().await;
}

/// Unix ms as `2026-12-08 01:02:03` (UTC), worked out apart from the server's code.
fn utc_seconds(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    let rfc = humantime::format_rfc3339_seconds(at).to_string(); // 2026-12-08T01:02:03Z
    format!("{} {}", &rfc[..10], &rfc[11..19])
}

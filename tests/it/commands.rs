//! The `command` handler over real HTTP: `/bin/sh -c <script>` is the program under test, so
//! these run on Unix only. Retry schedules are milliseconds; every wait is a bounded poll.
#![cfg(unix)]

use crate::support;
use crate::support::flow;
use crate::support::pids;

use flow::{attempts, command, config, deliver, outcomes, settled, FAST, LIMIT};
use pids::{pid_in, until_ended};
use serde_json::Value;
use support::process::Hookbox;
use support::target::eventually;
use support::TestServer;

#[tokio::test]
async fn a_command_gets_the_body_on_stdin_and_the_event_in_its_environment() {
    let script = r#"body=$(cat)
[ "$body" = '{"type":"invoice.paid","n":1}' ] && [ "$HOOKBOX_EVENT_ID" = evt_c1 ] &&
[ "$HOOKBOX_SOURCE" = app ] && [ "$HOOKBOX_ATTEMPT" = 1 ] &&
[ "$HOOKBOX_EVENT_TYPE" = invoice.paid ] && [ "$HOOKBOX_IDEMPOTENCY_KEY" = app:evt_c1 ] && exit 0
echo "unexpected: id=$HOOKBOX_EVENT_ID source=$HOOKBOX_SOURCE attempt=$HOOKBOX_ATTEMPT body=$body" >&2
exit 9"#;
    let server =
        TestServer::start(&config(FAST, &command(script, "permanent_exit_code = 9"))).await;
    deliver(&server, "evt_c1", r#"{"type":"invoice.paid","n":1}"#, &[]).await;
    let s = settled(&server, "evt_c1").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    assert_eq!(attempts(&s)[0]["exitCode"], 0);
    server.stop().await;
}

#[tokio::test]
async fn a_failing_command_is_retried_and_its_stderr_kept() {
    let script = "cat >/dev/null; echo \"boom on attempt $HOOKBOX_ATTEMPT\" >&2; exit 1";
    let worker = format!("{FAST}\nmax_attempts = 2");
    let server = TestServer::start(&config(
        &worker,
        &command(script, "permanent_exit_code = 3"),
    ))
    .await;
    deliver(&server, "evt_c2", "{}", &[]).await;
    let s = settled(&server, "evt_c2").await;
    assert_eq!(s["state"], "dead", "{s}");
    assert_eq!(outcomes(&s), ["transient", "transient"]);
    assert_eq!(attempts(&s)[1]["exitCode"], 1);
    assert_eq!(attempts(&s)[1]["error"], "exit code 1: boom on attempt 2");
    assert_eq!(
        s["lastError"],
        "gave up after 2 attempts: exit code 1: boom on attempt 2"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_permanent_exit_code_makes_the_event_dead_at_once() {
    let script = "cat >/dev/null; echo 'unknown customer' >&2; exit 3";
    let server =
        TestServer::start(&config(FAST, &command(script, "permanent_exit_code = 3"))).await;
    deliver(&server, "evt_c3", "{}", &[]).await;
    let s = settled(&server, "evt_c3").await;
    assert_eq!(s["state"], "dead", "{s}");
    assert_eq!(s["attemptCount"], 1);
    assert_eq!(attempts(&s)[0]["exitCode"], 3);
    assert_eq!(
        s["lastError"],
        "permanent failure: exit code 3 (permanent): unknown customer"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_command_that_runs_too_long_is_killed() {
    let script = "echo started >&2; exec sleep 30";
    let worker = format!("{FAST}\nmax_attempts = 1");
    let server = TestServer::start(&config(&worker, &command(script, "timeout = \"300ms\""))).await;
    deliver(&server, "evt_c4", "{}", &[]).await;
    let s = settled(&server, "evt_c4").await;
    assert_eq!(s["state"], "dead", "{s}");
    assert_eq!(outcomes(&s), ["transient"]);
    assert!(attempts(&s)[0]["exitCode"].is_null());
    assert_eq!(
        attempts(&s)[0]["error"],
        "timed out after 300ms; killed: started"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_timed_out_command_takes_its_children_with_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("bg");
    let script = format!(
        "sleep 30 & echo $! > '{}'; echo started >&2; exec sleep 30",
        pid_file.display()
    );
    let worker = format!("{FAST}\nmax_attempts = 1");
    let server =
        TestServer::start(&config(&worker, &command(&script, "timeout = \"300ms\""))).await;
    deliver(&server, "evt_c5", "{}", &[]).await;
    let s = settled(&server, "evt_c5").await;
    assert_eq!(s["state"], "dead", "{s}");
    until_ended(pid_in(&pid_file).await, "the background child to be killed").await;
    server.stop().await;
}

#[tokio::test]
async fn a_command_is_done_when_it_exits_even_if_its_child_holds_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("bg");
    let script = format!(
        "cat >/dev/null; sleep 30 & echo $! > '{}'; echo done >&2; exit 0",
        pid_file.display()
    );
    let worker = format!("{FAST}\nmax_attempts = 1");
    let server = TestServer::start(&config(&worker, &command(&script, "timeout = \"15s\""))).await;
    deliver(&server, "evt_c6", "{}", &[]).await;
    let s = settled(&server, "evt_c6").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    assert_eq!(attempts(&s)[0]["exitCode"], 0);
    assert_eq!(attempts(&s)[0]["error"], "done");
    until_ended(
        pid_in(&pid_file).await,
        "the left-behind child to be killed",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_command_sees_only_allowed_and_named_environment_variables() {
    // The real binary, so that the variables are set in its environment only (the test
    // process's environment is shared by every test).
    let env = [
        (
            "HOOKBOX_DATABASE_URL",
            "postgres://hookbox:hunter2@db/hookbox",
        ),
        ("HOOKBOX_IT_PASSED", "yes"),
        ("HOOKBOX_IT_UNNAMED", "leaked"),
    ];
    let script = r#"[ -z "${HOOKBOX_DATABASE_URL+set}" ] && [ -z "${HOOKBOX_IT_UNNAMED+set}" ] &&
[ "$HOOKBOX_IT_PASSED" = yes ] && [ "$MODE" = live ] && [ -n "$PATH" ] &&
[ "$HOOKBOX_EVENT_ID" = evt_c7 ] && exit 0
env | cut -d= -f1 | tr '\n' ' ' >&2
exit 9"#;
    let extra =
        "permanent_exit_code = 9\npass_env = [\"HOOKBOX_IT_PASSED\"]\nenv = { MODE = \"live\" }";
    let dir = tempfile::tempdir().expect("dir");
    let toml = config(FAST, &command(script, extra))
        .replace("[server]\n", "[server]\nlisten = \"127.0.0.1:0\"\n");
    // Always redb: the database URL given to the child here is one no database answers at.
    let data = toml::Value::String(dir.path().join("data").display().to_string());
    let text = toml.replace("[storage]\n", &format!("[storage]\ndata_dir = {data}\n"));
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).expect("write config");
    let parsed = hookbox::config::load(&path).expect("config");
    let hookbox = Hookbox::start_with_env(&path, &env).await;
    assert_eq!(hookbox.deliver(&parsed, "app", "evt_c7").await.status, 202);
    let url = hookbox.url("/events/app/evt_c7");
    let s = eventually("evt_c7 to settle", LIMIT, || async {
        let s: Value = support::get(&url).await.json();
        matches!(s["state"].as_str(), Some("succeeded" | "dead")).then_some(s)
    })
    .await;
    assert_eq!(s["state"], "succeeded", "{s}");
    hookbox.kill();
}

#[tokio::test]
async fn retry_after_counts_the_sources_concurrency_and_handler_time() {
    // One at a time, at least 300 ms each: a backlog of 20 is seconds of work, not one.
    let script = "cat >/dev/null; sleep 0.3";
    let toml = config(FAST, &command(script, "")).replace(
        "keep_headers = [\"x-trace\"]",
        "keep_headers = [\"x-trace\"]\nconcurrency = 1",
    );
    let server = TestServer::start(&toml).await;
    deliver(&server, "warm", "{}", &[]).await;
    settled(&server, "warm").await; // the source's handler time is known from here on
    let mut last = None;
    for i in 0..20 {
        last = Some(deliver(&server, &format!("b{i}"), "{}", &[]).await);
    }
    let retry_after: u64 = last
        .and_then(|r| r.header("retry-after").map(str::to_owned))
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(
        retry_after >= 3,
        "Retry-After {retry_after} for ~20 × 0.3 s one at a time"
    );
    server.stop().await;
}

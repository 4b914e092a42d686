//! The `command` handler over real HTTP: `/bin/sh -c <script>` is the program under test, so
//! these run on Unix only. Retry schedules are milliseconds; every wait is a bounded poll.
#![cfg(unix)]

#[path = "support/flow.rs"]
mod flow;
mod support;
#[path = "support/target.rs"]
mod target;

use flow::{attempts, command, config, deliver, outcomes, settled, FAST};
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
    assert_eq!(attempts(&s)[0]["exit_code"], 0);
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
    assert_eq!(attempts(&s)[1]["exit_code"], 1);
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
    assert_eq!(attempts(&s)[0]["exit_code"], 3);
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
    assert!(attempts(&s)[0]["exit_code"].is_null());
    assert_eq!(
        attempts(&s)[0]["error"],
        "timed out after 300ms; killed: started"
    );
    server.stop().await;
}

//! Life-cycle of processing across restarts and time: graceful shutdown, sources removed from
//! the config, and retention. Every wait is a bounded poll.

use crate::support;
use crate::support::flow;
use crate::support::pids;
use crate::support::target;

use flow::{config, config_with, deliver, forward, settled, status_when, FAST, LIMIT};
use hookbox::store::{Outcome, State, Store};
use support::{get, TestServer};
use target::{eventually, Answer, Target};

#[cfg(unix)]
#[tokio::test]
async fn shutdown_lets_running_handlers_finish_and_leaves_the_rest_queued() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, go) = (dir.path().join("data"), dir.path().join("go"));
    // The handler runs until the test creates `go`: it is surely running when shutdown starts.
    let script = format!(
        "cat >/dev/null; while [ ! -e '{}' ]; do sleep 0.01; done",
        go.display()
    );
    let worker = "concurrency = 1\nretry_schedule = [\"1ms\"]\njitter = 0.0";
    let toml = config(worker, &flow::command(&script, ""));
    let server = TestServer::start_in(&toml, &data).await;
    for id in ["e1", "e2", "e3"] {
        deliver(&server, id, "{}", &[]).await;
    }
    status_when(&server, "e1", "processing", |s| s["state"] == "processing").await;

    let storage = server.config.storage.clone();
    let stopping = begin_stop(server).await;
    std::fs::write(&go, b"").expect("release the handler");
    stopping.await.expect("stop");

    let store = Store::open(&storage).await.expect("reopen the store");
    let first = store
        .get("app", "e1")
        .await
        .expect("read")
        .expect("e1 kept");
    assert_eq!(
        (first.state, first.attempt_count),
        (State::Succeeded, 1),
        "{first:?}"
    );
    assert_eq!(
        first.attempts[0].outcome,
        Outcome::Success,
        "the running handler finished"
    );
    for id in ["e2", "e3"] {
        let r = store.get("app", id).await.expect("read").expect("kept");
        // Queued and untouched (the handler was released only after claiming had stopped).
        let untouched = r.state == State::Queued && r.attempt_count == 0;
        assert!(untouched || r.state == State::Succeeded, "{r:?}");
    }
    store.close().await.expect("close");
    drop(store);

    let server = TestServer::start_in(&toml, &data).await;
    for id in ["e1", "e2", "e3"] {
        assert_eq!(settled(&server, id).await["state"], "succeeded");
    }
    server.stop().await;
}

#[tokio::test]
async fn events_of_a_source_removed_from_the_config_end_dead_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = Target::start().await;
    target.answer_by_default(Answer::status(503));
    let worker = "retry_schedule = [\"1ms\"]\nmax_attempts = 1000000\njitter = 0.0";
    let toml = config(worker, &forward(&target, ""));
    let server = TestServer::start_in(&toml, dir.path()).await;
    deliver(&server, "evt_orphan", "{}", &[]).await;
    eventually("a first attempt", LIMIT, || async {
        (!target.requests_for("app:evt_orphan").is_empty()).then_some(())
    })
    .await;
    server.stop().await;

    // Same data, but the source is now called `other`: nothing can handle `app` events.
    let server =
        TestServer::start_in(&toml.replace("sources.app", "sources.other"), dir.path()).await;
    let s = settled(&server, "evt_orphan").await;
    assert_eq!(s["state"], "dead", "{s}");
    assert_eq!(
        s["lastError"],
        "permanent failure: source \"app\" is no longer configured"
    );
    server.stop().await;
}

#[tokio::test]
async fn retention_purges_bodies_then_forgets_ids() {
    let storage = "retention = \"100ms\"\ndedupe_window = \"300ms\"";
    let server = TestServer::start(&config_with(storage, FAST, "type = \"log\"")).await;
    deliver(&server, "evt_old", "{}", &[]).await;
    let s = settled(&server, "evt_old").await;
    assert_eq!(s["state"], "succeeded", "{s}");

    eventually("the body to be purged", LIMIT, || async {
        let reply = get(&server.url("/events/app/evt_old")).await;
        (reply.status.as_u16() == 404 || reply.json()["bodyPurged"] == true).then_some(())
    })
    .await;
    eventually("the id to be forgotten", LIMIT, || async {
        (get(&server.url("/events/app/evt_old"))
            .await
            .status
            .as_u16()
            == 404)
            .then_some(())
    })
    .await;
    // Past the dedupe window the same id is a new event again.
    let again = deliver(&server, "evt_old", "{}", &[]).await;
    assert_eq!(again.json()["status"], "accepted");
    server.stop().await;
}

/// [`config`] with `shutdown_timeout` and a body read timeout long enough that a slow upload
/// holds the HTTP drain for the whole shutdown.
fn with_shutdown_timeout(worker: &str, handler: &str, timeout: &str) -> String {
    config(worker, handler)
        .replace(
            "shutdown_timeout = \"10s\"",
            &format!("shutdown_timeout = \"{timeout}\""),
        )
        .replace("body_read_timeout = \"2s\"", "body_read_timeout = \"60s\"")
}

/// A request whose body never arrives in full: an in-flight request the HTTP drain waits for.
async fn slow_upload(server: &TestServer) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    stream
        .write_all(b"POST /webhooks/app HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .await
        .expect("write");
    stream
}

/// Cancels `server` in the background; returns once its listener is closed (shutdown started).
async fn begin_stop(server: TestServer) -> tokio::task::JoinHandle<()> {
    let addr = server.addr;
    let stopping = tokio::spawn(server.stop());
    eventually("the listener to close", LIMIT, || async {
        tokio::net::TcpStream::connect(addr)
            .await
            .is_err()
            .then_some(())
    })
    .await;
    stopping
}

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[cfg(unix)]
#[tokio::test]
async fn the_worker_stops_claiming_when_shutdown_starts_not_after_the_http_drain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("attempts");
    // Fails at once every time, with a 1 ms retry: a worker that still claims keeps adding lines.
    let script = format!("echo x >> '{}'; cat >/dev/null; exit 1", log.display());
    let worker =
        "concurrency = 1\nretry_schedule = [\"1ms\"]\nmax_attempts = 1000000\njitter = 0.0";
    let server = TestServer::start(&with_shutdown_timeout(
        worker,
        &flow::command(&script, ""),
        "3s",
    ))
    .await;
    deliver(&server, "e1", "{}", &[]).await;
    eventually("a few attempts", LIMIT, || async {
        (lines(&log) >= 3).then_some(())
    })
    .await;
    let _upload = slow_upload(&server).await;

    let stopping = begin_stop(server).await;
    let at_start = lines(&log);
    stopping.await.expect("stop");
    // One attempt may have been claimed just before the signal and written its line after.
    let after = lines(&log);
    assert!(
        after <= at_start + 1,
        "{} attempts started after shutdown began",
        after - at_start
    );
}

#[cfg(unix)]
#[tokio::test]
async fn one_shutdown_deadline_covers_requests_and_handlers_and_ends_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (started, done, child) = (
        dir.path().join("started"),
        dir.path().join("done"),
        dir.path().join("child"),
    );
    // Runs 1.5 × shutdown_timeout: it finishes only if the worker gets its own full timeout
    // after the HTTP drain took one.
    let script = format!(
        "cat >/dev/null; sleep 30 & echo $! > '{}'; touch '{}'; sleep 3; touch '{}'",
        child.display(),
        started.display(),
        done.display()
    );
    let worker = "concurrency = 1\nretry_schedule = [\"1ms\"]\njitter = 0.0";
    let handler = flow::command(&script, "timeout = \"60s\"");
    let server = TestServer::start(&with_shutdown_timeout(worker, &handler, "2s")).await;
    deliver(&server, "e1", "{}", &[]).await;
    eventually("the command to start", LIMIT, || async {
        started.exists().then_some(())
    })
    .await;
    let _upload = slow_upload(&server).await;

    server.stop().await;
    assert!(!done.exists(), "the command ran past the shutdown deadline");
    pids::until_ended(
        pids::pid_in(&child).await,
        "the command's child to be killed",
    )
    .await;
}

//! Life-cycle of processing across restarts and time: graceful shutdown, sources removed from
//! the config, and retention. Every wait is a bounded poll.

#[path = "support/flow.rs"]
mod flow;
mod support;
#[path = "support/target.rs"]
mod target;

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

    let (addr, storage) = (server.addr, server.config.storage.clone());
    let stopping = tokio::spawn(server.stop());
    eventually("the listener to close", LIMIT, || async {
        tokio::net::TcpStream::connect(addr)
            .await
            .is_err()
            .then_some(())
    })
    .await;
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

//! SIGHUP reloads the config of the real binary while it serves: a source added is served, a
//! rotated secret is the only one accepted, events accepted before the reload still finish, and
//! a file that does not load is refused while the running config stays.

use http::Method;

use crate::support::flow::{FORWARD_SECRET, INGEST_SECRET, LIMIT};
use crate::support::process::{kill_test_config, write_config, Hookbox};
use crate::support::target::eventually;
use crate::support::{get, send, TEST_ADMIN_TOKEN};

/// Data in `dir`; source `app` (Standard Webhooks, logged) with `secret`, plus `extra` TOML.
fn config_text(dir: &std::path::Path, secret: &str, extra: &str) -> String {
    let data = toml::Value::String(dir.join("data").display().to_string());
    format!(
        "{}[sources.app]\nscheme = \"standard\"\nsecrets = [\"{secret}\"]\n\n\
         [sources.app.handler]\ntype = \"log\"\n\n{extra}",
        kill_test_config(&format!("data_dir = {data}"))
    )
}

const OTHER: &str = "[sources.other]\nscheme = \"github\"\nsecrets = [\"other-secret-0123\"]\n";

/// The status of an unsigned POST to `/webhooks/<source>`: 404 while it is not configured.
async fn unsigned(hookbox: &Hookbox, source: &str) -> u16 {
    let url = hookbox.url(&format!("/webhooks/{source}"));
    send(Method::POST, &url, &[], b"{}").await.status.as_u16()
}

async fn state(hookbox: &Hookbox, id: &str) -> Option<String> {
    let reply = get(&hookbox.url(&format!("/events/app/{id}"))).await;
    reply.json()["state"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn sighup_adds_a_source_rotates_a_secret_and_keeps_events_in_flight() {
    let dir = tempfile::tempdir().expect("dir");
    let (path, before) = write_config(dir.path(), &config_text(dir.path(), INGEST_SECRET, ""));
    let hookbox = Hookbox::start(&path).await;
    assert_eq!(hookbox.deliver(&before, "app", "e1").await.status, 202);
    assert_eq!(unsigned(&hookbox, "other").await, 404);

    let (_, after) = write_config(dir.path(), &config_text(dir.path(), FORWARD_SECRET, OTHER));
    hookbox.hang_up();
    eventually("the new source to be served", LIMIT, || async {
        (unsigned(&hookbox, "other").await == 401).then_some(())
    })
    .await;
    assert_eq!(hookbox.deliver(&after, "app", "e2").await.status, 202);
    let old = hookbox.deliver(&before, "app", "e3").await;
    assert_eq!(old.status, 401, "the rotated-out secret: {:?}", old.body);
    for id in ["e1", "e2"] {
        eventually(&format!("{id} to be processed"), LIMIT, || async {
            (state(&hookbox, id).await.as_deref() == Some("succeeded")).then_some(())
        })
        .await;
    }

    // A file that does not load is refused; the running config stays, and the next good one
    // (signals are handled in order) still applies.
    std::fs::write(&path, "[sources.app\nbroken").expect("write");
    hookbox.hang_up();
    eventually("the broken file to be refused", LIMIT, || async {
        hookbox.logged("config reload refused").then_some(())
    })
    .await;
    assert_eq!(
        unsigned(&hookbox, "other").await,
        401,
        "the running config stays"
    );
    let third = "[sources.third]\nscheme = \"github\"\nsecrets = [\"third-secret-0123\"]\n";
    let (_, last) = write_config(
        dir.path(),
        &config_text(dir.path(), FORWARD_SECRET, &format!("{OTHER}{third}")),
    );
    hookbox.hang_up();
    eventually("the third source to be served", LIMIT, || async {
        (unsigned(&hookbox, "third").await == 401).then_some(())
    })
    .await;
    assert_eq!(hookbox.deliver(&last, "app", "e4").await.status, 202);
    assert_eq!(get(&hookbox.url("/readyz")).await.status, 200);
}

/// Source `app` forwarding to a port nothing listens on, whose circuit opens at the first
/// failure and stays open for an hour; plus `extra`.
fn failing_forward(dir: &std::path::Path, extra: &str) -> String {
    let admin = format!("[admin]\ntoken = \"{TEST_ADMIN_TOKEN}\"\n");
    config_text(dir, INGEST_SECRET, extra)
        .replace("[admin]\n", &admin)
        .replace(
            "jitter = 0.0\n",
            "jitter = 0.0\ncircuit_failures = 1\ncircuit_cooldown = \"1h\"\n",
        )
        .replace(
            "[sources.app.handler]\ntype = \"log\"\n",
            &format!(
                "[sources.app.handler]\ntype = \"forward\"\nurl = \"http://127.0.0.1:1/\"\n\
                 secret = \"{FORWARD_SECRET}\"\n"
            ),
        )
}

async fn circuit(hookbox: &Hookbox) -> serde_json::Value {
    let reply = get(&hookbox.url("/admin/destinations")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()["destinations"][0].clone()
}

#[tokio::test]
async fn a_reload_keeps_an_open_circuit_open() {
    let dir = tempfile::tempdir().expect("dir");
    let (path, config) = write_config(dir.path(), &failing_forward(dir.path(), ""));
    let hookbox = Hookbox::start(&path).await;
    assert_eq!(hookbox.deliver(&config, "app", "e1").await.status, 202);
    let open = eventually("the circuit to open", LIMIT, || async {
        let d = circuit(&hookbox).await;
        (d["state"] == "open").then_some(d)
    })
    .await;

    write_config(dir.path(), &failing_forward(dir.path(), OTHER));
    hookbox.hang_up();
    eventually("the new source to be served", LIMIT, || async {
        (unsigned(&hookbox, "other").await == 401).then_some(())
    })
    .await;
    let after = eventually("the new worker to publish", LIMIT, || async {
        hookbox
            .logged("config reloaded")
            .then_some(circuit(&hookbox).await)
    })
    .await;
    let metrics = get(&hookbox.url("/metrics")).await.body;
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.contains(
            "hookbox_webhook_requests_total{source=\"other\",outcome=\"accepted\",reason=\"\"} 0"
        ),
        "the new source has series of its own:\n{metrics}"
    );
    assert_eq!(after["state"], "open", "{after}");
    assert_eq!(after["nextProbeAt"], open["nextProbeAt"], "{after}");
    assert_eq!(after["lastError"], open["lastError"], "{after}");
}

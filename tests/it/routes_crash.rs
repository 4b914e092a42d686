//! A routed event survives SIGKILL with every route: events acknowledged while one route's
//! application holds its deliveries open are, after a restart on the same data dir, delivered by
//! every route that took them, and the route no filter matched stays `skipped`.
#![cfg(unix)]

use std::path::Path;
use std::time::Duration;

use crate::support::process::Hookbox;
use crate::support::target::{eventually, Answer, Target};
use crate::support::{backend, get};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);
const EVENTS: usize = 12;

fn config_text(target: &Target, data_dir: &Path) -> String {
    let text = crate::support::process::kill_test_config("")
        + &format!(
            r#"
[sources.crash]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

[[sources.crash.routes]]
name = "app"
concurrency = 2
handler = {{ type = "forward", url = "{}", secret = "whsec_dGVzdC1mb3J3YXJkLXNlY3JldC0xMjM0NTY=", timeout = "5s" }}

[[sources.crash.routes]]
name = "log"

[[sources.crash.routes]]
name = "never"
types = ["no.such.type"]
"#,
            target.url()
        );
    backend::with_storage(&text, data_dir)
}

fn route_states(status: &Value) -> Vec<String> {
    let routes = status["routes"].as_array().into_iter().flatten();
    routes
        .map(|r| r["state"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[tokio::test]
async fn a_kill_keeps_every_route_of_every_acknowledged_event() {
    let target = Target::start().await;
    target.answer_by_default(Answer::hang());
    let dir = tempfile::tempdir().expect("temp dir");
    let text = config_text(&target, &dir.path().join("data"));
    let (path, config) = crate::support::process::write_config(dir.path(), &text);

    let first = Hookbox::start(&path).await;
    let ids: Vec<String> = (0..EVENTS).map(|n| format!("evt_{n}")).collect();
    for id in &ids {
        let reply = first.deliver(&config, "crash", id).await;
        assert_eq!(reply.status.as_u16(), 202, "{:?}", reply.body);
    }
    // The app route's first deliveries are held open at the kill.
    eventually("deliveries to reach the app", LIMIT, || async {
        (target.inspect(|seen| seen.len()) >= 2).then_some(())
    })
    .await;
    first.kill();

    target.answer_by_default(Answer::status(200));
    target.release();
    let second = Hookbox::start(&path).await;
    for id in &ids {
        let url = second.url(&format!("/events/crash/{id}"));
        let status = eventually(&format!("{id} to succeed"), LIMIT, || async {
            let s = get(&url).await.json();
            (s["state"] == "succeeded").then_some(s)
        })
        .await;
        assert_eq!(
            route_states(&status),
            ["succeeded", "succeeded", "skipped"],
            "{status}"
        );
        let key = format!("crash:app:{id}");
        assert_eq!(
            target.successes_by_key().get(&key),
            Some(&1),
            "{key} delivered once"
        );
    }
    second.kill();
}

//! Alerts over real HTTP: a loopback notify target, checking the Standard Webhooks signature
//! as a receiving application would, gets one alert when events die (a burst of 1,000 too),
//! when a destination's circuit opens, when a source falls silent, and after a kill -9
//! between the death and the notification.

use std::time::Duration;

use hookbox::verify::{Scheme, Secret, Verifier};
use http::Method;
use serde_json::Value;

use crate::support::flow::{self, FORWARD_SECRET, INGEST_SECRET, LIMIT};
use crate::support::process::{kill_test_config, write_config, Hookbox};
use crate::support::target::{eventually, unix_ms, Answer, Seen, Target};
use crate::support::{get, get_as, send, TestServer, TEST_ADMIN_TOKEN};

/// The secret alerts are signed with: base64("alert-secret-for-the-tests").
const ALERT_SECRET: &str = "whsec_YWxlcnQtc2VjcmV0LWZvci10aGUtdGVzdHM=";

/// `[[alerts.notify]]` for `target` plus `rules`.
fn alerts(target: &Target, rules: &str) -> String {
    format!(
        "\n[[alerts.notify]]\nname = \"ops\"\nurl = \"{}\"\nsecret = \"{ALERT_SECRET}\"\n{rules}",
        target.url()
    )
}

/// A forward handler no one listens to: every attempt fails at once.
const NOWHERE: &str = "type = \"forward\"\nurl = \"http://127.0.0.1:1/\"\n\
                       secret = \"whsec_dGVzdC1mb3J3YXJkLXNlY3JldC0xMjM0NTY=\"";

/// The alert's JSON body, once its Standard Webhooks signature checks out with the secret.
fn verified(seen: &Seen) -> Value {
    let verifier = Verifier {
        scheme: Scheme::standard(),
        secrets: vec![Secret::new(ALERT_SECRET)],
        tolerance: Duration::from_secs(300),
    };
    let now = unix_ms() / 1000;
    verifier
        .verify(&seen.headers, &seen.body, now)
        .expect("the alert's signature verifies");
    let wrong = Verifier {
        secrets: vec![Secret::new(FORWARD_SECRET)],
        ..verifier
    };
    assert!(wrong.verify(&seen.headers, &seen.body, now).is_err());
    serde_json::from_slice(&seen.body).expect("a JSON alert")
}

/// The alerts `target` has received, verified, once there are at least `n`.
async fn received(target: &Target, n: usize) -> Vec<Value> {
    eventually(&format!("{n} alert(s)"), LIMIT, || async {
        let seen = target.inspect(|seen| seen.to_vec());
        (seen.len() >= n).then(|| seen.iter().map(verified).collect())
    })
    .await
}

/// Sleeps until at most `slack_ms` into a `window_ms` window, so what follows has the rest
/// of the window to happen in.
async fn window_begins(window_ms: u64, slack_ms: u64) {
    let into = unix_ms() % window_ms;
    if into > slack_ms {
        tokio::time::sleep(Duration::from_millis(window_ms - into + 50)).await;
    }
}

#[tokio::test]
async fn a_burst_of_deaths_makes_one_signed_alert_with_the_count_and_first_ids() {
    let notify = Target::start().await;
    // No circuit: it would hold the doomed events back instead of letting them die.
    let worker = "concurrency = 64\nmax_attempts = 1\nretry_schedule = [\"1ms\"]\njitter = 0.0\n\
                  circuit_failures = 1000000";
    let rules = "[[alerts.rules]]\nwhen = \"dead\"\nsource = \"app\"\nwindow = \"20s\"\nnotify = [\"ops\"]\n";
    let toml = format!(
        "{}{}",
        flow::config(worker, NOWHERE),
        alerts(&notify, rules)
    );
    let admin = format!("[admin]\ntoken = \"{TEST_ADMIN_TOKEN}\"\n");
    let server = TestServer::start(&toml.replace("[admin]\n", &admin)).await;
    // The burst (1,000 accepts and deaths) gets at least 17 s of one window, even on a busy
    // machine's PostgreSQL.
    window_begins(20_000, 3_000).await;
    let started = unix_ms();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let id = format!("evt_{i:04}");
        let headers = server.sign("app", b"{}", &id);
        let url = server.url("/webhooks/app");
        sends.spawn(async move { send(Method::POST, &url, &headers, b"{}").await.status });
    }
    while let Some(status) = sends.join_next().await {
        assert_eq!(status.expect("send").as_u16(), 202);
    }
    let alert = received(&notify, 1).await.remove(0);
    assert!(unix_ms() - started < 20_000 + LIMIT.as_millis() as u64);
    assert_eq!(alert["type"], "hookbox.alert", "{alert}");
    assert_eq!(alert["rule"], "dead", "{alert}");
    assert_eq!(alert["details"]["count"], 1000, "{alert}");
    assert_eq!(alert["details"]["by_stream"]["app"], 1000, "{alert}");
    let first = alert["details"]["first"].as_array().expect("first ids");
    assert_eq!(first.len(), 10, "{alert}");
    assert!(
        first[0]["id"].as_str().unwrap().starts_with("evt_"),
        "{alert}"
    );
    // One alert, not one per death: the alert source holds one event, delivered once.
    let url = server.url("/admin/events?source=hookbox.alerts");
    let listing = get_as(&url, Some(TEST_ADMIN_TOKEN)).await;
    assert_eq!(listing.status, 200, "{:?}", listing.body);
    let items = listing.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 1, "{items:?}");
    let location = format!(
        "/events/hookbox.alerts:ops/{}",
        alert["id"].as_str().unwrap()
    );
    // Its status resource, like any event's; succeeded once the worker recorded the answer.
    let location = server.url(&location);
    eventually("the alert to be recorded as delivered", LIMIT, || async {
        let status = get_as(&location, Some(TEST_ADMIN_TOKEN)).await.json();
        (status["state"] == "succeeded").then_some(())
    })
    .await;
    assert_eq!(notify.inspect(|seen| seen.len()), 1);
    server.stop().await;
}

#[tokio::test]
async fn an_opening_circuit_raises_an_alert_naming_the_destination() {
    let notify = Target::start().await;
    let app = Target::start().await;
    app.answer_by_default(Answer::status(503));
    let worker = "max_attempts = 10\nretry_schedule = [\"1ms\"]\njitter = 0.0\n\
                  circuit_failures = 2\ncircuit_cooldown = \"60s\"";
    let rules = "[[alerts.rules]]\nwhen = \"circuit_open\"\nwindow = \"1s\"\nnotify = [\"ops\"]\n";
    let toml = format!(
        "{}{}",
        flow::config(worker, &flow::forward(&app, "")),
        alerts(&notify, rules)
    );
    let server = TestServer::start(&toml).await;
    flow::deliver(&server, "e1", "{}", &[]).await;
    let alert = received(&notify, 1).await.remove(0);
    assert_eq!(alert["when"], "circuit_open", "{alert}");
    let dest = format!("http://{}", app.addr);
    assert_eq!(alert["details"]["destination"], dest, "{alert}");
    assert_eq!(alert["details"]["state"], "open", "{alert}");
    assert!(
        alert["text"].as_str().unwrap().contains("opened"),
        "{alert}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_silent_source_raises_an_alert_once_per_quiet_spell() {
    let notify = Target::start().await;
    let chat = Target::start().await;
    let rules = format!(
        "[[alerts.notify]]\nname = \"chat\"\nurl = \"{}\"\nformat = \"slack\"\n\
         [[alerts.rules]]\nwhen = \"silence\"\nsource = \"app\"\nthreshold = \"1s\"\n\
         notify = [\"ops\", \"chat\"]\n",
        chat.url()
    );
    let toml = format!(
        "{}{}",
        flow::config("", "type = \"log\""),
        alerts(&notify, &rules)
    );
    let server = TestServer::start(&toml).await;
    let first = received(&notify, 1).await.remove(0);
    assert_eq!(first["when"], "silence", "{first}");
    assert_eq!(first["details"]["source"], "app", "{first}");
    // The slack target gets the same alert as one line of text, unsigned.
    let slack = eventually("the slack alert", LIMIT, || async {
        chat.inspect(|seen| seen.first().cloned())
    })
    .await;
    assert_eq!(slack.header("webhook-signature"), None);
    let text: Value = serde_json::from_slice(&slack.body).expect("JSON");
    assert_eq!(text.as_object().map(|o| o.len()), Some(1), "{text}");
    assert!(
        text["text"]
            .as_str()
            .unwrap()
            .contains("source app has received nothing"),
        "{text}"
    );
    // Still quiet: no second alert for the same spell.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(notify.inspect(|seen| seen.len()), 1);
    // An event ends the spell; the next quiet second is a new one.
    flow::deliver(&server, "e1", "{}", &[]).await;
    let both = received(&notify, 2).await;
    assert_ne!(both[0]["id"], both[1]["id"]);
    assert!(
        both[1]["from"].as_u64() > both[0]["from"].as_u64(),
        "{both:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_alert_survives_a_kill_between_the_death_and_the_notification() {
    let notify = Target::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let storage = format!("data_dir = {:?}", dir.path().join("data"));
    let rules = "[[alerts.rules]]\nwhen = \"dead\"\nwindow = \"6s\"\nnotify = [\"ops\"]\n";
    let toml = format!(
        "{}[sources.app]\nscheme = \"standard\"\nsecrets = [\"{INGEST_SECRET}\"]\n\
         handler = {{ type = \"forward\", url = \"http://127.0.0.1:1/\", secret = \"{FORWARD_SECRET}\" }}\n{}",
        kill_test_config(&storage).replace("max_attempts = 5", "max_attempts = 1"),
        alerts(&notify, rules)
    );
    let (path, config) = write_config(dir.path(), &toml);
    window_begins(6_000, 0).await;
    let first = Hookbox::start(&path).await;
    assert_eq!(
        first.deliver(&config, "app", "evt_doomed").await.status,
        202
    );
    let status = first.url("/events/app/evt_doomed");
    eventually("evt_doomed to die", LIMIT, || async {
        (get(&status).await.json()["state"] == "dead").then_some(())
    })
    .await;
    first.kill();
    assert_eq!(
        notify.inspect(|seen| seen.len()),
        0,
        "the window has not ended yet"
    );

    let second = Hookbox::start(&path).await;
    let alert = received(&notify, 1).await.remove(0);
    assert_eq!(alert["details"]["count"], 1, "{alert}");
    assert_eq!(alert["details"]["first"][0]["id"], "evt_doomed", "{alert}");
    second.kill();
}

#[tokio::test]
async fn an_aging_queue_raises_an_alert_with_its_age() {
    let notify = Target::start().await;
    let rules =
        "[[alerts.rules]]\nwhen = \"queue_age\"\nthreshold = \"1s\"\nwindow = \"1h\"\nnotify = [\"ops\"]\n";
    // One event at a time, each taking 3 s: the second waits, due, behind the first.
    let app = flow::config("", &flow::command("sleep 3", "")).replace(
        "keep_headers = [\"x-trace\"]\n",
        "keep_headers = [\"x-trace\"]\nconcurrency = 1\n",
    );
    let server = TestServer::start(&format!("{app}{}", alerts(&notify, rules))).await;
    flow::deliver(&server, "first", "{}", &[]).await;
    flow::deliver(&server, "second", "{}", &[]).await;
    let alert = received(&notify, 1).await.remove(0);
    assert_eq!(alert["when"], "queue_age", "{alert}");
    assert!(
        alert["details"]["age_ms"].as_u64().unwrap() >= 1000,
        "{alert}"
    );
    flow::settled(&server, "second").await;
    // One alert per window, however long the queue stayed old.
    assert_eq!(notify.inspect(|seen| seen.len()), 1);
    server.stop().await;
}

/// The start-up pass: a death whose alert was never accepted (here, because no rule watched yet;
/// in a crash, because the process died in the moment between the two) is alerted after a
/// restart, in its own window.
#[tokio::test]
async fn a_start_finds_recent_deaths_whose_alert_was_never_raised() {
    let notify = Target::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let worker = "max_attempts = 1\nretry_schedule = [\"1ms\"]\njitter = 0.0";
    let quiet = flow::config(worker, NOWHERE);
    window_begins(6_000, 1_000).await;
    let first = TestServer::start_in(&quiet, dir.path()).await;
    flow::deliver(&first, "evt_unwatched", "{}", &[]).await;
    assert_eq!(
        flow::settled(&first, "evt_unwatched").await["state"],
        "dead"
    );
    first.stop().await;

    let rules = "[[alerts.rules]]\nwhen = \"dead\"\nwindow = \"6s\"\nnotify = [\"ops\"]\n";
    let watched = format!("{quiet}{}", alerts(&notify, rules));
    let second = TestServer::start_in(&watched, dir.path()).await;
    let alert = received(&notify, 1).await.remove(0);
    assert_eq!(alert["details"]["count"], 1, "{alert}");
    assert_eq!(
        alert["details"]["first"][0]["id"], "evt_unwatched",
        "{alert}"
    );
    second.stop().await;
}

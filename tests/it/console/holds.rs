//! Holds that explain themselves in the console: an event waiting behind the dead head of its
//! ordering key says so in its view and links the head, and the destinations view shows a
//! destination whose circuit is open, with its failures and next probe.

use hookbox::config::StorageBackend;
use hookbox::verify::Secret;
use serde_json::json;

use super::browser::Browser;
use super::steps::*;
use crate::support::flow::{config as app_config, deliver, forward, FAST};
use crate::support::target::{Answer, Target};
use crate::support::{backend, config_in, TestServer, TEST_ADMIN_TOKEN};

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn a_held_event_says_what_it_waits_for_and_links_the_head() {
    let b = Browser::start(1280, 800).await;
    let target = Target::start().await;
    target.answer_by_default(Answer::status(500));
    let dir = tempfile::tempdir().expect("dir");
    let text = app_config(FAST, &forward(&target, "")).replace(
        "keep_headers = [\"x-trace\"]",
        "keep_headers = [\"x-trace\"]\nordering_key = \"/customer\"\non_dead = \"block\"",
    );
    let mut config = config_in(&text, dir.path());
    // sled refuses ordering keys: redb unless the suite runs on PostgreSQL.
    if backend::postgres_under_test().is_none() {
        config.storage.backend = StorageBackend::Redb;
    }
    config.admin.token = Some(Secret::new(TEST_ADMIN_TOKEN));
    let server = TestServer::start_with(config).await;
    let (head, held) = (STRIPE_IDS[0], STRIPE_IDS[1]);
    deliver(&server, head, r#"{"customer":"cus_Q1","n":1}"#, &[]).await;
    settled(&server, "app", head, "dead").await;
    deliver(&server, held, r#"{"customer":"cus_Q1","n":2}"#, &[]).await;

    b.client
        .goto(&server.url(&format!("/console#/event/app/{held}")))
        .await
        .expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    b.until(
        "the hold",
        "const h = document.querySelector('.facts .hold-text'); return !!h && h.innerText.length > 0;",
    )
    .await;
    let shown = b
        .js(
            "return [document.querySelector('.facts .hold-text').innerText, \
             document.querySelector('.facts .hold-head').getAttribute('href')];",
            vec![],
        )
        .await;
    let text = shown[0].as_str().unwrap_or_default();
    assert!(
        text.contains(head) && text.contains("dead") && text.contains("cus_Q1"),
        "{shown}"
    );
    assert_eq!(shown[1], json!(format!("#/event/app/{head}")));
    if let Some(dir) = screenshots() {
        b.screenshot(&dir.join("console-held.png")).await;
    }
    // The link opens the head, whose requeue is what the held event waits for.
    click(&b, ".facts .hold-head").await;
    b.until(
        "the head's view",
        &format!("return document.querySelector('#view h1').innerText.includes('{head}');"),
    )
    .await;
    b.close().await;
    server.stop().await;
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn the_destinations_view_shows_an_open_circuit() {
    let b = Browser::start(1280, 800).await;
    let target = Target::start().await;
    target.answer_by_default(Answer::status(503).body("upstream unavailable"));
    let worker = "concurrency = 4\nretry_schedule = [\"1ms\"]\njitter = 0.0\nmax_attempts = 10\n\
                  circuit_failures = 3\ncircuit_cooldown = \"60s\"";
    let text = app_config(worker, &forward(&target, "")).replace(
        "[admin]\n",
        &format!("[admin]\ntoken = \"{TEST_ADMIN_TOKEN}\"\n"),
    );
    let server = TestServer::start(&text).await;
    deliver(&server, STRIPE_IDS[0], "{}", &[]).await;

    b.client
        .goto(&server.url("/console#/destinations"))
        .await
        .expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    b.until(
        "the open circuit",
        "const r = document.querySelector('#destinations-body tr'); \
         return !!r && r.querySelector('.badge').innerText === 'open';",
    )
    .await;
    let row = b
        .js(
            "const r = document.querySelector('#destinations-body tr'); \
             return [r.dataset.destination, r.querySelector('.failures').innerText, \
                     r.querySelector('.probe').firstChild.textContent, r.querySelector('.load').innerText];",
            vec![],
        )
        .await;
    let name = row[0].as_str().unwrap_or_default();
    assert!(name.contains(&target.addr.to_string()), "{row}");
    assert!(
        row[2].as_str().unwrap_or_default().ends_with(" UTC"),
        "{row}"
    );
    assert!(
        row[3].as_str().unwrap_or_default().starts_with("0 / "),
        "{row}"
    );
    if let Some(dir) = screenshots() {
        b.screenshot(&dir.join("console-destinations.png")).await;
    }
    assert_eq!(row[1], json!("3"), "failures in a row while open: {row}");
    b.close().await;
    server.stop().await;
}

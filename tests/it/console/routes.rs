//! A source with routes in the console: a row per route's delivery in the list (`app › billing`),
//! the `skipped` state as a filter, a badge and a count, and the event's routes with their
//! states, where one dead route is requeued alone.

use serde_json::{json, Value};

use super::browser::Browser;
use super::steps::*;
use crate::support::flow::routed_config;
use crate::support::target::{Answer, Target};
use crate::support::{get, TestServer, TEST_ADMIN_TOKEN};

/// Each route row of the event view: `[route, state badge, attempts, requeue offered]`.
const ROUTE_ROWS: &str = "return [...document.querySelectorAll('#routes tbody tr')].map(r => \
    [r.dataset.route, r.querySelector('.badge').innerText, r.cells[2].innerText, \
     !!r.querySelector('.requeue-route')]);";

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn the_console_shows_each_route_of_an_event_and_requeues_one_route() {
    let b = Browser::start(1280, 800).await;
    let billing = Target::start().await;
    billing.answer_by_default(Answer::status(500));
    let server = TestServer::start(&routed_config(&billing)).await;
    let reply = server
        .deliver("app", r#"{"type":"invoice.paid","n":1}"#, "evt_r")
        .await;
    assert_eq!(reply.status, 202);
    settled(&server, "app:billing", "evt_r", "dead").await;
    settled(&server, "app:audit", "evt_r", "succeeded").await;

    // A row per route, named by source and route; skipped counted and styled like discarded.
    b.client.goto(&server.url("/console")).await.expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    let rows = rows_until(&b, "a row per route", |r| r.len() == 3).await;
    for (route, state) in [
        ("app › billing", "dead"),
        ("app › audit", "succeeded"),
        ("app › refunds", "skipped"),
    ] {
        let found = rows.iter().any(|r| r.contains(route) && r.contains(state));
        assert!(found, "{route} {state}: {rows:?}");
    }
    b.until(
        "the skipped count",
        "return document.querySelector('.counts').innerText.includes('1 skipped');",
    )
    .await;
    let colours = b
        .js(
            "const c = (css) => getComputedStyle(document.querySelector(css)).color; \
             return [c('#events-body .badge.state-skipped'), c('.count.state-discarded')];",
            vec![],
        )
        .await;
    assert_eq!(colours[0], colours[1], "skipped is neutral: {colours}");

    // Filter by the skipped state through the form.
    let state = b.find("#f-state").await;
    state.select_by_value("skipped").await.expect("state");
    click(&b, ".filters button[type=submit]").await;
    rows_until(&b, "the skipped route only", |r| {
        r.len() == 1 && r[0].contains("app › refunds")
    })
    .await;

    // The event: its overall state and each route's.
    b.client
        .goto(&server.url("/console#/event/app/evt_r"))
        .await
        .expect("open the event");
    b.until(
        "the routes",
        "return document.querySelectorAll('#routes tbody tr').length === 3;",
    )
    .await;
    if let Some(dir) = screenshots() {
        b.screenshot(&dir.join("console-routes.png")).await;
    }
    let shown = b.js(ROUTE_ROWS, vec![]).await;
    let billing_attempts = &shown[0][2];
    assert_eq!(
        shown,
        json!([
            ["billing", "dead", billing_attempts, true],
            ["audit", "succeeded", "1", true],
            ["refunds", "skipped", "0", false],
        ]),
    );
    assert_ne!(billing_attempts, &json!("0"));
    let overall = b
        .js(
            "return document.querySelector('.facts .badge').innerText;",
            vec![],
        )
        .await;
    assert_eq!(overall, json!("dead"));

    // Requeue the dead route alone once its application is fixed.
    billing.answer_by_default(Answer::status(200));
    click_and_confirm(&b, "#routes tr[data-route=billing] .requeue-route").await;
    b.until(
        "the requeued route to succeed",
        "const row = document.querySelector('#routes tr[data-route=billing]'); \
         return row.querySelector('.badge').innerText === 'succeeded' && \
         document.querySelector('.facts .badge').innerText === 'succeeded';",
    )
    .await;
    let requeue_url = urls_seen(&b).await;
    assert!(
        requeue_url
            .iter()
            .any(|u| u.ends_with("/admin/events/app:billing/evt_r/requeue")),
        "{requeue_url:?}"
    );
    for (route, requeues) in [("billing", 1), ("audit", 0)] {
        let url = server.url(&format!("/events/app:{route}/evt_r"));
        let status: Value = get(&url).await.json();
        assert_eq!(status["requeueCount"], json!(requeues), "{route}: {status}");
    }
    assert_eq!(
        billing
            .inspect(|seen| seen.last().map(|s| s.key().to_owned()))
            .as_deref(),
        Some("app:billing:evt_r")
    );
    b.close().await;
    server.stop().await;
}

//! A source with routes in the console: a row per route's delivery in the list (`app › billing`),
//! the `skipped` state as a filter, a badge and a count, and the event's routes with their
//! states, where one dead route is requeued alone.

use serde_json::{json, Value};

use super::browser::{Browser, LIMIT};
use super::steps::*;
use crate::support::flow::{routed_config, routed_config_with, FORWARD_SECRET};
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

    // The overview counts the skipped delivery too.
    click(&b, "#nav-overview").await;
    b.until(
        "the skipped delivery in the overview",
        "const h = document.getElementById('src-app:refunds'); \
         return !!h && h.closest('article').innerText.includes('1 skipped');",
    )
    .await;
    b.close().await;
    server.stop().await;
}

/// The text of the open confirmation dialog.
async fn dialog_text(b: &Browser) -> String {
    b.until(
        "the confirmation dialog",
        "return document.getElementById('confirm').open && \
         document.getElementById('confirm-text').innerText.length > 0;",
    )
    .await;
    let text = b
        .js(
            "return document.getElementById('confirm').innerText;",
            vec![],
        )
        .await;
    text.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn a_routed_event_requeues_its_dead_routes_and_delivers_again_only_when_asked() {
    let b = Browser::start(1280, 800).await;
    let billing = Target::start().await;
    billing.answer_by_default(Answer::status(500));
    let audit = Target::start().await;
    let handler = format!(
        "handler = {{ type = \"forward\", url = \"{}\", secret = \"{FORWARD_SECRET}\" }}",
        audit.url()
    );
    let server = TestServer::start(&routed_config_with(&billing, "", &handler)).await;
    let id = "evt_1QbXC32eZvKYlo2CpR7uYx1M";
    let reply = server
        .deliver("app", r#"{"type":"invoice.paid","n":1}"#, id)
        .await;
    assert_eq!(reply.status, 202);
    settled(&server, "app:billing", id, "dead").await;
    settled(&server, "app:audit", id, "succeeded").await;
    let audit_seen = || audit.inspect(|seen| seen.len());
    assert_eq!(audit_seen(), 1);

    // The main action takes the dead route only, and its confirmation says so.
    billing.answer_by_default(Answer::status(200));
    b.client
        .goto(&server.url(&format!("/console#/event/app/{id}")))
        .await
        .expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    let main = b.find("#requeue").await;
    assert_eq!(main.text().await.expect("text"), "Requeue dead routes");
    main.click().await.expect("requeue");
    let asked = dialog_text(&b).await;
    assert!(
        asked.contains("billing (dead)") && !asked.contains("audit"),
        "{asked}"
    );
    click(&b, "#confirm-ok").await;
    settled(&server, "app:billing", id, "succeeded").await;
    let status: Value = get(&server.url(&format!("/events/app:audit/{id}")))
        .await
        .json();
    assert_eq!(
        status["requeueCount"],
        json!(0),
        "the succeeded route is left alone"
    );
    assert_eq!(audit_seen(), 1, "its application received nothing new");

    // Delivering again is the secondary action; its confirmation names each route.
    click(&b, "#deliver-again").await;
    let asked = dialog_text(&b).await;
    assert!(
        asked.contains("audit (succeeded): will be delivered again"),
        "{asked}"
    );
    assert!(
        asked.contains("billing (succeeded): will be delivered again"),
        "{asked}"
    );
    assert!(
        !asked.contains("refunds"),
        "a skipped route is not delivered: {asked}"
    );
    click(&b, "#confirm-ok").await;
    crate::support::target::eventually("audit to get the event again", LIMIT, || async {
        (audit_seen() == 2).then_some(())
    })
    .await;
    b.until(
        "what was acted on",
        "return document.getElementById('event-message').innerText.includes('Acted on');",
    )
    .await;
    b.close().await;
    server.stop().await;
}

//! The web console in a real headless Chromium against the real server: sign-in (a wrong token
//! stays on the form), the events list with filters and live arrivals, one event's payload and
//! attempts, requeue and discard, the overview, sign-out and a 401 returning to sign-in — and
//! the token never in a URL, a cookie or local storage. Plus the console's headers and its
//! disabled page over plain HTTP (`http`), the list at phone width and its bulk requeue
//! (`list`), and a source with routes (`routes`). Every wait polls a condition with a bound.
//!
//! `HOOKBOX_CONSOLE_SCREENSHOTS=<dir>` saves the screenshots shown in the README there.

mod audit;
mod batch;
mod browser;
mod holds;
mod http;
mod layout;
mod list;
mod routes;
mod steps;
mod truth;

use fantoccini::Locator;
use serde_json::json;

use self::browser::{Browser, LIMIT};
use self::steps::*;
use crate::support::target::eventually;
use crate::support::{TestServer, TEST_ADMIN_TOKEN};

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn the_console_signs_in_lists_filters_requeues_discards_and_signs_out() {
    let b = Browser::start(1280, 800).await;
    let dir = tempfile::tempdir().expect("dir");
    let fixed = dir.path().join("fixed");
    let server = TestServer::start(&config(&fixed)).await;
    stripe(&server, "evt_paid", "invoice.paid").await;
    stripe(&server, "evt_refund", "charge.refunded").await;
    for id in ["f1", "f2"] {
        let body = format!(r#"{{"order":"{id}","n":1}}"#);
        assert_eq!(server.deliver("flaky", &body, id).await.status, 202);
    }
    for (source, id, want) in [
        ("stripe", "evt_paid", "succeeded"),
        ("stripe", "evt_refund", "succeeded"),
        ("flaky", "f1", "dead"),
        ("flaky", "f2", "dead"),
    ] {
        settled(&server, source, id, want).await;
    }
    let mut seen = Vec::new();

    // A wrong token stays on the sign-in form and is not kept.
    b.client.goto(&server.url("/console")).await.expect("open");
    sign_in(&b, "wrong-token-0123456789").await;
    b.until(
        "the refusal",
        "return document.getElementById('signin-error').innerText.includes('refused');",
    )
    .await;
    let kept = b.js("return sessionStorage.length;", vec![]).await;
    assert_eq!(kept, json!(0));
    assert!(b
        .find("#app")
        .await
        .attr("hidden")
        .await
        .expect("attr")
        .is_some());

    // Signed in: every event, newest first; a new one appears without a reload.
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "four events listed", |r| r.len() == 4).await;
    stripe(&server, "evt_live", "invoice.created").await;
    let listed = rows_until(&b, "the new event to appear", |r| r.len() == 5).await;
    assert!(listed[0].contains("evt_live"), "newest first: {listed:?}");
    b.until(
        "counts per state",
        "return document.querySelector('.counts').innerText.includes('dead');",
    )
    .await;

    // Filter by source and state through the form.
    let source = b.find("#f-source").await;
    eventually("the source options", LIMIT, || async {
        source.clone().select_by_value("flaky").await.ok()
    })
    .await;
    b.find("#f-state")
        .await
        .select_by_value("dead")
        .await
        .expect("state");
    click(&b, ".filters button[type=submit]").await;
    let dead = rows_until(&b, "the dead flaky events only", |r| {
        r.len() == 2
            && r.iter()
                .all(|row| row.contains("flaky") && row.contains("dead"))
    })
    .await;
    assert!(dead.iter().any(|r| r.contains("f1")), "{dead:?}");
    let href = b.client.current_url().await.expect("url");
    assert!(href.as_str().contains("source=flaky") && href.as_str().contains("state=dead"));

    // One event: payload and attempts; requeue it once its handler is fixed.
    b.client
        .find(Locator::LinkText("f1"))
        .await
        .expect("f1 link")
        .click()
        .await
        .expect("open f1");
    b.until(
        "the pretty payload",
        r#"return (document.getElementById('payload') || {}).innerText?.includes('"n": 1');"#,
    )
    .await;
    b.until(
        "the failed attempt",
        "return document.querySelector('.timeline').innerText.includes('Attempt 1');",
    )
    .await;
    let page = b.text().await;
    assert!(
        page.contains("permanent") && page.contains("exit 3"),
        "{page}"
    );
    assert!(
        page.contains("downstream said no"),
        "the error excerpt: {page}"
    );
    if let Some(dir) = screenshots() {
        b.screenshot(&dir.join("console-event.png")).await;
    }
    std::fs::write(&fixed, b"").expect("fix the handler");
    click_and_confirm(&b, "#requeue").await;
    b.until(
        "the requeued event to succeed",
        "return document.querySelector('.facts .badge').innerText === 'succeeded' && \
         document.querySelector('.timeline').innerText.includes('Requeued');",
    )
    .await;
    assert_eq!(
        state(&server, "flaky", "f1").await.as_deref(),
        Some("succeeded")
    );

    // Discard the other dead one: a tombstone whose retries stay duplicates.
    b.client
        .goto(&server.url("/console#/event/flaky/f2"))
        .await
        .expect("open f2");
    click_and_confirm(&b, "#discard").await;
    b.until(
        "the discarded badge",
        "return document.querySelector('.facts .badge').innerText === 'discarded' && \
         document.body.innerText.includes('Discarded: the body was deleted');",
    )
    .await;
    let retry = server
        .deliver("flaky", r#"{"order":"f2","n":1}"#, "f2")
        .await;
    assert_eq!(
        (retry.status.as_u16(), retry.json()["state"].clone()),
        (200, json!("dead"))
    );

    // The overview draws a chart per source.
    click(&b, "#nav-overview").await;
    b.until(
        "a chart per source",
        "return document.querySelectorAll('.card svg rect').length > 0 && \
         document.querySelector('.cards').innerText.includes('flaky');",
    )
    .await;
    let label = b
        .js("return document.querySelector('#src-stripe').closest('article').querySelector('svg').getAttribute('aria-label');", vec![])
        .await;
    assert_eq!(
        label,
        json!("stripe, last hour: 3 accepted, 3 succeeded, 0 dead, 0 skipped")
    );
    if let Some(dir) = screenshots() {
        b.screenshot(&dir.join("console-overview.png")).await;
    }
    token_kept_secret(&b, &mut seen).await;

    // Sign out forgets the token; a reload stays signed out.
    click(&b, "#signout").await;
    b.until(
        "the sign-in form",
        "return !document.getElementById('signin').hidden;",
    )
    .await;
    assert_eq!(
        b.js("return sessionStorage.length;", vec![]).await,
        json!(0)
    );
    b.client.refresh().await.expect("reload");
    b.until("still signed out", "return !document.getElementById('signin').hidden && document.getElementById('app').hidden;")
        .await;

    // A token that stops working (a 401 on any call) returns to sign-in.
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "the list again", |r| !r.is_empty()).await;
    token_kept_secret(&b, &mut seen).await;
    b.js(
        "sessionStorage.setItem('hookbox.adminToken', 'revoked-token-0123456789'); \
         location.hash = '#/overview';",
        vec![],
    )
    .await;
    b.until(
        "the 401 to return to sign-in",
        "return !document.getElementById('signin').hidden && \
         document.getElementById('signin-error').innerText.includes('Sign in again');",
    )
    .await;
    assert_eq!(
        b.js("return sessionStorage.length;", vec![]).await,
        json!(0)
    );
    token_kept_secret(&b, &mut seen).await;
    assert!(
        seen.len() > 10,
        "the check saw the page's requests: {seen:?}"
    );
    b.close().await;
    server.stop().await;
}

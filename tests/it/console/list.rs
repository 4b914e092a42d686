//! The events list beyond the main walk-through: its layout at phone width, and bulk requeue
//! of the dead events a filter covers.

use serde_json::Value;

use super::browser::{Browser, LIMIT};
use super::steps::*;
use crate::support::target::eventually;
use crate::support::{TestServer, BASE_CONFIG, TEST_ADMIN_TOKEN};

/// The events list at phone width: readable, filters and rows present.
#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn the_console_is_usable_at_phone_width() {
    let b = Browser::start(390, 844).await;
    let server = TestServer::start(BASE_CONFIG).await;
    stripe(&server, "evt_phone", "invoice.paid").await;
    b.client.goto(&server.url("/console")).await.expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "the event listed", |r| r.len() == 1).await;
    let hidden = b.js(
        "return document.getElementById('bulk-requeue').offsetParent === null;",
        vec![],
    );
    assert_eq!(
        hidden.await,
        Value::Bool(true),
        "no bulk requeue without dead events"
    );
    let overflow = b
        .js(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await;
    assert_eq!(
        overflow,
        Value::Bool(true),
        "no sideways scrolling of the page"
    );
    b.close().await;
    server.stop().await;
}

/// Bulk requeue from the list: every dead event of the filter runs again.
#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn the_console_requeues_the_dead_events_of_a_filter() {
    let b = Browser::start(1280, 800).await;
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start(&config(&dir.path().join("never"))).await;
    for id in ["g1", "g2"] {
        let body = format!(r#"{{"order":"{id}"}}"#);
        assert_eq!(server.deliver("flaky", &body, id).await.status, 202);
        settled(&server, "flaky", id, "dead").await;
    }
    stripe(&server, "evt_ok", "invoice.paid").await;
    b.client
        .goto(&server.url("/console#/events?source=flaky&state=dead"))
        .await
        .expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "the two dead events", |r| r.len() == 2).await;
    b.until(
        "the bulk button to offer both",
        "const b = document.getElementById('bulk-requeue'); \
         return !b.hidden && b.innerText.includes('Requeue 2 dead events');",
    )
    .await;
    click_and_confirm(&b, "#bulk-requeue").await;
    for id in ["g1", "g2"] {
        eventually(
            &format!("{id} to be requeued and die again"),
            LIMIT,
            || async {
                let reply = crate::support::get(&server.url(&format!("/events/flaky/{id}"))).await;
                let s = reply.json();
                (s["requeueCount"] == 1 && s["state"] == "dead").then_some(())
            },
        )
        .await;
    }
    let stripe = crate::support::get(&server.url("/events/stripe/evt_ok"))
        .await
        .json();
    assert_eq!(stripe["requeueCount"], 0, "outside the filter");
    b.close().await;
    server.stop().await;
}

/// The page of an event that does not exist says so, with no empty sections under it.
#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn a_missing_event_shows_no_empty_sections() {
    let b = Browser::start(1280, 800).await;
    let server = TestServer::start(BASE_CONFIG).await;
    b.client
        .goto(&server.url("/console#/event/stripe/evt_missing"))
        .await
        .expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    b.until(
        "the page to say the event is missing",
        "return document.getElementById('event-message').innerText.includes('No such event');",
    )
    .await;
    let headings = b
        .js(
            "return [...document.querySelectorAll('main h2')].map((h) => h.innerText);",
            vec![],
        )
        .await;
    assert_eq!(headings, Value::Array(vec![]), "no Attempts heading");
    b.close().await;
    server.stop().await;
}

/// The search fields find events by what their bodies say, and the search lands in the URL.
#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn the_console_searches_event_bodies() {
    let b = Browser::start(1280, 800).await;
    let server = TestServer::start(BASE_CONFIG).await;
    for (id, customer) in [("evt_a", "cus_Z"), ("evt_b", "cus_Y"), ("evt_c", "cus_Z")] {
        let body = format!(
            r#"{{"id":"{id}","object":"event","type":"invoice.paid","data":{{"object":{{"customer":"{customer}"}}}}}}"#
        );
        assert_eq!(server.deliver("stripe", &body, id).await.status, 202);
    }
    b.client.goto(&server.url("/console")).await.expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "all three events", |r| r.len() == 3).await;
    let field = b.find("#f-where").await;
    field
        .send_keys("/data/object/customer=cus_Z")
        .await
        .expect("type the search");
    click(&b, "form.filters button[type=submit]").await;
    let found = rows_until(&b, "cus_Z's two events", |r| r.len() == 2).await;
    assert!(found.iter().all(|r| !r.contains("evt_b")), "{found:?}");
    let hash = b.js("return location.hash;", vec![]).await;
    assert!(hash.as_str().unwrap_or("").contains("where="), "{hash}");

    b.client
        .goto(&server.url("/console#/events?contains=cus_Y"))
        .await
        .expect("open a body search by URL");
    let found = rows_until(&b, "cus_Y's event", |r| r.len() == 1).await;
    assert!(found[0].contains("evt_b"), "{found:?}");
    b.close().await;
    server.stop().await;
}

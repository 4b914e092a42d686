//! A console that tells the truth: after a bulk requeue the rows follow the store (a filter
//! drops the rows that left it, no row stays dead), counts add up with a discarded event, and
//! times carry their zone.

use serde_json::{json, Value};

use super::browser::Browser;
use super::steps::*;
use crate::support::{bearer, send, TestServer, TEST_ADMIN_TOKEN};

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn after_a_bulk_requeue_no_row_stays_dead_and_the_dead_filter_drops_them() {
    let b = Browser::start(1280, 800).await;
    let dir = tempfile::tempdir().expect("dir");
    let fixed = dir.path().join("fixed");
    let server = TestServer::start(&config(&fixed)).await;
    dead_flaky(&server, &STRIPE_IDS).await;
    b.client
        .goto(&server.url("/console#/events?source=flaky&state=dead"))
        .await
        .expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "the three dead rows", |r| {
        r.len() == 3 && r.iter().all(|row| row.contains("dead"))
    })
    .await;

    // The downstream recovers; requeue everything the filter covers.
    std::fs::write(&fixed, b"").expect("fix the handler");
    b.until(
        "the bulk button to offer the three",
        "return document.getElementById('bulk-requeue').innerText.includes('Requeue 3 dead events');",
    )
    .await;
    click_and_confirm(&b, "#bulk-requeue").await;
    for id in STRIPE_IDS {
        settled(&server, "flaky", id, "succeeded").await;
    }
    rows_until(&b, "the dead filter to drop the requeued rows", |r| {
        r.is_empty()
    })
    .await;
    b.until(
        "the counts to say no dead",
        "const c = document.querySelector('.counts [data-state=dead] .count-n'); \
         return !!c && c.innerText === '0';",
    )
    .await;
    // The answer names what it requeued, and the view lists it.
    let acted = b
        .js(
            "return document.getElementById('action-results').innerText;",
            vec![],
        )
        .await;
    let acted = acted.as_str().unwrap_or_default().to_owned();

    // Without the state filter every row shows its current state: none is dead.
    b.client
        .goto(&server.url("/console#/events?source=flaky"))
        .await
        .expect("open the source");
    rows_until(&b, "every row succeeded", |r| {
        r.len() == 3
            && r.iter()
                .all(|row| row.contains("succeeded") && !row.contains("dead"))
    })
    .await;
    for id in STRIPE_IDS {
        assert!(acted.contains(id), "{acted}");
    }
    b.close().await;
    server.stop().await;
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn the_counts_add_up_with_a_discarded_event() {
    let b = Browser::start(1280, 800).await;
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start(&config(&dir.path().join("never"))).await;
    dead_flaky(&server, &STRIPE_IDS).await;
    let url = server.url(&format!("/admin/events/flaky/{}", STRIPE_IDS[2]));
    let discard = send(
        http::Method::DELETE,
        &url,
        &bearer(Some(TEST_ADMIN_TOKEN)),
        b"",
    )
    .await;
    assert_eq!(discard.status, 200, "{:?}", discard.body);

    b.client
        .goto(&server.url("/console#/events?source=flaky"))
        .await
        .expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "the three rows", |r| r.len() == 3).await;
    b.until(
        "the discarded row",
        "return [...document.querySelectorAll('#events-body .badge')].some(e => e.innerText === 'discarded');",
    )
    .await;
    let states = row_states(&b).await;
    let dead_rows = states.iter().filter(|s| *s == "dead").count();
    assert_eq!(dead_rows, 2, "{states:?}");
    assert_eq!(count_of(&b, "dead").await, 2, "discarded is not dead");
    assert_eq!(count_of(&b, "discarded").await, 1);
    b.until(
        "Requeue N to equal the dead rows",
        "return document.getElementById('bulk-requeue').innerText.startsWith('Requeue 2 dead events');",
    )
    .await;
    b.close().await;
    server.stop().await;
}

async fn received_cell(b: &Browser) -> String {
    let text = b
        .js(
            "return document.querySelector('#events-body td.when').innerText;",
            vec![],
        )
        .await;
    text.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn times_are_utc_by_default_and_local_with_its_offset_on_request() {
    // A zone without daylight saving, so the offset is known: +05:30.
    let b = Browser::start_in(1280, 800, Some("Asia/Kolkata")).await;
    let server = TestServer::start(crate::support::BASE_CONFIG).await;
    stripe(&server, STRIPE_IDS[0], "invoice.paid").await;
    let status: Value =
        crate::support::get(&server.url(&format!("/events/stripe/{}", STRIPE_IDS[0])))
            .await
            .json();
    let received = status["receivedAt"].as_u64().expect("receivedAt");
    let utc = b
        .js(
            "const d = new Date(arguments[0]).toISOString(); \
             return d.slice(0, 10) + ' ' + d.slice(11, 19) + ' UTC';",
            vec![json!(received)],
        )
        .await;
    b.client.goto(&server.url("/console")).await.expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "the event", |r| r.len() == 1).await;
    assert_eq!(json!(received_cell(&b).await), utc, "UTC by default");

    // Local time shows its offset, and the choice outlives a reload.
    click(&b, "#zone").await;
    b.until(
        "local times",
        "const c = document.querySelector('#events-body td.when'); return !!c && c.innerText.endsWith('+05:30');",
    )
    .await;
    assert!(with_zone(&received_cell(&b).await));
    b.client.refresh().await.expect("reload");
    rows_until(&b, "the event again", |r| r.len() == 1).await;
    assert!(received_cell(&b).await.ends_with(" +05:30"));
    let zone = b
        .js("return document.getElementById('zone').innerText;", vec![])
        .await;
    assert_eq!(zone, json!("Times: local (+05:30)"));

    // The filters' times are read in the chosen zone: 00:00 UTC is 05:30 here.
    let midnight = received - received % 86_400_000;
    b.client
        .goto(&server.url(&format!("/console#/events?since={midnight}")))
        .await
        .expect("filter");
    b.until(
        "the since field in local time",
        "const f = document.getElementById('f-since'); return !!f && f.value.endsWith('T05:30');",
    )
    .await;
    click(&b, "#zone").await;
    b.until(
        "the since field in UTC",
        "const f = document.getElementById('f-since'); return !!f && f.value.endsWith('T00:00');",
    )
    .await;
    rows_until(&b, "the event in UTC", |r| {
        r.len() == 1 && r[0].contains(" UTC")
    })
    .await;
    assert!(with_zone(&received_cell(&b).await) && received_cell(&b).await.ends_with(" UTC"));
    b.close().await;
    server.stop().await;
}

/// Whether `text` reads `YYYY-MM-DD HH:MM:SS` then `UTC` or a signed `HH:MM` offset.
fn with_zone(text: &str) -> bool {
    let shape = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_digit() { 'd' } else { c })
            .collect()
    };
    let Some((stamp, zone)) = text.rsplit_once(' ') else {
        return false;
    };
    let offset = shape(zone);
    shape(stamp) == "dddd-dd-dd dd:dd:dd"
        && (zone == "UTC" || offset == "+dd:dd" || offset == "-dd:dd")
}

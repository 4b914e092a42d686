//! Rows picked with checkboxes and acted on together (`POST /admin/batch`): select all on the
//! page, then requeue two picked dead rows; the confirmation names them and the view lists what
//! the server acted on, while the row not picked stays as it was.

use serde_json::Value;

use super::browser::Browser;
use super::steps::*;
use crate::support::{get, TestServer, TEST_ADMIN_TOKEN};

/// Clicks the checkbox of the row of `id`.
async fn pick(b: &Browser, id: &str) {
    b.js(
        "const row = [...document.querySelectorAll('#events-body tr')] \
           .find(r => r.innerText.includes(arguments[0])); \
         row.querySelector('.select-row').click();",
        vec![Value::from(id)],
    )
    .await;
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn picked_rows_are_requeued_together_and_the_view_says_which() {
    let b = Browser::start(1280, 800).await;
    let dir = tempfile::tempdir().expect("dir");
    let fixed = dir.path().join("fixed");
    let server = TestServer::start(&config(&fixed)).await;
    dead_flaky(&server, &STRIPE_IDS).await;
    b.client
        .goto(&server.url("/console#/events?source=flaky"))
        .await
        .expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "the three dead rows", |r| r.len() == 3).await;

    // Select all on the page, then none again.
    click(&b, "#select-all").await;
    b.until(
        "all three picked",
        "return document.querySelectorAll('#events-body .select-row:checked').length === 3 && \
         document.getElementById('requeue-selected').innerText === 'Requeue selected (3)';",
    )
    .await;
    click(&b, "#select-all").await;
    b.until(
        "none picked",
        "return document.querySelectorAll('#events-body .select-row:checked').length === 0 && \
         document.getElementById('requeue-selected').hidden;",
    )
    .await;

    // Two picked and requeued once the downstream recovers: the dialog names them.
    std::fs::write(&fixed, b"").expect("fix the handler");
    let (picked, left) = (&STRIPE_IDS[..2], STRIPE_IDS[2]);
    for id in picked {
        pick(&b, id).await;
    }
    click(&b, "#requeue-selected").await;
    b.until(
        "the confirmation",
        "return document.getElementById('confirm').open;",
    )
    .await;
    let asked = b
        .js(
            "return document.getElementById('confirm').innerText;",
            vec![],
        )
        .await;
    let asked = asked.as_str().unwrap_or_default().to_owned();
    assert!(asked.contains("Requeue 2 selected deliveries"), "{asked}");
    for id in picked {
        assert!(asked.contains(id), "{asked}");
    }
    assert!(!asked.contains(left), "{asked}");
    click(&b, "#confirm-ok").await;
    b.until(
        "what was acted on",
        "const r = document.getElementById('action-results'); \
         return !!r && r.innerText.includes('Requeued 2 of 2');",
    )
    .await;
    let results = b
        .js(
            "return document.getElementById('action-results').innerText;",
            vec![],
        )
        .await;
    for id in picked {
        assert!(
            results.as_str().unwrap_or_default().contains(id),
            "{results}"
        );
        settled(&server, "flaky", id, "succeeded").await;
    }
    let other: Value = get(&server.url(&format!("/events/flaky/{left}")))
        .await
        .json();
    assert_eq!(
        (other["state"].as_str(), other["requeueCount"].as_u64()),
        (Some("dead"), Some(0))
    );
    rows_until(&b, "the rows to show it", |r| {
        r.iter().filter(|row| row.contains("succeeded")).count() == 2
            && r.iter()
                .any(|row| row.contains(left) && row.contains("dead"))
    })
    .await;
    b.close().await;
    server.stop().await;
}

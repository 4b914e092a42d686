//! The events list at 1280×800 and at phone width (390 px) with real Stripe ids and a long
//! last error: each date on one line, the state always in view, the error cut to one line with
//! its full text on hover and when clicked, and no sideways scrolling of the page.

use serde_json::json;

use super::browser::Browser;
use super::steps::*;
use crate::support::{TestServer, BASE_CONFIG, TEST_ADMIN_TOKEN};

/// What a real downstream says when it fails.
const LONG_ERROR: &str = "POST https://billing.internal.example.com/hooks/stripe answered 503 \
    Service Unavailable: upstream connect error or disconnect/reset before headers. reset \
    reason: connection timeout (retry budget exhausted after 5 attempts)";

/// [`BASE_CONFIG`] plus `billing`, whose command always fails with [`LONG_ERROR`].
fn failing_config() -> String {
    format!(
        r#"{BASE_CONFIG}
[sources.billing]
scheme = "github"
secrets = ["test-billing"]

[sources.billing.handler]
type = "command"
program = "/bin/sh"
args = ["-c", "cat >/dev/null; echo '{LONG_ERROR}' >&2; exit 3"]
permanent_exit_code = 3
"#
    )
}

/// For every row: [date on one line, state badge inside the viewport, error cut to one line].
const CHECKS: &str = "const one = (node) => { const r = document.createRange(); \
    r.selectNodeContents(node); return r.getClientRects().length === 1; }; \
    return [...document.querySelectorAll('#events-body tr')].map((tr) => { \
      const badge = tr.querySelector('.badge').getBoundingClientRect(); \
      const error = tr.querySelector('.error-text'); \
      return [one(tr.querySelector('td.when')), badge.left >= 0 && badge.right <= window.innerWidth, \
        !error || error.getBoundingClientRect().height <= parseFloat(getComputedStyle(error).lineHeight) * 1.5]; });";

async fn check_layout(width: u32, height: u32, shot: &str) {
    let b = Browser::start(width, height).await;
    let server = TestServer::start(&failing_config()).await;
    for (id, kind) in [
        (STRIPE_IDS[0], "invoice.payment_succeeded"),
        (STRIPE_IDS[1], "customer.subscription.updated"),
    ] {
        stripe(&server, id, kind).await;
        settled(&server, "stripe", id, "succeeded").await;
    }
    let dead = STRIPE_IDS[2];
    let body = format!(r#"{{"id":"{dead}","type":"invoice.paid"}}"#);
    assert_eq!(server.deliver("billing", &body, dead).await.status, 202);
    settled(&server, "billing", dead, "dead").await;

    b.client.goto(&server.url("/console")).await.expect("open");
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    rows_until(&b, "the three events", |r| r.len() == 3).await;
    let checks = b.js(CHECKS, vec![]).await;
    assert_eq!(
        checks,
        json!([[true, true, true], [true, true, true], [true, true, true]]),
        "{width} px: {checks}"
    );
    let page = b
        .js(
            "return [document.documentElement.scrollWidth <= window.innerWidth + 1, \
             [...document.querySelectorAll('.table-wrap')].every(w => w.scrollWidth <= w.clientWidth + 1)];",
            vec![],
        )
        .await;
    assert_eq!(
        page,
        json!([true, true]),
        "{width} px: no sideways scrolling"
    );

    // The full error on hover (title) and, clicked, expanded in place.
    let error = b.find("#events-body .error-text").await;
    let title = error.attr("title").await.expect("title");
    let title = title.unwrap_or_default();
    assert!(title.trim().ends_with(LONG_ERROR), "{title}");
    let cut = b
        .js(
            "return document.querySelector('#events-body .error-text').getBoundingClientRect().height;",
            vec![],
        )
        .await;
    error.click().await.expect("expand");
    let open = b
        .js(
            "const e = document.querySelector('#events-body .error-text'); \
             return [e.getAttribute('aria-expanded'), e.getBoundingClientRect().height];",
            vec![],
        )
        .await;
    assert_eq!(open[0], json!("true"));
    let taller = open[1].as_f64().unwrap_or(0.0) > cut.as_f64().unwrap_or(0.0) * 1.5;
    assert!(taller, "the error expands: {cut} -> {open}");
    error.click().await.expect("collapse");
    b.js(
        "window.getSelection().removeAllRanges(); document.activeElement.blur();",
        vec![],
    )
    .await;
    if let Some(dir) = screenshots() {
        b.screenshot(&dir.join(shot)).await;
    }
    b.close().await;
    server.stop().await;
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn the_list_reads_at_1280_by_800_with_real_stripe_ids() {
    check_layout(1280, 800, "console-list.png").await;
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn the_list_reads_at_phone_width_with_the_state_in_view() {
    check_layout(390, 844, "console-list-phone.png").await;
}

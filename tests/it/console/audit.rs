//! Who did what, in the console: an action a `read` token asks for is refused with a clear
//! message ("this token may only read"), and the audit view lists the refusal with the token's
//! name.

use super::browser::Browser;
use super::steps::*;
use crate::support::{TestServer, TEST_ADMIN_TOKEN};

const READ_TOKEN: &str = "dashboard-token-0123456789";

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: apt-get install -y chromium chromium-driver"]
async fn a_read_token_is_told_it_may_only_read_and_the_audit_view_lists_the_refusal() {
    let b = Browser::start(1280, 800).await;
    let dir = tempfile::tempdir().expect("dir");
    let text = format!(
        "{}\n[[admin.tokens]]\nname = \"dashboard\"\nrole = \"read\"\ntoken = \"{READ_TOKEN}\"\n",
        config(&dir.path().join("never"))
    );
    let server = TestServer::start(&text).await;
    let id = STRIPE_IDS[0];
    dead_flaky(&server, &[id]).await;

    // The read token reads, and its requeue is refused with a message saying why.
    b.client
        .goto(&server.url(&format!("/console#/event/flaky/{id}")))
        .await
        .expect("open");
    sign_in(&b, READ_TOKEN).await;
    click_and_confirm(&b, "#requeue").await;
    b.until(
        "the read-only message",
        "return document.getElementById('event-message').innerText.includes('This token may only read');",
    )
    .await;
    assert_eq!(state(&server, "flaky", id).await.as_deref(), Some("dead"));

    // The audit view names the token and the refusal.
    click(&b, "#nav-audit").await;
    b.until(
        "the refusal in the audit view",
        "const t = document.getElementById('audit-body'); \
         return !!t && t.innerText.includes('dashboard') && t.innerText.includes('refused') && \
                t.innerText.includes('403');",
    )
    .await;
    click(&b, "#signout").await;
    sign_in(&b, TEST_ADMIN_TOKEN).await;
    click(&b, "#nav-audit").await;
    b.until(
        "the audit view for the operate token too",
        "const t = document.getElementById('audit-body'); \
         return !!t && t.innerText.includes('dashboard');",
    )
    .await;
    b.close().await;
    server.stop().await;
}

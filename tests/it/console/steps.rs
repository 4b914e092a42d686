//! What the console tests do and check, step by step: the server side (events, states) and
//! the page side (sign-in, rows, clicks, the token's whereabouts).

use std::path::{Path, PathBuf};

use super::browser::{Browser, LIMIT};
use crate::support::target::eventually;
use crate::support::{get, TestServer, BASE_CONFIG, TEST_ADMIN_TOKEN};

/// [`BASE_CONFIG`] plus `flaky` (GitHub-signed): its command fails permanently (exit 3) until
/// the file `fixed` exists, so its events go dead, and succeed once requeued after the fix.
pub fn config(fixed: &Path) -> String {
    format!(
        r#"{BASE_CONFIG}
[sources.flaky]
scheme = "github"
secrets = ["test-flaky"]

[sources.flaky.handler]
type = "command"
program = "/bin/sh"
args = ["-c", "cat >/dev/null; [ -e '{}' ] || {{ echo 'downstream said no' >&2; exit 3; }}"]
permanent_exit_code = 3
"#,
        fixed.display()
    )
}

pub async fn state(server: &TestServer, source: &str, id: &str) -> Option<String> {
    let reply = get(&server.url(&format!("/events/{source}/{id}"))).await;
    reply.json()["state"].as_str().map(str::to_owned)
}

pub async fn settled(server: &TestServer, source: &str, id: &str, want: &str) {
    eventually(&format!("{source}/{id} to be {want}"), LIMIT, || async {
        (state(server, source, id).await.as_deref() == Some(want)).then_some(())
    })
    .await
}

pub async fn stripe(server: &TestServer, id: &str, kind: &str) {
    let body = format!(r#"{{"id":"{id}","object":"event","type":"{kind}"}}"#);
    assert_eq!(server.deliver("stripe", &body, id).await.status, 202);
}

/// Every URL the page has loaded or fetched so far, and the one it shows.
pub async fn urls_seen(b: &Browser) -> Vec<String> {
    let script = "return performance.getEntries().map(e => e.name).concat([location.href]);";
    let names = b.js(script, vec![]).await;
    names
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Fails if the token is in any URL so far, a cookie or local storage.
pub async fn token_kept_secret(b: &Browser, seen: &mut Vec<String>) {
    seen.extend(urls_seen(b).await);
    for url in seen.iter() {
        assert!(!url.contains(TEST_ADMIN_TOKEN), "token in a URL: {url}");
    }
    let stores = b
        .js(
            "return document.cookie + JSON.stringify(localStorage);",
            vec![],
        )
        .await;
    assert!(!stores.to_string().contains(TEST_ADMIN_TOKEN), "{stores}");
}

pub async fn rows(b: &Browser) -> Vec<String> {
    let script = "return [...document.querySelectorAll('#events-body tr')].map(r => r.innerText);";
    let rows = b.js(script, vec![]).await;
    serde_json::from_value(rows).unwrap_or_default()
}

pub async fn rows_until(b: &Browser, what: &str, check: impl Fn(&[String]) -> bool) -> Vec<String> {
    eventually(what, LIMIT, || async {
        let rows = rows(b).await;
        check(&rows).then_some(rows)
    })
    .await
}

/// Clicks `css` once it can be clicked. The views re-render as they poll, so an element found
/// may be replaced before the click lands (stale), and a closing dialog keeps the page inert for
/// a moment (not interactable): both are tried again, within the usual bound.
pub async fn click(b: &Browser, css: &str) {
    use fantoccini::error::{CmdError, ErrorStatus};
    eventually(&format!("{css} to take a click"), LIMIT, || async {
        match b.find(css).await.click().await {
            Ok(()) => Some(()),
            Err(CmdError::Standard(e))
                if matches!(
                    e.error,
                    ErrorStatus::StaleElementReference | ErrorStatus::ElementNotInteractable
                ) =>
            {
                None
            }
            Err(e) => panic!("{css}: {e}"),
        }
    })
    .await
}

/// Clicks `css`, then confirms the dialog it opens.
pub async fn click_and_confirm(b: &Browser, css: &str) {
    click(b, css).await;
    b.until(
        "the confirmation dialog",
        "return document.getElementById('confirm').open;",
    )
    .await;
    click(b, "#confirm-ok").await;
}

pub async fn sign_in(b: &Browser, token: &str) {
    let field = b.find("#token").await;
    field.clear().await.expect("clear");
    field.send_keys(token).await.expect("type the token");
    click(b, "#signin-form button[type=submit]").await;
}

pub fn screenshots() -> Option<PathBuf> {
    std::env::var_os("HOOKBOX_CONSOLE_SCREENSHOTS").map(PathBuf::from)
}

/// Event ids shaped like Stripe's, for layouts that must hold real ids.
pub const STRIPE_IDS: [&str; 3] = [
    "evt_1QbX9R2eZvKYlo2CxY7hT3pN",
    "evt_1QbXA02eZvKYlo2C8mLp4QzR",
    "evt_1QbXB12eZvKYlo2CkT9sVw3E",
];

/// Delivers each of `ids` to `flaky` (see [`config`]) and waits until it is dead.
pub async fn dead_flaky(server: &TestServer, ids: &[&str]) {
    for id in ids {
        let body = format!(r#"{{"id":"{id}","n":1}}"#);
        assert_eq!(server.deliver("flaky", &body, id).await.status, 202);
    }
    for id in ids {
        settled(server, "flaky", id, "dead").await;
    }
}

/// The state badges of the listed rows, in order.
pub async fn row_states(b: &Browser) -> Vec<String> {
    let script =
        "return [...document.querySelectorAll('#events-body tr .badge')].map(e => e.innerText);";
    serde_json::from_value(b.js(script, vec![]).await).unwrap_or_default()
}

/// The number on the count chip of `state`, once the counts are shown.
pub async fn count_of(b: &Browser, state: &str) -> u64 {
    let script = format!(
        "const c = document.querySelector('.counts [data-state={state}] .count-n'); \
         return c ? Number(c.innerText) : null;"
    );
    eventually(&format!("the {state} count"), LIMIT, || async {
        b.js(&script, vec![]).await.as_u64()
    })
    .await
}

//! The status resource's access control, the admin API, `/readyz` and `hookbox events`, over
//! real HTTP against a real hookbox. Every wait for the worker is a bounded poll.

use crate::support;
use crate::support::target;

mod audit;
mod audit_cli;
mod auth;
mod cli;
mod listing;
mod overview;
mod requeue;
mod search;

use std::time::Duration;

use serde_json::Value;
use support::{get, post_as, Reply, TestServer, BASE_CONFIG, TEST_ADMIN_TOKEN};

/// Bound on every wait for the worker.
const LIMIT: Duration = Duration::from_secs(20);

/// [`BASE_CONFIG`] plus `failing` (GitHub-signed; its command exits 3, a permanent failure, so
/// every event goes dead on its first attempt) and `plain` (GitHub-signed, logged).
fn config_with_failing() -> String {
    format!(
        r#"{BASE_CONFIG}
[sources.failing]
scheme = "github"
secrets = ["test-failing"]

[sources.failing.handler]
type = "command"
program = "/bin/sh"
args = ["-c", "exit 3"]
permanent_exit_code = 3

[sources.plain]
scheme = "github"
secrets = ["test-plain"]
"#
    )
}

/// Delivers a signed `body` to `source` with event id `id` (header-carried for GitHub).
async fn deliver(server: &TestServer, source: &str, id: &str, body: &str) {
    let reply = server.deliver(source, body, id).await;
    assert_eq!(reply.status, 202, "{source}/{id}: {:?}", reply.body);
}

/// `GET <path>` with the admin token.
async fn admin_get(server: &TestServer, path: &str) -> Reply {
    get(&server.url(path)).await
}

/// `POST <path>` with the admin token.
async fn admin_post(server: &TestServer, path: &str) -> Reply {
    post_as(&server.url(path), Some(TEST_ADMIN_TOKEN)).await
}

/// The status resource of `source/id`.
async fn status(server: &TestServer, source: &str, id: &str) -> Value {
    let reply = admin_get(server, &format!("/events/{source}/{id}")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()
}

/// Polls `source/id` until it is final and has been requeued `requeues` times.
async fn settled(server: &TestServer, source: &str, id: &str, requeues: usize) -> Value {
    let what = format!("{source}/{id} to settle after {requeues} requeues");
    target::eventually(&what, LIMIT, || async {
        let s = status(server, source, id).await;
        let done = matches!(s["state"].as_str(), Some("succeeded" | "dead"));
        let requeued = s["requeues"].as_array().map_or(0, Vec::len);
        (done && requeued == requeues).then_some(s)
    })
    .await
}

/// Every item of `GET /admin/events?<query>`, following `nextCursor`; also the page sizes.
async fn list_all(server: &TestServer, query: &str) -> (Vec<Value>, Vec<usize>) {
    let (mut items, mut pages) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/admin/events?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let reply = admin_get(server, &path).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let page = reply.json();
        let page_items = page["items"].as_array().expect("items").clone();
        pages.push(page_items.len());
        items.extend(page_items);
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (items, pages),
        }
    }
}

//! Several instances on one PostgreSQL database: one source's pass runs on one at a time.

use std::time::Duration;

use super::fake::Fake;
use super::{config, stripe_api, stripe_events, LIMIT};
use crate::support::target::eventually;
use crate::support::{get, TestServer};

#[tokio::test]
#[ignore = "needs PostgreSQL (HOOKBOX_TEST_DATABASE_URL)"]
async fn two_instances_on_postgresql_never_run_a_pass_at_once() {
    use hookbox::config::StorageBackend;
    let Some(url) = crate::support::backend::postgres_url() else {
        crate::support::backend::cannot_run("HOOKBOX_TEST_DATABASE_URL");
    };
    let api = Fake::start(stripe_api::api(stripe_events(&[false; 5]))).await;
    api.slow(Duration::from_millis(300)); // a pass walks 3 pages: about a second
    let table = format!(
        "api_key = \"{}\"\napi_base = \"{}\"\nevery = \"1s\"",
        stripe_api::KEY,
        api.base()
    );
    let text = config("stripe", &table);
    let dir = tempfile::tempdir().unwrap();
    let schema = crate::support::backend::schema_for(dir.path());
    let mut servers = Vec::new();
    for name in ["a", "b"] {
        let mut cfg = crate::support::config_in(&text, &dir.path().join(name));
        cfg.storage.backend = StorageBackend::Postgres;
        cfg.storage.database_url = Some(hookbox::verify::Secret::new(url.clone()));
        cfg.storage.database_schema = Some(schema.clone());
        servers.push(TestServer::start_with(cfg).await);
    }
    // Both start a pass at once, and again every second: one runs, the other finds it busy.
    eventually(
        "a pass refused as busy, and three that succeeded",
        LIMIT,
        || async {
            let (mut busy, mut success) = (0, 0);
            for server in &servers {
                let body = get(&server.url("/admin/reconcile")).await.json();
                busy += body["sources"][0]["runs"]["busy"].as_u64().unwrap_or(0);
                success += body["sources"][0]["runs"]["success"].as_u64().unwrap_or(0);
            }
            (busy >= 1 && success >= 3).then_some(())
        },
    )
    .await;
    assert_eq!(
        api.most_at_once(),
        1,
        "two passes asked the API at the same time"
    );
    let list = get(&servers[0].url("/admin/events?source=stripe"))
        .await
        .json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(5), "{list}");
    for server in servers {
        server.stop().await;
    }
}

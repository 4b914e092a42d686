//! Two `hookbox serve` processes on one PostgreSQL schema, as behind a load balancer: the same
//! event sent to both at once is accepted once; deliveries spread over both are each processed
//! once; and when one instance is killed mid-load, the other finishes the events it held once
//! their leases expire. Needs `HOOKBOX_TEST_DATABASE_URL`, so it is `#[ignore]`d and runs with
//! `--include-ignored`.
#![cfg(unix)]

use crate::support;
use crate::support::process;
use crate::support::target;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use hookbox::config::Config;
use process::Hookbox;
use serde_json::Value;
use support::{get, Reply};
use target::{eventually, Answer, Target};

/// Bound on every wait.
const LIMIT: Duration = Duration::from_secs(30);
/// Events delivered while the target answers at once, then while it holds requests open.
const CALM: usize = 20;
const STORM: usize = 20;
/// Worker concurrency of each instance: what each has in flight while the target hangs.
const CONCURRENCY: usize = 3;

/// Both instances' config: one schema, a lease of 4 s + 1 s (handler timeout + margin).
fn config_text(url: &str, schema: &str, target: &Target, data_dir: &Path) -> String {
    let url = toml::Value::String(url.to_owned());
    let data_dir = toml::Value::String(data_dir.display().to_string());
    format!(
        r#"
[server]
listen = "127.0.0.1:0"

[admin]
public_status = true

[storage]
backend = "postgres"
database_url = {url}
database_schema = "{schema}"
pool_size = 4
data_dir = {data_dir}

[worker]
concurrency = {CONCURRENCY}
# Every slot may go to the one target, and its 503s after the kill must not open its circuit:
# this test is about leases, not destination limits (tests/it/destinations.rs).
destination_concurrency = {CONCURRENCY}
circuit_failures = 1000
lease_margin = "1s"
retry_schedule = ["1ms"]
max_attempts = 10
jitter = 0.0

[sources.multi]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

[sources.multi.handler]
type = "forward"
url = "{}"
secret = "whsec_dGVzdC1mb3J3YXJkLXNlY3JldC0xMjM0NTY="
timeout = "4s"
"#,
        target.url()
    )
}

async fn deliver(hookbox: &Hookbox, config: &Config, id: &str) -> Reply {
    hookbox.deliver(config, "multi", id).await
}

async fn status(hookbox: &Hookbox, id: &str) -> Value {
    get(&hookbox.url(&format!("/events/multi/{id}")))
        .await
        .json()
}

/// Waits until every event in `ids` succeeded, as `hookbox` reports it.
async fn all_succeeded(hookbox: &Hookbox, ids: &[String]) -> Vec<Value> {
    eventually("every event to succeed", LIMIT, || async {
        let mut done = Vec::new();
        for id in ids {
            let s = status(hookbox, id).await;
            if s["state"] != "succeeded" {
                return None;
            }
            done.push(s);
        }
        Some(done)
    })
    .await
}

/// Requests the target received per idempotency key.
fn requests_by_key(target: &Target) -> HashMap<String, usize> {
    target.inspect(|seen| {
        let mut counts = HashMap::new();
        for s in seen {
            *counts.entry(s.key().to_owned()).or_default() += 1;
        }
        counts
    })
}

/// Requests the target holds open right now.
fn hanging(target: &Target) -> usize {
    target.inspect(|seen| seen.iter().filter(|s| s.status.is_none()).count())
}

/// Drops the test's schema when the test ends (also on failure), after the instances died.
struct Schema {
    url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                let sql = format!("SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {name} CASCADE");
                client.batch_execute(&sql).await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}", self.name);
        }
    }
}

/// Asserts that the exact counters (`event_counts`, kept by the store's triggers) equal a full
/// scan of the events, per stream and state.
async fn counters_match_a_scan(url: &str, schema: &str, when: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let category = "CASE WHEN state = 'dead' AND body_purged THEN 'discarded' ELSE state END";
    let counted = format!(
        "SELECT stream, kind, sum(n)::int8 FROM {schema}.event_counts \
         WHERE kind IN ('queued', 'processing', 'succeeded', 'dead', 'discarded', 'skipped') \
         GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2"
    );
    let scanned = format!(
        "SELECT source, {category}, count(*) FROM {schema}.events GROUP BY 1, 2 ORDER BY 1, 2"
    );
    // One snapshot for both reads.
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .expect("begin");
    let read = |sql: String| {
        let client = &client;
        async move {
            let rows = client.query(&sql, &[]).await.expect("query");
            rows.iter()
                .map(|r| {
                    (
                        r.get::<_, String>(0),
                        r.get::<_, String>(1),
                        r.get::<_, i64>(2),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let (counted, scanned) = (read(counted).await, read(scanned).await);
    assert_eq!(counted, scanned, "counters vs scan {when}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn two_instances_share_dedupe_and_the_queue_and_survive_a_kill() {
    let Some(url) = support::backend::postgres_url() else {
        support::backend::cannot_run("HOOKBOX_TEST_DATABASE_URL is not set (needs PostgreSQL)");
    };
    let schema = Schema {
        url: url.clone(),
        name: format!("hb_multi_{:016x}", rand::random::<u64>()),
    };
    let target = Target::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut paths = Vec::new();
    for name in ["a", "b"] {
        let text = config_text(&url, &schema.name, &target, &dir.path().join(name));
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write config");
        paths.push(path);
    }
    let text = std::fs::read_to_string(&paths[0]).expect("config");
    let config = hookbox::config::load_str(&text, "a.toml", &|_| None).expect("config");
    let a = Hookbox::start(&paths[0]).await;
    let b = Hookbox::start(&paths[1]).await;

    // The same id at both instances at once: one accepts, the other reports a duplicate.
    for i in 0..5 {
        let id = format!("race_{i}");
        let (x, y) = tokio::join!(deliver(&a, &config, &id), deliver(&b, &config, &id));
        let mut answers = [x.json()["status"].clone(), y.json()["status"].clone()];
        answers.sort_by_key(|v| v.to_string());
        assert_eq!(answers, ["accepted", "duplicate"], "{id}");
        assert!(x.status.is_success() && y.status.is_success(), "{id}");
    }
    let mut ids: Vec<String> = (0..5).map(|i| format!("race_{i}")).collect();

    // Calm: deliveries alternate between the instances and are each processed once.
    for i in 0..CALM {
        let id = format!("calm_{i}");
        let to = if i % 2 == 0 { &a } else { &b };
        assert_eq!(deliver(to, &config, &id).await.status, 202, "{id}");
        ids.push(id);
    }
    all_succeeded(&b, &ids).await;

    // Storm: the target holds every request open, so both instances fill their slots; then
    // `a` dies with its attempts in flight.
    target.answer_by_default(Answer::hang());
    let mut storm = Vec::new();
    for i in 0..STORM {
        let id = format!("storm_{i}");
        let to = if i % 2 == 0 { &a } else { &b };
        assert_eq!(deliver(to, &config, &id).await.status, 202, "{id}");
        storm.push(id);
    }
    let in_flight = 2 * CONCURRENCY;
    eventually("both instances to fill their slots", LIMIT, || async {
        (hanging(&target) == in_flight).then_some(())
    })
    .await;
    a.kill();
    counters_match_a_scan(&url, &schema.name, "right after the kill").await;
    target.answer_by_default(Answer::status(200));
    target.release(); // `b`'s held attempts now fail (503) and are retried

    ids.extend(storm);
    let statuses = all_succeeded(&b, &ids).await;
    let rescued = statuses
        .iter()
        .filter(|s| {
            let attempts = s["attempts"].as_array().expect("attempts");
            attempts.iter().any(|a| a["outcome"] == "abandoned")
        })
        .count();
    assert_eq!(
        rescued, CONCURRENCY,
        "the killed instance's claims were taken over after their lease"
    );

    let successes = target.successes_by_key();
    let requests = requests_by_key(&target);
    let mut repeats = 0;
    for id in &ids {
        let key = format!("multi:{id}");
        assert_eq!(successes.get(&key), Some(&1), "{id} processed once");
        repeats += requests.get(&key).copied().unwrap_or(0) - 1;
    }
    assert!(
        repeats <= in_flight,
        "{repeats} repeated deliveries, but only {in_flight} attempts were in flight at the kill"
    );
    counters_match_a_scan(&url, &schema.name, "after the take-over").await;
    b.kill();
}

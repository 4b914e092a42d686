//! Crash cycles with the real binary: clients deliver events while hookbox is killed with
//! SIGKILL at random moments and restarted on the same data dir. Every restart must come up
//! healthy; at the end every acknowledged event has `succeeded`, and every extra delivery the
//! target saw is one whose attempt was in flight at a kill (see `report.rs`).
//!
//! `HOOKBOX_CRASH_CYCLES` sets the number of kills (3 by default; the ignored variant runs 100),
//! `HOOKBOX_CRASH_SEED` replays a kill schedule; the seed is printed.
#![cfg(unix)]

use crate::support;
use crate::support::process;
use crate::support::target;

mod ledger;
mod report;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookbox::config::Config;
use http::Method;
use ledger::{Client, Ledger};
use process::Hookbox;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use report::Report;
use support::{try_send, unix_now, TEST_ADMIN_TOKEN};
use target::{eventually, unix_ms, Answer, Target};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Concurrent delivering clients.
const CLIENTS: usize = 4;
/// `worker.concurrency` below: the most handlers that can be running at a kill.
const WORKERS: usize = 8;
/// How long after a start the kill comes, in ms.
const KILL_AFTER_MS: std::ops::RangeInclusive<u64> = 10..=400;
/// Longest random pause of the target before it answers, so handlers overlap the kill.
const TARGET_DELAY: Duration = Duration::from_millis(20);
/// Bound on every single wait.
const LIMIT: Duration = Duration::from_secs(30);
/// Bound on the requests one client sends.
const MAX_REQUESTS_PER_CLIENT: usize = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_lose_no_acked_event_and_rerun_only_what_was_in_flight() {
    crash_cycles(cycles_from_env(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 100 kill cycles (about a minute)"]
async fn a_hundred_random_kills() {
    crash_cycles(cycles_from_env(100)).await;
}

fn cycles_from_env(default: usize) -> usize {
    std::env::var("HOOKBOX_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn crash_cycles(cycles: usize) {
    let seed = std::env::var("HOOKBOX_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(unix_ms);
    println!("crash cycles: {cycles}, HOOKBOX_CRASH_SEED={seed}");
    let began = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);

    let target = Target::start().await;
    target.answer_by_default(Answer::status(200).delay_up_to(TARGET_DELAY));
    let dir = tempfile::tempdir().expect("temp dir");
    let text = config_text(&target, &dir.path().join("data"));
    let (path, config) = process::write_config(dir.path(), &text);
    let config = Arc::new(config);

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let (base_url, watch_url) = watch::channel(None::<String>);
    let stop = CancellationToken::new();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let client = Client::new(config.clone(), ledger.clone());
            tokio::spawn(drive(
                client,
                watch_url.clone(),
                stop.clone(),
                seed + n as u64,
            ))
        })
        .collect();

    // Epoch k runs from start k to kill k; a delivery belongs to the epoch whose boundary
    // (taken once the dead process's connections are gone) it precedes.
    let mut boundaries = Vec::with_capacity(cycles);
    let mut recovered = Vec::with_capacity(cycles + 1);
    for _ in 0..cycles {
        let hookbox = start_healthy(&path).await;
        recovered.push(hookbox.recovered);
        base_url.send_replace(Some(hookbox.url("")));
        tokio::time::sleep(Duration::from_millis(rng.gen_range(KILL_AFTER_MS))).await;
        base_url.send_replace(None);
        hookbox.kill();
        boundaries.push(settle(&target).await);
    }
    stop.cancel();
    for client in clients {
        tokio::time::timeout(LIMIT, client)
            .await
            .expect("client stops")
            .expect("client task");
    }

    let last = start_healthy(&path).await;
    recovered.push(last.recovered);
    let client = Client::new(config.clone(), ledger.clone());
    let resend = std::mem::take(&mut ledger.lock().expect("ledger").uncertain);
    for id in resend {
        let sent = client.deliver(&last.url(""), &id, true).await;
        assert!(
            sent,
            "{id}: a re-send after the last restart must be accepted or duplicate"
        );
    }

    let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));
    let statuses = ledger::final_statuses(&last, &ledger.acked).await;
    let report = Report::build(&ledger, &statuses, &target, &boundaries, &recovered);
    report.print(cycles, began.elapsed());
    // PostgreSQL rescues a killed instance's claims when their lease expires, not at start-up.
    let recovers_at_start = support::backend::postgres_under_test().is_none();
    report.assert_sound(WORKERS, recovers_at_start);
    last.kill();
    counters_match_the_records(&config, ledger.acked.len()).await;
}

/// After the last kill -9: the store's counters say what a scan of its records says, and
/// count every acknowledged event as succeeded (PostgreSQL keeps no counters of its own yet).
async fn counters_match_the_records(config: &Config, acked: usize) {
    if support::backend::postgres_under_test().is_some() {
        return;
    }
    let store = hookbox::store::Store::open(&config.storage)
        .await
        .expect("the store opens after a kill");
    let wrong = store.check_counters().await.expect("check counters");
    assert!(wrong.is_empty(), "counters after kill -9: {wrong:#?}");
    let (counts, exact) = store.counts(&Default::default()).await.expect("counts");
    assert!(exact, "counts read from counters are exact");
    assert!(
        counts.succeeded >= acked as u64,
        "{counts:?} for {acked} acked"
    );
    store.close().await.expect("close");
}

/// One client: delivers new events (and re-sends cut ones) while a hookbox is up.
async fn drive(
    client: Client,
    mut url: watch::Receiver<Option<String>>,
    stop: CancellationToken,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..MAX_REQUESTS_PER_CLIENT {
        if stop.is_cancelled() {
            return;
        }
        let Some(base) = url.borrow_and_update().clone() else {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = url.changed() => if changed.is_err() { return },
            }
            continue;
        };
        let (id, resend) = client.next_id();
        client.deliver(&base, &id, resend).await;
        tokio::time::sleep(Duration::from_micros(rng.gen_range(0..3_000))).await;
    }
}

/// Starts hookbox and waits (bounded) until it is healthy and its store takes writes.
async fn start_healthy(config: &std::path::Path) -> Hookbox {
    let hookbox = Hookbox::start(config).await;
    for path in ["/healthz", "/readyz"] {
        let url = hookbox.url(path);
        eventually(&format!("{path} after a restart"), LIMIT, || async {
            let reply = try_send(Method::GET, &url, &[], b"").await.ok()?;
            (reply.status == 200).then_some(())
        })
        .await;
    }
    hookbox
}

/// Waits until the killed process's connections to the target are gone, so every request it
/// sent has been recorded; returns the epoch boundary.
async fn settle(target: &Target) -> u64 {
    tokio::time::sleep(Duration::from_millis(20)).await;
    eventually(
        "the killed process's connections to close",
        LIMIT,
        || async { (target.open_connections() == 0).then_some(()) },
    )
    .await;
    unix_ms()
}

/// Signs `body` for the `crash` source, now.
fn signed(config: &Config, id: &str, body: &[u8]) -> Vec<(String, String)> {
    let source = config.source("crash").expect("source");
    let secret = &source.verifier.secrets[0];
    let mut headers = source.verifier.sign(secret, body, unix_now(), id);
    headers.push(("content-type".into(), "application/json".into()));
    headers
}

/// The run's config on `data_dir` (or, under PostgreSQL, that dir's schema).
fn config_text(target: &Target, data_dir: &std::path::Path) -> String {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
shutdown_timeout = "1s"

[admin]
token = "{TEST_ADMIN_TOKEN}"

[storage]
cache_capacity_bytes = 8388608

[worker]
concurrency = {WORKERS}
retry_schedule = ["1ms"]
max_attempts = 1000
jitter = 0.0
lease_margin = "500ms"

[sources.crash]
scheme = "standard"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

[sources.crash.handler]
type = "forward"
url = "{}"
secret = "whsec_dGVzdC1mb3J3YXJkLXNlY3JldC0xMjM0NTY="
timeout = "2s"
"#,
        target.url()
    );
    support::backend::with_storage(&text, data_dir)
}

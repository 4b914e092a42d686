//! `hookbox bench` against a real hookbox: a small, count-bounded functional check (no timing
//! assertions — benchmarks are not tests).

use crate::support;

use std::process::Output;

use support::{TestServer, BASE_CONFIG};

const BIN: &str = env!("CARGO_BIN_EXE_hookbox");

async fn bench(server: &TestServer, args: &[&str]) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bench.toml");
    std::fs::write(&config, BASE_CONFIG).expect("write config");
    let output = tokio::process::Command::new(BIN)
        .arg("bench")
        .arg("--config")
        .arg(&config)
        .args(["--to", &server.url(""), "--json", "--timeout", "10"])
        .args(args)
        .env_remove("HOOKBOX_ADMIN_TOKEN")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env_remove("GITHUB_WEBHOOK_SECRET")
        .output()
        .await
        .expect("run hookbox bench");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, report)
}

#[tokio::test]
async fn fifty_signed_requests_are_fifty_accepted_events_and_drain() {
    let server = TestServer::start(BASE_CONFIG).await;
    let args = [
        "--source",
        "stripe",
        "--requests",
        "50",
        "--connections",
        "4",
        "--wait-drained",
        "--drain-timeout",
        "20",
    ];
    let (output, report) = bench(&server, &args).await;
    assert!(output.status.success(), "{report}");
    assert_eq!(report["requests"], 50);
    assert_eq!(report["statuses"], serde_json::json!({"202": 50}));
    assert_eq!(report["errors"], 0);
    assert_eq!(report["accepted"], 50);
    assert_eq!(report["drain"]["events"], 50);
    assert_eq!(report["drain"]["dead"], 0);
    server.stop().await;
}

#[tokio::test]
async fn duplicates_are_answered_as_duplicates_for_header_id_schemes_too() {
    let server = TestServer::start(BASE_CONFIG).await;
    let args = [
        "--source",
        "github",
        "--requests",
        "40",
        "--connections",
        "2",
        "--duplicate-ratio",
        "0.5",
    ];
    let (output, report) = bench(&server, &args).await;
    assert!(output.status.success(), "{report}");
    assert_eq!(report["requests"], 40);
    let answered: u64 = ["200", "202"]
        .iter()
        .filter_map(|s| report["statuses"][s].as_u64())
        .sum();
    assert_eq!(answered, 40, "{report}");
    let accepted = report["accepted"].as_u64().expect("accepted");
    assert!(accepted < 40, "some requests must reuse ids: {report}");
    server.stop().await;
}

#[tokio::test]
async fn requests_zero_waits_for_the_existing_backlog() {
    let server = TestServer::start(BASE_CONFIG).await;
    let fill = [
        "--source",
        "stripe",
        "--requests",
        "30",
        "--connections",
        "3",
    ];
    let (output, report) = bench(&server, &fill).await;
    assert!(output.status.success(), "{report}");
    let wait = [
        "--source",
        "stripe",
        "--requests",
        "0",
        "--wait-drained",
        "--drain-timeout",
        "20",
    ];
    let (output, report) = bench(&server, &wait).await;
    assert!(output.status.success(), "{report}");
    assert_eq!(report["requests"], 0);
    assert!(report["drain"]["events"].as_u64().expect("events") <= 30);
    let drained = support::get(&server.url("/metrics")).await;
    let text = String::from_utf8_lossy(&drained.body).into_owned();
    assert!(text.contains("\nhookbox_queue_depth 0\n"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn a_remote_target_needs_allow_remote() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bench.toml");
    std::fs::write(&config, BASE_CONFIG).expect("write config");
    // TEST-NET-1: never contacted, the check comes before any connection.
    let output = tokio::process::Command::new(BIN)
        .args(["bench", "--to", "http://192.0.2.1:9", "--source", "stripe"])
        .args(["--requests", "1", "--config"])
        .arg(&config)
        .output()
        .await
        .expect("run hookbox bench");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

//! `hookbox events`, `replay` and `bench` against a real HTTPS server on loopback (a hookbox
//! behind a TLS proxy looks like this to them): trusted through `--ca-file`, refused with a
//! clear reason without it.

use std::process::Output;

use crate::support::pki::{Pki, ServerCert};
use crate::support::target::{Answer, Target};

const BIN: &str = env!("CARGO_BIN_EXE_hookbox");

async fn run(args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(BIN);
    command
        .args(args)
        .env("HOOKBOX_ADMIN_TOKEN", "tls-cli-admin-token-123")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .env_remove("GITHUB_WEBHOOK_SECRET");
    command.output().await.expect("run hookbox")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn https_target(pki: &Pki) -> (Target, String) {
    let target = Target::start_tls(pki.server(ServerCert::default())).await;
    let base = format!("https://localhost:{}", target.addr.port());
    (target, base)
}

#[tokio::test]
async fn events_reaches_an_https_server_with_its_ca_file_and_says_why_not_without() {
    let pki = Pki::new();
    let (target, base) = https_target(&pki).await;
    let page = Answer::status(200)
        .header("content-type", "application/json")
        .body(r#"{"items":[]}"#);
    target.answer_by_default(page);
    let ca = pki.ca_file().display().to_string();
    let out = run(&[
        "events",
        "--server",
        &base,
        "--ca-file",
        &ca,
        "list",
        "--json",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"items\""),
        "{}",
        text(&out.stdout)
    );
    let seen = target.inspect(|seen| seen.to_vec());
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer tls-cli-admin-token-123")
    );

    let out = run(&["events", "--server", &base, "list"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("unknown issuer"),
        "{}",
        text(&out.stderr)
    );
    let missing = format!("{ca}.missing");
    let out = run(&["events", "--server", &base, "--ca-file", &missing, "list"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--ca-file") && text(&out.stderr).contains(".missing"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn replay_and_bench_send_signed_events_over_https() {
    let pki = Pki::new();
    let (target, base) = https_target(&pki).await;
    target.answer_by_default(Answer::status(202));
    let ca = pki.ca_file().display().to_string();
    let args = [
        "replay",
        "fixtures/github/ping.json",
        "--to",
        &base,
        "--ca-file",
        &ca,
        "--config",
        "config.toml",
    ];
    let out = run(&args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let seen = target.inspect(|seen| seen.to_vec());
    assert_eq!(seen.len(), 1);
    assert!(seen[0].header("x-hub-signature-256").is_some());

    let args = [
        "bench",
        "--to",
        &base,
        "--ca-file",
        &ca,
        "--source",
        "stripe",
        "--requests",
        "3",
        "--json",
        "--config",
        "config.toml",
    ];
    let out = run(&args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(
        report["statuses"],
        serde_json::json!({"202": 3}),
        "{report}"
    );
    let signed = target.inspect(|seen| {
        (seen.iter())
            .filter(|s| s.header("stripe-signature").is_some())
            .count()
    });
    assert_eq!(signed, 3);
}

//! `hookbox replay` against a real hookbox: the whole fixtures folder is accepted and processed,
//! fresh ids are new events, kept ids are duplicates, and rejections set the exit status.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use support::{TestServer, BASE_CONFIG};

const BIN: &str = env!("CARGO_BIN_EXE_hookbox");
const ADMIN: &str = "\n[admin]\ntoken = \"replay-test-admin-token\"\n";
/// Variables that would override the test config's secrets and token.
const OVERRIDES: [&str; 8] = [
    "HOOKBOX_ADMIN_TOKEN",
    "STRIPE_WEBHOOK_SECRET",
    "GITHUB_WEBHOOK_SECRET",
    "STANDARD_WEBHOOK_SECRET",
    "SHOPIFY_WEBHOOK_SECRET",
    "SLACK_WEBHOOK_SECRET",
    "PADDLE_WEBHOOK_SECRET",
    "SQUARE_WEBHOOK_SECRET",
];

/// One line of replay's output: `<status> <source> <file> <id> <location> <outcome…>`.
#[derive(Debug, Clone)]
struct Line {
    status: String,
    source: String,
    file: String,
    id: String,
    location: String,
    outcome: String,
}

fn parse(output: &Output) -> Vec<Line> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.splitn(6, ' ').collect();
            assert_eq!(f.len(), 6, "line {line:?}");
            Line {
                status: f[0].into(),
                source: f[1].into(),
                file: f[2].into(),
                id: f[3].into(),
                location: f[4].into(),
                outcome: f[5].into(),
            }
        })
        .collect()
}

async fn replay(config: &Path, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(BIN);
    command.arg("replay").args(args).arg("--config").arg(config);
    for name in OVERRIDES {
        command.env_remove(name);
    }
    command.output().await.expect("run hookbox replay")
}

fn fixture_count() -> usize {
    let all = hookbox::client::replay::fixture::collect(&["fixtures".into()], None);
    all.expect("fixtures").len()
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs replay, expects exit 0 and one line per fixture, each the Slack handshake or answered
/// `status` with `outcome`; returns the lines by file.
async fn replay_ok(
    config: &Path,
    args: &[&str],
    status: &str,
    outcome: &str,
) -> BTreeMap<String, Line> {
    let output = replay(config, args).await;
    assert!(output.status.success(), "{}", describe(&output));
    let lines = parse(&output);
    assert_eq!(lines.len(), fixture_count(), "one line per fixture");
    let mut by_file = BTreeMap::new();
    for line in lines {
        if line.file.ends_with("slack/url_verification.json") {
            assert_eq!((&*line.status, &*line.outcome), ("200", "challenge"));
        } else {
            assert_eq!(
                (&*line.status, &*line.outcome),
                (status, outcome),
                "{line:?}"
            );
            // Ids such as Adyen's `psp:EVENT` are percent-encoded in the path.
            let location = hookbox::http::event_location(&line.source, &line.id);
            assert_eq!(line.location, location);
            let folder = Path::new(&line.file).parent().unwrap().file_name().unwrap();
            assert_eq!(folder.to_str(), Some(line.source.as_str()));
        }
        by_file.insert(line.file.clone(), line);
    }
    by_file
}

#[tokio::test(flavor = "multi_thread")]
async fn replays_the_fixtures_then_dedupes_kept_ids() {
    // Status resources may need the admin token; replay sends the config's.
    let toml = match BASE_CONFIG.contains("[admin]") {
        true => BASE_CONFIG.to_owned(),
        false => format!("{BASE_CONFIG}{ADMIN}"),
    };
    let server = TestServer::start(&toml).await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("hookbox.toml");
    std::fs::write(&config, &toml).expect("write config");
    let to = server.url("");
    // Bounded: an event not final within 20 s is reported as a timeout and fails the run.
    let fresh_args = ["fixtures", "--to", &to, "--wait", "--timeout", "20"];
    let kept_args = [&fresh_args[..], &["--keep-ids"]].concat();

    let fresh = replay_ok(&config, &fresh_args, "202", "succeeded").await;
    let kept = replay_ok(&config, &kept_args, "202", "succeeded").await;
    let again = replay_ok(&config, &kept_args, "200", "duplicate (succeeded)").await;

    let push = "fixtures/github/push.json";
    assert_eq!(kept[push].id, "00000000-0000-4000-8000-00000000f002");
    let paid = "fixtures/stripe/invoice.paid.json";
    assert_eq!(kept[paid].id, "evt_fixture_invoice_paid_0001");
    for (file, line) in kept.iter().filter(|(_, l)| l.id != "-") {
        assert_ne!(line.id, fresh[file].id, "fresh ids are new");
        assert_eq!(line.id, again[file].id, "kept ids are the fixtures' own");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rejections_and_usage_errors_set_the_exit_status() {
    let server = TestServer::start(BASE_CONFIG).await;
    let dir = tempfile::tempdir().expect("dir");
    let wrong = dir.path().join("wrong.toml");
    let toml = BASE_CONFIG.replace("whsec_test_stripe_old", "whsec_not_the_servers");
    std::fs::write(&wrong, toml).expect("write config");
    let to = server.url("");

    let file = "fixtures/stripe/invoice.paid.json";
    let rejected = replay(&wrong, &[file, "--to", &to, "--repeat", "2"]).await;
    assert_eq!(rejected.status.code(), Some(1), "{}", describe(&rejected));
    let lines = parse(&rejected);
    assert_eq!(lines.len(), 2);
    for line in lines {
        assert_eq!(line.status, "401");
        assert!(
            line.outcome.starts_with("rejected: invalid-signature"),
            "{line:?}"
        );
    }

    let unknown = replay(&wrong, &[file, "--to", &to, "--source", "nope"]).await;
    assert_eq!(unknown.status.code(), Some(2), "{}", describe(&unknown));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no source \"nope\""));
    server.stop().await;
}

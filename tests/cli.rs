//! The `hookbox` binary: `verify` and `sign` exit codes, and `serve` shutting down cleanly on SIGTERM.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hookbox");

fn write_temp(dir: &std::path::Path, name: &str, contents: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path.display().to_string()
}

fn hookbox(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run hookbox");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

#[test]
fn verify_prints_valid_or_invalid_with_exit_codes() {
    let dir = tempfile::tempdir().expect("dir");
    // GitHub's documented example payload and signature.
    let body = write_temp(dir.path(), "body", b"Hello, World!");
    let sig = "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let secret = "It's a Secret to Everybody";
    let base = [
        "verify",
        "--scheme",
        "github",
        "--secret",
        secret,
        "--body-file",
        &body,
    ];

    let (code, out, _) = hookbox(&[&base[..], &["--header", sig]].concat());
    assert_eq!((code, out.trim()), (0, "valid"));
    let lower = sig.replace("X-Hub-Signature-256", "x-hub-signature-256");
    assert_eq!(
        hookbox(&[&base[..], &["--header", &lower]].concat()).0,
        0,
        "names are case-insensitive"
    );

    let (code, out, _) = hookbox(&base);
    assert_eq!(code, 1);
    assert!(out.starts_with("invalid: missing header"), "{out}");
    let (code, out, _) = hookbox(&[
        "verify",
        "--scheme",
        "github",
        "--secret",
        "wrong",
        "--body-file",
        &body,
        "--header",
        sig,
    ]);
    assert_eq!(
        (code, out.trim()),
        (1, "invalid: no signature matches any configured secret")
    );

    // Usage errors: unknown scheme, square without --url, unreadable body file.
    let usage_errors: [[&str; 7]; 3] = [
        [
            "verify",
            "--scheme",
            "nope",
            "--secret",
            "s",
            "--body-file",
            &body,
        ],
        [
            "verify",
            "--scheme",
            "square",
            "--secret",
            "s",
            "--body-file",
            &body,
        ],
        [
            "verify",
            "--scheme",
            "github",
            "--secret",
            "s",
            "--body-file",
            "/nonexistent",
        ],
    ];
    for args in usage_errors {
        assert_eq!(hookbox(&args).0, 2, "{args:?}");
    }
}

#[test]
fn verify_shows_the_answer_to_a_handshake() {
    let dir = tempfile::tempdir().expect("dir");
    // The self-consistent Twitch challenge of src/verify/twitch.rs.
    let body = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"2"}}"#;
    let file = write_temp(dir.path(), "body", body);
    let (code, out, _) = hookbox(&[
        "verify",
        "--scheme",
        "twitch",
        "--secret",
        "twitch_selfconsistent",
        "--body-file",
        &file,
        "--now",
        "1573899072",
        "--header",
        "Twitch-Eventsub-Message-Signature: sha256=07cd8fe4d7c48cb163e4e9a4486a95c866558492c3e8ef84205342530f3b40a0",
        "--header",
        "Twitch-Eventsub-Message-Id: e76c6bd4-55c9-4987-8304-da1588d8988b",
        "--header",
        "Twitch-Eventsub-Message-Timestamp: 2019-11-16T10:11:12.634234626Z",
        "--header",
        "Twitch-Eventsub-Message-Type: webhook_callback_verification",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "valid\nhandshake: answered 200 text/plain pogchamp-kappa-360noscope-vohiyo\n"
    );
}

#[test]
fn sign_output_verifies_for_every_builtin_scheme() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_temp(dir.path(), "config.toml", support::BASE_CONFIG.as_bytes());
    let body = write_temp(
        dir.path(),
        "body.json",
        br#"{"id":"evt_1","event_id":"e1","type":"x"}"#,
    );
    // Braintree signs a base64 payload (its SDKs refuse anything else).
    let payload = write_temp(dir.path(), "payload", b"PG5vdGlmaWNhdGlvbi8+\n");
    let square = ["--url", "https://example.test/webhooks/square"];
    let twilio = ["--url", "https://example.test/webhooks/twilio"];
    let hubspot = ["--url", "https://example.test/webhooks/hubspot"];
    let adyen = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00";
    // The published RFC 6979 and RFC 8032 test keys, as in the test config.
    let sendgrid = "private:MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgya+p2EW6dRZrXCFXZ7HWk05Qw9s26JsSe4piKxIPZyGhRANCAARg/tS6JVqdMclh63TGNW1owEm4kjth+mzmaWIuYPKftnkD/hAIuLyZpBrp6VYovGTy8bIMLX6fUXejwpTURiKZ";
    let discord = "private:9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let cases: Vec<(&str, &str, &[&str], &str)> = vec![
        ("stripe", "whsec_test_stripe_old", &[], &body),
        ("github", "test-github", &[], &body),
        (
            "standard",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            &[],
            &body,
        ),
        ("shopify", "test-shopify", &[], &body),
        ("slack", "test-slack", &[], &body),
        ("paddle", "pdl_ntfset_test", &[], &body),
        ("square", "test-square", &square, &body),
        ("adyen", adyen, &[], &body),
        ("razorpay", "test-razorpay", &[], &body),
        ("braintree", "test_public:test_private", &[], &payload),
        ("checkout", "test-checkout", &[], &body),
        ("gocardless", "test-gocardless", &[], &body),
        ("lemonsqueezy", "test-lemonsqueezy", &[], &body),
        ("coinbase", "test-coinbase", &[], &body),
        ("intercom", "test-intercom", &[], &body),
        ("typeform", "test-typeform", &[], &body),
        ("twilio", "test-twilio", &twilio, &body),
        ("sendgrid", sendgrid, &[], &body),
        ("discord", discord, &[], &body),
        ("zoom", "test-zoom", &[], &body),
        ("twitch", "test-twitch", &[], &body),
        ("mailgun", "test-mailgun", &[], &body),
        ("linear", "test-linear", &[], &body),
        ("hubspot", "test-hubspot", &hubspot, &body),
    ];
    for (source, secret, extra, body) in cases {
        let (code, out, err) = hookbox(&[
            "sign",
            "--source",
            source,
            "--body-file",
            body,
            "--config",
            &config,
        ]);
        assert_eq!(code, 0, "{source}: {err}");
        // Schemes that sign inside the body print it after a blank line.
        let (head, signed_body) = match out.split_once("\n\n") {
            Some((head, rest)) => {
                let file = format!("{source}.signed");
                let rest = rest.strip_suffix('\n').unwrap_or(rest);
                (head, write_temp(dir.path(), &file, rest.as_bytes()))
            }
            None => (out.as_str(), body.to_owned()),
        };
        let mut args = vec![
            "verify",
            "--scheme",
            source,
            "--secret",
            secret,
            "--body-file",
            &signed_body,
        ];
        args.extend_from_slice(extra);
        for line in head.lines() {
            args.extend(["--header", line]);
        }
        let (code, out, _) = hookbox(&args);
        assert_eq!((code, out.trim()), (0, "valid"), "{source}");
    }
    let (code, _, err) = hookbox(&[
        "sign",
        "--source",
        "nope",
        "--body-file",
        &body,
        "--config",
        &config,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn serve_reports_config_errors_with_file_and_key() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_temp(
        dir.path(),
        "bad.toml",
        b"[sources.gh]\nscheme = \"github\"\n",
    );
    let (code, _, err) = hookbox(&["serve", "--config", &config]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.toml") && err.contains("sources.gh.secrets"),
        "{err}"
    );
}

#[test]
fn serve_exits_zero_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let text = support::backend::with_storage(support::BASE_CONFIG, &data);
    let config = write_temp(dir.path(), "config.toml", text.as_bytes());
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--config",
            &config,
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&data)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait (bounded) for the start-up line, then ask it to stop.
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no start-up line");
        match lines.next() {
            Some(Ok(line)) if line.contains("hookbox started") => break,
            Some(_) => {}
            None => panic!("hookbox exited before starting"),
        }
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    if support::backend::postgres_under_test().is_none() {
        assert!(data.join("db").exists(), "the store was created");
    }
}

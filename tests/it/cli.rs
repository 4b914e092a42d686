//! The `hookbox` binary: `verify` and `sign` exit codes, output to a closed pipe, `serve`
//! (with or without the subcommand) shutting down cleanly on SIGTERM, and `config check`.

use crate::support;

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
    hookbox_in(std::path::Path::new("."), args)
}

/// Runs hookbox in `dir`, where a default `config.toml` would be looked for.
fn hookbox_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run hookbox");
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

/// `--body-file -` reads the body from standard input, for `sign` and `verify` alike.
#[test]
fn sign_and_verify_read_the_body_from_stdin() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("dir");
    let secret = "test-github-stdin-secret";
    let config = format!("[sources.gh]\nscheme = \"github\"\nsecrets = [\"{secret}\"]\n");
    let config = write_temp(dir.path(), "config.toml", config.as_bytes());
    let with_stdin = |args: &[&str]| {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run hookbox");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"{\"piped\":true}").expect("write");
        drop(stdin);
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let headers = with_stdin(&[
        "sign",
        "--source",
        "gh",
        "--body-file",
        "-",
        "--config",
        &config,
    ]);
    let mut args = vec![
        "verify",
        "--scheme",
        "github",
        "--secret",
        secret,
        "--body-file",
        "-",
    ];
    for line in headers.lines() {
        args.extend(["--header", line]);
    }
    assert_eq!(with_stdin(&args).trim(), "valid");
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
    serves_and_exits_zero_on_sigterm(&["serve"], support::BASE_CONFIG);
}

#[test]
fn serve_options_work_without_the_serve_subcommand() {
    serves_and_exits_zero_on_sigterm(&[], support::BASE_CONFIG);
}

#[test]
fn start_up_warns_about_no_sources_and_a_zero_tolerance() {
    let admin = "[admin]\ntoken = \"test-admin-token-0123456789\"\n";
    let lines = serves_and_exits_zero_on_sigterm(&[], admin);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("no sources are configured")),
        "{lines:#?}"
    );
    let zero = format!(
        "{admin}[sources.s]\nscheme = \"stripe\"\nsecrets = [\"whsec_x\"]\ntolerance = \"0s\"\n"
    );
    let lines = serves_and_exits_zero_on_sigterm(&[], &zero);
    assert!(
        lines.iter().any(|l| l.contains("tolerance is 0")),
        "{lines:#?}"
    );
}

/// Started with an open-files limit (hard, so it cannot be raised) below
/// `server.max_connections`, hookbox says so; with room to raise it, it does and says nothing.
#[cfg(unix)]
#[test]
fn start_up_warns_when_the_open_files_limit_is_too_low() {
    let toml =
        "[admin]\ntoken = \"test-admin-token-0123456789\"\n[server]\nmax_connections = 1024\n";
    let mut low = Command::new("sh");
    low.args(["-c", "ulimit -n 256 && exec \"$0\" \"$@\"", BIN]);
    let lines = serves_and_exits_zero_on_sigterm_as(low, &["serve"], toml);
    assert!(
        lines.iter().any(|l| l.contains("open-files limit")),
        "{lines:#?}"
    );
    let mut raisable = Command::new("sh");
    raisable.args(["-c", "ulimit -Sn 256 && exec \"$0\" \"$@\"", BIN]);
    let lines = serves_and_exits_zero_on_sigterm_as(raisable, &["serve"], toml);
    assert!(
        !lines.iter().any(|l| l.contains("open-files limit")),
        "{lines:#?}"
    );
}

/// Runs `hookbox <first> --config … --listen 127.0.0.1:0 --data-dir …` with `toml` until it
/// has started, then sends SIGTERM and expects exit status 0. Returns the log lines up to the
/// start-up line.
fn serves_and_exits_zero_on_sigterm(first: &[&str], toml: &str) -> Vec<String> {
    serves_and_exits_zero_on_sigterm_as(Command::new(BIN), first, toml)
}

/// [`serves_and_exits_zero_on_sigterm`] running `command` (hookbox, or a shell that execs it).
fn serves_and_exits_zero_on_sigterm_as(
    mut command: Command,
    first: &[&str],
    toml: &str,
) -> Vec<String> {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let text = support::backend::with_storage(toml, &data);
    let config = write_temp(dir.path(), "config.toml", text.as_bytes());
    let mut child = command
        .args(first)
        .args(["--config", &config, "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait (bounded) for the start-up line, then ask it to stop.
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "no start-up line");
        match lines.next() {
            Some(Ok(line)) if line.contains("hookbox started") => break,
            Some(Ok(line)) => seen.push(line),
            Some(Err(_)) => {}
            None => panic!("hookbox {first:?} exited before starting: {seen:#?}"),
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
        assert!(
            data.join("hookbox-store.json").exists(),
            "the store was created"
        );
    }
    seen
}

#[cfg(unix)]
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let dir = tempfile::tempdir().expect("dir");
    let config = write_temp(dir.path(), "config.toml", support::BASE_CONFIG.as_bytes());
    let body = write_temp(dir.path(), "body.json", br#"{"id":"evt_1"}"#);
    // A pipe whose reader is already gone, as `| head -1` leaves it once head has exited.
    let mut fds = [0; 2];
    // SAFETY: `pipe` fills `fds` with two new descriptors; each is owned exactly once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    drop(unsafe { OwnedFd::from_raw_fd(fds[0]) });
    let writer = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    let out = Command::new(BIN)
        .args([
            "sign",
            "--source",
            "stripe",
            "--body-file",
            &body,
            "--config",
            &config,
        ])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run hookbox sign");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// `hookbox migrate` copies every event — state, attempt history, body — from sled into redb,
/// verified by counts; a second run writes nothing; then on to PostgreSQL when the suite has one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_every_event_and_is_safe_to_run_again() {
    use hookbox::config::{StorageBackend, StorageConfig};
    use hookbox::store::{Accepted, Attempt, NewEvent, Next, Outcome, State, Store};

    let dir = tempfile::tempdir().expect("dir");
    let (old, new) = (dir.path().join("sled"), dir.path().join("redb"));
    let open = |backend, data_dir: &std::path::Path| StorageConfig {
        backend,
        data_dir: data_dir.to_path_buf(),
        ..StorageConfig::default()
    };
    let sled = Store::open(&open(StorageBackend::Sled, &old))
        .await
        .expect("open sled");
    for i in 0..1500u64 {
        let event = NewEvent {
            source: "stripe".into(),
            id: format!("evt_{i}"),
            received_at: 1_700_000_000_000 + i,
            event_type: Some("charge.succeeded".into()),
            headers: vec![("content-type".into(), "application/json".into())],
            body: format!("{{\"id\":\"evt_{i}\"}}").into(),
            ordering: None,
        };
        assert_eq!(sled.accept(event).await.expect("accept"), Accepted::New);
    }
    let claimed = sled
        .claim_due(1_700_000_000_000, 1, 5, &mut |_| Some(60_000))
        .await
        .expect("claim")
        .remove(0);
    let attempt = Attempt {
        number: 1,
        started_at: 1_700_000_000_000,
        duration_ms: 3,
        outcome: Outcome::Permanent,
        status: Some(400),
        exit_code: None,
        error: Some("HTTP 400".into()),
    };
    let dead = Next::Dead("permanent failure".into());
    assert!(sled
        .record_attempt(&claimed.record, attempt, dead)
        .await
        .expect("record"));
    sled.close().await.expect("close");
    drop(sled);

    let from = format!("sled:{}", old.display());
    let to = format!("redb:{}", new.display());
    let (code, out, err) = hookbox(&["migrate", "--from", &from, "--to", &to]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("migrated 1500 events"), "{out}");
    assert!(out.contains("1500 written"), "{out}");
    let (code, out, err) = hookbox(&["migrate", "--from", &from, "--to", &to]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 written, 1500 already there"), "{out}");

    let redb = Store::open(&open(StorageBackend::Redb, &new))
        .await
        .expect("open redb");
    assert_eq!(redb.count().await.expect("count"), 1500);
    assert_eq!(redb.pending(), 1499, "the dead one is not pending");
    let id = &claimed.record.id;
    let record = redb.get("stripe", id).await.expect("get").expect("copied");
    assert_eq!(record.state, State::Dead);
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(record.attempts[0].status, Some(400));
    let body = redb
        .body("stripe", "evt_7")
        .await
        .expect("body")
        .expect("copied");
    assert_eq!(&body[..], br#"{"id":"evt_7"}"#);
    redb.close().await.expect("close");
    drop(redb);

    let (code, _, err) = hookbox(&["migrate", "--from", &to, "--to", &from]);
    assert_eq!(code, 1, "migrating into sled is refused");
    assert!(err.contains("not supported"), "{err}");
}

/// `hookbox migrate` into PostgreSQL: every event of a redb store is written there.
#[tokio::test]
#[ignore = "needs PostgreSQL: set HOOKBOX_TEST_DATABASE_URL"]
async fn migrate_copies_a_redb_store_into_postgres() {
    use hookbox::config::{StorageBackend, StorageConfig};
    use hookbox::store::{Accepted, NewEvent, Store};

    let Some(url) = support::backend::postgres_url() else {
        support::backend::cannot_run("HOOKBOX_TEST_DATABASE_URL is not set: migrate to PostgreSQL");
    };
    let dir = tempfile::tempdir().expect("dir");
    let new = dir.path().join("redb");
    let cfg = StorageConfig {
        backend: StorageBackend::Redb,
        data_dir: new.clone(),
        ..StorageConfig::default()
    };
    let redb = Store::open(&cfg).await.expect("open redb");
    for i in 0..1500u64 {
        let event = NewEvent {
            source: "stripe".into(),
            id: format!("evt_{i}"),
            received_at: 1_700_000_000_000 + i,
            event_type: Some("charge.succeeded".into()),
            headers: vec![("content-type".into(), "application/json".into())],
            body: format!("{{\"id\":\"evt_{i}\"}}").into(),
            ordering: None,
        };
        assert_eq!(redb.accept(event).await.expect("accept"), Accepted::New);
    }
    redb.close().await.expect("close");
    drop(redb);

    let to = format!("redb:{}", new.display());
    let schema = support::backend::schema_for(&new);
    let config = write_temp(
        dir.path(),
        "pg.toml",
        format!("[storage]\ndatabase_schema = \"{schema}\"\n[sources.s]\nscheme = \"github\"\nsecrets = [\"x\"]\n").as_bytes(),
    );
    // Written as `--help` documents it: `postgres:` then the whole URL.
    let pg = format!("postgres:{url}");
    let (code, out, err) = hookbox(&["migrate", "--config", &config, "--from", &to, "--to", &pg]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1500 written"), "{out}");
}

/// `hookbox compact` refuses a store a running hookbox holds, compacts it once stopped (after
/// a SIGKILL too), and refuses a configuration whose backend is not redb.
#[cfg(unix)]
#[tokio::test]
async fn compact_waits_for_the_store_to_be_free_and_names_what_it_did() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let storage = format!(
        "[storage]\nbackend = \"redb\"\ndata_dir = {}\n",
        toml::Value::String(data.display().to_string())
    );
    // A port of its own: nothing on this machine is promised to leave 8080 free.
    let text = (support::BASE_CONFIG.replace("[storage]\n", &storage))
        .replace("[server]\n", "[server]\nlisten = \"127.0.0.1:0\"\n");
    let config = write_temp(dir.path(), "config.toml", text.as_bytes());
    let running = support::process::Hookbox::start(std::path::Path::new(&config)).await;
    let (code, _, stderr) = hookbox(&["compact", "--config", &config]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("in use"), "{stderr}");
    running.kill();

    let (code, stdout, stderr) = hookbox(&["compact", "--config", &config]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("compacted "), "{stdout}");
    assert!(stdout.contains("events.redb"), "{stdout}");

    let pg = text.replace(
        "backend = \"redb\"",
        "backend = \"postgres\"\ndatabase_url = \"postgres://u@127.0.0.1/x\"",
    );
    let pg_config = write_temp(dir.path(), "pg.toml", pg.as_bytes());
    let (code, _, stderr) = hookbox(&["compact", "--config", &pg_config]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not redb"), "{stderr}");

    // Where there is no config.toml, --data-dir is enough.
    let empty = tempfile::tempdir().expect("dir");
    let data = data.display().to_string();
    let (code, stdout, stderr) = hookbox_in(empty.path(), &["compact", "--data-dir", &data]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("compacted "), "{stdout}");
}

/// A bare `hookbox` where there is no config.toml says what to do, not only that it failed.
#[test]
fn a_missing_config_says_what_to_do() {
    let empty = tempfile::tempdir().expect("dir");
    for args in [&[][..], &["config", "check"][..]] {
        let (code, _, stderr) = hookbox_in(empty.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("config.toml: cannot read"), "{stderr}");
        assert!(stderr.contains("pass --config FILE"), "{stderr}");
    }
}

#[test]
fn config_check_validates_without_binding_or_opening_the_store() {
    let dir = tempfile::tempdir().expect("dir");
    // serve could not start here: the port is taken and the data dir does not exist yet.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let data = dir.path().join("data");
    let config = format!(
        r#"
[server]
listen = "{listen}"
[storage]
data_dir = "{data}"
[admin]
token = "insecuredev-admin-token"
[sources.stripe]
scheme = "stripe"
secrets = ["whsec_insecuredev_stripe"]
[sources.stripe.handler]
type = "forward"
url = "http://hookbox:s3cret@127.0.0.1:3000/hooks?key=s3cret"
secret = "whsec_insecuredevhookboxforwardsecret0"
[sources.shop]
scheme = "github"
secrets = ["a-real-looking-secret"]
[[sources.shop.routes]]
name = "billing"
[[sources.shop.routes]]
name = "audit"
handler = {{ type = "command", program = "/bin/true" }}
"#,
        listen = taken.local_addr().expect("addr"),
        data = data.display(),
    );
    let file = write_temp(dir.path(), "hookbox.toml", config.as_bytes());
    let (code, out, err) = hookbox(&["config", "check", "--config", &file]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with(&format!("{file}: valid\n")), "{out}");
    assert!(
        out.contains("  stripe (stripe) → forward http://127.0.0.1:3000/hooks\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "  shop (github), routes:\n    billing → log\n    audit → command /bin/true\n"
        ),
        "{out}"
    );
    // Every warning serve logs at start, and nothing secret.
    assert!(out.contains("warnings: 2\n"), "{out}");
    assert!(
        out.contains(
            "  sources with a shipped development or published test secret (anyone can sign \
             for them): stripe; set <SOURCE>_WEBHOOK_SECRET for each, e.g. STRIPE_WEBHOOK_SECRET\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("the admin token is the shipped development one"),
        "{out}"
    );
    for secret in [
        "s3cret",
        "whsec_",
        "a-real-looking-secret",
        "insecuredev-admin-token",
    ] {
        assert!(!out.contains(secret), "{secret} printed: {out}");
    }
    assert!(!data.exists(), "config check opened the store");

    let broken = write_temp(dir.path(), "broken.toml", b"[worker]\nconcurency = 4\n");
    let (code, out, err) = hookbox(&["config", "check", "--config", &broken]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains(&broken) && err.contains("concurency"), "{err}");
}

#[test]
fn completions_and_the_man_page_come_from_the_command_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = hookbox(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for word in ["events", "requeue", "check", "data-dir"] {
            assert!(out.contains(word), "{shell} completions lack {word}");
        }
    }
    let dir = tempfile::tempdir().expect("dir");
    let (_, bash, _) = hookbox(&["completions", "bash"]);
    let script = write_temp(dir.path(), "hookbox.bash", bash.as_bytes());
    let syntax = Command::new("bash")
        .args(["-n", &script])
        .status()
        .expect("bash");
    assert!(syntax.success(), "the bash completions do not parse");
    let (code, man, err) = hookbox(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(man.contains(".TH hookbox 1"), "{man}");
    for section in ["config", "events", "migrate", "completions"] {
        assert!(man.contains(section), "the man page lacks {section}");
    }
    assert_eq!(
        hookbox(&["completions", "tcsh"]).0,
        2,
        "an unknown shell is a usage error"
    );
}

#[test]
fn config_check_reads_the_certificate_files_and_names_the_admin_listener() {
    let pki = support::pki::Pki::new();
    let (cert, key) = pki.server_pem(&["hooks.example.com"]);
    let (cert, key) = (pki.file("c.pem", &cert), pki.file("k.pem", &key));
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[server.tls]\ncert_file = {:?}\nkey_file = {:?}\n\
         [admin]\nlisten = \"127.0.0.1:0\"\n\
         [sources.gh]\nscheme = \"github\"\nsecrets = [\"a-real-looking-secret\"]\n",
        cert.display().to_string(),
        key.display().to_string(),
    );
    let file = write_temp(dir.path(), "hookbox.toml", config.as_bytes());
    let (code, out, err) = hookbox(&["config", "check", "--config", &file]);
    assert_eq!(code, 0, "{out}{err}");
    let tls = format!(
        "tls:      {} for hooks.example.com (valid until ",
        cert.display()
    );
    assert!(out.contains(&tls), "{out}");
    assert!(out.contains("admin:    127.0.0.1:0 "), "{out}");
    assert!(
        out.contains("[server.tls]\ncert_file = "),
        "the effective config: {out}"
    );
}

//! Named admin tokens with roles, and the audit log of operator actions: a `read` token reads
//! but is refused actions (403, audited), an `operate` token's actions are audited with their
//! targets, the log survives a restart, `hookbox events audit` prints it, and `hookbox compact`
//! and `hookbox migrate` record themselves in the store they act on.

use std::path::Path;
use std::process::Output;

use http::Method;
use serde_json::Value;
use tokio::process::Command;

use super::{config_with_failing, deliver, settled, status};
use crate::support::{bearer, get_as, send, Reply, TestServer, TEST_ADMIN_TOKEN};

const BIN: &str = env!("CARGO_BIN_EXE_hookbox");
const READ_TOKEN: &str = "dashboard-token-0123456789";
const OPERATE_TOKEN: &str = "oncall-token-0123456789";

/// [`config_with_failing`] plus a `read` token `dashboard` and an `operate` token `oncall`.
fn config_with_tokens() -> String {
    format!(
        "{}\n[[admin.tokens]]\nname = \"dashboard\"\nrole = \"read\"\ntoken = \"{READ_TOKEN}\"\n\
         [[admin.tokens]]\nname = \"oncall\"\nrole = \"operate\"\ntoken = \"{OPERATE_TOKEN}\"\n",
        config_with_failing()
    )
}

async fn call(server: &TestServer, method: Method, path: &str, token: Option<&str>) -> Reply {
    send(method, &server.url(path), &bearer(token), b"").await
}

/// The items of `GET /admin/audit?<query>`, read with `token`.
async fn audit(server: &TestServer, query: &str, token: &str) -> Vec<Value> {
    let reply = get_as(&server.url(&format!("/admin/audit?{query}")), Some(token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.json()["items"].as_array().expect("items").clone()
}

/// `(token, role, action, outcome, status, targets)` of each record.
fn summary(items: &[Value]) -> Vec<(String, String, String, String, u64, Vec<String>)> {
    let text = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    items
        .iter()
        .map(|r| {
            let targets = r["targets"].as_array().expect("targets");
            (
                text(&r["token"]),
                text(&r["role"]),
                text(&r["action"]),
                text(&r["outcome"]),
                r["status"].as_u64().unwrap_or(0),
                targets.iter().map(text).collect(),
            )
        })
        .collect()
}

fn row(
    token: &str,
    role: &str,
    action: &str,
    outcome: &str,
    status: u64,
) -> (String, String, String, String, u64, Vec<String>) {
    let strings = |s: &str| s.to_owned();
    (
        strings(token),
        strings(role),
        strings(action),
        strings(outcome),
        status,
        vec!["failing/f1".into()],
    )
}

#[tokio::test]
async fn a_read_token_reads_is_refused_actions_and_every_action_is_audited_across_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start_in(&config_with_tokens(), dir.path()).await;
    deliver(&server, "failing", "f1", r#"{"n":1}"#).await;
    settled(&server, "failing", "f1", 0).await;

    for path in [
        "/admin/events",
        "/admin/counts",
        "/events/failing/f1",
        "/admin/audit",
    ] {
        let reply = call(&server, Method::GET, path, Some(READ_TOKEN)).await;
        assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
    }
    let requeue = "/admin/events/failing/f1/requeue";
    let refused = call(&server, Method::POST, requeue, Some(READ_TOKEN)).await;
    assert_eq!(refused.assert_problem(403), "urn:hookbox:problem:forbidden");
    assert!(refused.json()["detail"]
        .as_str()
        .unwrap()
        .contains("dashboard"));
    let refused = call(
        &server,
        Method::DELETE,
        "/admin/events/failing/f1",
        Some(READ_TOKEN),
    )
    .await;
    refused.assert_problem(403);
    let bulk = call(
        &server,
        Method::POST,
        "/admin/requeue?source=failing",
        Some(READ_TOKEN),
    )
    .await;
    bulk.assert_problem(403);
    assert_eq!(
        status(&server, "failing", "f1").await["state"],
        "dead",
        "nothing happened"
    );
    // Without a known token nothing is done, and nothing is written to the log.
    let anonymous = call(&server, Method::POST, requeue, Some("not-a-token-at-all")).await;
    anonymous.assert_problem(401);

    let done = call(&server, Method::POST, requeue, Some(OPERATE_TOKEN)).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    settled(&server, "failing", "f1", 1).await;
    let discarded = call(
        &server,
        Method::DELETE,
        "/admin/events/failing/f1",
        Some(OPERATE_TOKEN),
    )
    .await;
    assert_eq!(discarded.status, 200, "{:?}", discarded.body);
    let legacy = call(&server, Method::POST, requeue, Some(TEST_ADMIN_TOKEN)).await;
    legacy.assert_problem(409);

    let items = audit(&server, "", READ_TOKEN).await;
    let mut expected = vec![
        row("admin", "operate", "requeue", "refused", 409),
        row("oncall", "operate", "discard", "done", 200),
        row("oncall", "operate", "requeue", "done", 200),
        row("dashboard", "read", "discard", "refused", 403),
        row("dashboard", "read", "requeue", "refused", 403),
    ];
    let bulk_row = &summary(&items)[3];
    assert_eq!(
        (bulk_row.0.as_str(), bulk_row.2.as_str(), bulk_row.4),
        ("dashboard", "bulk_requeue", 403)
    );
    let mut found = summary(&items);
    found.remove(3);
    assert_eq!(
        found, expected,
        "newest first, the anonymous request not among them"
    );
    for item in &items {
        assert_eq!(item["dryRun"], false);
        assert!(item["id"].is_string() && item["at"].as_u64().is_some());
    }
    assert_eq!(items[1]["count"], 1);
    assert_eq!(items[4]["count"], 0, "a refusal touched nothing");

    // Filters, and paging with the cursor.
    let oncall = audit(&server, "token=oncall", READ_TOKEN).await;
    assert_eq!(summary(&oncall), expected[1..3]);
    let discards = audit(&server, "action=discard", OPERATE_TOKEN).await;
    assert_eq!(
        summary(&discards),
        [expected[1].clone(), expected[3].clone()]
    );
    let first = get_as(&server.url("/admin/audit?limit=2"), Some(READ_TOKEN))
        .await
        .json();
    let cursor = first["nextCursor"].as_str().expect("more pages");
    let second = audit(&server, &format!("limit=2&cursor={cursor}"), READ_TOKEN).await;
    assert_eq!(summary(&second)[0].2, "requeue");
    let bad = get_as(&server.url("/admin/audit?cursor=%27x"), Some(READ_TOKEN)).await;
    bad.assert_problem(400);
    // `hookbox events audit` prints them, with UTC times.
    let out = events_audit(&server, READ_TOKEN, &["--token", "oncall"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (line, action) in lines[1..].iter().zip(["discard", "requeue"]) {
        for part in ["oncall", "operate", action, "done 200", "failing/f1", "Z "] {
            assert!(line.contains(part), "{part:?} in {line:?}");
        }
    }

    call(&server, Method::POST, "/admin/audit", Some(READ_TOKEN))
        .await
        .assert_problem(403);
    call(&server, Method::POST, "/admin/audit", Some(OPERATE_TOKEN))
        .await
        .assert_problem(405);

    server.stop().await;
    let server = TestServer::start_in(&config_with_tokens(), dir.path()).await;
    let after = audit(&server, "", OPERATE_TOKEN).await;
    // The 405 above was a POST by an operate token: it is in the log too.
    expected.insert(0, row("oncall", "operate", "post", "refused", 405));
    expected[0].5 = vec!["/admin/audit".into()];
    let mut found = summary(&after);
    found.remove(1); // the read token's POST /admin/audit, refused 403
    found.remove(4); // the bulk requeue, checked above
    assert_eq!(found, expected, "the audit log survives a restart");
    server.stop().await;
}

async fn events_audit(server: &TestServer, token: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["events", "--server", &server.url(""), "audit"])
        .args(args)
        .env("HOOKBOX_ADMIN_TOKEN", token)
        .output()
        .await
        .expect("run hookbox events audit")
}

fn redb_config(data: &Path) -> String {
    let storage = format!(
        "[storage]\nbackend = \"redb\"\ndata_dir = {}\n",
        toml::Value::String(data.display().to_string())
    );
    config_with_tokens().replace("[storage]\n", &storage)
}

/// `hookbox compact` writes an audit record into the store it compacted, read after a restart.
#[tokio::test]
async fn compact_is_audited_in_the_store_it_compacted() {
    let dir = tempfile::tempdir().expect("dir");
    let text = redb_config(&dir.path().join("data"));
    let file = dir.path().join("config.toml");
    std::fs::write(&file, &text).expect("write config");
    let mut config = hookbox::config::load_str(&text, "config.toml", &|_| None).expect("config");
    config.server.listen = ([127, 0, 0, 1], 0).into();
    TestServer::start_with(config.clone()).await.stop().await;

    let out = Command::new(BIN)
        .args(["compact", "--config"])
        .arg(&file)
        .env("USER", "alice")
        .output()
        .await
        .expect("run hookbox compact");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let server = TestServer::start_with(config).await;
    let items = audit(&server, "action=compact", READ_TOKEN).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["token"], "cli:alice");
    assert_eq!(items[0]["outcome"], "done");
    assert!(
        items[0].get("status").is_none(),
        "no HTTP status for the command line"
    );
    let target = items[0]["targets"][0].as_str().expect("target");
    assert!(target.ends_with("events.redb"), "{target}");
    server.stop().await;
}

/// `hookbox migrate` copies the audit log along and records itself in the target's.
#[tokio::test]
async fn migrate_carries_the_audit_log_and_records_itself_in_the_target() {
    use hookbox::config::{StorageBackend, StorageConfig};
    use hookbox::store::{AuditFilter, AuditRecord, Store};

    let dir = tempfile::tempdir().expect("dir");
    let (old, new) = (dir.path().join("sled"), dir.path().join("redb"));
    let cfg = |backend, data_dir: &Path| StorageConfig {
        backend,
        data_dir: data_dir.to_path_buf(),
        ..StorageConfig::default()
    };
    let sled = Store::open(&cfg(StorageBackend::Sled, &old))
        .await
        .expect("open sled");
    let earlier = AuditRecord::new(1_700_000_000_000, "oncall", "operate", "discard");
    sled.append_audit(vec![earlier.clone()])
        .await
        .expect("append");
    sled.close().await.expect("close");
    drop(sled);

    let (from, to) = (
        format!("sled:{}", old.display()),
        format!("redb:{}", new.display()),
    );
    let out = Command::new(BIN)
        .args(["migrate", "--from", &from, "--to", &to])
        .env("USER", "bob")
        .output()
        .await
        .expect("run hookbox migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let redb = Store::open(&cfg(StorageBackend::Redb, &new))
        .await
        .expect("open redb");
    let page = redb
        .list_audit(10, None, &AuditFilter::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 2, "{:?}", page.items);
    assert_eq!(page.items[1], earlier, "copied as it was");
    let migrate = &page.items[0];
    assert_eq!(
        (migrate.token.as_str(), migrate.action.as_str()),
        ("cli:bob", "migrate")
    );
    assert_eq!(
        migrate.targets,
        [format!("from {from}"), format!("to {to}")]
    );
    redb.close().await.expect("close");
}

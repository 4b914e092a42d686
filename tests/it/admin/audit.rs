//! Named admin tokens with roles, and the audit log of operator actions: a `read` token reads
//! but is refused actions (403, audited), an `operate` token's actions are audited with their
//! targets, the log survives a restart and its retention, and `hookbox events audit` prints it.

use std::process::Output;

use http::Method;
use serde_json::Value;
use tokio::process::Command;

use super::{config_with_failing, deliver, settled, status, LIMIT};
use crate::support::target::eventually;
use crate::support::{bearer, get_as, send, Reply, TestServer, TEST_ADMIN_TOKEN};

pub(super) const BIN: &str = env!("CARGO_BIN_EXE_hookbox");
pub(super) const READ_TOKEN: &str = "dashboard-token-0123456789";
const OPERATE_TOKEN: &str = "oncall-token-0123456789";

/// [`config_with_failing`] plus a `read` token `dashboard` and an `operate` token `oncall`.
pub(super) fn config_with_tokens() -> String {
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
pub(super) async fn audit(server: &TestServer, query: &str, token: &str) -> Vec<Value> {
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

/// The retention sweep drops audit records older than `admin.audit_retention`.
#[tokio::test]
async fn audit_records_go_after_their_retention() {
    let text = config_with_tokens()
        .replace(
            "[storage]\n",
            "[storage]\nretention = \"100ms\"\ndedupe_window = \"100ms\"\n",
        )
        .replace("[admin]\n", "[admin]\naudit_retention = \"2s\"\n");
    let server = TestServer::start(&text).await;
    let refused = call(
        &server,
        Method::DELETE,
        "/admin/events/failing/x",
        Some(READ_TOKEN),
    )
    .await;
    refused.assert_problem(403);
    assert_eq!(audit(&server, "", READ_TOKEN).await.len(), 1, "recorded");
    eventually("the audit record to expire", LIMIT, || async {
        audit(&server, "", READ_TOKEN)
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    server.stop().await;
}

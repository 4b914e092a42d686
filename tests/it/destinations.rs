//! Per-destination limits over real HTTP: a forward target that never answers holds at most
//! its destination's share of the worker, and a target that keeps failing has its circuit
//! opened, probed and closed again — visible in `/metrics` and `GET /admin/destinations`.

use crate::support;
use crate::support::flow;
use crate::support::target;

use flow::{attempts, config, deliver, forward, settled, INGEST_SECRET, LIMIT};
use serde_json::Value;
use support::{get, TestServer, TEST_ADMIN_TOKEN};
use target::{eventually, Answer, Target};

/// [`config`] plus a second source, `logs`, whose events are only logged, and the admin token.
fn with_log_source(worker: &str, handler: &str) -> String {
    let admin = format!("[admin]\ntoken = \"{TEST_ADMIN_TOKEN}\"\n");
    format!(
        "{}\n[sources.logs]\nscheme = \"standard\"\nsecrets = [\"{INGEST_SECRET}\"]\n",
        config(worker, handler).replace("[admin]\n", &admin)
    )
}

/// The one destination `GET /admin/destinations` lists.
async fn destination(server: &TestServer) -> Value {
    let reply = get(&server.url("/admin/destinations")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let json = reply.json();
    let list = json["destinations"].as_array().expect("destinations");
    assert_eq!(list.len(), 1, "{json}");
    list[0].clone()
}

#[tokio::test]
async fn a_hanging_destination_cannot_starve_other_sources() {
    let target = Target::start().await;
    target.answer_by_default(Answer::hang());
    let worker = "concurrency = 4\nretry_schedule = [\"1ms\"]\njitter = 0.0";
    let handler = forward(&target, "timeout = \"60s\"");
    let server = TestServer::start(&with_log_source(worker, &handler)).await;
    for i in 0..8 {
        deliver(&server, &format!("slow_{i}"), "{}", &[]).await;
    }
    // The default limit is half of worker.concurrency.
    eventually("two forwards in flight", LIMIT, || async {
        (target.inspect(|seen| seen.len()) == 2).then_some(())
    })
    .await;
    let d = destination(&server).await;
    assert_eq!(
        (d["inFlight"].as_u64(), d["limit"].as_u64()),
        (Some(2), Some(2)),
        "{d}"
    );
    assert_eq!(d["sources"], serde_json::json!(["app"]));

    for i in 0..6 {
        let id = format!("log_{i}");
        assert_eq!(server.deliver("logs", "{}", &id).await.status, 202);
    }
    for i in 0..6 {
        let url = server.url(&format!("/events/logs/log_{i}"));
        eventually("a log event to succeed", LIMIT, || async {
            (get(&url).await.json()["state"] == "succeeded").then_some(())
        })
        .await;
    }
    let metrics = String::from_utf8(get(&server.url("/metrics")).await.body.to_vec()).unwrap();
    let dest = format!("http://{}", target.addr);
    assert!(
        metrics.contains(&format!(
            "hookbox_destination_in_flight{{destination=\"{dest}\"}} 2"
        )),
        "{metrics}"
    );
    target.release();
    server.stop().await;
}

#[tokio::test]
async fn a_failing_destination_opens_its_circuit_probes_and_closes() {
    let target = Target::start().await;
    target.script([
        Answer::status(503),
        Answer::status(503),
        Answer::status(502),
    ]);
    let worker = "concurrency = 4\nretry_schedule = [\"1ms\"]\njitter = 0.0\nmax_attempts = 10\n\
                  circuit_failures = 3\ncircuit_cooldown = \"1s\"";
    let server = TestServer::start(&with_log_source(worker, &forward(&target, ""))).await;
    deliver(&server, "e1", "{}", &[]).await;

    let open = eventually("the circuit to open", LIMIT, || async {
        let d = destination(&server).await;
        (d["state"] == "open").then_some(d)
    })
    .await;
    assert_eq!(open["openedTotal"], 1, "{open}");
    assert!(open["openUntil"].is_u64(), "{open}");
    let metrics = String::from_utf8(get(&server.url("/metrics")).await.body.to_vec()).unwrap();
    let dest = format!("http://{}", target.addr);
    let series =
        format!("hookbox_destination_circuit_state{{destination=\"{dest}\",state=\"open\"}} 1");
    assert!(metrics.contains(&series), "{metrics}");

    // The script is used up: the probe gets 200 and closes the circuit.
    let s = settled(&server, "e1").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    let tries = attempts(&s);
    assert_eq!(tries.len(), 4, "{s}");
    // The probe waited for the cooldown, not for the 1 ms retry delay.
    let third_end =
        tries[2]["startedAt"].as_u64().unwrap() + tries[2]["durationMs"].as_u64().unwrap();
    assert!(
        tries[3]["startedAt"].as_u64().unwrap() >= third_end + 1000,
        "{s}"
    );
    // The event's result is stored by the attempt before the claim loop hears it ended, so
    // the destination's view follows a moment later.
    let closed = eventually("the circuit to close", LIMIT, || async {
        let d = destination(&server).await;
        (d["state"] == "closed").then_some(d)
    })
    .await;
    assert_eq!(closed["inFlight"].as_u64(), Some(0), "{closed}");
    assert_eq!(closed["consecutiveFailures"].as_u64(), Some(0), "{closed}");
    server.stop().await;
}

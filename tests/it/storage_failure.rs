//! A full disk: ingest answers 503 (never a 202 it cannot keep), and once space returns hookbox
//! takes events again without a restart and has lost none it acknowledged.
//!
//! The data dir lives on a small tmpfs filled with a ballast file; deleting the ballast returns
//! the space. Mounting needs root (CAP_SYS_ADMIN), so that test is `#[ignore]`d and runs with
//! `--include-ignored`.

use crate::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use http::Method;
use support::{get, send, Reply, TestServer, BASE_CONFIG};
use tokio::task::JoinSet;

/// A tmpfs mounted on a temp dir for the guard's lifetime.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "16m"), or `None` where this process may not mount.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status();
        matches!(status, Ok(s) if s.success()).then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy, so a panicking test that still holds files open does not leak the mount.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros to `path` until the file system is full; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("ballast");
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // Also take the last partial chunk's worth of space.
    let small = [0u8; 512];
    while let Ok(n @ 1..) = file.write(&small) {
        written += n as u64;
    }
    written
}

fn event(id: &str) -> String {
    // Big enough that every flush needs fresh pages, not just the tail of the last one.
    let pad = "x".repeat(4096);
    format!(r#"{{"id":"{id}","type":"charge.succeeded","pad":"{pad}"}}"#)
}

fn assert_unavailable(reply: &Reply) {
    assert_eq!(
        reply.assert_problem(503),
        "urn:hookbox:problem:storage-unavailable"
    );
    let retry: u64 = reply
        .header("retry-after")
        .expect("Retry-After on 503")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry >= 1);
}

/// The test config with its store in `data` on redb, the default, whatever backend the suite
/// runs on: these tests are about an embedded store's disk and files.
fn on_redb(data: &Path) -> hookbox::config::Config {
    let mut config = support::config_in(BASE_CONFIG, data);
    config.storage.backend = hookbox::config::StorageBackend::Redb;
    config
}

/// Delivering each acknowledged event again must find it: a duplicate, not a new event.
async fn assert_all_known(server: &TestServer, acked: &[String]) {
    for id in acked {
        let reply = server.deliver("stripe", &event(id), "").await;
        assert!(
            matches!(reply.status.as_u16(), 200 | 202),
            "{id}: {:?}",
            reply.body
        );
        assert_eq!(
            reply.json()["status"],
            "duplicate",
            "{id} was acknowledged but lost"
        );
    }
}

#[tokio::test]
#[ignore = "needs root: mounts a tmpfs"]
async fn full_disk_is_503_never_202_and_recovers_without_restart() {
    let Some(fs) = Tmpfs::mount("24m") else {
        support::backend::cannot_run("cannot mount a tmpfs here (needs root)");
    };
    let data: PathBuf = fs.path().join("data");
    let ballast = fs.path().join("ballast");
    let server = TestServer::start_with(on_redb(&data)).await;
    let mut acked: Vec<String> = Vec::new();
    for i in 0..20 {
        let id = format!("evt_before_{i}");
        let reply = server.deliver("stripe", &event(&id), "").await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
        acked.push(id);
    }

    assert!(fill(&ballast) > 0, "the ballast took some space");
    // Rounds of concurrent deliveries (sharing flushes) until the first 503. A 202 here is
    // allowed only because the write still fit (it must then survive like any other: checked at
    // the end); anything else is a bug.
    let mut refused = Vec::new();
    for round in 0..20 {
        let mut replies = JoinSet::new();
        for i in 0..10 {
            let id = format!("evt_full_{round}_{i}");
            let body = event(&id);
            let headers = server.sign("stripe", body.as_bytes(), "");
            let url = server.url("/webhooks/stripe");
            replies.spawn(async move {
                let reply = send(Method::POST, &url, &headers, body.as_bytes()).await;
                (id, reply)
            });
        }
        while let Some(done) = replies.join_next().await {
            let (id, reply) = done.expect("delivery task");
            match reply.status.as_u16() {
                202 => acked.push(id),
                503 => {
                    assert_unavailable(&reply);
                    refused.push(id);
                }
                other => panic!("unexpected {other} on a full disk: {:?}", reply.body),
            }
        }
        if !refused.is_empty() {
            break;
        }
    }
    let pending = refused
        .pop()
        .expect("a full disk must lead to a 503 within 200 deliveries");
    // While the disk stays full, the same delivery (as a provider would retry it) is refused;
    // the process is alive but not ready.
    for _ in 0..3 {
        let reply = server.deliver("stripe", &event(&pending), "").await;
        assert_unavailable(&reply);
    }
    assert_eq!(get(&server.url("/healthz")).await.status, 200);
    assert_eq!(get(&server.url("/readyz")).await.status, 503);

    // Space returns: the retried delivery is accepted within a bounded time, no restart.
    std::fs::remove_file(&ballast).expect("remove ballast");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut retries = 0;
    loop {
        retries += 1;
        let reply = server.deliver("stripe", &event(&pending), "").await;
        match reply.status.as_u16() {
            202 | 200 => break,
            503 => assert_unavailable(&reply),
            other => panic!("unexpected {other} after space returned: {:?}", reply.body),
        }
        assert!(
            Instant::now() < deadline,
            "hookbox did not take events again within 15 s of space returning"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{} acknowledged before the first 503 (at {pending}); accepted again on try {retries}",
        acked.len()
    );
    acked.push(pending);
    assert_eq!(get(&server.url("/readyz")).await.status, 200);
    for i in 0..5 {
        let id = format!("evt_after_{i}");
        let reply = server.deliver("stripe", &event(&id), "").await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
        acked.push(id);
    }
    assert_all_known(&server, &acked).await;
    server.stop().await;

    // And every acknowledged event is on disk, not just in memory.
    let server = TestServer::start_with(on_redb(&data)).await;
    assert_all_known(&server, &acked).await;
    server.stop().await;
}

/// The data dir deleted while serving (an operator's mistake, a cleanup script): every later
/// delivery is a 503 and the instance is not ready — never a 202 for an event written into a
/// file nobody will find again. Runs on redb, the default, whatever backend the suite is on.
#[tokio::test]
async fn a_deleted_data_dir_is_503_and_not_ready() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let server = TestServer::start_with(on_redb(&data)).await;
    let reply = server.deliver("stripe", &event("evt_kept"), "").await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(get(&server.url("/readyz")).await.status, 200);

    std::fs::remove_dir_all(&data).expect("delete the data dir");
    for i in 0..3 {
        let reply = server
            .deliver("stripe", &event(&format!("evt_lost_{i}")), "")
            .await;
        assert_unavailable(&reply);
    }
    assert_eq!(get(&server.url("/readyz")).await.status, 503);
    assert_eq!(
        get(&server.url("/healthz")).await.status,
        200,
        "alive, not ready"
    );
    assert!(
        !data.exists(),
        "the store was not recreated behind the operator's back"
    );
    server.stop().await;
}

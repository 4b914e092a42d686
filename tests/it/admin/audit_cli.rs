//! `hookbox compact` and `hookbox migrate` record themselves in the audit log of the store they
//! act on (the target, for a migration, which also receives the source's log).

use std::path::Path;

use tokio::process::Command;

use super::audit::{audit, config_with_tokens, BIN, READ_TOKEN};
use crate::support::TestServer;

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

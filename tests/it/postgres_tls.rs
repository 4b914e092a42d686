//! `sslmode` against the local PostgreSQL server: the test turns TLS on in the running cluster
//! with a server certificate from a throwaway CA (`ALTER SYSTEM` + `pg_reload_conf()`, which
//! does not disturb clients without TLS), opens the store with each mode, checks in
//! `pg_stat_ssl` whether its connections are encrypted, and puts the settings back.
//!
//! It needs `HOOKBOX_TEST_DATABASE_URL` pointing at a server on this machine, a superuser, and
//! root (to hand the key to the server's user), so it is `#[ignore]`d and runs with
//! `--include-ignored`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hookbox::config::{StorageBackend, StorageConfig};
use hookbox::store::Store;
use hookbox::verify::Secret;
use tokio_postgres::{Client, NoTls};

use crate::support::backend::{cannot_run, postgres_url};
use crate::support::pki::Pki;
use crate::support::target::eventually;

const SETTINGS: [&str; 3] = ["ssl_cert_file", "ssl_key_file", "ssl"];

/// The parts of the test database URL the cases rebuild it from.
struct Db {
    user: String,
    port: u16,
    dbname: String,
    schema: String,
}

impl Db {
    fn url(&self, host: &str, sslmode: &str, app: &str) -> String {
        format!(
            "postgres://{}@{host}:{}/{}?sslmode={sslmode}&application_name={app}",
            self.user, self.port, self.dbname
        )
    }

    /// Opens the store with `sslmode` on `host`, trusting `ca` (and the system's roots).
    async fn open(
        &self,
        host: &str,
        sslmode: &str,
        ca: Option<&Path>,
        app: &str,
    ) -> Result<Store, String> {
        let storage = StorageConfig {
            backend: StorageBackend::Postgres,
            database_url: Some(Secret::new(self.url(host, sslmode, app))),
            database_schema: Some(self.schema.clone()),
            database_ca_file: ca.map(Path::to_owned),
            pool_size: 2,
            ..StorageConfig::default()
        };
        Store::open(&storage).await.map_err(|e| e.to_string())
    }
}

async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// Whether the connections named `app` are encrypted (`None` while there are none).
async fn encrypted(admin: &Client, app: &str) -> Option<bool> {
    let row = admin
        .query_one(
            "SELECT bool_and(s.ssl), count(*) FROM pg_stat_ssl s \
             JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&app],
        )
        .await
        .expect("pg_stat_ssl");
    let count: i64 = row.get(1);
    (count > 0).then(|| row.get::<_, Option<bool>>(0).unwrap_or(false))
}

/// Writes the server's certificate and key into the data directory, owned by its owner (the
/// server's user), the key readable by it alone.
fn install(pki: &Pki, data_dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let owner = std::fs::metadata(data_dir)?;
    let (cert, key) = pki.server_pem(&["localhost"]);
    let cert_path = data_dir.join("hookbox-test-server.crt");
    let key_path = data_dir.join("hookbox-test-server.key");
    std::fs::write(&cert_path, cert)?;
    std::fs::write(&key_path, key)?;
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))?;
    for path in [&cert_path, &key_path] {
        std::os::unix::fs::chown(path, Some(owner.uid()), Some(owner.gid()))?;
    }
    Ok((cert_path, key_path))
}

#[tokio::test]
#[ignore = "needs PostgreSQL on this machine, its superuser and root: set HOOKBOX_TEST_DATABASE_URL"]
async fn sslmode_is_honoured_against_a_real_server() {
    let Some(url) = postgres_url() else {
        cannot_run("HOOKBOX_TEST_DATABASE_URL is not set")
    };
    let parsed: tokio_postgres::Config = url.parse().expect("HOOKBOX_TEST_DATABASE_URL");
    let admin = connect(&url).await;
    let superuser: bool = admin
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .expect("role")
        .get(0);
    let data_dir: String = admin
        .query_one("SELECT current_setting('data_directory')", &[])
        .await
        .expect("data_directory")
        .get(0);
    let pki = Pki::new();
    let installed = match superuser {
        true => install(&pki, Path::new(&data_dir)).map_err(|e| e.to_string()),
        false => Err("the test database user is not a superuser".into()),
    };
    let (cert, key) = match installed {
        Ok(files) => files,
        Err(why) => cannot_run(&format!("cannot install a server certificate: {why}")),
    };
    // What postgresql.auto.conf said before, to put back.
    let before = admin
        .query(
            "SELECT name, setting FROM pg_file_settings \
             WHERE sourcefile LIKE '%postgresql.auto.conf' AND name = ANY($1)",
            &[&SETTINGS.to_vec()],
        )
        .await
        .expect("pg_file_settings");
    // One statement at a time: ALTER SYSTEM refuses to run in a transaction block.
    let set = [
        format!("ALTER SYSTEM SET ssl_cert_file = '{}'", cert.display()),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", key.display()),
        "ALTER SYSTEM SET ssl = on".to_owned(),
        "SELECT pg_reload_conf()".to_owned(),
    ];
    for statement in set {
        admin.batch_execute(&statement).await.expect("enable TLS");
    }

    let db = Db {
        user: parsed.get_user().unwrap_or("postgres").to_owned(),
        port: parsed.get_ports().first().copied().unwrap_or(5432),
        dbname: parsed.get_dbname().unwrap_or("postgres").to_owned(),
        schema: format!("hb_tls_{:08x}", rand::random::<u32>()),
    };
    let cases = tokio::spawn(run_cases(db, pki.ca_file(), url.clone()));
    let outcome = cases.await;

    let mut restore = Vec::new();
    for name in SETTINGS {
        let prior = before.iter().find(|r| r.get::<_, String>(0) == name);
        restore.push(match prior {
            Some(row) => format!(
                "ALTER SYSTEM SET {name} = '{}'",
                row.get::<_, String>(1).replace('\'', "''")
            ),
            None => format!("ALTER SYSTEM RESET {name}"),
        });
    }
    restore.push("SELECT pg_reload_conf()".to_owned());
    for statement in restore {
        admin
            .batch_execute(&statement)
            .await
            .expect("restore settings");
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn run_cases(db: Db, ca: PathBuf, admin_url: String) {
    let admin = connect(&admin_url).await;
    // The reload is asynchronous: wait until the server presents the new certificate.
    eventually(
        "the server to present the test certificate",
        Duration::from_secs(10),
        || async {
            db.open("localhost", "verify-full", Some(&ca), "hb_tls_wait")
                .await
                .ok()
        },
    )
    .await;

    let store = (db
        .open("localhost", "verify-full", Some(&ca), "hb_tls_full")
        .await)
        .expect("verify-full");
    assert_eq!(encrypted(&admin, "hb_tls_full").await, Some(true));
    store.close().await.expect("close");

    let unknown = db
        .open("localhost", "verify-full", None, "hb_tls_x")
        .await
        .err()
        .unwrap_or_default();
    assert!(unknown.contains("unknown issuer"), "{unknown}");

    let mismatch = (db
        .open("127.0.0.1", "verify-full", Some(&ca), "hb_tls_x")
        .await)
        .err()
        .unwrap_or_default();
    assert!(
        mismatch.contains("does not match the host name"),
        "{mismatch}"
    );

    let store = (db
        .open("127.0.0.1", "verify-ca", Some(&ca), "hb_tls_ca")
        .await)
        .expect("verify-ca");
    assert_eq!(encrypted(&admin, "hb_tls_ca").await, Some(true));
    store.close().await.expect("close");

    for (mode, app, tls) in [
        ("require", "hb_tls_req", true),
        ("prefer", "hb_tls_pref", true),
        ("disable", "hb_tls_off", false),
    ] {
        let store = db.open("127.0.0.1", mode, None, app).await.expect(mode);
        assert_eq!(encrypted(&admin, app).await, Some(tls), "{mode}");
        store.close().await.expect("close");
    }

    let bad = db
        .open("127.0.0.1", "allow", None, "hb_tls_x")
        .await
        .err()
        .unwrap_or_default();
    assert!(bad.contains("sslmode \"allow\""), "{bad}");
    let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", db.schema);
    admin.batch_execute(&drop).await.expect("drop schema");
}

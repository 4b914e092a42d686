//! Loading and validation: defaults, environment overlay, and errors that name file and key.

use super::*;

pub(super) fn load_with(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_str(text, "t.toml", &move |name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

pub(super) fn invalid_key(result: Result<Config, ConfigError>) -> String {
    match result {
        Err(ConfigError::Invalid { file, key, .. }) => {
            assert_eq!(file, "t.toml");
            key
        }
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

pub(super) const GITHUB: &str = "[sources.gh]\nscheme = \"github\"\nsecrets = [\"a\"]\n";

#[test]
fn the_shipped_config_loads_and_warns_about_development_secrets() {
    let text = include_str!("../../config.toml");
    let config = load_with(text, &[]).expect("config.toml is valid");
    assert!(config.sources.iter().all(|s| s.uses_development_secret));
    assert!(config
        .sources
        .iter()
        .all(|s| matches!(s.routes[0].handler, HandlerConfig::Log)));

    let config = load_with(text, &[("STRIPE_WEBHOOK_SECRET", "whsec_a, whsec_b")]).expect("valid");
    let stripe = config.source("stripe").expect("stripe");
    let secrets: Vec<&str> = stripe.verifier.secrets.iter().map(|s| s.expose()).collect();
    assert_eq!(secrets, ["whsec_a", "whsec_b"]);
    assert!(!stripe.uses_development_secret);
}

#[test]
fn secrets_and_the_database_url_can_come_from_files() {
    let dir = tempfile::tempdir().expect("dir");
    let secret = dir.path().join("gh-secret");
    std::fs::write(&secret, "from-a-mounted-secret\n").expect("write");
    let url = dir.path().join("db-url");
    std::fs::write(&url, "postgres://u@127.0.0.1/x").expect("write");
    let (secret, url) = (secret.display().to_string(), url.display().to_string());
    let env = [
        ("GH_WEBHOOK_SECRET_FILE", secret.as_str()),
        ("HOOKBOX_DATABASE_URL_FILE", url.as_str()),
    ];
    let config = load_with(GITHUB, &env).expect("valid");
    let gh = config.source("gh").expect("gh");
    let secrets: Vec<&str> = gh.verifier.secrets.iter().map(|s| s.expose()).collect();
    assert_eq!(secrets, ["from-a-mounted-secret"]);
    let db = config.storage.database_url.as_ref().map(|u| u.expose());
    assert_eq!(db, Some("postgres://u@127.0.0.1/x"));

    let both = [
        ("GH_WEBHOOK_SECRET", "x"),
        ("GH_WEBHOOK_SECRET_FILE", secret.as_str()),
    ];
    match load_with(GITHUB, &both) {
        Err(ConfigError::Env { var, reason }) => {
            assert_eq!(var, "GH_WEBHOOK_SECRET");
            assert!(reason.contains("not both"), "{reason}");
        }
        other => panic!("both set must be refused: {:?}", other.map(|_| ())),
    }
    let missing = [("GH_WEBHOOK_SECRET_FILE", "/nonexistent/hookbox")];
    match load_with(GITHUB, &missing) {
        Err(ConfigError::Env { var, .. }) => assert_eq!(var, "GH_WEBHOOK_SECRET_FILE"),
        other => panic!(
            "an unreadable file must be refused: {:?}",
            other.map(|_| ())
        ),
    }
}

#[test]
fn defaults_apply() {
    let config = load_with(GITHUB, &[]).expect("valid");
    assert_eq!(config.storage.cache_capacity_bytes, 64 * 1024 * 1024);
    assert_eq!(config.storage.durability, Durability::Fsync);
    assert_eq!(config.server.log_format, LogFormat::Text);
    let json =
        load_with(&format!("[server]\nlog_format = \"json\"\n{GITHUB}"), &[]).expect("valid");
    assert_eq!(json.server.log_format, LogFormat::Json);
    let gh = config.source("gh").expect("gh");
    assert_eq!(gh.max_body_bytes, 1024 * 1024);
    assert_eq!(gh.routes[0].concurrency, config.worker.concurrency);
    assert_eq!(config.worker.attempts_allowed(), 10);
    assert!(gh.keep_headers.contains(&"x-github-event".to_owned()));
}

#[test]
fn errors_name_the_file_and_key() {
    let unknown = load_with("[server]\nlisten = \"127.0.0.1:1\"\nbogus = 1\n", &[]);
    match unknown {
        Err(ConfigError::Parse { file, message }) => {
            assert_eq!(file, "t.toml");
            assert!(message.contains("bogus"), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    let no_secret = load_with("[sources.gh]\nscheme = \"github\"\n", &[]);
    assert_eq!(invalid_key(no_secret), "sources.gh.secrets");
    let scheme = load_with("[sources.x]\nscheme = \"nope\"\nsecrets = [\"a\"]\n", &[]);
    assert_eq!(invalid_key(scheme), "sources.x.scheme");
    let square = load_with(
        "[sources.sq]\nscheme = \"square\"\nsecrets = [\"a\"]\n",
        &[],
    );
    assert_eq!(invalid_key(square), "sources.sq.notification_url");
    let bad_std = load_with(
        "[sources.s]\nscheme = \"standard\"\nsecrets = [\"whsec_!!\"]\n",
        &[],
    );
    assert_eq!(invalid_key(bad_std), "sources.s.secrets[0]");
    let name = load_with(
        "[sources.Bad]\nscheme = \"github\"\nsecrets = [\"a\"]\n",
        &[],
    );
    assert_eq!(invalid_key(name), "sources.Bad");
    let jitter = load_with(&format!("[worker]\njitter = 1.5\n{GITHUB}"), &[]);
    assert_eq!(invalid_key(jitter), "worker.jitter");
}

#[test]
fn the_error_message_never_contains_the_secret() {
    let text = "[sources.s]\nscheme = \"standard\"\nsecrets = [\"whsec_sup3r-s3cret!\"]\n";
    let message = load_with(text, &[]).expect_err("invalid").to_string();
    assert!(!message.contains("sup3r"), "{message}");
}

#[test]
fn forward_handlers_need_a_standard_secret_and_an_http_url() {
    let base = "[sources.gh]\nscheme = \"github\"\nsecrets = [\"a\"]\n[sources.gh.handler]\ntype = \"forward\"\n";
    let no_secret = load_with(&format!("{base}url = \"http://127.0.0.1:9/x\"\n"), &[]);
    assert_eq!(invalid_key(no_secret), "sources.gh.handler.secret");
    let env = [(
        "GH_FORWARD_SECRET",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )];
    let ok = load_with(&format!("{base}url = \"http://127.0.0.1:9/x\"\n"), &env).expect("valid");
    assert!(matches!(
        ok.source("gh").expect("gh").routes[0].handler,
        HandlerConfig::Forward(_)
    ));
    let bad_url = load_with(&format!("{base}url = \"ftp://x\"\n"), &env);
    assert_eq!(invalid_key(bad_url), "sources.gh.handler.url");
}

#[test]
fn signing_modes_need_what_they_sign_with() {
    let forward = "[sources.gh.handler]\ntype = \"forward\"\nurl = \"http://127.0.0.1:9/x\"\n";
    let base = format!("[sources.gh]\nscheme = \"github\"\nsecrets = [\"a\"]\n{forward}");
    for mode in ["stripe", "github"] {
        let no_secret = load_with(&format!("{base}signing = \"{mode}\"\n"), &[]);
        assert_eq!(
            invalid_key(no_secret),
            "sources.gh.handler.secret",
            "{mode}"
        );
        // Not Standard Webhooks: any non-empty secret will do.
        let ok = format!("{base}signing = \"{mode}\"\nsecret = \"plain text\"\n");
        load_with(&ok, &[]).expect(mode);
    }
    let none = load_with(&format!("{base}signing = \"none\"\n"), &[]).expect("valid");
    let HandlerConfig::Forward(f) = &none.source("gh").expect("gh").routes[0].handler else {
        panic!("a forward");
    };
    assert!(f.signer.is_none());
    let original = load_with(&format!("{base}signing = \"original\"\n"), &[]).expect("valid");
    let gh = original.source("gh").expect("gh");
    assert!(gh.keep_headers.contains(&"x-hub-signature-256".to_owned()));
    let HandlerConfig::Forward(f) = &gh.routes[0].handler else {
        panic!("a forward");
    };
    assert_eq!(
        f.original_headers,
        ["x-hub-signature-256", "x-github-delivery"]
    );
    let mailgun = format!("[sources.gh]\nscheme = \"mailgun\"\nsecrets = [\"a\"]\n{forward}");
    let inside = load_with(&format!("{mailgun}signing = \"original\"\n"), &[]);
    assert_eq!(invalid_key(inside), "sources.gh.handler.signing");
    let typo = load_with(&format!("{base}signing = \"svix\"\n"), &[]);
    assert!(typo.is_err());
}

#[test]
fn generic_hmac_needs_one_id_location() {
    let base =
        "[sources.h]\nscheme = \"hmac\"\nsecrets = [\"a\"]\n[sources.h.hmac]\nheader = \"x-sig\"\n";
    assert_eq!(invalid_key(load_with(base, &[])), "sources.h.hmac");
    let ok = load_with(&format!("{base}id_pointer = \"/id\"\n"), &[]).expect("valid");
    assert!(ok.source("h").expect("h").verifier.needs_json_body());
    let ts = load_with(
        &format!("{base}id_header = \"x-id\"\nsigned = \"{{timestamp}}.{{body}}\"\n"),
        &[],
    );
    assert_eq!(invalid_key(ts), "sources.h.hmac");
}

#[test]
fn storage_defaults_to_redb_and_postgres_needs_a_url() {
    let config = load_with(GITHUB, &[]).expect("valid");
    assert_eq!(config.storage.backend, StorageBackend::Redb);
    assert_eq!(config.storage.pool_size, 16);
    assert!(config.storage.database_url.is_none());

    let pg = format!("[storage]\nbackend = \"postgres\"\n{GITHUB}");
    assert_eq!(invalid_key(load_with(&pg, &[])), "storage.database_url");
    let url = "postgres://hookbox:pw@db.internal:5432/hookbox";
    let config = load_with(&pg, &[("HOOKBOX_DATABASE_URL", url)]).expect("valid");
    assert_eq!(config.storage.backend, StorageBackend::Postgres);
    assert_eq!(config.storage.database_url.expect("url").expose(), url);

    let with_schema = format!(
        "[storage]\nbackend = \"postgres\"\ndatabase_url = \"postgres://h/db\"\n\
         database_schema = \"Bad-Name\"\n{GITHUB}"
    );
    assert_eq!(
        invalid_key(load_with(&with_schema, &[])),
        "storage.database_schema"
    );
    let pool = format!("[storage]\npool_size = 0\n{GITHUB}");
    assert_eq!(invalid_key(load_with(&pool, &[])), "storage.pool_size");
    let backend = load_with(&format!("[storage]\nbackend = \"mysql\"\n{GITHUB}"), &[]);
    assert!(
        matches!(backend, Err(ConfigError::Parse { .. })),
        "{backend:?}"
    );
}

#[test]
fn the_environment_url_wins_over_the_files() {
    let text = format!(
        "[storage]\nbackend = \"postgres\"\ndatabase_url = \"postgres://file/db\"\n{GITHUB}"
    );
    let config = load_with(&text, &[("HOOKBOX_DATABASE_URL", "postgres://env/db")]).expect("ok");
    let url = config.storage.database_url.expect("url");
    assert_eq!(url.expose(), "postgres://env/db");
}

#[test]
fn the_database_password_never_shows() {
    let secret_url = "postgres://hookbox:s3cr3t-pw@db:5432/hookbox";
    let text = format!("[storage]\nbackend = \"postgres\"\n{GITHUB}");
    let config = load_with(&text, &[("HOOKBOX_DATABASE_URL", secret_url)]).expect("valid");
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    let bad = "postgres://hookbox:s3cr3t-pw@db:notaport/hookbox";
    let message = load_with(&text, &[("HOOKBOX_DATABASE_URL", bad)])
        .expect_err("invalid port")
        .to_string();
    assert!(message.contains("storage.database_url"), "{message}");
    assert!(!message.contains("s3cr3t"), "{message}");
}

#[test]
fn pass_headers_must_name_kept_headers() {
    let base =
        "[sources.gh]\nscheme = \"github\"\nsecrets = [\"a\"]\nkeep_headers = [\"X-Trace\"]\n\
                [sources.gh.handler]\ntype = \"forward\"\nurl = \"http://127.0.0.1:9/x\"\n\
                secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n";
    let kept = format!("{base}pass_headers = [\"x-trace\", \"X-GitHub-Event\"]\n");
    load_with(&kept, &[]).expect("kept headers (any case) may be passed");
    let not_kept = format!("{base}pass_headers = [\"x-other\"]\n");
    assert_eq!(
        invalid_key(load_with(&not_kept, &[])),
        "sources.gh.handler.pass_headers"
    );
    let own = format!("{base}pass_headers = [\"webhook-id\"]\n");
    assert_eq!(
        invalid_key(load_with(&own, &[])),
        "sources.gh.handler.pass_headers"
    );
}

#[test]
fn an_admin_token_must_be_usable_and_its_errors_name_where_it_came_from() {
    let spaces = format!("[admin]\ntoken = \"{}\"\n{GITHUB}", " ".repeat(16));
    assert_eq!(invalid_key(load_with(&spaces, &[])), "admin.token");
    let inner = format!("[admin]\ntoken = \"0123456789 abcdefgh\"\n{GITHUB}");
    assert_eq!(invalid_key(load_with(&inner, &[])), "admin.token");
    let blank = " ".repeat(16);
    for bad in [blank.as_str(), "short"] {
        match load_with(GITHUB, &[("HOOKBOX_ADMIN_TOKEN", bad)]) {
            Err(e @ ConfigError::Env { .. }) => {
                assert!(
                    e.to_string()
                        .starts_with("environment variable HOOKBOX_ADMIN_TOKEN"),
                    "{e}"
                );
            }
            other => panic!("expected an environment error, got {other:?}"),
        }
    }
    load_with(GITHUB, &[("HOOKBOX_ADMIN_TOKEN", "0123456789abcdef")])
        .expect("16 visible characters");
}

#[test]
fn listen_takes_host_names() {
    let config = load_with(
        &format!("[server]\nlisten = \"localhost:18120\"\n{GITHUB}"),
        &[],
    )
    .expect("a host name is fine");
    assert!(config.server.listen.ip().is_loopback());
    assert_eq!(config.server.listen.port(), 18120);
    let bad = load_with(&format!("[server]\nlisten = \"no port\"\n{GITHUB}"), &[]);
    assert!(matches!(bad, Err(ConfigError::Parse { .. })), "{bad:?}");
}

#[test]
fn ordering_settings_parse_and_are_refused_on_sled() {
    let ordered = format!("{GITHUB}ordering_key = \"/data/object/id\"\non_dead = \"skip\"\n");
    let config = load_with(&ordered, &[]).expect("valid on redb");
    let ordering = config
        .source("gh")
        .and_then(|s| s.routes[0].ordering.clone());
    assert_eq!(
        ordering,
        Some(crate::ordering::Ordering {
            key: crate::ordering::KeySpec::Pointer("/data/object/id".into()),
            on_dead: crate::ordering::OnDead::Skip,
        })
    );
    let header = format!("{GITHUB}ordering_key = \"header:X-Tenant\"\n");
    let on_dead = load_with(&header, &[]).expect("valid").sources[0].routes[0]
        .ordering
        .clone();
    assert_eq!(on_dead.map(|o| o.on_dead), Some(Default::default()));

    let bad = format!("{GITHUB}ordering_key = \"data.id\"\n");
    assert_eq!(invalid_key(load_with(&bad, &[])), "sources.gh.ordering_key");
    let alone = format!("{GITHUB}on_dead = \"block\"\n");
    assert_eq!(invalid_key(load_with(&alone, &[])), "sources.gh.on_dead");
    let typo = format!("{GITHUB}ordering_key = \"/id\"\non_dead = \"drop\"\n");
    assert!(matches!(
        load_with(&typo, &[]),
        Err(ConfigError::Parse { .. })
    ));

    let on_postgres = format!(
        "[storage]\nbackend = \"postgres\"\ndatabase_url = \"postgres://u@h/d\"\n{ordered}"
    );
    load_with(&on_postgres, &[]).expect("valid on PostgreSQL");
    let on_sled = format!("[storage]\nbackend = \"sled\"\n{ordered}");
    match load_with(&on_sled, &[]) {
        Err(ConfigError::Invalid { file, key, reason }) => {
            assert_eq!(
                (file.as_str(), key.as_str()),
                ("t.toml", "sources.gh.ordering_key")
            );
            assert!(
                reason.contains("redb") && reason.contains("postgres") && reason.contains("sled"),
                "{reason}"
            );
        }
        other => panic!("sled: expected a refusal, got {other:?}"),
    }
}

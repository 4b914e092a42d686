//! The database schema, its embedded migrations, and how connections find it.
//!
//! Migrations run at start-up in one transaction that first takes a transaction-level advisory
//! lock keyed by the schema name: instances starting at once queue on that lock, and each one
//! after the first finds the versions already recorded in `schema_migrations` and does nothing.

use std::path::Path;

use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::check_schema_name;
use crate::tls::postgres as postgres_tls;

use super::PgError;

/// `(version, SQL)`, applied in order, each once. Never edit a released entry: add a new one.
pub(super) const MIGRATIONS: &[(i32, &str)] = &[
    (1, V1_EVENTS),
    (2, V2_SKIPPED),
    (3, V3_ORDERING),
    (4, V4_AUDIT),
    (5, V5_META),
    (6, super::counts::V6_COUNTS),
    (7, V7_BODY_SEARCH),
];

/// One row per event: the `EventRecord` fields as columns, plus the body.
///
/// `source`/`id` use the "C" collation so that ordering (listing cursors) is plain byte order on
/// every server. `due_at` mirrors `EventRecord::due_at` and is what the queue is scanned by.
const V1_EVENTS: &str = r#"
CREATE TABLE events (
    source          text COLLATE "C" NOT NULL,
    id              text COLLATE "C" NOT NULL,
    received_at     bigint  NOT NULL,
    event_type      text,
    headers         jsonb   NOT NULL DEFAULT '[]',
    body            bytea,
    body_len        bigint  NOT NULL,
    state           text    NOT NULL
                    CHECK (state IN ('queued', 'processing', 'succeeded', 'dead')),
    attempt_count   integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    attempts        jsonb   NOT NULL DEFAULT '[]',
    next_attempt_at bigint,
    lease_until     bigint,
    claimed_at      bigint,
    last_error      text,
    finished_at     bigint,
    body_purged     boolean NOT NULL DEFAULT false,
    requeues        jsonb   NOT NULL DEFAULT '[]',
    due_at          bigint GENERATED ALWAYS AS (
                        CASE state
                            WHEN 'queued' THEN next_attempt_at
                            WHEN 'processing' THEN lease_until
                        END
                    ) STORED,
    PRIMARY KEY (source, id),
    CHECK (state <> 'queued' OR next_attempt_at IS NOT NULL),
    CHECK (state <> 'processing' OR (lease_until IS NOT NULL AND claimed_at IS NOT NULL)),
    CHECK (body IS NULL OR NOT body_purged)
);
-- The queue: queued and processing events by the time they are next due.
CREATE INDEX events_due ON events (due_at) WHERE due_at IS NOT NULL;
-- Retention: succeeded events whose body is still kept, then those only kept for dedupe.
CREATE INDEX events_to_purge ON events (finished_at) WHERE state = 'succeeded' AND NOT body_purged;
CREATE INDEX events_to_forget ON events (finished_at) WHERE state = 'succeeded' AND body_purged;
-- Listing by arrival, over all sources or one.
CREATE INDEX events_received ON events (received_at, source, id);
CREATE INDEX events_source_received ON events (source, received_at, id);
"#;

/// Routes: a route whose filter did not match an event is recorded `skipped` (final, no body),
/// and forgotten after the dedupe window like a succeeded event whose body was purged.
const V2_SKIPPED: &str = r#"
ALTER TABLE events DROP CONSTRAINT events_state_check;
ALTER TABLE events ADD CONSTRAINT events_state_check
    CHECK (state IN ('queued', 'processing', 'succeeded', 'dead', 'skipped'));
DROP INDEX events_to_forget;
CREATE INDEX events_to_forget ON events (finished_at)
    WHERE state IN ('succeeded', 'skipped') AND body_purged;
"#;

/// Per-key ordering: an ordered event's key, its `on_dead` ('block' or 'skip'), and its place in
/// its key's line (`seq`, from one sequence for all lines; given at insert and again when an
/// event that had left its line is requeued). A queued ordered row may have no
/// `next_attempt_at`: it waits behind its key's head, out of the queue (see `ordered.rs`). The index holds exactly the rows still in a line
/// (see `ordered.rs`), so finding the events ahead of one is a short range scan, and unordered
/// rows never enter it; a second one finds a key's processing event.
const V3_ORDERING: &str = r#"
CREATE SEQUENCE events_seq;
ALTER TABLE events
    ADD COLUMN ordering_key text COLLATE "C",
    ADD COLUMN on_dead text CHECK (on_dead IN ('block', 'skip')),
    ADD COLUMN seq bigint,
    ADD CONSTRAINT events_ordering_check
        CHECK ((ordering_key IS NULL) = (on_dead IS NULL) AND (ordering_key IS NULL) = (seq IS NULL)),
    -- A queued ordered row waiting behind its key's head has no next attempt (it is parked).
    DROP CONSTRAINT events_check,
    ADD CONSTRAINT events_queued_check
        CHECK (state <> 'queued' OR next_attempt_at IS NOT NULL OR ordering_key IS NOT NULL);
CREATE INDEX events_in_line ON events (source, ordering_key, seq)
    WHERE ordering_key IS NOT NULL
      AND (state IN ('queued', 'processing')
           OR (state = 'dead' AND on_dead = 'block' AND NOT body_purged));
-- The processing event of a key, if any (at most one, but a claim must be able to ask quickly).
CREATE INDEX events_line_processing ON events (source, ordering_key)
    WHERE ordering_key IS NOT NULL AND state = 'processing';
"#;

/// The audit log: one row per operator action, its id ordering it by time (see
/// `store::audit`), its record as JSON (the shape `GET /admin/audit` shows).
const V4_AUDIT: &str = r#"
CREATE TABLE audit (
    id     text COLLATE "C" PRIMARY KEY,
    record jsonb NOT NULL
);
"#;

/// Facts about the database as a whole; today only `migrating_from`, set while a
/// `hookbox migrate` into it has not finished (such a database is not served).
const V5_META: &str = r#"
CREATE TABLE hookbox_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
"#;

/// Body search (`where=` in a listing): the body as jsonb (NULL when it is purged or not JSON
/// text), and a GIN index over it that serves `@>` containment (see `postgres/search.rs`).
/// An expression index, so accept's `INSERT` does not change; the function is IMMUTABLE as an
/// expression index needs (it reads nothing but its argument). Bodies that do not start like a
/// JSON object or array skip the exception block and its subtransaction.
const V7_BODY_SEARCH: &str = r#"
CREATE FUNCTION hookbox_body_json(body bytea) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
    IF body IS NULL OR length(body) = 0 OR get_byte(body, 0) NOT IN (123, 91) THEN
        RETURN NULL;
    END IF;
    RETURN convert_from(body, 'UTF8')::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$fn$;
CREATE INDEX events_body_json ON events USING gin (hookbox_body_json(body) jsonb_path_ops);
"#;

/// Parses `url` and points its connections at `schema` (if any) through the start-up options,
/// so every pooled connection uses it without an extra round trip; and the TLS connector its
/// `sslmode` asks for, trusting the system's roots and `ca_file`.
pub fn connection_config(
    url: &str,
    schema: Option<&str>,
    ca_file: Option<&Path>,
) -> Result<(Config, MakeRustlsConnect), PgError> {
    let (url, mode) = postgres_tls::split_sslmode(url)
        .map_err(|e| PgError::Config(format!("database URL: {e}")))?;
    let tls = postgres_tls::connector(mode, ca_file)
        .map_err(|e| PgError::Config(format!("storage.database_ca_file: {e}")))?;
    let mut config: Config = url
        .parse()
        .map_err(|e| PgError::Config(format!("database URL: {e}")))?;
    config.ssl_mode(mode.for_driver());
    if config.get_application_name().is_none() {
        config.application_name("hookbox");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(super::POOL_TIMEOUT);
    }
    if let Some(schema) = schema {
        check_schema_name(schema).map_err(PgError::Config)?;
        add_option(&mut config, &format!("-c search_path={schema}"));
    }
    Ok((config, tls))
}

/// Appends a server option (`-c name=value`) to those the URL may already carry.
pub fn add_option(config: &mut Config, option: &str) {
    let options = match config.get_options() {
        Some(existing) if !existing.is_empty() => format!("{existing} {option}"),
        _ => option.to_owned(),
    };
    config.options(options);
}

/// The `LISTEN`/`NOTIFY` channel of the deployment living in `schema`.
pub fn channel(schema: Option<&str>) -> String {
    match schema {
        Some(schema) => format!("hookbox_events_{schema}"),
        None => "hookbox_events".to_owned(),
    }
}

/// Readies the database for connections made with `config`, on a connection of its own:
/// applies missing migrations, and makes sure commits wait for the disk (`synchronous_commit`
/// is switched back on in `config` if the server has it off, so that 202 means durable).
pub async fn prepare(
    config: &mut Config,
    schema: Option<&str>,
    tls: MakeRustlsConnect,
) -> Result<(), PgError> {
    let (mut client, connection) = config.connect(tls).await?;
    let driver = tokio::spawn(connection);
    let applied = migrate(&mut client, schema).await;
    let commit_off = synchronous_commit_is_off(&client).await;
    drop(client);
    let _ = driver.await;
    if applied? > 0 {
        let schema = schema.unwrap_or("(default)");
        tracing::info!(schema, "database schema migrated");
    }
    if commit_off? {
        tracing::warn!(
            "synchronous_commit is off on the server; hookbox turns it on for its own sessions"
        );
        add_option(config, "-c synchronous_commit=on");
    }
    Ok(())
}

/// Applies the migrations this database lacks; returns how many.
async fn migrate(client: &mut Client, schema: Option<&str>) -> Result<usize, PgError> {
    let tx = client.transaction().await?;
    let lock = format!("hookbox migrations {}", schema.unwrap_or(""));
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock])
        .await?;
    if let Some(schema) = schema {
        // Only after the lock: concurrent `CREATE SCHEMA IF NOT EXISTS` can still collide.
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema}"
        ))
        .await?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let done = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.try_get::<_, i32>(0))
        .collect::<Result<Vec<_>, _>>()?;
    let mut applied = 0;
    for (version, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
        applied += 1;
    }
    let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if let Some(newest) = done.iter().copied().filter(|v| *v > known).max() {
        tracing::warn!(
            database = newest,
            known,
            "the database schema is newer than this hookbox; running anyway"
        );
    }
    tx.commit().await?;
    Ok(applied)
}

/// True when the server would acknowledge commits before they are on disk.
async fn synchronous_commit_is_off(client: &Client) -> Result<bool, PgError> {
    let row = client
        .query_one("SELECT current_setting('synchronous_commit') = 'off'", &[])
        .await?;
    Ok(row.try_get(0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_appended_to_the_urls_own() {
        let (mut config, _) = connection_config(
            "postgres://u@h/db?options=-c%20statement_timeout%3D5s",
            Some("s1"),
            None,
        )
        .unwrap();
        assert_eq!(
            config.get_options(),
            Some("-c statement_timeout=5s -c search_path=s1")
        );
        add_option(&mut config, "-c synchronous_commit=on");
        assert!(config
            .get_options()
            .unwrap()
            .ends_with("synchronous_commit=on"));
        assert_eq!(config.get_application_name(), Some("hookbox"));
    }

    #[test]
    fn bad_urls_are_config_errors_without_the_url() {
        let err = connection_config("postgres://u:s3cret@h:notaport/db", None, None)
            .err()
            .expect("an error");
        assert!(matches!(err, PgError::Config(_)));
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}

//! Reading `config.toml`, overlaying the environment, and validating into a [`Config`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::admin::{build_admin, AdminError, RawAdmin};
use super::alerts::RawAlerts;
use super::alerts_load::build_alerts;
use super::env_file::FileEnv;
use super::key::{err, valid_name, KeyError};
use super::route::{build_routes, passes_original_signature, RouteContext};
use super::scheme::build_scheme;
use super::source::SourceConfig;
use super::{Config, ServerConfig, Source, StorageConfig, WorkerConfig};
use crate::verify::{self, Secret, Verifier};

/// A configuration problem, naming the file, the key and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (a missing one says what to do instead).
    #[error("{file}: cannot read: {source}{}", missing_hint(.source))]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema (the message names the key).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's description, with line, column and key.
        message: String,
    },
    /// A value taken from an environment variable is not acceptable.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable, e.g. `HOOKBOX_ADMIN_TOKEN`.
        var: String,
        /// What is wrong.
        reason: String,
    },
    /// A value is well-formed but not acceptable.
    #[error("{file}: {key}: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// Dotted key, e.g. `sources.stripe.secrets`.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// What a new user running hookbox where there is no config should do next.
fn missing_hint(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::NotFound {
        " (no config file here: pass --config FILE, e.g. the repository's config.toml, \
         and `hookbox config check --config FILE` checks one without starting anything)"
    } else {
        ""
    }
}

/// The whole file as written.
#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    storage: StorageConfig,
    #[serde(default)]
    worker: WorkerConfig,
    #[serde(default)]
    admin: RawAdmin,
    #[serde(default)]
    sources: BTreeMap<String, SourceConfig>,
    #[serde(default)]
    alerts: RawAlerts,
}

/// `text` (a config that loads) with defaults filled in and secrets redacted, as TOML (see
/// `effective` for how secrets print).
pub fn effective(text: &str) -> Result<String, String> {
    let raw: FileConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    toml::to_string(&raw).map_err(|e| e.to_string())
}

/// Loads `path`, overlaying secrets from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    load_str(&text, &file, &|name| std::env::var(name).ok())
}

/// Parses and validates `text` (named `file` in errors); `env` looks up environment variables.
pub fn load_str(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let raw: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
        file: file.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let invalid = |key: String, reason: String| ConfigError::Invalid {
        file: file.to_owned(),
        key,
        reason,
    };
    check_general(&raw).map_err(|(key, reason)| invalid(key.to_owned(), reason.to_owned()))?;
    if let Some(tls) = &raw.server.tls {
        super::edge::check_tls(tls).map_err(|(key, reason)| invalid(key.to_owned(), reason))?;
        super::edge::check_tls_files(tls)
            .map_err(|(key, reason)| invalid(key.to_owned(), reason))?;
    }
    if raw.admin.listen_is(raw.server.listen) {
        return Err(invalid(
            "admin.listen".into(),
            "must differ from server.listen (it is the private listener)".into(),
        ));
    }
    // Admin tokens read `<VAR>_FILE` themselves (see `admin`); every other secret through this.
    let files = FileEnv::new(env);
    let file_problem =
        || (files.take_problem()).map(|(var, reason)| ConfigError::Env { var, reason });
    let mut sources = Vec::with_capacity(raw.sources.len());
    for (name, cfg) in &raw.sources {
        let source = build_source(name, cfg, &raw.worker, &|var| files.get(var));
        let source = source.map_err(|(key, reason)| {
            let key = if key.is_empty() {
                format!("sources.{name}")
            } else {
                format!("sources.{name}.{key}")
            };
            file_problem().unwrap_or_else(|| invalid(key, reason))
        })?;
        sources.push(source);
    }
    if let Some(problem) = file_problem() {
        return Err(problem);
    }
    if let Some(largest) = sources.iter().max_by_key(|s| s.max_body_bytes) {
        if largest.max_body_bytes > raw.server.max_inflight_body_bytes {
            return Err(invalid(
                "server.max_inflight_body_bytes".into(),
                format!(
                    "must be at least the largest max_body_bytes ({} for source {})",
                    largest.max_body_bytes, largest.name
                ),
            ));
        }
    }
    let admin = build_admin(raw.admin, env).map_err(|e| match e {
        AdminError::Key(key, reason) => invalid(key, reason),
        AdminError::Var(var, reason) => ConfigError::Env { var, reason },
    })?;
    let mut storage = raw.storage;
    if let Some(url) = files.get("HOOKBOX_DATABASE_URL").filter(|u| !u.is_empty()) {
        storage.database_url = Some(Secret::new(url));
    }
    if let Some(problem) = file_problem() {
        return Err(problem);
    }
    super::storage::check_storage(&storage)
        .map_err(|(key, reason)| invalid(key.to_owned(), reason))?;
    super::ordering::check_ordering(&sources, &storage)
        .map_err(|(key, reason)| invalid(key, reason))?;
    let alerts = build_alerts(&raw.alerts, &sources, &|var| files.get(var))
        .map_err(|(key, reason)| file_problem().unwrap_or_else(|| invalid(key, reason)))?;
    Ok(Config {
        alerts,
        server: raw.server,
        storage,
        worker: raw.worker,
        admin,
        sources,
    })
}

fn check_general(raw: &FileConfig) -> Result<(), (&'static str, &'static str)> {
    if raw.server.max_connections == 0 {
        return Err(("server.max_connections", "must be at least 1"));
    }
    if raw.worker.concurrency == 0 {
        return Err(("worker.concurrency", "must be at least 1"));
    }
    if raw.worker.destination_concurrency == Some(0) {
        return Err(("worker.destination_concurrency", "must be at least 1"));
    }
    if raw.worker.circuit_failures == 0 {
        return Err(("worker.circuit_failures", "must be at least 1"));
    }
    if !(0.0..1.0).contains(&raw.worker.jitter) {
        return Err(("worker.jitter", "must be at least 0 and below 1"));
    }
    if raw.worker.attempts_allowed() == 0 {
        return Err(("worker.max_attempts", "must be at least 1"));
    }
    if raw.storage.dedupe_window < raw.storage.retention {
        return Err((
            "storage.dedupe_window",
            "must not be shorter than storage.retention",
        ));
    }
    Ok(())
}

fn build_source(
    name: &str,
    cfg: &SourceConfig,
    worker: &WorkerConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Source, KeyError> {
    if !valid_name(name) {
        return err(
            "",
            "source names use only a-z, 0-9, '_' and '-' (at most 64)",
        );
    }
    let scheme = build_scheme(cfg)?;
    let scheme_name = scheme.name();
    if let Some(limit) = &cfg.rate_limit {
        super::edge::check_rate_limit(limit).or_else(|(key, reason)| err(key, reason))?;
    }
    if cfg.dedupe_on_body.is_some_and(|w| w.is_zero()) {
        return err(
            "dedupe_on_body",
            "must be more than 0 (leave it out to turn it off)",
        );
    }
    let env_prefix = name.to_ascii_uppercase().replace('-', "_");
    let secrets: Vec<Secret> = match env(&format!("{env_prefix}_WEBHOOK_SECRET")) {
        Some(list) => list.split(',').map(|s| Secret::new(s.trim())).collect(),
        None => cfg
            .secrets
            .iter()
            .map(|s| Secret::new(s.as_str()))
            .collect(),
    };
    if secrets.is_empty() {
        return err(
            "secrets",
            format!("no secret configured (set it here or in {env_prefix}_WEBHOOK_SECRET)"),
        );
    }
    for (i, secret) in secrets.iter().enumerate() {
        verify::check_secret(&scheme, secret)
            .or_else(|reason| err(&format!("secrets[{i}]"), reason))?;
    }
    let uses_development_secret = secrets
        .iter()
        .any(|s| super::key::is_development_secret(s.expose()));
    let max_body_bytes = cfg.max_body_bytes.unwrap_or(1024 * 1024);
    if max_body_bytes == 0 {
        return err("max_body_bytes", "must be at least 1");
    }
    let mut keep_headers = vec!["content-type".to_owned(), "user-agent".to_owned()];
    keep_headers.extend(
        scheme
            .provider()
            .kept_headers()
            .iter()
            .map(|h| (*h).to_owned()),
    );
    for h in &cfg.keep_headers {
        if http::HeaderName::from_bytes(h.as_bytes()).is_err() {
            return err("keep_headers", format!("{h:?} is not a header name"));
        }
        // `hookbox-*` kept headers are hookbox's own (an event's origin): a request must not
        // be able to set them.
        if h.to_ascii_lowercase().starts_with("hookbox-") {
            return err(
                "keep_headers",
                format!("{h:?}: hookbox-* headers are hookbox's own"),
            );
        }
        keep_headers.push(h.to_ascii_lowercase());
    }
    let verifier = Verifier {
        scheme,
        secrets,
        tolerance: cfg.tolerance.unwrap_or(Duration::from_secs(300)),
    };
    // `signing = "original"` passes the provider's signature on, so it must be kept.
    let signature_headers = verifier.signature_headers();
    if passes_original_signature(cfg) {
        keep_headers.extend(signature_headers.iter().cloned());
    }
    keep_headers.sort();
    keep_headers.dedup();
    let routes = build_routes(
        cfg,
        &RouteContext {
            source: name,
            env_prefix: &env_prefix,
            keep_headers: &keep_headers,
            signature_headers: &signature_headers,
            worker,
            env,
        },
    )?;
    let reconcile = (cfg.reconcile.as_ref())
        .map(|r| super::reconcile::build_reconcile(r, scheme_name, &env_prefix, env))
        .transpose()?;
    Ok(Source {
        name: name.to_owned(),
        verifier,
        max_body_bytes,
        keep_headers,
        routed: !cfg.routes.is_empty(),
        routes,
        uses_development_secret,
        reconcile,
        allow_from: cfg.allow_from.clone(),
        rate_limit: cfg.rate_limit,
        dedupe_on_body: cfg.dedupe_on_body,
    })
}

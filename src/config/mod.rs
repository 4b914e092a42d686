//! The configuration schema: what `config.toml` may say, with defaults for everything but sources.
//!
//! Loading (file + environment + validation) lives in [`load`]; the rest of hookbox only sees the
//! validated [`Config`], whose sources carry ready-to-use [`Verifier`]s.

mod admin;
#[cfg(test)]
mod admin_tests;
mod alerts;
mod alerts_load;
#[cfg(test)]
mod alerts_tests;
#[cfg(test)]
mod documented;
mod edge;
mod effective;
mod env_file;
#[cfg(test)]
pub(crate) mod examples;
mod handler;
mod key;
mod load;
mod ordering;
mod reconcile;
mod route;
#[cfg(test)]
mod route_tests;
mod scheme;
mod source;
mod storage;
#[cfg(test)]
mod tests;
mod warnings;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use admin::{AdminConfig, AdminToken, Role, CLI_TOKEN_NAME, LEGACY_TOKEN_NAME};
pub use alerts::{AlertsConfig, Format, NotifyTarget, Rule, When, ALERT_SOURCE};
pub use edge::{parse_network, AcmeConfig, RateLimit, TlsConfig};
pub use effective::without_credentials;
pub use load::{effective, load, load_str, ConfigError};
pub use reconcile::{Reconcile, ReconcileApi, ReconcileConfig};
pub use route::RouteConfig;
pub use source::{CommandConfig, ForwardConfig, HandlerConfig, Signing, SourceConfig};
pub use storage::check_schema_name;
pub use warnings::{warnings, Warning};

use crate::ordering::Ordering;
use crate::verify::{Secret, Verifier};

/// The validated configuration of one hookbox process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listener, limits and timeouts.
    pub server: ServerConfig,
    /// Where and how events are stored.
    pub storage: StorageConfig,
    /// Background processing.
    pub worker: WorkerConfig,
    /// Admin API and status-resource access.
    pub admin: AdminConfig,
    /// Sources by name (the `<source>` of `POST /webhooks/<source>`), in name order.
    pub sources: Vec<Source>,
    /// Alert targets and rules.
    pub alerts: AlertsConfig,
}

impl Config {
    /// The source called `name`, if configured.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The route whose deliveries the store keeps under `stream` (a source's name for its one
    /// route, `source:route` for a named route).
    pub fn route(&self, stream: &str) -> Option<&Route> {
        let (source, _) = crate::event::split_stream(stream);
        if source == ALERT_SOURCE {
            return self.alerts.route(stream);
        }
        let source = self.source(source)?;
        source.routes.iter().find(|r| r.stream == stream)
    }

    /// Every route of every source.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.sources.iter().flat_map(|s| &s.routes)
    }
}

/// One configured webhook source, validated.
#[derive(Debug, Clone)]
pub struct Source {
    /// Name used in the URL and in event keys.
    pub name: String,
    /// Signature scheme, secrets and tolerance.
    pub verifier: Verifier,
    /// Largest body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Request headers stored with the event (lower case) and handed to its handler.
    pub keep_headers: Vec<String>,
    /// Where its events go: its `[[routes]]`, or one route from its own `handler`.
    pub routes: Vec<Route>,
    /// True when the source has `[[routes]]` (each event is then stored once per route).
    pub routed: bool,
    /// True when a secret still carries the shipped development marker.
    pub uses_development_secret: bool,
    /// Its `[reconcile]` table, validated.
    pub reconcile: Option<Reconcile>,
    /// Networks requests may come from (the client address, see `server.trusted_proxies`);
    /// empty: any.
    pub allow_from: Vec<ipnet::IpNet>,
    /// Requests accepted per second, as a token bucket; `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// Treat a body identical to one received within this window as a duplicate.
    pub dedupe_on_body: Option<Duration>,
}

/// One route of a source, validated: a handler and the events it takes.
#[derive(Debug, Clone)]
pub struct Route {
    /// Its name; `None` for the route a source without `[[routes]]` has.
    pub name: Option<String>,
    /// The store stream its deliveries live in: the source name, or `source:route`.
    pub stream: String,
    /// What the worker does with the events it takes.
    pub handler: HandlerConfig,
    /// Most of its events processed at once.
    pub concurrency: usize,
    /// Per-key ordering of its events, when `ordering_key` is set.
    pub ordering: Option<Ordering>,
    /// Which events it takes.
    pub filter: crate::event::RouteFilter,
}

/// `[server]`: the HTTP listener.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on: `ip:port` or `host:port` (resolved once, at start).
    #[serde(deserialize_with = "listen_address")]
    pub listen: SocketAddr,
    /// Most connections served at once; further ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// Time allowed for a client to send the request head.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Time allowed for reading a whole request body.
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// Request body bytes held in memory at once over all connections; a request that would
    /// go past it gets 503 before more of it is read.
    pub max_inflight_body_bytes: u64,
    /// How long a graceful shutdown waits for in-flight requests and running handlers, both
    /// together, from the signal.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// `text` (default) or `json`; `--log-format` overrides it.
    pub log_format: LogFormat,
    /// `[server.tls]`: serve HTTPS on `listen`.
    pub tls: Option<TlsConfig>,
    /// Peers whose `X-Forwarded-For` / `Forwarded` name the client (reverse proxies); by
    /// default none, so the client is always the peer.
    #[serde(deserialize_with = "edge::networks")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_inflight_body_bytes: 256 * 1024 * 1024,
            shutdown_timeout: Duration::from_secs(30),
            log_format: LogFormat::Text,
            tls: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// When a write counts as durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Answer 202 only after an fsync covering the event (shared by concurrent requests).
    Fsync,
    /// Answer 202 after the write; flush every `flush_interval`. A crash can lose that window.
    Interval,
}

/// Which database holds the events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// An embedded redb database in `data_dir`: one instance (the default).
    #[default]
    Redb,
    /// An embedded sled database in `data_dir`: one instance.
    Sled,
    /// A PostgreSQL database at `database_url`, shareable by several instances.
    Postgres,
}

impl StorageBackend {
    /// The name `storage.backend` uses.
    pub fn name(self) -> &'static str {
        match self {
            StorageBackend::Redb => "redb",
            StorageBackend::Sled => "sled",
            StorageBackend::Postgres => "postgres",
        }
    }
}

/// `[storage]`: where events are kept.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `redb` (default), `sled` or `postgres`.
    pub backend: StorageBackend,
    /// PostgreSQL connection URL (`postgres://user:password@host:5432/db`), required for the
    /// `postgres` backend; `HOOKBOX_DATABASE_URL` replaces it. Redacted in `Debug`: it may
    /// hold a password.
    pub database_url: Option<Secret>,
    /// PostgreSQL schema holding hookbox's tables (created if missing); default `public`.
    pub database_schema: Option<String>,
    /// PEM certificates trusted for the database's TLS on top of the system's roots (for
    /// `sslmode=verify-ca` / `verify-full` with a private CA).
    pub database_ca_file: Option<PathBuf>,
    /// Most PostgreSQL connections this instance holds (plus one for wake-ups).
    pub pool_size: usize,
    /// Folder holding the embedded database (redb or sled).
    pub data_dir: PathBuf,
    /// The embedded database's page cache in bytes (both engines' own default is 1 GiB).
    pub cache_capacity_bytes: u64,
    /// redb: verify every page's checksum when the database is opened, so a damaged file is
    /// refused at start instead of being trusted (reads the whole file once).
    pub verify_on_open: bool,
    /// `fsync` (default) or `interval`.
    pub durability: Durability,
    /// Flush period in `interval` mode.
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    /// How long a finished event keeps its body.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How long a finished event's id is remembered for dedupe.
    #[serde(with = "humantime_serde")]
    pub dedupe_window: Duration,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: StorageBackend::Redb,
            database_url: None,
            database_schema: None,
            database_ca_file: None,
            pool_size: 16,
            data_dir: PathBuf::from("./data"),
            cache_capacity_bytes: 64 * 1024 * 1024,
            verify_on_open: true,
            durability: Durability::Fsync,
            flush_interval: Duration::from_millis(200),
            retention: Duration::from_secs(7 * 24 * 3600),
            dedupe_window: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// `[worker]`: background processing.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Most events processed at once, over all sources (a slot is held until the attempt's
    /// result is durable, so a crash repeats at most this many). High by default: a claim and
    /// a result each wait for a group commit, so slots are what lets the worker batch them;
    /// what one application or program receives at once is bounded by
    /// `destination_concurrency` and, for commands, by the source's `concurrency`.
    pub concurrency: usize,
    /// Delay before each retry; attempt n+1 waits `retry_schedule[n-1]` (±jitter).
    #[serde(
        deserialize_with = "durations",
        serialize_with = "effective::durations"
    )]
    pub retry_schedule: Vec<Duration>,
    /// Attempts before an event is dead; defaults to one more than the schedule's length.
    pub max_attempts: Option<u32>,
    /// Relative jitter applied to each delay (0.2 = ±20 %).
    pub jitter: f64,
    /// Extra lease time beyond a handler's timeout before a claimed event counts as abandoned.
    #[serde(with = "humantime_serde")]
    pub lease_margin: Duration,
    /// Most forward attempts running against one destination (`host:port`) at once; default
    /// half of `concurrency`, at most 16, so one hanging application never holds every slot
    /// and no application gets more requests at once than it would from a small pool.
    pub destination_concurrency: Option<usize>,
    /// Failures in a row (timeouts, connection errors, 5xx) that open a destination's circuit.
    pub circuit_failures: u32,
    /// How long an open circuit holds a destination's events back before one probe goes.
    #[serde(with = "humantime_serde")]
    pub circuit_cooldown: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let schedule = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400];
        WorkerConfig {
            concurrency: 256,
            retry_schedule: schedule.iter().map(|s| Duration::from_secs(*s)).collect(),
            max_attempts: None,
            jitter: 0.2,
            lease_margin: Duration::from_secs(30),
            destination_concurrency: None,
            circuit_failures: 5,
            circuit_cooldown: Duration::from_secs(30),
        }
    }
}

/// Default cap of a command source's running programs, and of one forward destination's
/// requests at once.
pub const COMMANDS_AT_ONCE: usize = 16;

impl WorkerConfig {
    /// Most attempts against one forward destination at once.
    pub fn destination_limit(&self) -> usize {
        self.destination_concurrency
            .unwrap_or((self.concurrency / 2).clamp(1, COMMANDS_AT_ONCE))
    }

    /// Attempts allowed before an event is dead.
    pub fn attempts_allowed(&self) -> u32 {
        self.max_attempts
            .unwrap_or(self.retry_schedule.len() as u32 + 1)
    }
}

/// The address `text` names: `ip:port`, or `host:port` resolved now (the first address the
/// resolver gives, e.g. `localhost:8080`).
pub fn resolve_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let mut addrs = std::net::ToSocketAddrs::to_socket_addrs(text)
        .map_err(|e| format!("{text:?} is not an address (ip:port or host:port): {e}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{text:?} resolves to no address"))
}

fn listen_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    resolve_listen(&text).map_err(serde::de::Error::custom)
}

/// Deserialises a list of human-readable durations (`["5s", "5m"]`).
fn durations<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    let list: Vec<humantime_serde::Serde<Duration>> = Vec::deserialize(d)?;
    Ok(list.into_iter().map(|s| s.into_inner()).collect())
}

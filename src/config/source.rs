//! `[sources.<name>]`: how one provider signs and what happens to its events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::verify::{Algorithm, Encoding, Scheme, Secret};

/// One `[sources.<name>]` table as written in the file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// A registered scheme name (see [`crate::verify::Scheme::names`]), `hmac` included.
    pub scheme: String,
    /// Accepted secrets; `<SOURCE>_WEBHOOK_SECRET` (comma-separated) replaces them.
    #[serde(default, serialize_with = "super::effective::redacted_list")]
    pub secrets: Vec<String>,
    /// Largest accepted clock distance for schemes with a signed timestamp.
    #[serde(default, with = "humantime_serde::option")]
    pub tolerance: Option<Duration>,
    /// Largest accepted body in bytes (default 1 MiB).
    pub max_body_bytes: Option<u64>,
    /// Square, Twilio and HubSpot only: the URL the provider signs along with the body.
    pub notification_url: Option<String>,
    /// `hmac` only: how the generic scheme signs.
    pub hmac: Option<HmacConfig>,
    /// Extra request headers to store with each event and pass to its handler.
    #[serde(default)]
    pub keep_headers: Vec<String>,
    /// What the worker does with events of this source (default `log`); not with `routes`.
    pub handler: Option<HandlerConfig>,
    /// Several destinations, each with its handler and filter, instead of `handler`.
    #[serde(default)]
    pub routes: Vec<super::RouteConfig>,
    /// Most events of this source processed at once (default: the worker's overall cap).
    pub concurrency: Option<usize>,
    /// Runs events with the same key one at a time, in arrival order: a JSON pointer into the
    /// body (`/data/object/id`) or `header:<Name>`. redb and PostgreSQL.
    pub ordering_key: Option<String>,
    /// With `ordering_key`: `block` (default) holds a dead event's key until it is requeued;
    /// `skip` lets the next event of the key go ahead.
    pub on_dead: Option<crate::ordering::OnDead>,
    /// Stripe and GitHub: fetch what the provider's API says was sent (see `crate::reconcile`).
    pub reconcile: Option<super::reconcile::ReconcileConfig>,
    /// Networks (CIDR or address) requests may come from; empty: any.
    #[serde(default, deserialize_with = "super::edge::networks")]
    pub allow_from: Vec<ipnet::IpNet>,
    /// Requests per second (`rate`) and at once (`burst`) this source accepts.
    pub rate_limit: Option<super::RateLimit>,
    /// An identical body within this window is a duplicate (replay protection for schemes
    /// that sign neither an id nor a time).
    #[serde(default, with = "humantime_serde::option")]
    pub dedupe_on_body: Option<Duration>,
}

/// `[sources.<name>.hmac]`: the generic HMAC scheme.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HmacConfig {
    /// Header carrying the signature.
    pub header: String,
    /// Text before the signature in that header (e.g. `sha256=`).
    #[serde(default)]
    pub prefix: String,
    /// `hex` (default) or `base64`.
    #[serde(default = "default_encoding")]
    pub encoding: Encoding,
    /// `sha256` (default), `sha512` or `sha1`.
    #[serde(default = "default_algorithm")]
    pub algorithm: Algorithm,
    /// What is signed: `{body}` (default) or a template with `{timestamp}` and `{id}`.
    #[serde(default = "default_signed")]
    pub signed: String,
    /// Header with the signed timestamp (needed when `signed` uses `{timestamp}`).
    pub timestamp_header: Option<String>,
    /// Header carrying the event id; or use `id_pointer`.
    pub id_header: Option<String>,
    /// JSON pointer to the event id in the body (e.g. `/id`); or use `id_header`.
    pub id_pointer: Option<String>,
}

fn default_encoding() -> Encoding {
    Encoding::Hex
}

fn default_algorithm() -> Algorithm {
    Algorithm::Sha256
}

fn default_signed() -> String {
    "{body}".to_owned()
}

/// `[sources.<name>.handler]`: what processing an event means.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum HandlerConfig {
    /// Log the event and succeed.
    #[default]
    Log,
    /// POST the event to an application, re-signed with Standard Webhooks.
    Forward(ForwardConfig),
    /// Run a program with the body on stdin.
    Command(CommandConfig),
}

/// `type = "forward"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    /// Target URL (`http://` or `https://`).
    #[serde(serialize_with = "super::effective::url")]
    pub url: String,
    /// The secret forwarded requests are signed with (`whsec_<base64>` for `standard`);
    /// `<SOURCE>_FORWARD_SECRET` replaces it. Not used by `none` and `original`.
    pub secret: Option<Secret>,
    /// How forwarded requests are signed (default `standard`).
    #[serde(default)]
    pub signing: Signing,
    /// Time allowed for one delivery.
    #[serde(default = "default_forward_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Stored request headers passed through to the target.
    #[serde(default)]
    pub pass_headers: Vec<String>,
    /// 4xx statuses to retry rather than treat as permanent (408, 425 and 429 always retry).
    #[serde(default)]
    pub retry_statuses: Vec<u16>,
    /// `https://` only: PEM certificates trusted on top of the system's roots (a private CA).
    pub ca_file: Option<PathBuf>,
    /// `https://` only: PEM client certificate chain presented to the target (mTLS).
    pub client_cert_file: Option<PathBuf>,
    /// `https://` only: PEM private key of `client_cert_file`.
    pub client_key_file: Option<PathBuf>,
    /// The TLS client built from the three files above at load time (`https://` URLs only).
    #[serde(skip)]
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The scheme `signing` names, built at load time (`None` for `none` and `original`).
    #[serde(skip)]
    pub signer: Option<Scheme>,
    /// `signing = "original"`: the source's signature headers, kept with each event and passed
    /// on untouched (filled at load time).
    #[serde(skip)]
    pub original_headers: Vec<String>,
}

/// `handler.signing`: what proves to the application that a forwarded request is genuine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signing {
    /// Standard Webhooks (`webhook-id/-timestamp/-signature`) with the forward secret; the
    /// `webhook-id` is the idempotency key (sent in the other modes too, unsigned).
    #[default]
    Standard,
    /// `Stripe-Signature: t=…,v1=…` with the forward secret, as Stripe's libraries check it.
    Stripe,
    /// `X-Hub-Signature-256` with the forward secret, plus `X-GitHub-Event` and
    /// `X-GitHub-Delivery`.
    Github,
    /// No signature.
    None,
    /// The provider's own signature headers, as they arrived.
    Original,
}

impl Signing {
    /// The verify scheme this mode signs with, if it signs.
    pub fn scheme_name(self) -> Option<&'static str> {
        match self {
            Signing::Standard => Some("standard"),
            Signing::Stripe => Some("stripe"),
            Signing::Github => Some("github"),
            Signing::None | Signing::Original => None,
        }
    }
}

fn default_forward_timeout() -> Duration {
    Duration::from_secs(10)
}

/// `type = "command"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// Program to run (no shell).
    pub program: PathBuf,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Time allowed before the program is killed.
    #[serde(default = "default_command_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Exit code meaning "permanent failure, do not retry".
    pub permanent_exit_code: Option<i32>,
    /// Variables set for the program (name → value), on top of the allow-listed ones.
    #[serde(default, serialize_with = "super::effective::redacted_values")]
    pub env: BTreeMap<String, String>,
    /// Names of hookbox's own environment variables the program may also see. Nothing else
    /// is inherited beyond `PATH`, `HOME`, `LANG`, `LC_*`, `TZ` and `TMPDIR`.
    #[serde(default)]
    pub pass_env: Vec<String>,
}

fn default_command_timeout() -> Duration {
    Duration::from_secs(30)
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

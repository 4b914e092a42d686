//! `[alerts]`: where hookbox sends word of trouble (`[[alerts.notify]]`) and when
//! (`[[alerts.rules]]`). Each notify target becomes a route of the internal source
//! [`ALERT_SOURCE`], delivered by the worker's forward code like any other route.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use super::Route;
use crate::verify::Secret;

/// The source alerts are stored under; its routes are the notify targets. Not a valid source
/// name in a config file, so no provider can post to it or clash with it.
pub const ALERT_SOURCE: &str = "hookbox.alerts";

/// `[alerts]` as written. Serializable for `hookbox config check`'s effective config, without
/// secrets: a target's secret is left out and its URL cut to its origin (a Slack or Mattermost
/// webhook's path is its secret).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawAlerts {
    /// The targets alerts go to.
    pub notify: Vec<NotifyConfig>,
    /// The conditions that raise an alert.
    pub rules: Vec<RuleConfig>,
}

/// One `[[alerts.notify]]` table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Its name, used by rules' `notify`.
    pub name: String,
    /// Where alerts are POSTed (`http://` or `https://`).
    #[serde(serialize_with = "origin_only")]
    pub url: String,
    /// `json` (default, signed with Standard Webhooks) or `slack`.
    #[serde(default)]
    pub format: Format,
    /// `json`: the `whsec_` secret alerts are signed with; `ALERTS_<NAME>_SECRET` replaces it.
    #[serde(skip_serializing)]
    pub secret: Option<Secret>,
    /// Time allowed for one delivery.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// `https://` only: PEM certificates trusted on top of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// `https://` only: PEM client certificate chain (mTLS).
    pub client_cert_file: Option<PathBuf>,
    /// `https://` only: PEM private key of `client_cert_file`.
    pub client_key_file: Option<PathBuf>,
}

/// `url` as `scheme://host:port/…`: what `config check` may show of a target.
fn origin_only<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    match url.parse::<http::Uri>() {
        Ok(u) if u.scheme().is_some() && u.authority().is_some() => {
            let host = u.authority().map_or("", |a| a.as_str());
            let host = host.rsplit('@').next().unwrap_or(host);
            s.serialize_str(&format!("{}://{host}/…", u.scheme_str().unwrap_or("")))
        }
        _ => s.serialize_str("…"),
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// The body an alert is sent as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A JSON object with every detail, signed with Standard Webhooks.
    #[default]
    Json,
    /// `{"text": …}`, as Slack and Mattermost incoming webhooks take it.
    Slack,
}

/// One `[[alerts.rules]]` table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Its name (default: `when`); part of every alert id, so unique.
    pub name: Option<String>,
    /// `dead`, `circuit_open`, `queue_age`, `silence` or `storage`.
    pub when: When,
    /// Only this source.
    pub source: Option<String>,
    /// Only this route of `source`.
    pub route: Option<String>,
    /// At most one alert per window (default 5 minutes); a `dead` alert counts the window's deaths.
    #[serde(default, with = "humantime_serde::option")]
    pub window: Option<Duration>,
    /// `queue_age` and `silence`: how old or how quiet is too much.
    #[serde(default, with = "humantime_serde::option")]
    pub threshold: Option<Duration>,
    /// Names of `[[alerts.notify]]` targets.
    pub notify: Vec<String>,
}

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Events went dead.
    Dead,
    /// A forward destination's circuit opened (and, later, closed again).
    CircuitOpen,
    /// The oldest due event has waited longer than `threshold`.
    QueueAge,
    /// A source received nothing for `threshold`.
    Silence,
    /// The store could not write (and, later, could again).
    Storage,
}

impl When {
    /// The name the config uses.
    pub fn name(self) -> &'static str {
        match self {
            When::Dead => "dead",
            When::CircuitOpen => "circuit_open",
            When::QueueAge => "queue_age",
            When::Silence => "silence",
            When::Storage => "storage",
        }
    }
}

/// A validated `[[alerts.notify]]`.
#[derive(Debug, Clone)]
pub struct NotifyTarget {
    /// Its name.
    pub name: String,
    /// Its body format.
    pub format: Format,
    /// Its route of [`ALERT_SOURCE`] (a forward handler, signed for `json`).
    pub route: Route,
}

/// A validated `[[alerts.rules]]`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its unique name.
    pub name: String,
    /// What it watches.
    pub when: When,
    /// Only this source.
    pub source: Option<String>,
    /// Only this route.
    pub route: Option<String>,
    /// One alert per window at most.
    pub window: Duration,
    /// `queue_age` / `silence` limit.
    pub threshold: Option<Duration>,
    /// Target names.
    pub notify: Vec<String>,
}

impl Rule {
    /// Whether events of `stream` (`source` or `source:route`) fall under this rule.
    pub fn covers(&self, stream: &str) -> bool {
        let (source, route) = crate::event::split_stream(stream);
        self.source.as_deref().is_none_or(|s| s == source)
            && self.route.as_deref().is_none_or(|r| Some(r) == route)
    }
}

/// `[alerts]`, validated.
#[derive(Debug, Clone, Default)]
pub struct AlertsConfig {
    /// Targets by name order of the file.
    pub targets: Vec<NotifyTarget>,
    /// Rules in file order.
    pub rules: Vec<Rule>,
}

impl AlertsConfig {
    /// The route of the alert stream `stream` (`hookbox.alerts:<target>`).
    pub fn route(&self, stream: &str) -> Option<&Route> {
        self.targets
            .iter()
            .map(|t| &t.route)
            .find(|r| r.stream == stream)
    }

    /// The target whose route is `stream`.
    pub fn target(&self, stream: &str) -> Option<&NotifyTarget> {
        self.targets.iter().find(|t| t.route.stream == stream)
    }
}

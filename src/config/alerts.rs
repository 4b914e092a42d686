//! `[alerts]`: where hookbox sends word of trouble (`[[alerts.notify]]`) and when
//! (`[[alerts.rules]]`). Each notify target becomes a route of the internal source
//! [`ALERT_SOURCE`], delivered by the worker's forward code like any other route.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::handler::build_handler;
use super::key::valid_name;
use super::source::{ForwardConfig, HandlerConfig, Signing};
use super::{Route, Source};
use crate::verify::Secret;

/// The source alerts are stored under; its routes are the notify targets. Not a valid source
/// name in a config file, so no provider can post to it or clash with it.
pub const ALERT_SOURCE: &str = "hookbox.alerts";

/// `[alerts]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawAlerts {
    /// The targets alerts go to.
    pub notify: Vec<NotifyConfig>,
    /// The conditions that raise an alert.
    pub rules: Vec<RuleConfig>,
}

/// One `[[alerts.notify]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Its name, used by rules' `notify`.
    pub name: String,
    /// Where alerts are POSTed (`http://` or `https://`).
    pub url: String,
    /// `json` (default, signed with Standard Webhooks) or `slack`.
    #[serde(default)]
    pub format: Format,
    /// `json`: the `whsec_` secret alerts are signed with; `ALERTS_<NAME>_SECRET` replaces it.
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

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// The body an alert is sent as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A JSON object with every detail, signed with Standard Webhooks.
    #[default]
    Json,
    /// `{"text": …}`, as Slack and Mattermost incoming webhooks take it.
    Slack,
}

/// One `[[alerts.rules]]` table.
#[derive(Debug, Clone, Deserialize)]
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

/// A problem: (key below `alerts`, reason).
type Problem = (String, String);

fn problem<T>(key: String, reason: impl Into<String>) -> Result<T, Problem> {
    Err((key, reason.into()))
}

/// Validates `raw` against the configured `sources`; `env` may replace target secrets.
pub(super) fn build_alerts(
    raw: &RawAlerts,
    sources: &[Source],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AlertsConfig, Problem> {
    let mut targets: Vec<NotifyTarget> = Vec::new();
    for (i, n) in raw.notify.iter().enumerate() {
        let at = format!("alerts.notify[{i}]");
        if !valid_name(&n.name) {
            return problem(
                format!("{at}.name"),
                "use only a-z, 0-9, '_' and '-' (at most 64)",
            );
        }
        if targets.iter().any(|t| t.name == n.name) {
            return problem(format!("{at}.name"), format!("{:?} is used twice", n.name));
        }
        targets
            .push(build_target(n, env).map_err(|(key, reason)| (format!("{at}.{key}"), reason))?);
    }
    let mut rules: Vec<Rule> = Vec::new();
    for (i, r) in raw.rules.iter().enumerate() {
        let at = format!("alerts.rules[{i}]");
        let rule =
            build_rule(r, sources, &targets).map_err(|(k, why)| (format!("{at}.{k}"), why))?;
        if rules.iter().any(|o| o.name == rule.name) {
            let why = format!("{:?} is used twice (set a distinct `name`)", rule.name);
            return problem(format!("{at}.name"), why);
        }
        rules.push(rule);
    }
    Ok(AlertsConfig { targets, rules })
}

fn build_target(
    n: &NotifyConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<NotifyTarget, Problem> {
    let env_prefix = format!("ALERTS_{}", n.name.to_ascii_uppercase().replace('-', "_"));
    let mut secret = n.secret.clone();
    if let Some(s) = env(&format!("{env_prefix}_SECRET")) {
        secret = Some(Secret::new(s));
    }
    let signing = match n.format {
        Format::Json => Signing::Standard,
        Format::Slack if secret.is_some() => {
            return problem("secret".into(), "slack targets are not signed; remove it");
        }
        Format::Slack => Signing::None,
    };
    if n.format == Format::Json && secret.is_none() {
        let why = format!("required for format = \"json\" (or set {env_prefix}_SECRET)");
        return problem("secret".into(), why);
    }
    let forward = ForwardConfig {
        url: n.url.clone(),
        secret,
        signing,
        timeout: n.timeout,
        pass_headers: Vec::new(),
        retry_statuses: Vec::new(),
        ca_file: n.ca_file.clone(),
        client_cert_file: n.client_cert_file.clone(),
        client_key_file: n.client_key_file.clone(),
        tls: None,
        signer: None,
        original_headers: Vec::new(),
    };
    // The forward handler's own checks: URL, TLS files, the secret's form.
    let handler = build_handler(
        &HandlerConfig::Forward(forward),
        &env_prefix,
        &[],
        &[],
        &|_| None,
    )
    .map_err(|(key, why)| (key.trim_start_matches("handler.").to_owned(), why))?;
    Ok(NotifyTarget {
        name: n.name.clone(),
        format: n.format,
        route: Route {
            name: Some(n.name.clone()),
            stream: crate::event::stream_name(ALERT_SOURCE, &n.name),
            handler,
            concurrency: 1,
            ordering: None,
            filter: crate::event::RouteFilter::default(),
        },
    })
}

fn build_rule(
    r: &RuleConfig,
    sources: &[Source],
    targets: &[NotifyTarget],
) -> Result<Rule, Problem> {
    let name = r.name.clone().unwrap_or_else(|| r.when.name().to_owned());
    if !valid_name(&name) {
        return problem("name".into(), "use only a-z, 0-9, '_' and '-' (at most 64)");
    }
    let narrows = matches!(r.when, When::Dead | When::CircuitOpen | When::Silence);
    if !narrows && (r.source.is_some() || r.route.is_some()) {
        let key = if r.source.is_some() {
            "source"
        } else {
            "route"
        };
        let why = format!("when = \"{}\" watches the whole process", r.when.name());
        return problem(key.into(), why);
    }
    if let Some(name) = &r.source {
        let Some(source) = sources.iter().find(|s| &s.name == name) else {
            return problem("source".into(), format!("no source {name:?} is configured"));
        };
        if let Some(route) = &r.route {
            if !source
                .routes
                .iter()
                .any(|x| x.name.as_deref() == Some(route))
            {
                return problem(
                    "route".into(),
                    format!("source {name:?} has no route {route:?}"),
                );
            }
        }
    } else if r.route.is_some() {
        return problem("route".into(), "needs `source`");
    }
    if r.when == When::Silence && r.route.is_some() {
        return problem(
            "route".into(),
            "silence is about what a source receives; drop it",
        );
    }
    let needs_threshold = matches!(r.when, When::QueueAge | When::Silence);
    match (needs_threshold, r.threshold) {
        (true, None) => {
            let why = format!("required for when = \"{}\"", r.when.name());
            return problem("threshold".into(), why);
        }
        (true, Some(t)) if t.is_zero() => return problem("threshold".into(), "must be above 0"),
        (false, Some(_)) => {
            let why = format!("not used by when = \"{}\"", r.when.name());
            return problem("threshold".into(), why);
        }
        _ => {}
    }
    let window = r.window.unwrap_or(Duration::from_secs(300));
    if window < Duration::from_millis(10) {
        return problem("window".into(), "must be at least 10ms");
    }
    if r.notify.is_empty() {
        return problem(
            "notify".into(),
            "name at least one [[alerts.notify]] target",
        );
    }
    let mut seen = BTreeSet::new();
    for target in &r.notify {
        if !targets.iter().any(|t| &t.name == target) {
            return problem(
                "notify".into(),
                format!("no [[alerts.notify]] is named {target:?}"),
            );
        }
        if !seen.insert(target) {
            return problem("notify".into(), format!("{target:?} is listed twice"));
        }
    }
    Ok(Rule {
        name,
        when: r.when,
        source: r.source.clone(),
        route: r.route.clone(),
        window,
        threshold: r.threshold,
        notify: r.notify.clone(),
    })
}

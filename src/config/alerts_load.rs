//! Validating `[alerts]`: target names and URLs (each target is checked as the forward handler
//! it becomes), rule kinds with the keys each needs, and the names rules refer to.

use std::collections::BTreeSet;
use std::time::Duration;

use super::alerts::{
    AlertsConfig, Format, NotifyConfig, NotifyTarget, RawAlerts, Rule, RuleConfig, When,
    ALERT_SOURCE,
};
use super::handler::build_handler;
use super::key::valid_name;
use super::source::{ForwardConfig, HandlerConfig, Signing};
use super::{Route, Source};
use crate::verify::Secret;

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

//! `[sources.<name>.reconcile]`: fetching what a provider's own API says was sent, so events a
//! long outage missed are stored anyway (see `crate::reconcile`). Stripe and GitHub sources.

use std::time::Duration;

use serde::Deserialize;

use super::key::{err, KeyError};
use crate::verify::Secret;

/// `[sources.<name>.reconcile]` as written.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileConfig {
    /// Stripe: a secret or restricted key with read access to events; `<NAME>_API_KEY` wins.
    #[serde(serialize_with = "super::effective::redacted_option")]
    pub api_key: Option<String>,
    /// GitHub: a token that may read and redeliver the hook's deliveries; `<NAME>_API_TOKEN` wins.
    #[serde(serialize_with = "super::effective::redacted_option")]
    pub api_token: Option<String>,
    /// GitHub: `repos/<owner>/<repo>/hooks/<id>` or `orgs/<org>/hooks/<id>`.
    pub hook: Option<String>,
    /// The API's base URL (default the provider's; settable for proxies and tests).
    pub api_base: Option<String>,
    /// Time between passes (default 10m).
    #[serde(default, with = "humantime_serde::option")]
    pub every: Option<Duration>,
    /// Stripe: time between full passes, which list every event rather than only those whose
    /// delivery failed (default 6h).
    #[serde(default, with = "humantime_serde::option")]
    pub full_every: Option<Duration>,
    /// How far back a pass looks (default 3d; Stripe at most 30d, GitHub at most 3d).
    #[serde(default, with = "humantime_serde::option")]
    pub lookback: Option<Duration>,
    /// Stripe: only events of these types (default every type).
    #[serde(default)]
    pub types: Vec<String>,
}

/// A validated `[sources.<name>.reconcile]`.
#[derive(Debug, Clone)]
pub struct Reconcile {
    /// Which API, and its credentials.
    pub api: ReconcileApi,
    /// The API's base URL, without a trailing `/`.
    pub api_base: String,
    /// Time between passes.
    pub every: Duration,
    /// How far back a pass looks.
    pub lookback: Duration,
}

/// The provider API a source reconciles with.
#[derive(Debug, Clone)]
pub enum ReconcileApi {
    /// `GET /v1/events`.
    Stripe {
        /// The API key (redacted in `Debug`).
        api_key: Secret,
        /// Time between full passes.
        full_every: Duration,
        /// Only these event types (empty: all).
        types: Vec<String>,
    },
    /// `GET /<hook>/deliveries`, redelivering failed ones.
    Github {
        /// The token (redacted in `Debug`).
        api_token: Secret,
        /// `repos/<owner>/<repo>/hooks/<id>` or `orgs/<org>/hooks/<id>`.
        hook: String,
    },
}

impl ReconcileApi {
    /// `stripe` or `github`.
    pub fn name(&self) -> &'static str {
        match self {
            ReconcileApi::Stripe { .. } => "stripe",
            ReconcileApi::Github { .. } => "github",
        }
    }
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Validates `cfg` for a source of `scheme`; `env_prefix` names its variables, read by `env`
/// (which also reads `<VAR>_FILE`). Keys in errors are below `sources.<name>`.
pub(super) fn build_reconcile(
    cfg: &ReconcileConfig,
    scheme: &str,
    env_prefix: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Reconcile, KeyError> {
    let every = cfg.every.unwrap_or(Duration::from_secs(600));
    if every < Duration::from_secs(1) {
        return err("reconcile.every", "must be at least 1s");
    }
    let lookback = cfg.lookback.unwrap_or(3 * DAY);
    let (api, default_base, max_lookback) = match scheme {
        "stripe" => (
            stripe(cfg, env_prefix, env, every)?,
            "https://api.stripe.com",
            30 * DAY,
        ),
        "github" => (
            github(cfg, env_prefix, env)?,
            "https://api.github.com",
            3 * DAY,
        ),
        other => {
            return err(
                "reconcile",
                format!("reconcile works for stripe and github sources, not {other}"),
            )
        }
    };
    if lookback.is_zero() || lookback > max_lookback {
        let days = max_lookback.as_secs() / DAY.as_secs();
        return err(
            "reconcile.lookback",
            format!("must be more than 0 and at most {days}d (what the {scheme} API keeps)"),
        );
    }
    let api_base = cfg.api_base.as_deref().unwrap_or(default_base);
    if !(api_base.starts_with("https://") || api_base.starts_with("http://"))
        || api_base.parse::<http::Uri>().is_err()
    {
        return err("reconcile.api_base", "must be an http:// or https:// URL");
    }
    Ok(Reconcile {
        api,
        api_base: api_base.trim_end_matches('/').to_owned(),
        every,
        lookback,
    })
}

fn stripe(
    cfg: &ReconcileConfig,
    env_prefix: &str,
    env: &dyn Fn(&str) -> Option<String>,
    every: Duration,
) -> Result<ReconcileApi, KeyError> {
    if cfg.api_token.is_some() || cfg.hook.is_some() {
        return err("reconcile", "api_token and hook are for github sources");
    }
    let var = format!("{env_prefix}_API_KEY");
    let Some(api_key) = env(&var).or_else(|| cfg.api_key.clone()) else {
        return err(
            "reconcile.api_key",
            format!("no API key (set it here or in {var})"),
        );
    };
    let full_every = cfg.full_every.unwrap_or(6 * 3600 * Duration::from_secs(1));
    if full_every < every {
        return err("reconcile.full_every", "must not be shorter than every");
    }
    if cfg.types.len() > 20 {
        return err(
            "reconcile.types",
            "at most 20 types (what Stripe's types[] takes)",
        );
    }
    Ok(ReconcileApi::Stripe {
        api_key: Secret::new(api_key.trim()),
        full_every,
        types: cfg.types.clone(),
    })
}

fn github(
    cfg: &ReconcileConfig,
    env_prefix: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ReconcileApi, KeyError> {
    if cfg.api_key.is_some() || cfg.full_every.is_some() || !cfg.types.is_empty() {
        return err(
            "reconcile",
            "api_key, full_every and types are for stripe sources",
        );
    }
    let var = format!("{env_prefix}_API_TOKEN");
    let Some(api_token) = env(&var).or_else(|| cfg.api_token.clone()) else {
        return err(
            "reconcile.api_token",
            format!("no API token (set it here or in {var})"),
        );
    };
    let hook = cfg.hook.as_deref().unwrap_or("");
    Ok(ReconcileApi::Github {
        api_token: Secret::new(api_token.trim()),
        hook: github_hook(hook).or_else(|reason| err("reconcile.hook", reason))?,
    })
}

/// `hook`, checked: `repos/<owner>/<repo>/hooks/<id>` or `orgs/<org>/hooks/<id>`.
fn github_hook(hook: &str) -> Result<String, String> {
    let parts: Vec<&str> = hook.trim_matches('/').split('/').collect();
    let name_ok = |s: &str| {
        !s.is_empty()
            && !s.bytes().all(|b| b == b'.')
            && (s.bytes()).all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    let id_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        ["repos", owner, repo, "hooks", id] if name_ok(owner) && name_ok(repo) && id_ok(id) => {
            Ok(parts.join("/"))
        }
        ["orgs", org, "hooks", id] if name_ok(org) && id_ok(id) => Ok(parts.join("/")),
        ["app"] => Err(
            "a GitHub App's hook (app) is not supported yet: it needs a JWT signed \
                        with the app's private key; use the repository's or organisation's hook"
                .into(),
        ),
        _ => Err("must be repos/<owner>/<repo>/hooks/<id> or orgs/<org>/hooks/<id>".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn load(table: &str, vars: &[(&str, &str)]) -> Result<Reconcile, String> {
        let text = format!(
            "[sources.pay]\nscheme = \"stripe\"\nsecrets = [\"whsec_x\"]\n\
             [sources.gh]\nscheme = \"github\"\nsecrets = [\"x\"]\n{table}"
        );
        let env = |name: &str| {
            (vars.iter())
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let config = load_str(&text, "t.toml", &env).map_err(|e| e.to_string())?;
        let with = config.sources.iter().find_map(|s| s.reconcile.clone());
        Ok(with.expect("a reconciling source"))
    }

    #[test]
    fn the_environment_wins_and_defaults_follow_the_provider() {
        let r = load("[sources.pay.reconcile]\napi_key = \"sk_file\"", &[]).unwrap();
        let ReconcileApi::Stripe {
            api_key,
            full_every,
            ..
        } = &r.api
        else {
            panic!("stripe")
        };
        assert_eq!(api_key.expose(), "sk_file");
        assert_eq!(
            (r.every, r.lookback, *full_every),
            (
                Duration::from_secs(600),
                3 * DAY,
                6 * 3600 * Duration::from_secs(1)
            )
        );
        assert_eq!(r.api_base, "https://api.stripe.com");
        let r = load(
            "[sources.pay.reconcile]\napi_key = \"sk_file\"",
            &[("PAY_API_KEY", "sk_env")],
        )
        .unwrap();
        assert!(
            matches!(&r.api, ReconcileApi::Stripe { api_key, .. } if api_key.expose() == "sk_env")
        );
        assert!(
            !format!("{r:?}").contains("sk_env"),
            "the key is redacted in Debug"
        );
        let table = "[sources.gh.reconcile]\nhook = \"orgs/acme/hooks/9\"\napi_base = \"http://127.0.0.1:1/\"";
        let r = load(table, &[("GH_API_TOKEN", "ghp_env")]).unwrap();
        assert_eq!(
            (r.api.name(), r.api_base.as_str()),
            ("github", "http://127.0.0.1:1")
        );
    }

    #[test]
    fn errors_name_the_key() {
        for (table, key) in [
            ("[sources.pay.reconcile]\n", "sources.pay.reconcile.api_key: no API key (set it here or in PAY_API_KEY)"),
            ("[sources.pay.reconcile]\napi_key = \"k\"\nlookback = \"31d\"", "sources.pay.reconcile.lookback"),
            ("[sources.gh.reconcile]\napi_token = \"t\"\nhook = \"repos/a/b/hooks/1\"\nlookback = \"4d\"", "sources.gh.reconcile.lookback"),
            ("[sources.gh.reconcile]\napi_token = \"t\"\nhook = \"app\"", "sources.gh.reconcile.hook"),
            ("[sources.gh.reconcile]\napi_token = \"t\"\nhook = \"repos/a/b/hooks/1\"\ntypes = [\"push\"]", "sources.gh.reconcile"),
            ("[sources.pay.reconcile]\napi_key = \"k\"\nevery = \"1h\"\nfull_every = \"10m\"", "sources.pay.reconcile.full_every"),
            ("[sources.pay.reconcile]\napi_key = \"k\"\napi_base = \"ftp://x\"", "sources.pay.reconcile.api_base"),
        ] {
            let e = load(table, &[]).unwrap_err();
            assert!(e.contains(key), "{table}: {e}");
        }
    }

    #[test]
    fn github_hooks_are_repository_or_organisation_paths() {
        assert_eq!(
            github_hook("repos/acme/app/hooks/12").as_deref(),
            Ok("repos/acme/app/hooks/12")
        );
        assert_eq!(
            github_hook("/orgs/acme/hooks/7/").as_deref(),
            Ok("orgs/acme/hooks/7")
        );
        assert!(github_hook("app")
            .unwrap_err()
            .contains("not supported yet"));
        for bad in [
            "",
            "repos/acme/hooks/1",
            "orgs/acme/hooks/x",
            "repos/a/../hooks/1",
        ] {
            assert!(github_hook(bad).is_err(), "{bad}");
        }
    }
}

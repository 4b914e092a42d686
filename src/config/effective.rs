//! How the effective configuration prints (`hookbox config check`, see `load::effective`): the
//! file as the loader reads it, every default filled in, and nothing secret. Secrets, admin
//! tokens, the database URL and command environment values print as `<redacted>`; forward URLs
//! lose credentials and queries. Environment variables that replace a key
//! (`<SOURCE>_WEBHOOK_SECRET`, …) are not shown: their values are secrets.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::verify::Secret;

const REDACTED: &str = "<redacted>";

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

pub(super) fn redacted_list<S: Serializer>(list: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(|_| REDACTED))
}

pub(super) fn redacted_option<S: Serializer>(
    value: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

pub(super) fn redacted_values<S: Serializer>(
    map: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(map.keys().map(|k| (k, REDACTED)))
}

pub(super) fn url<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&without_credentials(url))
}

pub(super) fn durations<S: Serializer>(list: &[Duration], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        list.iter()
            .map(|d| humantime::format_duration(*d).to_string()),
    )
}

/// `d` in the largest unit that divides it (`365d`, not humantime's `11months 30days 3h…`).
pub(super) fn duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    let ms = d.as_millis();
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    let unit = units
        .iter()
        .find(|(size, _)| ms > 0 && ms.is_multiple_of(*size));
    s.serialize_str(&match unit {
        Some((size, name)) => format!("{}{name}", ms / size),
        None => format!("{ms}ms"),
    })
}

/// `url` without a `user:password@` part or a query, either of which may carry a secret.
pub fn without_credentials(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::effective;

    #[test]
    fn forward_urls_lose_credentials_and_queries() {
        assert_eq!(
            without_credentials("https://u:p@app.internal:8443/hooks?token=x"),
            "https://app.internal:8443/hooks"
        );
        assert_eq!(
            without_credentials("http://127.0.0.1:3000"),
            "http://127.0.0.1:3000"
        );
    }

    #[test]
    fn defaults_are_filled_in_and_no_secret_is_printed() {
        let text = "[admin]\ntoken = \"admin-token-secret-value\"\n\
            [[admin.tokens]]\nname = \"ops\"\nrole = \"operate\"\ntoken = \"ops-token-secret-value\"\n\
            [storage]\nbackend = \"postgres\"\ndatabase_url = \"postgres://u:pw-secret@db/h\"\n\
            [sources.app]\nscheme = \"stripe\"\nsecrets = [\"whsec_c2VjcmV0LXNlY3JldA==\"]\n\
            [sources.app.handler]\ntype = \"forward\"\nurl = \"https://u:url-secret@app/h?k=q-secret\"\n\
            secret = \"whsec_Zm9yd2FyZC1zZWNyZXQ=\"\n\
            [[sources.gh.routes]]\nname = \"ci\"\n[sources.gh.routes.handler]\ntype = \"command\"\n\
            program = \"/bin/true\"\nenv = { TOKEN = \"env-secret-value\" }\n\
            [sources.gh]\nscheme = \"github\"\nsecrets = [\"gh-secret-value\"]\n\
            [sources.app.reconcile]\napi_key = \"sk_test_secret-value\"\n";
        let out = effective(text).expect("effective");
        for secret in [
            "secret-value",
            "pw-secret",
            "url-secret",
            "q-secret",
            "c2VjcmV0",
            "Zm9y",
        ] {
            assert!(!out.contains(secret), "{secret} printed:\n{out}");
        }
        let back: toml::Value = toml::from_str(&out).expect("the output is TOML");
        assert_eq!(back["server"]["shutdown_timeout"].as_str(), Some("30s"));
        assert_eq!(back["worker"]["concurrency"].as_integer(), Some(256));
        assert_eq!(
            back["sources"]["app"]["handler"]["url"].as_str(),
            Some("https://app/h")
        );
        assert_eq!(
            back["sources"]["gh"]["routes"][0]["handler"]["env"]["TOKEN"].as_str(),
            Some(REDACTED)
        );
        assert_eq!(back["storage"]["database_url"].as_str(), Some(REDACTED));
        assert_eq!(back["admin"]["audit_retention"].as_str(), Some("365d"));
    }
}

//! The public edge's settings: `[server.tls]` (certificate files or ACME), `server.trusted_proxies`,
//! and a source's `allow_from`, `rate_limit` and `dedupe_on_body`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

/// `[server.tls]`: HTTPS on `server.listen`, from certificate files or from ACME.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first); re-read when it changes on disk or on SIGHUP.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// How often the files are checked for a change.
    #[serde(with = "humantime_serde")]
    pub watch_interval: Duration,
    /// `[server.tls.acme]`: obtain and renew the certificate from an ACME CA instead.
    pub acme: Option<AcmeConfig>,
}

/// `[server.tls.acme]`: certificates from Let's Encrypt (or another ACME CA), validated by
/// TLS-ALPN-01 on `server.listen`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcmeConfig {
    /// Names the certificate covers; each must resolve to this host, port 443 reaching
    /// `server.listen`.
    pub domains: Vec<String>,
    /// Contacts for the account (`mailto:ops@example.com`).
    pub contact: Vec<String>,
    /// The CA's directory (default Let's Encrypt production).
    pub directory_url: String,
    /// PEM certificates trusted for the directory's HTTPS, on top of the system's roots.
    pub directory_ca_file: Option<PathBuf>,
    /// Renew when the certificate has less than this left.
    #[serde(with = "humantime_serde")]
    pub renew_before: Duration,
    /// First wait after a failed order, doubled each time up to a day; also the least time
    /// between two orders.
    #[serde(with = "humantime_serde")]
    pub retry_after: Duration,
}

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

impl Default for AcmeConfig {
    fn default() -> Self {
        AcmeConfig {
            domains: Vec::new(),
            contact: Vec::new(),
            directory_url: LETS_ENCRYPT.to_owned(),
            directory_ca_file: None,
            renew_before: Duration::from_secs(30 * 24 * 3600),
            retry_after: Duration::from_secs(60),
        }
    }
}

/// The files' check interval unless configured.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert_file: None,
            key_file: None,
            watch_interval: WATCH_INTERVAL,
            acme: None,
        }
    }
}

impl TlsConfig {
    /// The certificate and key files, when both are set.
    pub fn files(&self) -> Option<(&PathBuf, &PathBuf)> {
        self.cert_file.as_ref().zip(self.key_file.as_ref())
    }
}

/// `[sources.<name>.rate_limit]`: a token bucket per source.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per second refilled, on average.
    pub rate: f64,
    /// Requests that may arrive at once after a quiet spell (the bucket's size).
    pub burst: u32,
}

/// A list of networks as written: CIDRs (`192.0.2.0/24`, `2001:db8::/32`) or single addresses.
pub fn networks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let texts: Vec<String> = Vec::deserialize(d)?;
    texts
        .iter()
        .map(|t| parse_network(t).map_err(serde::de::Error::custom))
        .collect()
}

/// `text` as a network: a CIDR, or one address as a /32 (/128).
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        if net != net.trunc() {
            return Err(format!(
                "{text:?} has host bits set; the network is {}",
                net.trunc()
            ));
        }
        return Ok(net);
    }
    (text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a CIDR network (192.0.2.0/24)"))
}

/// Checks `[server.tls]`: (key, reason).
pub(super) fn check_tls(tls: &TlsConfig) -> Result<(), (&'static str, String)> {
    if let Some(acme) = &tls.acme {
        if tls.cert_file.is_some() || tls.key_file.is_some() {
            let reason = "certificate files or [server.tls.acme], not both";
            return Err(("server.tls.acme", reason.into()));
        }
        return check_acme(acme);
    }
    match (&tls.cert_file, &tls.key_file) {
        (Some(_), Some(_)) => {}
        (Some(_), None) => return Err(("server.tls.key_file", "cert_file needs it".into())),
        (None, Some(_)) => return Err(("server.tls.cert_file", "key_file needs it".into())),
        (None, None) => {
            return Err((
                "server.tls",
                "set cert_file and key_file (or leave [server.tls] out for plain HTTP)".into(),
            ))
        }
    }
    if tls.watch_interval.is_zero() {
        return Err(("server.tls.watch_interval", "must be more than 0".into()));
    }
    Ok(())
}

/// Reads `[server.tls]`'s files now, so a bad one stops the start (or the reload) naming it.
pub(super) fn check_tls_files(tls: &TlsConfig) -> Result<(), (&'static str, String)> {
    use crate::tls::{PemRole, TlsError};
    let Some((cert, key)) = tls.files() else {
        return Ok(());
    };
    crate::tls::server::load_files(cert, key)
        .map(drop)
        .map_err(|e| {
            let key = match &e {
                TlsError::File {
                    role: PemRole::ServerKey,
                    ..
                } => "server.tls.key_file",
                _ => "server.tls.cert_file",
            };
            (key, e.to_string())
        })
}

fn check_acme(acme: &AcmeConfig) -> Result<(), (&'static str, String)> {
    if acme.domains.is_empty() {
        return Err(("server.tls.acme.domains", "name at least one domain".into()));
    }
    if let Some(bad) = acme
        .domains
        .iter()
        .find(|d| d.is_empty() || d.contains(['*', '/', ':', ' ']))
    {
        let reason =
            format!("{bad:?} is not a DNS name (wildcards need DNS-01, which hookbox does not do)");
        return Err(("server.tls.acme.domains", reason));
    }
    if !acme.directory_url.starts_with("https://") {
        return Err((
            "server.tls.acme.directory_url",
            "must be an https:// URL".into(),
        ));
    }
    if let Some(file) = &acme.directory_ca_file {
        crate::tls::roots(Some(file))
            .map_err(|e| ("server.tls.acme.directory_ca_file", e.to_string()))?;
    }
    if acme.retry_after.is_zero() {
        return Err(("server.tls.acme.retry_after", "must be more than 0".into()));
    }
    Ok(())
}

/// Checks a source's rate limit: (key, reason).
pub(super) fn check_rate_limit(limit: &RateLimit) -> Result<(), (&'static str, String)> {
    if !(limit.rate.is_finite() && limit.rate > 0.0) {
        return Err(("rate_limit.rate", "must be a number above 0".into()));
    }
    if limit.burst == 0 {
        return Err(("rate_limit.burst", "must be at least 1".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_cidrs_or_single_addresses() {
        assert_eq!(
            parse_network("192.0.2.0/24").unwrap().to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            parse_network("192.0.2.7").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(
            parse_network("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        let e = parse_network("192.0.2.7/24").unwrap_err();
        assert!(e.contains("192.0.2.0/24"), "{e}");
        assert!(parse_network("example.com").is_err());
    }

    #[test]
    fn tls_and_edge_errors_name_the_key() {
        let load = |extra: &str| {
            let text = format!("{extra}\n[sources.gh]\nscheme = \"github\"\nsecrets = [\"s\"]\n");
            crate::config::load_str(&text, "t.toml", &|_| None)
                .map(drop)
                .map_err(|e| e.to_string())
        };
        let both = "[server.tls]\ncert_file = \"c\"\nkey_file = \"k\"\n[server.tls.acme]\ndomains = [\"a.example\"]";
        assert!(load(both)
            .unwrap_err()
            .contains("server.tls.acme: certificate files or"));
        let wildcard = "[server.tls.acme]\ndomains = [\"*.example.com\"]";
        assert!(load(wildcard)
            .unwrap_err()
            .contains("server.tls.acme.domains"));
        let plain = "[server.tls.acme]\ndomains = [\"a.example\"]\ndirectory_url = \"http://ca\"";
        assert!(load(plain)
            .unwrap_err()
            .contains("server.tls.acme.directory_url"));
        assert!(load("[server.tls.acme]\ndomains = [\"a.example\"]").is_ok());
        let proxies = "[server]\ntrusted_proxies = [\"10.0.0.1/8\"]";
        assert!(load(proxies).unwrap_err().contains("10.0.0.0/8"));
        let same = "[server]\nlisten = \"127.0.0.1:8080\"\n[admin]\nlisten = \"127.0.0.1:8080\"";
        assert!(load(same).unwrap_err().contains("admin.listen"));
        let rate = "[sources.x]\nscheme = \"github\"\nsecrets = [\"s\"]\nrate_limit = { rate = 0.0, burst = 1 }";
        assert!(load(rate)
            .unwrap_err()
            .contains("sources.x.rate_limit.rate"));
    }
}

//! The public edge's settings: `[server.tls]` (certificate files or ACME), `server.trusted_proxies`,
//! and a source's `allow_from`, `rate_limit` and `dedupe_on_body`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

/// `[server.tls]`: HTTPS on `server.listen`, from certificate files or from ACME.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first); re-read when it changes on disk or on SIGHUP.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// How often the files are checked for a change.
    #[serde(with = "humantime_serde")]
    pub watch_interval: Duration,
}

/// The files' check interval unless configured.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert_file: None,
            key_file: None,
            watch_interval: WATCH_INTERVAL,
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
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
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
}

//! Where a client tool sends: the base URL of a running hookbox (`--to`, `--server`), `http://`
//! or `https://` (hookbox behind a TLS proxy).

use std::net::SocketAddr;

/// A hookbox base URL such as `http://127.0.0.1:8080` or `https://host/prefix/`.
#[derive(Debug, Clone)]
pub struct Target {
    /// `scheme://authority`, used to resolve `Location` paths.
    origin: String,
    /// The base URL without a trailing slash (it may carry a path prefix).
    base: String,
    /// Host and port, for the loopback check.
    host: String,
    port: u16,
}

/// Why a base URL is not usable.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Not a URL with a host.
    #[error("{flag} {url:?}: expected a URL such as http://127.0.0.1:8080")]
    Invalid {
        /// The flag that gave it.
        flag: &'static str,
        /// What was given.
        url: String,
    },
    /// A scheme other than `http` and `https`.
    #[error("{flag} {url:?}: only http:// and https:// are supported")]
    Scheme {
        /// The flag that gave it.
        flag: &'static str,
        /// What was given.
        url: String,
    },
    /// Name resolution failed.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The host is not a loopback address (and the caller asked for one).
    #[error("{0} is not a loopback address; pass --allow-remote to load another machine")]
    NotLoopback(SocketAddr),
}

impl Target {
    /// Parses the base URL given with `flag`.
    pub fn parse(flag: &'static str, url: &str) -> Result<Target, TargetError> {
        let invalid = || TargetError::Invalid {
            flag,
            url: url.to_owned(),
        };
        let uri: http::Uri = url.parse().map_err(|_| invalid())?;
        let authority = uri.authority().ok_or_else(invalid)?;
        let (scheme, port) = match uri.scheme_str() {
            Some("http") => ("http", authority.port_u16().unwrap_or(80)),
            Some("https") => ("https", authority.port_u16().unwrap_or(443)),
            _ => {
                return Err(TargetError::Scheme {
                    flag,
                    url: url.to_owned(),
                })
            }
        };
        Ok(Target {
            origin: format!("{scheme}://{authority}"),
            base: url.trim_end_matches('/').to_owned(),
            host: authority.host().trim_matches(['[', ']']).to_owned(),
            port,
        })
    }

    /// `<base><path>`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `<base>/webhooks/<source>`.
    pub fn webhook_url(&self, source: &str) -> String {
        self.url(&format!("/webhooks/{source}"))
    }

    /// Resolves a `Location` (an absolute path or an absolute URL).
    pub fn resolve(&self, location: &str) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.origin)
        } else {
            location.to_owned()
        }
    }

    /// Fails unless the host resolves to a loopback address (so a load test cannot hit
    /// another machine by a slip of the keyboard).
    pub async fn check_loopback(&self) -> Result<(), TargetError> {
        let addr = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|source| TargetError::Resolve {
                host: self.host.clone(),
                source,
            })?
            .next()
            .ok_or_else(|| TargetError::Resolve {
                host: self.host.clone(),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
        if addr.ip().is_loopback() {
            Ok(())
        } else {
            Err(TargetError::NotLoopback(addr))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_build_webhook_urls_and_resolve_locations() {
        let target = Target::parse("--to", "http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            target.webhook_url("stripe"),
            "http://127.0.0.1:8080/webhooks/stripe"
        );
        let prefixed = Target::parse("--to", "http://proxy.test/hooks").unwrap();
        assert_eq!(
            prefixed.webhook_url("github"),
            "http://proxy.test/hooks/webhooks/github"
        );
        assert_eq!(
            prefixed.resolve("/events/github/x"),
            "http://proxy.test/events/github/x"
        );
        assert_eq!(prefixed.resolve("http://a.test/e"), "http://a.test/e");
        let tls = Target::parse("--to", "https://hooks.test/").unwrap();
        assert_eq!(tls.resolve("/events/a/b"), "https://hooks.test/events/a/b");
        assert!(matches!(
            Target::parse("--to", "ftp://x.test"),
            Err(TargetError::Scheme { .. })
        ));
        let e = Target::parse("--server", "not a url").unwrap_err();
        assert!(e.to_string().starts_with("--server"), "{e}");
    }

    #[tokio::test]
    async fn only_loopback_hosts_pass_the_loopback_check() {
        let local = Target::parse("--to", "http://localhost:9").unwrap();
        local.check_loopback().await.expect("localhost is loopback");
        let remote = Target::parse("--to", "http://192.0.2.1:9").unwrap();
        assert!(matches!(
            remote.check_loopback().await,
            Err(TargetError::NotLoopback(_))
        ));
    }
}

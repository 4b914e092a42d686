//! What a webhook request must pass before its body is read: the source's allow-list (on the
//! client's address, taken from forwarding headers only when a trusted proxy sent them) and its
//! rate limit (a token bucket per source).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use http::HeaderMap;
use ipnet::IpNet;

use super::problem::{Problem, Reason};
use crate::config::{RateLimit, Source};

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// The only listener: serves everything (no `admin.listen`).
    All,
    /// The public listener beside an admin one: webhooks and health only.
    Public,
    /// The private admin listener: everything but webhooks.
    Admin,
}

impl Face {
    /// Whether this listener serves paths starting with `first` (the first path segment).
    pub fn serves(self, first: &str) -> bool {
        match self {
            Face::All => true,
            Face::Public => matches!(first, "webhooks" | "healthz" | "readyz"),
            Face::Admin => first != "webhooks",
        }
    }
}

/// The connection a request came on, kept in the request's extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Conn {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The listener.
    pub face: Face,
}

/// Refuses the request with 403 when its client may not send to `source`, and with 429 when
/// the source's rate limit is used up.
pub fn admit(
    buckets: &Buckets,
    source: &Source,
    trusted: &[IpNet],
    conn: Option<&Conn>,
    headers: &HeaderMap,
) -> Result<(), Problem> {
    if !source.allow_from.is_empty() {
        let client = conn.and_then(|c| client_address(c.peer.ip(), headers, trusted));
        let allowed = client.is_some_and(|ip| source.allow_from.iter().any(|n| n.contains(&ip)));
        if !allowed {
            tracing::info!(client = ?client, "refused: address not in allow_from");
            return Err(Problem::new(
                Reason::AddressNotAllowed,
                "this source does not accept requests from your address",
            ));
        }
    }
    if let Some(limit) = source.rate_limit {
        if let Err(wait_secs) = buckets.take(&source.name, limit) {
            return Err(Problem::new(
                Reason::RateLimited,
                "this source's rate limit is reached; retry after the time Retry-After gives",
            )
            .retry_after(wait_secs));
        }
    }
    Ok(())
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the nearest
/// address in the forwarding chain (`Forwarded`, else `X-Forwarded-For`) that is not a trusted
/// proxy. `None` when that entry cannot be read (an obfuscated or garbled one).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops = forwarded_hops(headers);
    // From the nearest hop outwards: each trusted proxy vouches for the one before it.
    let mut client = peer;
    for hop in hops.iter().rev() {
        let ip = parse_hop(hop)?;
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// The forwarding chain as sent, client first: `Forwarded`'s `for=` values when there is a
/// `Forwarded` header, else `X-Forwarded-For`'s entries.
fn forwarded_hops(headers: &HeaderMap) -> Vec<String> {
    let joined = |name: &str| {
        let values = headers.get_all(name).iter();
        let text: Vec<&str> = values.filter_map(|v| v.to_str().ok()).collect();
        text.join(",")
    };
    let forwarded = joined("forwarded");
    if !forwarded.trim().is_empty() {
        return (forwarded.split(','))
            .map(|element| {
                let pair = element
                    .split(';')
                    .map(str::trim)
                    .find(|p| p.get(..4).is_some_and(|k| k.eq_ignore_ascii_case("for=")));
                pair.map_or_else(String::new, |p| p[4..].trim_matches('"').to_owned())
            })
            .collect();
    }
    let xff = joined("x-forwarded-for");
    (xff.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// One hop's address: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    hop.strip_prefix('[')?.split(']').next()?.parse().ok()
}

/// One token bucket per source, refilled continuously.
#[derive(Default)]
pub struct Buckets(Mutex<HashMap<String, Bucket>>);

struct Bucket {
    limit: RateLimit,
    tokens: f64,
    at: Instant,
}

impl Buckets {
    /// Takes a token of `source`'s bucket; when there is none, the whole seconds (≥ 1) until
    /// one is back.
    pub fn take(&self, source: &str, limit: RateLimit) -> Result<(), u64> {
        self.take_at(source, limit, Instant::now())
    }

    fn take_at(&self, source: &str, limit: RateLimit, now: Instant) -> Result<(), u64> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let full = f64::from(limit.burst);
        let bucket = map.entry(source.to_owned()).or_insert(Bucket {
            limit,
            tokens: full,
            at: now,
        });
        // A reload that changed the limit starts the new one full.
        if bucket.limit != limit {
            *bucket = Bucket {
                limit,
                tokens: full,
                at: now,
            };
        }
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.rate).min(full);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / limit.rate;
        Err((wait.ceil() as u64).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn net(text: &str) -> IpNet {
        crate::config::parse_network(text).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let spoofed = headers(&[("x-forwarded-for", "192.0.2.1")]);
        assert_eq!(client_address(peer, &spoofed, &[]), Some(peer));
        assert_eq!(
            client_address(peer, &spoofed, &[net("10.0.0.0/8")]),
            Some(peer)
        );
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [net("10.0.0.0/8")];
        // The client put a fake first entry; the proxy appended the real peer.
        let chain = headers(&[("x-forwarded-for", "192.0.2.1, 198.51.100.7, 10.0.0.5")]);
        let real = "198.51.100.7".parse().ok();
        assert_eq!(client_address(proxy, &chain, &trusted), real);
        let split = headers(&[
            ("x-forwarded-for", "192.0.2.1"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(client_address(proxy, &split, &trusted), real);
        let fwd = headers(&[(
            "forwarded",
            "for=192.0.2.1, for=\"[2001:db8::1]:4711\";proto=https",
        )]);
        assert_eq!(
            client_address(proxy, &fwd, &trusted),
            "2001:db8::1".parse().ok()
        );
        let hidden = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(client_address(proxy, &hidden, &trusted), None);
        assert_eq!(
            client_address(proxy, &HeaderMap::new(), &trusted),
            Some(proxy)
        );
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let buckets = Buckets::default();
        let limit = RateLimit {
            rate: 0.5,
            burst: 2,
        };
        let t0 = Instant::now();
        assert_eq!(buckets.take_at("s", limit, t0), Ok(()));
        assert_eq!(buckets.take_at("s", limit, t0), Ok(()));
        assert_eq!(buckets.take_at("s", limit, t0), Err(2));
        assert_eq!(buckets.take_at("other", limit, t0), Ok(()));
        let later = t0 + Duration::from_secs(2);
        assert_eq!(buckets.take_at("s", limit, later), Ok(()));
        assert_eq!(buckets.take_at("s", limit, later), Err(2));
    }
}

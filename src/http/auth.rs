//! Bearer-token access to status resources and the admin API, and what a token's role allows.
//!
//! The presented token is compared, as a SHA-256 digest with a constant-time equality, against
//! every configured token without stopping at a match, so timing reveals neither the token's
//! bytes, nor its length, nor which token it matched.

use http::{header, HeaderMap, Method};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::problem::{Problem, Reason};
use crate::config::{AdminConfig, Role};

/// What a request wants to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `GET /events/<source>/<id>`: open to all when `admin.public_status` is set.
    Status,
    /// `/admin/*`: always needs the token.
    Admin,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token is configured, so this access is disabled.
    Disabled(Access),
    /// No `Authorization: Bearer` header.
    Missing,
    /// A bearer token that is none of the configured ones.
    Invalid,
}

/// The 401 problem, with `WWW-Authenticate: Bearer`, saying what to do.
impl From<Denied> for Problem {
    fn from(denied: Denied) -> Problem {
        let detail = match denied {
            Denied::Disabled(Access::Admin) => {
                "the admin API is disabled: set HOOKBOX_ADMIN_TOKEN (or admin.token) to enable it"
            }
            Denied::Disabled(Access::Status) => {
                "status resources are disabled: set HOOKBOX_ADMIN_TOKEN (or admin.token) and \
                 send it as a bearer token, or set admin.public_status = true"
            }
            Denied::Missing => "send the admin token as `Authorization: Bearer <token>`",
            Denied::Invalid => "the bearer token is not valid",
        };
        Problem::new(Reason::Unauthorized, detail)
            .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"hookbox\"")
    }
}

/// Who a request acts as: the name and role of the token it presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal<'a> {
    /// The token's name (`admin` for `admin.token`).
    pub name: &'a str,
    /// What it may do.
    pub role: Role,
}

/// Whether the request may proceed, and as which token (`None` for a status resource opened by
/// `admin.public_status`).
pub fn authorize<'a>(
    admin: &'a AdminConfig,
    headers: &HeaderMap,
    access: Access,
) -> Result<Option<Principal<'a>>, Denied> {
    if access == Access::Status && admin.public_status {
        return Ok(None);
    }
    if !admin.enabled() {
        return Err(Denied::Disabled(access));
    }
    let presented = digest(bearer(headers).ok_or(Denied::Missing)?);
    // Every token is compared, and the match picked without a branch.
    let none = u32::MAX;
    let mut found = none;
    for (i, (_, _, secret)) in admin.all_tokens().enumerate() {
        let equal = presented.ct_eq(&digest(secret.expose()));
        found.conditional_assign(&(i as u32), equal);
    }
    let token = admin
        .all_tokens()
        .nth(found as usize)
        .filter(|_| found != none);
    let (name, role, _) = token.ok_or(Denied::Invalid)?;
    Ok(Some(Principal { name, role }))
}

/// Whether `method` only reads: anything else under `/admin` is an action.
pub fn reads(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// The 403 for a token whose role does not allow an action.
pub fn forbidden(who: Principal<'_>) -> Problem {
    Problem::new(
        Reason::Forbidden,
        format!(
            "the token {:?} has the role {}, which may only read; actions need an operate token",
            who.name,
            who.role.name()
        ),
    )
}

/// Whether `who` may do what `method` asks.
pub fn allowed(who: Principal<'_>, method: &Method) -> bool {
    who.role == Role::Operate || reads(method)
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Secret;

    fn token(name: &str, role: Role, secret: &str) -> crate::config::AdminToken {
        crate::config::AdminToken {
            name: name.into(),
            role,
            secret: Secret::new(secret),
        }
    }

    fn admin(token: Option<&str>, public_status: bool) -> AdminConfig {
        AdminConfig {
            token: token.map(Secret::new),
            tokens: token
                .map(|t| self::token("admin", Role::Operate, t))
                .into_iter()
                .collect(),
            public_status,
            ..AdminConfig::default()
        }
    }

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
        headers
    }

    fn name(result: Result<Option<Principal<'_>>, Denied>) -> Result<Option<&str>, Denied> {
        result.map(|p| p.map(|t| t.name))
    }

    #[test]
    fn only_the_configured_token_passes() {
        let cfg = admin(Some("0123456789abcdef"), false);
        for access in [Access::Status, Access::Admin] {
            let check = |value: &str| name(authorize(&cfg, &with_auth(value), access));
            assert_eq!(check("Bearer 0123456789abcdef"), Ok(Some("admin")));
            assert_eq!(check("bearer  0123456789abcdef "), Ok(Some("admin")));
            assert_eq!(check("Bearer 0123456789abcdeF"), Err(Denied::Invalid));
            assert_eq!(check("Bearer 0123"), Err(Denied::Invalid));
            assert_eq!(check("Basic 0123456789abcdef"), Err(Denied::Missing));
            assert_eq!(check("Bearer "), Err(Denied::Missing));
            let none = authorize(&cfg, &HeaderMap::new(), access);
            assert_eq!(name(none), Err(Denied::Missing));
        }
    }

    #[test]
    fn each_named_token_is_found_and_its_role_decides_actions() {
        let cfg = AdminConfig {
            token: Some(Secret::new("0123456789abcdef")),
            tokens: vec![
                token("dashboard", Role::Read, "read-only-token-0001"),
                token("oncall", Role::Operate, "operate-token-00002"),
            ],
            ..AdminConfig::default()
        };
        let who = |secret: &str| {
            let headers = with_auth(&format!("Bearer {secret}"));
            authorize(&cfg, &headers, Access::Admin).map(|p| p.expect("a token"))
        };
        let dashboard = who("read-only-token-0001").expect("read token");
        assert_eq!((dashboard.name, dashboard.role), ("dashboard", Role::Read));
        let oncall = who("operate-token-00002").expect("operate token");
        assert_eq!((oncall.name, oncall.role), ("oncall", Role::Operate));
        assert_eq!(who("0123456789abcdef").expect("legacy").name, "admin");
        assert_eq!(who("read-only-token-000").map(|_| ()), Err(Denied::Invalid));
        for method in [Method::GET, Method::HEAD] {
            assert!(allowed(dashboard, &method) && allowed(oncall, &method));
        }
        for method in [Method::POST, Method::DELETE, Method::PUT] {
            assert!(!allowed(dashboard, &method), "{method}");
            assert!(allowed(oncall, &method), "{method}");
        }
        let res = forbidden(dashboard).response();
        assert_eq!(res.status(), 403);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    #[test]
    fn public_status_opens_status_only_and_no_token_disables_both() {
        let public = admin(Some("0123456789abcdef"), true);
        let nothing = HeaderMap::new();
        assert_eq!(name(authorize(&public, &nothing, Access::Status)), Ok(None));
        assert_eq!(
            name(authorize(&public, &nothing, Access::Admin)),
            Err(Denied::Missing)
        );
        let none = admin(None, false);
        let any = with_auth("Bearer anything-at-all-here");
        for access in [Access::Status, Access::Admin] {
            assert_eq!(
                name(authorize(&none, &any, access)),
                Err(Denied::Disabled(access))
            );
        }
        let open = admin(None, true);
        assert_eq!(name(authorize(&open, &any, Access::Status)), Ok(None));
    }

    #[test]
    fn refusals_are_401_problems_with_a_bearer_challenge() {
        for denied in [
            Denied::Missing,
            Denied::Invalid,
            Denied::Disabled(Access::Admin),
        ] {
            let res = Problem::from(denied).response();
            assert_eq!(res.status(), 401);
            assert_eq!(
                res.headers()[header::WWW_AUTHENTICATE],
                "Bearer realm=\"hookbox\""
            );
        }
    }
}

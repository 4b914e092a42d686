//! Bearer-token access to status resources and the admin API.
//!
//! Tokens are compared as SHA-256 digests with a constant-time equality, so neither the
//! token's bytes nor its length leak through timing.

use http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::problem::{Problem, Reason};
use crate::config::AdminConfig;

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
    /// A bearer token that is not the configured one.
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

/// Whether the request may proceed.
pub fn authorize(admin: &AdminConfig, headers: &HeaderMap, access: Access) -> Result<(), Denied> {
    if access == Access::Status && admin.public_status {
        return Ok(());
    }
    let token = admin.token.as_ref().ok_or(Denied::Disabled(access))?;
    let presented = bearer(headers).ok_or(Denied::Missing)?;
    if digest(presented).ct_eq(&digest(token.expose())).into() {
        Ok(())
    } else {
        Err(Denied::Invalid)
    }
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

    fn admin(token: Option<&str>, public_status: bool) -> AdminConfig {
        AdminConfig {
            token: token.map(Secret::new),
            public_status,
        }
    }

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
        headers
    }

    #[test]
    fn only_the_configured_token_passes() {
        let cfg = admin(Some("0123456789abcdef"), false);
        for access in [Access::Status, Access::Admin] {
            let check = |value: &str| authorize(&cfg, &with_auth(value), access);
            assert_eq!(check("Bearer 0123456789abcdef"), Ok(()));
            assert_eq!(check("bearer  0123456789abcdef "), Ok(()));
            assert_eq!(check("Bearer 0123456789abcdeF"), Err(Denied::Invalid));
            assert_eq!(check("Bearer 0123"), Err(Denied::Invalid));
            assert_eq!(check("Basic 0123456789abcdef"), Err(Denied::Missing));
            assert_eq!(check("Bearer "), Err(Denied::Missing));
            let none = authorize(&cfg, &HeaderMap::new(), access);
            assert_eq!(none, Err(Denied::Missing));
        }
    }

    #[test]
    fn public_status_opens_status_only_and_no_token_disables_both() {
        let public = admin(Some("0123456789abcdef"), true);
        let nothing = HeaderMap::new();
        assert_eq!(authorize(&public, &nothing, Access::Status), Ok(()));
        assert_eq!(
            authorize(&public, &nothing, Access::Admin),
            Err(Denied::Missing)
        );
        let none = admin(None, false);
        let any = with_auth("Bearer anything-at-all-here");
        for access in [Access::Status, Access::Admin] {
            assert_eq!(
                authorize(&none, &any, access),
                Err(Denied::Disabled(access))
            );
        }
        assert_eq!(authorize(&admin(None, true), &any, Access::Status), Ok(()));
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

//! Signature verification and event-id extraction, one file per provider scheme.
//!
//! Everything here is pure: no I/O, no clock (callers pass `now` in unix seconds), so the
//! provider test vectors and the hostile-input cases live as unit tests beside each scheme.
//! Signatures are always checked over the raw body bytes and compared in constant time.

mod generic;
mod github;
mod paddle;
mod secret;
mod shopify;
mod slack;
mod square;
mod standard;
mod stripe;
mod util;

use std::time::Duration;

use http::HeaderMap;

pub use generic::{Algorithm, Encoding, HmacScheme, IdLocation};
pub use secret::Secret;

/// How a source signs its requests and where its event id lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `Stripe-Signature: t=..,v1=..`; id = body `id`.
    Stripe,
    /// `X-Hub-Signature-256: sha256=<hex>`; id = `X-GitHub-Delivery`.
    Github,
    /// Standard Webhooks / Svix (`webhook-*` or `svix-*` headers); id = `webhook-id`.
    Standard,
    /// `X-Shopify-Hmac-Sha256: <base64>`; id = `X-Shopify-Webhook-Id`.
    Shopify,
    /// `X-Slack-Signature: v0=<hex>` + `X-Slack-Request-Timestamp`; id = body `event_id`.
    Slack,
    /// `Paddle-Signature: ts=..;h1=..`; id = body `event_id`.
    Paddle,
    /// `x-square-hmacsha256-signature: <base64>` over `notification_url + body`; id = body `event_id`.
    Square {
        /// The exact URL configured in Square's dashboard for this subscription.
        notification_url: String,
    },
    /// A configurable HMAC scheme for every other provider.
    Hmac(HmacScheme),
}

/// Why a request's signature was not accepted. Never carries a secret or an expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A header the scheme needs is absent.
    #[error("missing header {0}")]
    MissingHeader(String),
    /// A header is present but cannot be parsed.
    #[error("malformed header {header}: {reason}")]
    MalformedHeader {
        /// Header name, lower case.
        header: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signed timestamp is older than the tolerance allows.
    #[error("timestamp is {age_secs}s old, tolerance is {tolerance_secs}s")]
    TimestampTooOld {
        /// How old the timestamp is.
        age_secs: u64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error("timestamp is {ahead_secs}s in the future, tolerance is {tolerance_secs}s")]
    TimestampInFuture {
        /// How far ahead the timestamp is.
        ahead_secs: u64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
    /// Well-formed, but no signature matched any configured secret.
    #[error("no signature matches any configured secret")]
    NoMatch,
}

/// Why no event id could be taken from a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id header is absent or empty.
    #[error("missing header {0}")]
    MissingHeader(String),
    /// The body is not a JSON document.
    #[error("body is not valid JSON")]
    NotJson,
    /// The body is JSON but has no usable id at the given place (absent, empty, or not a string/number).
    #[error("body has no event id at {0}")]
    MissingField(String),
    /// The id is longer than [`MAX_EVENT_ID_LEN`] bytes or contains control characters.
    #[error("event id is not acceptable: {0}")]
    Invalid(&'static str),
}

/// Longest event id accepted (bytes). Provider ids are far shorter; this bounds key sizes.
pub const MAX_EVENT_ID_LEN: usize = 256;

/// A scheme with its secrets and timestamp tolerance: everything needed to check one source.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// The signature scheme.
    pub scheme: Scheme,
    /// All secrets currently accepted (several during rotation); any one may match.
    pub secrets: Vec<Secret>,
    /// Largest accepted distance between the signed timestamp and now.
    pub tolerance: Duration,
}

impl Verifier {
    /// Checks the request's signature over the raw `body`. `now` is unix seconds.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: u64) -> Result<(), VerifyError> {
        let tol = self.tolerance.as_secs();
        let secrets = &self.secrets;
        match &self.scheme {
            Scheme::Stripe => stripe::verify(secrets, headers, body, now, tol),
            Scheme::Github => github::verify(secrets, headers, body),
            Scheme::Standard => standard::verify(secrets, headers, body, now, tol),
            Scheme::Shopify => shopify::verify(secrets, headers, body),
            Scheme::Slack => slack::verify(secrets, headers, body, now, tol),
            Scheme::Paddle => paddle::verify(secrets, headers, body, now, tol),
            Scheme::Square { notification_url } => {
                square::verify(secrets, notification_url, headers, body)
            }
            Scheme::Hmac(h) => h.verify(secrets, headers, body, now, tol),
        }
    }

    /// The provider's event id, used for dedupe.
    pub fn event_id(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        let id = match &self.scheme {
            Scheme::Stripe => util::json_id(body, "/id")?,
            Scheme::Github => util::header_id(headers, "x-github-delivery")?,
            Scheme::Standard => standard::event_id(headers)?,
            Scheme::Shopify => util::header_id(headers, "x-shopify-webhook-id")?,
            Scheme::Slack | Scheme::Paddle | Scheme::Square { .. } => {
                util::json_id(body, "/event_id")?
            }
            Scheme::Hmac(h) => h.event_id(headers, body)?,
        };
        util::check_id(id)
    }

    /// The event's type where the scheme carries one (`payment_intent.succeeded`, `push`, …).
    pub fn event_type(&self, headers: &HeaderMap, body: &[u8]) -> Option<String> {
        match &self.scheme {
            Scheme::Stripe | Scheme::Square { .. } => util::json_str(body, "/type"),
            Scheme::Github => util::header_str(headers, "x-github-event"),
            Scheme::Shopify => util::header_str(headers, "x-shopify-topic"),
            Scheme::Slack => {
                util::json_str(body, "/event/type").or_else(|| util::json_str(body, "/type"))
            }
            Scheme::Paddle => util::json_str(body, "/event_type"),
            Scheme::Standard | Scheme::Hmac(_) => util::json_str(body, "/type"),
        }
    }

    /// Whether this scheme reads its event id from a JSON body (so a non-JSON body is a 415).
    pub fn needs_json_body(&self) -> bool {
        self.id_pointer().is_some()
    }

    /// The JSON pointer of the event id for schemes that keep it in the body (`/id`,
    /// `/event_id`, …); `None` where the id travels in a header.
    pub fn id_pointer(&self) -> Option<&str> {
        match &self.scheme {
            Scheme::Stripe => Some("/id"),
            Scheme::Slack | Scheme::Paddle | Scheme::Square { .. } => Some("/event_id"),
            Scheme::Hmac(h) => match &h.id {
                IdLocation::JsonPointer(p) => Some(p),
                IdLocation::Header(_) => None,
            },
            Scheme::Github | Scheme::Shopify | Scheme::Standard => None,
        }
    }

    /// Headers (name, value) that make `body` valid for this scheme at `now`, signed with
    /// `secret`. `id` is used where the scheme carries the event id in a header.
    pub fn sign(&self, secret: &Secret, body: &[u8], now: u64, id: &str) -> Vec<(String, String)> {
        match &self.scheme {
            Scheme::Stripe => stripe::sign(secret, body, now),
            Scheme::Github => github::sign(secret, body, id),
            Scheme::Standard => standard::sign(secret, body, now, id),
            Scheme::Shopify => shopify::sign(secret, body, id),
            Scheme::Slack => slack::sign(secret, body, now),
            Scheme::Paddle => paddle::sign(secret, body, now),
            Scheme::Square { notification_url } => square::sign(secret, notification_url, body),
            Scheme::Hmac(h) => h.sign(secret, body, now, id),
        }
    }
}

/// The `challenge` to echo when `body` is Slack's `url_verification` handshake.
pub fn slack_challenge(body: &[u8]) -> Option<String> {
    slack::challenge(body)
}

/// Checks that `secret` is usable with `scheme` (e.g. Standard Webhooks secrets are base64
/// after `whsec_`). The error says what is wrong without echoing the secret.
pub fn check_secret(scheme: &Scheme, secret: &Secret) -> Result<(), &'static str> {
    match scheme {
        Scheme::Standard => standard::decode_secret(secret).map(|_| ()),
        _ if secret.expose().is_empty() => Err("secret is empty"),
        _ => Ok(()),
    }
}

//! Signature verification and event-id extraction, one file per provider scheme.
//!
//! Everything here is pure: no I/O, no clock (callers pass `now` in unix seconds), so the
//! provider test vectors and the hostile-input cases live as unit tests beside each scheme.
//! Signatures are always checked over the raw body bytes and compared in constant time.

mod adyen;
mod braintree;
mod checkout;
mod coinbase;
mod discord;
mod generic;
pub(crate) mod github;
mod gocardless;
mod hubspot;
mod intercom;
mod lemonsqueezy;
mod linear;
mod mailgun;
mod paddle;
mod provider;
mod razorpay;
mod secret;
mod sendgrid;
mod shopify;
mod simple;
mod slack;
mod square;
mod standard;
pub(crate) mod stripe;
mod twilio;
mod twitch;
mod typeform;
mod util;
mod zoom;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

pub use generic::{Algorithm, Encoding, HmacScheme, IdLocation};
use provider::{plain, Entry};
pub use provider::{Answer, Provider, SchemeError, SchemeOptions};
pub use secret::Secret;

/// The registry: every scheme by name. A new provider is a file above and a line here.
const REGISTRY: &[Entry] = &[
    Entry::new("stripe", stripe::build),
    Entry::new("github", github::build),
    Entry::new("standard", plain::<standard::Standard>),
    Entry::new("shopify", shopify::build),
    Entry::new("slack", plain::<slack::Slack>),
    Entry::new("paddle", paddle::build),
    Entry::new("square", square::build).signs_url(),
    Entry::new("adyen", plain::<adyen::Adyen>),
    Entry::new("razorpay", razorpay::build),
    Entry::new("braintree", plain::<braintree::Braintree>),
    Entry::new("checkout", checkout::build),
    Entry::new("gocardless", gocardless::build),
    Entry::new("lemonsqueezy", lemonsqueezy::build),
    Entry::new("coinbase", coinbase::build),
    Entry::new("intercom", intercom::build),
    Entry::new("typeform", typeform::build),
    Entry::new("twilio", twilio::build).signs_url(),
    Entry::new("sendgrid", plain::<sendgrid::Sendgrid>),
    Entry::new("discord", plain::<discord::Discord>),
    Entry::new("zoom", plain::<zoom::Zoom>),
    Entry::new("twitch", plain::<twitch::Twitch>),
    Entry::new("mailgun", plain::<mailgun::Mailgun>),
    Entry::new("linear", plain::<linear::Linear>),
    Entry::new("hubspot", hubspot::build).signs_url(),
    Entry::new("hmac", generic::build),
];

/// How a source signs its requests and where its event id lives: a named [`Provider`] from the
/// registry.
#[derive(Clone)]
pub struct Scheme {
    name: &'static str,
    provider: Arc<dyn Provider>,
}

impl Scheme {
    /// The scheme registered as `name`, built with `options`. Options a scheme does not use are
    /// refused, so a typo in the config is not silently ignored.
    pub fn build(name: &str, options: &SchemeOptions) -> Result<Scheme, SchemeError> {
        let Some(entry) = REGISTRY.iter().find(|e| e.name == name) else {
            let known = Scheme::names().collect::<Vec<_>>().join(", ");
            return Err(SchemeError::new(
                "scheme",
                format!("unknown scheme {name:?} (expected one of {known})"),
            ));
        };
        if !entry.uses_url && options.url.is_some() {
            let users: Vec<_> = REGISTRY
                .iter()
                .filter(|e| e.uses_url)
                .map(|e| e.name)
                .collect();
            let reason = format!("only used with the schemes {}", users.join(", "));
            return Err(SchemeError::new("notification_url", reason));
        }
        if entry.name != "hmac" && options.hmac.is_some() {
            return Err(SchemeError::new("hmac", "only used with scheme \"hmac\""));
        }
        let provider = (entry.build)(options)?;
        Ok(Scheme {
            name: entry.name,
            provider: Arc::from(provider),
        })
    }

    /// Standard Webhooks, which hookbox itself signs forwarded events with.
    pub fn standard() -> Scheme {
        Scheme {
            name: "standard",
            provider: Arc::new(standard::Standard),
        }
    }

    /// The generic HMAC scheme with these settings.
    pub fn hmac(scheme: HmacScheme) -> Scheme {
        Scheme {
            name: "hmac",
            provider: Arc::new(scheme),
        }
    }

    /// Every registered scheme name, in registry order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        REGISTRY.iter().map(|e| e.name)
    }

    /// The name this scheme is registered under.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The provider behind the name.
    pub fn provider(&self) -> &dyn Provider {
        self.provider.as_ref()
    }
}

impl fmt::Debug for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scheme").field(&self.provider).finish()
    }
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
    /// The body, which carries the signature or what it signs, cannot be read.
    #[error("malformed body: {0}")]
    MalformedBody(&'static str),
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
        let tolerance = self.tolerance.as_secs();
        let provider = self.scheme.provider();
        provider.verify(&self.secrets, headers, body, now, tolerance)
    }

    /// The provider's event id, used for dedupe.
    pub fn event_id(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        util::check_id(self.scheme.provider().event_id(headers, body)?)
    }

    /// The event's type where the scheme carries one (`payment_intent.succeeded`, `push`, …).
    pub fn event_type(&self, headers: &HeaderMap, body: &[u8]) -> Option<String> {
        self.scheme.provider().event_type(headers, body)
    }

    /// Whether this scheme needs a JSON body (so another body is a 415).
    pub fn needs_json_body(&self) -> bool {
        self.scheme.provider().needs_json_body()
    }

    /// The JSON pointer of the event id for schemes that keep it in the body (`/id`,
    /// `/event_id`, …); `None` where the id travels elsewhere.
    pub fn id_pointer(&self) -> Option<&str> {
        self.scheme.provider().id_pointer()
    }

    /// Headers (name, value) that make `body` valid for this scheme at `now`, signed with
    /// `secret`. `id` is used where the scheme carries the event id in a header.
    pub fn sign(&self, secret: &Secret, body: &[u8], now: u64, id: &str) -> Vec<(String, String)> {
        self.scheme.provider().sign(secret, body, now, id)
    }

    /// The body to send in place of `body` for schemes that sign inside it (Adyen, Mailgun, …),
    /// signed with `secret` at `now`; `None` when `body` goes as it is. Call before [`Verifier::sign`],
    /// which signs the body actually sent.
    pub fn sign_body(&self, secret: &Secret, body: &[u8], now: u64) -> Option<Vec<u8>> {
        self.scheme.provider().sign_body(secret, body, now)
    }

    /// The headers that carry this scheme's signature, lower case (see
    /// [`Provider::signature_headers`]); none without a secret.
    pub fn signature_headers(&self) -> Vec<String> {
        let secret = self.secrets.first();
        secret.map_or_else(Vec::new, |s| self.scheme.provider().signature_headers(s))
    }

    /// The plain-text body the provider requires when an event is accepted (Adyen's
    /// `[accepted]`), if it requires one.
    pub fn acknowledgement(&self) -> Option<&'static str> {
        self.scheme.provider().acknowledgement()
    }

    /// The handshake answer (Slack's challenge, Discord's PING, …) owed instead of a 202. Call
    /// only after [`Verifier::verify`] accepted the request.
    pub fn answer(&self, headers: &HeaderMap, body: &[u8]) -> Option<Answer> {
        self.scheme.provider().answer(&self.secrets, headers, body)
    }
}

/// Checks that `secret` is usable with `scheme` (e.g. Standard Webhooks secrets are base64
/// after `whsec_`). The error says what is wrong without echoing the secret.
pub fn check_secret(scheme: &Scheme, secret: &Secret) -> Result<(), &'static str> {
    scheme.provider().check_secret(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(name: &str, url: Option<&str>) -> Result<Scheme, SchemeError> {
        let options = SchemeOptions {
            url: url.map(Into::into),
            hmac: None,
        };
        Scheme::build(name, &options)
    }

    #[test]
    fn every_registered_name_builds_once() {
        let names: Vec<&str> = Scheme::names().collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a name is registered twice");
        for entry in REGISTRY.iter().filter(|e| e.name != "hmac") {
            let url = entry.uses_url.then_some("https://example.test/hook");
            let scheme = build(entry.name, url).unwrap();
            assert_eq!(scheme.name(), entry.name);
        }
    }

    #[test]
    fn options_are_required_or_refused_by_the_scheme() {
        for name in ["square", "twilio", "hubspot"] {
            let err = build(name, None).unwrap_err();
            assert_eq!(err.option, "notification_url", "{name}");
        }
        let err = build("stripe", Some("https://example.test")).unwrap_err();
        assert_eq!(err.option, "notification_url");
        assert!(err.reason.contains("square") && err.reason.contains("twilio"));
        let err = build("nope", None).unwrap_err();
        assert_eq!(err.option, "scheme");
        assert!(err.reason.contains("adyen") && err.reason.contains("zoom"));
        let err = build("hmac", None).unwrap_err();
        assert_eq!(err.option, "hmac");
        let hmac = HmacScheme {
            header: "x-sig".into(),
            prefix: String::new(),
            encoding: Encoding::Hex,
            algorithm: Algorithm::Sha1,
            signed: "{body}".into(),
            timestamp_header: None,
            id: IdLocation::Header("x-id".into()),
        };
        let options = SchemeOptions {
            url: None,
            hmac: Some(hmac),
        };
        assert_eq!(Scheme::build("hmac", &options).unwrap().name(), "hmac");
        assert_eq!(
            Scheme::build("github", &options).unwrap_err().option,
            "hmac"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let verifier = Verifier {
            scheme: build("twilio", Some("https://example.test/t")).unwrap(),
            secrets: vec![Secret::new("auth-token-value")],
            tolerance: Duration::from_secs(1),
        };
        let text = format!("{verifier:?}");
        assert!(!text.contains("auth-token-value"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
}

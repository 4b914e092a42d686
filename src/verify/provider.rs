//! What a provider scheme is: one [`Provider`] implementation per file, and the registry entry
//! ([`Entry`], listed in `verify/mod.rs`) that maps a scheme name (`scheme = "…"` in config,
//! `--scheme` on the command line) to the function that builds it. Adding a provider is one new
//! file and one line in that table.

use std::fmt;

use http::HeaderMap;

use super::{util, HmacScheme, IdError, Secret, VerifyError};

/// How one provider signs its requests, where its event id lives, and how it answers a
/// handshake. Every method is pure: no I/O, no clock (callers pass `now` in unix seconds).
pub trait Provider: Send + Sync + fmt::Debug {
    /// Checks the request's signature over the raw `body`. Where a timestamp is signed it must be
    /// within `tolerance` seconds of `now` either way.
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError>;

    /// The provider's event id, used for dedupe (unchecked; [`super::Verifier`] bounds it).
    fn event_id(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, IdError>;

    /// The event's type where the provider carries one. By default the body's `type`.
    fn event_type(&self, _headers: &HeaderMap, body: &[u8]) -> Option<String> {
        util::json_str(body, "/type")
    }

    /// Where the id comes from a JSON body: the pointer a replay rewrites to give the event a
    /// fresh id (the id itself, or the part of it that varies). `None` where the id travels in a
    /// header or the body is not JSON.
    fn id_pointer(&self) -> Option<&str> {
        None
    }

    /// Whether the body must be JSON (so that another body is a 415 rather than a 400).
    fn needs_json_body(&self) -> bool {
        self.id_pointer().is_some()
    }

    /// Headers (name, value) that make `body` valid at `now` under `secret`; `id` is used where
    /// the provider carries the event id in a header.
    fn sign(&self, secret: &Secret, body: &[u8], now: u64, id: &str) -> Vec<(String, String)>;

    /// The request headers that carry this provider's signature (and what it signs besides the
    /// body), lower case: what a `forward` with `signing = "original"` passes on. By default the
    /// names [`Provider::sign`] sets with `secret`.
    fn signature_headers(&self, secret: &Secret) -> Vec<String> {
        let signed = self.sign(secret, b"{}", 0, "id");
        signed
            .into_iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }

    /// For providers whose signature (or signed timestamp) travels inside the body (Adyen's
    /// notification items, Mailgun's `signature` object, …): the body as it must be sent to be
    /// valid under `secret` at `now`. `None`, the default, means the body is sent as it is.
    fn sign_body(&self, _secret: &Secret, _body: &[u8], _now: u64) -> Option<Vec<u8>> {
        None
    }

    /// Whether `secret` is usable with this provider. The reason never echoes the secret.
    fn check_secret(&self, secret: &Secret) -> Result<(), &'static str> {
        if secret.expose().is_empty() {
            Err("secret is empty")
        } else {
            Ok(())
        }
    }

    /// Provider headers worth keeping with every event (event type, shop, delivery id, …).
    fn kept_headers(&self) -> &'static [&'static str] {
        &[]
    }

    /// The answer to a handshake (Slack's `url_verification`, …) instead of storing the request.
    /// Called only after [`Provider::verify`] accepted the request; `secrets` are the source's.
    fn answer(&self, _secrets: &[Secret], _headers: &HeaderMap, _body: &[u8]) -> Option<Answer> {
        None
    }

    /// The plain-text body a provider requires when an event is accepted (Adyen's
    /// `[accepted]`); `None` keeps hookbox's JSON answer. The status is unchanged.
    fn acknowledgement(&self) -> Option<&'static str> {
        None
    }
}

/// A response a provider expects instead of the usual 202: a handshake's echo (200) or a
/// bare acknowledgement (204).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// 200 with a body, or 204 without one.
    pub status: http::StatusCode,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The exact bytes to send.
    pub body: Vec<u8>,
}

impl Answer {
    /// A JSON answer (200).
    pub fn json(value: &serde_json::Value) -> Self {
        Answer {
            status: http::StatusCode::OK,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    /// An empty 204.
    pub fn no_content() -> Self {
        Answer {
            status: http::StatusCode::NO_CONTENT,
            content_type: "text/plain",
            body: Vec::new(),
        }
    }
}

/// Settings some schemes need besides their secrets.
#[derive(Debug, Clone, Default)]
pub struct SchemeOptions {
    /// The URL the provider signs (`notification_url`, `--url`): Square, Twilio, HubSpot.
    pub url: Option<String>,
    /// The generic HMAC scheme's settings.
    pub hmac: Option<HmacScheme>,
}

/// Why a scheme could not be built from its options: which option, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option}: {reason}")]
pub struct SchemeError {
    /// The option at fault (`scheme`, `notification_url`, `hmac`).
    pub option: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl SchemeError {
    pub(super) fn new(option: &'static str, reason: impl Into<String>) -> Self {
        SchemeError {
            option,
            reason: reason.into(),
        }
    }
}

impl SchemeOptions {
    /// The URL, for a scheme that signs one; its absence is an error naming `scheme`.
    pub(super) fn required_url(&self, scheme: &str) -> Result<String, SchemeError> {
        match &self.url {
            Some(url) if !url.is_empty() => Ok(url.clone()),
            _ => Err(SchemeError::new(
                "notification_url",
                format!("required for scheme {scheme:?}"),
            )),
        }
    }
}

/// Builds one provider from its options.
pub(super) type Build = fn(&SchemeOptions) -> Result<Box<dyn Provider>, SchemeError>;

/// One registry line: the scheme's name, whether it signs a URL, and its constructor.
pub(super) struct Entry {
    pub name: &'static str,
    pub uses_url: bool,
    pub build: Build,
}

impl Entry {
    /// A scheme that takes no URL.
    pub const fn new(name: &'static str, build: Build) -> Self {
        Entry {
            name,
            uses_url: false,
            build,
        }
    }

    /// The same scheme, signing the URL it is delivered to (`notification_url`).
    pub const fn signs_url(self) -> Self {
        Entry {
            uses_url: true,
            ..self
        }
    }
}

/// A constructor for providers that take no options.
pub(super) fn plain<P: Provider + Default + 'static>(
    _: &SchemeOptions,
) -> Result<Box<dyn Provider>, SchemeError> {
    Ok(Box::new(P::default()))
}

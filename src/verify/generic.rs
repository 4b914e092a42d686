//! A configurable HMAC scheme for providers without a built-in one: which header, prefix,
//! encoding and hash, and a template saying what bytes were signed.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::Hmac;
use http::{HeaderMap, HeaderName};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::{util, IdError, Secret, VerifyError};

/// How a signature is written as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Hexadecimal, either case.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// The hash inside the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
    /// HMAC-SHA1, which Intercom, Twilio and Braintree still sign with.
    Sha1,
}

/// Where a provider puts its event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdLocation {
    /// In the named header.
    Header(String),
    /// In the JSON body, at this RFC 6901 pointer (e.g. `/id`).
    JsonPointer(String),
}

/// A provider signing `prefix + encode(HMAC(secret, signed content))` into one header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacScheme {
    /// Header carrying the signature.
    pub header: String,
    /// Text before the encoded signature, such as `sha256=`; may be empty.
    pub prefix: String,
    /// How the signature is encoded.
    pub encoding: Encoding,
    /// The hash used.
    pub algorithm: Algorithm,
    /// Template of the signed content: `{body}` is the raw body, `{timestamp}` the timestamp
    /// header's text and `{id}` the event id; anything else is literal. `{body}` alone signs the
    /// body only.
    pub signed: String,
    /// Header with the unix timestamp; required when `signed` contains `{timestamp}`.
    pub timestamp_header: Option<String>,
    /// Where the event id is.
    pub id: IdLocation,
}

/// One piece of a parsed `signed` template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Body,
    Timestamp,
    Id,
}

impl HmacScheme {
    /// Checks the request's signature over the raw `body`; `now` is unix seconds. When the
    /// template signs `{timestamp}`, it must be within `tolerance` seconds of `now` either way.
    pub fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        let pieces = pieces(&self.signed);
        // Fail closed on a template that would accept any body, or that needs a timestamp header
        // it was not given; `validate` reports both at startup.
        if !pieces.contains(&Piece::Body) {
            return Err(VerifyError::NoMatch);
        }
        let candidates =
            util::single_candidate(headers, &self.header, &self.prefix, self.encoding)?;
        let timestamp = if pieces.contains(&Piece::Timestamp) {
            let name = self
                .timestamp_header
                .as_deref()
                .ok_or(VerifyError::NoMatch)?;
            let text = util::required_header(headers, name)?;
            util::check_timestamp(name, text, now, tolerance)?;
            text
        } else {
            ""
        };
        let id = if pieces.contains(&Piece::Id) {
            match &self.id {
                IdLocation::Header(name) => util::required_header(headers, name)?.to_owned(),
                // No id in the body means the signed content cannot be rebuilt.
                IdLocation::JsonPointer(p) => {
                    util::json_id(body, p).map_err(|_| VerifyError::NoMatch)?
                }
            }
        } else {
            String::new()
        };
        let message = assemble(&pieces, body, timestamp, &id);
        util::match_secrets(secrets, self.algorithm, &message, &candidates)
    }

    /// The event id, from the configured header or JSON pointer.
    pub fn event_id(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        match &self.id {
            IdLocation::Header(name) => util::header_id(headers, name),
            IdLocation::JsonPointer(pointer) => util::json_id(body, pointer),
        }
    }

    /// Headers that make `body` valid at `now` under `secret`. `id` fills `{id}` and the id
    /// header; when the id lives in the body, the body's id wins so that `verify` agrees.
    pub fn sign(&self, secret: &Secret, body: &[u8], now: u64, id: &str) -> Vec<(String, String)> {
        let ts = now.to_string();
        let id = match &self.id {
            IdLocation::JsonPointer(p) => util::json_id(body, p).unwrap_or_else(|_| id.into()),
            IdLocation::Header(_) => id.to_owned(),
        };
        let message = assemble(&pieces(&self.signed), body, &ts, &id);
        let mac = self.algorithm.mac(secret.expose().as_bytes(), &message);
        let signature = format!("{}{}", self.prefix, self.encoding.encode(&mac));
        let mut out = vec![(self.header.to_ascii_lowercase(), signature)];
        if let Some(name) = &self.timestamp_header {
            out.push((name.to_ascii_lowercase(), ts));
        }
        if let IdLocation::Header(name) = &self.id {
            out.push((name.to_ascii_lowercase(), id));
        }
        out
    }

    /// Reports configuration that cannot work or would be unsafe: a template without `{body}`
    /// (any body would pass), `{timestamp}` without a timestamp header or the reverse (an
    /// unsigned timestamp protects nothing), and invalid header names or JSON pointers.
    pub fn validate(&self) -> Result<(), &'static str> {
        let pieces = pieces(&self.signed);
        let valid_name = |n: &str| HeaderName::from_bytes(n.as_bytes()).is_ok();
        if !valid_name(&self.header) {
            return Err("signature header is not a valid header name");
        }
        if !pieces.contains(&Piece::Body) {
            return Err("signed template must contain {body}");
        }
        match (&self.timestamp_header, pieces.contains(&Piece::Timestamp)) {
            (None, true) => return Err("template uses {timestamp} but no timestamp header is set"),
            (Some(_), false) => return Err("timestamp header is set but the template ignores it"),
            (Some(name), true) if !valid_name(name) => {
                return Err("timestamp header is not a valid header name")
            }
            _ => {}
        }
        match &self.id {
            IdLocation::Header(name) if !valid_name(name) => {
                Err("id header is not a valid header name")
            }
            IdLocation::JsonPointer(p) if !p.starts_with('/') => {
                Err("id JSON pointer must start with /")
            }
            _ => Ok(()),
        }
    }
}

/// Builds the generic scheme from its `[hmac]` settings.
pub(super) fn build(options: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    let Some(scheme) = &options.hmac else {
        return Err(SchemeError::new(
            "hmac",
            "a [hmac] table is required for scheme \"hmac\"",
        ));
    };
    scheme.validate().map_err(|r| SchemeError::new("hmac", r))?;
    Ok(Box::new(scheme.clone()))
}

impl Provider for HmacScheme {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        HmacScheme::verify(self, secrets, headers, body, now, tolerance)
    }

    fn event_id(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        HmacScheme::event_id(self, headers, body)
    }

    fn id_pointer(&self) -> Option<&str> {
        match &self.id {
            IdLocation::JsonPointer(p) => Some(p),
            IdLocation::Header(_) => None,
        }
    }

    fn sign(&self, secret: &Secret, body: &[u8], now: u64, id: &str) -> Vec<(String, String)> {
        HmacScheme::sign(self, secret, body, now, id)
    }
}

/// Splits a template into literal text and placeholders. Text is kept as slices so the body is
/// never copied or re-encoded; a `{` that starts no placeholder is literal.
fn pieces(template: &str) -> Vec<Piece<'_>> {
    // Placeholder names after their opening brace.
    const PLACEHOLDERS: [(&str, Piece<'static>); 3] = [
        ("body}", Piece::Body),
        ("timestamp}", Piece::Timestamp),
        ("id}", Piece::Id),
    ];
    let mut out = Vec::new();
    let mut rest = template;
    while let Some((text, after_brace)) = rest.split_once('{') {
        if !text.is_empty() {
            out.push(Piece::Text(text));
        }
        let found = PLACEHOLDERS
            .iter()
            .find_map(|(name, piece)| after_brace.strip_prefix(name).map(|after| (*piece, after)));
        let (piece, after) = found.unwrap_or((Piece::Text("{"), after_brace));
        out.push(piece);
        rest = after;
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// The signed content as byte slices, in template order.
fn assemble<'a>(pieces: &[Piece<'a>], body: &'a [u8], ts: &'a str, id: &'a str) -> Vec<&'a [u8]> {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.as_bytes(),
            Piece::Body => body,
            Piece::Timestamp => ts.as_bytes(),
            Piece::Id => id.as_bytes(),
        })
        .collect()
}

impl Encoding {
    /// `bytes` as text in this encoding.
    pub(super) fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => hex::encode(bytes),
            Encoding::Base64 => STANDARD.encode(bytes),
        }
    }

    /// The bytes `text` stands for, or `None` if it is not valid in this encoding.
    pub(super) fn decode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => hex::decode(text).ok(),
            Encoding::Base64 => STANDARD.decode(text).ok(),
        }
    }
}

impl Algorithm {
    /// Whether any candidate is this HMAC of `message` under any of `keys`.
    pub(super) fn any_match<K: AsRef<[u8]>>(
        self,
        keys: impl IntoIterator<Item = K>,
        message: &[&[u8]],
        candidates: &[Vec<u8>],
    ) -> bool {
        match self {
            Algorithm::Sha256 => util::any_match::<Hmac<Sha256>, K>(keys, message, candidates),
            Algorithm::Sha512 => util::any_match::<Hmac<Sha512>, K>(keys, message, candidates),
            Algorithm::Sha1 => util::any_match::<Hmac<Sha1>, K>(keys, message, candidates),
        }
    }

    /// This HMAC of `message` under `key`.
    pub(super) fn mac(self, key: &[u8], message: &[&[u8]]) -> Vec<u8> {
        match self {
            Algorithm::Sha256 => util::compute_mac::<Hmac<Sha256>>(key, message),
            Algorithm::Sha512 => util::compute_mac::<Hmac<Sha512>>(key, message),
            Algorithm::Sha1 => util::compute_mac::<Hmac<Sha1>>(key, message),
        }
    }
}

#[cfg(test)]
mod tests;

//! The shapes most providers share, each a constant in the provider's own file: [`Simple`], one
//! header holding `prefix + encode(HMAC(secret, body))`, no signed timestamp, and an event id
//! read from a header or the JSON body; and [`ListHeader`], one header listing a timestamp and
//! hex signatures over `timestamp + joiner + body` (Stripe, Paddle), ids and types in the body.

use http::HeaderMap;

use super::provider::Provider;
use super::util::ListHeader;
use super::{util, Algorithm, Encoding, IdError, Secret, VerifyError};

/// Where a [`Simple`] provider keeps its event id.
#[derive(Debug, Clone, Copy)]
pub(super) enum IdFrom {
    /// In this header.
    Header(&'static str),
    /// At this JSON pointer in the body.
    Body(&'static str),
    /// At each of these pointers, joined by `:`, for providers whose events have no single id.
    /// The first pointer is the one a replay rewrites to make a fresh id.
    Joined(&'static [&'static str]),
}

/// Where a [`Simple`] provider keeps its event type.
#[derive(Debug, Clone, Copy)]
pub(super) enum TypeFrom {
    /// In this header.
    Header(&'static str),
    /// At this JSON pointer in the body.
    Body(&'static str),
}

/// A provider signing the raw body alone into one header.
#[derive(Debug, Clone, Copy)]
pub(super) struct Simple {
    /// Header carrying the signature, lower case.
    pub header: &'static str,
    /// Text before the encoded signature (`sha1=`); may be empty.
    pub prefix: &'static str,
    /// How the signature is written.
    pub encoding: Encoding,
    /// The HMAC's hash.
    pub algorithm: Algorithm,
    /// Where the event id is.
    pub id: IdFrom,
    /// Where the event type is.
    pub event_type: TypeFrom,
    /// Headers to keep with every event.
    pub kept: &'static [&'static str],
}

impl Simple {
    /// The signature header for `body` under `secret`.
    pub(super) fn signature(&self, secret: &Secret, body: &[u8]) -> (String, String) {
        let mac = self.algorithm.mac(secret.expose().as_bytes(), &[body]);
        let value = format!("{}{}", self.prefix, self.encoding.encode(&mac));
        (self.header.to_owned(), value)
    }
}

impl Provider for Simple {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        _: u64,
        _: u64,
    ) -> Result<(), VerifyError> {
        let candidates = util::single_candidate(headers, self.header, self.prefix, self.encoding)?;
        util::match_secrets(secrets, self.algorithm, &[body], &candidates)
    }

    fn event_id(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        match self.id {
            IdFrom::Header(name) => util::header_id(headers, name),
            IdFrom::Body(pointer) => util::json_id(body, pointer),
            IdFrom::Joined(pointers) => util::joined_id(body, pointers),
        }
    }

    fn event_type(&self, headers: &HeaderMap, body: &[u8]) -> Option<String> {
        match self.event_type {
            TypeFrom::Header(name) => util::header_str(headers, name),
            TypeFrom::Body(pointer) => util::json_str(body, pointer),
        }
    }

    fn id_pointer(&self) -> Option<&str> {
        match self.id {
            IdFrom::Header(_) => None,
            IdFrom::Body(pointer) => Some(pointer),
            IdFrom::Joined(pointers) => pointers.first().copied(),
        }
    }

    fn sign(&self, secret: &Secret, body: &[u8], _: u64, id: &str) -> Vec<(String, String)> {
        let mut out = vec![self.signature(secret, body)];
        if let IdFrom::Header(name) = self.id {
            out.push((name.to_owned(), id.to_owned()));
        }
        out
    }

    fn kept_headers(&self) -> &'static [&'static str] {
        self.kept
    }
}

impl Provider for ListHeader {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        ListHeader::verify(self, secrets, headers, body, now, tolerance)
    }

    fn event_id(&self, _: &HeaderMap, body: &[u8]) -> Result<String, IdError> {
        util::json_id(body, self.id)
    }

    fn event_type(&self, _: &HeaderMap, body: &[u8]) -> Option<String> {
        util::json_str(body, self.event_type)
    }

    fn id_pointer(&self) -> Option<&str> {
        Some(self.id)
    }

    fn sign(&self, secret: &Secret, body: &[u8], now: u64, _: &str) -> Vec<(String, String)> {
        ListHeader::sign(self, secret, body, now)
    }
}

/// What every [`Simple`] provider's tests check, given one vector.
#[cfg(test)]
pub(super) mod testing {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    /// One request a provider signed (or that is computed to match), and what it carries.
    pub struct Vector<'a> {
        pub key: &'a str,
        pub body: &'a str,
        /// The signature header's whole value.
        pub signature: &'a str,
        /// Other headers the request carries (id, type).
        pub extra: &'a [(&'a str, &'a str)],
        pub id: &'a str,
        pub event_type: &'a str,
    }

    /// Checks `p` against `v`: the vector verifies and signs back to itself; rotation, a changed
    /// body or another key, a missing or unprefixed header behave; id and type are read.
    pub fn exercise(p: &Simple, v: &Vector<'_>) {
        let body = v.body.as_bytes();
        let mut h = headers(v.extra.iter().copied());
        set(&mut h, p.header, v.signature.as_bytes());
        let check =
            |keys: &[&str], h: &HeaderMap, body: &[u8]| p.verify(&secrets(keys), h, body, 0, 0);
        assert_eq!(check(&[v.key], &h, body), Ok(()));
        assert_eq!(check(&["old", v.key], &h, body), Ok(()));
        assert_eq!(check(&["old"], &h, body), Err(VerifyError::NoMatch));
        let changed = format!("{} ", v.body);
        assert_eq!(
            check(&[v.key], &h, changed.as_bytes()),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            p.signature(&Secret::new(v.key), body),
            (p.header.to_owned(), v.signature.to_owned())
        );
        assert_eq!(p.event_id(&h, body), Ok(v.id.to_owned()));
        assert_eq!(p.event_type(&h, body), Some(v.event_type.to_owned()));
        let id_header = match p.id {
            IdFrom::Header(name) => Some(name),
            _ => None,
        };
        let signed = headers(p.sign(&Secret::new(v.key), body, 0, v.id));
        assert_eq!(check(&[v.key], &signed, body), Ok(()));
        assert_eq!(p.event_id(&signed, body), Ok(v.id.to_owned()));
        assert_eq!(id_header.is_some(), signed.len() == 2);

        let mut missing = h.clone();
        missing.remove(p.header);
        let got = check(&[v.key], &missing, body);
        assert_eq!(got, Err(VerifyError::MissingHeader(p.header.to_owned())));
        if !p.prefix.is_empty() {
            let bare = &v.signature[p.prefix.len()..];
            set(&mut missing, p.header, bare.as_bytes());
            let got = check(&[v.key], &missing, body);
            assert!(matches!(got, Err(VerifyError::MalformedHeader { .. })));
        }
        set(&mut missing, p.header, b"\xff");
        let got = check(&[v.key], &missing, body);
        assert!(matches!(got, Err(VerifyError::MalformedHeader { .. })));
    }
}

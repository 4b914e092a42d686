//! Twilio: `X-Twilio-Signature: <base64>`, the HMAC-SHA1 keyed with the account's auth token of
//! the full URL Twilio requested followed by the POST parameters sorted by name, each as
//! `name + value`, as `validateRequest` does in Twilio's helper libraries. For JSON bodies Twilio
//! instead appends `bodySHA256=<hex SHA-256 of the body>` to the URL and signs the URL alone
//! (`validateRequestWithBody`); hookbox rebuilds that parameter from the body it received, in
//! place when the configured URL already carries one (the full request URL, as the SDKs take it).
//!
//! The URL is the source's `notification_url` (`--url`): exactly what Twilio was given, scheme,
//! host and query included. Like the libraries, the URL is also tried with its default port
//! added or removed, since proxies differ in what they pass on. No timestamp is signed. The id is
//! `I-Twilio-Idempotency-Token`, which Twilio keeps the same across retries of one request.

use std::borrow::Cow;

use http::HeaderMap;
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use super::provider::{Provider, SchemeError, SchemeOptions};
use super::{util, Algorithm, Encoding, IdError, Secret, VerifyError};

const HEADER: &str = "x-twilio-signature";
const ID: &str = "i-twilio-idempotency-token";
/// Most form parameters read; Twilio sends a few dozen at most.
const MAX_PARAMS: usize = 512;

/// Twilio's scheme, for one configured URL.
#[derive(Debug)]
pub(super) struct Twilio {
    url: String,
}

/// Builds the scheme; it needs the URL Twilio posts to.
pub(super) fn build(options: &SchemeOptions) -> Result<Box<dyn Provider>, SchemeError> {
    let url = options.required_url("twilio")?;
    Ok(Box::new(Twilio { url }))
}

/// `url` as given and with its default port added or removed (`https://h/p` and
/// `https://h:443/p`), as Twilio's libraries try both.
fn url_variants(url: &str) -> Vec<Cow<'_, str>> {
    let mut out = vec![Cow::Borrowed(url)];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return out,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // A port follows the last ':' that is not inside an IPv6 literal's brackets.
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    let other = match authority[host_end..].rfind(':') {
        Some(i) => authority[..host_end + i].to_owned(),
        None => format!("{authority}:{default}"),
    };
    out.push(Cow::Owned(format!("{scheme}://{other}{tail}")));
    out
}

/// The body's form parameters as Twilio signs them: decoded, sorted, each `name + value`,
/// repeated pairs once (as twilio-python does). `None` when the body is not form text.
fn form_string(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let decode = |s: &str| -> Option<String> {
        let spaced = s.replace('+', " ");
        percent_decode_str(&spaced)
            .decode_utf8()
            .ok()
            .map(Cow::into_owned)
    };
    let mut pairs = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()).take(MAX_PARAMS) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((decode(name)?, decode(value)?));
    }
    pairs.sort();
    pairs.dedup();
    Some(pairs.into_iter().map(|(n, v)| n + &v).collect())
}

/// `url` with Twilio's `bodySHA256` parameter for `body` appended — or, when `url` already has
/// one (the full request URL, as Twilio's SDKs take it), with that parameter's value replaced
/// in place: the hash always comes from the body received, never from configuration.
fn with_body_hash(url: &str, body: &[u8]) -> String {
    let hash = hex::encode(Sha256::digest(body));
    if let Some(value) = body_hash_value(url) {
        return format!("{}{hash}{}", &url[..value.start], &url[value.end..]);
    }
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}bodySHA256={hash}")
}

/// Where the value of a `bodySHA256` query parameter lies in `url`, if it has one.
fn body_hash_value(url: &str) -> Option<std::ops::Range<usize>> {
    const NAME: &str = "bodySHA256=";
    let query = url.find('?')? + 1;
    let query_end = url[query..].find('#').map_or(url.len(), |i| query + i);
    let mut at = query;
    for param in url[query..query_end].split('&') {
        if param.starts_with(NAME) {
            return Some(at + NAME.len()..at + param.len());
        }
        at += param.len() + 1;
    }
    None
}

/// Whether `body` is JSON, which Twilio signs through `bodySHA256`.
fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

impl Provider for Twilio {
    fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        _: u64,
        _: u64,
    ) -> Result<(), VerifyError> {
        let candidates = util::single_candidate(headers, HEADER, "", Encoding::Base64)?;
        let params = form_string(body);
        for url in url_variants(&self.url) {
            let mut messages = vec![with_body_hash(&url, body)];
            if let Some(params) = &params {
                messages.push(format!("{url}{params}"));
            }
            for message in messages {
                let message = [message.as_bytes()];
                if util::match_secrets(secrets, Algorithm::Sha1, &message, &candidates).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(VerifyError::NoMatch)
    }

    fn event_id(&self, headers: &HeaderMap, _: &[u8]) -> Result<String, IdError> {
        util::header_id(headers, ID)
    }

    fn sign(&self, secret: &Secret, body: &[u8], _: u64, id: &str) -> Vec<(String, String)> {
        let message = match form_string(body) {
            Some(params) if !is_json(body) => format!("{}{params}", self.url),
            _ => with_body_hash(&self.url, body),
        };
        let mac = Algorithm::Sha1.mac(secret.expose().as_bytes(), &[message.as_bytes()]);
        vec![
            (HEADER.to_owned(), Encoding::Base64.encode(&mac)),
            (ID.to_owned(), id.to_owned()),
        ]
    }

    fn kept_headers(&self) -> &'static [&'static str] {
        &[ID]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::util::testing::{headers, secrets, set};

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn twilio(url: &str) -> Twilio {
        Twilio { url: url.into() }
    }

    fn check(url: &str, signature: &str, body: &str) -> Result<(), VerifyError> {
        let h = headers([("X-Twilio-Signature", signature)]);
        twilio(url).verify(&secrets(&[TOKEN]), &h, body.as_bytes(), 0, 0)
    }

    // twilio/twilio-node, spec/unit/webhooks/webhooks.spec.js (defaultParams, defaultSignature).
    #[test]
    fn twilio_node_form_vector() {
        let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
        let signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert_eq!(check(URL, signature, body), Ok(()));
        let reordered = "To=%2B18005551212&Digits=1234&CallSid=CA1234567890ABCDE&From=%2B14158675309&Caller=%2B14158675309";
        assert_eq!(check(URL, signature, reordered), Ok(()));
        let signed = twilio(URL).sign(&Secret::new(TOKEN), body.as_bytes(), 0, "t1");
        assert_eq!(signed[0].1, signature);
        let changed = body.replace("1234&", "1235&");
        assert_eq!(check(URL, signature, &changed), Err(VerifyError::NoMatch));
        let other_url = "https://mycompany.com/myapp.php?foo=1&bar=3";
        assert_eq!(check(other_url, signature, body), Err(VerifyError::NoMatch));
    }

    // Twilio's "Webhooks security" docs: the same request with other caller numbers.
    #[test]
    fn twilio_docs_form_vector() {
        let body = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
        assert_eq!(check(URL, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", body), Ok(()));
    }

    // twilio/twilio-node, spec/unit/webhooks/webhooks.spec.js (body, bodySha256,
    // requestUrlWithHashSignature).
    #[test]
    fn twilio_node_json_body_vector() {
        let body = r#"{"property": "value", "boolean": true}"#;
        let hashed = with_body_hash(URL, body.as_bytes());
        assert!(hashed.ends_with(
            "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        ));
        assert_eq!(check(URL, "a9nBmqA0ju/hNViExpshrM61xv4=", body), Ok(()));
        let signed = twilio(URL).sign(&Secret::new(TOKEN), body.as_bytes(), 0, "t1");
        assert_eq!(signed[0].1, "a9nBmqA0ju/hNViExpshrM61xv4=");
        let other = r#"{"property": "value", "boolean": false}"#;
        let got = check(URL, "a9nBmqA0ju/hNViExpshrM61xv4=", other);
        assert_eq!(got, Err(VerifyError::NoMatch));
    }

    #[test]
    fn default_ports_are_tried_both_ways() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let variants = url_variants(URL);
        assert_eq!(variants[1], with_port);
        assert_eq!(url_variants(with_port)[1], URL);
        assert_eq!(url_variants("http://[::1]/x")[1], "http://[::1]:80/x");
        assert_eq!(url_variants("not a url").len(), 1);
        let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
        assert_eq!(
            check(with_port, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", body),
            Ok(())
        );
    }

    #[test]
    fn id_header_missing_and_malformed() {
        let p = twilio(URL);
        let mut h = headers(p.sign(&Secret::new(TOKEN), b"A=1", 0, "idem-1"));
        assert_eq!(p.event_id(&h, b"A=1"), Ok("idem-1".into()));
        assert_eq!(p.verify(&secrets(&[TOKEN]), &h, b"A=1", 0, 0), Ok(()));
        set(&mut h, HEADER, b"\xff");
        let got = p.verify(&secrets(&[TOKEN]), &h, b"A=1", 0, 0);
        assert!(matches!(got, Err(VerifyError::MalformedHeader { .. })));
        h.remove(HEADER);
        let got = p.verify(&secrets(&[TOKEN]), &h, b"A=1", 0, 0);
        assert_eq!(got, Err(VerifyError::MissingHeader(HEADER.into())));
        assert_eq!(form_string(b"a=%ZZ"), Some("a%ZZ".into()));
        assert_eq!(form_string(b"a=%FF"), None);
        assert!(!p.needs_json_body());
    }

    // twilio/twilio-node, webhooks.spec.js: `validateRequestWithBody` is given the full
    // request URL, `bodySHA256` included; the same URL configured here verifies too.
    #[test]
    fn a_url_that_already_has_the_body_hash_is_taken_as_twilio_sends_it() {
        let body = r#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        let full = format!("{URL}&bodySHA256={hash}");
        assert_eq!(with_body_hash(&full, body.as_bytes()), full);
        assert_eq!(check(&full, "a9nBmqA0ju/hNViExpshrM61xv4=", body), Ok(()));
        let signed = twilio(&full).sign(&Secret::new(TOKEN), body.as_bytes(), 0, "t1");
        assert_eq!(signed[0].1, "a9nBmqA0ju/hNViExpshrM61xv4=");
        // The hash in the URL vouches for nothing: another body does not verify with it.
        let other = r#"{"property": "value", "boolean": false}"#;
        let got = check(&full, "a9nBmqA0ju/hNViExpshrM61xv4=", other);
        assert_eq!(got, Err(VerifyError::NoMatch));
        // A stale hash in the middle of the query is replaced where it stands.
        let stale = "https://h/p?bodySHA256=00&a=1#f";
        let replaced = with_body_hash(stale, body.as_bytes());
        assert_eq!(replaced, format!("https://h/p?bodySHA256={hash}&a=1#f"));
        assert_eq!(body_hash_value("https://h/p?xbodySHA256=1"), None);
    }
}

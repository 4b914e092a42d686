//! Matching the signatures a request offers against the MAC of every configured secret, in
//! constant time, plus the parsing and signing that several schemes share.

use hmac::digest::KeyInit;
use hmac::Mac;
use http::HeaderMap;

use super::{check_timestamp, malformed, required_header};
use crate::verify::{Algorithm, Encoding, Secret, VerifyError};

// Items here are `pub(crate)` only so that `util` can re-export them to the schemes; `util` is
// private to `verify`, so nothing outside `verify` can name them.

/// Most signatures of the expected version one request may offer. Each costs a MAC finalisation
/// per secret, so an unbounded list would let a sender make us do unbounded work.
const MAX_SIGNATURES: usize = 16;

/// Splits `a=1,b=2`-style lists (`item` between entries, `kv` inside one) into trimmed pairs.
/// Entries without `kv` are skipped, as the providers' own parsers do.
pub(crate) fn pairs(value: &str, item: char, kv: char) -> impl Iterator<Item = (&str, &str)> {
    value
        .split(item)
        .filter_map(move |entry| entry.split_once(kv))
        .map(|(k, v)| (k.trim(), v.trim()))
}

/// Decodes the offered signatures. Offering none is `MalformedHeader`; one that does not decode
/// is dropped, since it can never match (Stripe's libraries treat `v1=garbage` the same way).
pub(crate) fn candidates<'a>(
    header: &str,
    offered: impl IntoIterator<Item = &'a str>,
    encoding: Encoding,
) -> Result<Vec<Vec<u8>>, VerifyError> {
    let offered: Vec<&str> = offered.into_iter().take(MAX_SIGNATURES + 1).collect();
    if offered.is_empty() {
        return Err(malformed(header, "no signature of the expected version"));
    }
    if offered.len() > MAX_SIGNATURES {
        return Err(malformed(header, "too many signatures"));
    }
    Ok(offered.iter().filter_map(|s| encoding.decode(s)).collect())
}

/// The one signature in `header`, which must begin with `prefix`, decoded.
pub(crate) fn single_candidate(
    headers: &HeaderMap,
    header: &str,
    prefix: &str,
    encoding: Encoding,
) -> Result<Vec<Vec<u8>>, VerifyError> {
    let value = required_header(headers, header)?;
    let signature = value
        .strip_prefix(prefix)
        .ok_or_else(|| malformed(header, "signature lacks the expected prefix"))?;
    candidates(header, [signature], encoding)
}

/// Ok when some candidate is the MAC of `message` (its parts concatenated) under some key.
pub(crate) fn match_keys<K: AsRef<[u8]>>(
    keys: impl IntoIterator<Item = K>,
    algorithm: Algorithm,
    message: &[&[u8]],
    candidates: &[Vec<u8>],
) -> Result<(), VerifyError> {
    if algorithm.any_match(keys, message, candidates) {
        Ok(())
    } else {
        Err(VerifyError::NoMatch)
    }
}

/// [`match_keys`] keyed with each secret's UTF-8 bytes, which is what most providers use.
pub(crate) fn match_secrets(
    secrets: &[Secret],
    algorithm: Algorithm,
    message: &[&[u8]],
    candidates: &[Vec<u8>],
) -> Result<(), VerifyError> {
    let keys = secrets.iter().map(|s| s.expose().as_bytes());
    match_keys(keys, algorithm, message, candidates)
}

/// Whether any candidate is the `M` of `message` under any key. Comparison is `verify_slice`,
/// which is constant time; which secret matched is not secret, so we stop at the first match.
pub(crate) fn any_match<M, K>(
    keys: impl IntoIterator<Item = K>,
    message: &[&[u8]],
    candidates: &[Vec<u8>],
) -> bool
where
    M: Mac + KeyInit + Clone,
    K: AsRef<[u8]>,
{
    for key in keys {
        let key = key.as_ref();
        // Anyone can compute a MAC under an empty key. Config refuses empty secrets; so do we.
        if key.is_empty() {
            continue;
        }
        let Ok(mut mac) = <M as Mac>::new_from_slice(key) else {
            continue;
        };
        for part in message {
            mac.update(part);
        }
        // Finalising a clone is cheap: each extra candidate costs no second pass over the body.
        if candidates
            .iter()
            .any(|c| mac.clone().verify_slice(c).is_ok())
        {
            return true;
        }
    }
    false
}

/// The `M` of `message` under `key`. HMAC takes keys of any length, so the empty result for a
/// refused key is unreachable in practice; it only keeps this free of panics.
pub(crate) fn compute_mac<M: Mac + KeyInit>(key: &[u8], message: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = <M as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    for part in message {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `secret`'s HMAC-SHA256 of `message`, encoded: the signature most schemes send.
pub(crate) fn sign_sha256(secret: &Secret, message: &[&[u8]], encoding: Encoding) -> String {
    encoding.encode(&Algorithm::Sha256.mac(secret.expose().as_bytes(), message))
}

/// A scheme whose one header holds a timestamp and a list of hex HMAC-SHA256 signatures (Stripe's
/// `t=..,v1=..`, Paddle's `ts=..;h1=..`), signing `timestamp + joiner + body`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListHeader {
    /// Header name, lower case.
    pub header: &'static str,
    /// Separates the entries.
    pub separator: char,
    /// Key of the timestamp entry.
    pub timestamp_key: &'static str,
    /// Key of the signature entries we check; other keys are ignored.
    pub signature_key: &'static str,
    /// Placed between the timestamp and the body in the signed content.
    pub joiner: &'static str,
    /// JSON pointer of the event id in the body.
    pub id: &'static str,
    /// JSON pointer of the event type in the body.
    pub event_type: &'static str,
}

impl ListHeader {
    /// Checks the header against `body`; the timestamp must be within `tolerance` of `now`.
    pub(crate) fn verify(
        &self,
        secrets: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: u64,
    ) -> Result<(), VerifyError> {
        let value = required_header(headers, self.header)?;
        let mut timestamp = None;
        let mut offered = Vec::new();
        for (key, val) in pairs(value, self.separator, '=') {
            if key == self.timestamp_key {
                // Two timestamps leave it ambiguous which one was signed.
                if timestamp.replace(val).is_some() {
                    return Err(malformed(self.header, "more than one timestamp"));
                }
            } else if key == self.signature_key {
                offered.push(val);
            }
        }
        let timestamp = timestamp.ok_or_else(|| malformed(self.header, "no timestamp"))?;
        check_timestamp(self.header, timestamp, now, tolerance)?;
        let candidates = candidates(self.header, offered, Encoding::Hex)?;
        let message = [timestamp.as_bytes(), self.joiner.as_bytes(), body];
        match_secrets(secrets, Algorithm::Sha256, &message, &candidates)
    }

    /// The header that makes `body` valid at `now` under `secret`.
    pub(crate) fn sign(&self, secret: &Secret, body: &[u8], now: u64) -> Vec<(String, String)> {
        let ts = now.to_string();
        let message = [ts.as_bytes(), self.joiner.as_bytes(), body];
        let signature = sign_sha256(secret, &message, Encoding::Hex);
        let value = format!(
            "{}={ts}{}{}={signature}",
            self.timestamp_key, self.separator, self.signature_key
        );
        vec![(self.header.to_owned(), value)]
    }
}

#[cfg(test)]
mod tests {
    use hmac::Hmac;
    use sha2::Sha256;

    use super::*;

    // RFC 4231 test case 2.
    const KEY: &[u8] = b"Jefe";
    const DATA: &[u8] = b"what do ya want for nothing?";
    const SHA256_HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn mac_of_split_message_equals_mac_of_whole() {
        let whole = compute_mac::<Hmac<Sha256>>(KEY, &[DATA]);
        assert_eq!(hex::encode(&whole), SHA256_HEX);
        assert_eq!(
            compute_mac::<Hmac<Sha256>>(KEY, &[&DATA[..4], &DATA[4..]]),
            whole
        );
    }

    #[test]
    fn any_candidate_under_any_key_matches() {
        let good = hex::decode(SHA256_HEX).unwrap();
        let cands = [vec![1, 2, 3], good.clone()];
        assert!(any_match::<Hmac<Sha256>, _>(
            [&b"other"[..], KEY],
            &[DATA],
            &cands
        ));
        assert!(!any_match::<Hmac<Sha256>, _>(
            [&b"other"[..]],
            &[DATA],
            &cands
        ));
        assert!(!any_match::<Hmac<Sha256>, _>(
            [KEY],
            &[DATA],
            &[good[..31].to_vec()]
        ));
    }

    #[test]
    fn empty_keys_never_match() {
        let forged = compute_mac::<Hmac<Sha256>>(b"", &[DATA]);
        assert!(!any_match::<Hmac<Sha256>, _>(
            [&b""[..]],
            &[DATA],
            &[forged]
        ));
    }

    #[test]
    fn candidate_lists_are_bounded_and_skip_undecodable() {
        let err = |r: Result<_, VerifyError>| matches!(r, Err(VerifyError::MalformedHeader { .. }));
        assert!(err(candidates("h", [], Encoding::Hex)));
        assert!(err(candidates(
            "h",
            ["00"; MAX_SIGNATURES + 1],
            Encoding::Hex
        )));
        let ok = candidates("h", ["zz", "0a0b", ""], Encoding::Hex).unwrap();
        assert_eq!(ok, vec![vec![10, 11], vec![]]);
    }

    #[test]
    fn pairs_trim_and_skip_bare_entries() {
        let got: Vec<_> = pairs(" t = 1 ,junk,v1=a=b,", ',', '=').collect();
        assert_eq!(got, vec![("t", "1"), ("v1", "a=b")]);
    }
}

//! What every part of a source's config reports through: a problem with one key, and the rule
//! for source and route names. A leaf of `config`, so its parts import it, not each other.

/// A problem with one key of a source: (key below `sources.<name>`, reason).
pub(super) type KeyError = (String, String);

/// The problem `reason` with `key`.
pub(super) fn err<T>(key: &str, reason: impl Into<String>) -> Result<T, KeyError> {
    Err((key.to_owned(), reason.into()))
}

/// Whether `name` may name a source or a route: a-z, 0-9, `_` and `-`, at most 64 bytes (never
/// `:`, which separates the two in store streams).
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Substring that marks the shipped development secrets; hookbox warns while one is in use.
pub const DEVELOPMENT_SECRET_MARKER: &str = "insecuredev";

/// The shipped example secrets that cannot carry the marker (hex keys, key pairs): published
/// test keys, warned about like development secrets. Public halves are listed too, as an
/// operator may give the verifying key alone.
const PUBLISHED_TEST_SECRETS: &[&str] = &[
    // examples/sources/adyen.toml: a made-up HMAC key.
    "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
    // examples/sources/sendgrid.toml: RFC 6979's P-256 test key, private and public.
    "private:MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgya+p2EW6dRZrXCFXZ7HWk05Qw9s26JsSe4piKxIPZyGhRANCAARg/tS6JVqdMclh63TGNW1owEm4kjth+mzmaWIuYPKftnkD/hAIuLyZpBrp6VYovGTy8bIMLX6fUXejwpTURiKZ",
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A/4QCLi8maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ==",
    // examples/sources/discord.toml: RFC 8032's first Ed25519 test key, private and public.
    "private:9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
];

/// Whether `secret` is a shipped development secret or a published test key: anyone can sign
/// with it, so hookbox warns while it is in use.
pub fn is_development_secret(secret: &str) -> bool {
    let secret = secret.trim();
    secret
        .to_ascii_lowercase()
        .contains(DEVELOPMENT_SECRET_MARKER)
        || PUBLISHED_TEST_SECRETS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(secret))
}

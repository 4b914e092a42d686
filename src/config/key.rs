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

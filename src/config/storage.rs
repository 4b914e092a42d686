//! Checks of the `[storage]` section that need more than its types: the PostgreSQL URL, the
//! schema name and the pool size.

use super::{StorageBackend, StorageConfig};

/// Longest schema name accepted: the `NOTIFY` channel name built from it must stay within
/// PostgreSQL's 63-byte identifier limit.
const MAX_SCHEMA_LEN: usize = 48;

/// Accepts only schema names that need no quoting anywhere (they are spliced into SQL and
/// options): lower-case letters, digits and `_`, not starting with a digit or `pg_`.
pub fn check_schema_name(schema: &str) -> Result<(), String> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= MAX_SCHEMA_LEN && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(format!(
            "schema name {schema:?}: use lower-case letters, digits and _ (not starting with a \
             digit or pg_), at most {MAX_SCHEMA_LEN} bytes"
        ))
    }
}

/// The PostgreSQL settings: a usable URL when the backend needs one, a valid schema name, a
/// pool of at least one. Errors never quote the URL (it may hold a password).
pub(super) fn check_storage(storage: &StorageConfig) -> Result<(), (&'static str, String)> {
    if storage.pool_size == 0 {
        return Err(("storage.pool_size", "must be at least 1".into()));
    }
    if let Some(schema) = &storage.database_schema {
        check_schema_name(schema).map_err(|e| ("storage.database_schema", e))?;
    }
    if let Some(path) = &storage.database_ca_file {
        crate::tls::roots(Some(path)).map_err(|e| ("storage.database_ca_file", e.to_string()))?;
    }
    match (&storage.database_url, storage.backend) {
        (None, StorageBackend::Postgres) => Err((
            "storage.database_url",
            "required for backend \"postgres\" (or set HOOKBOX_DATABASE_URL)".into(),
        )),
        (Some(url), _) => match crate::tls::postgres::split_sslmode(url.expose()) {
            Err(reason) => Err(("storage.database_url", reason)),
            Ok((url, _)) if url.parse::<tokio_postgres::Config>().is_ok() => Ok(()),
            Ok(_) => Err((
                "storage.database_url",
                "not a PostgreSQL connection URL (postgres://user:password@host:port/database)"
                    .into(),
            )),
        },
        (None, StorageBackend::Redb | StorageBackend::Sled) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_need_no_quoting() {
        for ok in ["hookbox", "_t1", "test_9f3a"] {
            assert!(check_schema_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_SCHEMA_LEN + 1);
        for bad in [
            "",
            "1abc",
            "Hook",
            "a-b",
            "a;drop",
            "pg_temp",
            "a b",
            long.as_str(),
        ] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }
}

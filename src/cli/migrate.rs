//! `hookbox migrate`: copies every event from one store to another — sled to redb (the default
//! since sled was replaced), or an embedded store to PostgreSQL when one machine is outgrown.
//! The source's audit log goes along, and the migration itself is recorded in the target's.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{StorageBackend, StorageConfig};
use crate::store::{AuditFilter, Store, StoreError};
use crate::verify::Secret;

/// Events copied per page (one target transaction each).
const PAGE: usize = 1000;

/// Options of `hookbox migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The store to copy from: `sled:DIR` or `redb:DIR`. Stop the hookbox using it first.
    #[arg(long)]
    from: String,
    /// The store to copy into: `redb:DIR` or `postgres:URL` (`postgres:` alone takes
    /// HOOKBOX_DATABASE_URL, or the config's `storage.database_url`).
    #[arg(long)]
    to: String,
    /// Configuration whose `[storage]` retention, dedupe window, cache size and database schema
    /// apply to both stores (the defaults otherwise).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Turns `backend:place` into the storage settings for it, on top of `base`.
fn store_at(spec: &str, base: &StorageConfig) -> Result<StorageConfig, String> {
    let (backend, place) = spec
        .split_once(':')
        .ok_or_else(|| format!("{spec:?}: expected sled:DIR, redb:DIR or postgres:URL"))?;
    let mut cfg = base.clone();
    match backend {
        "redb" | "sled" if !place.is_empty() => {
            cfg.backend = if backend == "redb" {
                StorageBackend::Redb
            } else {
                StorageBackend::Sled
            };
            cfg.data_dir = PathBuf::from(place);
        }
        "postgres" => {
            cfg.backend = StorageBackend::Postgres;
            let url = match place {
                "" => std::env::var("HOOKBOX_DATABASE_URL").ok(),
                // `postgres:postgres://…` as `--help` writes it, and `postgresql://…`.
                url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                    Some(url.to_owned())
                }
                // `postgres://…` typed whole: the split took its scheme.
                url => Some(format!("postgres:{url}")),
            };
            if let Some(url) = url.filter(|u| !u.is_empty()) {
                cfg.database_url = Some(Secret::new(url));
            }
            if cfg.database_url.is_none() {
                return Err("postgres: needs a URL or HOOKBOX_DATABASE_URL".into());
            }
        }
        _ => {
            return Err(format!(
                "{spec:?}: expected sled:DIR, redb:DIR or postgres:URL"
            ))
        }
    }
    Ok(cfg)
}

/// Runs `hookbox migrate`.
pub fn run(args: MigrateArgs) -> ExitCode {
    let base = match &args.config {
        Some(path) => match crate::config::load(path) {
            Ok(config) => config.storage,
            Err(e) => return super::usage_error(e),
        },
        None => StorageConfig::default(),
    };
    let (from, to) = match (store_at(&args.from, &base), store_at(&args.to, &base)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(e), _) | (_, Err(e)) => return super::usage_error(e),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hookbox: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(copy(&from, &to, &args));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookbox migrate: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn copy(from: &StorageConfig, to: &StorageConfig, args: &MigrateArgs) -> Result<(), String> {
    let source = Store::open(from)
        .await
        .map_err(|e| format!("cannot open {}: {e}", args.from))?;
    // Marked unfinished until the copy is complete and its counts match: a migration killed
    // part-way leaves a target that `serve` refuses, saying to run migrate again.
    let target = Store::open_migration_target(to, &args.from)
        .await
        .map_err(|e| format!("cannot open {}: {e}", redact(&args.to)))?;
    let result = async {
        let counts = copy_all(&source, &target).await?;
        let audited = copy_audit(&source, &target).await?;
        let targets = vec![
            format!("from {}", args.from),
            format!("to {}", redact(&args.to)),
        ];
        let record = super::cli_audit("migrate").touching(targets, counts.1);
        target.append_audit(vec![record]).await?;
        target.finish_migration().await?;
        Ok::<_, StoreError>((counts, audited))
    }
    .await;
    let closed = (source.close().await, target.close().await);
    let ((read, written, held), audited) = result.map_err(|e| e.to_string())?;
    if let (Err(e), _) | (_, Err(e)) = closed {
        return Err(format!("closing the stores: {e}"));
    }
    println!(
        "migrated {read} events from {} to {}: {written} written, {} already there; the target holds {held}; {audited} audit records copied",
        args.from,
        redact(&args.to),
        read - written
    );
    Ok(())
}

/// Copies page by page; returns (events read, events newly written, events the target holds).
/// Every event read is in the target afterwards (written now, or found there), and the source
/// must hold exactly what was read — else it changed under the copy.
async fn copy_all(source: &Store, target: &Store) -> Result<(u64, u64, u64), StoreError> {
    let (mut read, mut written) = (0u64, 0u64);
    let mut after = None;
    loop {
        let page = source.export_page(after.as_ref(), PAGE).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = Some(last.clone());
        read += page.len() as u64;
        written += target.import(page).await? as u64;
        if read % (PAGE as u64 * 50) == 0 {
            eprintln!("… {read} events read, {written} written");
        }
    }
    let (stored, held) = (source.count().await?, target.count().await?);
    if stored != read || held < read {
        return Err(StoreError::Raced(format!(
            "counts disagree: the source holds {stored} and {read} were read; the target holds \
             {held}. Run the migration again with no hookbox using either store"
        )));
    }
    Ok((read, written, held))
}

/// Copies the source's audit log (records already in the target stay as they are); returns
/// how many records were read.
async fn copy_audit(source: &Store, target: &Store) -> Result<u64, StoreError> {
    let (mut copied, mut cursor) = (0, None);
    loop {
        let page = source
            .list_audit(PAGE, cursor.as_deref(), &AuditFilter::default())
            .await?;
        copied += page.items.len() as u64;
        if !page.items.is_empty() {
            target.append_audit(page.items).await?;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(copied),
        }
    }
}

/// `spec` without a password.
fn redact(spec: &str) -> String {
    match (spec.find("://"), spec.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…{}", &spec[..scheme], &spec[at..])
        }
        _ => spec.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(spec: &str) -> String {
        let cfg = store_at(spec, &StorageConfig::default()).expect(spec);
        assert_eq!(cfg.backend, StorageBackend::Postgres);
        cfg.database_url.expect("a url").expose().to_owned()
    }

    #[test]
    fn postgres_urls_are_taken_with_or_without_the_prefix() {
        let url = "postgres://u@127.0.0.1:5432/db";
        assert_eq!(url_of(&format!("postgres:{url}")), url);
        assert_eq!(url_of(url), url);
        let url = "postgresql://u@127.0.0.1/db";
        assert_eq!(url_of(&format!("postgres:{url}")), url);
    }
}

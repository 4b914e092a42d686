//! `hookbox compact`: shrinks the redb file of a stopped hookbox to what it holds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::{StorageBackend, StorageConfig};

const DEFAULT_CONFIG: &str = "config.toml";

/// Options of `hookbox compact`.
#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    /// Configuration file naming the data dir [default: config.toml, when present; not needed
    /// with --data-dir].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory, overriding `storage.data_dir`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Runs `hookbox compact`: exit 0 compacted, 1 refused or failed, 2 bad configuration.
pub fn run(args: CompactArgs) -> ExitCode {
    // `--data-dir` is all compacting needs; a config is read only when named or present, so
    // compacting a copied data dir works anywhere.
    let config = match args.config {
        Some(path) => Some(path),
        None if args.data_dir.is_some() && !Path::new(DEFAULT_CONFIG).exists() => None,
        None => Some(PathBuf::from(DEFAULT_CONFIG)),
    };
    let mut storage = match &config {
        Some(path) => match crate::config::load(path) {
            Ok(config) => config.storage,
            Err(e) => return super::usage_error(e),
        },
        None => StorageConfig::default(),
    };
    if let Some(dir) = args.data_dir {
        storage.data_dir = dir;
    }
    if storage.backend != StorageBackend::Redb {
        return super::usage_error(format!(
            "{}: storage.backend is not redb; only the redb file needs compacting (PostgreSQL \
             has VACUUM)",
            config.unwrap_or_default().display()
        ));
    }
    // Recorded in the store's own audit log, as the file it names.
    let file = storage.data_dir.join(crate::store::redb::FILE);
    let audit = super::cli_audit("compact").touching(vec![file.display().to_string()], 1);
    match crate::store::redb::compact(&storage, Some(&audit)) {
        Ok(done) => {
            println!(
                "compacted {}: {} → {} bytes",
                done.file.display(),
                done.before,
                done.after
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hookbox compact: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `hookbox config check`: load and validate a config exactly as `serve` does, without opening
//! the store or binding the port, and say what it holds and what `serve` would warn about.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, without_credentials, Config, HandlerConfig, StorageBackend};

/// Options of `hookbox config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Load and validate the config as `serve` would (files, secrets from the environment,
    /// handlers, routes) without starting anything; print its sources and routes, every
    /// warning `serve` would log, and the effective config (defaults filled in, secrets
    /// redacted). Exit 0 when valid, 2 when not.
    Check {
        /// Configuration file.
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
    },
}

/// Runs `hookbox config …`.
pub fn run(args: ConfigArgs) -> ExitCode {
    match args.command {
        ConfigCommand::Check { config } => check(&config),
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(source) => {
            eprintln!("hookbox: {}", config::ConfigError::Read { file, source });
            return ExitCode::from(2);
        }
    };
    let loaded = config::load_str(&text, &file, &|name| std::env::var(name).ok());
    // `serve` reads the certificate files at start; a pair that does not load fails here.
    let checked = (loaded.map_err(|e| e.to_string())).and_then(|c| Ok((tls_line(&c)?, c)));
    match checked {
        Ok((tls, config)) => {
            print!("{}", report(&file, &config));
            if let Some(line) = tls {
                println!("{line}");
            }
            if let Some(admin) = config.admin.listen {
                println!("admin:    {admin} (admin API, console, metrics, status; public: webhooks and health only)");
            }
            match config::effective(&text) {
                Ok(toml) => {
                    print!("\n# effective config: defaults filled in, secrets redacted\n{toml}")
                }
                Err(e) => eprintln!("hookbox: the effective config could not be printed: {e}"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hookbox: {e}");
            ExitCode::from(2)
        }
    }
}

/// What `config check` prints for a valid config. No secret appears: sources show their scheme,
/// forward targets their URL without credentials or query.
fn report(file: &str, config: &Config) -> String {
    let mut out = String::new();
    let storage = match config.storage.backend {
        StorageBackend::Postgres => format!(
            "postgres (schema {})",
            config
                .storage
                .database_schema
                .as_deref()
                .unwrap_or("from search_path")
        ),
        backend => format!(
            "{} in {}",
            backend.name(),
            config.storage.data_dir.display()
        ),
    };
    let _ = writeln!(out, "{file}: valid");
    let _ = writeln!(out, "listen:   {}", config.server.listen);
    let _ = writeln!(out, "storage:  {storage}");
    let _ = writeln!(out, "sources:  {}", config.sources.len());
    for source in &config.sources {
        let scheme = source.verifier.scheme.name();
        if !source.routed {
            let handler = source.routes.first().map(|r| handler(&r.handler));
            let handler = handler.unwrap_or_default();
            let _ = writeln!(out, "  {} ({scheme}) → {handler}", source.name);
            continue;
        }
        let _ = writeln!(out, "  {} ({scheme}), routes:", source.name);
        for route in &source.routes {
            let name = route.name.as_deref().unwrap_or(&source.name);
            let ordered = if route.ordering.is_some() {
                ", ordered"
            } else {
                ""
            };
            let _ = writeln!(out, "    {name} → {}{ordered}", handler(&route.handler));
        }
    }
    let warnings = config::warnings(config);
    let _ = writeln!(out, "warnings: {}", warnings.len());
    for warning in warnings {
        match warning.source {
            Some(source) => writeln!(out, "  {source}: {}", warning.text),
            None => writeln!(out, "  {}", warning.text),
        }
        .ok();
    }
    out
}

/// What `serve` would serve HTTPS with: the certificate files, read and matched as at start, or
/// the ACME domains; `None` for plain HTTP.
fn tls_line(config: &Config) -> Result<Option<String>, String> {
    let Some(tls) = &config.server.tls else {
        return Ok(None);
    };
    if let Some(acme) = &tls.acme {
        return Ok(Some(format!(
            "tls:      ACME ({}) from {}",
            acme.domains.join(", "),
            acme.directory_url
        )));
    }
    let Some((cert, key)) = tls.files() else {
        return Ok(None);
    };
    let (_, info) =
        crate::tls::server::load_files(cert, key).map_err(|e| format!("server.tls: {e}"))?;
    let until = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(info.not_after.max(0) as u64),
    );
    Ok(Some(format!(
        "tls:      {} for {} (valid until {until})",
        cert.display(),
        info.names.join(", ")
    )))
}

fn handler(handler: &HandlerConfig) -> String {
    match handler {
        HandlerConfig::Log => "log".to_owned(),
        HandlerConfig::Forward(f) => format!("forward {}", without_credentials(&f.url)),
        HandlerConfig::Command(c) => format!("command {}", c.program.display()),
    }
}

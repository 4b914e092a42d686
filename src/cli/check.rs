//! `hookbox config check`: load and validate a config exactly as `serve` does, without opening
//! the store or binding the port, and say what it holds and what `serve` would warn about.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, Config, HandlerConfig, StorageBackend};

/// Options of `hookbox config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Load and validate the config as `serve` would (files, secrets from the environment,
    /// handlers, routes) without starting anything; print its sources and routes and every
    /// warning `serve` would log. Exit 0 when valid, 2 when not.
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
    match config::load(path) {
        Ok(config) => {
            print!("{}", report(&path.display().to_string(), &config));
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

fn handler(handler: &HandlerConfig) -> String {
    match handler {
        HandlerConfig::Log => "log".to_owned(),
        HandlerConfig::Forward(f) => format!("forward {}", without_credentials(&f.url)),
        HandlerConfig::Command(c) => format!("command {}", c.program.display()),
    }
}

/// `url` without a `user:password@` part or a query, either of which may carry a secret.
fn without_credentials(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn forward_urls_lose_credentials_and_queries() {
        assert_eq!(
            without_credentials("https://u:p@app.internal:8443/hooks?token=x"),
            "https://app.internal:8443/hooks"
        );
        assert_eq!(
            without_credentials("http://127.0.0.1:3000"),
            "http://127.0.0.1:3000"
        );
    }
}

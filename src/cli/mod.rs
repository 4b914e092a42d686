//! Command-line interface: `serve` (the default), `verify`, `sign`, `replay`, `events`, `bench`,
//! `migrate`.

mod bench;
mod events;
mod migrate;
mod replay;
mod serve;
mod signing;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::LogFormat;

/// hookbox — receive, verify, dedupe and durably queue webhooks, then process them.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the receiver and worker (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Check a webhook signature by hand; prints `valid` (exit 0) or `invalid: <reason>` (exit 1).
    Verify(signing::VerifyArgs),
    /// Print the headers that make a body valid for a configured source now (for curl -H).
    Sign(signing::SignArgs),
    /// Send fixture events to a running hookbox, signed afresh (see fixtures/README.md).
    Replay(replay::ReplayArgs),
    /// List, show and requeue events through a running hookbox's admin API
    /// (token from HOOKBOX_ADMIN_TOKEN).
    Events(events::EventsArgs),
    /// Load a running hookbox with realistic signed events; report req/s, latency, drain.
    Bench(bench::BenchArgs),
    /// Copy every event from one store to another (sled to redb, or to PostgreSQL), verified by
    /// counts; safe to run again after an interruption.
    Migrate(migrate::MigrateArgs),
}

/// Options of `hookbox serve`; flags override the config file.
#[derive(Debug, clap::Args, Default)]
pub struct ServeArgs {
    /// Configuration file.
    #[arg(long, default_value = "config.toml")]
    pub config: PathBuf,
    /// Address to listen on, overriding `server.listen`.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Data directory, overriding `storage.data_dir`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Log format.
    /// Log format, overriding `server.log_format` (default text).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => serve::run(ServeArgs {
            config: "config.toml".into(),
            ..Default::default()
        }),
        Some(Command::Serve(args)) => serve::run(args),
        Some(Command::Verify(args)) => signing::verify(args),
        Some(Command::Sign(args)) => signing::sign(args),
        Some(Command::Replay(args)) => replay::run(args),
        Some(Command::Events(args)) => events::run(args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Migrate(args)) => migrate::run(args),
    }
}

/// Reports a usage error on stderr; exit status 2.
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("hookbox: {message}");
    ExitCode::from(2)
}

/// Loads `path` and the source called `name` from it; a usage error when either fails.
fn load_source(
    path: &std::path::Path,
    name: &str,
) -> Result<(crate::config::Config, crate::config::Source), ExitCode> {
    let config = crate::config::load(path).map_err(usage_error)?;
    let source = config
        .source(name)
        .cloned()
        .ok_or_else(|| usage_error(format!("no source {name:?} in {}", path.display())))?;
    Ok((config, source))
}

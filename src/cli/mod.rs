//! Command-line interface: `serve` (the default), `verify`, `sign`, `replay`, `events`, `bench`,
//! `migrate`, `compact`, `config check`, `completions`, `man`, `health`, `reconcile`.

mod check;
mod compact;
mod generate;
mod health;
mod migrate;
mod serve;
mod signing;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::{bench, events, replay};
use crate::config::LogFormat;

/// hookbox — receive, verify, dedupe and durably queue webhooks, then process them.
///
/// Without a subcommand it serves, and takes `serve`'s options: `hookbox --listen …` is
/// `hookbox serve --listen …`.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
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
    /// Shrink the redb file of a stopped hookbox to what it holds (redb reuses freed space but
    /// never returns it to the file system by itself).
    Compact(compact::CompactArgs),
    /// Check a config file without starting anything (`hookbox config check`).
    Config(check::ConfigArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(generate::CompletionsArgs),
    /// Print the man page hookbox(1) to stdout.
    Man,
    /// Run one reconciliation pass of a source now, through a running hookbox (e.g. after an
    /// outage): every event the provider's API lists since --since that hookbox lacks is
    /// stored (Stripe) or redelivered (GitHub). Token from HOOKBOX_ADMIN_TOKEN.
    Reconcile(events::ReconcileNowArgs),
    /// Ask a running hookbox whether it is ready (GET /readyz): exit 0 ready, 1 not. For
    /// container health checks.
    Health(health::HealthArgs),
}

/// Options of `hookbox serve`; flags override the config file.
#[derive(Debug, clap::Args, Default)]
pub struct ServeArgs {
    /// Configuration file.
    #[arg(long, default_value = "config.toml")]
    pub config: PathBuf,
    /// Address to listen on (ip:port or host:port), overriding `server.listen`.
    #[arg(long, value_parser = crate::config::resolve_listen)]
    pub listen: Option<std::net::SocketAddr>,
    /// Data directory, overriding `storage.data_dir`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Log format, overriding `server.log_format` (default text).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, None | Some(Command::Serve(_))) {
        quiet_on_closed_pipe();
    }
    match cli.command {
        None => serve::run(cli.serve),
        Some(Command::Serve(args)) => serve::run(args),
        Some(Command::Verify(args)) => signing::verify(args),
        Some(Command::Sign(args)) => signing::sign(args),
        Some(Command::Replay(args)) => replay::run_command(args),
        Some(Command::Events(args)) => events::run(args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Migrate(args)) => migrate::run(args),
        Some(Command::Compact(args)) => compact::run(args),
        Some(Command::Config(args)) => check::run(args),
        Some(Command::Completions(args)) => generate::completions(args),
        Some(Command::Man) => generate::man(),
        Some(Command::Health(args)) => health::run(args),
        Some(Command::Reconcile(args)) => events::reconcile_now(args),
    }
}

/// Lets a tool whose output goes to a closed pipe (`hookbox sign … | head -1`) end the way
/// other Unix tools do — quietly, by SIGPIPE — instead of panicking in `println!`. Not for
/// `serve`: a command handler that stops reading its stdin must not end hookbox. Sockets
/// are unaffected either way (they are written with `MSG_NOSIGNAL`).
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called before any thread is started; restores the default disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// An audit record of the command line's `action`: token `cli:<user>` (from `USER` or
/// `LOGNAME`; `cli` without one), role `operate`, now.
pub(crate) fn cli_audit(action: &str) -> crate::store::AuditRecord {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()));
    let token = match user {
        Some(user) => format!("{}:{user}", crate::config::CLI_TOKEN_NAME),
        None => crate::config::CLI_TOKEN_NAME.to_owned(),
    };
    let operate = crate::config::Role::Operate.name();
    crate::store::AuditRecord::new(crate::clock::now_ms(), &token, operate, action)
}

pub(crate) use crate::client::usage::{load_source, usage_error};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_options_parse_with_or_without_the_subcommand_and_take_host_names() {
        let cli = Cli::try_parse_from(["hookbox", "--listen", "localhost:0"]).expect("parses");
        assert!(cli.command.is_none());
        assert!(cli.serve.listen.is_some_and(|a| a.ip().is_loopback()));
        let cli =
            Cli::try_parse_from(["hookbox", "serve", "--listen", "127.0.0.1:9"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Serve(ServeArgs {
                listen: Some(_),
                ..
            }))
        ));
        assert!(Cli::try_parse_from(["hookbox", "--listen", "nope"]).is_err());
    }
}

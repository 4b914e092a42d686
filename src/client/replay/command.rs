//! `hookbox replay`: the command line around [`crate::client::replay`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::{fixture, REQUEST_TIMEOUT};
use crate::client::usage::usage_error;
use crate::client::{replay, Client, Target};
use crate::config;

/// `hookbox replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Fixture files or folders (folders are searched for `*.json`; the folder names the source).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Base URL of the running hookbox (http:// or https://).
    #[arg(long)]
    to: String,
    /// PEM file of a CA to trust for an https:// URL, on top of the system's roots.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Send every fixture to this source instead of the one its folder names.
    #[arg(long)]
    source: Option<String>,
    /// Configuration file with the sources' schemes and secrets (`<SOURCE>_WEBHOOK_SECRET` and
    /// `HOOKBOX_ADMIN_TOKEN` win, as in `serve`).
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// Send each fixture this many times.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Events in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    concurrency: u32,
    /// Follow each event's Location until it is final (succeeded or dead).
    #[arg(long)]
    wait: bool,
    /// With --wait: seconds to follow one event before giving up on it.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    timeout: u64,
    /// Send the fixtures' own event ids instead of fresh ones, to exercise dedupe.
    #[arg(long)]
    keep_ids: bool,
}

/// Runs `hookbox replay`: exit 0 when every event was taken (and, with `--wait`, succeeded),
/// 1 when any was rejected, ended dead or could not be followed, 2 on a usage error.
pub fn run(args: ReplayArgs) -> ExitCode {
    let config = match config::load(&args.config) {
        Ok(config) => config,
        Err(e) => return usage_error(e),
    };
    let target = match Target::parse("--to", &args.to) {
        Ok(target) => target,
        Err(e) => return usage_error(e),
    };
    let client = match Client::new(REQUEST_TIMEOUT, args.ca_file.as_deref()) {
        Ok(client) => client,
        Err(e) => return usage_error(format!("--ca-file: {e}")),
    };
    let fixtures = match fixture::collect(&args.paths, args.source.as_deref()) {
        Ok(fixtures) => fixtures,
        Err(e) => return usage_error(e),
    };
    let mut jobs = Vec::with_capacity(fixtures.len());
    for fixture in fixtures {
        let Some(source) = config.source(&fixture.source) else {
            return usage_error(format!(
                "{}: no source {:?} in {}",
                fixture.path.display(),
                fixture.source,
                args.config.display()
            ));
        };
        let source = source.clone();
        jobs.push((fixture, source));
    }
    let options = replay::Options {
        target,
        repeat: args.repeat,
        concurrency: args.concurrency as usize,
        wait: args.wait.then(|| Duration::from_secs(args.timeout)),
        keep_ids: args.keep_ids,
        token: config.admin.token.as_ref().map(|t| t.expose().to_owned()),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hookbox: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let summary = runtime.block_on(replay::run(client, options, jobs));
    eprintln!("{summary}");
    if summary.failures() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

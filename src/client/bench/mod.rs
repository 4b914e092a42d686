//! `hookbox bench`: a load generator that does the real work of a provider.
//!
//! Every request is a realistic event of the source's provider, padded to `--body-size`, with a
//! unique id (except a chosen share of duplicates) and signed with the source's scheme and
//! secret from the config, sent over N keep-alive HTTP/1.1 connections. The report gives
//! requests/s, latency percentiles from an HDR histogram and counts per status; with
//! `--wait-drained`, also how long the worker took to finish every accepted event.

mod drain;
mod events;
mod load;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::client::usage::{load_source, usage_error};
use crate::client::{Client, Target};
use crate::clock::now_ms;
use report::{Latency, Report};

/// `hookbox bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Base URL to load, e.g. `http://127.0.0.1:8080` or `https://…` (loopback only unless
    /// --allow-remote).
    #[arg(long)]
    to: String,
    /// Source to send as: its scheme and first secret come from --config.
    #[arg(long)]
    source: String,
    /// Configuration file (the same one the server uses; `<SOURCE>_WEBHOOK_SECRET` applies).
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// Keep-alive connections, each with one request in flight.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds after which no request is started (default 10; 600 when --requests is given).
    #[arg(long)]
    duration: Option<f64>,
    /// Requests to send (stops at whichever of this and --duration comes first).
    #[arg(long)]
    requests: Option<u64>,
    /// Open loop at this many requests/s; latency counts from each request's intended time.
    #[arg(long)]
    rate: Option<f64>,
    /// Body size in bytes (a realistic event padded with text).
    #[arg(long, default_value_t = 1024)]
    body_size: usize,
    /// Share (0 ≤ P < 1) of requests that reuse an earlier event id.
    #[arg(long, default_value_t = 0.0)]
    duplicate_ratio: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Afterwards, wait until the worker has finished every accepted event and report the
    /// drain rate. With `--requests 0`, wait until the existing backlog is processed
    /// (`hookbox_queue_depth` from /metrics, else the admin API).
    #[arg(long)]
    wait_drained: bool,
    /// Longest wait for --wait-drained, seconds.
    #[arg(long, default_value_t = 600.0)]
    drain_timeout: f64,
    /// Time allowed for one request, seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// PEM file of a CA to trust for an https:// URL, on top of the system's roots.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    allow_remote: bool,
}

fn seconds(name: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{name} must be a positive number of seconds"))
}

/// Checks the flags and turns them into a load plan.
fn plan(args: &BenchArgs) -> Result<load::Plan, String> {
    if !(1..=10_000).contains(&args.connections) {
        return Err("--connections must be between 1 and 10000".into());
    }
    if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err("--rate must be a positive number".into());
    }
    if !(0.0..1.0).contains(&args.duplicate_ratio) {
        return Err("--duplicate-ratio must be at least 0 and below 1".into());
    }
    if args.body_size > 64 << 20 {
        return Err("--body-size must be at most 64 MiB".into());
    }
    let default_duration = if args.requests.is_some() { 600.0 } else { 10.0 };
    Ok(load::Plan {
        connections: args.connections,
        requests: args.requests.unwrap_or(u64::MAX),
        duration: seconds("--duration", args.duration.unwrap_or(default_duration))?,
        rate: args.rate,
        duplicate_ratio: args.duplicate_ratio,
        timeout: seconds("--timeout", args.timeout)?,
        path: format!("/webhooks/{}", args.source),
    })
}

/// Runs `hookbox bench`: exit 0 with a report, 1 if the run or the drain failed, 2 on usage.
pub fn run(args: BenchArgs) -> ExitCode {
    let plan = match plan(&args) {
        Ok(plan) => plan,
        Err(message) => return usage_error(message),
    };
    let drain_limit = match seconds("--drain-timeout", args.drain_timeout) {
        Ok(limit) => limit,
        Err(message) => return usage_error(message),
    };
    let (config, source) = match load_source(&args.config, &args.source) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let run_tag = format!("{:08x}", rand::random::<u32>());
    let Some(factory) =
        events::EventFactory::new(&source, args.body_size, &run_tag, now_ms() / 1000)
    else {
        return usage_error("the source has no secret");
    };
    let token = config.admin.token.as_ref().map(|t| t.expose().to_owned());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hookbox bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let target = match Target::parse("--to", &args.to) {
            Ok(target) => target,
            Err(e) => return usage_error(e),
        };
        if !args.allow_remote {
            if let Err(e) = target.check_loopback().await {
                return usage_error(e);
            }
        }
        let client = match Client::new(plan.timeout, args.ca_file.as_deref()) {
            Ok(client) => client,
            Err(e) => return usage_error(format!("--ca-file: {e}")),
        };
        let watcher = |target| {
            let limit = drain_limit;
            drain::Watcher::new(&client, target, &args.source, token.as_deref(), limit)
        };
        if plan.requests == 0 && args.wait_drained {
            let started = now_ms();
            let result = watcher(&target).backlog(started).await;
            return match result {
                Ok(d) => print(&args, &report(&args, &plan, None, Some(d))),
                Err(e) => failure(format!("waiting for the backlog: {e}")),
            };
        }
        let outcome = match load::run(plan.clone(), factory.clone(), &client, &target).await {
            Ok(outcome) => outcome,
            Err(e) => return failure(format!("{}: {e}", args.to)),
        };
        let mut report = report(&args, &plan, Some(&outcome), None);
        if args.wait_drained {
            let now = now_ms();
            let since = |at: std::time::Instant| now - at.elapsed().as_millis() as u64;
            let (started, finished) = (since(outcome.started), since(outcome.finished));
            let accepted = outcome.tally.accepted;
            let result = (watcher(&target))
                .events(&factory, accepted, started, finished)
                .await;
            match result {
                Ok(d) => report.drain = Some(d),
                Err(e) => {
                    print(&args, &report);
                    return failure(format!("waiting for the drain: {e}"));
                }
            }
        }
        print(&args, &report)
    })
}

fn failure(message: String) -> ExitCode {
    eprintln!("hookbox bench: {message}");
    ExitCode::FAILURE
}

fn print(args: &BenchArgs, report: &Report) -> ExitCode {
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    ExitCode::SUCCESS
}

fn report(
    args: &BenchArgs,
    plan: &load::Plan,
    outcome: Option<&load::Outcome>,
    drain: Option<report::Drain>,
) -> Report {
    let empty = report::Tally::new();
    let tally = outcome.map_or(&empty, |o| &o.tally);
    let seconds = outcome.map_or(0.0, |o| (o.finished - o.started).as_secs_f64());
    let answered: u64 = tally.statuses.values().sum();
    Report {
        target: args.to.clone(),
        source: args.source.clone(),
        mode: if plan.rate.is_some() {
            "open"
        } else {
            "closed"
        },
        connections: plan.connections,
        rate: plan.rate,
        body_size: args.body_size,
        duplicate_ratio: plan.duplicate_ratio,
        requests: tally.requests(),
        seconds,
        requests_per_second: if seconds > 0.0 {
            answered as f64 / seconds
        } else {
            0.0
        },
        latency_ms: Latency::of(&tally.latency_us),
        statuses: (tally.statuses.iter())
            .map(|(s, n)| (s.to_string(), *n))
            .collect(),
        errors: tally.errors,
        first_error: tally.first_error.clone(),
        accepted: tally.accepted.len() as u64,
        drain,
    }
}

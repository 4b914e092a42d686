//! `hookbox replay`: send fixture events to a running hookbox, signed afresh, the way their
//! providers would — the developer's offline loop.
//!
//! [`fixture`] finds bodies and header sidecars on disk, [`prepare`] gives each a fresh (or kept)
//! id and fresh signature headers, [`deliver`] sends one and follows its status resource, and
//! [`report`] prints a line per event. [`run`] drives them with bounded concurrency.

mod command;
mod deliver;
pub mod fixture;
pub mod ids;
pub mod prepare;
pub mod report;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::config::Source;
pub use command::{run as run_command, ReplayArgs};

use crate::client::{Client, Target};
use fixture::Fixture;
use report::{Outcome, Printer, Report, Summary};

/// Time allowed for one request to hookbox (the delivery or one status poll).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How a replay runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where hookbox listens.
    pub target: Target,
    /// How many times each fixture is sent.
    pub repeat: u32,
    /// Most events in flight at once (sending and, with `wait`, following).
    pub concurrency: usize,
    /// `Some(limit)`: follow each event's `Location` until it is final, for at most `limit`.
    pub wait: Option<Duration>,
    /// Send the fixtures' own event ids instead of fresh ones (to exercise dedupe).
    pub keep_ids: bool,
    /// Bearer token for status resources.
    pub token: Option<String>,
}

/// Replays every fixture `repeat` times, printing a line per event as it finishes, and returns
/// the counts. Each job pairs a fixture with its configured source.
pub async fn run(client: Client, options: Options, jobs: Vec<(Fixture, Source)>) -> Summary {
    let options = Arc::new(options);
    let jobs: Vec<(Arc<Fixture>, Arc<Source>)> = jobs
        .into_iter()
        .map(|(fixture, source)| (Arc::new(fixture), Arc::new(source)))
        .collect();
    let total = jobs.len() * options.repeat as usize;
    let mut printer = Printer::new(total);
    let mut summary = Summary::default();
    let mut running = JoinSet::new();
    let all = (0..options.repeat).flat_map(|_| jobs.iter().cloned());
    for (fixture, source) in all {
        while running.len() >= options.concurrency.max(1) {
            record(running.join_next().await, &mut printer, &mut summary);
        }
        let (client, options) = (client.clone(), options.clone());
        running.spawn(async move { deliver::replay_one(&client, &options, fixture, source).await });
    }
    while !running.is_empty() {
        record(running.join_next().await, &mut printer, &mut summary);
    }
    printer.finish();
    summary
}

type Joined = Option<Result<Report, tokio::task::JoinError>>;

fn record(joined: Joined, printer: &mut Printer, summary: &mut Summary) {
    let report = match joined {
        Some(Ok(report)) => report,
        // A panicking task is a bug in replay; still count it so the run fails.
        Some(Err(e)) => Report {
            status: None,
            source: "-".into(),
            file: "-".into(),
            id: None,
            location: None,
            outcome: Outcome::Failed(format!("internal error: {e}")),
        },
        None => return,
    };
    summary.add(&report.outcome);
    printer.report(&report);
}

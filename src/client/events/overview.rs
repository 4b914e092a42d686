//! `hookbox events counts` and `hookbox events summary`: the admin API's overviews as text.

use http::Method;
use serde_json::Value;

use super::api::{Api, Failure};
use super::{range_params, RangeArgs};

/// `hookbox events counts`.
#[derive(Debug, clap::Args)]
pub struct CountsArgs {
    /// Only this source.
    #[arg(long)]
    source: Option<String>,
    /// Only the deliveries of routes of this name.
    #[arg(long)]
    route: Option<String>,
    /// Only this event type; `invoice.*` for every type starting `invoice.`.
    #[arg(long = "type")]
    event_type: Option<String>,
    #[command(flatten)]
    range: RangeArgs,
    /// Print the JSON the server sent.
    #[arg(long)]
    json: bool,
}

const STATES: [&str; 6] = [
    "queued",
    "processing",
    "succeeded",
    "dead",
    "discarded",
    "skipped",
];

/// Prints events per state, one `state count` line each.
pub async fn counts(api: &Api, args: CountsArgs) -> Result<(), Failure> {
    let mut params = range_params(&args.range)?;
    params.extend(args.source.map(|s| ("source", s)));
    params.extend(args.route.map(|r| ("route", r)));
    params.extend(args.event_type.map(|t| ("type", t)));
    let answer = api
        .page(Method::GET, "/admin/counts", &params, None)
        .await?;
    if args.json {
        println!("{answer:#}");
        return Ok(());
    }
    for state in STATES {
        let n = answer["counts"][state].as_u64().unwrap_or(0);
        println!("{state:<10} {n}");
    }
    if answer["complete"] == Value::Bool(false) {
        eprintln!("(counted the newest events only: the store holds more than one count reads)");
    }
    Ok(())
}

/// Prints one line per source (per route, `source:route`, for a source with routes): last hour's totals, queue depth and times.
pub async fn summary(api: &Api, json: bool) -> Result<(), Failure> {
    let answer = api.page(Method::GET, "/admin/summary", &[], None).await?;
    if json {
        println!("{answer:#}");
        return Ok(());
    }
    let now = answer["now"].as_u64().unwrap_or(0);
    println!(
        "{:<16} {:>9} {:>9} {:>6} {:>6}  {:<12} OLDEST QUEUED",
        "SOURCE", "ACCEPTED", "SUCCEEDED", "DEAD", "QUEUE", "LAST EVENT"
    );
    for source in answer["sources"].as_array().into_iter().flatten() {
        let total = |field: &str| -> u64 {
            let buckets = source["buckets"].as_array().into_iter().flatten();
            buckets.filter_map(|b| b[field].as_u64()).sum()
        };
        let ago = |field: &str| match source[field].as_u64() {
            Some(at) => format!("{}s ago", now.saturating_sub(at) / 1000),
            None => "-".into(),
        };
        println!(
            "{:<16} {:>9} {:>9} {:>6} {:>6}  {:<12} {}",
            source["source"].as_str().unwrap_or("?"),
            total("accepted"),
            total("succeeded"),
            total("dead"),
            source["queueDepth"].as_u64().unwrap_or(0),
            ago("lastEventAt"),
            ago("oldestQueuedAt"),
        );
    }
    Ok(())
}

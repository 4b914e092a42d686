//! `hookbox events destinations`: each forward destination's circuit and load, as
//! `GET /admin/destinations` reports what the worker last published.

use http::Method;
use serde_json::Value;

use super::api::{Api, Failure};
use super::view::{clip, print_rows, text, ERROR_WIDTH};
use crate::clock::utc_seconds;

/// `hookbox events destinations`.
#[derive(Debug, clap::Args)]
pub struct DestinationsArgs {
    /// Print the JSON the server sent.
    #[arg(long)]
    json: bool,
}

/// Prints one line per destination: circuit state, consecutive failures, when the next probe
/// goes (UTC), attempts in flight against its limit, and the last failure's error.
pub async fn destinations(api: &Api, args: DestinationsArgs) -> Result<(), Failure> {
    let answer = api
        .page(Method::GET, "/admin/destinations", &[], None)
        .await?;
    if args.json {
        println!("{answer:#}");
        return Ok(());
    }
    let list = answer["destinations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if list.is_empty() {
        println!("no forward destinations (no source forwards, or the worker is not running here)");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                text(&d["destination"]),
                text(&d["state"]),
                text(&d["consecutiveFailures"]),
                utc(&d["nextProbeAt"]),
                format!("{}/{}", text(&d["inFlight"]), text(&d["limit"])),
                clip(&text(&d["lastError"]), ERROR_WIDTH),
            ]
        })
        .collect();
    let header = [
        "DESTINATION",
        "CIRCUIT",
        "FAILURES",
        "NEXT PROBE",
        "IN FLIGHT",
        "LAST ERROR",
    ];
    print_rows(&header, &rows);
    Ok(())
}

/// Unix ms as `2026-12-08 01:02:03Z`; `-` for null.
fn utc(v: &Value) -> String {
    v.as_u64()
        .map_or_else(|| "-".to_owned(), |ms| format!("{}Z", utc_seconds(ms)))
}

//! `hookbox events reconcile`: each reconciling source's last pass, as `GET /admin/reconcile`
//! reports it; and `hookbox reconcile --source S [--since T]`: one full pass now
//! (`POST /admin/reconcile/<source>`), e.g. after an outage.

use std::process::ExitCode;

use http::Method;
use serde_json::Value;

use super::api::{reply_json, Api, Failure};
use super::view::{clip, print_rows, text, ERROR_WIDTH};
use crate::clock::utc_seconds;

/// `hookbox events reconcile`.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// Print the JSON the server sent.
    #[arg(long)]
    json: bool,
}

/// `hookbox reconcile`.
#[derive(Debug, clap::Args)]
pub struct ReconcileNowArgs {
    /// Base URL of the running hookbox (http:// or https://).
    #[arg(long, env = "HOOKBOX_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// PEM file of a CA to trust for an https:// URL, on top of the system's roots.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<std::path::PathBuf>,
    /// The source to reconcile (it needs a `[sources.<name>.reconcile]` table).
    #[arg(long)]
    source: String,
    /// Look back to this time (unix ms, RFC 3339 UTC, or a duration such as `6h` meaning that
    /// long ago); default the source's `lookback`.
    #[arg(long)]
    since: Option<String>,
    /// Print the JSON the server sent.
    #[arg(long)]
    json: bool,
}

/// Prints one line per reconciling source.
pub async fn reconcile(api: &Api, args: ReconcileArgs) -> Result<(), Failure> {
    let answer = reply_json(&api.call(Method::GET, "/admin/reconcile").await?)?;
    if args.json {
        println!("{answer:#}");
        return Ok(());
    }
    let list = answer["sources"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if list.is_empty() {
        println!("no source reconciles (see [sources.<name>.reconcile] in docs/configuration.md)");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list.iter().map(row).collect();
    let header = [
        "SOURCE",
        "API",
        "LAST RUN",
        "OUTCOME",
        "LAST SUCCESS",
        "RECONCILED",
        "CURSOR",
        "LAST ERROR",
    ];
    print_rows(&header, &rows);
    Ok(())
}

fn row(s: &Value) -> Vec<String> {
    vec![
        text(&s["source"]),
        text(&s["api"]),
        utc(&s["lastRunAt"]),
        if s["running"] == true {
            "running".into()
        } else {
            text(&s["lastOutcome"])
        },
        utc(&s["lastSuccessAt"]),
        text(&s["reconciledTotal"]),
        text(&s["cursor"]),
        clip(&text(&s["lastError"]), ERROR_WIDTH),
    ]
}

/// Runs `hookbox reconcile`: exit 0 when the pass succeeded, 1 otherwise.
pub fn run_now(args: ReconcileNowArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hookbox: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(pass_now(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(failure) => super::fail(failure),
    }
}

async fn pass_now(args: ReconcileNowArgs) -> Result<bool, Failure> {
    let api = Api::new(&args.server, args.ca_file.as_deref())?;
    let source =
        percent_encoding::utf8_percent_encode(&args.source, percent_encoding::NON_ALPHANUMERIC);
    let mut params = Vec::new();
    if let Some(since) = &args.since {
        params.push((
            "since",
            super::absolute_time(since).map_err(Failure::Usage)?,
        ));
    }
    let path = format!("/admin/reconcile/{source}");
    let status = api.page(Method::POST, &path, &params, None).await?;
    let ok = status["lastOutcome"] == "success";
    if args.json {
        println!("{status:#}");
    } else if ok {
        let pass = &status["lastPass"];
        println!(
            "{}: listed {}, reconciled {}, already known {}",
            text(&status["source"]),
            text(&pass["listed"]),
            text(&pass["reconciled"]),
            text(&pass["known"])
        );
    } else {
        eprintln!(
            "hookbox: the pass of {} failed ({}): {}",
            text(&status["source"]),
            text(&status["lastOutcome"]),
            text(&status["lastError"])
        );
    }
    Ok(ok)
}

/// Unix ms as `2026-12-08 01:02:03Z`; `-` for null.
fn utc(v: &Value) -> String {
    v.as_u64()
        .map_or_else(|| "-".to_owned(), |ms| format!("{}Z", utc_seconds(ms)))
}

//! `hookbox events audit`: the audit log — who did which operator action — newest first.

use std::time::{Duration, UNIX_EPOCH};

use http::Method;
use serde_json::Value;

use super::api::{Api, Failure};

/// `hookbox events audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Records to show (1–1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
    limit: u16,
    /// Only this action: requeue, bulk_requeue, discard, batch_requeue, migrate, compact, …
    #[arg(long)]
    action: Option<String>,
    /// Only the actions of the token of this name.
    #[arg(long)]
    token: Option<String>,
    /// Start after this cursor (from a previous page).
    #[arg(long)]
    cursor: Option<String>,
    /// Print the JSON the server sent.
    #[arg(long)]
    json: bool,
}

/// Prints one line per audit record, newest first, times in UTC.
pub async fn audit(api: &Api, args: AuditArgs) -> Result<(), Failure> {
    let mut params = vec![("limit", args.limit.to_string())];
    params.extend(args.action.map(|a| ("action", a)));
    params.extend(args.token.map(|t| ("token", t)));
    let page = api
        .page(Method::GET, "/admin/audit", &params, args.cursor)
        .await?;
    if args.json {
        println!("{page:#}");
        return Ok(());
    }
    println!(
        "{:<20}  {:<16} {:<8} {:<18} {:<12} {:>6}  TARGETS",
        "TIME (UTC)", "TOKEN", "ROLE", "ACTION", "OUTCOME", "COUNT"
    );
    for r in page["items"].as_array().into_iter().flatten() {
        println!("{}", line(r));
    }
    if let Some(next) = page["nextCursor"].as_str() {
        eprintln!("more records: --cursor {next}");
    }
    Ok(())
}

/// One record as a line: the outcome with its HTTP status, a dry run marked, the targets
/// listed (and how many more there were).
fn line(r: &Value) -> String {
    let text = |field: &str| r[field].as_str().unwrap_or("-").to_owned();
    let mut outcome = text("outcome");
    if let Some(status) = r["status"].as_u64() {
        outcome = format!("{outcome} {status}");
    }
    let mut action = text("action");
    if r["dryRun"] == Value::Bool(true) {
        action.push_str(" (dry)");
    }
    let targets: Vec<&str> = r["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let count = r["count"].as_u64().unwrap_or(0);
    let mut listed = targets.join(" ");
    if count > targets.len() as u64 && !targets.is_empty() {
        listed.push_str(&format!(" (+{} more)", count - targets.len() as u64));
    }
    format!(
        "{:<20}  {:<16} {:<8} {:<18} {:<12} {:>6}  {listed}",
        utc(r["at"].as_u64().unwrap_or(0)),
        text("token"),
        text("role"),
        action,
        outcome,
        count,
    )
}

/// `2026-12-08 01:02:03Z`: the time in UTC, saying so.
fn utc(ms: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(at)
        .to_string()
        .replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_line_with_its_utc_time_and_targets() {
        let r = serde_json::json!({
            "id": "x", "at": 1_796_691_723_000u64, "token": "oncall", "role": "operate",
            "action": "bulk_requeue", "targets": ["s/e1", "s/e2"], "count": 5,
            "dryRun": true, "outcome": "done", "status": 200
        });
        let text = line(&r);
        assert!(text.starts_with("2026-12-08 01:02:03Z"), "{text}");
        for part in [
            "oncall",
            "operate",
            "bulk_requeue (dry)",
            "done 200",
            "s/e1 s/e2 (+3 more)",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
    }
}

//! What `/admin/reconcile` and `/metrics` show of each reconciling source: its last run, its
//! cursor and its error (never a credential: errors are redacted where they are made).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::pass::Tally;

/// One source's reconciliation, as last seen.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The source.
    pub source: String,
    /// `stripe` or `github`.
    pub api: &'static str,
    /// Seconds between passes.
    pub every_secs: u64,
    /// A pass is running on this instance now.
    pub running: bool,
    /// When the last pass started (unix ms).
    pub last_run_at: Option<u64>,
    /// How it ended: `success`, `unauthorized`, `api_error`, `store_error`, `busy` (another
    /// instance held the lease) or `stopped`.
    pub last_outcome: Option<&'static str>,
    /// Its error, if it failed.
    pub last_error: Option<String>,
    /// When a pass last succeeded (unix ms).
    pub last_success_at: Option<u64>,
    /// When a full pass (Stripe: every event, not only failed deliveries) last succeeded.
    pub last_full_pass_at: Option<u64>,
    /// The last event (Stripe) or delivery (GitHub) id the last pass reached.
    pub cursor: Option<String>,
    /// What the last pass did.
    pub last_pass: Tally,
    /// When the next scheduled pass is due (unix ms).
    pub next_run_at: Option<u64>,
    /// Passes by outcome since start.
    pub runs: BTreeMap<&'static str, u64>,
    /// Events reconciled since start.
    pub reconciled_total: u64,
}

/// The Prometheus text of the reconcile series for `statuses`.
pub fn render(statuses: &[Status]) -> String {
    let mut out = String::new();
    if statuses.is_empty() {
        return out;
    }
    out.push_str(
        "# HELP hookbox_reconcile_runs_total Reconciliation passes by source and outcome.\n\
         # TYPE hookbox_reconcile_runs_total counter\n",
    );
    for s in statuses {
        for (outcome, n) in &s.runs {
            let _ = writeln!(
                out,
                "hookbox_reconcile_runs_total{{source=\"{}\",outcome=\"{outcome}\"}} {n}",
                s.source
            );
        }
    }
    out.push_str(
        "# HELP hookbox_reconciled_events_total Events only the provider's API had: stored \
         (Stripe) or redelivered on request (GitHub).\n\
         # TYPE hookbox_reconciled_events_total counter\n",
    );
    for s in statuses {
        let _ = writeln!(
            out,
            "hookbox_reconciled_events_total{{source=\"{}\"}} {}",
            s.source, s.reconciled_total
        );
    }
    out.push_str(
        "# HELP hookbox_reconcile_last_success_timestamp_seconds When a reconciliation pass \
         last succeeded.\n\
         # TYPE hookbox_reconcile_last_success_timestamp_seconds gauge\n",
    );
    for s in statuses {
        if let Some(at) = s.last_success_at {
            let _ = writeln!(
                out,
                "hookbox_reconcile_last_success_timestamp_seconds{{source=\"{}\"}} {}",
                s.source,
                at as f64 / 1000.0
            );
        }
    }
    out
}

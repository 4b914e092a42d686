//! What replay prints: one line per event on stdout, a summary and (on a terminal) a progress
//! bar on stderr.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// How one replayed event ended, as far as replay saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 202 for a new event (not followed).
    Accepted,
    /// Followed to `succeeded`.
    Succeeded,
    /// Followed to `dead`, with hookbox's last error.
    Dead(Option<String>),
    /// Followed to `skipped`: no route of the source took the event.
    Skipped,
    /// hookbox already had this id; its state then (or once followed to the end).
    Duplicate(String),
    /// Slack's `url_verification` handshake, answered with its challenge.
    Challenge,
    /// A 2xx that is none of the above (a receiver other than hookbox).
    Delivered,
    /// A non-2xx answer: the problem's type slug and detail, where given.
    Rejected(String),
    /// Still not final when `--timeout` ran out; the last state seen.
    TimedOut(String),
    /// No usable answer (connection refused, timeout, unreadable status resource).
    Failed(String),
}

impl Outcome {
    /// True for outcomes that make `replay` exit non-zero.
    pub fn is_failure(&self) -> bool {
        match self {
            Outcome::Dead(_) | Outcome::Rejected(_) | Outcome::TimedOut(_) | Outcome::Failed(_) => {
                true
            }
            Outcome::Duplicate(state) => state == "dead",
            Outcome::Accepted
            | Outcome::Succeeded
            | Outcome::Skipped
            | Outcome::Challenge
            | Outcome::Delivered => false,
        }
    }

    /// The first word of the outcome, used in the summary.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Succeeded => "succeeded",
            Outcome::Dead(_) => "dead",
            Outcome::Skipped => "skipped",
            Outcome::Duplicate(_) => "duplicate",
            Outcome::Challenge => "challenge",
            Outcome::Delivered => "delivered",
            Outcome::Rejected(_) => "rejected",
            Outcome::TimedOut(_) => "timeout",
            Outcome::Failed(_) => "error",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())?;
        match self {
            Outcome::Dead(Some(reason)) => write!(f, ": {reason}"),
            Outcome::Duplicate(state) => write!(f, " ({state})"),
            Outcome::Rejected(detail) | Outcome::Failed(detail) => write!(f, ": {detail}"),
            Outcome::TimedOut(state) => write!(f, ": still {state}"),
            _ => Ok(()),
        }
    }
}

/// One replayed event.
#[derive(Debug, Clone)]
pub struct Report {
    /// The response status to the delivery, if one came.
    pub status: Option<u16>,
    /// The source it was sent to.
    pub source: String,
    /// The fixture file.
    pub file: PathBuf,
    /// The event id sent.
    pub id: Option<String>,
    /// The `Location` answered.
    pub location: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
}

impl fmt::Display for Report {
    /// `<status> <source> <file> <id> <location> <outcome>`, `-` for what is missing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self
            .status
            .map_or_else(|| "-".to_owned(), |s| s.to_string());
        write!(
            f,
            "{status} {} {} {} {} {}",
            self.source,
            self.file.display(),
            self.id.as_deref().unwrap_or("-"),
            self.location.as_deref().unwrap_or("-"),
            self.outcome
        )
    }
}

/// Counts of outcomes by kind.
#[derive(Debug, Default)]
pub struct Summary {
    counts: BTreeMap<&'static str, usize>,
    failures: usize,
}

impl Summary {
    /// Counts one report.
    pub fn add(&mut self, outcome: &Outcome) {
        *self.counts.entry(outcome.kind()).or_default() += 1;
        self.failures += usize::from(outcome.is_failure());
    }

    /// Events that make the run fail.
    pub fn failures(&self) -> usize {
        self.failures
    }
}

impl fmt::Display for Summary {
    /// `12 events: 11 succeeded, 1 challenge`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: usize = self.counts.values().sum();
        let plural = if total == 1 { "" } else { "s" };
        write!(f, "{total} event{plural}")?;
        let mut sep = ": ";
        for (kind, n) in &self.counts {
            write!(f, "{sep}{n} {kind}")?;
            sep = ", ";
        }
        Ok(())
    }
}

/// Prints report lines and keeps a one-line progress bar under them on a terminal's stderr.
pub struct Printer {
    total: usize,
    done: usize,
    bar: bool,
}

impl Printer {
    /// A printer for `total` events; the bar shows only when there are several and stderr is a
    /// terminal, so piped or captured output stays clean.
    pub fn new(total: usize) -> Printer {
        Printer {
            total,
            done: 0,
            bar: total > 1 && std::io::stderr().is_terminal(),
        }
    }

    /// Prints one report line on stdout and advances the bar.
    pub fn report(&mut self, report: &Report) {
        self.clear_bar();
        let mut out = std::io::stdout().lock();
        // A closed stdout (`| head`) must not abort the replay; the exit status still tells.
        let _ = writeln!(out, "{report}").and_then(|()| out.flush());
        self.done += 1;
        self.draw_bar();
    }

    /// Removes the bar before the summary.
    pub fn finish(&mut self) {
        self.clear_bar();
    }

    fn draw_bar(&self) {
        if !self.bar {
            return;
        }
        const WIDTH: usize = 30;
        let filled = WIDTH * self.done / self.total.max(1);
        let bar = format!("{}{}", "#".repeat(filled), "-".repeat(WIDTH - filled));
        eprint!("\r[{bar}] {}/{}", self.done, self.total);
    }

    fn clear_bar(&self) {
        if self.bar {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_six_fields_with_dashes_for_gaps() {
        let mut report = Report {
            status: Some(202),
            source: "stripe".into(),
            file: "fixtures/stripe/invoice.paid.json".into(),
            id: Some("evt_1".into()),
            location: Some("/events/stripe/evt_1".into()),
            outcome: Outcome::Dead(Some("handler exited 3".into())),
        };
        assert_eq!(
            report.to_string(),
            "202 stripe fixtures/stripe/invoice.paid.json evt_1 /events/stripe/evt_1 dead: handler exited 3"
        );
        report.status = None;
        report.id = None;
        report.location = None;
        report.outcome = Outcome::Failed("connection refused".into());
        assert_eq!(
            report.to_string(),
            "- stripe fixtures/stripe/invoice.paid.json - - error: connection refused"
        );
    }

    #[test]
    fn summary_counts_kinds_and_failures() {
        let mut summary = Summary::default();
        for outcome in [
            Outcome::Succeeded,
            Outcome::Succeeded,
            Outcome::Challenge,
            Outcome::Duplicate("dead".into()),
            Outcome::Duplicate("succeeded".into()),
        ] {
            summary.add(&outcome);
        }
        assert_eq!(
            summary.to_string(),
            "5 events: 1 challenge, 2 duplicate, 2 succeeded"
        );
        assert_eq!(summary.failures(), 1);
    }
}

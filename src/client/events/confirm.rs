//! Asking before an action that re-delivers or discards: what it will touch is printed first,
//! then a terminal is asked to confirm; a script says `--yes` (or `--dry-run` to only look).

use std::io::{BufRead, IsTerminal, Write};

use serde_json::Value;

use super::api::Failure;

/// How the operator answers the question before an action.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ConfirmArgs {
    /// Do it without asking (for scripts; without it a non-terminal stdin is refused).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Print what would be touched, change nothing.
    #[arg(long, conflicts_with = "yes")]
    dry_run: bool,
}

impl ConfirmArgs {
    /// Whether only to look.
    pub fn dry_run(self) -> bool {
        self.dry_run
    }

    /// Shows `targets` and asks `question` on the terminal, unless `--yes`; `Ok(false)` when
    /// the operator says no.
    pub fn ask_about(self, targets: &[Value], question: &str) -> Result<bool, Failure> {
        if self.yes {
            return Ok(true);
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(Failure::Usage(format!(
                "{question} — not asked: stdin is not a terminal; pass --yes to confirm (or \
                 --dry-run to only look)"
            )));
        }
        for line in target_lines(targets) {
            eprintln!("{line}");
        }
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        stdin
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Failure::Usage(format!("cannot read the answer: {e}")))?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
    }
}

/// Most targets printed one per line; the rest are counted.
const SHOWN: usize = 20;

/// The lines that list `targets` (the admin API's `{source, route, eventId, state}` items).
fn target_lines(targets: &[Value]) -> Vec<String> {
    let mut lines: Vec<String> = (targets.iter().take(SHOWN))
        .map(|t| format!("  {}", described(t)))
        .collect();
    if targets.len() > SHOWN {
        lines.push(format!("  … and {} more", targets.len() - SHOWN));
    }
    lines
}

/// Prints `targets` under `heading` (a dry run's answer).
pub fn print_targets(heading: &str, targets: &[Value]) {
    println!("{heading}");
    for line in target_lines(targets) {
        println!("{line}");
    }
}

/// `<stream>/<id> (was <state>)` of a target.
pub fn described(t: &Value) -> String {
    let source = t["source"].as_str().unwrap_or("?");
    let stream = match t["route"].as_str() {
        Some(route) => format!("{source}:{route}"),
        None => source.to_owned(),
    };
    let id = t["eventId"].as_str().unwrap_or("?");
    format!("{stream}/{id} (was {})", t["state"].as_str().unwrap_or("?"))
}

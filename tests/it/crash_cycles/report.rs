//! The verdict of a crash-cycle run: every delivery the target saw is explained from the
//! event's attempt history — the one recorded success, a retry after a recorded failure, or a
//! run that was in flight when its process was killed — and the in-flight runs are bounded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use hookbox::worker::idempotency_key;
use serde_json::Value;

use super::ledger::Ledger;
use crate::support::target::Target;

/// Why a delivery was followed by another of the same event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    /// Its claim was durable and is recorded `abandoned`: running at a kill.
    Abandoned,
    /// Its claim never became durable, so the next run repeats its attempt number: running at
    /// a kill.
    ClaimLost,
    /// Its attempt is recorded as a failure and was retried (not a crash effect).
    Retried,
}

/// What the run came to.
#[derive(Debug, Default)]
pub struct Report {
    acked: usize,
    deliveries: usize,
    ids_delivered_twice: usize,
    extras: BTreeMap<&'static str, usize>,
    /// Per epoch: events whose delivery then was not recorded (in flight at its kill).
    in_flight: Vec<BTreeSet<String>>,
    recovered: Vec<u64>,
    problems: Vec<String>,
    ledger: String,
}

impl Report {
    /// Explains every acknowledged event's deliveries from its `statuses` and the target's log;
    /// epoch k ends at `boundaries[k]`.
    pub fn build(
        ledger: &Ledger,
        statuses: &HashMap<String, Value>,
        target: &Target,
        boundaries: &[u64],
        recovered: &[u64],
    ) -> Report {
        let mut seen: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
        target.inspect(|requests| {
            for r in requests {
                let attempt = r.header("hookbox-attempt").and_then(|a| a.parse().ok());
                seen.entry(r.key().to_owned())
                    .or_default()
                    .push((r.at_ms, attempt.unwrap_or(0)));
            }
        });
        let mut report = Report {
            acked: ledger.acked.len(),
            deliveries: seen.values().map(Vec::len).sum(),
            in_flight: vec![BTreeSet::new(); boundaries.len() + 1],
            recovered: recovered.to_vec(),
            ledger: format!(
                "re-sent after a cut: {} not stored before, {} already stored; cut: {:?}",
                ledger.resent_new, ledger.resent_duplicate, ledger.cut
            ),
            ..Report::default()
        };
        if ledger.fresh_duplicates > 0 {
            let n = ledger.fresh_duplicates;
            report
                .problems
                .push(format!("{n} fresh ids answered as duplicates"));
        }
        for id in &ledger.acked {
            let delivered = seen
                .remove(&idempotency_key("crash", id))
                .unwrap_or_default();
            report.ids_delivered_twice += usize::from(delivered.len() > 1);
            let epoch = |at: u64| boundaries.partition_point(|b| *b <= at);
            match explain(&statuses[id], &delivered, epoch) {
                Ok(extras) => {
                    for (epoch, extra) in extras {
                        *report.extras.entry(extra.name()).or_default() += 1;
                        if extra != Extra::Retried {
                            report.in_flight[epoch].insert(id.clone());
                        }
                    }
                }
                Err(why) => report
                    .problems
                    .push(format!("{id}: {why}: {}", statuses[id])),
            }
        }
        for key in seen.keys() {
            report
                .problems
                .push(format!("{key} was delivered but never acknowledged"));
        }
        report
    }

    /// Prints the numbers worth keeping.
    pub fn print(&self, kills: usize, elapsed: Duration) {
        let per_kill: Vec<usize> = self.in_flight.iter().map(BTreeSet::len).collect();
        println!(
            "kills: {kills} in {elapsed:.1?}; events acknowledged: {}; {}\n\
             deliveries at the target: {}; ids delivered more than once: {}; extra deliveries: \
             {:?}\n\
             in flight at a kill (delivered, result not durable): total {}, max {} per kill; \
             recovered at restarts: total {}, max {}",
            self.acked,
            self.ledger,
            self.deliveries,
            self.ids_delivered_twice,
            self.extras,
            per_kill.iter().sum::<usize>(),
            per_kill.iter().max().unwrap_or(&0),
            self.recovered.iter().sum::<u64>(),
            self.recovered.iter().max().unwrap_or(&0),
        );
    }

    /// No event lost or processed twice unless in flight at a kill; at most `workers` of those
    /// per kill; and, when claims are recovered at start-up (`recovers_at_start`, sled), no more
    /// `abandoned` re-runs than claims hookbox itself reported recovering.
    pub fn assert_sound(&self, workers: usize, recovers_at_start: bool) {
        let shown: Vec<&String> = self.problems.iter().take(20).collect();
        assert!(
            self.problems.is_empty(),
            "{} problems: {shown:#?}",
            self.problems.len()
        );
        for (epoch, ids) in self.in_flight.iter().enumerate() {
            assert!(
                ids.len() <= workers,
                "kill {epoch}: {} in flight: {ids:?}",
                ids.len()
            );
        }
        let in_flight: usize = self.in_flight.iter().map(BTreeSet::len).sum();
        let twice = self.ids_delivered_twice;
        assert!(
            twice <= in_flight,
            "{twice} ids delivered more than once, {in_flight} in flight at kills"
        );
        let abandoned = self.extras.get("abandoned").copied().unwrap_or(0) as u64;
        let recovered: u64 = self.recovered.iter().sum();
        assert!(
            !recovers_at_start || abandoned <= recovered,
            "{abandoned} abandoned runs repeated, but hookbox recovered only {recovered} claims"
        );
    }
}

impl Extra {
    fn name(self) -> &'static str {
        match self {
            Extra::Abandoned => "abandoned",
            Extra::ClaimLost => "claim lost",
            Extra::Retried => "retried",
        }
    }
}

/// Accounts for each delivery but the last, (arrival ms, attempt number) in arrival order, from
/// the event's attempt history; returns the epoch and kind of each. Fails when the event did not
/// succeed exactly once with the last delivery, or ran again for no recorded reason.
fn explain(
    status: &Value,
    delivered: &[(u64, u64)],
    epoch: impl Fn(u64) -> usize,
) -> Result<Vec<(usize, Extra)>, String> {
    if status["state"] != "succeeded" {
        return Err("not succeeded".into());
    }
    let history: Vec<(u64, &str)> = status["attempts"]
        .as_array()
        .ok_or("no attempts")?
        .iter()
        .map(|a| {
            (
                a["number"].as_u64().unwrap_or(0),
                a["outcome"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    let outcome = |n: u64| history.iter().find(|(number, _)| *number == n).map(|h| h.1);
    let successes: Vec<u64> = history
        .iter()
        .filter(|h| h.1 == "success")
        .map(|h| h.0)
        .collect();
    let [success] = successes[..] else {
        return Err(format!("{} recorded successes", successes.len()));
    };
    let Some(&(_, last)) = delivered.last() else {
        return Err("the target never saw it".into());
    };
    if last != success {
        return Err(format!(
            "last delivery was attempt {last}, the recorded success {success}"
        ));
    }
    let mut extras = Vec::new();
    for pair in delivered.windows(2) {
        let ((at, attempt), (next_at, next_attempt)) = (pair[0], pair[1]);
        let across_a_kill = epoch(next_at) > epoch(at);
        let extra = match outcome(attempt) {
            _ if next_attempt == attempt && across_a_kill => Extra::ClaimLost,
            Some("abandoned") if next_attempt > attempt && across_a_kill => Extra::Abandoned,
            Some("transient") if next_attempt > attempt => Extra::Retried,
            recorded => {
                return Err(format!(
                    "attempt {attempt} (epoch {}, recorded {recorded:?}) ran again as attempt \
                     {next_attempt} (epoch {})",
                    epoch(at),
                    epoch(next_at)
                ))
            }
        };
        extras.push((epoch(at), extra));
    }
    Ok(extras)
}

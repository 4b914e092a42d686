//! One event's history across requeues, numbered the way people read it.
//!
//! The store counts attempts per round: a requeue starts `attempt_count` again at 0 and keeps
//! the earlier count in the requeue's `previous_attempts`. Handlers and the status resource
//! want one number that only grows (to tell a deliberate replay from a first delivery), so it
//! is derived here from the requeue history. Exact while that history is complete (the store
//! keeps the last 20 requeues).

use crate::store::{Attempt, EventRecord, Requeue};

/// Attempts made in the rounds before the current one.
pub fn earlier_attempts(record: &EventRecord) -> u32 {
    record
        .requeues
        .iter()
        .fold(0u32, |sum, r| sum.saturating_add(r.previous_attempts))
}

/// The overall number of the current round's attempt `attempt_count` (1 for the very first).
pub fn overall_attempt(record: &EventRecord) -> u32 {
    earlier_attempts(record).saturating_add(record.attempt_count)
}

/// The overall number of a recorded `attempt`: its number in its round plus the attempts of
/// the rounds before it (the requeues that happened before it started).
pub fn overall_number(requeues: &[Requeue], attempt: &Attempt) -> u32 {
    requeues
        .iter()
        .filter(|r| r.at <= attempt.started_at)
        .fold(attempt.number, |n, r| n.saturating_add(r.previous_attempts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Outcome, State};

    fn attempt(number: u32, started_at: u64) -> Attempt {
        Attempt {
            number,
            started_at,
            duration_ms: 1,
            outcome: Outcome::Permanent,
            status: None,
            exit_code: Some(3),
            error: None,
        }
    }

    fn requeue(at: u64, previous_attempts: u32) -> Requeue {
        Requeue {
            at,
            previous_state: State::Dead,
            previous_attempts,
            previous_error: None,
        }
    }

    #[test]
    fn numbers_keep_growing_across_requeues() {
        let requeues = [requeue(100, 2), requeue(200, 1)];
        let numbers: Vec<u32> = [
            attempt(1, 10),
            attempt(2, 50),
            attempt(1, 150),
            attempt(1, 250),
        ]
        .iter()
        .map(|a| overall_number(&requeues, a))
        .collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
    }
}

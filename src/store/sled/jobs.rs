//! The writes that go through a [`Batcher`](super::batch::Batcher): accepts, and the attempts
//! the worker records.

use super::batch::BatchedWrite;
use super::trees::{PerItem, Trees};
use crate::store::{event_key, Accepted, Attempt, EventRecord, NewEvent, Next};

impl BatchedWrite for NewEvent {
    type Output = Accepted;

    fn bytes(&self) -> usize {
        self.body.len()
    }

    fn write_all(trees: &Trees, jobs: Vec<Self>) -> PerItem<Accepted> {
        trees.accept_many(&jobs)
    }
}

/// One finished attempt to record against the claim that started it.
pub struct FinishedAttempt {
    /// The record as claimed; the write is skipped unless the stored one still holds its claim.
    pub claimed: EventRecord,
    /// What the attempt did.
    pub attempt: Attempt,
    /// Where the event goes now.
    pub next: Next,
}

impl BatchedWrite for FinishedAttempt {
    /// The updated record; `None` when the claim is no longer current.
    type Output = Option<EventRecord>;

    fn bytes(&self) -> usize {
        self.attempt.error.as_ref().map_or(0, String::len)
    }

    fn write_all(trees: &Trees, jobs: Vec<Self>) -> PerItem<Self::Output> {
        let keys: Vec<_> = jobs
            .iter()
            .map(|j| event_key(&j.claimed.source, &j.claimed.id))
            .collect();
        let results = trees.update_many(&keys, |i, r| {
            let job = &jobs[i];
            r.holds_claim_of(&job.claimed).then(|| {
                let now = job.attempt.ended_at();
                r.record_attempt(job.attempt.clone(), job.next.clone(), now)
            })
        })?;
        Ok(results
            .into_iter()
            .map(|r| r.map(|updated| updated.map(|(record, ())| record)))
            .collect())
    }
}

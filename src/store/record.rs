//! What is stored about an event, apart from its body.

use serde::{Deserialize, Serialize};

use super::{
    Attempt, EventOrdering, NewEvent, Next, Outcome, Requeue, State, StoreError, MAX_KEPT_ATTEMPTS,
    MAX_KEPT_REQUEUES,
};
use crate::ordering::OnDead;

/// The stored metadata of one event (the body is kept separately so state changes stay small).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Source name.
    pub source: String,
    /// Provider's event id.
    pub id: String,
    /// Arrival, unix milliseconds.
    pub received_at: u64,
    /// Provider's event type where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Request headers kept for the handler (lower-case names).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Body size in bytes.
    pub body_len: u64,
    /// Current state.
    pub state: State,
    /// Attempts started so far (also counts ones dropped from `attempts`).
    #[serde(default)]
    pub attempt_count: u32,
    /// The most recent attempts, oldest first.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (queued) — unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<u64>,
    /// When a claim expires (processing) — unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<u64>,
    /// When the current claim started — unix ms (processing only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<u64>,
    /// The latest failure, or why the event is dead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it became final — unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    /// True once retention removed the body; only this tombstone remains for dedupe.
    #[serde(default)]
    pub body_purged: bool,
    /// Operator requeues, oldest first (at most [`MAX_KEPT_REQUEUES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requeues: Vec<Requeue>,
    /// Its ordering key, when its source orders events by key. A `queued` record with no
    /// `next_attempt_at` waits for an earlier event of its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<EventOrdering>,
}

impl EventRecord {
    /// The record as stored by the embedded backends.
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(self).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// A record as stored by the embedded backends.
    pub fn decode(raw: &[u8]) -> Result<EventRecord, StoreError> {
        serde_json::from_slice(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// The record of a newly accepted event: queued, due at once.
    pub fn queued(ev: &NewEvent) -> EventRecord {
        EventRecord {
            source: ev.source.clone(),
            id: ev.id.clone(),
            received_at: ev.received_at,
            event_type: ev.event_type.clone(),
            headers: ev.headers.clone(),
            body_len: ev.body.len() as u64,
            state: State::Queued,
            attempt_count: 0,
            attempts: Vec::new(),
            next_attempt_at: Some(ev.received_at),
            lease_until: None,
            claimed_at: None,
            last_error: None,
            finished_at: None,
            body_purged: false,
            requeues: Vec::new(),
            ordering: ev.ordering.clone(),
        }
    }

    /// The record of a route the event did not match: `skipped` at arrival, without a body
    /// (nothing will ever be delivered), remembered for dedupe like a succeeded one.
    pub fn skipped(ev: &NewEvent) -> EventRecord {
        let mut record = EventRecord::queued(ev);
        record.state = State::Skipped;
        record.next_attempt_at = None;
        record.finished_at = Some(ev.received_at);
        record.body_purged = true;
        record.ordering = None;
        record
    }

    /// True while this event waits for an earlier event of its ordering key (queued, but not
    /// due at any time).
    pub fn waits_for_key(&self) -> bool {
        self.ordering.is_some() && self.state == State::Queued && self.next_attempt_at.is_none()
    }

    /// True while this event is in its ordering key's line, holding back the later events of
    /// its key: `queued` or `processing`, or `dead` under `on_dead = "block"` until an operator
    /// discards it (its body is then gone). Every backend keeps lines by this rule.
    pub fn in_line(&self) -> bool {
        let Some(ordering) = &self.ordering else {
            return false;
        };
        match self.state {
            State::Queued | State::Processing => true,
            State::Dead => ordering.on_dead == OnDead::Block && !self.body_purged,
            State::Succeeded | State::Skipped => false,
        }
    }

    /// The time this record sits in the `due` index at, if any: its next attempt when queued,
    /// its lease expiry when processing.
    pub fn due_at(&self) -> Option<u64> {
        match self.state {
            State::Queued => self.next_attempt_at,
            State::Processing => self.lease_until,
            State::Succeeded | State::Dead | State::Skipped => None,
        }
    }

    /// An operator's requeue: moves a final record back to `queued`, due at `now`, records it
    /// in `requeues` and starts a fresh round of attempts. `None`, leaving the record as it was,
    /// when it is not final or retention purged its body. Every backend uses this transition.
    pub fn requeue(&mut self, now: u64) -> Option<()> {
        if !self.state.is_final() || self.body_purged {
            return None;
        }
        if self.requeues.len() >= MAX_KEPT_REQUEUES {
            self.requeues.remove(0);
        }
        self.requeues.push(Requeue {
            at: now,
            previous_state: self.state,
            previous_attempts: self.attempt_count,
            previous_error: self.last_error.take(),
        });
        self.state = State::Queued;
        self.attempt_count = 0;
        self.next_attempt_at = Some(now);
        self.finished_at = None;
        self.lease_until = None;
        self.claimed_at = None;
        Some(())
    }

    /// An operator's discard of a dead event: its body goes, and the record stays as a
    /// tombstone (`dead`, `body_purged`), so the provider's retries remain duplicates and it can
    /// never be requeued. `None`, leaving the record as it was, unless it is dead with its body.
    /// Every backend uses this transition (and deletes the body in the same write).
    pub fn discard(&mut self) -> Option<()> {
        if self.state != State::Dead || self.body_purged {
            return None;
        }
        self.body_purged = true;
        Some(())
    }

    /// True for a dead event an operator discarded (dead events are never purged otherwise).
    pub fn is_discarded(&self) -> bool {
        self.state == State::Dead && self.body_purged
    }

    /// Takes a due record for an attempt under a lease of `lease_ms`, counting the attempt.
    /// A record still `processing` lost its previous claim (the lease expired): that attempt is
    /// recorded as abandoned first, and if it exhausted `max_attempts` the record goes `dead`
    /// instead. Returns `true` when claimed, `false` when it went dead.
    pub fn claim(&mut self, now: u64, lease_ms: u64, max_attempts: u32) -> bool {
        if self.state == State::Processing {
            self.abandon(now);
            if self.attempt_count >= max_attempts {
                let reason = format!(
                    "gave up after {} attempts (last one abandoned)",
                    self.attempt_count
                );
                self.finish(now, Next::Dead(reason));
                return false;
            }
        }
        self.attempt_count += 1;
        self.state = State::Processing;
        self.claimed_at = Some(now);
        self.lease_until = Some(now.saturating_add(lease_ms));
        self.next_attempt_at = None;
        true
    }

    /// Whether this record is still under the claim `claimed` was taken with (its lease did
    /// not expire and get claimed again since).
    pub fn holds_claim_of(&self, claimed: &EventRecord) -> bool {
        self.state == State::Processing && self.claimed_at == claimed.claimed_at
    }

    /// Records the attempt of the current claim and moves the record to the state `next`
    /// names; `now` is when the attempt ended.
    pub fn record_attempt(&mut self, attempt: Attempt, next: Next, now: u64) {
        self.last_error = attempt.error.clone().or(self.last_error.take());
        self.push_attempt(attempt);
        self.finish(now, next);
    }

    /// Ends a lost claim: records it as abandoned and queues the record at `now`.
    pub fn abandon(&mut self, now: u64) {
        let started = self.claimed_at.unwrap_or(now);
        self.push_attempt(Attempt {
            number: self.attempt_count,
            started_at: started,
            duration_ms: now.saturating_sub(started),
            outcome: Outcome::Abandoned,
            status: None,
            exit_code: None,
            error: Some("worker stopped or lease expired before the attempt was recorded".into()),
        });
        self.state = State::Queued;
        self.next_attempt_at = Some(now);
        self.lease_until = None;
        self.claimed_at = None;
    }

    /// Moves the record to the state `next` names, ending any claim.
    pub fn finish(&mut self, now: u64, next: Next) {
        self.lease_until = None;
        self.claimed_at = None;
        match next {
            Next::Succeeded => {
                self.state = State::Succeeded;
                self.next_attempt_at = None;
                self.finished_at = Some(now);
            }
            Next::RetryAt(at) => {
                self.state = State::Queued;
                self.next_attempt_at = Some(at);
            }
            Next::Dead(reason) => {
                self.state = State::Dead;
                self.next_attempt_at = None;
                self.finished_at = Some(now);
                self.last_error = Some(reason);
            }
        }
    }

    /// Appends an attempt, keeping at most [`MAX_KEPT_ATTEMPTS`].
    pub fn push_attempt(&mut self, attempt: Attempt) {
        if self.attempts.len() >= MAX_KEPT_ATTEMPTS {
            self.attempts.remove(0);
        }
        self.attempts.push(attempt);
    }
}

/// How long succeeded events keep their body and their id, ms.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Body retention for succeeded events.
    pub body_ms: u64,
    /// How long a succeeded event's id is remembered.
    pub dedupe_ms: u64,
}

impl Retention {
    /// When housekeeping next has work on `r`: purge its body, then forget it. Dead events stay.
    pub fn expiry_at(&self, r: &EventRecord) -> Option<u64> {
        match (r.state, r.finished_at) {
            (State::Succeeded, Some(t)) if !r.body_purged => Some(t.saturating_add(self.body_ms)),
            (State::Succeeded | State::Skipped, Some(t)) => Some(t.saturating_add(self.dedupe_ms)),
            _ => None,
        }
    }
}

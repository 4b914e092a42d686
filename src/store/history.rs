//! What a record keeps of its past: attempts and operator requeues.

use serde::{Deserialize, Serialize};

use super::State;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The handler succeeded.
    Success,
    /// Failed in a way worth retrying.
    Transient,
    /// Failed in a way no retry will fix.
    Permanent,
    /// The worker lost its lease (crash or timeout) before recording a result.
    Abandoned,
}

/// One processing attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// Start, unix milliseconds.
    pub started_at: u64,
    /// How long the handler ran.
    pub duration_ms: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// HTTP status from a `forward` target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Exit code from a `command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// A bounded excerpt describing the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Attempt {
    /// When the attempt ended, unix milliseconds.
    pub fn ended_at(&self) -> u64 {
        self.started_at.saturating_add(self.duration_ms)
    }
}

/// Attempts kept per event; older ones are dropped first (the count stays in `attempt_count`).
pub const MAX_KEPT_ATTEMPTS: usize = 50;

/// An operator's deliberate requeue, kept in the event's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requeue {
    /// When, unix milliseconds.
    pub at: u64,
    /// The state the event left: `dead`, or `succeeded` for a replay.
    pub previous_state: State,
    /// `attempt_count` before the requeue (a requeue starts a fresh round of attempts).
    pub previous_attempts: u32,
    /// `last_error` before the requeue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_error: Option<String>,
}

/// Requeues kept per event; older ones are dropped first.
pub const MAX_KEPT_REQUEUES: usize = 20;

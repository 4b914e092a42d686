//! The states an event record moves through.

use serde::{Deserialize, Serialize};

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for its next attempt (`next_attempt_at`).
    Queued,
    /// Claimed by a worker until `lease_until`.
    Processing,
    /// A handler succeeded. Final.
    Succeeded,
    /// Given up on (permanent error or attempts exhausted). Final until requeued.
    Dead,
    /// A route whose filter did not match the event: nothing to deliver, no body kept. Final.
    Skipped,
}

impl State {
    /// True for `succeeded` and `dead`.
    pub fn is_final(self) -> bool {
        matches!(self, State::Succeeded | State::Dead | State::Skipped)
    }

    /// Every state, in life order.
    pub const ALL: [State; 5] = [
        State::Queued,
        State::Processing,
        State::Succeeded,
        State::Dead,
        State::Skipped,
    ];

    /// The lower-case name used in JSON, metrics, query parameters and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Processing => "processing",
            State::Succeeded => "succeeded",
            State::Dead => "dead",
            State::Skipped => "skipped",
        }
    }
}

impl State {
    /// Where an event stored once per route stands over `states`: `processing` or `queued`
    /// while any route is, then `dead` if any route is, then `succeeded` if any route delivered
    /// it, else `skipped`. `None` for no states.
    pub fn overall(states: impl IntoIterator<Item = State>) -> Option<State> {
        const FIRST: [State; 5] = [
            State::Processing,
            State::Queued,
            State::Dead,
            State::Succeeded,
            State::Skipped,
        ];
        let states: Vec<State> = states.into_iter().collect();
        FIRST.into_iter().find(|s| states.contains(s))
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`State::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state {0:?}: use one of queued, processing, succeeded, dead, skipped")]
pub struct UnknownState(pub String);

impl std::str::FromStr for State {
    type Err = UnknownState;

    fn from_str(name: &str) -> Result<State, UnknownState> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| UnknownState(name.to_owned()))
    }
}

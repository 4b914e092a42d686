//! What an operator action did, attached to its response (as an extension) so the router can
//! record it in the audit log without each handler writing audit records itself.

/// One operator action's effect: its name, the targets it touched (`source[:route]/id`, or a
/// filter for a bulk action) and how many it touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acted {
    /// `requeue`, `bulk_requeue`, `discard`, `batch_requeue`, `batch_discard`, …
    pub action: &'static str,
    /// What it touched, each `source[:route]/id` (bounded by the action's own page size).
    pub targets: Vec<String>,
    /// How many it touched (the targets' length unless a dry run only counted).
    pub count: usize,
    /// True when nothing was changed: the answer only says what would be.
    pub dry_run: bool,
}

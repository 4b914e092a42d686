//! The `log` handler: records that the event arrived and succeeds. The shipped default, so
//! hookbox runs with no application behind it.

use super::{Job, Report};

/// Logs the event's id, source, type and size (never its body) and succeeds.
pub fn run(job: Job<'_>) -> Report {
    let r = job.record;
    tracing::info!(
        source = %r.source,
        event_id = %r.id,
        event_type = r.event_type.as_deref().unwrap_or(""),
        size = job.body.len(),
        "event processed by the log handler"
    );
    Report::success()
}

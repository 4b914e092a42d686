//! The audit log: who did which operator action, kept in the store beside the events, on every
//! backend, with its own retention.
//!
//! A record is stored as its JSON (the same encoding `GET /admin/audit` answers with) under its
//! id, and ids sort by time: 16 hex digits of the unix ms, a `-`, 8 hex digits of this process's
//! sequence (so records of one millisecond keep the order they were made in), 8 random hex
//! digits (so instances sharing a database never collide). So every
//! backend keeps one ordered map (redb table `audit`, sled tree `audit`, PostgreSQL table
//! `audit`), and listing newest first, the cursor (the last id handed out) and expiry (every id
//! below the one of a time) are the same few lines here for all three.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// Most targets one record keeps; `count` still says how many there were.
pub const MAX_AUDIT_TARGETS: usize = 100;
/// Most records one listing call examines (filtered ones included).
pub const AUDIT_SCAN_BUDGET: usize = 10_000;
/// Records read from the backend at a time while listing.
const CHUNK: usize = 200;

/// Whether the action happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// It was carried out (or, for a dry run, answered).
    Done,
    /// It was refused: the token's role, the event's state, a bad request (see `status`).
    Refused,
}

/// One operator action, as the audit log keeps it and `GET /admin/audit` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Unique, and in time order.
    pub id: String,
    /// When, unix ms.
    pub at: u64,
    /// The token's name; `cli:<user>` (or `cli`) for the command line.
    pub token: String,
    /// The token's role (`read` or `operate`).
    pub role: String,
    /// `requeue`, `bulk_requeue`, `discard`, `batch_requeue`, `migrate`, `compact`, …
    pub action: String,
    /// What it touched (`source[:route]/id`, a filter, a file), at most
    /// [`MAX_AUDIT_TARGETS`].
    pub targets: Vec<String>,
    /// How many it touched (or, for a dry run, would have).
    pub count: u64,
    /// True when nothing was changed.
    pub dry_run: bool,
    /// Done or refused.
    pub outcome: AuditOutcome,
    /// The HTTP status answered; absent for the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl AuditRecord {
    /// A record of `action` by `token` (of `role`) at `at`, with a fresh id, no targets and a
    /// count of 0, done.
    pub fn new(at: u64, token: &str, role: &str, action: &str) -> AuditRecord {
        AuditRecord {
            id: format!(
                "{}-{:08x}{:08x}",
                id_time(at),
                next_in_process(),
                rand::random::<u32>()
            ),
            at,
            token: token.to_owned(),
            role: role.to_owned(),
            action: action.to_owned(),
            targets: Vec::new(),
            count: 0,
            dry_run: false,
            outcome: AuditOutcome::Done,
            status: None,
        }
    }

    /// Sets the targets, keeping the first [`MAX_AUDIT_TARGETS`], and the count.
    pub fn touching(mut self, mut targets: Vec<String>, count: u64) -> AuditRecord {
        targets.truncate(MAX_AUDIT_TARGETS);
        self.targets = targets;
        self.count = count;
        self
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A record from its stored form.
    pub fn decode(raw: &[u8]) -> Result<AuditRecord, StoreError> {
        serde_json::from_slice(raw).map_err(|e| StoreError::Corrupt(format!("audit record: {e}")))
    }
}

/// The next number of this process's audit sequence: ids of one millisecond sort in the order
/// their records were made (wrapping after 2³² records, by then long apart in time).
fn next_in_process() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// The part of an id that orders it: the time as 16 hex digits.
fn id_time(at: u64) -> String {
    format!("{at:016x}")
}

/// Whether `text` can be an audit cursor (an id): short, and only hex digits and `-`.
pub fn valid_audit_cursor(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Which records a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<String>,
    /// Only this token's.
    pub token: Option<String>,
}

impl AuditFilter {
    fn matches(&self, r: &AuditRecord) -> bool {
        self.action.as_ref().is_none_or(|a| *a == r.action)
            && self.token.as_ref().is_none_or(|t| *t == r.token)
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The records.
    pub items: Vec<AuditRecord>,
    /// Where the next page starts, when more may remain.
    pub next: Option<String>,
}

/// Stored records, newest first: (id, JSON).
pub type RawAudit = Vec<(String, Vec<u8>)>;

impl Store {
    /// Appends `records` to the audit log; durable on return.
    pub async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<(), StoreError> {
        let rows: RawAudit = records.iter().map(|r| (r.id.clone(), r.encode())).collect();
        self.backend.append_audit(rows).await
    }

    /// Up to `limit` (1–1000) records matching `filter`, newest first, older than the id
    /// `cursor`. Examines at most [`AUDIT_SCAN_BUDGET`] records, so a page may be short with a
    /// `next` to continue from. A record that does not decode is logged and skipped.
    pub async fn list_audit(
        &self,
        limit: usize,
        cursor: Option<&str>,
        filter: &AuditFilter,
    ) -> Result<AuditPage, StoreError> {
        let limit = limit.clamp(1, 1000);
        let (mut items, mut before, mut scanned) = (Vec::new(), cursor.map(str::to_owned), 0);
        while scanned < AUDIT_SCAN_BUDGET {
            let chunk = self.audit_before(before.as_deref(), CHUNK).await?;
            let last_chunk = chunk.len() < CHUNK;
            for (id, raw) in chunk {
                scanned += 1;
                before = Some(id);
                match AuditRecord::decode(&raw) {
                    Ok(r) if filter.matches(&r) => items.push(r),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(id = before.as_deref(), error = %e, "audit record skipped")
                    }
                }
                if items.len() == limit {
                    return Ok(AuditPage {
                        items,
                        next: before,
                    });
                }
            }
            if last_chunk {
                return Ok(AuditPage { items, next: None });
            }
        }
        Ok(AuditPage {
            items,
            next: before,
        })
    }

    /// Removes up to `limit` records older than `before` (unix ms); returns how many.
    pub async fn expire_audit(&self, before: u64, limit: usize) -> Result<usize, StoreError> {
        let bound = id_time(before);
        self.backend.expire_audit(&bound, limit).await
    }

    /// Up to `limit` stored records with ids below `before` (all when `None`), newest first.
    async fn audit_before(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<RawAudit, StoreError> {
        self.backend.audit_before(before, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_records_keep_at_most_a_hundred_targets() {
        let early = AuditRecord::new(999, "a", "operate", "requeue");
        let late = AuditRecord::new(1000, "a", "operate", "requeue");
        assert!(early.id < late.id && id_time(1000) <= late.id && late.id < id_time(1001));
        let (first, second) = (
            AuditRecord::new(7, "t", "read", "a"),
            AuditRecord::new(7, "t", "read", "b"),
        );
        assert!(
            first.id < second.id,
            "one millisecond keeps the order of making"
        );
        assert!(valid_audit_cursor(&late.id) && !valid_audit_cursor("x'; --"));
        let targets = (0..150).map(|i| format!("s/e{i}")).collect();
        let r = late.touching(targets, 150);
        assert_eq!((r.targets.len(), r.count), (MAX_AUDIT_TARGETS, 150));
        assert_eq!(AuditRecord::decode(&r.encode()).expect("decodes"), r);
        let json: serde_json::Value = serde_json::from_slice(&r.encode()).expect("JSON");
        assert_eq!(json["dryRun"], false);
        assert_eq!(json["outcome"], "done");
        assert!(json.get("status").is_none(), "absent for the command line");
    }
}

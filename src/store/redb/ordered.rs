//! Per-key ordering inside a write transaction: the `ordered` table holds, for each ordering
//! key, its unfinished events in the order they were accepted. Only the first of a line — its
//! head — is ever due; the others are `queued` with no `next_attempt_at` and stay out of `due`,
//! so the claim scan never wades through blocked events.
//!
//! A record is in its line while `queued` or `processing`, and while `dead` under
//! `on_dead = "block"` until an operator discards it. When the head leaves (succeeded, dead under `skip`), the next event of
//! the key becomes due in the same transaction, so a crash never loses or reorders the line.
//! A record that re-enters (an operator requeues a succeeded or skipped event) joins at the end.

use redb::ReadableTable;

use super::tables::{due_entry, Tables};
use crate::store::keys::{ordered_prefix, timed_key};
use crate::store::{EventRecord, StoreError};

/// `meta` key of the last sequence number given to an `ordered` entry.
const SEQ: &[u8] = b"ordered-seq";

/// The line `r` belongs to, if it is ordered.
fn line_of(r: &EventRecord) -> Option<Vec<u8>> {
    r.ordering
        .as_ref()
        .map(|o| ordered_prefix(&r.source, &o.key))
}

impl Tables<'_> {
    /// Puts `record` (at event key `key`) at the end of its key's line; if the line already
    /// holds an event, `record` waits: queued, but not due.
    pub(super) fn join_line(
        &mut self,
        key: &[u8],
        record: &mut EventRecord,
    ) -> Result<(), redb::Error> {
        let Some(line) = line_of(record) else {
            return Ok(());
        };
        if self.first_in_line(&line)?.is_some() {
            record.next_attempt_at = None;
        }
        let seq = self.next_seq()?;
        let mut entry = line;
        entry.extend_from_slice(&seq.to_be_bytes());
        self.ordered.insert(entry.as_slice(), key)?;
        Ok(())
    }

    /// Keeps the `ordered` entry of the record at `key` in step with its change from `before`
    /// to `after`. Returns `true` when it left its line (the caller then promotes the next).
    pub(super) fn follow_line(
        &mut self,
        key: &[u8],
        before: &EventRecord,
        after: &mut EventRecord,
    ) -> Result<bool, redb::Error> {
        match (before.in_line(), after.in_line()) {
            (false, true) => {
                self.join_line(key, after)?;
                Ok(false)
            }
            (true, false) => {
                if let Some(line) = line_of(after) {
                    self.leave_line(&line, key)?;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Makes the new head of `left`'s line due, from when `left` finished (or its own arrival,
    /// if later). Nothing to do when the line is empty or its head is already due.
    pub(super) fn promote_next(
        &mut self,
        left: &EventRecord,
    ) -> Result<Result<(), StoreError>, redb::Error> {
        let Some(line) = line_of(left) else {
            return Ok(Ok(()));
        };
        let Some(next_key) = self.first_in_line(&line)? else {
            return Ok(Ok(()));
        };
        let mut next = match self.get(&next_key)? {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(Ok(())),
            Err(e) => return Ok(Err(e)),
        };
        if !next.waits_for_key() {
            return Ok(Ok(()));
        }
        let since = left.finished_at.unwrap_or(next.received_at);
        next.next_attempt_at = Some(since.max(next.received_at));
        let encoded = match next.encode() {
            Ok(encoded) => encoded,
            Err(e) => return Ok(Err(e)),
        };
        if let Some((at, value)) = due_entry(&next) {
            self.due
                .insert(timed_key(at, &next_key).as_slice(), value)?;
        }
        self.events
            .insert(next_key.as_slice(), encoded.as_slice())?;
        Ok(Ok(()))
    }

    /// Removes the entry of event `key` from `line` (normally its first).
    fn leave_line(&mut self, line: &[u8], key: &[u8]) -> Result<(), redb::Error> {
        let mut found = None;
        for entry in self.ordered.range::<&[u8]>(line..)? {
            let (k, v) = entry?;
            if !k.value().starts_with(line) {
                break;
            }
            if v.value() == key {
                found = Some(k.value().to_vec());
                break;
            }
        }
        match found {
            Some(entry) => {
                self.ordered.remove(entry.as_slice())?;
            }
            None => tracing::error!("an ordered event was missing from its key's line"),
        }
        Ok(())
    }

    /// The event key of the first entry of `line`.
    fn first_in_line(&self, line: &[u8]) -> Result<Option<Vec<u8>>, redb::Error> {
        let first = self.ordered.range::<&[u8]>(line..)?.next().transpose()?;
        Ok(first
            .filter(|(k, _)| k.value().starts_with(line))
            .map(|(_, v)| v.value().to_vec()))
    }

    /// The next sequence number for an `ordered` entry (one counter for every line).
    fn next_seq(&mut self) -> Result<u64, redb::Error> {
        let last = match self.meta.get(SEQ)? {
            Some(raw) => raw.value().try_into().map_or(0, u64::from_be_bytes),
            None => 0,
        };
        let seq = last.saturating_add(1);
        self.meta.insert(SEQ, &seq.to_be_bytes()[..])?;
        Ok(seq)
    }
}

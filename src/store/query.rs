//! The admin side's shared vocabulary: which events a listing or bulk requeue covers, where a
//! walk stands, and what a requeue did. Every backend lists newest first by
//! `(received_at, source, id)` and hand out the same cursor format.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::filter::EventFilter;
use super::keys::{event_key, split_timed_key, timed_key};
use super::{EventRecord, State};
use super::{Store, StoreError};

/// Most index entries one listing or bulk-requeue call examines.
pub const SCAN_BUDGET: usize = 10_000;

/// Most events one bulk-requeue call requeues; the returned cursor continues from there.
pub const BULK_REQUEUE_MAX: usize = 10_000;

/// A position in a walk: the last event handled, as `(received_at, event key)`. Opaque to
/// clients (URL-safe base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(Vec<u8>);

impl Cursor {
    /// Decodes a cursor previously produced by [`Cursor::encode`]; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Cursor> {
        let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
        let cursor = Cursor(raw);
        cursor.position().is_some().then_some(cursor)
    }

    /// The cursor as URL-safe text.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    /// The cursor at the event `(received_at, source, id)`: the next page starts just past it
    /// in newest-first order.
    pub fn new(received_at: u64, source: &str, id: &str) -> Cursor {
        Cursor(timed_key(received_at, &event_key(source, id)))
    }

    /// The cursor at `record` (see [`Cursor::new`]).
    pub fn at(record: &EventRecord) -> Cursor {
        Cursor::new(record.received_at, &record.source, &record.id)
    }

    /// The `(received_at, source, id)` this cursor points at.
    pub fn position(&self) -> Option<(u64, String, String)> {
        let (at, key) = split_timed_key(&self.0)?;
        let (&len, rest) = key.split_first()?;
        let (source, id) = rest.split_at_checked(usize::from(len))?;
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
        Some((at, text(source)?, text(id)?))
    }

    /// The cursor over a raw `(time, event key)` index entry (sled's `received` index).
    pub(super) fn from_index_key(raw: Vec<u8>) -> Cursor {
        Cursor(raw)
    }

    /// The raw `(time, event key)` index entry.
    pub(super) fn index_key(&self) -> &[u8] {
        &self.0
    }
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page {
    /// Matching events, newest first.
    pub items: Vec<EventRecord>,
    /// Where the next page starts; `None` once the walk reached its end.
    pub next: Option<Cursor>,
}

/// What [`Store::requeue`](super::Store::requeue) did.
// Built once per request and consumed at once: boxing the record would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequeueOutcome {
    /// The event is queued again, due now.
    Requeued(EventRecord),
    /// No such event.
    Unknown,
    /// The event is `queued` or `processing` already.
    NotFinal(State),
    /// The event succeeded and retention purged its body: nothing left to process.
    BodyPurged,
}

impl RequeueOutcome {
    /// Why `record`, which [`EventRecord::requeue`] refused, was not requeued.
    pub fn refused(record: &EventRecord) -> RequeueOutcome {
        if record.body_purged && record.state != State::Skipped {
            RequeueOutcome::BodyPurged
        } else {
            RequeueOutcome::NotFinal(record.state)
        }
    }
}

/// What [`Store::requeue_dead`](super::Store::requeue_dead) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRequeued {
    /// Events requeued by this call.
    pub requeued: usize,
    /// Which: `(stream, id)` of each, newest first.
    pub taken: Vec<(String, String)>,
    /// Where to continue when this call stopped at its bound; `None` when the range is done.
    pub next: Option<Cursor>,
}

impl Store {
    /// Up to `limit` (≥ 1) events matching `filter`, newest first, continuing after `after`.
    /// sled examines at most [`SCAN_BUDGET`] events per call, so a selective filter may return
    /// a short page whose cursor still leads on.
    pub async fn list(
        &self,
        filter: &EventFilter,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<Page, StoreError> {
        self.backend.list(filter, limit, after).await
    }

    /// Queues one final event again, due `now`, and wakes the workers. Returns once durable.
    pub async fn requeue(
        &self,
        source: &str,
        id: &str,
        now: u64,
    ) -> Result<RequeueOutcome, StoreError> {
        self.backend.requeue(source, id, now).await
    }

    /// The stream names (sources, and `source:route` for routes) that hold events, configured
    /// or not: a route removed from the config keeps its deliveries under its stream.
    pub async fn streams(&self) -> Result<Vec<String>, StoreError> {
        self.backend.streams().await
    }

    /// Requeues the `dead` events matching `filter` (its `state` is ignored), newest first,
    /// continuing after `after`. One call requeues at most [`BULK_REQUEUE_MAX`] and examines at
    /// most [`SCAN_BUDGET`] events; `next` says where to continue. Returns once durable.
    pub async fn requeue_dead(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        now: u64,
    ) -> Result<BulkRequeued, StoreError> {
        self.backend.requeue_dead(filter, after, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor::new(42, "stripe", "evt_1");
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor.clone()));
        assert_eq!(
            cursor.position(),
            Some((42, "stripe".into(), "evt_1".into()))
        );
        assert_eq!(Cursor::parse("not base64!"), None);
        assert_eq!(Cursor::parse(&URL_SAFE_NO_PAD.encode([0u8; 4])), None);
        let mut short = timed_key(1, &[]);
        short.push(9); // claims a 9-byte source name that is not there
        assert_eq!(Cursor::parse(&URL_SAFE_NO_PAD.encode(short)), None);
        let mut not_text = timed_key(1, &[]);
        not_text.extend([1, 0xff, b'x']); // a one-byte source that is not UTF-8
        assert_eq!(Cursor::parse(&URL_SAFE_NO_PAD.encode(not_text)), None);
    }
}

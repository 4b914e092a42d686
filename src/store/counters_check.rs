//! Checking a backend's counters against a full scan of its records: what the conformance suite
//! runs after every operation and the crash tests after a kill -9, and what an operator can run
//! on a stopped store.

use std::collections::BTreeMap;

use super::counters::{StreamTally, BUCKET_MS};
use super::{Cursor, EventFilter, State, Store, StoreError};

impl Store {
    /// Compares the backend's counters (see `Backend::tallies`) with a walk over every stored
    /// record, and returns each disagreement as a line (none: exact). A backend without counters
    /// has nothing to disagree. Meant for a store nothing else writes to meanwhile.
    pub async fn check_counters(&self) -> Result<Vec<String>, StoreError> {
        let Some(counted) = self
            .backend
            .tallies(Some((0, u64::MAX - BUCKET_MS)))
            .await?
        else {
            return Ok(Vec::new());
        };
        let mut scanned: BTreeMap<String, StreamTally> = BTreeMap::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = self
                .list(&EventFilter::default(), 1000, cursor.as_ref())
                .await?;
            for r in &page.items {
                let t = scanned.entry(r.source.clone()).or_default();
                t.counts.add(r);
                t.last_event_at = t.last_event_at.max(Some(r.received_at));
                if !r.state.is_final() {
                    let oldest = t.oldest_unfinished_at.unwrap_or(u64::MAX);
                    t.oldest_unfinished_at = Some(oldest.min(r.received_at));
                }
                let bucket = |at: u64| at - at % BUCKET_MS;
                let b = t.buckets.entry(bucket(r.received_at)).or_default();
                b.start = bucket(r.received_at);
                b.accepted += 1;
                b.skipped += u64::from(r.state == State::Skipped);
                let end = r.finished_at.map(bucket);
                match (r.state, end) {
                    (State::Succeeded, Some(at)) => ended(t, at).succeeded += 1,
                    (State::Dead, Some(at)) => ended(t, at).dead += 1,
                    _ => {}
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut wrong = Vec::new();
        let streams = counted.keys().chain(scanned.keys());
        for stream in streams.collect::<std::collections::BTreeSet<_>>() {
            let empty = StreamTally::default();
            let c = counted.get(stream).unwrap_or(&empty);
            let s = scanned.get(stream).unwrap_or(&empty);
            let newest_ok = match (c.last_event_at, s.last_event_at) {
                (_, None) => true,
                (Some(kept), Some(seen)) => kept >= seen,
                (None, Some(_)) => false,
            };
            let say = |what: &str, counted: String, scanned: String| {
                format!("{stream}: {what}: the counters say {counted}, the records {scanned}")
            };
            if c.counts != s.counts {
                wrong.push(say(
                    "counts",
                    format!("{:?}", c.counts),
                    format!("{:?}", s.counts),
                ));
            }
            if !newest_ok {
                let (kept, seen) = (c.last_event_at, s.last_event_at);
                wrong.push(say("newest", format!("{kept:?}"), format!("{seen:?}")));
            }
            if c.oldest_unfinished_at != s.oldest_unfinished_at {
                let (kept, seen) = (c.oldest_unfinished_at, s.oldest_unfinished_at);
                wrong.push(say(
                    "oldest unfinished",
                    format!("{kept:?}"),
                    format!("{seen:?}"),
                ));
            }
            if c.buckets != s.buckets {
                let (kept, seen) = (&c.buckets, &s.buckets);
                wrong.push(say("buckets", format!("{kept:?}"), format!("{seen:?}")));
            }
        }
        Ok(wrong)
    }
}

/// The bucket starting `at` of `t`.
fn ended(t: &mut StreamTally, at: u64) -> &mut super::Bucket {
    let b = t.buckets.entry(at).or_default();
    b.start = at;
    b
}

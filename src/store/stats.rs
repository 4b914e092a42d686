//! Counts per state and the per-source summary behind the console's charts. A backend that
//! keeps counters (redb, sled: see `counters`) answers both exactly from them, in a few reads
//! whatever it holds. Otherwise — and for a count filtered by type or time, which no counter
//! follows — they come from one bounded newest-first walk over the listing API; a store holding
//! more than the walk covers then gets `complete: false`: the numbers of the newest events only.

use std::collections::BTreeMap;

use serde::Serialize;

use super::filter::EventFilter;
use super::query::Cursor;
use super::{split_stream, EventRecord, State};
use super::{Store, StoreError};

/// Width of a summary bucket (5 minutes): the backends' counters keep buckets of it.
pub const BUCKET_MS: u64 = 5 * 60 * 1000;

/// What the counters say about one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamTally {
    /// Events per state.
    pub counts: StateCounts,
    /// The newest arrival (kept after retention forgot that event).
    pub last_event_at: Option<u64>,
    /// The arrival of the oldest event still queued or processing.
    pub oldest_unfinished_at: Option<u64>,
    /// The window's buckets that saw activity, by start.
    pub buckets: BTreeMap<u64, Bucket>,
}

/// Per stream, by name.
pub type Tallies = BTreeMap<String, StreamTally>;

/// Pages (of [`PAGE`] events) one count or summary reads at most.
pub const STATS_PAGES: usize = 50;
const PAGE: usize = 1000;

/// Events per state among those a walk covered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    /// `queued` events.
    pub queued: u64,
    /// `processing` events.
    pub processing: u64,
    /// `succeeded` events.
    pub succeeded: u64,
    /// `dead` events waiting for an operator (discarded ones are counted apart, so this is
    /// what a bulk requeue would take).
    pub dead: u64,
    /// The `dead` events an operator discarded: settled, nothing left to requeue.
    pub discarded: u64,
    /// Route deliveries whose filter did not match.
    pub skipped: u64,
}

impl StateCounts {
    /// Counts `record`.
    pub fn add(&mut self, record: &EventRecord) {
        match record.state {
            State::Queued => self.queued += 1,
            State::Processing => self.processing += 1,
            State::Succeeded => self.succeeded += 1,
            State::Dead if record.is_discarded() => self.discarded += 1,
            State::Dead => self.dead += 1,
            State::Skipped => self.skipped += 1,
        }
    }
}

/// One time bucket of a source's recent activity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// Bucket start, unix ms.
    pub start: u64,
    /// Events received in the bucket.
    pub accepted: u64,
    /// Events that succeeded in the bucket.
    pub succeeded: u64,
    /// Events that went dead in the bucket.
    pub dead: u64,
    /// Route deliveries received in the bucket that their filter skipped.
    pub skipped: u64,
}

/// One source's recent activity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceSummary {
    /// Source name.
    pub source: String,
    /// The window's buckets, oldest first.
    pub buckets: Vec<Bucket>,
    /// Events queued or processing.
    pub queue_depth: u64,
    /// Arrival of the newest event, unix ms.
    pub last_event_at: Option<u64>,
    /// Arrival of the oldest event still queued or processing, unix ms.
    pub oldest_queued_at: Option<u64>,
}

/// Recent activity of every source, bucketed for charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Window start, unix ms (a bucket boundary).
    pub from: u64,
    /// Bucket width, ms.
    pub bucket_ms: u64,
    /// Buckets per source.
    buckets: usize,
    /// Per source, by name.
    pub sources: BTreeMap<String, SourceSummary>,
}

impl Summary {
    /// An empty summary of `buckets` buckets of `bucket_ms` ending with the one holding `now`,
    /// with a row for each of `sources`.
    pub fn new<'a>(
        now: u64,
        bucket_ms: u64,
        buckets: u64,
        sources: impl IntoIterator<Item = &'a str>,
    ) -> Summary {
        let bucket_ms = bucket_ms.max(1);
        let from = (now / bucket_ms)
            .saturating_sub(buckets.saturating_sub(1))
            .saturating_mul(bucket_ms);
        let mut summary = Summary {
            from,
            bucket_ms,
            buckets: usize::try_from(buckets).unwrap_or(0),
            sources: BTreeMap::new(),
        };
        for source in sources {
            summary.row(source);
        }
        summary
    }

    fn row(&mut self, source: &str) -> &mut SourceSummary {
        let (from, width, count) = (self.from, self.bucket_ms, self.buckets);
        self.sources
            .entry(source.to_owned())
            .or_insert_with(|| SourceSummary {
                source: source.to_owned(),
                buckets: (0..count as u64)
                    .map(|i| Bucket {
                        start: from + i * width,
                        ..Bucket::default()
                    })
                    .collect(),
                ..SourceSummary::default()
            })
    }

    /// Adds `record` (records arrive newest first, but any order gives the same result).
    pub fn add(&mut self, record: &EventRecord) {
        let (from, width) = (self.from, self.bucket_ms);
        let index = move |t: u64| usize::try_from(t.checked_sub(from)? / width).ok();
        let row = self.row(&record.source);
        row.last_event_at = row.last_event_at.max(Some(record.received_at));
        if !record.state.is_final() {
            row.queue_depth += 1;
            let oldest = row.oldest_queued_at.unwrap_or(u64::MAX);
            row.oldest_queued_at = Some(oldest.min(record.received_at));
        }
        if let Some(bucket) = index(record.received_at).and_then(|i| row.buckets.get_mut(i)) {
            bucket.accepted += 1;
            bucket.skipped += u64::from(record.state == State::Skipped);
        }
        let finished = record.finished_at.filter(|_| record.state.is_final());
        if let Some(bucket) = finished
            .and_then(index)
            .and_then(|i| row.buckets.get_mut(i))
        {
            match record.state {
                State::Succeeded => bucket.succeeded += 1,
                State::Dead => bucket.dead += 1,
                _ => {}
            }
        }
    }

    /// Adds what the counters say of `stream` (its buckets outside the window are ignored).
    fn add_tally(&mut self, stream: &str, tally: &StreamTally) {
        let (from, width) = (self.from, self.bucket_ms);
        let row = self.row(stream);
        row.last_event_at = row.last_event_at.max(tally.last_event_at);
        row.queue_depth += tally.counts.queued + tally.counts.processing;
        row.oldest_queued_at = tally.oldest_unfinished_at;
        for (start, b) in &tally.buckets {
            let i = start.checked_sub(from).map(|d| d / width);
            let slot = i.and_then(|i| row.buckets.get_mut(usize::try_from(i).ok()?));
            if let Some(slot) = slot {
                (slot.accepted, slot.succeeded) = (b.accepted, b.succeeded);
                (slot.dead, slot.skipped) = (b.dead, b.skipped);
            }
        }
    }

    /// The window's end (exclusive), unix ms.
    fn until(&self) -> u64 {
        self.from + self.bucket_ms * self.buckets as u64
    }
}

impl Store {
    /// Calls `visit` with the events matching `filter`, newest first, reading at most
    /// [`STATS_PAGES`] pages. Returns `true` when it saw every matching event.
    pub async fn scan(
        &self,
        filter: &EventFilter,
        mut visit: impl FnMut(&EventRecord),
    ) -> Result<bool, StoreError> {
        let mut cursor: Option<Cursor> = None;
        for _ in 0..STATS_PAGES {
            let page = self.list(filter, PAGE, cursor.as_ref()).await?;
            page.items.iter().for_each(&mut visit);
            // An embedded backend reads a page without awaiting anything: give the runtime
            // thread back between pages, so a long scan never holds up requests and the worker.
            tokio::task::yield_now().await;
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(true),
            }
        }
        Ok(false)
    }

    /// Events per state matching `filter` (whose `state` is ignored); `true` when exact. Read
    /// from the backend's counters when it keeps them and the filter names at most a source and
    /// a route; otherwise counted by a walk of at most [`STATS_PAGES`] pages.
    pub async fn counts(&self, filter: &EventFilter) -> Result<(StateCounts, bool), StoreError> {
        let by_stream = filter.since.is_none() && filter.until.is_none();
        if by_stream && filter.event_type.is_none() {
            if let Some(tallies) = self.backend.tallies(None).await? {
                return Ok((sum_matching(&tallies, filter), true));
            }
        }
        let filter = EventFilter {
            state: None,
            ..filter.clone()
        };
        let mut counts = StateCounts::default();
        let complete = self.scan(&filter, |r| counts.add(r)).await?;
        Ok((counts, complete))
    }

    /// `summary` (made by [`Summary::new`]) filled with every stream's activity; `true` when
    /// exact. Read from the backend's counters when it keeps them and the buckets are theirs
    /// ([`BUCKET_MS`]); otherwise from a walk of at most [`STATS_PAGES`] pages.
    pub async fn summarize(&self, summary: &mut Summary) -> Result<bool, StoreError> {
        if summary.bucket_ms == BUCKET_MS {
            let window = Some((summary.from, summary.until()));
            if let Some(tallies) = self.backend.tallies(window).await? {
                for (stream, tally) in &tallies {
                    summary.add_tally(stream, tally);
                }
                return Ok(true);
            }
        }
        self.scan(&EventFilter::default(), |r| summary.add(r)).await
    }
}

/// The counts of the streams `filter`'s source and route select.
fn sum_matching(tallies: &Tallies, filter: &EventFilter) -> StateCounts {
    let mut sum = StateCounts::default();
    for (stream, tally) in tallies {
        let (source, route) = split_stream(stream);
        let wanted = filter.source.as_deref().is_none_or(|s| s == source)
            && filter.route.as_deref().is_none_or(|r| Some(r) == route);
        if wanted {
            let c = &tally.counts;
            sum.queued += c.queued;
            sum.processing += c.processing;
            sum.succeeded += c.succeeded;
            sum.dead += c.dead;
            sum.discarded += c.discarded;
            sum.skipped += c.skipped;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewEvent, Next};

    fn record(source: &str, received_at: u64, next: Option<Next>, done_at: u64) -> EventRecord {
        let mut r = EventRecord::queued(&NewEvent {
            source: source.into(),
            id: format!("{received_at}"),
            received_at,
            event_type: None,
            headers: vec![],
            body: bytes::Bytes::new(),
            ordering: None,
        });
        if let Some(next) = next {
            r.finish(done_at, next);
        }
        r
    }

    #[test]
    fn records_land_in_the_buckets_of_their_arrival_and_their_end() {
        // Buckets of 10 ms: [100, 110), [110, 120), [120, 130); now = 125.
        let mut s = Summary::new(125, 10, 3, ["a", "quiet"]);
        assert_eq!(s.from, 100);
        s.add(&record("a", 95, Some(Next::Succeeded), 112)); // arrived before the window
        s.add(&record("a", 101, Some(Next::Dead("x".into())), 121));
        s.add(&record("a", 122, None, 0));
        s.add(&record("b", 90, None, 0));
        let a = &s.sources["a"];
        let got: Vec<(u64, u64, u64)> = a
            .buckets
            .iter()
            .map(|b| (b.accepted, b.succeeded, b.dead))
            .collect();
        assert_eq!(got, [(1, 0, 0), (0, 1, 0), (1, 0, 1)]);
        assert_eq!(a.buckets[2].start, 120);
        assert_eq!((a.queue_depth, a.last_event_at), (1, Some(122)));
        assert_eq!(a.oldest_queued_at, Some(122));
        let b = &s.sources["b"];
        assert_eq!((b.queue_depth, b.oldest_queued_at), (1, Some(90)));
        assert!(s.sources["quiet"].buckets.iter().all(|b| b.accepted == 0));
        assert_eq!(s.sources["quiet"].last_event_at, None);
    }

    #[test]
    fn counts_keep_discarded_events_apart_from_the_dead() {
        let mut counts = StateCounts::default();
        let mut dead = record("a", 1, Some(Next::Dead("x".into())), 2);
        counts.add(&dead);
        dead.discard();
        counts.add(&dead);
        counts.add(&record("a", 3, None, 0));
        assert_eq!((counts.dead, counts.discarded, counts.queued), (1, 1, 1));
    }
}

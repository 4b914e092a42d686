//! The one writer: a thread that owns every write to the database and groups them.
//!
//! Accepts, the worker's claims and attempt results, requeues and housekeeping are sent here as
//! [`Write`]s. The thread takes every write waiting when it becomes free, applies them all in one
//! write transaction and commits it once — an `fdatasync` in `fsync` mode — and only then
//! answers each caller. So a 202 waits for the one sync that covers its event and for nothing
//! else, and the cost of a sync is shared by everything written meanwhile.
//!
//! A write that fails (disk full, I/O error) fails its group with `Unavailable` and poisons the
//! database handle; the thread then drops it — here, never on a runtime thread — and reopens the
//! file every [`REOPEN_PAUSE`] until it opens. A data file that vanished or was replaced while
//! serving is never reopened: everything is `Unavailable` until an operator restarts hookbox.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, Durability};
use tokio::sync::oneshot;

use super::open::{Opened, Slot};
use super::tables::Tables;
use crate::store::{Retention, StoreError};

/// Pause between reopen attempts after a failure.
const REOPEN_PAUSE: Duration = Duration::from_millis(250);
/// Most writes in one transaction: bounds how long every caller of a group waits for it.
const MAX_WRITES: usize = 1024;
/// Most payload bytes in one transaction (a single larger write still goes, alone).
const MAX_BYTES: usize = 8 << 20;

/// One change to make inside a group's transaction, and how to answer its caller.
pub trait Write: Send {
    /// Payload size, bounding a group.
    fn bytes(&self) -> usize;
    /// Makes the change; an error fails the whole group.
    fn apply(&mut self, tables: &mut Tables<'_>) -> Result<(), redb::Error>;
    /// Answers the caller once the group's commit is known.
    fn answer(self: Box<Self>, committed: Result<(), StoreError>);
}

/// A [`Write`] made of a closure and the channel its result goes back on.
pub struct ClosureWrite<T, F> {
    work: Option<F>,
    bytes: usize,
    out: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> ClosureWrite<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Tables<'_>) -> Result<Result<T, StoreError>, redb::Error> + Send + 'static,
{
    /// A write of about `bytes` doing `work`, and the receiver of its result.
    pub fn boxed(
        bytes: usize,
        work: F,
    ) -> (Box<dyn Write>, oneshot::Receiver<Result<T, StoreError>>) {
        let (reply, rx) = oneshot::channel();
        let job = ClosureWrite {
            work: Some(work),
            bytes,
            out: None,
            reply,
        };
        (Box::new(job), rx)
    }
}

impl<T, F> Write for ClosureWrite<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Tables<'_>) -> Result<Result<T, StoreError>, redb::Error> + Send + 'static,
{
    fn bytes(&self) -> usize {
        self.bytes
    }

    fn apply(&mut self, tables: &mut Tables<'_>) -> Result<(), redb::Error> {
        if let Some(work) = self.work.take() {
            self.out = Some(work(tables)?);
        }
        Ok(())
    }

    fn answer(self: Box<Self>, committed: Result<(), StoreError>) {
        let ClosureWrite { out, reply, .. } = *self;
        let result = committed
            .and_then(|()| out.unwrap_or_else(|| Err(super::unavailable("write was not applied"))));
        // The caller may have gone (its request was cancelled); the write stands anyway.
        let _ = reply.send(result);
    }
}

/// What the writer thread is sent.
pub enum Msg {
    /// A change to group with others.
    Write(Box<dyn Write>),
    /// Write what came before, record a clean close, release the database and stop.
    Close(oneshot::Sender<Result<(), StoreError>>),
}

/// State of the writer thread.
pub struct Writer {
    slot: Arc<Slot>,
    /// The database this thread writes to; `None` while failed.
    db: Option<Arc<Database>>,
    retention: Retention,
    /// `None` in `fsync` mode; the flush period in `interval` mode.
    interval: Option<Duration>,
    /// In `interval` mode: when the last durable commit ended and whether commits followed it.
    synced_at: Instant,
    unsynced: bool,
    /// Why the data file can no longer be used at all (vanished or replaced): never reopened.
    gone: Option<String>,
    next_reopen: Instant,
}

impl Writer {
    /// A writer for the database `opened` holds, published through `slot`.
    pub fn new(
        slot: Arc<Slot>,
        opened: Opened,
        retention: Retention,
        interval: Option<Duration>,
    ) -> Self {
        slot.publish(opened.db.clone());
        Writer {
            slot,
            db: Some(opened.db),
            retention,
            interval,
            synced_at: Instant::now(),
            unsynced: false,
            gone: None,
            next_reopen: Instant::now(),
        }
    }

    /// Runs until [`Msg::Close`] or until every sender is gone.
    pub fn run(mut self, rx: Receiver<Msg>) {
        let mut carried: Option<Msg> = None;
        loop {
            let first = match carried.take() {
                Some(msg) => msg,
                None => match self.receive(&rx) {
                    Some(msg) => msg,
                    None => {
                        if let Err(e) = self.close() {
                            tracing::error!(error = %e, "closing the store failed");
                        }
                        return;
                    }
                },
            };
            let mut group: Vec<Box<dyn Write>> = Vec::new();
            let mut bytes = 0;
            let mut closing = None;
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Close(done) => {
                        closing = Some(done);
                        break;
                    }
                    Msg::Write(w)
                        if group.is_empty()
                            || (group.len() < MAX_WRITES && bytes + w.bytes() <= MAX_BYTES) =>
                    {
                        bytes += w.bytes();
                        group.push(w);
                    }
                    full => {
                        carried = Some(full);
                        break;
                    }
                }
                next = rx.try_recv().ok();
            }
            self.write_group(group);
            if let Some(done) = closing {
                let _ = done.send(self.close());
                return;
            }
        }
    }

    /// The next message; in `interval` mode, makes earlier commits durable when the period
    /// passes with nothing to do. `None` once every sender is gone.
    fn receive(&mut self, rx: &Receiver<Msg>) -> Option<Msg> {
        let Some(interval) = self.interval.filter(|_| self.unsynced) else {
            return rx.recv().ok();
        };
        let wait = interval.saturating_sub(self.synced_at.elapsed());
        match rx.recv_timeout(wait) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => {
                self.write_group(Vec::new());
                self.receive(rx)
            }
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Applies `group` in one transaction, commits, and answers every write. An empty group
    /// still commits: in `interval` mode that makes earlier commits durable.
    fn write_group(&mut self, mut group: Vec<Box<dyn Write>>) {
        let committed = self.try_write(&mut group);
        for write in group {
            write.answer(committed.clone());
        }
    }

    fn try_write(&mut self, group: &mut [Box<dyn Write>]) -> Result<(), StoreError> {
        self.usable()?;
        let Some(db) = &self.db else {
            return Err(super::unavailable("storage is being reopened"));
        };
        let durable = self
            .interval
            .is_none_or(|period| self.synced_at.elapsed() >= period);
        match commit(db, durable, self.retention, group) {
            Ok(()) => {
                if durable {
                    self.synced_at = Instant::now();
                }
                self.unsynced = !durable;
                Ok(())
            }
            Err(why) => {
                tracing::error!(error = %why, "storage write failed; reopening the database");
                self.release(&why);
                Err(super::unavailable(&format!("storage write failed: {why}")))
            }
        }
    }

    /// Ok when there is a database to write to that is still the one in the data dir.
    fn usable(&mut self) -> Result<(), StoreError> {
        if let Some(why) = &self.gone {
            return Err(super::unavailable(why));
        }
        if self.db.is_none() && Instant::now() >= self.next_reopen {
            self.reopen();
        }
        if self.db.is_none() {
            return Err(super::unavailable("storage failed and is being reopened"));
        }
        if let Err(why) = self.slot.check_identity() {
            tracing::error!(error = %why, "the data file is gone; restart hookbox once the data dir is restored");
            self.release(&why);
            self.gone = Some(why.clone());
            return Err(super::unavailable(&why));
        }
        Ok(())
    }

    fn reopen(&mut self) {
        match self.slot.reopen() {
            Ok(opened) => {
                self.slot.publish(opened.db.clone());
                self.db = Some(opened.db);
                tracing::info!("storage reopened");
            }
            Err(e) => {
                tracing::warn!(error = %e, "storage could not be reopened yet");
                self.next_reopen = Instant::now() + REOPEN_PAUSE;
            }
        }
    }

    /// Stops using the database: readers see `why`, and the handle is dropped on this thread.
    fn release(&mut self, why: &str) {
        self.slot.unpublish(why);
        if let Some(db) = self.db.take() {
            drop(sole_handle(db));
        }
        self.next_reopen = Instant::now() + REOPEN_PAUSE;
    }

    /// Makes everything durable, records the clean close with the number of events stored, and
    /// closes the database.
    fn close(&mut self) -> Result<(), StoreError> {
        if self.unsynced {
            self.write_group(Vec::new());
        }
        let Some(db) = self.db.take() else {
            self.slot.unpublish("the store is closed");
            return Ok(());
        };
        self.slot.unpublish("the store is closed");
        let events = super::read::count_events(&db);
        let Some(db) = sole_handle(db) else {
            return Err(super::unavailable("a reader still holds the database"));
        };
        db.close().map_err(super::storage_error)?;
        self.slot.record_clean_close(events?)
    }
}

/// Applies `group` in one write transaction and commits it, durably (an `fdatasync`) or not.
/// A panic inside the engine is caught and reported like an I/O failure.
fn commit(
    db: &Database,
    durable: bool,
    retention: Retention,
    group: &mut [Box<dyn Write>],
) -> Result<(), String> {
    let attempt = catch_unwind(AssertUnwindSafe(|| -> Result<(), redb::Error> {
        let mut txn = db.begin_write()?;
        if !durable {
            txn.set_durability(Durability::None)?;
        }
        {
            let mut tables = Tables::open(&txn, retention)?;
            for write in group.iter_mut() {
                write.apply(&mut tables)?;
            }
            tables.write_counters()?;
        }
        txn.commit()?;
        Ok(())
    }));
    match attempt {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("the storage engine panicked".to_owned()),
    }
}

/// Waits (briefly) for readers to let go of `db`, so it is dropped by the caller's thread.
fn sole_handle(mut db: Arc<Database>) -> Option<Database> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Arc::try_unwrap(db) {
            Ok(db) => return Some(db),
            Err(shared) if Instant::now() < deadline => {
                db = shared;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => return None,
        }
    }
}

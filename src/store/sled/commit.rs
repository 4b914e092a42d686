//! Group commit: many writers, one fsync.
//!
//! A writer first applies its change to sled, then calls [`GroupCommit::wait`]. The commit task
//! collects every waiter that arrived while the previous flush ran and covers them all with one
//! flush. Because each writer's change is applied before it enqueues itself, and the flush starts
//! after it was dequeued, that flush covers the change.
//!
//! sled's own flush is not enough for a power loss: on Linux it writes its log with
//! `sync_file_range`, which neither persists file metadata (the log grows) nor flushes the
//! disk's cache, and it never syncs the separate files it keeps for large values (`blobs/`).
//! So every group flush ends with a `syncfs` of the data directory's filesystem, which covers
//! the log, the blob files and their directory entries in one call.

use std::fs::File;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

type Flushed = Result<(), Arc<::sled::Error>>;

enum Request {
    /// Answer once a flush that started after this request completes.
    Wait(oneshot::Sender<Flushed>),
    /// Flush, release the database handle, and stop.
    Close(oneshot::Sender<Flushed>),
}

/// Handle for awaiting durability of writes already applied to the database.
#[derive(Clone)]
pub struct GroupCommit {
    tx: mpsc::UnboundedSender<Request>,
}

fn stopped() -> Arc<sled::Error> {
    Arc::new(sled::Error::ReportableBug("commit task has stopped".into()))
}

impl GroupCommit {
    /// Starts the commit task for `db`, whose files live in `dir`, on the current runtime.
    pub fn start(db: sled::Db, dir: &std::path::Path) -> Result<Self, sled::Error> {
        let anchor = Arc::new(File::open(dir)?);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(db, anchor, rx));
        Ok(GroupCommit { tx })
    }

    /// Waits until a flush that started after this call has completed.
    pub async fn wait(&self) -> Flushed {
        self.call(Request::Wait).await
    }

    /// Flushes once more and stops the task, so the database can close when the last handle
    /// is dropped. Later `wait` calls fail.
    pub async fn close(&self) -> Flushed {
        self.call(Request::Close).await
    }

    async fn call(&self, request: fn(oneshot::Sender<Flushed>) -> Request) -> Flushed {
        let (tx, rx) = oneshot::channel();
        self.tx.send(request(tx)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

async fn run(db: sled::Db, anchor: Arc<File>, mut rx: mpsc::UnboundedReceiver<Request>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, usize::MAX).await > 0 {
        let result = flush(&db, &anchor).await;
        if batch.iter().any(|r| matches!(r, Request::Close(_))) {
            // Let go of the database before anyone hears the close is done, so a store opened
            // on the same dir right after finds its lock free.
            drop(db);
            answer(batch, &result);
            return;
        }
        answer(std::mem::take(&mut batch), &result);
    }
}

/// Tells every waiter in `batch` how the flush went.
fn answer(batch: Vec<Request>, result: &Flushed) {
    for request in batch {
        let (Request::Wait(waiter) | Request::Close(waiter)) = request;
        let _ = waiter.send(result.clone());
    }
}

async fn flush(db: &sled::Db, anchor: &Arc<File>) -> Flushed {
    let (db, anchor) = (db.clone(), anchor.clone());
    let flushed = move || -> Result<(), sled::Error> {
        db.flush()?;
        sync_filesystem(&anchor)?;
        Ok(())
    };
    let result = match tokio::task::spawn_blocking(flushed).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Arc::new(e)),
        Err(join) => Err(Arc::new(sled::Error::ReportableBug(format!(
            "flush task: {join}"
        )))),
    };
    if let Err(e) = &result {
        tracing::error!(error = %e, "flush failed");
    }
    result
}

/// Makes everything written to the filesystem holding `anchor` durable.
#[cfg(target_os = "linux")]
fn sync_filesystem(anchor: &File) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: syncfs only reads the descriptor, which `anchor` keeps open for the call.
    if unsafe { libc::syncfs(anchor.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere sled's flush already ends in a full fsync of its log; sync the directory too.
#[cfg(not(target_os = "linux"))]
fn sync_filesystem(anchor: &File) -> std::io::Result<()> {
    anchor.sync_all()
}

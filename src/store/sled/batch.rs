//! Group write: concurrent writes of one kind share one sled transaction.
//!
//! Every sled transaction seals and writes its own log buffer under a global lock, so one
//! transaction per event spends most of the CPU there. A batch task takes every job of its kind
//! that is waiting when it becomes free (up to [`MAX_JOBS`] jobs or [`MAX_BYTES`] of payload),
//! writes them with one call of its write function (one transaction, see [`Trees::accept_many`]
//! and [`Trees::update_many`]) and answers each caller. The caller then waits for a group flush
//! of the same backend (see `commit`), which covers the write because the write was applied
//! before the caller asked for the flush.
//!
//! A lone job is written at once: the task never waits for a batch to fill.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::trees::{PerItem, Trees};
use crate::store::StoreError;

/// Most jobs in one transaction: bounds the time every caller of a batch waits for it.
const MAX_JOBS: usize = 256;
/// Most payload bytes in one transaction (a single larger job still goes, alone).
const MAX_BYTES: usize = 4 << 20;

/// One kind of write that can share a transaction with others of its kind.
pub trait BatchedWrite: Sized + Send + 'static {
    /// What one job's caller gets back.
    type Output: Send + 'static;
    /// Payload size, bounding a batch.
    fn bytes(&self) -> usize;
    /// Writes `jobs` in one transaction; the outer error fails every job of the batch.
    fn write_all(trees: &Trees, jobs: Vec<Self>) -> PerItem<Self::Output>;
}

type Reply<J> = oneshot::Sender<Result<<J as BatchedWrite>::Output, StoreError>>;

enum Request<J: BatchedWrite> {
    Write(J, Reply<J>),
    /// Write what is queued before this request, then stop (releasing the trees).
    Close(oneshot::Sender<()>),
}

/// Handle to one database's batch task for jobs of type `J`. The task stops when every handle
/// is dropped.
pub struct Batcher<J: BatchedWrite> {
    tx: mpsc::UnboundedSender<Request<J>>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable(Arc::new(std::io::Error::other("write task has stopped")))
}

impl<J: BatchedWrite> Batcher<J> {
    /// Starts the batch task for `trees` on the current runtime.
    pub fn start(trees: Trees) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(trees, rx));
        Batcher { tx }
    }

    /// Writes `job` together with whatever else is waiting; not yet durable.
    pub async fn write(&self, job: J) -> Result<J::Output, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::Write(job, tx))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Writes every job queued so far and stops the task, so it no longer holds the database
    /// open. Later `write` calls fail.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Request::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Jobs gathered for one transaction.
struct Batch<J: BatchedWrite> {
    jobs: Vec<J>,
    replies: Vec<Reply<J>>,
    bytes: usize,
}

impl<J: BatchedWrite> Batch<J> {
    fn new() -> Self {
        Batch {
            jobs: Vec::new(),
            replies: Vec::new(),
            bytes: 0,
        }
    }

    fn has_room_for(&self, job: &J) -> bool {
        self.jobs.is_empty()
            || (self.jobs.len() < MAX_JOBS && self.bytes + job.bytes() <= MAX_BYTES)
    }

    fn push(&mut self, job: J, reply: Reply<J>) {
        self.bytes += job.bytes();
        self.jobs.push(job);
        self.replies.push(reply);
    }

    /// Writes the batch off the runtime threads (while a flush syncs, sled holds a lock every
    /// transaction waits for), and answers every caller.
    async fn write(self, trees: &Trees) {
        let Batch { jobs, replies, .. } = self;
        if replies.is_empty() {
            return;
        }
        let trees = trees.clone();
        let written = tokio::task::spawn_blocking(move || J::write_all(&trees, jobs)).await;
        let outcomes = match written {
            Ok(Ok(outcomes)) => outcomes,
            Ok(Err(e)) => replies.iter().map(|_| Err(e.clone())).collect(),
            Err(join) => {
                let e = StoreError::Unavailable(Arc::new(join));
                replies.iter().map(|_| Err(e.clone())).collect()
            }
        };
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // The caller may have gone (its request was cancelled); the write stands anyway.
            let _ = reply.send(outcome);
        }
    }
}

async fn run<J: BatchedWrite>(trees: Trees, mut rx: mpsc::UnboundedReceiver<Request<J>>) {
    let mut carried = None;
    loop {
        let next = match carried.take() {
            Some(request) => Some(request),
            None => rx.recv().await,
        };
        let Some(mut next) = next else {
            return;
        };
        let mut batch = Batch::new();
        loop {
            match next {
                Request::Close(done) => {
                    batch.write(&trees).await;
                    // Let go of the database before the closer goes on (see `close`).
                    drop(trees);
                    let _ = done.send(());
                    return;
                }
                Request::Write(job, reply) if batch.has_room_for(&job) => batch.push(job, reply),
                full => {
                    carried = Some(full);
                    break;
                }
            }
            match rx.try_recv() {
                Ok(request) => next = request,
                Err(_) => break,
            }
        }
        batch.write(&trees).await;
    }
}

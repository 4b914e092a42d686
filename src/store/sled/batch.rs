//! Group write: concurrent accepts share one sled transaction.
//!
//! Every sled transaction seals and writes its own log buffer under a global lock, so one
//! transaction per event spends most of ingest's CPU there. The batch task takes every accept
//! that is waiting when it becomes free (up to [`MAX_EVENTS`] or [`MAX_BYTES`] of bodies), writes
//! them in one transaction ([`Trees::accept_many`]) and answers each caller. The caller then
//! waits for a group flush of the same backend (see `commit`), which covers the write because
//! the write was applied before the caller asked for the flush.
//!
//! A lone accept is written at once: the task never waits for a batch to fill.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::trees::Trees;
use crate::store::{Accepted, NewEvent, StoreError};

/// Most events in one transaction: bounds the time every caller of a batch waits for it.
const MAX_EVENTS: usize = 256;
/// Most body bytes in one transaction (a single larger event still goes, alone).
const MAX_BYTES: usize = 4 << 20;

type Reply = oneshot::Sender<Result<Accepted, StoreError>>;

enum Request {
    Accept(NewEvent, Reply),
    /// Write what is queued before this request, then stop (releasing the trees).
    Close(oneshot::Sender<()>),
}

/// Handle to one database's batch task. The task stops when every handle is dropped.
pub struct AcceptBatcher {
    tx: mpsc::UnboundedSender<Request>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable(Arc::new(std::io::Error::other("accept task has stopped")))
}

impl AcceptBatcher {
    /// Starts the batch task for `trees` on the current runtime.
    pub fn start(trees: Trees) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(trees, rx));
        AcceptBatcher { tx }
    }

    /// Stores `ev` unless its id is known (see [`Trees::accept_many`]); not yet durable.
    pub async fn accept(&self, ev: NewEvent) -> Result<Accepted, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::Accept(ev, tx))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Writes every accept queued so far and stops the task, so it no longer holds the
    /// database open. Later `accept` calls fail.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Request::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Accepts gathered for one transaction.
#[derive(Default)]
struct Batch {
    events: Vec<NewEvent>,
    replies: Vec<Reply>,
    bytes: usize,
}

impl Batch {
    fn has_room_for(&self, ev: &NewEvent) -> bool {
        self.events.is_empty()
            || (self.events.len() < MAX_EVENTS && self.bytes + ev.body.len() <= MAX_BYTES)
    }

    fn push(&mut self, ev: NewEvent, reply: Reply) {
        self.bytes += ev.body.len();
        self.events.push(ev);
        self.replies.push(reply);
    }

    /// Writes the batch in one transaction, off the runtime threads (while a flush syncs,
    /// sled holds a lock every transaction waits for), and answers every caller.
    async fn write(self, trees: &Trees) {
        let Batch {
            events, replies, ..
        } = self;
        if replies.is_empty() {
            return;
        }
        let trees = trees.clone();
        let written = tokio::task::spawn_blocking(move || trees.accept_many(&events)).await;
        let outcomes = match written {
            Ok(Ok(outcomes)) => outcomes,
            Ok(Err(e)) => vec![Err(e); replies.len()],
            Err(join) => vec![Err(StoreError::Unavailable(Arc::new(join))); replies.len()],
        };
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // The caller may have gone (its request was cancelled); the write stands anyway.
            let _ = reply.send(outcome);
        }
    }
}

async fn run(trees: Trees, mut rx: mpsc::UnboundedReceiver<Request>) {
    let mut carried = None;
    loop {
        let next = match carried.take() {
            Some(request) => Some(request),
            None => rx.recv().await,
        };
        let Some(mut next) = next else {
            return;
        };
        let mut batch = Batch::default();
        loop {
            match next {
                Request::Close(done) => {
                    batch.write(&trees).await;
                    let _ = done.send(());
                    return;
                }
                Request::Accept(ev, reply) if batch.has_room_for(&ev) => batch.push(ev, reply),
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

//! Group commit: many writers, one fsync.
//!
//! A writer first applies its change to sled, then calls [`GroupCommit::wait`]. The commit task
//! collects every waiter that arrived while the previous flush ran and covers them all with one
//! flush. Because each writer's change is applied before it enqueues itself, and the flush starts
//! after it was dequeued, that flush covers the change.

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
    /// Starts the commit task for `db` on the current runtime.
    pub fn start(db: sled::Db) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(db, rx));
        GroupCommit { tx }
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

async fn run(db: sled::Db, mut rx: mpsc::UnboundedReceiver<Request>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, usize::MAX).await > 0 {
        let result = flush(&db).await;
        let mut closing = false;
        for request in batch.drain(..) {
            let waiter = match request {
                Request::Wait(waiter) => waiter,
                Request::Close(waiter) => {
                    closing = true;
                    waiter
                }
            };
            let _ = waiter.send(result.clone());
        }
        if closing {
            return;
        }
    }
}

async fn flush(db: &sled::Db) -> Flushed {
    let db = db.clone();
    let result = match tokio::task::spawn_blocking(move || db.flush()).await {
        Ok(Ok(_)) => Ok(()),
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

//! Group commit: many writers, one fsync.
//!
//! A writer first applies its change to sled, then calls [`GroupCommit::wait`]. The commit task
//! collects every waiter that arrived while the previous flush ran and covers them all with one
//! flush. Because each writer's change is applied before it enqueues itself, and the flush starts
//! after it was dequeued, that flush covers the change.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<(), Arc<sled::Error>>>;

/// Handle for awaiting durability of writes already applied to the database.
#[derive(Clone)]
pub struct GroupCommit {
    tx: mpsc::UnboundedSender<Waiter>,
}

impl GroupCommit {
    /// Starts the commit task for `db` on the current runtime. It ends when every handle is dropped.
    pub fn start(db: sled::Db) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(db, rx));
        GroupCommit { tx }
    }

    /// Waits until a flush that started after this call has completed.
    pub async fn wait(&self) -> Result<(), Arc<sled::Error>> {
        let (tx, rx) = oneshot::channel();
        let closed = || Arc::new(sled::Error::ReportableBug("commit task has stopped".into()));
        self.tx.send(tx).map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}

async fn run(db: sled::Db, mut rx: mpsc::UnboundedReceiver<Waiter>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, usize::MAX).await > 0 {
        let db = db.clone();
        let result = match tokio::task::spawn_blocking(move || db.flush()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Arc::new(e)),
            Err(join) => Err(Arc::new(sled::Error::ReportableBug(format!(
                "flush task: {join}"
            )))),
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, waiters = batch.len(), "flush failed");
        }
        for waiter in batch.drain(..) {
            let _ = waiter.send(result.clone());
        }
    }
}

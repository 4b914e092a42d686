//! Grouping concurrent calls into one database round trip: callers hand an item to a
//! [`Batcher`] and wait for their own answer; a dispatcher task takes everything waiting at that
//! moment as one group and runs it on one of a few lanes.
//!
//! A lane is taken before the group is gathered, so while every lane is busy (waiting for the
//! server's commit) new calls pile up and the next group is larger: the batch size follows the
//! load with no timer and no added wait when the database is idle. Each caller is answered
//! only when its group's statement returned, i.e. after the commit that made its change durable.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::PgError;

/// One call waiting in a group: its item and where its answer goes.
type Call<T, R> = (T, oneshot::Sender<Result<R, PgError>>);

/// Hands items to the dispatcher of one kind of batched statement. Cheap to clone; the
/// dispatcher stops when the last clone is dropped.
pub struct Batcher<T, R> {
    calls: mpsc::UnboundedSender<Call<T, R>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Batcher {
            calls: self.calls.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the dispatcher: groups of at most `max` items, at most `lanes` groups in flight,
    /// each run by `run`, which answers every item of its group, in order. Needs a tokio runtime.
    pub fn start<F, Fut>(lanes: usize, max: usize, run: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Result<R, PgError>>> + Send + 'static,
    {
        let (calls, mut waiting) = mpsc::unbounded_channel::<Call<T, R>>();
        let lanes = Arc::new(Semaphore::new(lanes.max(1)));
        let run = Arc::new(run);
        tokio::spawn(async move {
            loop {
                let Ok(lane) = lanes.clone().acquire_owned().await else {
                    return;
                };
                let Some(first) = waiting.recv().await else {
                    return; // every handle dropped
                };
                let mut group = vec![first];
                while group.len() < max {
                    match waiting.try_recv() {
                        Ok(call) => group.push(call),
                        Err(_) => break,
                    }
                }
                let run = run.clone();
                tokio::spawn(async move {
                    let (items, replies): (Vec<T>, Vec<_>) = group.into_iter().unzip();
                    let count = items.len();
                    let mut answers = run(items).await.into_iter();
                    for reply in replies {
                        let answer = answers.next().unwrap_or_else(|| {
                            Err(PgError::Corrupt(format!(
                                "a group of {count} lost an answer"
                            )))
                        });
                        // A caller that gave up (its request was cancelled) is no one's loss.
                        let _ = reply.send(answer);
                    }
                    drop(lane);
                });
            }
        });
        Batcher { calls }
    }

    /// Runs `item` in the next group and returns its own answer.
    pub async fn call(&self, item: T) -> Result<R, PgError> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send((item, reply))
            .map_err(|_| PgError::Closed)?;
        answer.await.map_err(|_| PgError::Closed)?
    }
}

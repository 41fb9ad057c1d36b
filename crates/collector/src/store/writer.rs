//! The single writer: one connection that takes queued writes and commits them in batches
//! (group commit), answering each caller only after its batch's transaction has committed.
//!
//! Each write runs inside a savepoint of its own, so one that fails (an unknown ticket, a
//! constraint) rolls back alone while the rest of the batch commits. Snapshots, the bulk of
//! all writes, queued one after another are stored together with one statement per table
//! ([`store_snapshots`]); should that fail, they are retried one by one, each in its savepoint.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::{Any, AnyConnection, Connection, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::snapshots::{store_snapshot, store_snapshots};
use super::{Database, IngestOutcome, NewSnapshot, StoreError};

/// The future a write returns; it borrows the writer's connection for its duration.
pub(super) type WriteFuture<'c, T> =
    Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// Writes queued beyond this make callers wait (backpressure instead of unbounded memory).
const QUEUE_DEPTH: usize = 4096;

/// Most writes committed in one transaction: big enough to amortize the fsync, small enough
/// that the first caller in a batch does not wait long for the last.
const MAX_BATCH: usize = 128;

#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Queued>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

enum Queued {
    Write(Box<dyn Job>),
    Snapshot(QueuedSnapshot),
}

impl Queued {
    fn into_job(self) -> Box<dyn Job> {
        match self {
            Queued::Write(job) => job,
            Queued::Snapshot(snapshot) => Box::new(snapshot),
        }
    }
}

impl Writer {
    /// Spawns the writer task on the current tokio runtime; it ends when the last handle drops.
    /// `connection` is to `database`, which the writer connects to again if it loses it.
    pub(super) fn start(connection: AnyConnection, database: Arc<Database>) -> Writer {
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(connection, database, receiver));
        Writer { queue }
    }

    pub(super) fn is_stopped(&self) -> bool {
        self.queue.is_closed()
    }

    /// Runs `write` in the next batch, inside a savepoint of its own; resolves once that batch
    /// has committed (or failed).
    pub(super) async fn write<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> WriteFuture<'c, T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(Queued::Write(Box::new(TypedJob { write, reply })))
            .await?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Stores a snapshot in the next batch, together with the other snapshots queued with it.
    pub(super) async fn ingest(&self, snapshot: NewSnapshot) -> Result<IngestOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Queued::Snapshot(QueuedSnapshot { snapshot, reply }))
            .await?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    async fn submit(&self, queued: Queued) -> Result<(), StoreError> {
        self.queue
            .send(queued)
            .await
            .map_err(|_| StoreError::WriterStopped)
    }
}

/// A queued write with its result type erased.
trait Job: Send {
    fn run<'c>(
        self: Box<Self>,
        connection: &'c mut AnyConnection,
    ) -> Pin<Box<dyn Future<Output = Box<dyn Pending>> + Send + 'c>>;
    /// Answers without running (the batch could not start).
    fn fail(self: Box<Self>, error: StoreError);
}

/// A write that has run and waits for its batch's outcome.
trait Pending: Send {
    fn succeeded(&self) -> bool;
    /// `Ok` once the batch committed; the write's own error wins over the batch's.
    fn finish(self: Box<Self>, batch: Result<(), StoreError>);
}

struct TypedJob<T, F> {
    write: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> WriteFuture<'c, T> + Send + 'static,
{
    fn run<'c>(
        self: Box<Self>,
        connection: &'c mut AnyConnection,
    ) -> Pin<Box<dyn Future<Output = Box<dyn Pending>> + Send + 'c>> {
        let TypedJob { write, reply } = *self;
        Box::pin(async move {
            let result = write(connection).await;
            Box::new(Ran { result, reply }) as Box<dyn Pending>
        })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        // The caller may have gone away (request cancelled); nobody is left to tell.
        let _ = self.reply.send(Err(error));
    }
}

struct QueuedSnapshot {
    snapshot: NewSnapshot,
    reply: oneshot::Sender<Result<IngestOutcome, StoreError>>,
}

/// A snapshot on its own: the fallback when its group failed.
impl Job for QueuedSnapshot {
    fn run<'c>(
        self: Box<Self>,
        connection: &'c mut AnyConnection,
    ) -> Pin<Box<dyn Future<Output = Box<dyn Pending>> + Send + 'c>> {
        let QueuedSnapshot { snapshot, reply } = *self;
        Box::pin(async move {
            let result = store_snapshot(connection, &snapshot).await;
            Box::new(Ran { result, reply }) as Box<dyn Pending>
        })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

struct Ran<T> {
    result: Result<T, StoreError>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send> Pending for Ran<T> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn finish(self: Box<Self>, batch: Result<(), StoreError>) {
        let result = match (self.result, batch) {
            (Ok(value), Ok(())) => Ok(value),
            (Err(error), _) | (Ok(_), Err(error)) => Err(error),
        };
        let _ = self.reply.send(result);
    }
}

async fn run(
    connection: AnyConnection,
    database: Arc<Database>,
    mut queue: mpsc::Receiver<Queued>,
) {
    let begin = database.backend().begin();
    let mut connection = Some(connection);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut batch);
        // A connection lost with an earlier batch (the server restarted or failed over) is
        // opened again for this one; while that fails, each batch fails at once with why.
        let current = match connection.as_mut() {
            Some(current) => current,
            None => match database.connect().await {
                Ok(fresh) => {
                    tracing::info!("the database writer is connected again");
                    connection.insert(fresh)
                }
                Err(error) => {
                    fail_unstarted(batch, error);
                    continue;
                }
            },
        };
        // A batch that did not commit leaves the connection in a state sqlx may not know: when
        // SQLite fails a COMMIT for want of disk space it has rolled the transaction back
        // itself, sqlx's queued ROLLBACK then fails, and sqlx refuses every later BEGIN on that
        // connection. The next batch gets a fresh one; failed batches are rare enough for that.
        if !commit(current, begin, batch).await {
            tracing::warn!("a batch of writes failed; the writer opens a new connection");
            if let Some(failed) = connection.take()
                && let Err(error) = failed.close().await
            {
                tracing::debug!(%error, "closing the connection of the failed batch");
            }
        }
    }
    if let Some(connection) = connection
        && let Err(error) = connection.close().await
    {
        tracing::warn!(%error, "closing the database writer connection");
    }
}

/// Answers every write of a batch that could not start.
fn fail_unstarted(batch: Vec<Queued>, error: StoreError) {
    tracing::error!(%error, "a batch of writes could not start");
    let error = Arc::new(error);
    for queued in batch {
        queued
            .into_job()
            .fail(StoreError::Unavailable(error.clone()));
    }
}

/// A failure that leaves the batch's transaction unusable, with the writes not answered yet.
struct Abort {
    error: sqlx::Error,
    unanswered: Vec<Box<dyn Job>>,
}

/// Runs the queued writes in one transaction and answers each of them; whether it committed.
async fn commit(connection: &mut AnyConnection, begin: &'static str, batch: Vec<Queued>) -> bool {
    let mut transaction = match connection.begin_with(begin).await {
        Ok(transaction) => transaction,
        Err(error) => {
            let unanswered = batch.into_iter().map(Queued::into_job).collect();
            fail_all(Abort { error, unanswered }, Vec::new());
            return false;
        }
    };
    let mut ran: Vec<Box<dyn Pending>> = Vec::with_capacity(batch.len());
    let mut snapshots = Vec::new();
    let mut batch = batch.into_iter();
    while let Some(queued) = batch.next() {
        let result = match queued {
            Queued::Snapshot(snapshot) => {
                snapshots.push(snapshot);
                continue;
            }
            Queued::Write(job) => {
                match store_group(&mut transaction, std::mem::take(&mut snapshots), &mut ran).await
                {
                    Ok(()) => run_job(&mut transaction, job, &mut ran).await,
                    Err(mut abort) => {
                        abort.unanswered.push(job);
                        Err(abort)
                    }
                }
            }
        };
        if let Err(mut abort) = result {
            abort.unanswered.extend(batch.map(Queued::into_job));
            fail_all(abort, ran);
            return false;
        }
    }
    if let Err(abort) = store_group(&mut transaction, snapshots, &mut ran).await {
        fail_all(abort, ran);
        return false;
    }
    let outcome = transaction.commit().await.map_err(|error| {
        tracing::error!(%error, "committing a batch of writes");
        Arc::new(error)
    });
    let committed = outcome.is_ok();
    for pending in ran {
        pending.finish(outcome.clone().map_err(StoreError::Commit));
    }
    committed
}

/// Runs one write in a savepoint of its own. Savepoints nest and are never released: COMMIT
/// keeps them all, a failed write rolls back to its own, and each write costs one round trip
/// less than SAVEPOINT plus RELEASE (`temp_store = MEMORY` keeps their undo pages in memory).
async fn run_job(
    transaction: &mut Transaction<'_, Any>,
    job: Box<dyn Job>,
    ran: &mut Vec<Box<dyn Pending>>,
) -> Result<(), Abort> {
    if let Err(error) = sqlx::query("SAVEPOINT write")
        .execute(&mut **transaction)
        .await
    {
        return Err(Abort {
            error,
            unanswered: vec![job],
        });
    }
    let pending = job.run(transaction).await;
    let failed = !pending.succeeded();
    ran.push(pending);
    if failed
        && let Err(error) = sqlx::query("ROLLBACK TO write")
            .execute(&mut **transaction)
            .await
    {
        return Err(Abort {
            error,
            unanswered: Vec::new(),
        });
    }
    Ok(())
}

/// Stores queued snapshots together in one savepoint; if that fails, one by one.
async fn store_group(
    transaction: &mut Transaction<'_, Any>,
    group: Vec<QueuedSnapshot>,
    ran: &mut Vec<Box<dyn Pending>>,
) -> Result<(), Abort> {
    if group.is_empty() {
        return Ok(());
    }
    let (snapshots, replies): (Vec<_>, Vec<_>) = group
        .into_iter()
        .map(|queued| (queued.snapshot, queued.reply))
        .unzip();
    let one_by_one = |snapshots: Vec<NewSnapshot>, replies: Vec<_>| {
        snapshots
            .into_iter()
            .zip(replies)
            .map(|(snapshot, reply)| Box::new(QueuedSnapshot { snapshot, reply }) as Box<dyn Job>)
            .collect::<Vec<_>>()
    };
    if let Err(error) = sqlx::query("SAVEPOINT write")
        .execute(&mut **transaction)
        .await
    {
        return Err(Abort {
            error,
            unanswered: one_by_one(snapshots, replies),
        });
    }
    let error = match store_snapshots(transaction, &snapshots).await {
        Ok(outcomes) => {
            for (result, reply) in outcomes.into_iter().zip(replies) {
                ran.push(Box::new(Ran { result, reply }));
            }
            return Ok(());
        }
        Err(error) => error,
    };
    tracing::warn!(%error, count = snapshots.len(), "storing snapshots together failed; storing them one by one");
    let jobs = one_by_one(snapshots, replies);
    if let Err(error) = sqlx::query("ROLLBACK TO write")
        .execute(&mut **transaction)
        .await
    {
        return Err(Abort {
            error,
            unanswered: jobs,
        });
    }
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        if let Err(mut abort) = run_job(transaction, job, ran).await {
            abort.unanswered.extend(jobs);
            return Err(abort);
        }
    }
    Ok(())
}

/// Answers every write of a batch that could not commit; the transaction rolls back on drop.
fn fail_all(abort: Abort, ran: Vec<Box<dyn Pending>>) {
    tracing::error!(error = %abort.error, "a batch of writes failed");
    let error = Arc::new(abort.error);
    for job in abort.unanswered {
        job.fail(StoreError::Commit(error.clone()));
    }
    for pending in ran {
        pending.finish(Err(StoreError::Commit(error.clone())));
    }
}

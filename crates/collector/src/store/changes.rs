//! Changes one collector replica tells the others at once, through PostgreSQL's LISTEN/NOTIFY:
//! a snapshot request created (its device's agent may be long-polling another replica), a
//! request done (a specialist may be waiting on another replica), an agent revoked (every
//! replica forgets its key now instead of when its key cache expires).
//!
//! A write announces its change inside its own transaction (`pg_notify`), so the others hear of
//! it when it commits and never of a write that rolled back. While a replica's listening
//! connection is down it hears nothing; once listening again it sends [`Change::Resync`], and
//! every waiter looks at the store again, so a missed notification costs a look, not a request.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgListener, PgNotification};
use sqlx::{AnyConnection, Database, Postgres};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::key_cache::KeyCache;

/// The one channel every replica listens on; the payload says what changed.
const CHANNEL: &str = "sitrep_changes";

/// Changes buffered for a slow follower; one that falls further behind is told to resync.
const BUFFERED: usize = 1024;

/// Waits between attempts to listen again after the connection broke, doubling up to the last.
const RECONNECT_BACKOFF: [Duration; 5] = [
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    RequestCreated {
        device_id: Uuid,
    },
    RequestDone {
        request_id: Uuid,
    },
    AgentRevoked {
        agent_id: Uuid,
    },
    /// Notifications may have been missed: whoever waits on the store must look again.
    Resync,
}

impl Change {
    fn payload(self) -> Option<String> {
        let (kind, id) = match self {
            Change::RequestCreated { device_id } => ("request_created", device_id),
            Change::RequestDone { request_id } => ("request_done", request_id),
            Change::AgentRevoked { agent_id } => ("agent_revoked", agent_id),
            Change::Resync => return None,
        };
        Some(format!("{kind}:{id}"))
    }

    fn parse(payload: &str) -> Option<Change> {
        let (kind, id) = payload.split_once(':')?;
        let id = Uuid::parse_str(id).ok()?;
        match kind {
            "request_created" => Some(Change::RequestCreated { device_id: id }),
            "request_done" => Some(Change::RequestDone { request_id: id }),
            "agent_revoked" => Some(Change::AgentRevoked { agent_id: id }),
            _ => None,
        }
    }
}

/// Tells the other replicas of `change` when the transaction `connection` is in commits. On
/// SQLite there are no other replicas, and nothing is sent.
pub(super) async fn announce(
    connection: &mut AnyConnection,
    change: Change,
) -> Result<(), sqlx::Error> {
    let Some(payload) = change.payload() else {
        return Ok(());
    };
    if !is_postgres(connection) {
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(connection)
        .await?;
    Ok(())
}

/// Whether `connection` is to PostgreSQL, for the few statements only PostgreSQL has.
pub(super) fn is_postgres(connection: &AnyConnection) -> bool {
    connection.backend_name() == <Postgres as Database>::NAME
}

/// The task listening for the other replicas' changes; stopped when the store is dropped.
#[derive(Debug)]
pub(super) struct Listener {
    changes: broadcast::Sender<Change>,
    task: JoinHandle<()>,
}

impl Listener {
    pub(super) fn start(options: AnyConnectOptions, agent_keys: Arc<KeyCache>) -> Listener {
        let (changes, _) = broadcast::channel(BUFFERED);
        let task = tokio::spawn(listen(options, agent_keys, changes.clone()));
        Listener { changes, task }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where a replica hears of changes; see [`super::Store::changes`].
#[derive(Debug)]
pub struct Receiver(Option<broadcast::Receiver<Change>>);

impl Receiver {
    pub(super) fn new(listener: Option<&Listener>) -> Receiver {
        Receiver(listener.map(|listener| listener.changes.subscribe()))
    }

    /// The next change; `None` once none can come (SQLite, or the store is gone).
    pub async fn recv(&mut self) -> Option<Change> {
        let receiver = self.0.as_mut()?;
        match receiver.recv().await {
            Ok(change) => Some(change),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Change::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

async fn listen(
    options: AnyConnectOptions,
    agent_keys: Arc<KeyCache>,
    changes: broadcast::Sender<Change>,
) {
    let mut failures = 0usize;
    loop {
        match listen_once(&options, &agent_keys, &changes).await {
            // It listened: a later break starts the backoff over.
            Ok(()) => failures = 0,
            Err(error) => {
                tracing::warn!(%error, "listening for other replicas' changes; trying again");
                failures += 1;
            }
        }
        let wait = RECONNECT_BACKOFF[failures.min(RECONNECT_BACKOFF.len() - 1)];
        tokio::time::sleep(wait).await;
    }
}

/// Listens until the connection breaks: `Ok` if it was listening, `Err` if it never got there.
async fn listen_once(
    options: &AnyConnectOptions,
    agent_keys: &KeyCache,
    changes: &broadcast::Sender<Change>,
) -> Result<(), sqlx::Error> {
    let options = PgConnectOptions::try_from(options)?;
    let pool = sqlx::pool::PoolOptions::<Postgres>::new()
        .max_connections(1)
        .connect_lazy_with(options);
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    // Whatever was announced before this point went unheard.
    let _ = changes.send(Change::Resync);
    loop {
        // `None`: the connection broke; start over on a fresh one (and resync).
        let notification = match listener.try_recv().await {
            Ok(Some(notification)) => notification,
            Ok(None) => return Ok(()),
            Err(error) => {
                tracing::warn!(%error, "the connection listening for other replicas' changes broke");
                return Ok(());
            }
        };
        if let Some(change) = heard(&notification, agent_keys) {
            // No follower (no app state yet) is fine: nobody waits.
            let _ = changes.send(change);
        }
    }
}

fn heard(notification: &PgNotification, agent_keys: &KeyCache) -> Option<Change> {
    let Some(change) = Change::parse(notification.payload()) else {
        tracing::warn!(
            payload = notification.payload(),
            "ignoring an unknown change notification"
        );
        return None;
    };
    if let Change::AgentRevoked { agent_id } = change {
        agent_keys.forget(agent_id);
    }
    Some(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_strangers_are_ignored() {
        let id = Uuid::now_v7();
        for change in [
            Change::RequestCreated { device_id: id },
            Change::RequestDone { request_id: id },
            Change::AgentRevoked { agent_id: id },
        ] {
            let payload = change.payload().expect("a payload");
            assert_eq!(Change::parse(&payload), Some(change), "{payload}");
        }
        assert_eq!(Change::Resync.payload(), None);
        for stranger in ["", "request_created", "request_created:nope", "other:{id}"] {
            assert_eq!(Change::parse(stranger), None, "{stranger}");
        }
    }
}

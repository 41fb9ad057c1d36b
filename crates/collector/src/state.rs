//! What every handler shares: the store, the metrics, the long-poll waiters and the request
//! limits.

use std::sync::Arc;
use std::time::Duration;

use sitrep_tickets::Connectors;
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::store::Store;
use crate::waiters::{self, Waiters};

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub waiters: Arc<Waiters>,
    /// The configured helpdesks, by name.
    pub connectors: Arc<Connectors>,
    /// Wakes the delivery worker when a delivery is queued here.
    pub deliveries: Arc<Notify>,
    pub limits: Limits,
    /// The collector serves HTTPS, so the web UI marks its cookies `Secure`.
    pub tls: bool,
}

impl AppState {
    /// The state for one collector. Inside a tokio runtime it also starts following the other
    /// replicas' changes (PostgreSQL), which wake this replica's long-polls.
    pub fn new(store: Store, limits: Limits) -> Self {
        let waiters = Arc::new(Waiters::default());
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(waiters::follow(store.changes(), Arc::downgrade(&waiters)));
        }
        AppState {
            store,
            metrics: Arc::new(Metrics::default()),
            waiters,
            connectors: Arc::default(),
            deliveries: Arc::default(),
            limits,
            tls: false,
        }
    }

    /// The same state with these helpdesks.
    pub fn with_connectors(self, connectors: Arc<Connectors>) -> Self {
        AppState { connectors, ..self }
    }

    /// The same state, marked as served over HTTPS (or not).
    pub fn serving_tls(self, tls: bool) -> Self {
        AppState { tls, ..self }
    }
}

/// Request body limits: its size, checked on the bytes received and again on the decompressed
/// bytes, and the time it may take to arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body as sent (compressed or not).
    pub max_body_bytes: u64,
    /// Largest body after decompression: a decompression bomb stops here.
    pub max_decompressed_bytes: u64,
    /// How long a body may take from the first read to its last byte: a client dribbling its
    /// body (or stopping halfway) is answered 408 rather than holding its request forever.
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 << 20,
            max_decompressed_bytes: 16 << 20,
            // A full 4 MiB body at 1 Mbit/s takes about 34 s; a minute leaves room for slow
            // links while a stalled upload still lets go of its request within a minute.
            body_read_timeout: Duration::from_secs(60),
        }
    }
}

//! What every handler shares: the store, the metrics, the long-poll waiters and the request
//! limits.

use std::sync::Arc;

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

/// Request size limits, checked on the bytes received and again on the decompressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body as sent (compressed or not).
    pub max_body_bytes: u64,
    /// Largest body after decompression: a decompression bomb stops here.
    pub max_decompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 4 << 20,
            max_decompressed_bytes: 16 << 20,
        }
    }
}

//! The way out for snapshots: each goes into the spool first and leaves it, oldest first, only
//! on the collector's 2xx. Shared by `sitrep send`, `sitrep spool flush` and the daemon; it also
//! enrolls again with the configured token when the collector stops accepting the agent's key.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sitrep_snapshot::Snapshot;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::collector::{
    CollectorClient, CollectorError, Retry, Stored, UploadParams, collector_url, compress,
};
use crate::config::Config;
use crate::enroll::enroll_with_token;
use crate::identity::Identity;
use crate::pseudonym::Pseudonyms;
use crate::redact::Redactor;
use crate::spool::{EntryMeta, LoadedEntry, Spool, SpoolEntry, SpoolError};
use crate::state::StateDir;

/// A snapshot as it leaves the machine: stamped with the agent's id and pseudonymized, with the
/// redactor kept for the free text that travels with it (the note, the user's description).
pub struct Outgoing<'p> {
    pub snapshot: Snapshot,
    redactor: Option<Redactor<'p>>,
}

impl<'p> Outgoing<'p> {
    pub fn new(
        mut snapshot: Snapshot,
        identity: Option<&Identity>,
        pseudonyms: Option<&'p Pseudonyms>,
    ) -> Self {
        snapshot.agent.agent_id = identity.map(|identity| identity.agent_id);
        let redactor = pseudonyms.map(|pseudonyms| Redactor::new(pseudonyms, &snapshot));
        let snapshot = match &redactor {
            Some(redactor) => redactor.snapshot(snapshot),
            None => snapshot,
        };
        Outgoing { snapshot, redactor }
    }

    pub fn text(&self, text: &str) -> String {
        self.redactor
            .as_ref()
            .map_or_else(|| text.to_string(), |redactor| redactor.text(text))
    }

    /// The upload body: the snapshot as pretty JSON, so that `--preview` is readable and still
    /// byte for byte what is sent.
    pub fn body(&self) -> anyhow::Result<Vec<u8>> {
        pretty_json(&self.snapshot).context("cannot encode the snapshot")
    }
}

fn pretty_json(value: &impl serde::Serialize) -> serde_json::Result<Vec<u8>> {
    let mut body = serde_json::to_vec_pretty(value)?;
    body.push(b'\n');
    Ok(body)
}

/// What travels with a snapshot besides itself.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub ticket: Option<String>,
    /// Already redacted ([`Outgoing::text`]).
    pub note: Option<String>,
    pub request: Option<Uuid>,
}

/// What became of one new snapshot handed to [`Outbox::submit`].
#[derive(Debug)]
pub enum Delivery {
    /// The collector has it.
    Stored(Stored),
    /// It waits in the spool; `reason` says why it was not sent now (none: another process
    /// took it out meanwhile).
    Spooled { reason: Option<CollectorError> },
    /// The collector refused it for good; it was moved aside.
    Refused {
        error: CollectorError,
        aside: PathBuf,
    },
    /// The spool could not take it and the collector could not be reached: it is lost.
    Lost {
        spool_error: SpoolError,
        error: CollectorError,
    },
}

/// What one pass over the spool did.
#[derive(Debug, Default)]
pub struct FlushReport {
    pub sent: Vec<(SpoolEntry, Stored)>,
    /// Refused for good by the collector, moved aside.
    pub refused: Vec<(SpoolEntry, CollectorError, PathBuf)>,
    /// Why the pass stopped with entries left, if it did.
    pub stopped: Option<Stopped>,
}

#[derive(Debug)]
pub struct Stopped {
    pub error: CollectorError,
    pub retry: Retry,
    /// Why enrolling again did not help, when the key was refused.
    pub reenroll_error: Option<String>,
}

/// The agent's enrollment and the client that uses it; replaced when the agent enrolls again.
#[derive(Debug)]
struct Session {
    identity: Identity,
    client: CollectorClient,
}

impl Session {
    fn new(identity: Identity) -> Result<Session, CollectorError> {
        let client = CollectorClient::new(collector_url(&identity.collector)?, &identity.trust())?
            .with_key(identity.agent_key.clone());
        Ok(Session { identity, client })
    }
}

#[derive(Debug)]
pub struct Outbox {
    spool: Spool,
    state: StateDir,
    /// Re-read for the enrollment token when the key is refused, so a token configured while
    /// the daemon runs is used without a restart.
    config_path: Option<PathBuf>,
    session: Mutex<Session>,
    /// The token the collector last refused, so it is not tried again until it changes.
    refused_token: Mutex<Option<String>>,
}

impl Outbox {
    pub fn new(
        state: &StateDir,
        spool: Spool,
        config_path: Option<&Path>,
        identity: Identity,
    ) -> Result<Outbox, CollectorError> {
        Ok(Outbox {
            spool,
            state: state.clone(),
            config_path: config_path.map(Path::to_path_buf),
            session: Mutex::new(Session::new(identity)?),
            refused_token: Mutex::new(None),
        })
    }

    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    pub async fn identity(&self) -> Identity {
        self.session.lock().await.identity.clone()
    }

    /// A client with the current key, for calls that are not uploads (the long-poll).
    pub async fn client(&self) -> CollectorClient {
        self.session.lock().await.client.clone()
    }

    /// Spools the snapshot and then sends the spool, oldest first. When the spool cannot take
    /// it, it is sent directly, and lost only if that fails too.
    pub async fn submit(
        &self,
        outgoing: &Outgoing<'_>,
        extras: Extras,
    ) -> anyhow::Result<(Delivery, FlushReport)> {
        let snapshot = &outgoing.snapshot;
        let compressed = compress(&outgoing.body()?)?;
        let meta = EntryMeta {
            snapshot_id: snapshot.id,
            agent_id: snapshot.agent.agent_id,
            taken_at: snapshot.taken_at,
            trigger: snapshot.trigger,
            request_id: extras.request,
            ticket: extras.ticket,
            note: extras.note,
        };
        match self.spool.push(meta.clone(), &compressed) {
            Ok(pushed) => {
                if pushed.dropped > 0 {
                    tracing::warn!(
                        dropped = pushed.dropped,
                        "the spool was full: its oldest snapshots were dropped"
                    );
                }
                let report = self.flush().await?;
                let delivery = if let Some((_, stored)) = report
                    .sent
                    .iter()
                    .find(|(entry, _)| entry.name == pushed.name)
                {
                    Delivery::Stored(stored.clone())
                } else if let Some(index) = report
                    .refused
                    .iter()
                    .position(|(entry, _, _)| entry.name == pushed.name)
                {
                    let (_, error, aside) = &report.refused[index];
                    Delivery::Refused {
                        error: error.clone(),
                        aside: aside.clone(),
                    }
                } else {
                    Delivery::Spooled {
                        reason: report.stopped.as_ref().map(|stopped| stopped.error.clone()),
                    }
                };
                Ok((delivery, report))
            }
            Err(spool_error) => {
                tracing::error!(error = %spool_error, snapshot = %meta.snapshot_id, "cannot spool the snapshot; sending it directly");
                let session = self.session.lock().await;
                let delivery = match upload(&session, &meta, compressed, 0).await {
                    Ok(stored) => Delivery::Stored(stored),
                    Err(error) => Delivery::Lost { spool_error, error },
                };
                Ok((delivery, FlushReport::default()))
            }
        }
    }

    /// Sends the spool, oldest first, until it is empty or an upload fails in a way that a
    /// later try may fix. Entries the collector refuses for good are moved aside.
    pub async fn flush(&self) -> Result<FlushReport, SpoolError> {
        let mut session = self.session.lock().await;
        let removed = self.spool.remove_leftovers()?;
        if removed > 0 {
            tracing::info!(
                removed,
                "removed temp files an interrupted write left in the spool"
            );
        }
        let mut report = FlushReport::default();
        let mut reenrolled = false;
        while let Some(LoadedEntry { entry, body }) = self.spool.oldest()? {
            let dropped = self.spool.counters()?.dropped_unreported;
            let error = match upload(&session, &entry.meta, body, dropped).await {
                Ok(stored) => {
                    self.spool.acknowledge(&entry, dropped)?;
                    tracing::info!(snapshot = %entry.meta.snapshot_id, duplicate = stored.duplicate, "snapshot delivered");
                    report.sent.push((entry, stored));
                    continue;
                }
                Err(error) => error,
            };
            match error.retry() {
                Retry::Never => {
                    let aside = self
                        .spool
                        .set_aside(&entry.name, &format!("refused by the collector: {error}"))?;
                    tracing::error!(snapshot = %entry.meta.snapshot_id, %error, aside = %aside.display(), "the collector refused a snapshot for good; moved aside");
                    report.refused.push((entry, error, aside));
                }
                Retry::Reenroll if !reenrolled => {
                    reenrolled = true;
                    match self.enroll_again(&mut session).await {
                        Ok(()) => {}
                        Err(reason) => {
                            report.stopped = Some(Stopped {
                                error,
                                retry: Retry::Reenroll,
                                reenroll_error: Some(reason),
                            });
                            break;
                        }
                    }
                }
                retry => {
                    report.stopped = Some(Stopped {
                        error,
                        retry,
                        reenroll_error: None,
                    });
                    break;
                }
            }
        }
        Ok(report)
    }

    /// Takes a fresh identity: one saved meanwhile by `sitrep enroll`, else one made with the
    /// configured enrollment token. The error says, for a person, why neither worked.
    async fn enroll_again(&self, session: &mut Session) -> Result<(), String> {
        if let Ok(saved) = Identity::load(&self.state)
            && saved.agent_key != session.identity.agent_key
        {
            tracing::info!(agent_id = %saved.agent_id, "using the identity saved by `sitrep enroll`");
            *session = Session::new(saved).map_err(|error| error.to_string())?;
            return Ok(());
        }
        let (config, _) = Config::load(self.config_path.as_deref())
            .map_err(|error| format!("cannot read the config for an enrollment token: {error}"))?;
        let token = config
            .enrollment_token()
            .map_err(|error| error.to_string())?;
        let Some(token) = token else {
            return Err(
                "no enrollment token is configured (`enrollment_token_file`); enroll again with \
                 `sitrep enroll`, or configure a new token"
                    .to_string(),
            );
        };
        let mut refused = self.refused_token.lock().await;
        if refused.as_deref() == Some(token.as_str()) {
            return Err(
                "the configured enrollment token was refused before; configure a new one"
                    .to_string(),
            );
        }
        let previous = &session.identity;
        let collector = config
            .collector
            .clone()
            .unwrap_or_else(|| previous.collector.clone());
        match enroll_with_token(&config, &self.state, &collector, previous.trust(), &token).await {
            Ok(identity) => {
                tracing::warn!(old = %previous.agent_id, new = %identity.agent_id, "the collector refused this agent's key; enrolled again with the configured token");
                *session = Session::new(identity).map_err(|error| error.to_string())?;
                *refused = None;
                Ok(())
            }
            Err(error) => {
                *refused = Some(token);
                Err(format!(
                    "enrolling again with the configured token failed: {error:#}"
                ))
            }
        }
    }
}

/// Sends one spooled body with its meta as the query.
async fn upload(
    session: &Session,
    meta: &EntryMeta,
    compressed: Vec<u8>,
    spool_dropped: u64,
) -> Result<Stored, CollectorError> {
    let body = restamp(meta, compressed, session.identity.agent_id)?;
    session
        .client
        .send_snapshot(
            body,
            &UploadParams {
                ticket: meta.ticket.as_deref(),
                note: meta.note.as_deref(),
                request: meta.request_id,
                spool_dropped,
            },
        )
        .await
}

/// A body spooled before the agent enrolled again names the old agent id, which the collector
/// would refuse as another agent's: it is re-stamped with the current one. The body is edited
/// as plain JSON, so a snapshot spooled by an older agent version keeps every field it had.
fn restamp(
    meta: &EntryMeta,
    compressed: Vec<u8>,
    agent_id: Uuid,
) -> Result<Vec<u8>, CollectorError> {
    if meta.agent_id == Some(agent_id) {
        return Ok(compressed);
    }
    let encode = |reason: String| {
        CollectorError::Encode(format!(
            "re-stamping snapshot {}: {reason}",
            meta.snapshot_id
        ))
    };
    let json = zstd::decode_all(&compressed[..]).map_err(|error| encode(error.to_string()))?;
    let mut snapshot: serde_json::Value =
        serde_json::from_slice(&json).map_err(|error| encode(error.to_string()))?;
    let agent = snapshot
        .get_mut("agent")
        .and_then(serde_json::Value::as_object_mut)
        .ok_or_else(|| encode("it has no `agent` object".to_string()))?;
    agent.insert("agent_id".to_string(), agent_id.to_string().into());
    compress(&pretty_json(&snapshot).map_err(|error| encode(error.to_string()))?)
}

//! Attaching sitrep snapshots to tickets in the helpdesks specialists already work in: Request
//! Tracker, Zendesk, Jira, ServiceNow, Freshdesk, Zammad, and any receiver of a signed webhook.
//!
//! Each helpdesk is a [`TicketSystem`]: find a ticket by its id or key, attach a snapshot (the
//! rendered report and the JSON, as files named with the snapshot id, with a short internal
//! note), and create a ticket. An attachment is idempotent: a connector looks for a file named
//! for the snapshot before it uploads, so a retry after a lost answer never attaches twice.
//! Errors say whether trying again can help ([`TicketError::Transient`], with the helpdesk's
//! `Retry-After`) or not ([`TicketError::Permanent`], with the helpdesk's own message); the
//! collector's delivery outbox retries the first and shows the second.
//!
//! Connectors are configured by name ([`config`]); their credentials come from files or
//! environment variables and are never logged or printed.

pub mod config;
mod error;
mod http;

pub mod freshdesk;
pub mod jira;
pub mod request_tracker;
pub mod servicenow;
pub mod webhook;
pub mod zammad;
pub mod zendesk;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

use uuid::Uuid;

pub use config::{ConnectorConfig, Connectors, Secret};
pub use error::TicketError;

/// The future every [`TicketSystem`] method returns (the trait is used as `dyn`).
pub type TicketFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, TicketError>> + Send + 'a>>;

/// A helpdesk the collector can put snapshots into.
pub trait TicketSystem: Send + Sync + fmt::Debug {
    /// What people call it, for messages: "Request Tracker", "Zendesk", ...
    fn product(&self) -> &'static str;

    /// The ticket `key` names (an id like `1234` or a key like `OPS-42`); `Permanent` with the
    /// helpdesk's message when there is none.
    fn find_ticket<'a>(&'a self, key: &'a str) -> TicketFuture<'a, ExternalTicket>;

    /// Attaches `attachment` to ticket `key` as an internal note with files, unless files named
    /// for its snapshot are there already.
    fn attach<'a>(&'a self, key: &'a str, attachment: &'a Attachment)
    -> TicketFuture<'a, Attached>;

    /// Creates a ticket (from a user's help request).
    fn create_ticket<'a>(
        &'a self,
        ticket: &'a NewExternalTicket,
    ) -> TicketFuture<'a, ExternalTicket>;
}

/// A ticket in a helpdesk, as a specialist names it: `rt:1234`, `zendesk:5678`, `jira:OPS-42`.
/// The part before the colon is the name of a configured connector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketRef {
    pub connector: String,
    pub key: String,
}

impl FromStr for TicketRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let Some((connector, key)) = text.split_once(':') else {
            return Err(format!(
                "{text:?} names no helpdesk: write CONNECTOR:TICKET, e.g. rt:1234 or jira:OPS-42"
            ));
        };
        if !is_name(connector) {
            return Err(format!(
                "{connector:?} is not a connector name (letters, digits, '-' and '_')"
            ));
        }
        let key = key.trim();
        let valid_key = !key.is_empty()
            && key.len() <= 64
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid_key {
            return Err(format!(
                "{key:?} is not a ticket id or key (up to 64 letters, digits, '-', '_' or '.')"
            ));
        }
        Ok(TicketRef {
            connector: connector.to_string(),
            key: key.to_string(),
        })
    }
}

impl fmt::Display for TicketRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.connector, self.key)
    }
}

/// A connector's name in the config: what a [`TicketRef`] starts with.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// What goes onto a ticket for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub snapshot_id: Uuid,
    /// One line for the note: host, when, worst finding.
    pub summary: String,
    /// The specialist's note, if any.
    pub note: String,
    /// The report as a standalone HTML page.
    pub report_html: String,
    /// The report as Markdown, for helpdesks whose notes render it.
    pub report_markdown: String,
    /// The snapshot's JSON exactly as the agent sent it.
    pub snapshot_json: Vec<u8>,
}

impl Attachment {
    /// The report file's name; connectors look for it to know the snapshot is attached.
    pub fn report_file_name(&self) -> String {
        format!("sitrep-{}.html", self.snapshot_id)
    }

    pub fn json_file_name(&self) -> String {
        format!("sitrep-{}.json", self.snapshot_id)
    }

    /// The internal note's text: the summary, the specialist's note, and what the files are.
    pub fn note_text(&self) -> String {
        let mut text = format!("sitrep snapshot {}: {}", self.snapshot_id, self.summary);
        if !self.note.is_empty() {
            text.push_str("\n\n");
            text.push_str(&self.note);
        }
        text.push_str(&format!(
            "\n\nAttached: {} (the report) and {} (the snapshot).",
            self.report_file_name(),
            self.json_file_name()
        ));
        text
    }
}

/// A ticket as a helpdesk describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalTicket {
    /// The id or key to name it by (`1234`, `OPS-42`).
    pub key: String,
    pub title: Option<String>,
    /// Where a person opens it, when the helpdesk says.
    pub url: Option<String>,
}

/// What [`TicketSystem::attach`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// Uploaded now.
    New,
    /// Files named for the snapshot were on the ticket already (an earlier try got through).
    AlreadyThere,
}

/// A ticket to create, from a user's help request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExternalTicket {
    pub title: String,
    /// The user's words, the support code and the device.
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_a_connector_and_a_ticket() {
        let parsed: TicketRef = " jira:OPS-42 ".parse().expect("a reference");
        assert_eq!(
            parsed,
            TicketRef {
                connector: "jira".into(),
                key: "OPS-42".into()
            }
        );
        assert_eq!(parsed.to_string(), "jira:OPS-42");
        for bad in [
            "1234", ":1234", "rt:", "rt:12 34", "r t:1", "rt:1/2", "rt:../x",
        ] {
            assert!(bad.parse::<TicketRef>().is_err(), "{bad}");
        }
    }
}

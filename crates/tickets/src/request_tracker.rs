//! Request Tracker 5 (REST2, `/REST/2.0`): a snapshot goes onto a ticket as a comment (RT's
//! internal note, never mailed to the requestor) carrying the report and the JSON as files;
//! help requests become new tickets in a queue.
//!
//! ```toml
//! [tickets.rt]
//! kind = "request_tracker"
//! url = "https://rt.corp.example"        # where RT's web UI is, with its WebPath if any
//! token = { file = "/etc/sitrep/rt.token" }
//! # or: user = "sitrep" and password = { env = "SITREP_RT_PASSWORD" }
//! queue = "General"                      # where help requests become tickets
//! ```

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, RequestBuilder, Url};
use serde::Deserialize;
use serde_json::json;

use crate::config::{Secret, base_url, credential_header};
use crate::{
    Attached, Attachment, ExternalTicket, NewExternalTicket, TicketError, TicketFuture,
    TicketSystem, http,
};

const PRODUCT: &str = "Request Tracker";

/// The most REST2 lists on one page.
const ATTACHMENTS_PER_PAGE: u32 = 100;

/// A ticket with more pages of attachments than this (100,000 parts) is not searched further,
/// and attaching is refused rather than risking a duplicate.
const MOST_ATTACHMENT_PAGES: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// RT's web address including its `WebPath`, e.g. `https://rt.corp.example/rt`.
    pub url: String,
    /// An auth token (RT: Logged in as … → Settings → Auth Tokens), sent as
    /// `Authorization: token …`.
    #[serde(default)]
    pub token: Option<Secret>,
    /// A user name for basic authentication, instead of a token.
    #[serde(default)]
    pub user: Option<String>,
    /// That user's password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The queue help requests become tickets in.
    #[serde(default = "default_queue")]
    pub queue: String,
}

fn default_queue() -> String {
    "General".to_string()
}

impl Config {
    pub fn build(&self) -> Result<Arc<dyn TicketSystem>, String> {
        let base = base_url(&self.url)?;
        let authorization = match (&self.token, &self.user, &self.password) {
            (Some(token), None, None) => {
                let token = token
                    .read()
                    .map_err(|problem| format!("token: {problem}"))?;
                credential_header(&format!("token {token}"))
                    .map_err(|problem| format!("token: {problem}"))?
            }
            (None, Some(user), Some(password)) => {
                let user = user.trim();
                if user.is_empty() || user.contains(':') {
                    return Err(format!(
                        "user: {user:?} is not an RT user name (empty, or holds ':')"
                    ));
                }
                let password = password
                    .read()
                    .map_err(|problem| format!("password: {problem}"))?;
                let credentials = STANDARD.encode(format!("{user}:{password}"));
                credential_header(&format!("Basic {credentials}"))
                    .map_err(|problem| format!("password: {problem}"))?
            }
            (None, Some(_), None) => {
                return Err("password: `user` is set but its `password` is missing".to_string());
            }
            (None, None, Some(_)) => {
                return Err(
                    "user: `password` is set but the `user` it belongs to is missing".to_string(),
                );
            }
            (None, None, None) => {
                return Err(
                    "token: set `token`, or `user` and `password`, for RT to know who sitrep is"
                        .to_string(),
                );
            }
            (Some(_), _, _) => {
                return Err(
                    "token: set either `token` or `user` and `password`, not both".to_string(),
                );
            }
        };
        let queue = self.queue.trim();
        if queue.is_empty() {
            return Err("queue: the queue's name is empty".to_string());
        }
        let client =
            http::client().map_err(|error| format!("cannot set up the HTTP client: {error}"))?;
        Ok(Arc::new(RequestTracker {
            client,
            base: base.as_str().trim_end_matches('/').to_string(),
            authorization,
            queue: queue.to_string(),
        }))
    }
}

/// A Request Tracker 5 instance, reached through REST2 as one user.
#[derive(Debug)]
pub struct RequestTracker {
    client: Client,
    /// RT's web address without a trailing slash.
    base: String,
    /// Marked sensitive: `Debug` shows no token or password.
    authorization: HeaderValue,
    queue: String,
}

/// `GET /ticket/{id}`: the fields the connector reads.
#[derive(Deserialize)]
struct TicketRecord {
    id: RecordId,
    #[serde(rename = "Subject", default)]
    subject: Option<String>,
}

/// REST2 writes ids as numbers in records and as strings in the answer to a create.
#[derive(Deserialize)]
#[serde(untagged)]
enum RecordId {
    Number(u64),
    Text(String),
}

impl RecordId {
    fn key(self) -> String {
        match self {
            RecordId::Number(id) => id.to_string(),
            RecordId::Text(id) => id,
        }
    }
}

/// One page of `GET /ticket/{id}/attachments?fields=Filename,ContentType`.
#[derive(Deserialize)]
struct AttachmentPage {
    #[serde(default)]
    items: Vec<AttachmentItem>,
    /// How many pages there are: `null` when the user may not count them all, and a float
    /// (`0.0`) for an empty list.
    #[serde(default)]
    pages: Option<f64>,
}

#[derive(Deserialize)]
struct AttachmentItem {
    #[serde(rename = "Filename", default)]
    filename: Option<String>,
}

impl RequestTracker {
    fn endpoint(&self, path: &str) -> String {
        format!("{}/REST/2.0/{path}", self.base)
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        request.header(AUTHORIZATION, self.authorization.clone())
    }

    /// Where a person opens ticket `key` in RT's web UI.
    fn display_url(&self, key: &str) -> String {
        format!("{}/Ticket/Display.html?id={key}", self.base)
    }

    fn external(&self, key: String, title: Option<String>) -> ExternalTicket {
        ExternalTicket {
            url: Some(self.display_url(&key)),
            key,
            title,
        }
    }

    async fn ticket(&self, id: u64) -> Result<ExternalTicket, TicketError> {
        let request = self.authorized(self.client.get(self.endpoint(&format!("ticket/{id}"))));
        let record: TicketRecord = http::send_json(PRODUCT, request).await?;
        Ok(self.external(record.id.key(), record.subject))
    }

    /// Whether any part of ticket `id` (every transaction's attachments) is a file named
    /// `file_name`; reads every page.
    async fn has_file(&self, id: u64, file_name: &str) -> Result<bool, TicketError> {
        let endpoint = self.endpoint(&format!("ticket/{id}/attachments"));
        let list = Url::parse(&endpoint).map_err(|error| {
            TicketError::permanent(format!("{PRODUCT} url {endpoint}: {error}"))
        })?;
        for page in 1..=MOST_ATTACHMENT_PAGES {
            let mut url = list.clone();
            url.query_pairs_mut()
                .append_pair("fields", "Filename,ContentType")
                .append_pair("per_page", &ATTACHMENTS_PER_PAGE.to_string())
                .append_pair("page", &page.to_string());
            let request = self.authorized(self.client.get(url));
            let answer: AttachmentPage = http::send_json(PRODUCT, request).await?;
            if answer
                .items
                .iter()
                .any(|item| item.filename.as_deref() == Some(file_name))
            {
                return Ok(true);
            }
            let last = match answer.pages {
                Some(pages) => f64::from(page) >= pages,
                None => answer.items.len() < ATTACHMENTS_PER_PAGE as usize,
            };
            if last {
                return Ok(false);
            }
        }
        Err(TicketError::permanent(format!(
            "{PRODUCT} ticket {id} has more than {} attachments; not attaching, as sitrep cannot \
             tell whether this snapshot is among them",
            u64::from(MOST_ATTACHMENT_PAGES) * u64::from(ATTACHMENTS_PER_PAGE)
        )))
    }

    /// `POST /ticket/{id}/comment` as multipart/form-data: the `JSON` field holds the note,
    /// each `Attachments` part is a file.
    async fn comment(&self, id: u64, attachment: &Attachment) -> Result<(), TicketError> {
        let note = json!({
            "Content": attachment.note_text(),
            "ContentType": "text/plain",
        });
        // The charset keeps RT from guessing the report's encoding when it stores it.
        let report = file_part(
            attachment.report_html.clone().into_bytes(),
            attachment.report_file_name(),
            "text/html; charset=utf-8",
        )?;
        let snapshot = file_part(
            attachment.snapshot_json.clone(),
            attachment.json_file_name(),
            "application/json",
        )?;
        let form = Form::new()
            .text("JSON", note.to_string())
            .part("Attachments", report)
            .part("Attachments", snapshot);
        let request = self.authorized(
            self.client
                .post(self.endpoint(&format!("ticket/{id}/comment")))
                .multipart(form),
        );
        http::send(PRODUCT, request).await?;
        Ok(())
    }
}

/// A multipart file part.
fn file_part(bytes: Vec<u8>, name: String, content_type: &str) -> Result<Part, TicketError> {
    Part::bytes(bytes)
        .file_name(name)
        .mime_str(content_type)
        .map_err(|error| TicketError::permanent(format!("content type {content_type:?}: {error}")))
}

/// An RT ticket id: digits only.
fn ticket_id(key: &str) -> Result<u64, TicketError> {
    key.trim()
        .parse::<u64>()
        .map_err(|_| TicketError::permanent(format!("{key:?} is not a {PRODUCT} ticket number")))
}

impl TicketSystem for RequestTracker {
    fn product(&self) -> &'static str {
        PRODUCT
    }

    fn find_ticket<'a>(&'a self, key: &'a str) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move { self.ticket(ticket_id(key)?).await })
    }

    fn attach<'a>(
        &'a self,
        key: &'a str,
        attachment: &'a Attachment,
    ) -> TicketFuture<'a, Attached> {
        Box::pin(async move {
            let id = ticket_id(key)?;
            // REST2 lists no attachments for a ticket that does not exist and refuses a comment
            // on it with a bare 400; asking for the ticket first gives a clear 404.
            self.ticket(id).await?;
            if self.has_file(id, &attachment.report_file_name()).await? {
                return Ok(Attached::AlreadyThere);
            }
            self.comment(id, attachment).await?;
            Ok(Attached::New)
        })
    }

    fn create_ticket<'a>(
        &'a self,
        ticket: &'a NewExternalTicket,
    ) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            // `POST /ticket` takes JSON only with its content type, which `.json()` sets;
            // it answers 201 with the new id as a string.
            let body = json!({
                "Queue": self.queue,
                "Subject": ticket.title,
                "Content": ticket.description,
                "ContentType": "text/plain",
            });
            let request = self.authorized(self.client.post(self.endpoint("ticket")).json(&body));
            let created: TicketRecord = http::send_json(PRODUCT, request).await?;
            Ok(self.external(created.id.key(), Some(ticket.title.clone())))
        })
    }
}

//! Freshdesk (API v2): a snapshot goes onto a ticket as a private note carrying the report and
//! the JSON as attachments; help requests become new tickets.
//!
//! ```toml
//! [tickets.freshdesk]
//! kind = "freshdesk"
//! url = "https://corp.freshdesk.com"
//! api_key = { file = "/etc/sitrep/freshdesk.key" }
//! requester_email = "sitrep@corp.example"   # only needed to create tickets
//! ```

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LINK};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::json;

use crate::config::{Secret, base_url, credential_header};
use crate::{
    Attached, Attachment, ExternalTicket, NewExternalTicket, TicketError, TicketFuture,
    TicketSystem, http,
};

const PRODUCT: &str = "Freshdesk";

/// Freshdesk lists 30 conversations a page; a ticket with more pages than this is not searched
/// further (3,000 conversations), and attaching is refused rather than risking a duplicate.
const MOST_CONVERSATION_PAGES: u32 = 100;

/// Freshdesk's ticket statuses and priorities are numbers: 2 is "Open", 1 is "Low".
const STATUS_OPEN: u8 = 2;
const PRIORITY_LOW: u8 = 1;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `https://DOMAIN.freshdesk.com`
    pub url: String,
    /// An agent's API key (Profile settings → API key).
    pub api_key: Secret,
    /// Who new tickets are from: Freshdesk requires a requester. Without it the connector
    /// attaches snapshots but refuses to create tickets.
    #[serde(default)]
    pub requester_email: Option<String>,
}

impl Config {
    pub fn build(&self) -> Result<Arc<dyn TicketSystem>, String> {
        let base = base_url(&self.url)?;
        let api_key = self
            .api_key
            .read()
            .map_err(|error| format!("api_key: {error}"))?;
        // Freshdesk takes the API key as the Basic user name with any password; its docs use "X".
        let authorization = credential_header(&format!(
            "Basic {}",
            STANDARD.encode(format!("{api_key}:X"))
        ))
        .map_err(|error| format!("api_key: {error}"))?;
        let client =
            http::client().map_err(|error| format!("cannot set up the HTTP client: {error}"))?;
        Ok(Arc::new(Freshdesk {
            client,
            base: base.as_str().trim_end_matches('/').to_string(),
            authorization,
            requester_email: self.requester_email.clone(),
        }))
    }
}

/// A Freshdesk account, reached with an agent's API key.
#[derive(Debug)]
pub struct Freshdesk {
    client: Client,
    /// The account URL without a trailing slash.
    base: String,
    /// Marked sensitive: `Debug` shows no key.
    authorization: HeaderValue,
    requester_email: Option<String>,
}

/// The fields of a ticket the connector reads.
#[derive(Deserialize)]
struct Ticket {
    id: u64,
    #[serde(default)]
    subject: Option<String>,
}

#[derive(Deserialize)]
struct Conversation {
    #[serde(default)]
    attachments: Vec<ConversationFile>,
}

#[derive(Deserialize)]
struct ConversationFile {
    name: String,
}

impl Freshdesk {
    fn get(&self, path: &str) -> RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .header(AUTHORIZATION, self.authorization.clone())
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header(AUTHORIZATION, self.authorization.clone())
    }

    /// Where an agent opens the ticket.
    fn ticket_url(&self, id: u64) -> String {
        format!("{}/a/tickets/{id}", self.base)
    }

    fn external(&self, ticket: Ticket) -> ExternalTicket {
        ExternalTicket {
            key: ticket.id.to_string(),
            title: ticket.subject.filter(|subject| !subject.trim().is_empty()),
            url: Some(self.ticket_url(ticket.id)),
        }
    }

    /// Whether a conversation (reply or note) of ticket `id` carries a file named `file_name`.
    /// GET /api/v2/tickets/{id}/conversations, page by page while the `Link` header names a
    /// next page.
    async fn has_file(&self, id: u64, file_name: &str) -> Result<bool, TicketError> {
        for page in 1..=MOST_CONVERSATION_PAGES {
            let response = http::send(
                PRODUCT,
                self.get(&format!("/api/v2/tickets/{id}/conversations?page={page}")),
            )
            .await?;
            let more = names_next_page(response.headers());
            let body = response
                .bytes()
                .await
                .map_err(|error| TicketError::unreachable(PRODUCT, &error))?;
            let conversations: Vec<Conversation> = serde_json::from_slice(&body)
                .map_err(|error| TicketError::unexpected(PRODUCT, error))?;
            let found = conversations
                .iter()
                .flat_map(|conversation| &conversation.attachments)
                .any(|file| file.name == file_name);
            if found {
                return Ok(true);
            }
            if !more {
                return Ok(false);
            }
        }
        Err(TicketError::permanent(format!(
            "Freshdesk ticket {id} has more than {} pages of conversations; sitrep cannot tell \
             whether {file_name} is attached already, so it attaches nothing",
            MOST_CONVERSATION_PAGES
        )))
    }
}

impl TicketSystem for Freshdesk {
    fn product(&self) -> &'static str {
        PRODUCT
    }

    fn find_ticket<'a>(&'a self, key: &'a str) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            let id = ticket_id(key)?;
            let ticket: Ticket =
                http::send_json(PRODUCT, self.get(&format!("/api/v2/tickets/{id}"))).await?;
            Ok(self.external(ticket))
        })
    }

    fn attach<'a>(
        &'a self,
        key: &'a str,
        attachment: &'a Attachment,
    ) -> TicketFuture<'a, Attached> {
        Box::pin(async move {
            let id = ticket_id(key)?;
            if self.has_file(id, &attachment.report_file_name()).await? {
                return Ok(Attached::AlreadyThere);
            }
            // POST /api/v2/tickets/{id}/notes as multipart/form-data: files go in
            // `attachments[]` parts; `private` keeps the note from the requester.
            let form = Form::new()
                .text("body", html_text(&attachment.note_text()))
                .text("private", "true")
                .part(
                    "attachments[]",
                    file_part(
                        attachment.report_html.clone().into_bytes(),
                        attachment.report_file_name(),
                        "text/html",
                    )?,
                )
                .part(
                    "attachments[]",
                    file_part(
                        attachment.snapshot_json.clone(),
                        attachment.json_file_name(),
                        "application/json",
                    )?,
                );
            http::send(
                PRODUCT,
                self.post(&format!("/api/v2/tickets/{id}/notes"))
                    .multipart(form),
            )
            .await?;
            Ok(Attached::New)
        })
    }

    fn create_ticket<'a>(
        &'a self,
        ticket: &'a NewExternalTicket,
    ) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            let Some(requester_email) = &self.requester_email else {
                return Err(TicketError::permanent(
                    "Freshdesk needs a requester for a new ticket: set requester_email in this \
                     connector's config",
                ));
            };
            // POST /api/v2/tickets; `description` is HTML, so the user's words are escaped.
            let body = json!({
                "subject": ticket.title,
                "description": html_text(&ticket.description),
                "email": requester_email,
                "status": STATUS_OPEN,
                "priority": PRIORITY_LOW,
            });
            let created: Ticket =
                http::send_json(PRODUCT, self.post("/api/v2/tickets").json(&body)).await?;
            Ok(self.external(created))
        })
    }
}

/// Freshdesk ticket ids are numbers; anything else cannot name one (and never reaches a URL).
fn ticket_id(key: &str) -> Result<u64, TicketError> {
    key.parse::<u64>().map_err(|_| {
        TicketError::permanent(format!(
            "{key:?} is not a Freshdesk ticket id (a number, e.g. freshdesk:42)"
        ))
    })
}

fn file_part(bytes: Vec<u8>, file_name: String, content_type: &str) -> Result<Part, TicketError> {
    Part::bytes(bytes)
        .file_name(file_name)
        .mime_str(content_type)
        .map_err(|error| TicketError::permanent(format!("content type {content_type}: {error}")))
}

/// `Link: <https://DOMAIN.freshdesk.com/api/v2/...?page=3>; rel="next"` when there is more.
fn names_next_page(headers: &HeaderMap) -> bool {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("rel=\"next\""))
}

/// Plain text as the HTML Freshdesk stores for notes and descriptions: escaped, line breaks kept.
fn html_text(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    html.push_str("<div>");
    for character in text.chars() {
        match character {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            '\n' => html.push_str("<br>"),
            '\r' => {}
            other => html.push(other),
        }
    }
    html.push_str("</div>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_inert_html() {
        assert_eq!(
            html_text("disk <b>full</b> & \"hot\"\r\nsee 'below'"),
            "<div>disk &lt;b&gt;full&lt;/b&gt; &amp; &quot;hot&quot;<br>see &#39;below&#39;</div>"
        );
    }

    #[test]
    fn next_pages_are_named_by_the_link_header() {
        let mut headers = HeaderMap::new();
        assert!(!names_next_page(&headers));
        headers.insert(
            LINK,
            HeaderValue::from_static(
                "<https://corp.freshdesk.com/api/v2/tickets/1/conversations?page=2>; rel=\"next\"",
            ),
        );
        assert!(names_next_page(&headers));
    }

    #[test]
    fn ticket_ids_are_numbers() {
        assert_eq!(ticket_id("42"), Ok(42));
        for bad in ["OPS-1", "..", "", "4.2"] {
            assert!(ticket_id(bad).is_err(), "{bad}");
        }
    }
}

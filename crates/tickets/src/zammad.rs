//! Zammad (REST API v1): a snapshot goes onto a ticket as an internal note article carrying the
//! report and the JSON as attachments; help requests become new tickets.
//!
//! ```toml
//! [tickets.zammad]
//! kind = "zammad"
//! url = "https://support.corp.example"
//! token = { file = "/etc/sitrep/zammad.token" }
//! group = "Users"                      # where new tickets go (default "Users")
//! customer = "sitrep@corp.example"     # who new tickets are for
//! ```

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{Secret, base_url, credential_header};
use crate::{
    Attached, Attachment, ExternalTicket, NewExternalTicket, TicketError, TicketFuture,
    TicketSystem, http,
};

const PRODUCT: &str = "Zammad";

fn default_group() -> String {
    "Users".to_string()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `https://support.corp.example`
    pub url: String,
    /// A personal access token of an agent (Profile → Token Access) with `ticket.agent`.
    pub token: Secret,
    /// The group new tickets go to.
    #[serde(default = "default_group")]
    pub group: String,
    /// The customer (email or login) new tickets are for; without it Zammad decides (a customer
    /// token creates tickets for itself, an agent's needs one).
    #[serde(default)]
    pub customer: Option<String>,
}

impl Config {
    pub fn build(&self) -> Result<Arc<dyn TicketSystem>, String> {
        let base = base_url(&self.url)?;
        let token = self
            .token
            .read()
            .map_err(|error| format!("token: {error}"))?;
        let authorization = credential_header(&format!("Token token={token}"))
            .map_err(|error| format!("token: {error}"))?;
        let client =
            http::client().map_err(|error| format!("cannot set up the HTTP client: {error}"))?;
        Ok(Arc::new(Zammad {
            client,
            base: base.as_str().trim_end_matches('/').to_string(),
            authorization,
            group: self.group.clone(),
            customer: self.customer.clone(),
        }))
    }
}

/// A Zammad instance, reached with an access token.
#[derive(Debug)]
pub struct Zammad {
    client: Client,
    /// The instance URL without a trailing slash.
    base: String,
    /// Marked sensitive: `Debug` shows no token.
    authorization: HeaderValue,
    group: String,
    customer: Option<String>,
}

/// The fields of a ticket the connector reads.
#[derive(Deserialize)]
struct Ticket {
    id: u64,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct Article {
    #[serde(default)]
    attachments: Vec<ArticleFile>,
}

#[derive(Deserialize)]
struct ArticleFile {
    filename: String,
}

impl Zammad {
    fn request(&self, builder: RequestBuilder) -> RequestBuilder {
        builder.header(AUTHORIZATION, self.authorization.clone())
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.request(self.client.get(format!("{}{path}", self.base)))
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.request(self.client.post(format!("{}{path}", self.base)))
    }

    fn external(&self, ticket: Ticket) -> ExternalTicket {
        ExternalTicket {
            key: ticket.id.to_string(),
            title: ticket.title.filter(|title| !title.trim().is_empty()),
            // The web app routes by fragment.
            url: Some(format!("{}/#ticket/zoom/{}", self.base, ticket.id)),
        }
    }
}

impl TicketSystem for Zammad {
    fn product(&self) -> &'static str {
        PRODUCT
    }

    fn find_ticket<'a>(&'a self, key: &'a str) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            let id = ticket_id(key)?;
            let ticket: Ticket =
                http::send_json(PRODUCT, self.get(&format!("/api/v1/tickets/{id}"))).await?;
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
            // Every article of the ticket, with its attachments (not paginated).
            let articles: Vec<Article> = http::send_json(
                PRODUCT,
                self.get(&format!("/api/v1/ticket_articles/by_ticket/{id}")),
            )
            .await?;
            let report = attachment.report_file_name();
            let attached = articles
                .iter()
                .flat_map(|article| &article.attachments)
                .any(|file| file.filename == report);
            if attached {
                return Ok(Attached::AlreadyThere);
            }
            // POST /api/v1/ticket_articles: files inline as base64; an internal note is hidden
            // from the customer.
            let article = json!({
                "ticket_id": id,
                "subject": format!("sitrep snapshot {}", attachment.snapshot_id),
                "body": attachment.note_text(),
                "content_type": "text/plain",
                "type": "note",
                "internal": true,
                "attachments": [
                    file(&report, attachment.report_html.as_bytes(), "text/html"),
                    file(&attachment.json_file_name(), &attachment.snapshot_json, "application/json"),
                ],
            });
            http::send(PRODUCT, self.post("/api/v1/ticket_articles").json(&article)).await?;
            Ok(Attached::New)
        })
    }

    fn create_ticket<'a>(
        &'a self,
        ticket: &'a NewExternalTicket,
    ) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            // POST /api/v1/tickets with its first article. Plain text, so the user's words are
            // never taken as markup; not internal, so the customer sees their own request.
            let mut body = json!({
                "title": ticket.title,
                "group": self.group,
                "article": {
                    "subject": ticket.title,
                    "body": ticket.description,
                    "content_type": "text/plain",
                    "type": "note",
                    "internal": false,
                },
            });
            if let (Some(customer), Some(fields)) = (&self.customer, body.as_object_mut()) {
                fields.insert("customer".to_string(), Value::String(customer.clone()));
            }
            let created: Ticket =
                http::send_json(PRODUCT, self.post("/api/v1/tickets").json(&body)).await?;
            Ok(self.external(created))
        })
    }
}

/// Zammad's API names tickets by their database id, a number (not the ticket "number" shown
/// with a hook like `#22019`).
fn ticket_id(key: &str) -> Result<u64, TicketError> {
    key.parse::<u64>().map_err(|_| {
        TicketError::permanent(format!(
            "{key:?} is not a Zammad ticket id (a number, e.g. zammad:42)"
        ))
    })
}

fn file(file_name: &str, bytes: &[u8], mime_type: &str) -> Value {
    json!({
        "filename": file_name,
        "data": STANDARD.encode(bytes),
        "mime-type": mime_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_ids_are_numbers() {
        assert_eq!(ticket_id("19"), Ok(19));
        for bad in ["#22019", "..", "", "OPS-1"] {
            assert!(ticket_id(bad).is_err(), "{bad}");
        }
    }
}

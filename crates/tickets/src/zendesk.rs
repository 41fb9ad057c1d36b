//! Zendesk Support (API v2): a snapshot goes onto a ticket as a private comment carrying the
//! report and the JSON, uploaded first through the Uploads API.
//!
//! ```toml
//! [tickets.zendesk]
//! kind = "zendesk"
//! url = "https://SUBDOMAIN.zendesk.com"
//! email = "sitrep@corp.example"
//! token = { file = "/etc/sitrep/zendesk.token" }
//! ```

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Client, Url};
use serde::Deserialize;
use serde_json::json;

use crate::config::{base_url, credential_header};
use crate::{
    Attached, Attachment, ExternalTicket, NewExternalTicket, Secret, TicketError, TicketFuture,
    TicketSystem, http,
};

const PRODUCT: &str = "Zendesk";

/// Comments fetched per page while looking for the report (the most the API gives).
const COMMENTS_PER_PAGE: &str = "100";

/// Pages of comments read at most (10,000 comments); a longer ticket is not searched further.
const MAX_COMMENT_PAGES: usize = 100;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `https://SUBDOMAIN.zendesk.com`.
    pub url: String,
    /// The agent the API token belongs to.
    pub email: String,
    /// The API token (Admin Center → Apps and integrations → Zendesk API).
    pub token: Secret,
}

impl Config {
    pub fn build(&self) -> Result<Arc<dyn TicketSystem>, String> {
        let base = base_url(&self.url)?;
        let email = self.email.trim();
        if email.is_empty() {
            return Err("email: the agent's email address is empty".to_string());
        }
        let token = self
            .token
            .read()
            .map_err(|problem| format!("token: {problem}"))?;
        // API token authentication: the user name is `{email}/token`, the password the token.
        let credentials = BASE64.encode(format!("{email}/token:{token}"));
        let authorization = credential_header(&format!("Basic {credentials}"))
            .map_err(|problem| format!("token: {problem}"))?;
        let client = http::client().map_err(|error| format!("HTTP client: {error}"))?;
        Ok(Arc::new(Zendesk {
            base,
            authorization,
            client,
        }))
    }
}

/// A Zendesk account; `Debug` shows the URL, never the credential.
#[derive(Debug)]
pub struct Zendesk {
    base: Url,
    authorization: HeaderValue,
    client: Client,
}

#[derive(Deserialize)]
struct TicketAnswer {
    ticket: TicketFields,
}

#[derive(Deserialize)]
struct TicketFields {
    id: u64,
    #[serde(default)]
    subject: Option<String>,
}

#[derive(Deserialize)]
struct CommentPage {
    comments: Vec<Comment>,
    #[serde(default)]
    meta: Option<PageMeta>,
}

#[derive(Deserialize)]
struct Comment {
    #[serde(default)]
    attachments: Vec<CommentAttachment>,
}

#[derive(Deserialize)]
struct CommentAttachment {
    file_name: String,
}

#[derive(Deserialize)]
struct PageMeta {
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    after_cursor: Option<String>,
}

#[derive(Deserialize)]
struct UploadAnswer {
    upload: Upload,
}

#[derive(Deserialize)]
struct Upload {
    token: String,
}

impl Zendesk {
    /// `base` + `/api/v2/` + `segments`, each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Result<Url, TicketError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| {
                TicketError::permanent(format!("{PRODUCT} url {} takes no path", self.base))
            })?
            .pop_if_empty()
            .extend(["api", "v2"])
            .extend(segments);
        Ok(url)
    }

    fn ticket_url(&self, id: u64) -> String {
        format!(
            "{}/agent/tickets/{id}",
            self.base.as_str().trim_end_matches('/')
        )
    }

    async fn ticket(&self, id: u64) -> Result<ExternalTicket, TicketError> {
        let url = self.endpoint(&["tickets", &format!("{id}.json")])?;
        let request = self
            .client
            .get(url)
            .header(AUTHORIZATION, self.authorization.clone());
        let answer: TicketAnswer = http::send_json(PRODUCT, request).await?;
        Ok(self.external(answer.ticket))
    }

    fn external(&self, ticket: TicketFields) -> ExternalTicket {
        ExternalTicket {
            key: ticket.id.to_string(),
            title: ticket.subject,
            url: Some(self.ticket_url(ticket.id)),
        }
    }

    /// Whether a comment of ticket `id` carries a file named `file_name`; reads the comments
    /// with cursor pagination (`page[size]`, then `page[after]` while `meta.has_more`).
    async fn has_file(&self, id: u64, file_name: &str) -> Result<bool, TicketError> {
        let mut after: Option<String> = None;
        for _ in 0..MAX_COMMENT_PAGES {
            let mut url = self.endpoint(&["tickets", &id.to_string(), "comments.json"])?;
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("page[size]", COMMENTS_PER_PAGE);
                if let Some(cursor) = &after {
                    query.append_pair("page[after]", cursor);
                }
            }
            let request = self
                .client
                .get(url)
                .header(AUTHORIZATION, self.authorization.clone());
            let page: CommentPage = http::send_json(PRODUCT, request).await?;
            let found = page
                .comments
                .iter()
                .flat_map(|comment| &comment.attachments)
                .any(|attachment| attachment.file_name == file_name);
            if found {
                return Ok(true);
            }
            match page.meta {
                Some(PageMeta {
                    has_more: true,
                    after_cursor: Some(cursor),
                }) => after = Some(cursor),
                _ => return Ok(false),
            }
        }
        Ok(false)
    }

    /// Uploads one file (POST /api/v2/uploads.json?filename=..., the raw bytes as the body);
    /// `group` is the token of an earlier upload, so one token stands for both files.
    async fn upload(
        &self,
        file_name: &str,
        content_type: &'static str,
        bytes: Vec<u8>,
        group: Option<&str>,
    ) -> Result<String, TicketError> {
        let mut url = self.endpoint(&["uploads.json"])?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("filename", file_name);
            if let Some(token) = group {
                query.append_pair("token", token);
            }
        }
        let request = self
            .client
            .post(url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, content_type)
            .body(bytes);
        let answer: UploadAnswer = http::send_json(PRODUCT, request).await?;
        Ok(answer.upload.token)
    }
}

/// A Zendesk ticket id: digits only.
fn ticket_id(key: &str) -> Result<u64, TicketError> {
    key.trim()
        .parse::<u64>()
        .map_err(|_| TicketError::permanent(format!("{key:?} is not a Zendesk ticket id (digits)")))
}

impl TicketSystem for Zendesk {
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
            if self.has_file(id, &attachment.report_file_name()).await? {
                return Ok(Attached::AlreadyThere);
            }
            // Uploads attach to nothing until the comment below names them, so a failure
            // before the comment leaves the ticket untouched and a retry starts over cleanly.
            let report = self
                .upload(
                    &attachment.report_file_name(),
                    "text/html",
                    attachment.report_html.clone().into_bytes(),
                    None,
                )
                .await?;
            let snapshot = self
                .upload(
                    &attachment.json_file_name(),
                    "application/json",
                    attachment.snapshot_json.clone(),
                    Some(&report),
                )
                .await?;
            let mut uploads = vec![report];
            if !uploads.contains(&snapshot) {
                uploads.push(snapshot);
            }
            let url = self.endpoint(&["tickets", &format!("{id}.json")])?;
            // `public: false` makes the comment an internal note, hidden from the requester.
            let body = json!({
                "ticket": {
                    "comment": {
                        "body": attachment.note_text(),
                        "public": false,
                        "uploads": uploads,
                    }
                }
            });
            let request = self
                .client
                .put(url)
                .header(AUTHORIZATION, self.authorization.clone())
                .json(&body);
            http::send(PRODUCT, request).await?;
            Ok(Attached::New)
        })
    }

    fn create_ticket<'a>(
        &'a self,
        ticket: &'a NewExternalTicket,
    ) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            let url = self.endpoint(&["tickets.json"])?;
            let body = json!({
                "ticket": {
                    "subject": ticket.title,
                    "comment": { "body": ticket.description },
                }
            });
            let request = self
                .client
                .post(url)
                .header(AUTHORIZATION, self.authorization.clone())
                .json(&body);
            let answer: TicketAnswer = http::send_json(PRODUCT, request).await?;
            Ok(self.external(answer.ticket))
        })
    }
}

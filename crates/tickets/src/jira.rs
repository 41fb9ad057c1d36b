//! Jira (Cloud REST API v2, also Data Center): a snapshot goes onto an issue as two
//! attachments and an internal comment.
//!
//! ```toml
//! [tickets.jira]
//! kind = "jira"
//! url = "https://corp.atlassian.net"
//! email = "sitrep@corp.example"              # Cloud: basic auth with an API token
//! token = { env = "SITREP_JIRA_TOKEN" }      # without `email`: a personal access token
//! project = "OPS"                            # for tickets made from help requests
//! issue_type = "Task"                        # the default
//! comment_visibility = { type = "role", value = "Developers" }   # optional
//! ```
//!
//! API v2 because its comment body is plain text (v3 wants Atlassian Document Format). The
//! comment carries the entity property `sd.public.comment = {"internal": true}`, which Jira
//! Service Management reads as "internal note, not shown to the customer"; plain Jira stores
//! the property and ignores it, so `comment_visibility` restricts the comment to a project
//! role or group there.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::{base_url, credential_header};
use crate::{
    Attached, Attachment, ExternalTicket, NewExternalTicket, Secret, TicketError, TicketFuture,
    TicketSystem, http,
};

const PRODUCT: &str = "Jira";

/// The longest summary Jira takes.
const SUMMARY_LIMIT: usize = 255;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `https://SITE.atlassian.net`, or a Data Center base URL.
    pub url: String,
    /// Jira Cloud: the account the API token belongs to (basic auth). Without it, `token` is a
    /// Data Center personal access token sent as a bearer token.
    #[serde(default)]
    pub email: Option<String>,
    pub token: Secret,
    /// The project key new issues go to, e.g. `OPS`; needed only to create tickets.
    #[serde(default)]
    pub project: Option<String>,
    /// The issue type of new issues.
    #[serde(default = "default_issue_type")]
    pub issue_type: String,
    /// Who may see the snapshot comment in plain Jira (Service Management needs none).
    #[serde(default)]
    pub comment_visibility: Option<CommentVisibility>,
}

fn default_issue_type() -> String {
    "Task".to_string()
}

/// A comment restriction as Jira's `visibility` takes it: a project role or a group by name.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommentVisibility {
    #[serde(rename = "type")]
    pub kind: VisibilityKind,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VisibilityKind {
    Role,
    Group,
}

impl Config {
    pub fn build(&self) -> Result<Arc<dyn TicketSystem>, String> {
        let base = base_url(&self.url)?;
        let token = self
            .token
            .read()
            .map_err(|problem| format!("token: {problem}"))?;
        let authorization = match self.email.as_deref().map(str::trim) {
            Some("") => {
                return Err("email: empty; leave it out to use a personal access token".into());
            }
            Some(email) => format!("Basic {}", BASE64.encode(format!("{email}:{token}"))),
            None => format!("Bearer {token}"),
        };
        let authorization =
            credential_header(&authorization).map_err(|problem| format!("token: {problem}"))?;
        let project = match self.project.as_deref().map(str::trim) {
            Some(project) if !is_project_key(project) => {
                return Err(format!(
                    "project: {project:?} is not a Jira project key, e.g. OPS"
                ));
            }
            project => project.map(str::to_string),
        };
        if self.issue_type.trim().is_empty() {
            return Err("issue_type: empty".to_string());
        }
        if let Some(visibility) = &self.comment_visibility
            && visibility.value.trim().is_empty()
        {
            return Err("comment_visibility: the role or group name is empty".to_string());
        }
        let client = http::client().map_err(|error| format!("HTTP client: {error}"))?;
        Ok(Arc::new(Jira {
            base,
            authorization,
            client,
            project,
            issue_type: self.issue_type.trim().to_string(),
            comment_visibility: self.comment_visibility.clone(),
        }))
    }
}

fn is_project_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A Jira site; `Debug` shows the URL and settings, never the credential.
#[derive(Debug)]
pub struct Jira {
    base: Url,
    authorization: HeaderValue,
    client: Client,
    project: Option<String>,
    issue_type: String,
    comment_visibility: Option<CommentVisibility>,
}

#[derive(Deserialize)]
struct Issue {
    key: String,
    fields: IssueFields,
}

#[derive(Deserialize)]
struct IssueFields {
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    attachment: Vec<IssueAttachment>,
}

#[derive(Deserialize)]
struct IssueAttachment {
    filename: String,
}

#[derive(Deserialize)]
struct CreatedIssue {
    key: String,
}

impl Jira {
    /// `base` + `/rest/api/2/` + `segments`, each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Result<Url, TicketError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| {
                TicketError::permanent(format!("{PRODUCT} url {} takes no path", self.base))
            })?
            .pop_if_empty()
            .extend(["rest", "api", "2"])
            .extend(segments);
        Ok(url)
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        request
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json")
    }

    fn browse_url(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.base.as_str().trim_end_matches('/'))
    }

    /// GET /rest/api/2/issue/{key}?fields=summary,attachment
    async fn issue(&self, key: &str) -> Result<Issue, TicketError> {
        let mut url = self.endpoint(&["issue", issue_key(key)?])?;
        url.query_pairs_mut()
            .append_pair("fields", "summary,attachment");
        send_json(self.authorized(self.client.get(url))).await
    }

    /// POST /rest/api/2/issue/{key}/attachments: multipart, the part named `file`, and the
    /// `X-Atlassian-Token: no-check` header without which Jira refuses it as XSRF.
    async fn upload(
        &self,
        key: &str,
        file_name: String,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), TicketError> {
        let part = Part::bytes(bytes)
            .file_name(file_name)
            .mime_str(content_type)
            .map_err(|error| {
                TicketError::permanent(format!("content type {content_type}: {error}"))
            })?;
        let url = self.endpoint(&["issue", key, "attachments"])?;
        let request = self
            .authorized(self.client.post(url))
            .header("X-Atlassian-Token", "no-check")
            .multipart(Form::new().part("file", part));
        send(request).await.map(drop)
    }

    /// POST /rest/api/2/issue/{key}/comment, internal for Service Management and restricted to
    /// `comment_visibility` when configured.
    async fn comment(&self, key: &str, text: String) -> Result<(), TicketError> {
        let mut body = json!({
            "body": text,
            "properties": [{"key": "sd.public.comment", "value": {"internal": true}}],
        });
        if let Some(visibility) = &self.comment_visibility {
            body["visibility"] = json!(visibility);
        }
        let url = self.endpoint(&["issue", key, "comment"])?;
        send(self.authorized(self.client.post(url)).json(&body))
            .await
            .map(drop)
    }
}

/// Sends `request`; a 2xx answer comes back, anything else as the error it means, with Jira's
/// own words: its error body lists `errorMessages` and per-field `errors`, both maybe empty.
async fn send(request: RequestBuilder) -> Result<Response, TicketError> {
    let response = request
        .send()
        .await
        .map_err(|error| TicketError::unreachable(PRODUCT, &error))?;
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Err(TicketError::from_answer(
        PRODUCT,
        status,
        &headers,
        &jira_message(&body),
    ))
}

/// Sends `request` and reads a 2xx answer's JSON body.
async fn send_json<T: DeserializeOwned>(request: RequestBuilder) -> Result<T, TicketError> {
    let body = send(request)
        .await?
        .bytes()
        .await
        .map_err(|error| TicketError::unreachable(PRODUCT, &error))?;
    serde_json::from_slice(&body).map_err(|error| TicketError::unexpected(PRODUCT, error))
}

#[derive(Deserialize)]
struct JiraErrors {
    #[serde(default, rename = "errorMessages")]
    messages: Vec<String>,
    #[serde(default)]
    errors: BTreeMap<String, serde_json::Value>,
}

/// Jira's error body as one line (`summary: You must specify a summary of the issue.`), or
/// the body itself when it is not Jira's JSON (a proxy's page, a plain-text 401).
fn jira_message(body: &str) -> String {
    let Ok(jira) = serde_json::from_str::<JiraErrors>(body) else {
        return body.to_string();
    };
    let field_errors = jira
        .errors
        .into_iter()
        .map(|(field, problem)| match problem {
            serde_json::Value::String(text) => format!("{field}: {text}"),
            other => format!("{field}: {other}"),
        });
    let lines: Vec<String> = jira.messages.into_iter().chain(field_errors).collect();
    if lines.is_empty() {
        body.to_string()
    } else {
        lines.join("; ")
    }
}

/// An issue key (`OPS-42`) or id (`10042`); anything else is refused before a request.
fn issue_key(key: &str) -> Result<&str, TicketError> {
    let key = key.trim();
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if valid {
        Ok(key)
    } else {
        Err(TicketError::permanent(format!(
            "{key:?} is not a Jira issue key (like OPS-42) or id"
        )))
    }
}

/// A summary Jira takes: one line, at most 255 characters.
fn summary(title: &str) -> String {
    let line = title.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(SUMMARY_LIMIT).collect()
}

impl TicketSystem for Jira {
    fn product(&self) -> &'static str {
        PRODUCT
    }

    fn find_ticket<'a>(&'a self, key: &'a str) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            let issue = self.issue(key).await?;
            Ok(ExternalTicket {
                url: Some(self.browse_url(&issue.key)),
                key: issue.key,
                title: issue.fields.summary,
            })
        })
    }

    fn attach<'a>(
        &'a self,
        key: &'a str,
        attachment: &'a Attachment,
    ) -> TicketFuture<'a, Attached> {
        Box::pin(async move {
            let issue = self.issue(key).await?;
            let has = |name: &str| {
                issue
                    .fields
                    .attachment
                    .iter()
                    .any(|file| file.filename == name)
            };
            if has(&attachment.report_file_name()) {
                return Ok(Attached::AlreadyThere);
            }
            // Three requests, and no transaction: the report goes last because a retry looks
            // for it, so an attempt cut short is repeated rather than lost; the JSON of such an
            // attempt is kept, not uploaded again. At worst the note appears twice, a file never.
            if !has(&attachment.json_file_name()) {
                self.upload(
                    &issue.key,
                    attachment.json_file_name(),
                    "application/json",
                    attachment.snapshot_json.clone(),
                )
                .await?;
            }
            self.comment(&issue.key, attachment.note_text()).await?;
            self.upload(
                &issue.key,
                attachment.report_file_name(),
                "text/html",
                attachment.report_html.clone().into_bytes(),
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
            let Some(project) = &self.project else {
                return Err(TicketError::permanent(
                    "Jira: no `project` is configured to create issues in",
                ));
            };
            let title = summary(&ticket.title);
            let body = json!({
                "fields": {
                    "project": {"key": project},
                    "issuetype": {"name": self.issue_type},
                    "summary": title,
                    "description": ticket.description,
                }
            });
            let url = self.endpoint(&["issue"])?;
            let created: CreatedIssue =
                send_json(self.authorized(self.client.post(url)).json(&body)).await?;
            Ok(ExternalTicket {
                url: Some(self.browse_url(&created.key)),
                key: created.key,
                title: Some(title),
            })
        })
    }
}

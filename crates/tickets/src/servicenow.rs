//! ServiceNow (Table API and Attachment API): a snapshot goes onto an incident as two
//! attachments and a work note, the journal field only fulfillers see.
//!
//! ```toml
//! [tickets.servicenow]
//! kind = "servicenow"
//! url = "https://INSTANCE.service-now.com"
//! user = "sitrep.integration"                     # basic auth ...
//! password = { file = "/etc/sitrep/servicenow.password" }
//! # token = { env = "SITREP_SERVICENOW_TOKEN" }   # ... or an OAuth bearer token instead
//! ```
//!
//! Incidents are named by their number (`INC0010001`); the APIs want the record's `sys_id`,
//! looked up first.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Client, RequestBuilder, Url};
use serde::Deserialize;
use serde_json::json;

use crate::config::{base_url, credential_header};
use crate::{
    Attached, Attachment, ExternalTicket, NewExternalTicket, Secret, TicketError, TicketFuture,
    TicketSystem, http,
};

const PRODUCT: &str = "ServiceNow";

/// The table tickets live in.
const TABLE: &str = "incident";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `https://INSTANCE.service-now.com`.
    pub url: String,
    /// Basic auth: the integration user (with the `itil` role) and its password.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// Or an OAuth access token, sent as a bearer token.
    #[serde(default)]
    pub token: Option<Secret>,
}

impl Config {
    pub fn build(&self) -> Result<Arc<dyn TicketSystem>, String> {
        let base = base_url(&self.url)?;
        let authorization = match (&self.user, &self.password, &self.token) {
            (Some(user), Some(password), None) => {
                let user = user.trim();
                if user.is_empty() || user.contains(':') {
                    return Err(format!("user: {user:?} is not a ServiceNow user name"));
                }
                let password = password
                    .read()
                    .map_err(|problem| format!("password: {problem}"))?;
                format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
            }
            (None, None, Some(token)) => {
                let token = token
                    .read()
                    .map_err(|problem| format!("token: {problem}"))?;
                format!("Bearer {token}")
            }
            (Some(_), None, None) => return Err("password: missing for `user`".into()),
            (None, Some(_), None) => return Err("user: missing for `password`".into()),
            _ => {
                return Err(
                    "credentials: give either `user` and `password`, or `token`".to_string()
                );
            }
        };
        let authorization = credential_header(&authorization)
            .map_err(|problem| format!("credentials: {problem}"))?;
        let client = http::client().map_err(|error| format!("HTTP client: {error}"))?;
        Ok(Arc::new(ServiceNow {
            base,
            authorization,
            client,
        }))
    }
}

/// A ServiceNow instance; `Debug` shows the URL, never the credential.
#[derive(Debug)]
pub struct ServiceNow {
    base: Url,
    authorization: HeaderValue,
    client: Client,
}

#[derive(Deserialize)]
struct Found {
    result: Vec<Incident>,
}

#[derive(Deserialize)]
struct Created {
    result: Incident,
}

#[derive(Deserialize)]
struct Incident {
    sys_id: String,
    number: String,
    #[serde(default)]
    short_description: Option<String>,
}

#[derive(Deserialize)]
struct AttachmentList {
    result: Vec<AttachmentRecord>,
}

#[derive(Deserialize)]
struct AttachmentRecord {
    file_name: String,
}

impl ServiceNow {
    /// `base` + `/api/now/` + `segments`, each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Result<Url, TicketError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| {
                TicketError::permanent(format!("{PRODUCT} url {} takes no path", self.base))
            })?
            .pop_if_empty()
            .extend(["api", "now"])
            .extend(segments);
        Ok(url)
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        request
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json")
    }

    fn external(&self, incident: Incident) -> ExternalTicket {
        ExternalTicket {
            url: Some(format!(
                "{}/{TABLE}.do?sys_id={}",
                self.base.as_str().trim_end_matches('/'),
                incident.sys_id
            )),
            key: incident.number,
            title: incident.short_description,
        }
    }

    /// GET /api/now/table/incident?sysparm_query=number={number}&sysparm_limit=1
    async fn incident(&self, number: &str) -> Result<Incident, TicketError> {
        let number = incident_number(number)?;
        let mut url = self.endpoint(&["table", TABLE])?;
        url.query_pairs_mut()
            .append_pair("sysparm_query", &format!("number={number}"))
            .append_pair("sysparm_limit", "1")
            .append_pair("sysparm_fields", "sys_id,number,short_description");
        let found: Found = http::send_json(PRODUCT, self.authorized(self.client.get(url))).await?;
        // The Table API answers a query that matches nothing with 200 and an empty list.
        found
            .result
            .into_iter()
            .next()
            .ok_or_else(|| TicketError::Permanent {
                status: Some(404),
                message: format!(
                    "ServiceNow has no incident {number} (or the user may not read it)"
                ),
            })
    }

    /// The names of the files among `names` already attached to record `sys_id`
    /// (GET /api/now/attachment?sysparm_query=table_sys_id=...^file_nameIN...).
    async fn attached_names(
        &self,
        sys_id: &str,
        names: &[String],
    ) -> Result<Vec<String>, TicketError> {
        let mut url = self.endpoint(&["attachment"])?;
        url.query_pairs_mut()
            .append_pair(
                "sysparm_query",
                &format!(
                    "table_name={TABLE}^table_sys_id={sys_id}^file_nameIN{}",
                    names.join(",")
                ),
            )
            .append_pair("sysparm_fields", "file_name");
        let list: AttachmentList =
            http::send_json(PRODUCT, self.authorized(self.client.get(url))).await?;
        Ok(list
            .result
            .into_iter()
            .map(|record| record.file_name)
            .collect())
    }

    /// POST /api/now/attachment/file?table_name=incident&table_sys_id=...&file_name=..., the
    /// file as the raw body with its own Content-Type.
    async fn upload(
        &self,
        sys_id: &str,
        file_name: &str,
        content_type: &'static str,
        bytes: Vec<u8>,
    ) -> Result<(), TicketError> {
        let mut url = self.endpoint(&["attachment", "file"])?;
        url.query_pairs_mut()
            .append_pair("table_name", TABLE)
            .append_pair("table_sys_id", sys_id)
            .append_pair("file_name", file_name);
        let request = self
            .authorized(self.client.post(url))
            .header(CONTENT_TYPE, content_type)
            .body(bytes);
        http::send(PRODUCT, request).await.map(drop)
    }

    /// PATCH /api/now/table/incident/{sys_id} with `work_notes`: a journal entry only people
    /// working the incident see (the caller sees `comments`, which this never writes).
    async fn work_note(&self, sys_id: &str, text: String) -> Result<(), TicketError> {
        let url = self.endpoint(&["table", TABLE, sys_id])?;
        let request = self
            .authorized(self.client.patch(url))
            .json(&json!({ "work_notes": text }));
        http::send(PRODUCT, request).await.map(drop)
    }
}

/// An incident number like `INC0010001`: letters and digits only, so it cannot change the
/// encoded query it goes into (`^` joins conditions there).
fn incident_number(number: &str) -> Result<&str, TicketError> {
    let number = number.trim();
    if !number.is_empty() && number.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(number)
    } else {
        Err(TicketError::permanent(format!(
            "{number:?} is not a ServiceNow incident number (like INC0010001)"
        )))
    }
}

impl TicketSystem for ServiceNow {
    fn product(&self) -> &'static str {
        PRODUCT
    }

    fn find_ticket<'a>(&'a self, key: &'a str) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move { Ok(self.external(self.incident(key).await?)) })
    }

    fn attach<'a>(
        &'a self,
        key: &'a str,
        attachment: &'a Attachment,
    ) -> TicketFuture<'a, Attached> {
        Box::pin(async move {
            let incident = self.incident(key).await?;
            let report = attachment.report_file_name();
            let snapshot = attachment.json_file_name();
            let there = self
                .attached_names(&incident.sys_id, &[report.clone(), snapshot.clone()])
                .await?;
            if there.contains(&report) {
                return Ok(Attached::AlreadyThere);
            }
            // Three requests, and no transaction: the report goes last because a retry looks
            // for it, so an attempt cut short is repeated rather than lost; the JSON of such an
            // attempt is kept, not uploaded again. At worst the note appears twice, a file never.
            if !there.contains(&snapshot) {
                self.upload(
                    &incident.sys_id,
                    &snapshot,
                    "application/json",
                    attachment.snapshot_json.clone(),
                )
                .await?;
            }
            self.work_note(&incident.sys_id, attachment.note_text())
                .await?;
            self.upload(
                &incident.sys_id,
                &report,
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
            let url = self.endpoint(&["table", TABLE])?;
            let request = self.authorized(self.client.post(url)).json(&json!({
                "short_description": ticket.title,
                "description": ticket.description,
            }));
            let created: Created = http::send_json(PRODUCT, request).await?;
            Ok(self.external(created.result))
        })
    }
}

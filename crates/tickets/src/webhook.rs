//! Any receiver of a signed webhook (Standard Webhooks, <https://www.standardwebhooks.com>):
//! each snapshot attached to a ticket, and each ticket requested, is POSTed as a JSON event
//! signed with HMAC-SHA256, for a receiver of the site's own to put wherever it likes.
//!
//! ```toml
//! [tickets.hook]
//! kind = "webhook"
//! url = "https://hooks.corp.example/sitrep"
//! secret = { file = "/etc/sitrep/hook.secret" }   # whsec_ + base64 of 24 to 64 random bytes
//! ```
//!
//! Every request carries `webhook-id`, `webhook-timestamp` (unix seconds) and
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being
//! the secret's base64-decoded part after `whsec_`.
//!
//! A webhook cannot be asked whether it holds something, so idempotency is the receiver's: the
//! `webhook-id` of an attachment is `msg_<snapshot id>_<ticket key>`, the same on every retry,
//! and a receiver keeps the ids it has processed and acknowledges a repeat with 2xx without
//! acting on it again. Ticket requests get an id from a digest of their title and description.
//! Events (`data` holds the fields):
//! - `sitrep.snapshot.attached`: `ticket`, `snapshot_id`, `summary`, `note`,
//!   `report_markdown`, `report_html`, `snapshot` (the agent's JSON); any 2xx is success.
//! - `sitrep.ticket.requested`: `title`, `description`; the receiver answers
//!   `{"key": "...", "url": "..."}` (`url` optional) naming the ticket it made.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Client;
use reqwest::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::config::{Secret, base_url};
use crate::{
    Attached, Attachment, ExternalTicket, NewExternalTicket, TicketError, TicketFuture,
    TicketSystem, http,
};

const PRODUCT: &str = "The webhook receiver";

/// Standard Webhooks secrets: `whsec_` and the base64 of at least 24 and at most 64 bytes.
const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

const SNAPSHOT_ATTACHED: &str = "sitrep.snapshot.attached";
const TICKET_REQUESTED: &str = "sitrep.ticket.requested";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where events are POSTed.
    pub url: String,
    /// `whsec_` followed by the base64 signing key, shared with the receiver.
    pub secret: Secret,
}

impl Config {
    pub fn build(&self) -> Result<Arc<dyn TicketSystem>, String> {
        let url = base_url(&self.url)?;
        let secret = self
            .secret
            .read()
            .map_err(|error| format!("secret: {error}"))?;
        let key = signing_key(&secret).map_err(|error| format!("secret: {error}"))?;
        let client =
            http::client().map_err(|error| format!("cannot set up the HTTP client: {error}"))?;
        Ok(Arc::new(Webhook {
            client,
            url: url.to_string(),
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
        }))
    }
}

/// The HMAC key inside a `whsec_` secret.
fn signing_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        format!("a Standard Webhooks secret starts with {SECRET_PREFIX} (then base64)")
    })?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| format!("the part after {SECRET_PREFIX} is not base64"))?;
    if !SECRET_BYTES.contains(&key.len()) {
        return Err(format!(
            "the key is {} bytes; Standard Webhooks keys are {} to {} random bytes",
            key.len(),
            SECRET_BYTES.start(),
            SECRET_BYTES.end()
        ));
    }
    Ok(key)
}

/// A receiver of signed webhooks.
pub struct Webhook {
    client: Client,
    url: String,
    key: hmac::Key,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out, whatever hmac::Key's own Debug shows.
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Event<T> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    data: T,
}

#[derive(Serialize)]
struct SnapshotAttached<'a> {
    ticket: &'a str,
    snapshot_id: Uuid,
    summary: &'a str,
    note: &'a str,
    report_markdown: &'a str,
    report_html: &'a str,
    snapshot: Value,
}

#[derive(Serialize)]
struct TicketRequested<'a> {
    title: &'a str,
    description: &'a str,
}

/// What a receiver answers to a ticket request.
#[derive(Deserialize)]
struct TicketMade {
    #[serde(default)]
    key: Option<Value>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

impl Webhook {
    /// POSTs event `kind` with `data`, signed, under `webhook-id` `id`.
    async fn deliver<T: Serialize>(
        &self,
        id: &str,
        kind: &'static str,
        data: T,
    ) -> Result<reqwest::Response, TicketError> {
        let now = Utc::now();
        let event = Event {
            kind,
            timestamp: now.to_rfc3339_opts(SecondsFormat::Millis, true),
            data,
        };
        let body = serde_json::to_vec(&event)
            .map_err(|error| TicketError::permanent(format!("cannot write the event: {error}")))?;
        let signature = sign(&self.key, id, now, &body);
        let request = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", now.timestamp().to_string())
            .header("webhook-signature", signature)
            .body(body);
        http::send(PRODUCT, request).await
    }
}

impl TicketSystem for Webhook {
    fn product(&self) -> &'static str {
        "Webhook"
    }

    /// A webhook has no tickets to look at: any well-formed key is taken as the receiver's.
    fn find_ticket<'a>(&'a self, key: &'a str) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            check_key(key)?;
            Ok(ExternalTicket {
                key: key.to_string(),
                title: None,
                url: None,
            })
        })
    }

    /// Always `New` on a 2xx: the receiver, not sitrep, recognises a repeated `webhook-id`.
    fn attach<'a>(
        &'a self,
        key: &'a str,
        attachment: &'a Attachment,
    ) -> TicketFuture<'a, Attached> {
        Box::pin(async move {
            check_key(key)?;
            let snapshot: Value =
                serde_json::from_slice(&attachment.snapshot_json).map_err(|error| {
                    TicketError::permanent(format!(
                        "snapshot {} is not JSON: {error}",
                        attachment.snapshot_id
                    ))
                })?;
            let data = SnapshotAttached {
                ticket: key,
                snapshot_id: attachment.snapshot_id,
                summary: &attachment.summary,
                note: &attachment.note,
                report_markdown: &attachment.report_markdown,
                report_html: &attachment.report_html,
                snapshot,
            };
            let id = format!("msg_{}_{key}", attachment.snapshot_id);
            self.deliver(&id, SNAPSHOT_ATTACHED, data).await?;
            Ok(Attached::New)
        })
    }

    fn create_ticket<'a>(
        &'a self,
        ticket: &'a NewExternalTicket,
    ) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            let data = TicketRequested {
                title: &ticket.title,
                description: &ticket.description,
            };
            let response = self
                .deliver(&request_id(ticket), TICKET_REQUESTED, data)
                .await?;
            let body = response
                .bytes()
                .await
                .map_err(|error| TicketError::unreachable(PRODUCT, &error))?;
            let made: TicketMade = serde_json::from_slice(&body).map_err(|error| {
                TicketError::unexpected(PRODUCT, format!("not {{\"key\": ...}} JSON: {error}"))
            })?;
            let key = match made.key {
                Some(Value::String(key)) => key,
                Some(Value::Number(key)) => key.to_string(),
                _ => {
                    return Err(TicketError::unexpected(
                        PRODUCT,
                        "no ticket key: a receiver answers a ticket request with {\"key\": ...}",
                    ));
                }
            };
            check_key(&key)?;
            Ok(ExternalTicket {
                key,
                title: made.title,
                url: made.url,
            })
        })
    }
}

/// A key travels inside `webhook-id`, which Standard Webhooks keeps free of '.' (the signed
/// content joins id, timestamp and body with dots).
fn check_key(key: &str) -> Result<(), TicketError> {
    let valid = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(TicketError::permanent(format!(
            "{key:?} is not a webhook ticket key (up to 64 letters, digits, '-' and '_')"
        )))
    }
}

/// The same request, retried, gets the same id; a different one a different id.
fn request_id(ticket: &NewExternalTicket) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(ticket.title.as_bytes());
    context.update(&[0]);
    context.update(ticket.description.as_bytes());
    let digest = context.finish();
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("msg_ticket_{hex}")
}

/// `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
fn sign(key: &hmac::Key, id: &str, at: DateTime<Utc>, body: &[u8]) -> String {
    let mut context = hmac::Context::with_key(key);
    context.update(id.as_bytes());
    context.update(b".");
    context.update(at.timestamp().to_string().as_bytes());
    context.update(b".");
    context.update(body);
    format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The test vector of the Standard Webhooks reference libraries.
        let key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a secret");
        let at = DateTime::from_timestamp(1_614_265_330, 0).expect("a time");
        assert_eq!(
            sign(
                &hmac::Key::new(hmac::HMAC_SHA256, &key),
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                at,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_whsec_and_24_to_64_bytes() {
        assert!(signing_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(signing_key("whsec_not base64!").is_err());
        assert!(signing_key(&format!("whsec_{}", STANDARD.encode([7u8; 16]))).is_err());
        assert!(signing_key(&format!("whsec_{}", STANDARD.encode([7u8; 65]))).is_err());
        assert_eq!(
            signing_key(&format!("whsec_{}", STANDARD.encode([7u8; 32]))),
            Ok(vec![7u8; 32])
        );
    }

    #[test]
    fn ticket_requests_get_stable_distinct_ids() {
        let ticket = |description: &str| NewExternalTicket {
            title: "Printer".into(),
            description: description.into(),
        };
        assert_eq!(request_id(&ticket("a")), request_id(&ticket("a")));
        assert_ne!(request_id(&ticket("a")), request_id(&ticket("b")));
        assert!(!request_id(&ticket("a")).contains('.'));
    }
}

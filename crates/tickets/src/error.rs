//! What went wrong talking to a helpdesk, sorted by whether trying again can help.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Most a helpdesk's `Retry-After` is followed; a longer one is capped (the outbox's own
/// backoff never waits longer either).
const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// The longest helpdesk message kept; error pages can be whole HTML documents.
const MESSAGE_LIMIT: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// The helpdesk could not be reached, timed out, is rate limiting (429) or failing (5xx):
    /// try again, not before `retry_after` when it said.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The helpdesk refused for a reason that will not go away by itself (unknown ticket,
    /// credentials refused, request rejected): show `message`, the helpdesk's own words.
    #[error("{message}")]
    Permanent {
        status: Option<u16>,
        message: String,
    },
}

impl TicketError {
    pub fn is_transient(&self) -> bool {
        matches!(self, TicketError::Transient { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TicketError::Transient { retry_after, .. } => *retry_after,
            TicketError::Permanent { .. } => None,
        }
    }

    /// A refusal of the connector's own making, e.g. a ticket key the helpdesk cannot have.
    pub fn permanent(message: impl Into<String>) -> TicketError {
        TicketError::Permanent {
            status: None,
            message: message.into(),
        }
    }

    /// An answer that is not what the helpdesk documents (a changed API, a proxy's page).
    pub fn unexpected(product: &str, what: impl std::fmt::Display) -> TicketError {
        TicketError::Permanent {
            status: None,
            message: format!("{product} answered unexpectedly: {what}"),
        }
    }

    /// A request that did not get an answer.
    pub fn unreachable(product: &str, error: &reqwest::Error) -> TicketError {
        TicketError::Transient {
            message: format!("{product} could not be reached: {}", without_url(error)),
            retry_after: None,
        }
    }

    /// An error answer: 408, 425, 429 and 5xx are transient, other statuses permanent. The
    /// message is `product`, the status and the helpdesk's own text (`body`, trimmed).
    pub fn from_answer(
        product: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> TicketError {
        let detail = helpdesk_message(body);
        let message = if detail.is_empty() {
            format!("{product} answered {status}")
        } else {
            format!("{product} answered {status}: {detail}")
        };
        let transient = status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_EARLY
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error();
        if transient {
            TicketError::Transient {
                message,
                retry_after: retry_after(headers, Utc::now()),
            }
        } else {
            TicketError::Permanent {
                status: Some(status.as_u16()),
                message,
            }
        }
    }
}

/// reqwest's message without the URL (it may carry a query with credentials), with every
/// cause down the chain: "error sending request (client error (Connect): tcp connect error:
/// Connection refused (os error 111))".
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text
            .replace(&format!(" for url ({url})"), "")
            .replace(url.as_str(), "");
    }
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
}

/// The useful part of an error body: a JSON `error`/`message`/`errors` field when there is one,
/// else the text itself, on one line and bounded.
fn helpdesk_message(body: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => json_message(&json).unwrap_or_else(|| body.to_string()),
        Err(_) => body.to_string(),
    };
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MESSAGE_LIMIT) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

fn json_message(json: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    for key in [
        "message",
        "errorMessages",
        "error",
        "errors",
        "description",
        "detail",
    ] {
        match json.get(key) {
            Some(Value::String(text)) if !text.is_empty() => return Some(text.clone()),
            Some(Value::Object(inner)) if !inner.is_empty() => {
                let inner = Value::Object(inner.clone());
                return Some(json_message(&inner).unwrap_or_else(|| inner.to_string()));
            }
            Some(Value::Array(items)) if !items.is_empty() => {
                let texts: Vec<String> = items
                    .iter()
                    .map(|item| match item {
                        Value::String(text) => text.clone(),
                        other => json_message(other).unwrap_or_else(|| other.to_string()),
                    })
                    .collect();
                return Some(texts.join("; "));
            }
            _ => {}
        }
    }
    None
}

/// `Retry-After` as seconds or an HTTP date, capped at an hour; `None` when absent or invalid.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(RETRY_AFTER_CAP))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(retry_after).expect("a header"),
        );
        headers
    }

    #[test]
    fn statuses_sort_into_transient_and_permanent() {
        let limited = TicketError::from_answer(
            "Zendesk",
            StatusCode::TOO_MANY_REQUESTS,
            &headers("7"),
            "{\"error\": \"APIRateLimitExceeded\"}",
        );
        assert_eq!(
            limited,
            TicketError::Transient {
                message: "Zendesk answered 429 Too Many Requests: APIRateLimitExceeded".into(),
                retry_after: Some(Duration::from_secs(7)),
            }
        );
        let missing = TicketError::from_answer(
            "Jira",
            StatusCode::NOT_FOUND,
            &HeaderMap::new(),
            "{\"errorMessages\":[\"Issue does not exist or you do not have permission to see it.\"],\"errors\":{}}",
        );
        assert_eq!(
            missing.to_string(),
            "Jira answered 404 Not Found: Issue does not exist or you do not have permission to see it."
        );
        assert!(!missing.is_transient());
        assert!(
            TicketError::from_answer("RT", StatusCode::BAD_GATEWAY, &HeaderMap::new(), "")
                .is_transient()
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        assert_eq!(
            retry_after(&headers("Wed, 25 Nov 2026 10:00:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after(&headers("999999"), now), Some(RETRY_AFTER_CAP));
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn long_error_pages_are_cut() {
        let page = "<html>".to_string() + &"x".repeat(2000);
        assert!(helpdesk_message(&page).chars().count() <= MESSAGE_LIMIT + 1);
    }
}

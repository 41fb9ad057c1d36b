//! Help requests: a user's words with a snapshot, found again by the support code they read
//! out, and turned into a built-in ticket.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::snapshots::store_snapshot;
use super::tickets::{attach, fetch_ticket, insert_ticket};
use super::{
    Actor, HelpOutcome, HelpRequest, HelpStatus, NewSnapshot, NewTicket, Store, StoreError,
    SupportCode, TicketFromHelp, audit, millis, now, time, uuid,
};

/// Fresh codes tried before giving up; with 27^6 codes a second try is already rare.
const CODE_ATTEMPTS: u32 = 16;

/// Longest ticket title made from a user's words, in characters.
const TITLE_CHARS: usize = 80;

macro_rules! help_query {
    ($filter:literal, $limit:literal) => {
        concat!(
            "SELECT h.id, h.support_code, h.text, h.device_id, COALESCE(d.hostname, a.hostname) AS hostname, \
                    h.snapshot_id, h.status, h.ticket_id, h.created_at \
             FROM help_requests h JOIN devices d ON d.id = h.device_id JOIN agents a ON a.id = d.agent_id ",
            $filter,
            // Open first, then those with a ticket, then closed; newest first within each.
            " ORDER BY CASE h.status WHEN 'open' THEN 0 WHEN 'ticketed' THEN 1 ELSE 2 END, h.created_at DESC, h.id DESC ",
            $limit
        )
    };
}

/// Most help requests one listing returns.
const LIST_LIMIT: i64 = 500;

impl Store {
    /// Stores the snapshot (as [`Store::ingest`] does) and opens a help request with a support
    /// code no other live request uses. A repeat with the same snapshot returns the first
    /// request again (`duplicate`), so an agent's retry never makes a second code.
    pub async fn create_help_request(
        &self,
        snapshot: NewSnapshot,
        text: String,
    ) -> Result<HelpOutcome, StoreError> {
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let stored = store_snapshot(connection, &snapshot).await?;
                    if stored.duplicate {
                        let existing = sqlx::query("SELECT id, support_code FROM help_requests WHERE snapshot_id = $1")
                            .bind(snapshot.id.to_string())
                            .fetch_optional(&mut *connection)
                            .await?;
                        if let Some(existing) = existing {
                            return Ok(HelpOutcome {
                                support_code: support_code(&existing)?,
                                help_request_id: uuid(&existing, "id")?,
                                snapshot_id: snapshot.id,
                                duplicate: true,
                            });
                        }
                    }
                    let support_code = free_code(connection).await?;
                    let id = Uuid::now_v7();
                    sqlx::query(
                        "INSERT INTO help_requests (id, support_code, text, device_id, snapshot_id, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(id.to_string())
                    .bind(support_code.compact())
                    .bind(&text)
                    .bind(stored.device_id.to_string())
                    .bind(snapshot.id.to_string())
                    .bind(HelpStatus::Open.as_str())
                    .bind(millis(now()))
                    .execute(&mut *connection)
                    .await?;
                    let detail = json!({ "support_code": support_code, "snapshot_id": snapshot.id });
                    audit::record(connection, &Actor::Agent(snapshot.agent_id), "help_request.create", "help_request", &id.to_string(), detail)
                        .await?;
                    Ok(HelpOutcome { support_code, help_request_id: id, snapshot_id: snapshot.id, duplicate: false })
                })
            })
            .await
    }

    /// Help requests, open first then newest; only those with `code` when given.
    pub async fn list_help_requests(
        &self,
        code: Option<&SupportCode>,
    ) -> Result<Vec<HelpRequest>, StoreError> {
        sqlx::query(help_query!(
            "WHERE $1 = '' OR h.support_code = $1",
            "LIMIT $2"
        ))
        .bind(code.map_or("", SupportCode::compact))
        .bind(LIST_LIMIT)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(help_request)
        .collect()
    }

    /// The help request a support code names: the live one, else the newest closed one.
    pub async fn help_request(&self, code: &SupportCode) -> Result<HelpRequest, StoreError> {
        sqlx::query(help_query!("WHERE h.support_code = $1", "LIMIT 1"))
            .bind(code.compact())
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(help_request)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound {
                what: "help request",
                id: code.to_string(),
            })
    }

    /// Makes a built-in ticket from the help request `code` names: titled with the user's
    /// words, for their device, with the snapshot attached; the request becomes `ticketed`. A
    /// request that has a ticket already returns that ticket (`created: false`).
    pub async fn ticket_from_help_request(
        &self,
        code: &SupportCode,
        actor: &Actor,
    ) -> Result<TicketFromHelp, StoreError> {
        let (code, actor) = (code.clone(), actor.clone());
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let request = sqlx::query(help_query!("WHERE h.support_code = $1", "LIMIT 1"))
                        .bind(code.compact())
                        .fetch_optional(&mut *connection)
                        .await?
                        .as_ref()
                        .map(help_request)
                        .transpose()?
                        .ok_or_else(|| StoreError::NotFound {
                            what: "help request",
                            id: code.to_string(),
                        })?;
                    if let Some(ticket_id) = request.ticket_id {
                        return Ok(TicketFromHelp {
                            ticket: fetch_ticket(connection, ticket_id).await?,
                            created: false,
                        });
                    }
                    let new_ticket = NewTicket {
                        title: ticket_title(&request.text),
                        body: format!(
                            "{}\n\nSupport code {} from {}.",
                            request.text,
                            request.support_code,
                            request.hostname.as_deref().unwrap_or("an unnamed device")
                        ),
                        device_id: Some(request.device_id),
                    };
                    let ticket = insert_ticket(connection, &new_ticket, &actor).await?;
                    let note = format!("Help request {}", request.support_code);
                    attach(connection, ticket.id, request.snapshot_id, &note, &actor).await?;
                    sqlx::query(
                        "UPDATE help_requests SET status = $1, ticket_id = $2 WHERE id = $3",
                    )
                    .bind(HelpStatus::Ticketed.as_str())
                    .bind(ticket.id)
                    .bind(request.id.to_string())
                    .execute(&mut *connection)
                    .await?;
                    let detail = json!({ "ticket_id": ticket.id });
                    audit::record(
                        connection,
                        &actor,
                        "help_request.ticket",
                        "help_request",
                        &request.id.to_string(),
                        detail,
                    )
                    .await?;
                    // Re-read: attaching moved `updated_at`.
                    Ok(TicketFromHelp {
                        ticket: fetch_ticket(connection, ticket.id).await?,
                        created: true,
                    })
                })
            })
            .await
    }

    /// Live help requests from a device, newest first.
    pub(super) async fn live_help_requests(
        &self,
        device_id: Uuid,
    ) -> Result<Vec<HelpRequest>, StoreError> {
        sqlx::query(help_query!(
            "WHERE h.device_id = $1 AND h.status <> 'closed'",
            ""
        ))
        .bind(device_id.to_string())
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(help_request)
        .collect()
    }
}

/// A code no live request uses. The unique index on live codes is the real guard; checking
/// first keeps the transaction clean (a failed insert would abort it on PostgreSQL).
async fn free_code(connection: &mut AnyConnection) -> Result<SupportCode, StoreError> {
    for _ in 0..CODE_ATTEMPTS {
        let code = SupportCode::random();
        let taken = sqlx::query(
            "SELECT 1 FROM help_requests WHERE support_code = $1 AND status <> 'closed'",
        )
        .bind(code.compact())
        .fetch_optional(&mut *connection)
        .await?;
        if taken.is_none() {
            return Ok(code);
        }
    }
    Err(StoreError::SupportCodesExhausted(CODE_ATTEMPTS))
}

/// The first line of the user's words, shortened to fit a title.
fn ticket_title(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("Help request");
    if line.chars().count() <= TITLE_CHARS {
        return line.to_string();
    }
    let mut title: String = line.chars().take(TITLE_CHARS - 1).collect();
    title.push('…');
    title
}

fn support_code(row: &AnyRow) -> Result<SupportCode, StoreError> {
    let code: String = row.try_get("support_code")?;
    SupportCode::parse(&code)
        .ok_or_else(|| super::model::corrupt("help_requests", &code, "support_code", &code))
}

fn help_request(row: &AnyRow) -> Result<HelpRequest, StoreError> {
    let id = uuid(row, "id")?;
    let status: String = row.try_get("status")?;
    Ok(HelpRequest {
        id,
        support_code: support_code(row)?,
        text: row.try_get("text")?,
        device_id: uuid(row, "device_id")?,
        hostname: row.try_get("hostname")?,
        snapshot_id: uuid(row, "snapshot_id")?,
        status: HelpStatus::parse(&id.to_string(), &status)?,
        ticket_id: row.try_get("ticket_id")?,
        created_at: time(row.try_get("created_at")?),
    })
}

#[cfg(test)]
mod tests {
    use super::ticket_title;

    #[test]
    fn ticket_titles_take_the_first_line_and_shorten_it() {
        assert_eq!(
            ticket_title("\n  printer won't print \nsince Monday"),
            "printer won't print"
        );
        assert_eq!(ticket_title("   "), "Help request");
        let long = "é".repeat(100);
        let title = ticket_title(&long);
        assert_eq!(title.chars().count(), 80);
        assert!(title.ends_with('…'));
    }
}

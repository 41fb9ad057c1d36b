//! Built-in tickets: create, list, read with comments and attachments, comment, close, and
//! attach snapshots (once per ticket and snapshot, however often it is retried).

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::model::{Actor, parse_severity};
use super::{
    AttachOutcome, Attachment, Comment, HelpStatus, NewTicket, Store, StoreError, Ticket,
    TicketDetail, TicketStatus, audit, millis, now, optional_uuid, time, uuid,
};

macro_rules! ticket_columns {
    () => {
        "id, title, body, status, device_id, created_at, updated_at, created_by_kind, created_by_id"
    };
}

macro_rules! attachment_query {
    ($filter:literal) => {
        concat!(
            "SELECT a.ticket_id, a.snapshot_id, a.note, a.attached_at, a.attached_by_kind, a.attached_by_id, \
                    s.taken_at, s.worst_severity \
             FROM ticket_attachments a JOIN snapshots s ON s.id = a.snapshot_id ",
            $filter
        )
    };
}

/// Most tickets one listing returns.
const LIST_LIMIT: i64 = 500;

impl Store {
    pub async fn create_ticket(
        &self,
        ticket: NewTicket,
        actor: &Actor,
    ) -> Result<Ticket, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |connection| {
                Box::pin(async move { insert_ticket(connection, &ticket, &actor).await })
            })
            .await
    }

    /// Tickets, most recently changed first; only those with `status` when given.
    pub async fn list_tickets(
        &self,
        status: Option<TicketStatus>,
    ) -> Result<Vec<Ticket>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE $1 = '' OR status = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
        ))
        .bind(status.map_or("", TicketStatus::as_str))
        .bind(LIST_LIMIT)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(ticket)
        .collect()
    }

    pub async fn ticket(&self, id: i64) -> Result<TicketDetail, StoreError> {
        let ticket = sqlx::query(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .as_ref()
        .map(ticket)
        .transpose()?
        .ok_or_else(|| ticket_not_found(id))?;
        let comments = sqlx::query(
            "SELECT id, ticket_id, body, created_at, author_kind, author_id FROM ticket_comments WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(comment)
        .collect::<Result<_, _>>()?;
        let attachments = sqlx::query(attachment_query!(
            "WHERE a.ticket_id = $1 ORDER BY a.attached_at, a.snapshot_id"
        ))
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(attachment)
        .collect::<Result<_, _>>()?;
        Ok(TicketDetail {
            ticket,
            comments,
            attachments,
        })
    }

    pub async fn add_comment(
        &self,
        ticket_id: i64,
        body: String,
        actor: &Actor,
    ) -> Result<Comment, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    touch(connection, ticket_id).await?;
                    let at = now();
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO ticket_comments (ticket_id, body, created_at, author_kind, author_id) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(ticket_id)
                    .bind(&body)
                    .bind(millis(at))
                    .bind(actor.kind())
                    .bind(actor.id())
                    .fetch_one(&mut *connection)
                    .await?;
                    audit::record(connection, &actor, "ticket.comment", "ticket", &ticket_id.to_string(), json!({ "comment_id": id }))
                        .await?;
                    Ok(Comment { id, ticket_id, body, created_at: at, author: actor })
                })
            })
            .await
    }

    /// Closes the ticket and the help requests it was made from; closing it again changes nothing.
    pub async fn close_ticket(&self, id: i64, actor: &Actor) -> Result<Ticket, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let closed = sqlx::query("UPDATE tickets SET status = $1, updated_at = $2 WHERE id = $3 AND status <> $1")
                        .bind(TicketStatus::Closed.as_str())
                        .bind(millis(now()))
                        .bind(id)
                        .execute(&mut *connection)
                        .await?
                        .rows_affected();
                    if closed > 0 {
                        sqlx::query("UPDATE help_requests SET status = $1 WHERE ticket_id = $2")
                            .bind(HelpStatus::Closed.as_str())
                            .bind(id)
                            .execute(&mut *connection)
                            .await?;
                        audit::record(connection, &actor, "ticket.close", "ticket", &id.to_string(), json!({})).await?;
                    }
                    fetch_ticket(connection, id).await
                })
            })
            .await
    }

    /// Attaches a stored snapshot to a ticket; attaching it again returns the first attachment.
    pub async fn attach_snapshot(
        &self,
        ticket_id: i64,
        snapshot_id: Uuid,
        note: String,
        actor: &Actor,
    ) -> Result<AttachOutcome, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |connection| {
                Box::pin(
                    async move { attach(connection, ticket_id, snapshot_id, &note, &actor).await },
                )
            })
            .await
    }
}

pub(super) async fn insert_ticket(
    connection: &mut AnyConnection,
    ticket: &NewTicket,
    actor: &Actor,
) -> Result<Ticket, StoreError> {
    if let Some(device_id) = ticket.device_id {
        let device = sqlx::query("SELECT 1 FROM devices WHERE id = $1")
            .bind(device_id.to_string())
            .fetch_optional(&mut *connection)
            .await?;
        if device.is_none() {
            return Err(StoreError::UnknownDevice(device_id));
        }
    }
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (title, body, status, device_id, created_at, updated_at, created_by_kind, created_by_id) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7) RETURNING id",
    )
    .bind(&ticket.title)
    .bind(&ticket.body)
    .bind(TicketStatus::Open.as_str())
    .bind(ticket.device_id.map(|id| id.to_string()))
    .bind(millis(at))
    .bind(actor.kind())
    .bind(actor.id())
    .fetch_one(&mut *connection)
    .await?;
    let detail = json!({ "title": ticket.title, "device_id": ticket.device_id });
    audit::record(
        connection,
        actor,
        "ticket.create",
        "ticket",
        &id.to_string(),
        detail,
    )
    .await?;
    Ok(Ticket {
        id,
        title: ticket.title.clone(),
        body: ticket.body.clone(),
        status: TicketStatus::Open,
        device_id: ticket.device_id,
        created_at: at,
        updated_at: at,
        created_by: actor.clone(),
    })
}

pub(super) async fn attach(
    connection: &mut AnyConnection,
    ticket_id: i64,
    snapshot_id: Uuid,
    note: &str,
    actor: &Actor,
) -> Result<AttachOutcome, StoreError> {
    let ticket_exists = sqlx::query("SELECT 1 FROM tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_optional(&mut *connection)
        .await?;
    if ticket_exists.is_none() {
        return Err(ticket_not_found(ticket_id));
    }
    let snapshot_exists = sqlx::query("SELECT 1 FROM snapshots WHERE id = $1")
        .bind(snapshot_id.to_string())
        .fetch_optional(&mut *connection)
        .await?;
    if snapshot_exists.is_none() {
        return Err(StoreError::UnknownSnapshot(snapshot_id));
    }
    let at = millis(now());
    let created = sqlx::query(
        "INSERT INTO ticket_attachments (ticket_id, snapshot_id, note, attached_at, attached_by_kind, attached_by_id) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ticket_id, snapshot_id) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(snapshot_id.to_string())
    .bind(note)
    .bind(at)
    .bind(actor.kind())
    .bind(actor.id())
    .execute(&mut *connection)
    .await?
    .rows_affected()
        > 0;
    if created {
        touch(connection, ticket_id).await?;
        let detail = json!({ "snapshot_id": snapshot_id, "note": note });
        audit::record(
            connection,
            actor,
            "ticket.attach",
            "ticket",
            &ticket_id.to_string(),
            detail,
        )
        .await?;
    }
    let row = sqlx::query(attachment_query!(
        "WHERE a.ticket_id = $1 AND a.snapshot_id = $2"
    ))
    .bind(ticket_id)
    .bind(snapshot_id.to_string())
    .fetch_one(&mut *connection)
    .await?;
    Ok(AttachOutcome {
        attachment: attachment(&row)?,
        created,
    })
}

pub(super) async fn fetch_ticket(
    connection: &mut AnyConnection,
    id: i64,
) -> Result<Ticket, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *connection)
    .await?
    .ok_or_else(|| ticket_not_found(id))?;
    ticket(&row)
}

/// Marks the ticket changed now; fails with not found when it does not exist.
async fn touch(connection: &mut AnyConnection, id: i64) -> Result<(), StoreError> {
    let changed = sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
        .bind(millis(now()))
        .bind(id)
        .execute(&mut *connection)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(ticket_not_found(id));
    }
    Ok(())
}

fn ticket_not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        what: "ticket",
        id: id.to_string(),
    }
}

fn ticket(row: &AnyRow) -> Result<Ticket, StoreError> {
    let id: i64 = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    Ok(Ticket {
        id,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        status: TicketStatus::parse(id, &status)?,
        device_id: optional_uuid(row, "device_id")?,
        created_at: time(row.try_get("created_at")?),
        updated_at: time(row.try_get("updated_at")?),
        created_by: actor(row, "tickets", "created_by_kind", "created_by_id")?,
    })
}

fn comment(row: &AnyRow) -> Result<Comment, StoreError> {
    Ok(Comment {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        body: row.try_get("body")?,
        created_at: time(row.try_get("created_at")?),
        author: actor(row, "ticket_comments", "author_kind", "author_id")?,
    })
}

fn attachment(row: &AnyRow) -> Result<Attachment, StoreError> {
    let snapshot_id = uuid(row, "snapshot_id")?;
    let severity: String = row.try_get("worst_severity")?;
    Ok(Attachment {
        ticket_id: row.try_get("ticket_id")?,
        snapshot_id,
        note: row.try_get("note")?,
        attached_at: time(row.try_get("attached_at")?),
        attached_by: actor(
            row,
            "ticket_attachments",
            "attached_by_kind",
            "attached_by_id",
        )?,
        taken_at: time(row.try_get("taken_at")?),
        worst_severity: parse_severity("snapshots", &snapshot_id.to_string(), &severity)?,
    })
}

pub(super) fn actor(
    row: &AnyRow,
    table: &'static str,
    kind_column: &str,
    id_column: &str,
) -> Result<Actor, StoreError> {
    let kind: String = row.try_get(kind_column)?;
    let id: Option<String> = row.try_get(id_column)?;
    Actor::parse(table, &kind, id.as_deref())
}

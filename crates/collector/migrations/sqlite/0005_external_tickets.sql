-- Snapshots attached to tickets in external helpdesks (crates/tickets), delivered through this
-- outbox: a row is queued by the specialist's request and worked off by whichever collector
-- replica claims it (leased_until), retried with backoff while the helpdesk is away, and kept
-- as the record of what was attached where. Same rules as 0001.

CREATE TABLE external_attachments (
    id TEXT PRIMARY KEY,
    snapshot_id TEXT NOT NULL REFERENCES snapshots (id),
    -- The connector's name in the config and the ticket's id or key there: rt + 1234.
    connector TEXT NOT NULL,
    ticket_key TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by_kind TEXT NOT NULL,
    created_by_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- A replica delivering it holds it until then; after a crash the lease runs out and the
    -- delivery is tried again (the connectors never attach twice).
    leased_until BIGINT,
    -- The helpdesk's message for the last failure.
    last_error TEXT,
    delivered_at BIGINT,
    -- 'new', or 'already_there' when an earlier try had got through.
    outcome TEXT,
    UNIQUE (snapshot_id, connector, ticket_key)
);

-- The deliveries due, oldest first.
CREATE INDEX external_attachments_due ON external_attachments (next_attempt_at) WHERE status = 'pending';

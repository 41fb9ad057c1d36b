-- The collector's schema. Times are Unix milliseconds (BIGINT), ids are TEXT UUIDs except the
-- ticket, comment and audit numbers people read out. Statements stay within what SQLite and
-- PostgreSQL share; only the column types for binary data and generated ids differ per backend.

CREATE TABLE enrollment_tokens (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    max_uses BIGINT,
    uses BIGINT NOT NULL DEFAULT 0,
    revoked_at BIGINT
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'specialist')),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    hostname TEXT,
    agent_version TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL,
    revoked_at BIGINT,
    enrollment_token_id TEXT NOT NULL REFERENCES enrollment_tokens (id)
);

-- One device per agent, with the agent's id: ingest can then name a snapshot's device without
-- looking it up. The "latest" columns describe the newest snapshot by taken_at.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL UNIQUE REFERENCES agents (id),
    -- NULL until a snapshot tells; readers fall back to the host name given at enrollment.
    hostname TEXT,
    os TEXT,
    -- JSON array of user names, searched as text; NULL until a snapshot tells.
    users TEXT,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    latest_snapshot_id TEXT NOT NULL,
    latest_taken_at BIGINT NOT NULL,
    worst_severity TEXT NOT NULL CHECK (worst_severity IN ('pass', 'warn', 'fail')),
    pass_count BIGINT NOT NULL,
    warn_count BIGINT NOT NULL,
    fail_count BIGINT NOT NULL
);

CREATE INDEX devices_by_last_seen ON devices (last_seen_at);

CREATE TABLE snapshots (
    id TEXT PRIMARY KEY,
    -- Checked at commit: ingest inserts the snapshot first (a conflict there means a repeat)
    -- and creates or updates the device after.
    device_id TEXT NOT NULL REFERENCES devices (id) DEFERRABLE INITIALLY DEFERRED,
    taken_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    trigger_kind TEXT NOT NULL,
    worst_severity TEXT NOT NULL CHECK (worst_severity IN ('pass', 'warn', 'fail')),
    schema_version BIGINT NOT NULL,
    -- The JSON exactly as the agent sent it, zstd-compressed: the agent's own frames when it
    -- sent zstd, else compressed by the collector.
    body_zstd BLOB NOT NULL,
    body_bytes BIGINT NOT NULL
);

CREATE INDEX snapshots_by_device ON snapshots (device_id, taken_at);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    device_id TEXT REFERENCES devices (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    created_by_kind TEXT NOT NULL,
    created_by_id TEXT
);

CREATE TABLE ticket_comments (
    id INTEGER PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    author_kind TEXT NOT NULL,
    author_id TEXT
);

CREATE INDEX ticket_comments_by_ticket ON ticket_comments (ticket_id);

-- The primary key makes attaching idempotent: a retried attach never adds a second row.
CREATE TABLE ticket_attachments (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    snapshot_id TEXT NOT NULL REFERENCES snapshots (id),
    note TEXT NOT NULL,
    attached_at BIGINT NOT NULL,
    attached_by_kind TEXT NOT NULL,
    attached_by_id TEXT,
    PRIMARY KEY (ticket_id, snapshot_id)
);

CREATE TABLE help_requests (
    id TEXT PRIMARY KEY,
    -- Stored without the dash, upper case: "K7P4QX".
    support_code TEXT NOT NULL,
    text TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices (id),
    snapshot_id TEXT NOT NULL UNIQUE REFERENCES snapshots (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'ticketed', 'closed')),
    ticket_id BIGINT REFERENCES tickets (id),
    created_at BIGINT NOT NULL
);

-- A code read out over the phone must name one request while anyone may still look it up.
CREATE UNIQUE INDEX help_requests_live_code ON help_requests (support_code) WHERE status <> 'closed';
CREATE INDEX help_requests_by_device ON help_requests (device_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT,
    -- JSON object.
    detail TEXT NOT NULL
);

CREATE INDEX audit_log_by_at ON audit_log (at);

-- Specialists ask a device for a fresh snapshot; its agent picks the request up on its
-- long-poll and answers with a snapshot that names it. Agents report how many snapshots their
-- spool dropped. Same rules as 0001: Unix milliseconds, TEXT UUIDs, statements SQLite and
-- PostgreSQL share.

-- The status is derived from the times, never stored: done once done_at is set, else expired
-- once expires_at has passed, else delivered once delivered_at is set, else queued. A request
-- delivered long ago and not done is handed out again (the agent may have crashed).
CREATE TABLE snapshot_requests (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    -- JSON array of probe targets, as `sitrep report --target` takes them.
    targets TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    delivered_at BIGINT,
    done_at BIGINT,
    snapshot_id TEXT REFERENCES snapshots (id),
    requested_by_kind TEXT NOT NULL,
    requested_by_id TEXT
);

-- A device's requests, newest first.
CREATE INDEX snapshot_requests_by_device ON snapshot_requests (device_id, created_at);
-- Every long-poll asks for its device's open requests: only those are indexed here, so the
-- answer costs the same however many requests a device has had.
CREATE INDEX snapshot_requests_open ON snapshot_requests (device_id, created_at) WHERE done_at IS NULL;

-- Snapshots the agent's spool dropped (full) since its previous successful upload.
ALTER TABLE snapshots ADD COLUMN spool_dropped BIGINT NOT NULL DEFAULT 0;
-- Their running total per device, kept by ingest so device listings need not sum snapshots.
ALTER TABLE devices ADD COLUMN spool_dropped BIGINT NOT NULL DEFAULT 0;

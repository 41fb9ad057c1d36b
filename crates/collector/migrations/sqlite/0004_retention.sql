-- Snapshot retention (store/retention.rs) removes old snapshots but keeps those something
-- points at: a device's latest snapshot, a ticket attachment, a snapshot request's answer
-- (help requests' snapshot_id is UNIQUE, so indexed already). These indexes let it ask that
-- per candidate without scanning the tables. Same rules as 0001.

CREATE INDEX devices_by_latest_snapshot ON devices (latest_snapshot_id);
CREATE INDEX ticket_attachments_by_snapshot ON ticket_attachments (snapshot_id);
CREATE INDEX snapshot_requests_by_snapshot ON snapshot_requests (snapshot_id);

-- The web UI's login sessions. A person logs in with their API token and gets a session cookie;
-- only the SHA-256 of the cookie's secret is kept, as for every other secret. Same rules as
-- 0001: Unix milliseconds, TEXT UUIDs, statements SQLite and PostgreSQL share.

-- A session lives until expires_at (fixed at login), until it has not been used for a while
-- (last_used_at), until its person logs out (the row is deleted) or until its API token is
-- revoked (readers join api_tokens and ignore sessions of revoked tokens).
CREATE TABLE web_sessions (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    api_token_id TEXT NOT NULL REFERENCES api_tokens (id),
    -- Sent back in every form of the session and compared on every POST. Not a credential on
    -- its own: it is useless without the session cookie.
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);

-- Logins remove expired sessions, oldest expiry first.
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);

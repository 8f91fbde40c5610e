-- Who may call the API (store.Auth): principals, their API tokens (only the
-- SHA-256 of each secret), the access policy as Casbin rule lines with its
-- revision, and the audit log. Times are unix ms; 0 = unset.

CREATE TABLE principals (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,            -- user, service
    unit       TEXT NOT NULL DEFAULT '',
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    principal   TEXT NOT NULL REFERENCES principals (id),
    hash        BLOB NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER NOT NULL DEFAULT 0,
    revoked_at  INTEGER NOT NULL DEFAULT 0
);
-- A principal's tokens, newest first.
CREATE INDEX api_tokens_principal ON api_tokens (principal, created_at DESC, id DESC);
CREATE INDEX api_tokens_created ON api_tokens (created_at DESC, id DESC);

-- One Casbin rule line: ptype and up to six values, unused ones ''.
CREATE TABLE policy_rules (
    ptype TEXT NOT NULL,
    v0    TEXT NOT NULL DEFAULT '',
    v1    TEXT NOT NULL DEFAULT '',
    v2    TEXT NOT NULL DEFAULT '',
    v3    TEXT NOT NULL DEFAULT '',
    v4    TEXT NOT NULL DEFAULT '',
    v5    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (ptype, v0, v1, v2, v3, v4, v5)
);

-- One row: the policy's revision, which grows by one with every change.
CREATE TABLE policy_meta (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO policy_meta (id, revision) VALUES (1, 0);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL DEFAULT '',
    action    TEXT NOT NULL DEFAULT '',
    ticket_id TEXT NOT NULL DEFAULT '',
    fields    TEXT NOT NULL DEFAULT '[]', -- JSON array of field names
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_actor ON audit_log (actor, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, id DESC);
CREATE INDEX audit_log_ticket ON audit_log (ticket_id, id DESC);

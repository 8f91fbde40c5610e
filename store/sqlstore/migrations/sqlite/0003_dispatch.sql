-- Dispatch: the outbox becomes a queue with leases, retries and a dead letter;
-- status updates from backends are applied once; polling adapters keep a
-- cursor; units without a legacy system have an inbox.
ALTER TABLE outbox ADD COLUMN backend TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'; -- pending, done, dead
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN done_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN dead_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN tracking_number TEXT NOT NULL DEFAULT '';
DROP INDEX outbox_ticket;
-- Due messages, in the order they are claimed.
CREATE INDEX outbox_due ON outbox (next_at, id) WHERE state = 'pending';
-- The earliest pending message of a ticket for a unit (delivery order).
CREATE INDEX outbox_order ON outbox (ticket_id, unit, id) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
CREATE INDEX outbox_external ON outbox (backend, external_id) WHERE external_id <> '';

CREATE TABLE applied_updates (
    update_key TEXT PRIMARY KEY,
    ticket_id  TEXT NOT NULL,
    at         INTEGER NOT NULL
);

CREATE TABLE poll_cursors (
    backend    TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE inbox (
    idem_key      TEXT PRIMARY KEY,
    unit          TEXT NOT NULL,
    ticket_id     TEXT NOT NULL,
    topic         TEXT NOT NULL,
    payload       BLOB,
    created_at    INTEGER NOT NULL,
    claimed_by    TEXT NOT NULL DEFAULT '',
    claimed_until INTEGER NOT NULL DEFAULT 0,
    acked_by      TEXT NOT NULL DEFAULT '',
    acked_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX inbox_open ON inbox (unit, created_at, idem_key) WHERE acked_at = 0;

-- Tickets: the queried attributes as columns, the whole ticket as JSON in doc.
CREATE TABLE tickets (
    id               TEXT PRIMARY KEY,
    tracking_number  TEXT NOT NULL UNIQUE,
    state            TEXT NOT NULL,
    handling_unit    TEXT NOT NULL DEFAULT '',
    category         TEXT NOT NULL DEFAULT '',
    dialed_number    TEXT NOT NULL DEFAULT '',
    sign_by          INTEGER NOT NULL DEFAULT 0, -- unix ms; 0 = unset
    reply_by         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    idem_key         TEXT,
    idem_fingerprint TEXT,
    doc              TEXT NOT NULL
);
CREATE UNIQUE INDEX tickets_idem_key ON tickets (idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX tickets_state ON tickets (state, id);
CREATE INDEX tickets_handling_unit ON tickets (handling_unit, id);
CREATE INDEX tickets_dialed_number ON tickets (dialed_number, id);
CREATE INDEX tickets_category ON tickets (category, id);
CREATE INDEX tickets_created_at ON tickets (created_at);

-- Co-handling units (协办), for lists and access rules.
CREATE TABLE ticket_units (
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    unit      TEXT NOT NULL,
    PRIMARY KEY (ticket_id, unit)
);
CREATE INDEX ticket_units_unit ON ticket_units (unit, ticket_id);

-- The append-only history.
CREATE TABLE events (
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    seq        INTEGER NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL DEFAULT '',
    to_state   TEXT NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT '{}',
    at         INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);

-- Deliveries to department systems, written with the change they report.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    topic      TEXT NOT NULL,
    unit       TEXT NOT NULL DEFAULT '',
    idem_key   TEXT NOT NULL,
    payload    BLOB,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_ticket ON outbox (ticket_id, seq);

-- Tracking number blocks: next is the last number handed out for the day.
CREATE TABLE tracking_counters (
    day  TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);

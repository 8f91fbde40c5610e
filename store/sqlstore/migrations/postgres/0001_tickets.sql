-- Tickets: the queried attributes as columns, the whole ticket as JSON in doc.
CREATE TABLE tickets (
    id               TEXT COLLATE "C" PRIMARY KEY,
    tracking_number  TEXT NOT NULL UNIQUE,
    state            TEXT NOT NULL,
    handling_unit    TEXT NOT NULL DEFAULT '',
    category         TEXT COLLATE "C" NOT NULL DEFAULT '',
    dialed_number    TEXT NOT NULL DEFAULT '',
    sign_by          BIGINT NOT NULL DEFAULT 0, -- unix ms; 0 = unset
    reply_by         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    version          BIGINT NOT NULL,
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
    seq        BIGINT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL DEFAULT '',
    to_state   TEXT NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT '{}',
    at         BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);

-- Deliveries to department systems, written with the change they report.
CREATE TABLE outbox (
    id         BIGSERIAL PRIMARY KEY,
    ticket_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    topic      TEXT NOT NULL,
    unit       TEXT NOT NULL DEFAULT '',
    idem_key   TEXT NOT NULL,
    payload    BYTEA,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_ticket ON outbox (ticket_id, seq);

-- Tracking number blocks: next is the last number handed out for the day.
CREATE TABLE tracking_counters (
    day  TEXT PRIMARY KEY,
    next BIGINT NOT NULL
);

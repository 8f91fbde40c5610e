-- The embedded registry (registry.Source on one node): the province file as it
-- was last imported, the hotlines' current statuses and their history.

-- One row: the registry's revision, which grows with every change.
CREATE TABLE registry_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    revision    INTEGER NOT NULL,
    province    TEXT NOT NULL DEFAULT '',
    imported_by TEXT NOT NULL DEFAULT '',
    imported_at INTEGER NOT NULL DEFAULT 0 -- unix ms; 0 = never
);
INSERT INTO registry_state (id, revision) VALUES (1, 0);

-- Units in file order (parents before children), each as JSON.
CREATE TABLE registry_units (
    position INTEGER PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,
    doc      TEXT NOT NULL
);

CREATE TABLE registry_backends (
    position INTEGER PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,
    doc      TEXT NOT NULL
);

-- One row per use of a number; valid_from is YYYY-MM-DD, '' when open.
CREATE TABLE registry_hotlines (
    number     TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    doc        TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    PRIMARY KEY (number, valid_from)
);

-- Status changes by number, kept across imports.
CREATE TABLE registry_history (
    number TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    doc    TEXT NOT NULL,
    PRIMARY KEY (number, seq)
);

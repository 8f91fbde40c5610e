-- Reference data (store.Taxonomies, store.Knowledge): the category tree in
-- immutable versions, one per import, and the knowledge base's entries
-- (答复口径) under one revision counter. Times are unix ms; 0 = unset. Keys
-- sort bytewise (COLLATE "C"), as on SQLite.

-- One row: the newest taxonomy version number; the update that takes the
-- next one serialises imports.
CREATE TABLE taxonomy_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO taxonomy_meta (id, version) VALUES (1, 0);

CREATE TABLE taxonomy_versions (
    version    BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT '',
    categories INTEGER NOT NULL          -- how many
);

-- The tree of a version, a row per category, in import order (position).
CREATE TABLE taxonomy_categories (
    version  BIGINT NOT NULL REFERENCES taxonomy_versions (version),
    code     TEXT COLLATE "C" NOT NULL,
    position INTEGER NOT NULL,
    name     TEXT NOT NULL,
    level    INTEGER NOT NULL,
    parent   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (version, code)
);
CREATE UNIQUE INDEX taxonomy_categories_position ON taxonomy_categories (version, position);

-- One row: the knowledge base's revision, which grows by one with every
-- change; its row lock serialises the changes.
CREATE TABLE kb_meta (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO kb_meta (id, revision) VALUES (1, 0);

CREATE TABLE kb_entries (
    id          TEXT COLLATE "C" PRIMARY KEY,
    title       TEXT NOT NULL,
    answer      TEXT NOT NULL,
    category    TEXT COLLATE "C" NOT NULL DEFAULT '',
    unit        TEXT COLLATE "C" NOT NULL DEFAULT '',
    valid_from  BIGINT NOT NULL DEFAULT 0,
    valid_until BIGINT NOT NULL DEFAULT 0,
    keywords    TEXT NOT NULL DEFAULT '[]', -- JSON array
    source      TEXT NOT NULL DEFAULT '',
    revision    BIGINT NOT NULL,            -- the knowledge base's revision of its last change
    created_at  BIGINT NOT NULL DEFAULT 0,
    created_by  TEXT NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL DEFAULT 0,
    updated_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX kb_entries_category ON kb_entries (category, id);
CREATE INDEX kb_entries_unit ON kb_entries (unit, id);

-- Routing rules of the embedded registry (registry.Rule): category prefix ×
-- region prefix → unit, in file order, each as JSON. Replaced with the rest of
-- the registry by every import.
CREATE TABLE registry_rules (
    position BIGINT PRIMARY KEY,
    doc      TEXT NOT NULL
);

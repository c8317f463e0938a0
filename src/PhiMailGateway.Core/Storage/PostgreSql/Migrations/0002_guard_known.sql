-- The misdirection guard's knowledge (see the SQLite migration 0009): addresses and @domains IT
-- vouches for and addresses senders confirmed. guard_state.known_version changes with every change
-- here, so every instance (and the CLI) sees edits made elsewhere.
CREATE TABLE guard_known (
    entry       TEXT    NOT NULL PRIMARY KEY,
    source      TEXT    NOT NULL,
    added_at    BIGINT  NOT NULL,
    added_by    TEXT
);

CREATE TABLE guard_state (
    id              INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    known_version   BIGINT  NOT NULL
);
INSERT INTO guard_state (id, known_version) VALUES (1, 0);

-- The guard joins disclosures to their Relayed events by delivery and recipient, without regard to case.
CREATE INDEX ix_disclosures_delivery_recipient ON disclosures (delivery_id, lower(recipient));

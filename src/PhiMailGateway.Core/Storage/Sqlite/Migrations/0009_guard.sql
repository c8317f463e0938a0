-- The misdirection guard's knowledge (issue 17). What the audit log says was delivered is read
-- from the audit tables themselves; this table holds what people added: addresses and @domains
-- IT vouches for (`guard known add`, `guard known import`), and addresses a sender confirmed with
-- "Send anyway". guard_state.known_version changes with every change here, so a running gateway
-- sees edits made by the CLI in another process.
CREATE TABLE guard_known (
    entry       TEXT    NOT NULL PRIMARY KEY,  -- lower-case address, or @domain in its ASCII form
    source      TEXT    NOT NULL,              -- 'it' or 'confirmed'
    added_at    INTEGER NOT NULL,              -- unix milliseconds, UTC
    added_by    TEXT                           -- who: a CLI user marker or the confirming sender
);

CREATE TABLE guard_state (
    id              INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    known_version   INTEGER NOT NULL
);
INSERT INTO guard_state (id, known_version) VALUES (1, 0);

-- The guard reads, per message, who received a patient before and which addresses were delivered
-- to: both join the audit's disclosures to their Relayed events by delivery.
CREATE INDEX ix_disclosures_delivery ON disclosures (delivery_id);
CREATE INDEX ix_audit_events_delivery ON audit_events (delivery_id);

-- The queue, the audit chain and what the queue's transactions also write (guard holds), shared by
-- every gateway instance on this database. Same tables and columns as the SQLite schema, so the
-- row classes and `storage copy` map one to one; times are unix milliseconds (UTC) in BIGINT.
-- The other stores (pickup, users, certificates, guard knowledge) follow in later migrations.

-- Inbound messages. lease_owner/lease_until: the instance (Gateway:NodeName) that claimed the
-- message for processing and until when; once lease_until has passed, any instance may claim it.
CREATE TABLE messages (
    queue_id         TEXT    NOT NULL PRIMARY KEY,
    state            TEXT    NOT NULL,  -- Received, Processed, Held, Rejected, Corrupt, Done
    sender           TEXT    NOT NULL,
    recipient_count  BIGINT  NOT NULL,
    size             BIGINT  NOT NULL,
    spool_path       TEXT    NOT NULL,
    received_at      BIGINT  NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    last_error       TEXT,
    lease_owner      TEXT,
    lease_until      BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX ix_messages_state_next ON messages (state, next_attempt_at);

-- Outbound copies to relay, written in one transaction with the decision that made them.
CREATE TABLE deliveries (
    delivery_id      TEXT    NOT NULL PRIMARY KEY,
    queue_id         TEXT    NOT NULL REFERENCES messages (queue_id),
    sender           TEXT    NOT NULL,
    content_path     TEXT    NOT NULL,
    content_offset   BIGINT  NOT NULL,
    action           TEXT    NOT NULL,
    rule_name        TEXT,
    require_tls      BOOLEAN NOT NULL,
    is_dsn           BOOLEAN NOT NULL,
    created_at       BIGINT  NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    state            TEXT    NOT NULL,  -- Pending, Done
    last_error       TEXT,
    lease_owner      TEXT,
    lease_until      BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX ix_deliveries_state_next ON deliveries (state, next_attempt_at);
CREATE INDEX ix_deliveries_queue ON deliveries (queue_id);

CREATE TABLE delivery_recipients (
    delivery_id  TEXT    NOT NULL REFERENCES deliveries (delivery_id),
    recipient    TEXT    NOT NULL,
    status       TEXT    NOT NULL,  -- Pending, Delivered, Failed, FellBack
    code         BIGINT,
    response     TEXT,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (delivery_id, recipient)
);

-- The misdirection guard's held copies and the sender's links (see the SQLite migrations 0010).
CREATE TABLE guard_holds (
    hold_id          TEXT    NOT NULL PRIMARY KEY,
    queue_id         TEXT    NOT NULL REFERENCES messages (queue_id),
    recipient        TEXT    NOT NULL,
    reasons          TEXT    NOT NULL,
    checks           TEXT    NOT NULL,
    state            TEXT    NOT NULL,  -- Held, Released, Sent, Cancelled, Expired
    created_at       BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    decided_at       BIGINT,
    decided_by       TEXT,
    decision_reason  TEXT,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL DEFAULT 0,
    last_error       TEXT
);
CREATE INDEX ix_guard_holds_state ON guard_holds (state, expires_at);
CREATE INDEX ix_guard_holds_queue ON guard_holds (queue_id);

CREATE TABLE guard_links (
    token_hash  TEXT    NOT NULL PRIMARY KEY,
    queue_id    TEXT    NOT NULL REFERENCES messages (queue_id),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX ix_guard_links_queue ON guard_links (queue_id);

-- The audit log (HIPAA 164.528, 164.312(b)): one append-only hash chain across disclosures and
-- audit_events, seq global over both. Every instance appends to the same chain: an append holds
-- the chain's transaction-level advisory lock (PostgreSqlAuditChain), so head and append of two
-- instances cannot interleave. Triggers refuse UPDATE, DELETE and TRUNCATE.
CREATE TABLE disclosures (
    seq                 BIGINT  NOT NULL PRIMARY KEY,
    prev_mac            TEXT    NOT NULL,
    mac                 TEXT    NOT NULL,
    recorded_at         BIGINT  NOT NULL,
    queue_id            TEXT    NOT NULL,
    message_id          TEXT,
    delivery_id         TEXT,
    authenticated_user  TEXT,
    sender              TEXT    NOT NULL,
    recipient           TEXT    NOT NULL,
    recipient_name      TEXT,
    action              TEXT    NOT NULL,
    rule_name           TEXT,
    purpose             TEXT,
    reference           TEXT,
    phi_count           BIGINT  NOT NULL,
    phi_kinds           TEXT    NOT NULL,
    phi_parts           TEXT    NOT NULL,
    patients_enc        TEXT,
    key_id              TEXT    NOT NULL
);
CREATE INDEX ix_disclosures_recorded ON disclosures (recorded_at);
CREATE INDEX ix_disclosures_queue ON disclosures (queue_id);
CREATE INDEX ix_disclosures_delivery ON disclosures (delivery_id);

CREATE TABLE disclosure_patients (
    disclosure_seq  BIGINT  NOT NULL REFERENCES disclosures (seq),
    patient_lookup  TEXT    NOT NULL,
    PRIMARY KEY (disclosure_seq, patient_lookup)
);
CREATE INDEX ix_disclosure_patients_lookup ON disclosure_patients (patient_lookup);

CREATE TABLE audit_events (
    seq             BIGINT  NOT NULL PRIMARY KEY,
    prev_mac        TEXT    NOT NULL,
    mac             TEXT    NOT NULL,
    recorded_at     BIGINT  NOT NULL,
    type            TEXT    NOT NULL,
    queue_id        TEXT,
    delivery_id     TEXT,
    recipient       TEXT,
    detail          TEXT,
    package_id      TEXT,
    client_address  TEXT,
    user_agent      TEXT,
    file_sha256     TEXT
);
CREATE INDEX ix_audit_events_queue ON audit_events (queue_id);
CREATE INDEX ix_audit_events_package ON audit_events (package_id);
CREATE INDEX ix_audit_events_delivery ON audit_events (delivery_id);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER disclosures_no_delete BEFORE DELETE ON disclosures FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER disclosures_no_truncate BEFORE TRUNCATE ON disclosures FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER disclosure_patients_no_update BEFORE UPDATE ON disclosure_patients FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER disclosure_patients_no_delete BEFORE DELETE ON disclosure_patients FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER disclosure_patients_no_truncate BEFORE TRUNCATE ON disclosure_patients FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- One row the queue worker rewrites while queue work is paused because the database could not
-- write: a probe that commits means real writes can commit again.
CREATE TABLE storage_probe (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    probed_at  BIGINT  NOT NULL
);
INSERT INTO storage_probe (id, probed_at) VALUES (1, 0);

-- The audit log (HIPAA 164.528 accounting of disclosures, 164.312(b) audit controls).
-- One append-only chain runs across disclosures and audit_events: seq is global (1, 2, 3, ...
-- over both tables), and each row's mac = HMAC-SHA256(chain key, prev_mac || canonical content)
-- (see Audit/AuditChain.cs for the canonical content). Triggers refuse UPDATE and DELETE: records
-- are never changed or removed by the gateway (retention: Audit:RetentionYears, at least 6; there
-- is no deletion path at all). Patient identifiers are stored only encrypted (patients_enc,
-- AES-256-GCM with a key derived from the master key, key_id says which); disclosure_patients
-- holds keyed hashes of the normalized PatientIDs for `audit export --patient`.

-- One row per message per recipient: what was disclosed to whom, how and why.
CREATE TABLE disclosures (
    seq                 INTEGER NOT NULL PRIMARY KEY,
    prev_mac            TEXT    NOT NULL,
    mac                 TEXT    NOT NULL,
    recorded_at         INTEGER NOT NULL,  -- unix milliseconds, UTC
    queue_id            TEXT    NOT NULL,
    message_id          TEXT,
    delivery_id         TEXT,              -- null for Reject: nothing was queued for that recipient
    authenticated_user  TEXT,
    sender              TEXT    NOT NULL,
    recipient           TEXT    NOT NULL,
    recipient_name      TEXT,              -- display name from To/Cc, when the message had one
    action              TEXT    NOT NULL,  -- Smime, Pickup, RequireTls, Relay, Reject
    rule_name           TEXT,
    purpose             TEXT,
    reference           TEXT,              -- pickup package id or certificate thumbprint
    phi_count           INTEGER NOT NULL,  -- protected parts (dental images) in the message
    phi_kinds           TEXT    NOT NULL,  -- distinct kinds, comma-separated
    phi_parts           TEXT    NOT NULL,  -- per protected part: kind/format/size/sha256, ';'-separated
    patients_enc        TEXT,              -- base64(nonce || ciphertext || tag) of the patients JSON
    key_id              TEXT    NOT NULL
);
CREATE INDEX ix_disclosures_recorded ON disclosures (recorded_at);
CREATE INDEX ix_disclosures_queue ON disclosures (queue_id);

-- Keyed hashes (HMAC-SHA256, derived key) of the normalized PatientIDs of a disclosure. Covered by
-- the MAC of the disclosure they belong to.
CREATE TABLE disclosure_patients (
    disclosure_seq  INTEGER NOT NULL REFERENCES disclosures (seq),
    patient_lookup  TEXT    NOT NULL,
    PRIMARY KEY (disclosure_seq, patient_lookup)
);
CREATE INDEX ix_disclosure_patients_lookup ON disclosure_patients (patient_lookup);

-- What happened after a disclosure: relayed, deferred, bounced, rejected, certificate fallback,
-- pickup code sent / verified / viewed / downloaded / revoked / expired.
CREATE TABLE audit_events (
    seq             INTEGER NOT NULL PRIMARY KEY,
    prev_mac        TEXT    NOT NULL,
    mac             TEXT    NOT NULL,
    recorded_at     INTEGER NOT NULL,
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

CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER disclosures_no_delete BEFORE DELETE ON disclosures
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER disclosure_patients_no_update BEFORE UPDATE ON disclosure_patients
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER disclosure_patients_no_delete BEFORE DELETE ON disclosure_patients
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;

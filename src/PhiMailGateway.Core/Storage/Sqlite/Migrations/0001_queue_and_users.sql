-- Inbound messages: one row per accepted spool file. The spool file is the truth; this row is
-- its index and scheduling state, rebuilt from the file by the start-up rescan if it is missing.
CREATE TABLE messages (
    queue_id         TEXT    NOT NULL PRIMARY KEY,
    state            TEXT    NOT NULL,  -- Received, Processed, Held, Rejected, Done
    sender           TEXT    NOT NULL,
    recipient_count  INTEGER NOT NULL,
    size             INTEGER NOT NULL,
    spool_path       TEXT    NOT NULL,
    received_at      INTEGER NOT NULL,  -- unix milliseconds, UTC
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT
);
CREATE INDEX ix_messages_state_next ON messages (state, next_attempt_at);

-- Outbound copies to relay, written in one transaction with the decision that made them.
CREATE TABLE deliveries (
    delivery_id      TEXT    NOT NULL PRIMARY KEY,
    queue_id         TEXT    NOT NULL REFERENCES messages (queue_id),
    sender           TEXT    NOT NULL,
    content_path     TEXT    NOT NULL,
    content_offset   INTEGER NOT NULL,
    action           TEXT    NOT NULL,
    rule_name        TEXT,
    require_tls      INTEGER NOT NULL,
    is_dsn           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    state            TEXT    NOT NULL,  -- Pending, Done
    last_error       TEXT
);
CREATE INDEX ix_deliveries_state_next ON deliveries (state, next_attempt_at);
CREATE INDEX ix_deliveries_queue ON deliveries (queue_id);

CREATE TABLE delivery_recipients (
    delivery_id  TEXT    NOT NULL REFERENCES deliveries (delivery_id),
    recipient    TEXT    NOT NULL,
    status       TEXT    NOT NULL,  -- Pending, Delivered, Failed
    code         INTEGER,
    response     TEXT,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, recipient)
);

-- SMTP AUTH accounts; password_hash is a self-describing PBKDF2-SHA256 string, never a password.
CREATE TABLE users (
    name           TEXT    NOT NULL PRIMARY KEY,
    password_hash  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

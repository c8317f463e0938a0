-- Copies the misdirection guard holds until the sender (or IT) decides (issue 17). A held copy is
-- part of its message: the message is not Done, and its spool file stays, while any of its holds
-- is Held or Released. The row is written in the transaction that commits the message's other
-- copies and their disclosure records, so a crash leaves either both or neither.
CREATE TABLE guard_holds (
    hold_id          TEXT    NOT NULL PRIMARY KEY,  -- {queue_id}-H{n}
    queue_id         TEXT    NOT NULL REFERENCES messages (queue_id),
    recipient        TEXT    NOT NULL,
    reasons          TEXT    NOT NULL,              -- the sender's plain words, one per line
    checks           TEXT    NOT NULL,              -- the checks that held it, comma-separated
    state            TEXT    NOT NULL,              -- Held, Released, Sent, Cancelled, Expired
    created_at       INTEGER NOT NULL,              -- unix milliseconds, UTC
    expires_at       INTEGER NOT NULL,
    decided_at       INTEGER,
    decided_by       TEXT,                          -- 'sender' or the OS user of the CLI
    decision_reason  TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,    -- failed tries to make a released copy
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT
);
CREATE INDEX ix_guard_holds_state ON guard_holds (state, expires_at);
CREATE INDEX ix_guard_holds_queue ON guard_holds (queue_id);

-- The sender's page of one message, /g/{token}: its held copies (Send anyway, Don't send), copies
-- still waiting out Guard:SendDelay (Recall) and pickup copies not yet opened (Revoke). One link
-- per message, sent in the hold notice and the receipt; only the token's SHA-256 is stored.
CREATE TABLE guard_links (
    token_hash  TEXT    NOT NULL PRIMARY KEY,
    queue_id    TEXT    NOT NULL REFERENCES messages (queue_id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX ix_guard_links_queue ON guard_links (queue_id);

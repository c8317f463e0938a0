-- Pickup packages: one per recipient of a Pickup copy. Content and key are deleted when the
-- package expires or is revoked, but the row stays, so `pickup list` and the audit can still name it.
CREATE TABLE pickup_packages (
    package_id      TEXT    NOT NULL PRIMARY KEY,
    token_hash      TEXT    NOT NULL UNIQUE,   -- SHA-256 (hex) of the link token; the token is never stored
    queue_id        TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    sender          TEXT    NOT NULL,          -- the From of the message, shown as "sent by"
    scope           TEXT    NOT NULL,          -- Attachments, WholeMessage
    file_count      INTEGER NOT NULL,
    total_bytes     INTEGER NOT NULL,
    key_id          TEXT    NOT NULL,          -- MasterKey.KeyId of the key that wrapped wrapped_key
    wrapped_key     BLOB,                      -- AES-GCM wrapped package key; NULL once purged
    created_at      INTEGER NOT NULL,          -- unix milliseconds, UTC
    expires_at      INTEGER NOT NULL,
    max_downloads   INTEGER NOT NULL,
    download_count  INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL,          -- Active, Revoked, Expired
    revoked_at      INTEGER,
    purged_at       INTEGER,
    failed_codes    INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER
);
CREATE INDEX ix_pickup_packages_state ON pickup_packages (state, expires_at);

-- The files of a package. The name is sealed under the package key, so it goes with the key.
CREATE TABLE pickup_files (
    package_id    TEXT    NOT NULL REFERENCES pickup_packages (package_id),
    file_index    INTEGER NOT NULL,
    sealed_name   BLOB,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,           -- of the plaintext, for the audit of downloads
    PRIMARY KEY (package_id, file_index)
);

-- One-time codes: HMAC of salt + code under a key derived from the master key; never the code.
CREATE TABLE pickup_codes (
    code_id     TEXT    NOT NULL PRIMARY KEY,
    package_id  TEXT    NOT NULL REFERENCES pickup_packages (package_id),
    salt        BLOB    NOT NULL,
    code_hash   BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX ix_pickup_codes_package ON pickup_codes (package_id, created_at);

-- Signed-in recipients: SHA-256 (hex) of the session cookie's value; never the value.
CREATE TABLE pickup_sessions (
    session_hash  TEXT    NOT NULL PRIMARY KEY,
    package_id    TEXT    NOT NULL REFERENCES pickup_packages (package_id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX ix_pickup_sessions_package ON pickup_sessions (package_id);

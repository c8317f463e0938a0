-- Pickup packages, their files, labels, one-time codes and sessions (see the SQLite migrations
-- 0003, 0007 and 0022), shared by every instance: a link made through one instance opens through
-- any other, and wrong codes and downloads count on the package row whichever instance serves
-- them (each check locks that row). The encrypted file contents stay outside the database for now.
CREATE TABLE pickup_packages (
    package_id      TEXT    NOT NULL PRIMARY KEY,
    token_hash      TEXT    NOT NULL UNIQUE,
    queue_id        TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    sender          TEXT    NOT NULL,
    scope           TEXT    NOT NULL,          -- Attachments, WholeMessage
    file_count      BIGINT  NOT NULL,
    total_bytes     BIGINT  NOT NULL,
    key_id          TEXT    NOT NULL,
    wrapped_key     BYTEA,                     -- NULL once purged
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    max_downloads   BIGINT  NOT NULL,
    download_count  BIGINT  NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL,          -- Active, Revoked, Expired
    revoked_at      BIGINT,
    purged_at       BIGINT,
    failed_codes    BIGINT  NOT NULL DEFAULT 0,
    locked_until    BIGINT
);
CREATE INDEX ix_pickup_packages_state ON pickup_packages (state, expires_at);

CREATE TABLE pickup_files (
    package_id      TEXT    NOT NULL REFERENCES pickup_packages (package_id),
    file_index      BIGINT  NOT NULL,
    sealed_name     BYTEA,
    content_type    TEXT    NOT NULL,
    size            BIGINT  NOT NULL,
    sha256          TEXT    NOT NULL,
    download_count  BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (package_id, file_index)
);

CREATE TABLE pickup_labels (
    package_id      TEXT NOT NULL PRIMARY KEY REFERENCES pickup_packages (package_id),
    message_id      TEXT,
    sealed_subject  BYTEA
);

CREATE TABLE pickup_codes (
    code_id     TEXT    NOT NULL PRIMARY KEY,
    package_id  TEXT    NOT NULL REFERENCES pickup_packages (package_id),
    salt        BYTEA   NOT NULL,
    code_hash   BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX ix_pickup_codes_package ON pickup_codes (package_id, created_at);

CREATE TABLE pickup_sessions (
    session_hash  TEXT    NOT NULL PRIMARY KEY,
    package_id    TEXT    NOT NULL REFERENCES pickup_packages (package_id),
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX ix_pickup_sessions_package ON pickup_sessions (package_id);
CREATE INDEX ix_pickup_sessions_expires ON pickup_sessions (expires_at);

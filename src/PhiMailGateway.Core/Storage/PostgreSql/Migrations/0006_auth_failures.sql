-- Failed AUTH attempts counted per key (see the SQLite migration 0012), shared by every instance:
-- guesses tried through several instances add up to one count. key_hash is the SHA-256 of the key.
CREATE TABLE auth_failures (
    key_hash      TEXT    NOT NULL PRIMARY KEY,
    window_start  BIGINT  NOT NULL,
    failures      BIGINT  NOT NULL
);
CREATE INDEX ix_auth_failures_window ON auth_failures (window_start);

-- Failed AUTH attempts counted per key (client address with user name, user name, client address)
-- in the storage rather than in one process, so that on a shared database every instance adds to
-- the same count. key_hash is the SHA-256 of the key: whatever a stranger types as a user name is
-- never stored.
CREATE TABLE auth_failures (
    key_hash      TEXT    NOT NULL PRIMARY KEY,
    window_start  INTEGER NOT NULL,                 -- unix ms of the window's first failure
    failures      INTEGER NOT NULL
);
CREATE INDEX ix_auth_failures_window ON auth_failures (window_start);

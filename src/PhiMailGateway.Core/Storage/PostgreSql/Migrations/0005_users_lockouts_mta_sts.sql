-- SMTP AUTH accounts, AUTH lockouts and MTA-STS policies (see the SQLite migrations 0001, 0006 and
-- 0011), shared by every instance: an account added through one instance or the CLI authenticates
-- on all of them, a lockout one instance starts is listed and cleared (`users unlock`) through any
-- other, and a policy one instance fetched holds for all.

-- password_hash is a self-describing PBKDF2-SHA256 string, never a password.
CREATE TABLE users (
    name           TEXT    NOT NULL PRIMARY KEY,
    password_hash  TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

CREATE TABLE auth_lockouts (
    user_name     TEXT    NOT NULL,              -- normalized (lower-case) SMTP user name
    scope         TEXT    NOT NULL,              -- 'pair' (client address and user) or 'user' (all addresses)
    client        TEXT    NOT NULL,              -- client IP for 'pair', '' for 'user'
    locked_at     BIGINT  NOT NULL,
    locked_until  BIGINT  NOT NULL,
    PRIMARY KEY (user_name, scope, client)
);

CREATE TABLE auth_unlocks (
    user_name    TEXT    NOT NULL PRIMARY KEY,
    generation   BIGINT  NOT NULL,               -- +1 on each `users unlock NAME`
    unlocked_at  BIGINT  NOT NULL
);

CREATE TABLE mta_sts_policies (
    domain      TEXT    NOT NULL PRIMARY KEY,    -- lower case
    policy_id   TEXT    NOT NULL,
    mode        TEXT    NOT NULL,                -- Enforce, Testing, None
    mx          TEXT    NOT NULL,                -- the mx patterns, one per line
    max_age_s   BIGINT  NOT NULL,
    fetched_at  BIGINT  NOT NULL
);

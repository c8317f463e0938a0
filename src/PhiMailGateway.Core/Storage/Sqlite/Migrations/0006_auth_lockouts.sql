-- AUTH lockouts, shared by the running gateway and the `users unlock` CLI (another process, which
-- cannot reach the gateway's in-memory counters). The gateway records each lockout it starts; the CLI
-- deletes a user's rows and bumps that user's unlock generation. On the next AUTH attempt against a
-- lockout, the gateway compares generations (no clocks: the two processes need not agree on time).
CREATE TABLE auth_lockouts (
    user_name     TEXT    NOT NULL,                 -- normalized (lower-case) SMTP user name
    scope         TEXT    NOT NULL,                 -- 'pair' (client address and user) or 'user' (all addresses)
    client        TEXT    NOT NULL,                 -- client IP for 'pair', '' for 'user'
    locked_at     INTEGER NOT NULL,                 -- unix ms
    locked_until  INTEGER NOT NULL,                 -- unix ms
    PRIMARY KEY (user_name, scope, client)
);
CREATE TABLE auth_unlocks (
    user_name   TEXT    NOT NULL PRIMARY KEY,
    generation  INTEGER NOT NULL,                   -- +1 on each `users unlock NAME`
    unlocked_at INTEGER NOT NULL                    -- unix ms, for IT's eyes only
);

-- MTA-STS policies of recipient domains (RFC 8461 5): kept across restarts, so a domain whose
-- TXT record disappears (or whose policy host an attacker blocks) is still held to its policy
-- until max_age runs out.
CREATE TABLE mta_sts_policies (
    domain      TEXT    NOT NULL PRIMARY KEY,  -- lower case
    policy_id   TEXT    NOT NULL,              -- the TXT record's id the policy was fetched under
    mode        TEXT    NOT NULL,              -- Enforce, Testing, None
    mx          TEXT    NOT NULL,              -- the mx patterns, one per line
    max_age_s   INTEGER NOT NULL,
    fetched_at  INTEGER NOT NULL               -- unix ms
);

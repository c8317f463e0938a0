-- Recipient S/MIME certificates (see the SQLite migration 0004): public certificates only, shared
-- by every instance, so a certificate imported through one instance encrypts on all of them.
CREATE TABLE certificates (
    thumbprint     TEXT    NOT NULL PRIMARY KEY,  -- SHA-256 of the DER encoding, upper-case hex
    subject        TEXT    NOT NULL,
    issuer         TEXT    NOT NULL,
    serial_number  TEXT    NOT NULL,
    not_before     BIGINT  NOT NULL,
    not_after      BIGINT  NOT NULL,
    is_authority   BOOLEAN NOT NULL,              -- a CA certificate from an imported chain; only builds chains
    der            BYTEA   NOT NULL,
    imported_at    BIGINT  NOT NULL
);

CREATE TABLE certificate_addresses (
    address     TEXT NOT NULL,                    -- lower-case
    thumbprint  TEXT NOT NULL REFERENCES certificates (thumbprint) ON DELETE CASCADE,
    PRIMARY KEY (address, thumbprint)
);
CREATE INDEX ix_certificate_addresses_thumbprint ON certificate_addresses (thumbprint);

CREATE TABLE certificate_crls (
    crl_id       TEXT    NOT NULL PRIMARY KEY,
    issuer       TEXT    NOT NULL,
    this_update  BIGINT  NOT NULL,
    next_update  BIGINT,
    der          BYTEA   NOT NULL,
    imported_at  BIGINT  NOT NULL
);

-- Recipient S/MIME certificates: public certificates only. A partner's private key never enters
-- the gateway (`certs import` refuses PFX files and private keys).
CREATE TABLE certificates (
    thumbprint     TEXT    NOT NULL PRIMARY KEY,  -- SHA-256 of the DER encoding, upper-case hex
    subject        TEXT    NOT NULL,
    issuer         TEXT    NOT NULL,
    serial_number  TEXT    NOT NULL,              -- hex
    not_before     INTEGER NOT NULL,              -- unix milliseconds, UTC
    not_after      INTEGER NOT NULL,
    is_authority   INTEGER NOT NULL,              -- 1: a CA certificate from an imported chain; only builds chains
    der            BLOB    NOT NULL,
    imported_at    INTEGER NOT NULL
);

-- Which recipient address a certificate serves. Usually the addresses the certificate names itself;
-- `certs import FILE --address ADDR` can bind another one, which then shows as "address mismatch".
CREATE TABLE certificate_addresses (
    address     TEXT NOT NULL,                    -- lower-case
    thumbprint  TEXT NOT NULL REFERENCES certificates (thumbprint) ON DELETE CASCADE,
    PRIMARY KEY (address, thumbprint)
);
CREATE INDEX ix_certificate_addresses_thumbprint ON certificate_addresses (thumbprint);

-- Certificate revocation lists imported from files; checked offline, never downloaded.
CREATE TABLE certificate_crls (
    crl_id       TEXT    NOT NULL PRIMARY KEY,    -- SHA-256 of the DER encoding, upper-case hex
    issuer       TEXT    NOT NULL,
    this_update  INTEGER NOT NULL,
    next_update  INTEGER,
    der          BLOB    NOT NULL,
    imported_at  INTEGER NOT NULL
);

-- One row the queue worker rewrites while queue work is paused because the database could not
-- write (disk full, read-only, locked): a probe that commits means real writes can commit again.
CREATE TABLE storage_probe (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    probed_at  INTEGER NOT NULL                            -- unix ms of the last successful probe
);
INSERT INTO storage_probe (id, probed_at) VALUES (1, 0);

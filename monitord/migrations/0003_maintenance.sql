-- Schema 3: one-off maintenance windows created through the API and CLI.
--
-- Configured windows live in the YAML; these are the ones an operator
-- announces at run time (POST /api/v1/maintenance, `monitord maintenance
-- add`). `announced_us` is kept because a contract's notice rule (voizXL:
-- 14 days for regular maintenance) decides whether a window is honoured.
-- A delete only sets `deleted_us`: a window that once suppressed alerts, or
-- was withdrawn, stays on the record for the dispute that may follow.

CREATE TABLE maintenance_windows (
    id           INTEGER PRIMARY KEY,
    service      TEXT    NOT NULL,
    start_us     INTEGER NOT NULL,
    end_us       INTEGER NOT NULL CHECK (end_us > start_us),
    kind         TEXT    NOT NULL,
    announced_us INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    created_us   INTEGER NOT NULL,
    deleted_us   INTEGER
);
CREATE INDEX maintenance_by_service ON maintenance_windows (service, start_us);

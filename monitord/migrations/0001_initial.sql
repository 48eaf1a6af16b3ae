-- Schema 1: everything an SLA dispute is settled on.
--
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC: exact, and
-- they compare and subtract in SQL without parsing text. Tables are not
-- STRICT so that the SQLite shipped with older LTS distributions can open
-- the file; CHECK constraints guard what matters instead.
--
-- Never edit this file once released: add 0002_*.sql instead. `meta` must
-- keep existing in every later schema, because an older monitord reads it to
-- tell the operator which release wrote a newer database.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE downtimes (
    id           INTEGER PRIMARY KEY,
    level        TEXT    NOT NULL CHECK (level IN ('check', 'service')),
    name         TEXT    NOT NULL,
    start_us     INTEGER NOT NULL,
    end_us       INTEGER CHECK (end_us IS NULL OR end_us >= start_us),
    reason       TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    confirmed_us INTEGER
);

-- The database itself refuses a second open interval for the same check or
-- service, whatever bug upstream tries to write one.
CREATE UNIQUE INDEX downtimes_one_open ON downtimes (level, name) WHERE end_us IS NULL;
CREATE INDEX downtimes_by_name ON downtimes (level, name, start_us);
CREATE INDEX downtimes_by_start ON downtimes (start_us);

CREATE TABLE episodes (
    id         INTEGER PRIMARY KEY,
    check_name TEXT    NOT NULL,
    start_us   INTEGER NOT NULL,
    end_us     INTEGER NOT NULL CHECK (end_us >= start_us),
    failures   INTEGER NOT NULL CHECK (failures >= 0),
    reason     TEXT    NOT NULL,
    detail     TEXT    NOT NULL
);
CREATE INDEX episodes_by_check ON episodes (check_name, start_us);
CREATE INDEX episodes_by_start ON episodes (start_us);

CREATE TABLE check_state (
    check_name            TEXT PRIMARY KEY,
    state                 TEXT    NOT NULL CHECK (state IN ('up', 'failing', 'alerting', 'down')),
    consecutive_failures  INTEGER NOT NULL CHECK (consecutive_failures >= 0),
    consecutive_successes INTEGER NOT NULL CHECK (consecutive_successes >= 0),
    streak_start_us       INTEGER,
    streak_reason         TEXT,
    streak_detail         TEXT    NOT NULL,
    downtime_start_us     INTEGER,
    last_probe_us         INTEGER,
    recovery_start_us     INTEGER
);

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    start_us     INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL,
    stopped_us   INTEGER  -- set only by a clean shutdown
);

CREATE TABLE gaps (
    id       INTEGER PRIMARY KEY,
    run_id   INTEGER NOT NULL REFERENCES runs (id),  -- the run that found the gap
    start_us INTEGER NOT NULL,
    end_us   INTEGER NOT NULL CHECK (end_us > start_us),
    cause    TEXT    NOT NULL CHECK (cause IN ('clean_shutdown', 'unclean_shutdown'))
);
CREATE INDEX gaps_by_start ON gaps (start_us);

CREATE TABLE probe_rollup (
    check_name      TEXT    NOT NULL,
    bucket_start_us INTEGER NOT NULL,
    probes          INTEGER NOT NULL CHECK (probes >= 0),
    failures        INTEGER NOT NULL CHECK (failures >= 0 AND failures <= probes),
    latency_sum     REAL    NOT NULL,
    latency_count   INTEGER NOT NULL CHECK (latency_count >= 0 AND latency_count <= probes),
    latency_max     REAL,
    PRIMARY KEY (check_name, bucket_start_us)
) WITHOUT ROWID;
-- prune() scans by age across all checks.
CREATE INDEX probe_rollup_by_bucket ON probe_rollup (bucket_start_us);

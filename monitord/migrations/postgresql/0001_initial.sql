-- PostgreSQL schema 1: the record SLA disputes are settled on, as SQLite keeps it
-- at its schema 8, so the same SQL (monitord/storage/writer.py, readers.py) runs
-- on both.
--
-- Timestamps are BIGINT microseconds since the Unix epoch, UTC: exact (no
-- rounding through a float or a text format), and they compare, subtract and
-- sum in SQL. Never edit this file once released: add 0002_*.sql instead.
-- `meta` must keep existing in every later schema: it holds the schema version
-- and tells an older monitord which release wrote a newer database.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE downtimes (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    level        TEXT   NOT NULL CHECK (level IN ('check', 'service')),
    name         TEXT   NOT NULL,
    start_us     BIGINT NOT NULL,
    end_us       BIGINT CHECK (end_us IS NULL OR end_us >= start_us),
    reason       TEXT   NOT NULL,
    detail       TEXT   NOT NULL,
    confirmed_us BIGINT,
    -- why it ended: its first successful probe, its check or service left the config,
    -- or the record resumed after a span it could not take; NULL while open
    end_cause    TEXT CHECK (end_cause IS NULL OR end_cause IN ('recovered', 'removed', 'unmonitored'))
);
-- The database itself refuses a second open interval for the same check or
-- service, whatever bug upstream tries to write one.
CREATE UNIQUE INDEX downtimes_one_open ON downtimes (level, name) WHERE end_us IS NULL;
CREATE INDEX downtimes_by_name ON downtimes (level, name, start_us);
CREATE INDEX downtimes_by_start ON downtimes (start_us);

CREATE TABLE episodes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_name TEXT    NOT NULL,
    start_us   BIGINT  NOT NULL,
    end_us     BIGINT  NOT NULL CHECK (end_us >= start_us),
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
    streak_start_us       BIGINT,
    streak_reason         TEXT,
    streak_detail         TEXT    NOT NULL,
    downtime_start_us     BIGINT,
    last_probe_us         BIGINT,
    recovery_start_us     BIGINT
);

CREATE TABLE runs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    start_us     BIGINT NOT NULL,
    last_seen_us BIGINT NOT NULL,
    stopped_us   BIGINT  -- set only by a clean shutdown
);

CREATE TABLE gaps (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id   BIGINT NOT NULL REFERENCES runs (id),  -- the run that found the gap
    start_us BIGINT NOT NULL,
    end_us   BIGINT NOT NULL CHECK (end_us > start_us),
    -- the cause list lives in the code (interface.py GapCommit); here a short lowercase word
    cause    TEXT   NOT NULL CHECK (cause ~ '^[a-z_]{1,64}$')
);
CREATE INDEX gaps_by_start ON gaps (start_us);

-- The durable outbox MQTT is published from (see SQLite's 0002_outbox.sql).
-- `seq` is publish order, never reused and without holes: a sequence would
-- skip the numbers of rolled-back commits and of rows skipped as duplicates,
-- and consumers read a hole as a lost message. So it is taken from a one-row
-- counter inside the inserting transaction (there is one writer: its lock).
CREATE TABLE outbox (
    seq      BIGINT PRIMARY KEY,
    event_id TEXT   NOT NULL UNIQUE,
    channel  TEXT   NOT NULL CHECK (channel IN ('event', 'state')),
    kind     TEXT   NOT NULL,
    level    TEXT   NOT NULL CHECK (level IN ('check', 'service')),
    subject  TEXT   NOT NULL,  -- check or service name
    at_us    BIGINT NOT NULL,
    payload  TEXT   NOT NULL   -- JSON object: the kind's fields (see sinks/schema)
);
CREATE TABLE outbox_seq (
    one  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    last BIGINT  NOT NULL
);
INSERT INTO outbox_seq (last) VALUES (0);
CREATE FUNCTION outbox_next_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM outbox WHERE event_id = NEW.event_id) THEN
        RETURN NULL;  -- already waiting: skipped, and no number spent
    END IF;
    UPDATE outbox_seq SET last = last + 1 RETURNING last INTO NEW.seq;
    RETURN NEW;
END
$$;
CREATE TRIGGER outbox_seq BEFORE INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_next_seq();

-- One-off maintenance windows announced at run time (see SQLite's 0003).
CREATE TABLE maintenance_windows (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service      TEXT   NOT NULL,
    start_us     BIGINT NOT NULL,
    end_us       BIGINT NOT NULL CHECK (end_us > start_us),
    kind         TEXT   NOT NULL,
    announced_us BIGINT NOT NULL,
    reason       TEXT   NOT NULL,
    created_us   BIGINT NOT NULL,
    deleted_us   BIGINT
);
CREATE INDEX maintenance_by_service ON maintenance_windows (service, start_us);

-- Call-quality (degraded, never down) intervals (see SQLite's 0004).
CREATE TABLE quality_intervals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service     TEXT    NOT NULL,
    priority    INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 3),
    start_us    BIGINT  NOT NULL,
    end_us      BIGINT  CHECK (end_us IS NULL OR end_us >= start_us),
    calls       INTEGER NOT NULL CHECK (calls >= 0),
    poor_audio  INTEGER NOT NULL CHECK (poor_audio >= 0),
    dropped     INTEGER NOT NULL CHECK (dropped >= 0),
    detail      TEXT    NOT NULL
);
CREATE UNIQUE INDEX quality_one_open ON quality_intervals (service) WHERE end_us IS NULL;
CREATE INDEX quality_by_service ON quality_intervals (service, start_us);

-- The permanent log of standalone events (see SQLite's 0005).
CREATE TABLE events (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id TEXT   NOT NULL UNIQUE,
    kind     TEXT   NOT NULL,
    level    TEXT   NOT NULL CHECK (level IN ('check', 'service')),
    subject  TEXT   NOT NULL,  -- check or service name
    at_us    BIGINT NOT NULL,
    payload  TEXT   NOT NULL   -- JSON object: the kind's fields
);
CREATE INDEX events_kind_at ON events (kind, at_us);
CREATE INDEX events_subject_at ON events (subject, at_us);

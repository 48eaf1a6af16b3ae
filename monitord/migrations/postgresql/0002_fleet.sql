-- PostgreSQL schema 2: what the agents and the judge of a fleet share (docs/fleet.md).
--
-- The database's own schema keeps the JUDGED record (schema 1's tables, written
-- by the one judge). Each location's evidence is a full monitord record of its
-- own in a schema named by `fleet.locations` (same tables, same rules, written
-- by that location's agents). The tables below, in schema `fleet`, tie them
-- together. They are created IF NOT EXISTS because every location's record is
-- migrated with these same steps: the first one to run creates them.
-- Instants are BIGINT microseconds since the epoch, UTC, as everywhere else.

CREATE SCHEMA IF NOT EXISTS fleet;

-- A location and the schema holding its evidence; `dirty_from_us` is the earliest
-- instant whose evidence changed since the judge last read it (NULL: nothing new).
CREATE TABLE IF NOT EXISTS fleet.locations (
    location      TEXT   PRIMARY KEY,
    schema_name   TEXT   NOT NULL UNIQUE,
    dirty_from_us BIGINT,
    version       BIGINT NOT NULL DEFAULT 0
);

-- Membership: each agent bumps `beat` every heartbeat; a clean stop sets `left_us`.
-- `seen_us` is the agent's own clock at its last beat (what its last sign of life was);
-- `through_us`: every probe it started before then is in its location's record (its
-- journal was empty): the judge closes no interval past what every location has told.
CREATE TABLE IF NOT EXISTS fleet.members (
    location   TEXT   NOT NULL,
    agent      TEXT   NOT NULL,
    beat       BIGINT NOT NULL,
    seen_us    BIGINT NOT NULL,
    started_us BIGINT NOT NULL,
    through_us BIGINT,
    left_us    BIGINT,
    PRIMARY KEY (location, agent)
);

-- Who runs a unit (a service's checks, or a lone check) at a location, and the
-- fencing token: it only grows; evidence is written only under the current one.
CREATE TABLE IF NOT EXISTS fleet.units (
    location TEXT   NOT NULL,
    unit     TEXT   NOT NULL,
    agent    TEXT,  -- NULL: released (hand-over or clean stop), free to claim
    token    BIGINT NOT NULL CHECK (token >= 0),
    since_us BIGINT NOT NULL,
    PRIMARY KEY (location, unit)
);

-- Each holder's time on a unit: the judge's evidence of when a location watched it,
-- and the hand-overs between agents (who, from whom, why it ended).
CREATE TABLE IF NOT EXISTS fleet.tenures (
    location   TEXT   NOT NULL,
    unit       TEXT   NOT NULL,
    token      BIGINT NOT NULL,
    agent      TEXT   NOT NULL,
    since_us   BIGINT NOT NULL,
    until_us   BIGINT CHECK (until_us IS NULL OR until_us >= since_us),
    from_agent TEXT,
    end_cause  TEXT CHECK (end_cause IS NULL OR end_cause IN ('released', 'dead')),
    PRIMARY KEY (location, unit, token)
);
CREATE INDEX IF NOT EXISTS tenures_by_end ON fleet.tenures (location, until_us);

-- Replay of an agent's local journal is idempotent: the last journal entry applied.
CREATE TABLE IF NOT EXISTS fleet.applied (
    location TEXT   NOT NULL,
    agent    TEXT   NOT NULL,
    journal  TEXT   NOT NULL,  -- the journal file's id (one per agent start)
    seq      BIGINT NOT NULL,
    PRIMARY KEY (location, agent, journal)
);

-- Judged UNKNOWN stretches per check or service (fewer than K locations fresh).
CREATE TABLE IF NOT EXISTS fleet.judged_gaps (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    level    TEXT   NOT NULL CHECK (level IN ('check', 'service')),
    name     TEXT   NOT NULL,
    start_us BIGINT NOT NULL,
    end_us   BIGINT NOT NULL CHECK (end_us > start_us),
    cause    TEXT   NOT NULL
);
CREATE INDEX IF NOT EXISTS judged_gaps_by_name ON fleet.judged_gaps (level, name, start_us);

-- Who judges now (the lease itself is the judged record's writer lock): for /healthz and logs.
CREATE TABLE IF NOT EXISTS fleet.judge (
    one      BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    location TEXT   NOT NULL,
    agent    TEXT   NOT NULL,
    since_us BIGINT NOT NULL,
    seen_us  BIGINT NOT NULL
);

-- Schema 4: call-quality (degraded) intervals, kept apart from downtime.
--
-- XTIUM §1 grades call quality as P1/P2/P3 from shares of calls with
-- MOS < 3.5 and of dropped calls (monitord/callquality.py). A degraded
-- service is still available, so these intervals never enter the
-- `downtimes` table or any availability figure; they are their own record.
-- One row per stretch of one priority: a change from P2 to P1 closes the P2
-- row and opens a P1 row at the same instant. At most one open row per
-- service (the partial unique index), so a restart resumes, never duplicates.
-- The window figures that opened the row are kept as its evidence.

CREATE TABLE quality_intervals (
    id          INTEGER PRIMARY KEY,
    service     TEXT    NOT NULL,
    priority    INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 3),
    start_us    INTEGER NOT NULL,
    end_us      INTEGER CHECK (end_us IS NULL OR end_us >= start_us),
    calls       INTEGER NOT NULL CHECK (calls >= 0),
    poor_audio  INTEGER NOT NULL CHECK (poor_audio >= 0),
    dropped     INTEGER NOT NULL CHECK (dropped >= 0),
    detail      TEXT    NOT NULL
);
CREATE UNIQUE INDEX quality_one_open ON quality_intervals (service) WHERE end_us IS NULL;
CREATE INDEX quality_by_service ON quality_intervals (service, start_us);
